"""Login sessions of the web interface, kept in SQLite so they survive a restart.

The browser holds a random token (``secrets.token_urlsafe(32)``); the database
holds only its SHA-256, so a copy of the database does not let anyone log in.
A session's public id (shown in the sessions list, used to revoke one) is the
first 16 hex digits of that hash: it names the session without being able to
act as it. Sessions idle for longer than ``idle_timeout`` end at their next
lookup; ``last_seen`` is refreshed at most once a minute, as a best effort: a
locked or full database never holds a request up for it (nor fails it).
"""

from __future__ import annotations

import asyncio
import builtins
import contextlib
import hashlib
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass

from backchannel.store.db import Database

__all__ = ["DEFAULT_IDLE_TIMEOUT", "WebSession", "WebSessions", "public_id"]

log = logging.getLogger(__name__)

DEFAULT_IDLE_TIMEOUT = 30 * 24 * 3600.0
_TOUCH_INTERVAL = 60.0
#: how long a request waits for its session's last-seen refresh; a locked
#: database would hold it for the whole busy timeout, then fail it
_TOUCH_WAIT = 0.5
_MAX_TOKEN = 256
_MAX_ADDRESS = 64
_MAX_USER_AGENT = 512
_PUBLIC_ID = re.compile(r"[0-9a-f]{16}")
_COLUMNS = "token_hash, user_id, created_at, last_seen, address, user_agent"

Row = tuple[bytes, int, float, float, str, str]


@dataclass(frozen=True, slots=True)
class WebSession:
    id: str
    user_id: int
    created_at: float
    last_seen: float
    address: str
    user_agent: str


def _hash(token: str) -> bytes:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()


def public_id(token: str) -> str:
    """The public id of the session a token belongs to."""
    return _hash(token).hex()[:16]


def _session(row: Row) -> WebSession:
    return WebSession(
        id=row[0].hex()[:16],
        user_id=row[1],
        created_at=row[2],
        last_seen=row[3],
        address=row[4],
        user_agent=row[5],
    )


class WebSessions:
    def __init__(
        self,
        db: Database,
        idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._idle_timeout = idle_timeout
        self._clock = clock
        self._touching: set[bytes] = set()  # sessions whose refresh is being written

    async def create(self, user_id: int, address: str = "", user_agent: str = "") -> str:
        """Start a session; returns the token for the browser's cookie."""
        token = secrets.token_urlsafe(32)
        now = self._clock()
        row = (
            _hash(token),
            user_id,
            now,
            now,
            address[:_MAX_ADDRESS],
            user_agent[:_MAX_USER_AGENT],
        )
        await self._db.write(
            lambda conn: conn.execute(
                f"INSERT INTO web_sessions ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)", row
            )
        )
        return token

    def _expired(self, session: WebSession, now: float) -> bool:
        return self._idle_timeout is not None and now - session.last_seen > self._idle_timeout

    async def lookup(self, token: str | None) -> WebSession | None:
        if not token or len(token) > _MAX_TOKEN:
            return None
        token_hash = _hash(token)
        row: Row | None = await self._db.read(
            lambda conn: conn.execute(
                f"SELECT {_COLUMNS} FROM web_sessions WHERE token_hash = ?", (token_hash,)
            ).fetchone()
        )
        if row is None:
            return None
        session = _session(row)
        now = self._clock()
        if self._expired(session, now):
            await self.delete(token)
            return None
        if now - session.last_seen >= _TOUCH_INTERVAL:
            await self._touch(token_hash, now)
            session = WebSession(
                session.id,
                session.user_id,
                session.created_at,
                now,
                session.address,
                session.user_agent,
            )
        return session

    async def _touch(self, token_hash: bytes, now: float) -> None:
        """Refresh ``last_seen``, waiting for it at most ``_TOUCH_WAIT``: when
        the database is locked or full the write finishes (or fails, and is
        logged) later, and the request goes on; one refresh per session at a time."""
        if token_hash in self._touching:
            return
        self._touching.add(token_hash)
        write = asyncio.ensure_future(
            self._db.write(
                lambda conn: conn.execute(
                    "UPDATE web_sessions SET last_seen = ? WHERE token_hash = ?", (now, token_hash)
                )
            )
        )

        def done(future: asyncio.Future[sqlite3.Cursor]) -> None:
            self._touching.discard(token_hash)
            if not future.cancelled() and future.exception() is not None:
                log.warning("a session's last activity was not recorded: %s", future.exception())

        write.add_done_callback(done)
        with contextlib.suppress(TimeoutError, sqlite3.Error):
            await asyncio.wait_for(asyncio.shield(write), _TOUCH_WAIT)

    async def delete(self, token: str) -> bool:
        token_hash = _hash(token)
        deleted = await self._db.write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM web_sessions WHERE token_hash = ?", (token_hash,)
                ).rowcount
            )
        )
        return deleted > 0

    async def delete_by_id(self, user_id: int, session_id: str) -> bool:
        """End one of the user's sessions, named by its public id."""
        if not _PUBLIC_ID.fullmatch(session_id):
            return False
        prefix = bytes.fromhex(session_id)
        deleted = await self._db.write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM web_sessions WHERE user_id = ? AND substr(token_hash, 1, 8) = ?",
                    (user_id, prefix),
                ).rowcount
            )
        )
        return deleted > 0

    async def list(self, user_id: int) -> builtins.list[WebSession]:
        """The user's live sessions, most recently used first."""
        now = self._clock()

        def select(conn: sqlite3.Connection) -> builtins.list[Row]:
            return conn.execute(
                f"SELECT {_COLUMNS} FROM web_sessions WHERE user_id = ? ORDER BY last_seen DESC",
                (user_id,),
            ).fetchall()

        sessions = [_session(row) for row in await self._db.read(select)]
        return [s for s in sessions if not self._expired(s, now)]

    async def delete_others(self, user_id: int, keep_token: str) -> int:
        """End all the user's sessions but the one of ``keep_token``; returns
        how many ended."""
        keep = _hash(keep_token)
        deleted: int = await self._db.write(
            lambda conn: (
                conn.execute(
                    "DELETE FROM web_sessions WHERE user_id = ? AND token_hash != ?",
                    (user_id, keep),
                ).rowcount
            )
        )
        return deleted

    async def delete_expired(self) -> int:
        """Remove sessions past the idle timeout (lookups do it one by one;
        this is for a periodic sweep)."""
        if self._idle_timeout is None:
            return 0
        cutoff = self._clock() - self._idle_timeout
        deleted: int = await self._db.write(
            lambda conn: (
                conn.execute("DELETE FROM web_sessions WHERE last_seen < ?", (cutoff,)).rowcount
            )
        )
        return deleted
