"""Accounts and web sessions in a real SQLite file (store/accounts.py,
store/web_sessions.py)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher

from backchannel.store.accounts import AccountError, Accounts
from backchannel.store.db import Database
from backchannel.store.web_sessions import WebSessions, public_id
from tests.web.auth_helpers import FAST_HASHER, PASSWORD, FakeClock


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    database = Database(tmp_path / "store.sqlite3")
    yield database
    database.close()


@pytest.fixture
def accounts(db: Database) -> Accounts:
    return Accounts(db, hasher=FAST_HASHER)


def _hash_of(db: Database, name: str) -> str:
    row = db.read_sync(
        lambda c: c.execute("SELECT password_hash FROM users WHERE name = ?", (name,)).fetchone()
    )
    return str(row[0])


async def test_create_and_authenticate(accounts: Accounts, db: Database) -> None:
    user = await accounts.create_user("Alice", PASSWORD)
    assert (user.id, user.name) == (1, "Alice")
    assert _hash_of(db, "alice").startswith("$argon2id$")
    assert PASSWORD not in _hash_of(db, "alice")
    assert await accounts.authenticate("alice", PASSWORD) == user
    assert await accounts.authenticate("ALICE", PASSWORD) == user
    assert await accounts.authenticate("alice", PASSWORD + "x") is None
    assert await accounts.get_user(user.id) == user
    assert await accounts.get_user(99) is None
    assert await accounts.count_users() == 1


async def test_default_hasher_is_argon2id(db: Database) -> None:
    accounts = Accounts(db)
    await accounts.create_user("bob", PASSWORD)
    assert _hash_of(db, "bob").startswith("$argon2id$v=19$m=65536,t=3,p=4$")


@pytest.mark.parametrize("name", ["", "a" * 33, "with space", "émile", "semi;colon", "x/y"])
async def test_bad_user_names(accounts: Accounts, name: str) -> None:
    with pytest.raises(AccountError) as caught:
        await accounts.create_user(name, PASSWORD)
    assert caught.value.code == "invalid_username"


async def test_good_user_names(accounts: Accounts) -> None:
    for name in ("a", "A" * 32, "dot.dash-under_9"):
        await accounts.create_user(name, PASSWORD)
    assert [u.name for u in await accounts.list_users()] == ["a", "A" * 32, "dot.dash-under_9"]


async def test_names_are_unique_without_regard_to_case(accounts: Accounts) -> None:
    await accounts.create_user("alice", PASSWORD)
    with pytest.raises(AccountError) as caught:
        await accounts.create_user("ALICE", PASSWORD)
    assert caught.value.code == "user_exists"


async def test_short_password_is_refused(accounts: Accounts) -> None:
    with pytest.raises(AccountError) as caught:
        await accounts.create_user("alice", "1234567")
    assert caught.value.code == "invalid_password"
    await accounts.create_user("alice", "12345678")


class CountingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(time_cost=1, memory_cost=1024, parallelism=1)
        self.calls = 0

    def hash(self, password: str | bytes, *, salt: bytes | None = None) -> str:
        self.calls += 1
        return super().hash(password, salt=salt)

    def verify(self, hash: str | bytes, password: str | bytes) -> bool:
        self.calls += 1
        return super().verify(hash, password)


async def test_unknown_user_costs_a_hash_too(db: Database) -> None:
    hasher = CountingHasher()
    accounts = Accounts(db, hasher=hasher)
    assert await accounts.authenticate("nobody", PASSWORD) is None
    assert await accounts.authenticate("not valid!", PASSWORD) is None
    assert await accounts.authenticate("nobody", PASSWORD) is None
    assert hasher.calls == 3


async def test_hash_is_renewed_when_parameters_change(db: Database) -> None:
    await Accounts(db, hasher=FAST_HASHER).create_user("alice", PASSWORD)
    stronger = PasswordHasher(time_cost=2, memory_cost=2048, parallelism=1)
    assert await Accounts(db, hasher=stronger).authenticate("alice", PASSWORD)
    assert "$m=2048,t=2,p=1$" in _hash_of(db, "alice")
    assert await Accounts(db, hasher=stronger).authenticate("alice", PASSWORD)


async def test_set_password_ends_sessions(accounts: Accounts, db: Database) -> None:
    user = await accounts.create_user("alice", PASSWORD)
    sessions = WebSessions(db)
    token = await sessions.create(user.id)
    assert await accounts.set_password("Alice", "a new password")
    assert await accounts.authenticate("alice", PASSWORD) is None
    assert await accounts.authenticate("alice", "a new password") == user
    assert await sessions.lookup(token) is None
    assert not await accounts.set_password("nobody", "a new password")
    with pytest.raises(AccountError):
        await accounts.set_password("alice", "short")


def _add_data(conn: sqlite3.Connection, user_id: int, word: str) -> None:
    net = conn.execute(
        "INSERT INTO networks (user_id, name, config, created_at) VALUES (?, 'net', '{}', 0)",
        (user_id,),
    ).lastrowid
    for i in range(3):
        text = f"{word} number {i}" if i else ""
        event_id = conn.execute(
            "INSERT INTO events (user_id, network_id, target, target_key, kind, time, text, data)"
            " VALUES (?, ?, '#c', '#c', 'message', '2024-01-01T00:00:00Z', ?, ?)",
            (user_id, net, text, json.dumps({})),
        ).lastrowid
        if text:  # as the scrollback store does: only text is indexed
            conn.execute("INSERT INTO events_fts (rowid, text) VALUES (?, ?)", (event_id, text))
    conn.execute(
        "INSERT INTO read_markers (user_id, network_id, target_key, cursor) VALUES (?, ?, '#c', 1)",
        (user_id, net),
    )


async def test_remove_user_removes_all_their_data(accounts: Accounts, db: Database) -> None:
    alice = await accounts.create_user("alice", PASSWORD)
    bob = await accounts.create_user("bob", PASSWORD)
    await db.write(lambda c: _add_data(c, alice.id, "apple"))
    await db.write(lambda c: _add_data(c, bob.id, "banana"))
    sessions = WebSessions(db)
    await sessions.create(alice.id)
    bobs = await sessions.create(bob.id)

    assert await accounts.remove_user("ALICE")
    assert not await accounts.remove_user("alice")

    def owners(conn: sqlite3.Connection) -> dict[str, list[int]]:
        found = {"users": [r[0] for r in conn.execute("SELECT id FROM users")]}
        for table in ("networks", "events", "read_markers", "web_sessions"):
            found[table] = [r[0] for r in conn.execute(f"SELECT DISTINCT user_id FROM {table}")]
        return found

    assert all(ids == [bob.id] for ids in (await db.read(owners)).values())
    found = await db.read(
        lambda c: c.execute(
            "SELECT rowid FROM events_fts WHERE events_fts MATCH 'apple OR banana'"
        ).fetchall()
    )
    assert len(found) == 2  # bob's two indexed events only
    await db.write(
        lambda c: c.execute("INSERT INTO events_fts(events_fts) VALUES('integrity-check')")
    )
    assert await sessions.lookup(bobs) is not None
    assert [u.name for u in await accounts.list_users()] == ["bob"]


async def test_create_first_user_only_once(accounts: Accounts) -> None:
    assert await accounts.create_first_user("admin", PASSWORD) is not None
    assert await accounts.create_first_user("other", PASSWORD) is None
    assert await accounts.count_users() == 1


# --- web sessions --------------------------------------------------------------


async def test_sessions_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "restart.sqlite3"
    first = Database(path)
    user = await Accounts(first, hasher=FAST_HASHER).create_user("alice", PASSWORD)
    token = await WebSessions(first).create(user.id, "192.0.2.1", "UA")
    first.close()
    second = Database(path)
    try:
        session = await WebSessions(second).lookup(token)
        assert session is not None
        assert (session.user_id, session.address, session.user_agent) == (
            user.id,
            "192.0.2.1",
            "UA",
        )
        assert session.id == public_id(token) and len(session.id) == 16
    finally:
        second.close()


async def test_last_seen_is_refreshed_at_most_once_a_minute(
    accounts: Accounts, db: Database
) -> None:
    clock = FakeClock()
    sessions = WebSessions(db, clock=clock)
    user = await accounts.create_user("alice", PASSWORD)
    token = await sessions.create(user.id)
    start = clock.now
    clock.advance(30)
    found = await sessions.lookup(token)
    assert found is not None and found.last_seen == start
    clock.advance(31)
    found = await sessions.lookup(token)
    assert found is not None and found.last_seen == clock.now
    [listed] = await sessions.list(user.id)
    assert listed.last_seen == clock.now


async def test_idle_sessions_expire(accounts: Accounts, db: Database) -> None:
    clock = FakeClock()
    sessions = WebSessions(db, idle_timeout=3600, clock=clock)
    user = await accounts.create_user("alice", PASSWORD)
    kept = await sessions.create(user.id)
    idle = await sessions.create(user.id)
    clock.advance(3000)
    assert await sessions.lookup(kept)
    clock.advance(1000)
    assert [s.id for s in await sessions.list(user.id)] == [public_id(kept)]
    assert await sessions.lookup(idle) is None
    assert await sessions.delete_expired() == 0  # the lookup removed it already
    clock.advance(4000)
    assert await sessions.delete_expired() == 1


async def test_delete_by_id_and_others(accounts: Accounts, db: Database) -> None:
    sessions = WebSessions(db)
    alice = await accounts.create_user("alice", PASSWORD)
    bob = await accounts.create_user("bob", PASSWORD)
    a1, a2, a3 = [await sessions.create(alice.id) for _ in range(3)]
    b1 = await sessions.create(bob.id)
    assert not await sessions.delete_by_id(bob.id, public_id(a1))
    assert not await sessions.delete_by_id(alice.id, "zz")
    assert await sessions.delete_by_id(alice.id, public_id(a1))
    assert await sessions.lookup(a1) is None
    assert await sessions.delete_others(alice.id, a2) == 1
    assert await sessions.lookup(a3) is None
    assert await sessions.lookup(a2) is not None
    assert await sessions.lookup(b1) is not None
    assert await sessions.delete(a2)
    assert not await sessions.delete(a2)
    assert await sessions.lookup(None) is None and await sessions.lookup("") is None
