"""The SQLite database: one file in the data dir, WAL mode, versioned schema.

All access goes through :meth:`Database.write` (one writer thread, so writes
never contend inside the process) and :meth:`Database.read` (a small pool of
reader threads with their own connections; WAL lets them read while the
writer writes). Callers pass a function that runs on the connection.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TypeVar

from backchannel.store.schema import MIGRATIONS
from backchannel.store.snapshot import snapshot

__all__ = ["SCHEMA_VERSION", "Database", "StoreError"]

log = logging.getLogger(__name__)

T = TypeVar("T")
SCHEMA_VERSION = len(MIGRATIONS)
_BUSY_TIMEOUT_MS = 10_000


class StoreError(Exception):
    """The database cannot be used (newer schema, corrupt file...)."""


def _connect(path: Path | str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {_BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema up to date; returns the version found before."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if found > SCHEMA_VERSION:
        raise StoreError(
            f"the database has schema version {found}, newer than this Backchannel "
            f"understands ({SCHEMA_VERSION}); upgrade Backchannel"
        )
    for version in range(found, SCHEMA_VERSION):
        conn.execute("BEGIN IMMEDIATE")
        try:
            for statement in _statements(MIGRATIONS[version]):
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        log.info("database schema migrated to version %d", version + 1)
    return found


def backup_before_migrating(conn: sqlite3.Connection, path: Path | str) -> Path | None:
    """When the file's schema is older than ours, copy it first to
    ``<name>.v<old>.bak`` next to it (the way back, see docs/upgrade.md)."""
    found = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if str(path) == ":memory:" or not 0 < found < SCHEMA_VERSION:
        return None
    dest = Path(f"{path}.v{found}.bak")
    if dest.exists():  # an earlier attempt's backup: keep it too
        dest = Path(f"{path}.v{found}.{time.strftime('%Y%m%d-%H%M%S')}.bak")
    try:
        snapshot(conn, dest)
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(
            f"cannot back up {path} (schema version {found}) to {dest} before migrating "
            f"it to version {SCHEMA_VERSION}: {exc}"
        ) from exc
    log.warning(
        "database schema version %d is older than %d: backed up to %s, now migrating",
        found,
        SCHEMA_VERSION,
        dest,
    )
    return dest


def _statements(script: str) -> list[str]:
    """Split a migration into statements (they contain no ';' in literals)."""
    return [s.strip() for s in script.split(";\n") if s.strip()]


class Database:
    def __init__(self, path: Path | str, readers: int = 2) -> None:
        self.path = path
        self._writer_conn = _connect(path)
        if str(path) != ":memory:":
            mode = self._writer_conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                log.warning("SQLite WAL mode unavailable (%s); using %s", path, mode)
        self._writer_conn.execute("PRAGMA synchronous = NORMAL")
        backup_before_migrating(self._writer_conn, path)
        migrate(self._writer_conn)
        self._write_pool = ThreadPoolExecutor(1, thread_name_prefix="db-writer")
        self._read_pool = ThreadPoolExecutor(readers, thread_name_prefix="db-reader")
        self._local = threading.local()
        self._reader_conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> Database:
        """The database in ``data_dir``, created readable by this user only (it
        holds IRC passwords, which have to be kept to log in)."""
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = data_dir / "backchannel.sqlite3"
        if not path.exists():
            path.touch(mode=0o600)
        return cls(path)

    def _reader(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            if str(self.path) == ":memory:":
                return self._writer_conn
            conn = _connect(self.path)
            conn.execute("PRAGMA query_only = ON")
            self._local.conn = conn
            with self._lock:
                self._reader_conns.append(conn)
        return conn

    def write_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one transaction on the writer connection (call from
        the writer thread, or before the event loop runs)."""
        conn = self._writer_conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = fn(conn)
            conn.execute("COMMIT")
        except BaseException:
            # SQLite may have rolled back already (e.g. SQLITE_FULL): keep the real error
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    async def write(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._write_pool, self.write_sync, fn)

    def read_sync(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        return fn(self._reader())

    async def read(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if str(self.path) == ":memory:":
            return await self.write(fn)
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._read_pool, self.read_sync, fn)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._write_pool.shutdown(wait=True)
        self._read_pool.shutdown(wait=True)
        with self._lock:
            for conn in self._reader_conns:
                conn.close()
        self._writer_conn.close()
