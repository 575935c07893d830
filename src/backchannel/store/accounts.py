"""User accounts: names, argon2id password hashes, and removal with all data.

Passwords are hashed with argon2id (``argon2-cffi``'s :class:`PasswordHasher`,
its default parameters unless one is passed in). Hashing runs in a thread, at
most a few at a time, so logins never stall the event loop and a burst of them
cannot exhaust memory (each hash uses ~64 MiB).
"""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from backchannel.store.db import Database

__all__ = [
    "MAX_PASSWORD_LENGTH",
    "MIN_PASSWORD_LENGTH",
    "AccountError",
    "Accounts",
    "User",
    "check_password",
    "check_username",
]

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
_USERNAME = re.compile(r"[A-Za-z0-9_.-]{1,32}")
_CONCURRENT_HASHES = 2

T = TypeVar("T")


class AccountError(ValueError):
    """A request about accounts that cannot be done; ``code`` says why
    (``invalid_username``, ``invalid_password``, ``user_exists``)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    created_at: float


def check_username(name: str) -> str:
    if not _USERNAME.fullmatch(name):
        raise AccountError(
            "invalid_username",
            "a user name is 1 to 32 characters: letters, digits, '_', '.' and '-'",
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(
            "invalid_password", f"a password needs at least {MIN_PASSWORD_LENGTH} characters"
        )
    if len(password) > MAX_PASSWORD_LENGTH:
        raise AccountError(
            "invalid_password", f"a password has at most {MAX_PASSWORD_LENGTH} characters"
        )
    return password


def _user(row: tuple[int, str, float]) -> User:
    return User(id=row[0], name=row[1], created_at=row[2])


def _delete_user_data(conn: sqlite3.Connection, user_id: int) -> None:
    """Everything of one user, in the caller's transaction.

    ``events_fts`` is an external-content FTS5 index over ``events``: rows
    are removed from it with the 'delete' command and their indexed text,
    only for rows that are in the index (its ``_docsize`` shadow table)."""
    conn.execute(
        "INSERT INTO events_fts(events_fts, rowid, text) "
        "SELECT 'delete', id, text FROM events "
        "WHERE user_id = ? AND id IN (SELECT id FROM events_fts_docsize)",
        (user_id,),
    )
    conn.execute("DELETE FROM events WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM read_markers WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM networks WHERE user_id = ?", (user_id,))
    conn.execute("DELETE FROM users WHERE id = ?", (user_id,))


class Accounts:
    def __init__(
        self,
        db: Database,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._hasher = hasher or PasswordHasher()
        self._clock = clock
        self._dummy_hash: str | None = None
        self._hashing = asyncio.Semaphore(_CONCURRENT_HASHES)

    async def _in_thread(self, fn: Callable[[], T]) -> T:
        async with self._hashing:
            return await asyncio.to_thread(fn)

    async def _hash(self, password: str) -> str:
        return await self._in_thread(lambda: self._hasher.hash(password))

    async def _verify(self, password_hash: str, password: str) -> bool:
        def verify() -> bool:
            try:
                return self._hasher.verify(password_hash, password)
            except (VerificationError, InvalidHashError):
                return False

        return await self._in_thread(verify)

    async def create_user(self, name: str, password: str) -> User:
        check_username(name)
        check_password(password)
        password_hash = await self._hash(password)
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> User:
            try:
                cur = conn.execute(
                    "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
                    (name, password_hash, now),
                )
            except sqlite3.IntegrityError:
                raise AccountError("user_exists", f"the user {name!r} exists already") from None
            return User(id=int(cur.lastrowid or 0), name=name, created_at=now)

        return await self._db.write(insert)

    async def create_first_user(self, name: str, password: str) -> User | None:
        """Create a user only if there is no account yet (checked in the same
        transaction as the insert); None when there is one."""
        check_username(name)
        check_password(password)
        password_hash = await self._hash(password)
        now = self._clock()

        def insert(conn: sqlite3.Connection) -> User | None:
            if conn.execute("SELECT 1 FROM users LIMIT 1").fetchone():
                return None
            cur = conn.execute(
                "INSERT INTO users (name, password_hash, created_at) VALUES (?, ?, ?)",
                (name, password_hash, now),
            )
            return User(id=int(cur.lastrowid or 0), name=name, created_at=now)

        return await self._db.write(insert)

    async def authenticate(self, name: str, password: str) -> User | None:
        """The user when the password is right. An unknown name costs a hash
        too, so the answer's timing does not tell whether the name exists.
        A hash made with other parameters than today's is replaced."""

        def find(conn: sqlite3.Connection) -> tuple[int, str, float, str] | None:
            row = conn.execute(
                "SELECT id, name, created_at, password_hash FROM users WHERE name = ?",
                (name,),
            ).fetchone()
            return None if row is None else (row[0], row[1], row[2], row[3])

        found = await self._db.read(find) if _USERNAME.fullmatch(name) else None
        if found is None:
            if self._dummy_hash is None:  # hashing costs what verifying does
                self._dummy_hash = await self._hash("a decoy, not anyone's password")
            else:
                await self._verify(self._dummy_hash, password)
            return None
        user_id, user_name, created_at, password_hash = found
        if not await self._verify(password_hash, password):
            return None
        if self._hasher.check_needs_rehash(password_hash):
            await self._store_hash(user_id, await self._hash(password))
        return User(id=user_id, name=user_name, created_at=created_at)

    async def _store_hash(self, user_id: int, password_hash: str) -> None:
        await self._db.write(
            lambda conn: conn.execute(
                "UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, user_id)
            )
        )

    async def set_password(self, name: str, password: str, *, end_sessions: bool = True) -> bool:
        """Change a password (False: no such user). By default the user's
        web sessions end too, so every browser has to log in again."""
        check_password(password)
        password_hash = await self._hash(password)

        def update(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            conn.execute("UPDATE users SET password_hash = ? WHERE id = ?", (password_hash, row[0]))
            if end_sessions:
                conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (row[0],))
            return True

        return await self._db.write(update)

    async def list_users(self) -> list[User]:
        rows = await self._db.read(
            lambda conn: conn.execute(
                "SELECT id, name, created_at FROM users ORDER BY name COLLATE NOCASE"
            ).fetchall()
        )
        return [_user(row) for row in rows]

    async def get_user(self, user_id: int) -> User | None:
        row = await self._db.read(
            lambda conn: conn.execute(
                "SELECT id, name, created_at FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        )
        return None if row is None else _user(row)

    async def get_settings(self, user_id: int) -> dict[str, Any]:
        """The user's preferences (JSON object; {} when none are set)."""
        row = await self._db.read(
            lambda conn: conn.execute(
                "SELECT settings FROM users WHERE id = ?", (user_id,)
            ).fetchone()
        )
        if row is None:
            return {}
        data = json.loads(row[0] or "{}")
        return data if isinstance(data, dict) else {}

    async def all_settings(self) -> dict[int, dict[str, Any]]:
        rows = await self._db.read(
            lambda conn: conn.execute("SELECT id, settings FROM users").fetchall()
        )
        return {int(uid): json.loads(text or "{}") for uid, text in rows}

    async def update_settings(self, user_id: int, changes: dict[str, Any]) -> dict[str, Any]:
        """Merge ``changes`` into the user's preferences; returns them all."""

        def update(conn: sqlite3.Connection) -> dict[str, Any]:
            row = conn.execute("SELECT settings FROM users WHERE id = ?", (user_id,)).fetchone()
            current = json.loads(row[0] or "{}") if row else {}
            current.update(changes)
            conn.execute(
                "UPDATE users SET settings = ? WHERE id = ?", (json.dumps(current), user_id)
            )
            return dict(current)

        return await self._db.write(update)

    async def find_user(self, name: str) -> User | None:
        row = await self._db.read(
            lambda conn: conn.execute(
                "SELECT id, name, created_at FROM users WHERE name = ?", (name,)
            ).fetchone()
        )
        return None if row is None else _user(row)

    async def remove_user(self, name: str) -> bool:
        """Remove a user and all their data: networks, scrollback (and its
        search index), read markers, web sessions. False: no such user."""

        def remove(conn: sqlite3.Connection) -> bool:
            row = conn.execute("SELECT id FROM users WHERE name = ?", (name,)).fetchone()
            if row is None:
                return False
            _delete_user_data(conn, int(row[0]))
            return True

        return await self._db.write(remove)

    async def count_users(self) -> int:
        row = await self._db.read(
            lambda conn: conn.execute("SELECT count(*) FROM users").fetchone()
        )
        return int(row[0])
