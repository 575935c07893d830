"""The scrollback store on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from backchannel.store.db import SCHEMA_VERSION, Database, StoreError
from backchannel.store.events import EventStore, NewEvent
from backchannel.store.markers import MarkerStore


def _event(user: int, target: str, text: str, *, kind: str = "privmsg", net: int = 1,
           nick: str = "alice", counts: bool = True, highlight: bool = False) -> NewEvent:
    return NewEvent(
        user_id=user, network_id=net, target=target, target_key=target.lower(), kind=kind,
        time="2026-01-01T00:00:00.000Z", nick=nick, text=text,
        data={"kind": kind, "time": "2026-01-01T00:00:00.000Z", "nick": nick, "text": text},
        counts=counts, highlight=highlight,
    )


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "bc.sqlite3")
    yield database
    database.close()


async def test_cursors_order_a_users_events_and_survive_reopening(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    first = await store.append([_event(1, "#a", "one"), _event(2, "#a", "other user")])
    second = await store.append([_event(1, "#b", "two")])
    assert first[0].cursor < first[1].cursor < second[0].cursor
    data = first[0].to_dict()
    assert data["cursor"] == str(first[0].cursor) and data["target"] == "#a"
    assert data["network"] == 1 and data["text"] == "one"
    db.close()
    reopened = EventStore(Database(tmp_path / "bc.sqlite3"))
    after = await reopened.after(1, 0)
    assert [e.to_dict()["text"] for e in after] == ["one", "two"]
    assert await reopened.latest_cursor(1) == second[0].cursor
    assert await reopened.latest_cursor(2) == first[1].cursor
    reopened.db.close()


async def test_wal_mode_and_schema_version(db: Database) -> None:
    mode = db.read_sync(lambda c: c.execute("PRAGMA journal_mode").fetchone()[0])
    assert mode == "wal"
    assert db.read_sync(lambda c: c.execute("PRAGMA user_version").fetchone()[0]) == SCHEMA_VERSION


def test_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "future.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(StoreError, match="newer"):
        Database(path)


async def test_history_pages_one_conversation(db: Database) -> None:
    store = EventStore(db)
    stored = await store.append(
        [_event(1, "#a" if i % 2 == 0 else "#b", f"m{i}") for i in range(30)]
    )
    a_cursors = [e.cursor for e in stored if e.target == "#a"]
    page = await store.history(1, 1, "#a", limit=5)
    assert [e.cursor for e in page] == a_cursors[-5:]  # the latest, oldest first
    older = await store.history(1, 1, "#a", before=page[0].cursor, limit=5)
    assert [e.cursor for e in older] == a_cursors[-10:-5]
    newer = await store.history(1, 1, "#a", after=a_cursors[2], limit=3)
    assert [e.cursor for e in newer] == a_cursors[3:6]
    assert await store.history(2, 1, "#a") == []  # another user's conversation is not there
    assert await store.history(1, 2, "#a") == []  # nor another network's


async def test_search_is_scoped_and_takes_no_query_syntax(db: Database) -> None:
    store = EventStore(db)
    await store.append(
        [
            _event(1, "#a", "the quick brown fox"),
            _event(1, "#b", "a quick reply", nick="bob"),
            _event(2, "#a", "quick but someone else's"),
            _event(1, "#a", 'weird "quotes" AND OR NEAR('),
        ]
    )
    found = await store.search(1, "quick")
    assert sorted(e.to_dict()["text"] for e in found) == ["a quick reply", "the quick brown fox"]
    assert [e.to_dict()["text"] for e in await store.search(1, "quick", nick="BOB")] == [
        "a quick reply"
    ]
    assert [e.target for e in await store.search(1, "quick", target_key="#a")] == ["#a"]
    assert len(await store.search(1, 'NEAR( "quotes"')) == 1
    assert await store.search(1, "   ") == []


async def test_deleting_a_user_removes_events_and_index(db: Database) -> None:
    store = EventStore(db)
    await store.append([_event(1, "#a", "secret words"), _event(2, "#a", "secret kept")])
    await store.delete_user(1)
    assert await store.after(1, 0) == []
    assert [e.to_dict()["text"] for e in await store.search(2, "secret")] == ["secret kept"]
    assert await store.search(1, "secret") == []


async def test_read_markers_and_unread_counts(db: Database) -> None:
    store = EventStore(db)
    markers = MarkerStore(db)
    stored = await store.append(
        [
            _event(1, "#a", "hello"),
            _event(1, "#a", "hi me", highlight=True),
            _event(1, "#a", "mine", counts=False),
            _event(1, "#a", "", kind="join", counts=False),
        ]
    )
    unread = {u.target_key: u for u in await markers.unread(1)}
    assert (unread["#a"].unread, unread["#a"].mentions, unread["#a"].marker) == (2, 1, 0)
    assert await markers.set(1, 1, "#a", stored[0].cursor) == stored[0].cursor
    assert await markers.set(1, 1, "#a", 0) == stored[0].cursor  # never moves back
    unread = {u.target_key: u for u in await markers.unread(1)}
    assert (unread["#a"].unread, unread["#a"].mentions) == (1, 1)
    await markers.set(1, 1, "#a", stored[-1].cursor)
    assert [(u.unread, u.mentions) for u in await markers.unread(1)] == [(0, 0)]


def test_a_new_data_dir_is_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    Database.in_data_dir(data).close()
    assert data.stat().st_mode & 0o777 == 0o700
    assert (data / "backchannel.sqlite3").stat().st_mode & 0o777 == 0o600
