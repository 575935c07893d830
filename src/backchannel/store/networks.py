"""A user's networks: name and engine settings (JSON), enabled or not."""

from __future__ import annotations

import json
import sqlite3
import time
from dataclasses import dataclass
from typing import Any

from backchannel.store.db import Database

__all__ = ["NetworkRecord", "NetworkStore"]


@dataclass(frozen=True, slots=True)
class NetworkRecord:
    id: int
    user_id: int
    name: str
    config: dict[str, Any]
    enabled: bool


_COLUMNS = "id, user_id, name, config, enabled"


def _record(row: tuple[Any, ...]) -> NetworkRecord:
    return NetworkRecord(row[0], row[1], row[2], json.loads(row[3]), bool(row[4]))


class NetworkStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def create(self, user_id: int, name: str, config: dict[str, Any]) -> NetworkRecord:
        def insert(conn: sqlite3.Connection) -> NetworkRecord:
            cur = conn.execute(
                "INSERT INTO networks (user_id, name, config, enabled, created_at) "
                "VALUES (?, ?, ?, 1, ?)",
                (user_id, name, json.dumps(config), time.time()),
            )
            assert cur.lastrowid is not None
            return NetworkRecord(cur.lastrowid, user_id, name, config, True)

        return await self.db.write(insert)

    async def update(
        self,
        user_id: int,
        network_id: int,
        *,
        name: str | None = None,
        config: dict[str, Any] | None = None,
        enabled: bool | None = None,
    ) -> NetworkRecord | None:
        def change(conn: sqlite3.Connection) -> NetworkRecord | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM networks WHERE id = ? AND user_id = ?",
                (network_id, user_id),
            ).fetchone()
            if row is None:
                return None
            old = _record(row)
            new = NetworkRecord(
                old.id,
                user_id,
                old.name if name is None else name,
                old.config if config is None else config,
                old.enabled if enabled is None else enabled,
            )
            conn.execute(
                "UPDATE networks SET name = ?, config = ?, enabled = ? WHERE id = ?",
                (new.name, json.dumps(new.config), int(new.enabled), new.id),
            )
            return new

        return await self.db.write(change)

    async def delete(self, user_id: int, network_id: int) -> bool:
        def remove(conn: sqlite3.Connection) -> bool:
            cur = conn.execute(
                "DELETE FROM networks WHERE id = ? AND user_id = ?", (network_id, user_id)
            )
            if cur.rowcount:
                conn.execute(
                    "INSERT INTO events_fts (events_fts, rowid, text) SELECT 'delete', id, text "
                    "FROM events WHERE user_id = ? AND network_id = ? AND text != ''",
                    (user_id, network_id),
                )
                conn.execute(
                    "DELETE FROM events WHERE user_id = ? AND network_id = ?",
                    (user_id, network_id),
                )
                conn.execute(
                    "DELETE FROM read_markers WHERE user_id = ? AND network_id = ?",
                    (user_id, network_id),
                )
            return bool(cur.rowcount)

        return await self.db.write(remove)

    async def get(self, user_id: int, network_id: int) -> NetworkRecord | None:
        def query(conn: sqlite3.Connection) -> NetworkRecord | None:
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM networks WHERE id = ? AND user_id = ?",
                (network_id, user_id),
            ).fetchone()
            return None if row is None else _record(row)

        return await self.db.read(query)

    async def list(self, user_id: int | None = None) -> list[NetworkRecord]:
        """A user's networks, or every user's when ``user_id`` is None."""

        def query(conn: sqlite3.Connection) -> list[NetworkRecord]:
            if user_id is None:
                rows = conn.execute(f"SELECT {_COLUMNS} FROM networks ORDER BY id").fetchall()
            else:
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM networks WHERE user_id = ? ORDER BY id", (user_id,)
                ).fetchall()
            return [_record(row) for row in rows]

        return await self.db.read(query)
