"""Unread and mention counts kept in ``unread_counts`` (schema v2): always the
same as counting the events after each marker, however events, markers and
deletions interleave, and filled in when an older database is migrated."""

from __future__ import annotations

import random
import sqlite3
from pathlib import Path

import pytest

from backchannel.store.accounts import Accounts
from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent
from backchannel.store.markers import MarkerStore, rebuild_unread_counts
from backchannel.store.networks import NetworkStore
from backchannel.store.schema import MIGRATIONS


def _event(user: int, net: int, target: str, *, counts: bool = True, highlight: bool = False,
           text: str = "hi") -> NewEvent:
    return NewEvent(
        user_id=user, network_id=net, target=target, target_key=target.lower(),
        kind="privmsg" if counts else "join", time="2026-01-01T00:00:00.000Z", nick="alice",
        text=text, data={"kind": "privmsg", "text": text}, counts=counts, highlight=highlight,
    )  # fmt: skip


def _brute_force(conn: sqlite3.Connection, user: int) -> dict[tuple[int, str], tuple[int, int]]:
    """What the version-1 code computed: a scan of the user's counted events."""
    out = {}
    targets = conn.execute(
        "SELECT DISTINCT network_id, target_key FROM events WHERE user_id = ? AND counts = 1",
        (user,),
    ).fetchall()
    for net, key in targets:
        row = conn.execute(
            "SELECT cursor FROM read_markers WHERE user_id = ? AND network_id = ? "
            "AND target_key = ?",
            (user, net, key),
        ).fetchone()
        marker = row[0] if row else 0
        count, mentions = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(highlight), 0) FROM events WHERE user_id = ? "
            "AND network_id = ? AND target_key = ? AND id > ? AND counts = 1",
            (user, net, key, marker),
        ).fetchone()
        out[(net, key)] = (count, mentions)
    return out


async def _counts(markers: MarkerStore, user: int) -> dict[tuple[int, str], tuple[int, int]]:
    found = await markers.unread(user)
    return {(u.network_id, u.target_key): (u.unread, u.mentions) for u in found}


@pytest.fixture
async def db(tmp_path: Path):
    database = Database(tmp_path / "bc.sqlite3")
    yield database
    database.close()


async def test_counts_follow_events_and_markers(db: Database) -> None:
    events, markers = EventStore(db), MarkerStore(db)
    stored = await events.append(
        [_event(1, 1, "#a"), _event(1, 1, "#a", highlight=True), _event(1, 1, "#A"),
         _event(1, 1, "#b", counts=False), _event(2, 1, "#a")]
    )  # fmt: skip
    assert await _counts(markers, 1) == {(1, "#a"): (3, 1)}  # "#b" never had counted events
    await markers.set(1, 1, "#a", stored[1].cursor)
    assert await _counts(markers, 1) == {(1, "#a"): (1, 0)}
    (unread,) = await markers.unread(1)
    assert unread.marker == stored[1].cursor
    # a marker set ahead of the events covers the events up to it
    await markers.set(1, 1, "#c", stored[-1].cursor + 2)
    more = await events.append([_event(1, 1, "#c"), _event(1, 1, "#c"), _event(1, 1, "#c")])
    assert more[0].cursor == stored[-1].cursor + 1
    assert (await _counts(markers, 1))[(1, "#c")] == (1, 0)
    assert await _counts(markers, 2) == {(1, "#a"): (1, 0)}


async def test_counts_match_a_full_scan_after_random_operations(db: Database) -> None:
    events, markers = EventStore(db), MarkerStore(db)
    rng = random.Random(7)
    targets = ["#a", "#b", "#c", "nick"]
    latest = 0
    for _ in range(60):
        if rng.random() < 0.7:
            batch = [
                _event(rng.choice([1, 2]), rng.choice([1, 2]), rng.choice(targets),
                       counts=rng.random() < 0.8, highlight=rng.random() < 0.3)
                for _ in range(rng.randint(1, 8))
            ]  # fmt: skip
            latest = (await events.append(batch))[-1].cursor
        else:
            user, net, target = rng.choice([1, 2]), rng.choice([1, 2]), rng.choice(targets)
            await markers.set(user, net, target, rng.randint(0, latest + 1))
    for user in (1, 2):
        expected = db.read_sync(lambda c, u=user: _brute_force(c, u))
        assert await _counts(markers, user) == expected
    # rebuilding from scratch gives the same counts
    before = {u: await _counts(markers, u) for u in (1, 2)}
    db.write_sync(rebuild_unread_counts)
    assert {u: await _counts(markers, u) for u in (1, 2)} == before


async def test_deleting_a_network_or_a_user_drops_their_counts(db: Database) -> None:
    events, markers = EventStore(db), MarkerStore(db)
    accounts, networks = Accounts(db), NetworkStore(db)
    alice = await accounts.create_user("alice", "correct horse battery")
    bob = await accounts.create_user("bob", "correct horse battery")
    one = await networks.create(alice.id, "one", {"host": "irc.example"})
    two = await networks.create(alice.id, "two", {"host": "irc.example"})
    theirs = await networks.create(bob.id, "b", {"host": "irc.example"})
    await events.append(
        [_event(alice.id, one.id, "#a"), _event(alice.id, two.id, "#a"),
         _event(bob.id, theirs.id, "#a")]
    )  # fmt: skip
    assert await networks.delete(alice.id, one.id)
    assert await _counts(markers, alice.id) == {(two.id, "#a"): (1, 0)}
    assert await accounts.remove_user("alice")
    assert await _counts(markers, alice.id) == {}
    assert await _counts(markers, bob.id) == {(theirs.id, "#a"): (1, 0)}
    await events.delete_user(bob.id)
    assert await _counts(markers, bob.id) == {}


async def test_migrating_a_version_1_database_fills_the_counts(tmp_path: Path) -> None:
    path = tmp_path / "v1.sqlite3"
    conn = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].split(";\n"):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    rows = [
        (1, 1, 1, "#a", "#a", 1, 0), (2, 1, 1, "#a", "#a", 1, 1), (3, 1, 1, "#a", "#a", 0, 0),
        (4, 1, 1, "#a", "#a", 1, 1), (5, 1, 2, "Bob", "bob", 1, 0), (6, 2, 1, "#a", "#a", 1, 0),
    ]  # fmt: skip
    conn.executemany(
        "INSERT INTO events (id, user_id, network_id, target, target_key, kind, time, text, "
        "counts, highlight, data) VALUES (?, ?, ?, ?, ?, 'privmsg', 't', 'x', ?, ?, '{}')",
        rows,
    )
    conn.execute("INSERT INTO read_markers VALUES (1, 1, '#a', 2)")
    conn.close()
    db = Database(path)
    try:
        markers = MarkerStore(db)
        assert await _counts(markers, 1) == {(1, "#a"): (1, 1), (2, "bob"): (1, 0)}
        assert await _counts(markers, 2) == {(1, "#a"): (1, 0)}
    finally:
        db.close()


async def test_deleted_events_leave_the_counts(db: Database) -> None:
    events, markers = EventStore(db), MarkerStore(db)
    stored = await events.append(
        [_event(1, 1, "#a", highlight=i % 3 == 0, text=f"m{i}") for i in range(30)]
        + [_event(1, 1, "#b", counts=i % 2 == 0) for i in range(10)]
    )
    await markers.set(1, 1, "#a", stored[9].cursor)
    # whoever deletes events (pruning old ones, say), the counts follow
    db.write_sync(lambda c: c.execute("DELETE FROM events WHERE id <= ?", (stored[14].cursor,)))
    db.write_sync(lambda c: c.execute("DELETE FROM events WHERE target_key = '#b' AND id % 3 = 0"))
    expected = db.read_sync(lambda c: _brute_force(c, 1))
    assert await _counts(markers, 1) == expected
    assert expected[(1, "#a")] == (15, 5)
