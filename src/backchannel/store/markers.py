"""Read markers (the last cursor a person has seen in a conversation, shared
by all of their browsers) and the unread and mention counts derived from them.

The counts live in ``unread_counts``, one small row per conversation, kept
exact as events are stored (:func:`count_new_events`, called in the same
transaction by the event store) and as markers move (a count of only the
events after the new marker). Reading them never scans the history."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass

from backchannel.store.db import Database
from backchannel.store.schema import UNREAD_COUNTS_REBUILD

__all__ = ["MarkerStore", "Unread", "count_new_events", "rebuild_unread_counts"]


@dataclass(frozen=True, slots=True)
class Unread:
    network_id: int
    target_key: str
    marker: int
    unread: int
    mentions: int


def count_new_events(
    conn: sqlite3.Connection, counted: Sequence[tuple[int, int, str, int, bool]]
) -> None:
    """Add events just inserted to the counts, in the caller's transaction:
    ``(user_id, network_id, target_key, cursor, highlight)`` of each event
    that counts as unread, in cursor order."""
    totals: dict[tuple[int, int, str], list[int]] = {}
    first: dict[int, int] = {}  # per user, the first new cursor
    for user_id, network_id, target_key, cursor, highlight in counted:
        key = (user_id, network_id, target_key)
        entry = totals.get(key)
        if entry is None:
            entry = totals[key] = [0, 0]
            first.setdefault(user_id, cursor)
        entry[0] += 1
        entry[1] += highlight
    # a marker is behind every new event, unless it was set ahead of the
    # events (never by the API, which refuses cursors that do not exist yet)
    for user_id, cursor in first.items():
        ahead = conn.execute(
            "SELECT network_id, target_key, cursor FROM read_markers "
            "WHERE user_id = ? AND cursor >= ?",
            (user_id, cursor),
        ).fetchall()
        for network_id, target_key, marker in ahead:
            key = (user_id, network_id, target_key)
            if key in totals:
                totals[key] = [0, 0]
                for u, n, t, c, h in counted:
                    if (u, n, t) == key and c > marker:
                        totals[key][0] += 1
                        totals[key][1] += h
    if totals:
        conn.executemany(
            "INSERT INTO unread_counts (user_id, network_id, target_key, unread, mentions) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (user_id, network_id, target_key) DO UPDATE "
            "SET unread = unread + excluded.unread, mentions = mentions + excluded.mentions",
            [(*key, unread, mentions) for key, (unread, mentions) in totals.items()],
        )


def rebuild_unread_counts(conn: sqlite3.Connection) -> None:
    """Recompute every count from the events (in the caller's transaction)."""
    conn.execute("DELETE FROM unread_counts")
    conn.execute(UNREAD_COUNTS_REBUILD)


class MarkerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, user_id: int, network_id: int, target_key: str, cursor: int) -> int:
        """Move the marker forward to ``cursor`` (never back); returns the marker."""
        key = (user_id, network_id, target_key)

        def upsert(conn: sqlite3.Connection) -> int:
            where = "WHERE user_id = ? AND network_id = ? AND target_key = ?"
            row = conn.execute(f"SELECT cursor FROM read_markers {where}", key).fetchone()
            before = int(row[0]) if row else None
            if before is not None and before >= cursor:
                return before
            conn.execute(
                "INSERT INTO read_markers (user_id, network_id, target_key, cursor) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, network_id, target_key) "
                "DO UPDATE SET cursor = MAX(cursor, excluded.cursor)",
                (*key, cursor),
            )
            # only the events after the new marker are read: usually none or a few
            count, mentions = conn.execute(
                "SELECT COUNT(*), COALESCE(SUM(highlight), 0) FROM events "
                f"{where} AND id > ? AND counts = 1",
                (*key, cursor),
            ).fetchone()
            conn.execute(
                f"UPDATE unread_counts SET unread = ?, mentions = ? {where}",
                (count, mentions, *key),
            )
            return cursor

        return await self.db.write(upsert)

    async def unread(self, user_id: int) -> list[Unread]:
        """Per conversation that ever had counted events: counts after the marker."""

        def query(conn: sqlite3.Connection) -> list[Unread]:
            rows = conn.execute(
                "SELECT u.network_id, u.target_key, COALESCE(m.cursor, 0), u.unread, u.mentions "
                "FROM unread_counts u LEFT JOIN read_markers m ON m.user_id = u.user_id "
                "AND m.network_id = u.network_id AND m.target_key = u.target_key "
                "WHERE u.user_id = ?",
                (user_id,),
            ).fetchall()
            return [Unread(*row) for row in rows]

        return await self.db.read(query)
