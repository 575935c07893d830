"""The disk fills up (SQLite says the database is full), or another process
holds the database locked: the server keeps serving, the user is told, and
once the fault is gone every event is stored — none lost, in order."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import sys
import time
from collections.abc import Awaitable, Sequence
from typing import Any

import pytest

from backchannel.session.group_commit import GroupCommit
from backchannel.store import db as db_module
from backchannel.store.events import EventStore, NewEvent, StoredEvent
from backchannel.web.keys import DATABASE
from tests.support.ircclient import IRCClient
from tests.web.api_helpers import eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def test_a_full_disk_is_reported_and_nothing_is_lost(make_world, ngircd) -> None:
    world = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    _, created = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "fullalice", channels=[{"name": "#full"}]),
    )
    network = created["id"]
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    db = world.app[DATABASE]
    try:
        await other.register("fullbob")
        await other.send("JOIN #full")

        async def both_in() -> bool:
            _, state = await alice.get("/api/state")
            targets = state["networks"][0]["targets"]
            return any(t["name"] == "#full" and len(t["members"]) == 2 for t in targets)

        await eventually(both_in, timeout=30)
        # no more pages may be added: the next writes fail with "database or disk is full"
        await db.write(
            lambda c: c.execute(
                "PRAGMA max_page_count = " + str(c.execute("PRAGMA page_count").fetchone()[0])
            )
        )
        texts = [f"while full {i} " + "x" * 420 for i in range(8)]
        for text in texts:
            await other.send(f"PRIVMSG #full :{text}")

        async def reported() -> str:
            _, state = await alice.get("/api/state")  # the server still answers
            return str(state.get("storage_error") or "")

        assert "full" in (await eventually(reported, timeout=40)).lower()
        await db.write(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))

        async def stored() -> list[str]:
            _, page = await alice.get(
                f"/api/networks/{network}/history", params={"target": "#full", "limit": "100"}
            )
            said = [e["text"] for e in page["events"] if e["kind"] == "privmsg"]
            return said if len(said) == len(texts) else []

        assert await eventually(stored, timeout=60) == texts
        assert await reported() == ""
    finally:
        await other.close()


#: another process: takes the write lock on the database file and holds it until told
_LOCKER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN EXCLUSIVE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("COMMIT")
conn.close()
print("released", flush=True)
"""


async def _lock_from_another_process(path: str) -> asyncio.subprocess.Process:
    locker = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _LOCKER, path,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )
    assert locker.stdout is not None
    assert await asyncio.wait_for(locker.stdout.readline(), 10) == b"locked\n"
    return locker


async def _release(locker: asyncio.subprocess.Process) -> None:
    assert locker.stdin is not None and locker.stdout is not None
    if locker.returncode is None:
        locker.stdin.write(b"go\n")
        await locker.stdin.drain()
        assert await asyncio.wait_for(locker.stdout.readline(), 10) == b"released\n"
        await asyncio.wait_for(locker.wait(), 10)


async def _timed(request: Awaitable[tuple[int, Any]]) -> tuple[float, int, Any]:
    start = time.monotonic()
    status, body = await request
    return time.monotonic() - start, status, body


async def test_a_locked_database_is_reported_and_nothing_is_lost(
    make_world, ngircd, monkeypatch, caplog
) -> None:
    """Another process holds the database's write lock (``BEGIN EXCLUSIVE``)
    for longer than the busy timeout while messages arrive: each store
    attempt waits out the busy timeout, fails with "database is locked", is
    logged, shown in /api/state and retried; the web API keeps answering at
    once meanwhile (reads do not wait for the writer, and a session that is
    due for its last-seen touch is not held up by it); once the lock is gone,
    every message is stored exactly once, in order, and the file is intact."""
    busy_ms = 1500  # the real 10 s makes the test slow; the behaviour is the same
    monkeypatch.setattr(db_module, "_BUSY_TIMEOUT_MS", busy_ms)
    caplog.set_level(logging.ERROR, logger="backchannel.session.user")
    world = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    _, created = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "lockalice", channels=[{"name": "#locked"}]),
    )
    network = created["id"]
    db = world.app[DATABASE]
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    locker: asyncio.subprocess.Process | None = None

    async def history() -> tuple[int, list[str]]:
        status, page = await alice.get(
            f"/api/networks/{network}/history", params={"target": "#locked", "limit": "100"}
        )
        return status, [e["text"] for e in page["events"] if e["kind"] == "privmsg"]

    async def storage_error() -> str:
        _, state = await alice.get("/api/state")
        return str(state.get("storage_error") or "")

    try:
        await other.register("lockbob")
        await other.send("JOIN #locked")

        async def both_in() -> bool:
            _, state = await alice.get("/api/state")
            targets = state["networks"][0]["targets"]
            return any(t["name"] == "#locked" and len(t["members"]) == 2 for t in targets)

        await eventually(both_in, timeout=30)
        before = [f"before the lock {i}" for i in range(3)]
        for text in before:
            await other.send(f"PRIVMSG #locked :{text}")

        async def stored_before() -> bool:
            return (await history())[1] == before

        await eventually(stored_before, timeout=20)
        # alice's session is due for its last-seen touch (a write) at her next request
        await db.write(lambda c: c.execute("UPDATE web_sessions SET last_seen = last_seen - 120"))

        locker = await _lock_from_another_process(str(db.path))
        locked_at = time.monotonic()
        during = [f"while locked {i}" for i in range(6)]
        for text in during:
            await other.send(f"PRIVMSG #locked :{text}")

        # the server keeps answering at once, from the first request on
        elapsed, status, state = await _timed(alice.get("/api/state"))
        assert status == 200 and elapsed < 1.0, (elapsed, state)
        error = await eventually(storage_error, timeout=busy_ms / 1000 + 20)
        assert "locked" in error.lower(), error
        assert time.monotonic() - locked_at >= busy_ms / 1000  # the busy timeout was waited
        for _ in range(3):  # it stays reported, and everything keeps answering, while it lasts
            elapsed, status, state = await _timed(alice.get("/api/state"))
            assert status == 200 and elapsed < 1.0, (elapsed, state)
            assert "locked" in str(state["storage_error"]).lower(), state
            elapsed, status, said = await _timed(history())
            assert status == 200 and elapsed < 1.0 and said == before, (elapsed, said)
            await asyncio.sleep(busy_ms / 1000)
        # a change asked for meanwhile waits out the busy timeout, then is a clear 503
        status, body = await alice.request("PATCH", f"/api/networks/{network}", {"name": "new"})
        assert status == 503, body
        assert body["error"]["code"] == "storage_unavailable", body
        assert "locked" in body["error"]["message"], body
        logged = [r for r in caplog.records if r.name == "backchannel.session.user"]
        assert logged and "database is locked" in str(logged[0].exc_info[1]), logged
        assert time.monotonic() - locked_at > 2 * busy_ms / 1000  # held past several attempts

        await _release(locker)

        async def stored_all() -> list[str]:
            said = (await history())[1]
            return said if len(said) >= len(before) + len(during) else []

        assert await eventually(stored_all, timeout=60) == before + during  # once, in order
        assert await storage_error() == ""
        status, body = await alice.request("PATCH", f"/api/networks/{network}", {"name": "new"})
        assert status == 200 and body["name"] == "new", body  # asked again: done
        check = await db.read(lambda c: c.execute("PRAGMA integrity_check").fetchall())
        assert check == [("ok",)]
    finally:
        if locker is not None:
            await _release(locker)
        await other.close()


def _new_event(user: int, text: str) -> NewEvent:
    when = "2026-01-01T00:00:00.000Z"
    return NewEvent(
        user_id=user, network_id=1, target="#a", target_key="#a", kind="privmsg", time=when,
        nick="n", text=text, data={"kind": "privmsg", "time": when, "nick": "n", "text": text},
    )


async def test_a_locked_database_fails_a_shared_transaction_once(tmp_path, monkeypatch) -> None:
    """Many users' batches in one shared transaction while another connection
    holds the lock: they all fail together after one busy timeout (each user's
    loop then reports and retries), rather than each batch waiting out its own
    busy timeout in turn, which would keep the single writer (and every other
    write) stuck for users × busy timeout."""
    busy_ms = 300
    monkeypatch.setattr(db_module, "_BUSY_TIMEOUT_MS", busy_ms)
    db = db_module.Database(tmp_path / "bc.sqlite3")
    events = EventStore(db)
    calls: list[int] = []
    real_append = events.append

    async def counting_append(batch: Sequence[NewEvent]) -> list[StoredEvent]:
        calls.append(len(batch))
        return await real_append(batch)

    monkeypatch.setattr(events, "append", counting_append)
    group = GroupCommit(events)
    users = range(1, 6)
    holder = sqlite3.connect(tmp_path / "bc.sqlite3", isolation_level=None)
    try:
        holder.execute("BEGIN EXCLUSIVE")
        start = time.monotonic()
        failed = await asyncio.gather(
            *(group.append([_new_event(u, f"u{u} a"), _new_event(u, f"u{u} b")]) for u in users),
            return_exceptions=True,
        )
        took = time.monotonic() - start
        assert all(isinstance(f, sqlite3.OperationalError) for f in failed), failed
        assert all("database is locked" in str(f) for f in failed), failed
        assert calls == [10], calls  # one attempt for all, none alone
        assert took < 3 * busy_ms / 1000, took
        holder.execute("COMMIT")
        stored = await asyncio.gather(
            *(group.append([_new_event(u, f"u{u} a"), _new_event(u, f"u{u} b")]) for u in users)
        )
        texts = [[e.to_dict()["text"] for e in batch] for batch in stored]
        assert texts == [[f"u{u} a", f"u{u} b"] for u in users]
        count = db.read_sync(lambda c: c.execute("SELECT COUNT(*) FROM events").fetchone()[0])
        assert count == 10
    finally:
        holder.close()
        db.close()
