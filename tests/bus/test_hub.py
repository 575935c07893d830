"""The per-user hub: window in memory, the store behind it."""

from __future__ import annotations

import asyncio
from pathlib import Path

from backchannel.bus.hub import Hub
from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent


def _event(user: int, text: str) -> NewEvent:
    return NewEvent(user, 1, "#a", "#a", "privmsg", "2026-01-01T00:00:00Z", "n", text,
                    {"kind": "privmsg", "text": text})


async def test_waiters_wake_on_publish_and_resume_from_any_cursor(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    early = await store.append([_event(1, f"old{i}") for i in range(5)])
    hub = Hub(store)
    user = await hub.for_user(1)
    assert user.latest == early[-1].cursor
    waiter = asyncio.create_task(user.wait(user.latest, 5))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    new = await store.append([_event(1, "new")])
    user.publish(new)
    assert await asyncio.wait_for(waiter, 1) is True
    # a subscriber that was away reads the old ones from the store, then the window
    everything = await user.read(0)
    assert [e.to_dict()["text"] for e in everything] == [f"old{i}" for i in range(5)] + ["new"]
    assert await user.read(new[-1].cursor) == []
    assert await user.wait(new[-1].cursor, 0.05) is False
    db.close()


async def test_window_eviction_falls_back_to_the_store(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    hub = Hub(store)
    user = await hub.for_user(7)
    user._window = 10
    published = []
    for i in range(30):
        stored = await store.append([_event(7, str(i))])
        user.publish(stored)
        published.extend(stored)
    assert len(user._recent) == 10
    assert [e.cursor for e in await user.read(0)] == [e.cursor for e in published]
    assert [e.cursor for e in await user.read(published[24].cursor)] == [
        e.cursor for e in published[25:]
    ]
    assert [e.cursor for e in await user.read(published[5].cursor, limit=3)] == [
        e.cursor for e in published[6:9]
    ]
    db.close()
