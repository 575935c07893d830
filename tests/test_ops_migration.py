"""Schema migrations at start, after an automatic backup of the old database."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

import backchannel.store.db as db_module
from backchannel.store.accounts import Accounts
from backchannel.store.db import SCHEMA_VERSION, Database, StoreError
from backchannel.store.events import EventStore
from backchannel.store.networks import NetworkStore
from backchannel.store.schema import MIGRATIONS

MESSAGES = ["hello from version one", "a second line", "and a mention of alice"]


def _version(path: Path) -> int:
    conn = sqlite3.connect(path)
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    finally:
        conn.close()


def make_v1_database(path: Path) -> None:
    """A database as Backchannel's first schema left it: one user, one
    network, a few events with their search index and a read marker."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.executescript(MIGRATIONS[0])
        conn.execute("PRAGMA user_version = 1")
        conn.execute(
            "INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'alice', "
            "'$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo', 1700000000.0)"
        )
        config = {"host": "irc.example.org", "port": 6697, "tls": True, "nick": "alice"}
        conn.execute(
            "INSERT INTO networks (id, user_id, name, config, enabled, created_at) "
            "VALUES (1, 1, 'example', ?, 1, 1700000000.0)",
            (json.dumps(config),),
        )
        for cursor, text in enumerate(MESSAGES, start=1):
            data = {"kind": "privmsg", "nick": "bob", "text": text, "cursor": str(cursor),
                    "network": 1, "target": "#chat", "time": "2024-01-01T00:00:00Z"}  # fmt: skip
            conn.execute(
                "INSERT INTO events (id, user_id, network_id, target, target_key, kind, time, "
                "nick, text, counts, highlight, data) VALUES (?, 1, 1, '#chat', '#chat', "
                "'privmsg', '2024-01-01T00:00:00Z', 'bob', ?, 1, ?, ?)",
                (cursor, text, int("alice" in text), json.dumps(data)),
            )
            conn.execute("INSERT INTO events_fts (rowid, text) VALUES (?, ?)", (cursor, text))
        conn.execute("INSERT INTO read_markers VALUES (1, 1, '#chat', 1)")
    finally:
        conn.close()


async def test_v1_database_is_backed_up_then_migrated(tmp_path: Path) -> None:
    path = tmp_path / "backchannel.sqlite3"
    make_v1_database(path)
    db = Database(path)
    try:
        assert db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == (
            SCHEMA_VERSION
        )
        users = await Accounts(db).list_users()
        assert [u.name for u in users] == ["alice"]
        [network] = await NetworkStore(db).list(1)
        assert network.name == "example" and network.config["host"] == "irc.example.org"
        events = EventStore(db)
        history = await events.history(1, 1, "#chat")
        assert [e.to_dict()["text"] for e in history] == MESSAGES
        found = await events.search(1, "mention")
        assert [e.cursor for e in found] == [3]
        # v3 counted the stored bytes of the events already there
        stored = sum(len(e.data_json.encode()) for e in await events.after(1, 0))
        assert await events.usage(1) == stored > 0
    finally:
        db.close()

    backup = tmp_path / "backchannel.sqlite3.v1.bak"
    assert backup.is_file()
    assert _version(backup) == 1
    conn = sqlite3.connect(backup)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one file
        texts = [r[0] for r in conn.execute("SELECT text FROM events ORDER BY id")]
        assert texts == MESSAGES
    finally:
        conn.close()

    # opened again: already current, no second backup
    Database(path).close()
    assert sorted(p.name for p in tmp_path.glob("*.bak")) == [backup.name]


def test_an_existing_backup_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "backchannel.sqlite3"
    make_v1_database(path)
    earlier = tmp_path / "backchannel.sqlite3.v1.bak"
    earlier.write_bytes(b"an earlier attempt's backup")
    Database(path).close()
    assert earlier.read_bytes() == b"an earlier attempt's backup"
    [second] = [p for p in tmp_path.glob("backchannel.sqlite3.v1.*.bak")]
    assert _version(second) == 1


def test_no_backup_no_migration(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "backchannel.sqlite3"
    make_v1_database(path)

    def fail(*args: object, **kw: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(db_module, "snapshot", fail)
    with pytest.raises(StoreError, match=r"cannot back up .* before migrating .*No space left"):
        Database(path)
    assert _version(path) == 1


def test_a_new_database_needs_no_backup(tmp_path: Path) -> None:
    Database.in_data_dir(tmp_path).close()
    assert _version(tmp_path / "backchannel.sqlite3") == SCHEMA_VERSION
    assert not list(tmp_path.glob("*.bak"))


def test_a_newer_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "backchannel.sqlite3"
    Database(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer than this Backchannel understands"):
        Database(path)
    assert not list(tmp_path.glob("*.bak"))
    assert _version(path) == SCHEMA_VERSION + 1
