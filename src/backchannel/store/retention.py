"""Retention: everything is kept by default; an operator may limit each
user's scrollback by age, by count, or both. Pruning removes the oldest
events first, with their search index entries, and never touches cursors
(they keep growing), read markers or unread counts of what remains."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from backchannel.store.db import Database
from backchannel.store.events import delete_events

__all__ = ["RetentionPolicy", "prune"]

@dataclass(frozen=True, slots=True)
class RetentionPolicy:
    max_age_days: float = 0.0  # 0: no age limit
    max_events: int = 0  # per user; 0: no count limit

    @property
    def unlimited(self) -> bool:
        return self.max_age_days <= 0 and self.max_events <= 0


async def prune(db: Database, policy: RetentionPolicy, now: datetime | None = None) -> int:
    """Apply ``policy`` to every user; returns how many events were removed."""
    if policy.unlimited:
        return 0
    now = now or datetime.now(UTC)
    cutoff = (now - timedelta(days=policy.max_age_days)).isoformat(timespec="milliseconds")
    cutoff = cutoff.replace("+00:00", "Z")

    def run(conn: sqlite3.Connection) -> int:
        removed = 0
        if policy.max_age_days > 0:
            removed += delete_events(conn, "time < ?", (cutoff,))
        if policy.max_events > 0:
            users = [row[0] for row in conn.execute("SELECT DISTINCT user_id FROM events")]
            for user_id in users:
                row = conn.execute(
                    "SELECT id FROM events WHERE user_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?",
                    (user_id, policy.max_events - 1),
                ).fetchone()
                if row is not None:
                    removed += delete_events(conn, "user_id = ? AND id < ?", (user_id, row[0]))
        return removed

    return await db.write(run)
