"""Read markers (the last cursor a person has seen in a conversation, shared
by all of their browsers) and the unread and mention counts derived from them."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from backchannel.store.db import Database

__all__ = ["MarkerStore", "Unread"]


@dataclass(frozen=True, slots=True)
class Unread:
    network_id: int
    target_key: str
    marker: int
    unread: int
    mentions: int


class MarkerStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def set(self, user_id: int, network_id: int, target_key: str, cursor: int) -> int:
        """Move the marker forward to ``cursor`` (never back); returns the marker."""

        def upsert(conn: sqlite3.Connection) -> int:
            conn.execute(
                "INSERT INTO read_markers (user_id, network_id, target_key, cursor) "
                "VALUES (?, ?, ?, ?) ON CONFLICT (user_id, network_id, target_key) "
                "DO UPDATE SET cursor = MAX(cursor, excluded.cursor)",
                (user_id, network_id, target_key, cursor),
            )
            row = conn.execute(
                "SELECT cursor FROM read_markers WHERE user_id = ? AND network_id = ? "
                "AND target_key = ?",
                (user_id, network_id, target_key),
            ).fetchone()
            return int(row[0])

        return await self.db.write(upsert)

    async def unread(self, user_id: int) -> list[Unread]:
        """Per conversation with a marker or counted events: counts after the marker."""
        def query(conn: sqlite3.Connection) -> list[Unread]:
            markers = {
                (n, t): c
                for n, t, c in conn.execute(
                    "SELECT network_id, target_key, cursor FROM read_markers WHERE user_id = ?",
                    (user_id,),
                )
            }
            out: list[Unread] = []
            targets = conn.execute(
                "SELECT DISTINCT network_id, target_key FROM events "
                "WHERE user_id = ? AND counts = 1",
                (user_id,),
            ).fetchall()
            for network_id, target_key in targets:
                marker = markers.get((network_id, target_key), 0)
                count, mentions = conn.execute(
                    "SELECT COUNT(*), COALESCE(SUM(highlight), 0) FROM events "
                    "WHERE user_id = ? AND network_id = ? AND target_key = ? AND id > ? "
                    "AND counts = 1",
                    (user_id, network_id, target_key, marker),
                ).fetchone()
                out.append(Unread(network_id, target_key, marker, count, mentions))
            return out

        return await self.db.read(query)
