"""Backups of a data dir as one SQLite file, and their restoration.

A backup is a consistent copy of ``backchannel.sqlite3`` taken with SQLite's
online backup API (see :mod:`backchannel.store.snapshot`), so it can be taken
while the server runs and writes. It is one self-contained file: the STS
policies (``sts.json``) travel inside it, in the ``meta`` table under
``backup:sts.json``, with ``backup:created_at`` and ``backup:version``; a
restore takes them out again. A backup is itself a valid database, so a plain
copy of ``backchannel.sqlite3`` (taken while no server runs) restores too.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from backchannel import __version__
from backchannel.atomic import fsync_dir, fsync_file, write_atomic
from backchannel.store.datadir_lock import DataDirLock
from backchannel.store.db import SCHEMA_VERSION, StoreError
from backchannel.store.snapshot import snapshot

__all__ = [
    "DB_NAME",
    "REQUIRED_TABLES",
    "STS_NAME",
    "BackupError",
    "Restored",
    "Summary",
    "backup",
    "check_database",
    "restore",
]

DB_NAME = "backchannel.sqlite3"
STS_NAME = "sts.json"
REQUIRED_TABLES = frozenset(
    {"users", "web_sessions", "networks", "events", "events_fts", "read_markers", "meta"}
)
_STS_KEY = "backup:sts.json"


class BackupError(StoreError):
    """A backup or restore that cannot go on; the message says why."""


@dataclass(frozen=True, slots=True)
class Summary:
    schema_version: int
    users: int
    networks: int
    events: int
    size: int
    created_at: str | None = None  # when the backup was taken, if it is one

    def __str__(self) -> str:
        mib = self.size / (1024 * 1024)
        return (
            f"schema version {self.schema_version}, {self.users} users, "
            f"{self.networks} networks, {self.events} events, {mib:.1f} MiB"
        )


def _count(conn: sqlite3.Connection, table: str) -> int:
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])


def _meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return None if row is None else str(row[0])


def _summary(conn: sqlite3.Connection, size: int) -> Summary:
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    return Summary(
        version,
        _count(conn, "users"),
        _count(conn, "networks"),
        _count(conn, "events"),
        size,
        _meta(conn, "backup:created_at"),
    )


def _open_read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 10000")
    return conn


def check_database(path: Path, *, full: bool = True) -> Summary:
    """Open ``path`` read-only and check that it is a sound Backchannel
    database this version can use; raises :class:`BackupError` saying why not."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        conn = _open_read_only(path)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: cannot open it: {exc}") from exc
    try:
        check = "integrity_check" if full else "quick_check"
        problems = [str(r[0]) for r in conn.execute(f"PRAGMA {check}").fetchall()]
        if problems != ["ok"]:
            raise BackupError(f"{path} is damaged: {'; '.join(problems[:5])}")
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        tables = {
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        missing = REQUIRED_TABLES - tables
        if version == 0 or missing:
            raise BackupError(
                f"{path} is not a Backchannel database (missing: {', '.join(sorted(missing))})"
            )
        if version > SCHEMA_VERSION:
            raise BackupError(
                f"{path} has schema version {version}, newer than this Backchannel "
                f"understands ({SCHEMA_VERSION}): restore it with a newer Backchannel"
            )
        return _summary(conn, path.stat().st_size)
    except sqlite3.Error as exc:
        raise BackupError(f"{path}: not a usable SQLite database: {exc}") from exc
    finally:
        conn.close()


def backup(data_dir: Path, dest: Path, *, force: bool = False) -> tuple[Path, Summary]:
    """Copy the data dir's database (and STS policies) to ``dest``, a file or
    an existing directory (then ``backchannel-<time>.sqlite3`` in it)."""
    source = data_dir / DB_NAME
    if not source.is_file():
        raise BackupError(f"no database in {data_dir} (nothing to back up)")
    if dest.is_dir():
        dest = dest / f"backchannel-{time.strftime('%Y%m%d-%H%M%S')}.sqlite3"
    if dest.exists() and not force:
        raise BackupError(f"{dest} exists: pass --force to overwrite it")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent}: no such directory")
    with contextlib.suppress(OSError):
        if dest.exists() and dest.samefile(source):
            raise BackupError(f"{dest} is the database itself")
    sts = data_dir / STS_NAME
    sts_text = sts.read_text(encoding="utf-8") if sts.is_file() else None

    def stamp(copy: sqlite3.Connection) -> None:
        rows = [
            ("backup:created_at", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
            ("backup:version", __version__),
        ]
        if sts_text is not None:
            rows.append((_STS_KEY, sts_text))
        copy.executemany("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", rows)

    conn = sqlite3.connect(source, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 10000")
        conn.execute("PRAGMA query_only = ON")
        snapshot(conn, dest, prepare=stamp)
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {source} failed: {exc}") from exc
    finally:
        conn.close()
    return dest, check_database(dest, full=False)


@dataclass(frozen=True, slots=True)
class Restored:
    summary: Summary
    previous: Path | None  # where the replaced database was kept
    sts_restored: bool


def _settle(db: Path) -> None:
    """Fold the WAL into the database file and remove it, so the file alone is
    the whole database (needs exclusive access: no server may run)."""
    conn = sqlite3.connect(db, isolation_level=None)
    try:
        conn.execute("PRAGMA busy_timeout = 2000")
        mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        if str(mode).lower() != "delete":
            raise sqlite3.OperationalError(f"journal mode stays {mode}")
    finally:
        conn.close()


def _keep_previous(db: Path, stamp: str) -> Path:
    """Keep the current database as ``<name>.before-restore-<stamp>``; a sound
    one as a single file, a damaged one with its -wal and -shm moved beside it."""
    previous = db.with_name(f"{db.name}.before-restore-{stamp}")
    try:
        _settle(db)
    except sqlite3.Error:
        for suffix in ("", "-wal", "-shm"):  # SQLite pairs them by name
            if Path(f"{db}{suffix}").exists():
                os.replace(f"{db}{suffix}", f"{previous}{suffix}")
        fsync_dir(db.parent)
        return previous
    shutil.copyfile(db, previous)
    os.chmod(previous, 0o600)
    fsync_file(previous)
    fsync_dir(db.parent)
    return previous


def restore(data_dir: Path, src: Path) -> Restored:
    """Replace the data dir's database with the backup ``src`` (checked
    first). Refused with :class:`~backchannel.store.datadir_lock.DataDirBusy`
    while a server runs on ``data_dir``."""
    summary = check_database(src)
    db = data_dir / DB_NAME
    with contextlib.suppress(OSError):
        if db.exists() and db.samefile(src):
            raise BackupError(f"{src} is the data dir's database itself")
    with DataDirLock.acquire(data_dir, "restore"):
        sts_text: list[str] = []

        def unstamp(copy: sqlite3.Connection) -> None:
            value = _meta(copy, _STS_KEY)
            if value is not None:
                sts_text.append(value)
            copy.execute("DELETE FROM meta WHERE key LIKE 'backup:%'")

        # the copy is made and checked next to the database before it is touched
        incoming = data_dir / f".{DB_NAME}.incoming"
        source = _open_read_only(src)
        try:
            snapshot(source, incoming, prepare=unstamp)
        except sqlite3.Error as exc:
            incoming.unlink(missing_ok=True)
            raise BackupError(f"copying {src} failed: {exc}") from exc
        finally:
            source.close()
        try:
            previous = _keep_previous(db, time.strftime("%Y%m%d-%H%M%S")) if db.exists() else None
            os.replace(incoming, db)
            fsync_dir(data_dir)
        finally:
            incoming.unlink(missing_ok=True)
        if sts_text:
            write_atomic(data_dir / STS_NAME, sts_text[0].encode("utf-8"))
    return Restored(summary, previous, bool(sts_text))
