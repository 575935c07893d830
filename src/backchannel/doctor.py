"""``backchannel doctor``'s checks: each returns one :class:`Check` (OK, WARN
or FAIL, with what to do about anything not OK). They only look: nothing in
the data dir is created or changed."""

from __future__ import annotations

import errno
import os
import shutil
import socket
import sqlite3
import stat
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Literal
from urllib.parse import quote

from backchannel import __version__
from backchannel.irc.targets import TargetError, is_public_address, parse_server
from backchannel.settings import Settings
from backchannel.store.backup import DB_NAME, REQUIRED_TABLES
from backchannel.store.datadir_lock import lock_holder
from backchannel.store.db import SCHEMA_VERSION

__all__ = ["Check", "run_checks"]

Status = Literal["OK", "WARN", "FAIL"]
MiB = 1024 * 1024
GiB = 1024 * MiB
_RESOLVE_TIMEOUT = 5.0
_DEPENDENCIES = ("aiohttp", "scramp", "argon2-cffi", "pydantic")


@dataclass(frozen=True, slots=True)
class Check:
    status: Status
    what: str
    detail: str
    fix: str = ""

    def __str__(self) -> str:
        line = f"{self.status:<4} {self.what}: {self.detail}"
        return f"{line}; fix: {self.fix}" if self.fix else line


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def check_data_dir(data_dir: Path) -> Check:
    what = "data dir"
    if not data_dir.exists():
        return Check(
            "WARN",
            what,
            f"{data_dir} does not exist yet",
            "it is created at the first 'backchannel serve' (or: mkdir -m 700 -p "
            f"{data_dir}); check --data-dir / BACKCHANNEL_DATA_DIR / data_dir if it should exist",
        )
    if not data_dir.is_dir():
        return Check("FAIL", what, f"{data_dir} is not a directory", "point data_dir at one")
    if not os.access(data_dir, os.W_OK | os.X_OK):
        return Check(
            "FAIL",
            what,
            f"{data_dir} is not writable by this user (uid {os.geteuid()})",
            f"run as the service's user, or chown it to that user: chown -R USER {data_dir}",
        )
    mode = _mode(data_dir)
    if mode & 0o077:
        return Check(
            "WARN",
            what,
            f"{data_dir} has mode {mode:04o}: other users can look inside (it holds IRC passwords)",
            f"chmod 700 {data_dir}",
        )
    if data_dir.stat().st_uid != os.geteuid():
        return Check(
            "WARN",
            what,
            f"{data_dir} belongs to uid {data_dir.stat().st_uid}, not to this user "
            f"(uid {os.geteuid()})",
            "run doctor as the user the server runs as (e.g. sudo -u backchannel)",
        )
    return Check("OK", what, f"{data_dir} (mode {mode:04o}, writable, private)")


def _open_read_only(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, isolation_level=None)
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


def check_database(data_dir: Path) -> Iterator[Check]:
    """The database opens, passes integrity_check and has a schema we know."""
    path = data_dir / DB_NAME
    if not path.is_file():
        yield Check("WARN", "database", f"no {path} yet", "it is created at the first start")
        return
    restore = "restore the latest backup: backchannel restore FILE (see docs/backup.md)"
    size = path.stat().st_size
    if _mode(path) & 0o077:
        yield Check(
            "WARN", "database file", f"{path} has mode {_mode(path):04o}", f"chmod 600 {path}"
        )
    try:
        conn = _open_read_only(path)
        try:
            tables = {
                str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            yield Check("OK", "database", f"{path} opens ({size / MiB:.1f} MiB)")
            problems = [str(r[0]) for r in conn.execute("PRAGMA integrity_check").fetchall()]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        yield Check("FAIL", "database", f"{path} cannot be read: {exc}", restore)
        return
    if problems != ["ok"]:
        yield Check("FAIL", "integrity", "; ".join(problems[:3]), restore)
    else:
        yield Check("OK", "integrity", "integrity_check passed")
    yield _schema(path, version, tables, size)


def _schema(path: Path, version: int, tables: set[str], size: int) -> Check:
    if size == 0:
        return Check("OK", "schema", "empty database: the schema is created at the next start")
    if version > SCHEMA_VERSION:
        return Check(
            "FAIL",
            "schema",
            f"version {version} is newer than this Backchannel understands ({SCHEMA_VERSION})",
            "install the newer Backchannel again, or restore a backup made before the upgrade "
            "(see docs/upgrade.md)",
        )
    missing = REQUIRED_TABLES - tables
    if version == 0 or missing:
        return Check(
            "FAIL",
            "schema",
            f"not a Backchannel database (missing tables: {', '.join(sorted(missing)) or 'none'})",
            "point data_dir elsewhere, or restore a backup",
        )
    if version < SCHEMA_VERSION:
        return Check(
            "WARN",
            "schema",
            f"version {version}, migration to {SCHEMA_VERSION} pending",
            f"restart the server: it backs the database up to {path.name}.v{version}.bak "
            "and migrates it (see docs/upgrade.md)",
        )
    return Check("OK", "schema", f"version {version} (current)")


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_disk(data_dir: Path) -> Check:
    free = shutil.disk_usage(_existing(data_dir)).free
    detail = f"{free / GiB:.1f} GiB free where the data dir is"
    fix = "free some space, or move the data dir to a larger file system"
    if free < 100 * MiB:
        return Check("FAIL", "disk space", detail, fix)
    if free < GiB:
        return Check("WARN", "disk space", detail, fix)
    return Check("OK", "disk space", detail)


def _bind_error(host: str, port: int) -> OSError | None:
    """None when ``host:port`` could be listened on now, else why not."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return exc
    for family, kind, proto, _, address in infos:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
            if family == socket.AF_INET6:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return exc
    return None


def check_listen(settings: Settings) -> Check:
    what = "listen address"
    where = f"{settings.host}:{settings.port}"
    holder = None if settings.public else lock_holder(settings.data_dir)
    error = _bind_error(settings.host, settings.port)
    change = "choose another port (--port, BACKCHANNEL_PORT or port in the config)"
    if error is None:
        running = "" if holder is None else f" ({holder} holds the data dir but not this port)"
        return Check("OK", what, f"{where} is free{running}")
    if isinstance(error, socket.gaierror):
        return Check(
            "FAIL",
            what,
            f"{settings.host!r} does not resolve: {error}",
            "set host to an address of this machine",
        )
    if error.errno == errno.EADDRINUSE:
        if holder is not None:
            return Check("OK", what, f"{where} is in use by the running {holder}")
        return Check(
            "FAIL",
            what,
            f"{where} is in use by another program",
            f"stop it (see: ss -ltnp 'sport = :{settings.port}') or {change}",
        )
    if error.errno == errno.EADDRNOTAVAIL:
        return Check(
            "FAIL",
            what,
            f"{settings.host} is not an address of this machine",
            "set host to one of its addresses, or 0.0.0.0 / ::",
        )
    if error.errno == errno.EACCES:
        return Check(
            "FAIL",
            what,
            f"{where}: permission denied (ports below 1024 need privileges)",
            f"{change}, behind a reverse proxy",
        )
    return Check("FAIL", what, f"{where}: {error}", change)


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def check_allowed_servers(settings: Settings) -> Iterator[Check]:
    if not settings.allowed_servers:
        if settings.public:
            yield Check(
                "WARN",
                "allowed servers",
                "none listed: in public mode nobody can connect anywhere",
                "list servers with allowed_servers",
            )
        else:
            yield Check("OK", "allowed servers", "none listed (public servers on allowed ports)")
        return
    pool = ThreadPoolExecutor(4, thread_name_prefix="doctor-dns")
    try:
        for spec_text in settings.allowed_servers:
            what = f"server {spec_text}"
            try:
                spec = parse_server(spec_text, default_port=None)
                addresses = pool.submit(_resolve, spec.host, spec.port or 6667).result(
                    _RESOLVE_TIMEOUT
                )
            except TargetError as exc:
                yield Check("FAIL", what, str(exc), "correct allowed_servers")
                continue
            except (OSError, FutureTimeout) as exc:
                reason = str(exc) or "timed out"
                yield Check(
                    "WARN",
                    what,
                    f"does not resolve: {reason}",
                    "check the name and this machine's DNS",
                )
                continue
            private = [a for a in addresses if not is_public_address(a)]
            note = " (private address: reachable because it is listed)" if private else ""
            yield Check("OK", what, f"resolves to {', '.join(addresses)}{note}")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def check_runtime() -> Iterator[Check]:
    python = ".".join(map(str, sys.version_info[:3]))
    yield Check("OK", "python", f"{python} ({sys.executable})")
    try:
        sqlite3.connect(":memory:").execute("CREATE VIRTUAL TABLE t USING fts5(x)")
        yield Check("OK", "sqlite", f"{sqlite3.sqlite_version} with FTS5")
    except sqlite3.Error:
        yield Check(
            "FAIL",
            "sqlite",
            f"{sqlite3.sqlite_version} without FTS5 (search needs it)",
            "use a Python whose SQLite has FTS5 (Debian's does)",
        )
    found, missing = [], []
    for name in _DEPENDENCIES:
        try:
            found.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            missing.append(name)
    if missing:
        yield Check(
            "FAIL",
            "dependencies",
            f"missing: {', '.join(missing)}",
            "install Backchannel again with pip or pipx (see docs/install.md)",
        )
    else:
        yield Check("OK", "dependencies", ", ".join(found))


def run_checks(settings: Settings) -> Iterator[Check]:
    yield Check(
        "OK", "backchannel", f"{__version__} ({'public' if settings.public else 'private'} mode)"
    )
    yield check_data_dir(settings.data_dir)
    if settings.public:
        yield Check("OK", "database", "none in public mode (guests are kept in memory)")
    elif settings.data_dir.is_dir():
        holder = lock_holder(settings.data_dir)
        yield Check("OK", "server", "not running" if holder is None else f"running: {holder}")
        yield from check_database(settings.data_dir)
    yield check_disk(settings.data_dir)
    yield check_listen(settings)
    yield from check_allowed_servers(settings)
    yield from check_runtime()
