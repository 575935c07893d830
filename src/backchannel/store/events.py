"""Scrollback: every stored event of a user, with a cursor that orders all of
that user's events (the row id), history pages per conversation, and
full-text search (FTS5).

Events are written in batches (one transaction per batch) by the caller's
persist loop; an event is published only after its batch committed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from backchannel.store.db import Database
from backchannel.store.markers import count_new_events

__all__ = ["EventStore", "NewEvent", "StoredEvent", "delete_events"]

MAX_PAGE = 1000
_DELETE_BATCH = 5000


@dataclass(frozen=True, slots=True)
class NewEvent:
    user_id: int
    network_id: int
    target: str  # as displayed; "" for the network buffer
    target_key: str  # folded with the network's casemapping
    kind: str
    time: str
    nick: str
    text: str
    data: dict[str, Any]
    counts: bool = False  # counts as unread (a message from someone else)
    highlight: bool = False  # mentions the user


@dataclass(frozen=True, slots=True)
class StoredEvent:
    cursor: int
    network_id: int
    target: str
    kind: str
    data_json: str  # the event as JSON, with "cursor", "network" and "target" set

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.data_json)
        return data


def _encode(event: NewEvent, cursor: int) -> str:
    data = dict(event.data)
    data["cursor"] = str(cursor)
    data["network"] = event.network_id
    data["target"] = event.target
    if event.highlight:
        data["highlight"] = True
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


_INSERT = (
    "INSERT INTO events (id, user_id, network_id, target, target_key, kind, time, nick, text, "
    "counts, highlight, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_SELECT = "SELECT id, network_id, target, kind, data FROM events"


def _next_cursor_base(conn: sqlite3.Connection) -> int:
    """The highest cursor ever given (deleted events included)."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'events_seq'").fetchone()
    highest = conn.execute("SELECT MAX(id) FROM events").fetchone()[0] or 0
    return max(int(row[0]) if row else 0, int(highest))


def delete_events(conn: sqlite3.Connection, where: str, args: tuple[object, ...]) -> int:
    """Delete the events ``where`` selects, with their search index entries
    (unread counts and usage follow by trigger); returns how many."""
    ids = [row[0] for row in conn.execute(f"SELECT id FROM events WHERE {where}", args)]
    for start in range(0, len(ids), _DELETE_BATCH):
        chunk = ids[start : start + _DELETE_BATCH]
        marks = ",".join("?" * len(chunk))
        # an external-content FTS index is told what it indexed, before the rows go
        conn.execute(
            "INSERT INTO events_fts (events_fts, rowid, text) "
            f"SELECT 'delete', id, text FROM events WHERE id IN ({marks}) AND text != ''",
            chunk,
        )
        conn.execute(f"DELETE FROM events WHERE id IN ({marks})", chunk)
    return len(ids)


def _trim(conn: sqlite3.Connection, user_id: int, used: int, max_bytes: int) -> int:
    """Delete ``user_id``'s oldest events until they use at most 90% of
    ``max_bytes`` (a margin, so that trimming is not needed on every write)."""
    goal = used - max_bytes * 9 // 10
    freed, last = 0, None
    rows = conn.execute(
        "SELECT id, length(CAST(data AS BLOB)) FROM events WHERE user_id = ? ORDER BY id",
        (user_id,),
    )
    for event_id, size in rows:
        freed, last = freed + size, event_id
        if freed >= goal:
            break
    if last is None:
        return 0
    return delete_events(conn, "user_id = ? AND id <= ?", (user_id, last))


def _rows(rows: Sequence[tuple[Any, ...]]) -> list[StoredEvent]:
    return [StoredEvent(r[0], r[1], r[2], r[3], r[4]) for r in rows]


class EventStore:
    def __init__(self, db: Database, max_bytes_per_user: int = 0) -> None:
        self.db = db
        #: scrollback per user, in bytes of event JSON; the oldest go past it (0: no limit)
        self.max_bytes_per_user = max_bytes_per_user
        #: events deleted by that limit since start
        self.trimmed = 0

    # -- writing ------------------------------------------------------------
    @staticmethod
    def _insert(conn: sqlite3.Connection, events: Sequence[NewEvent]) -> list[StoredEvent]:
        # one writer thread owns all writes, so the ids after the high-water mark are
        # ours to give; the mark (not MAX(id)) keeps cursors growing after deletions
        last = _next_cursor_base(conn)
        rows = []
        fts = []
        stored: list[StoredEvent] = []
        counted: list[tuple[int, int, str, int, bool]] = []
        usage: dict[int, int] = {}
        for cursor, event in enumerate(events, start=last + 1):
            encoded = _encode(event, cursor)
            usage[event.user_id] = usage.get(event.user_id, 0) + len(encoded.encode())
            rows.append(
                (
                    cursor,
                    event.user_id,
                    event.network_id,
                    event.target,
                    event.target_key,
                    event.kind,
                    event.time,
                    event.nick,
                    event.text,
                    int(event.counts),
                    int(event.highlight),
                    encoded,
                )
            )
            if event.text:
                fts.append((cursor, event.text))
            if event.counts:
                counted.append(
                    (event.user_id, event.network_id, event.target_key, cursor, event.highlight)
                )
            stored.append(StoredEvent(cursor, event.network_id, event.target, event.kind, encoded))
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('events_seq', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(last + len(rows)),),
        )
        conn.executemany(_INSERT, rows)
        conn.executemany("INSERT INTO events_fts (rowid, text) VALUES (?, ?)", fts)
        count_new_events(conn, counted)
        conn.executemany(
            "INSERT INTO user_usage (user_id, bytes) VALUES (?, ?) "
            "ON CONFLICT (user_id) DO UPDATE SET bytes = bytes + excluded.bytes",
            usage.items(),
        )
        return stored

    def _enforce_quota(self, conn: sqlite3.Connection, users: set[int]) -> None:
        limit = self.max_bytes_per_user
        for user_id in users:
            row = conn.execute(
                "SELECT bytes FROM user_usage WHERE user_id = ?", (user_id,)
            ).fetchone()
            if row is not None and row[0] > limit:
                self.trimmed += _trim(conn, user_id, row[0], limit)

    def _store(self, conn: sqlite3.Connection, events: Sequence[NewEvent]) -> list[StoredEvent]:
        stored = self._insert(conn, events)
        if self.max_bytes_per_user > 0:
            self._enforce_quota(conn, {event.user_id for event in events})
        return stored

    async def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Store ``events`` in one transaction; returns them with their cursors.
        A user past ``max_bytes_per_user`` loses their oldest events in it."""
        if not events:
            return []
        return await self.db.write(lambda conn: self._store(conn, events))

    async def usage(self, user_id: int) -> int:
        """Bytes of event JSON ``user_id`` has stored."""

        def query(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT bytes FROM user_usage WHERE user_id = ?", (user_id,)
            ).fetchone()
            return int(row[0]) if row else 0

        return await self.db.read(query)

    # -- reading ------------------------------------------------------------
    async def latest_cursor(self, user_id: int) -> int:
        def query(conn: sqlite3.Connection) -> int:
            row = conn.execute(
                "SELECT MAX(id) FROM events WHERE user_id = ?", (user_id,)
            ).fetchone()
            return int(row[0] or 0)

        return await self.db.read(query)

    async def after(self, user_id: int, cursor: int, limit: int = MAX_PAGE) -> list[StoredEvent]:
        """The user's events after ``cursor``, oldest first."""

        def query(conn: sqlite3.Connection) -> list[StoredEvent]:
            return _rows(
                conn.execute(
                    f"{_SELECT} WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?",
                    (user_id, cursor, limit),
                ).fetchall()
            )

        return await self.db.read(query)

    async def history(
        self,
        user_id: int,
        network_id: int,
        target_key: str,
        *,
        before: int | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """A page of one conversation, oldest first: the newest ``limit``
        events before ``before`` (or the latest), or the oldest after ``after``."""
        limit = max(1, min(limit, MAX_PAGE))

        def query(conn: sqlite3.Connection) -> list[StoredEvent]:
            where = "user_id = ? AND network_id = ? AND target_key = ?"
            args: list[Any] = [user_id, network_id, target_key]
            if after is not None:
                rows = conn.execute(
                    f"{_SELECT} WHERE {where} AND id > ? ORDER BY id LIMIT ?",
                    (*args, after, limit),
                ).fetchall()
                return _rows(rows)
            if before is not None:
                where += " AND id < ?"
                args.append(before)
            rows = conn.execute(
                f"{_SELECT} WHERE {where} ORDER BY id DESC LIMIT ?", (*args, limit)
            ).fetchall()
            return _rows(rows[::-1])

        return await self.db.read(query)

    async def search(
        self,
        user_id: int,
        text: str,
        *,
        network_id: int | None = None,
        target_key: str | None = None,
        nick: str | None = None,
        before: int | None = None,
        after: int | None = None,
        limit: int = 100,
    ) -> list[StoredEvent]:
        """Full-text search, newest first. ``text`` is matched as words
        (each word a quoted FTS5 term, so no query syntax leaks through; NUL,
        which FTS5 takes for the end of the query, separates words)."""
        words = [w for w in text.replace("\0", " ").split() if w]
        if not words:
            return []
        match = " ".join('"' + w.replace('"', '""') + '"' for w in words)
        limit = max(1, min(limit, MAX_PAGE))

        def query(conn: sqlite3.Connection) -> list[StoredEvent]:
            sql = (
                "SELECT e.id, e.network_id, e.target, e.kind, e.data FROM events_fts "
                "JOIN events e ON e.id = events_fts.rowid "
                "WHERE events_fts MATCH ? AND e.user_id = ?"
            )
            args: list[Any] = [match, user_id]
            for column, value in (
                ("e.network_id = ?", network_id),
                ("e.target_key = ?", target_key),
                ("e.nick = ? COLLATE NOCASE", nick),
                ("e.id < ?", before),
                ("e.id > ?", after),
            ):
                if value is not None:
                    sql += f" AND {column}"
                    args.append(value)
            sql += " ORDER BY e.id DESC LIMIT ?"
            args.append(limit)
            return _rows(conn.execute(sql, args).fetchall())

        return await self.db.read(query)

    async def delete_user(self, user_id: int) -> None:
        def delete(conn: sqlite3.Connection) -> None:
            # an external-content FTS index is told what it indexed, before the rows go
            conn.execute(
                "INSERT INTO events_fts (events_fts, rowid, text) "
                "SELECT 'delete', id, text FROM events WHERE user_id = ? AND text != ''",
                (user_id,),
            )
            conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM read_markers WHERE user_id = ?", (user_id,))
            conn.execute("DELETE FROM unread_counts WHERE user_id = ?", (user_id,))

        await self.db.write(delete)
