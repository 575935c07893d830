"""``backchannel backup`` and ``restore`` on data dirs, without a server
(the tests with a running server are in test_ops_serve.py)."""

from __future__ import annotations

import json
import os
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from backchannel.store.backup import BackupError, backup, check_database, restore
from backchannel.store.datadir_lock import DataDirBusy, DataDirLock, lock_holder
from backchannel.store.db import SCHEMA_VERSION, Database

BACKCHANNEL = [sys.executable, "-m", "backchannel"]
STS = {"policies": [{"host": "irc.example.org", "port": 6697, "duration": 60,
                     "expires_at": 4102444800.0, "preload": False}]}  # fmt: skip


def run(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
    return subprocess.run(
        [*BACKCHANNEL, *args], capture_output=True, text=True, timeout=60, env=env
    )


def make_data_dir(data_dir: Path, users: tuple[str, ...] = ("alice",)) -> None:
    db = Database.in_data_dir(data_dir)
    try:
        for name in users:
            db.write_sync(
                lambda c, name=name: c.execute(
                    "INSERT INTO users (name, password_hash, created_at) VALUES (?, 'x', 0)",
                    (name,),
                )
            )
    finally:
        db.close()
    (data_dir / "sts.json").write_text(json.dumps(STS))


def names(data_dir: Path) -> list[str]:
    db = Database.in_data_dir(data_dir)
    try:
        return [r[0] for r in db.read_sync(lambda c: c.execute("SELECT name FROM users"))]
    finally:
        db.close()


def test_backup_is_one_checked_private_file(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data")
    dest, summary = backup(tmp_path / "data", tmp_path / "b.sqlite3")
    assert dest == tmp_path / "b.sqlite3"
    assert summary.users == 1 and summary.schema_version == SCHEMA_VERSION
    assert summary.created_at is not None
    assert stat.S_IMODE(dest.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.sqlite3", "data"]  # no -wal, no tmp
    conn = sqlite3.connect(dest)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        meta = dict(conn.execute("SELECT key, value FROM meta WHERE key LIKE 'backup:%'"))
    finally:
        conn.close()
    assert json.loads(meta["backup:sts.json"]) == STS
    assert set(meta) == {"backup:sts.json", "backup:created_at", "backup:version"}


def test_backup_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data")
    dest = tmp_path / "b.sqlite3"
    dest.write_bytes(b"precious")
    refused = run("backup", str(dest), "--data-dir", str(tmp_path / "data"))
    assert refused.returncode == 1
    assert "exists: pass --force" in refused.stderr
    assert dest.read_bytes() == b"precious"
    forced = run("backup", str(dest), "--force", "--data-dir", str(tmp_path / "data"))
    assert forced.returncode == 0, forced.stderr
    assert "1 users" in forced.stdout
    assert check_database(dest).users == 1


def test_backup_into_a_directory_and_errors(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data")
    (tmp_path / "backups").mkdir()
    dest, _ = backup(tmp_path / "data", tmp_path / "backups")
    assert dest.parent == tmp_path / "backups" and dest.name.startswith("backchannel-")
    with pytest.raises(BackupError, match="no database"):
        backup(tmp_path / "empty", tmp_path / "x.sqlite3")
    with pytest.raises(BackupError, match="no such directory"):
        backup(tmp_path / "data", tmp_path / "missing" / "x.sqlite3")


def test_restore_into_a_second_data_dir(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "one", ("alice", "bob"))
    dest, _ = backup(tmp_path / "one", tmp_path / "b.sqlite3")
    result = run("restore", str(dest), "--data-dir", str(tmp_path / "two"))
    assert result.returncode == 0, result.stderr
    assert "2 users" in result.stdout and "STS policies restored" in result.stdout
    assert names(tmp_path / "two") == ["alice", "bob"]
    assert json.loads((tmp_path / "two" / "sts.json").read_text()) == STS
    assert stat.S_IMODE((tmp_path / "two").stat().st_mode) == 0o700
    conn = sqlite3.connect(tmp_path / "two" / "backchannel.sqlite3")
    try:  # the backup's own notes are not part of the restored database
        assert conn.execute("SELECT COUNT(*) FROM meta WHERE key LIKE 'backup:%'").fetchone() == (
            0,
        )
    finally:
        conn.close()


def test_restore_keeps_the_replaced_database(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data", ("alice",))
    dest, _ = backup(tmp_path / "data", tmp_path / "b.sqlite3")
    # changes after the backup, some still in the WAL of an open database
    db = Database.in_data_dir(tmp_path / "data")
    db.write_sync(lambda c: c.execute("INSERT INTO users (name, password_hash, created_at) "
                                      "VALUES ('carol', 'x', 0)"))  # fmt: skip
    db.close()
    done = restore(tmp_path / "data", dest)
    assert done.previous is not None and done.previous.name.startswith(
        "backchannel.sqlite3.before-restore-"
    )
    assert names(tmp_path / "data") == ["alice"]
    assert check_database(done.previous).users == 2  # carol is kept there
    assert not (tmp_path / "data" / ".backchannel.sqlite3.incoming").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: p.write_bytes(b"this is not a database at all" * 100), "not a usable SQLite"),
        (lambda p: sqlite3.connect(p).execute("CREATE TABLE other (x)"), "not a Backchannel"),
        (None, "newer than this Backchannel"),
    ],
    ids=["garbage", "other-sqlite", "newer-schema"],
)
def test_restore_refuses_bad_backups(tmp_path: Path, make: object, message: str) -> None:
    make_data_dir(tmp_path / "data", ("alice",))
    src = tmp_path / "bad.sqlite3"
    if make is None:
        backup(tmp_path / "data", src)
        conn = sqlite3.connect(src)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
        conn.close()
    else:
        make(src)  # type: ignore[operator]
    before = (tmp_path / "data" / "backchannel.sqlite3").read_bytes()
    result = run("restore", str(src), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 1
    assert message in result.stderr
    assert (tmp_path / "data" / "backchannel.sqlite3").read_bytes() == before
    assert not list((tmp_path / "data").glob("*before-restore*"))


def test_restore_refuses_a_damaged_backup(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data", tuple(f"user{i}" for i in range(300)))
    src, _ = backup(tmp_path / "data", tmp_path / "b.sqlite3")
    raw = bytearray(src.read_bytes())
    page = 4096
    for offset in range(2 * page, len(raw), page):  # scribble over every page but the first two
        raw[offset + 8 : offset + 40] = b"\xff" * 32
    src.write_bytes(bytes(raw))
    with pytest.raises(BackupError):
        restore(tmp_path / "data", src)
    assert len(names(tmp_path / "data")) == 300


def test_restore_refused_while_the_data_dir_is_locked(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data")
    src, _ = backup(tmp_path / "data", tmp_path / "b.sqlite3")
    with DataDirLock.acquire(tmp_path / "data", "serve"):
        holder = lock_holder(tmp_path / "data")
        assert holder is not None and holder.pid == os.getpid() and holder.purpose == "serve"
        with pytest.raises(DataDirBusy, match=f"backchannel serve \\(pid {os.getpid()}\\)"):
            restore(tmp_path / "data", src)
        result = run("restore", str(src), "--data-dir", str(tmp_path / "data"))
        assert result.returncode == 1
        assert "stop the server first" in result.stderr
    assert lock_holder(tmp_path / "data") is None
    assert restore(tmp_path / "data", src).summary.users == 1


def test_restore_of_the_database_itself_is_refused(tmp_path: Path) -> None:
    make_data_dir(tmp_path / "data")
    with pytest.raises(BackupError, match="itself"):
        restore(tmp_path / "data", tmp_path / "data" / "backchannel.sqlite3")
