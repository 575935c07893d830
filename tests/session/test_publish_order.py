"""A user's events are published in cursor order and exactly once, whoever
stores them (the persist loop, a read marker) and even when the caller of
a write is cancelled (found by bench/soak.py: a read marker published before
the persist loop's earlier batch made a WebSocket pump spin, and one stored
by a request whose client went away was never published)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from pathlib import Path

from backchannel.bus.hub import Hub
from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.user import UserRuntime
from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent, StoredEvent


def _event(text: str, kind: str = "privmsg") -> NewEvent:
    return NewEvent(1, 1, "#a", "#a", kind, "2026-01-01T00:00:00Z", "n", text,
                    {"kind": kind, "text": text})  # fmt: skip


async def test_every_writer_publishes_in_cursor_order(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    published: list[int] = []

    def publish(batch: Sequence[StoredEvent]) -> None:
        published.extend(e.cursor for e in batch)

    runtime = UserRuntime(1, publish, store, TargetPolicy([]), StsStore(None))
    rng = random.Random(3)
    callers: list[asyncio.Task[list[StoredEvent]]] = []
    for i in range(300):
        # what an engine's line does (UserRuntime._on_event): queued for the persist loop...
        runtime._pending.append(_event(f"line {i}"))
        runtime._idle.clear()
        runtime._wake.set()
        # ...and a read marker stored meanwhile, its request sometimes cancelled
        caller = asyncio.create_task(runtime.store_and_publish([_event("", "read")]))
        callers.append(caller)
        if rng.random() < 0.3:
            await asyncio.sleep(0)
            caller.cancel()
        if rng.random() < 0.5:
            await asyncio.sleep(0)
    await asyncio.gather(*callers, return_exceptions=True)
    await runtime.stop()
    stored = [e.cursor for e in await store.after(1, 0)]
    assert len(stored) == 600
    assert published == stored  # each once, in cursor order
    db.close()


async def test_the_window_stays_in_cursor_order(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    user = await Hub(store).for_user(1)
    first = await store.append([_event("a"), _event("b")])
    second = await store.append([_event("c")])
    user.publish(second)  # out of order: must not happen, must not break readers either
    user.publish(first)
    texts = [e.to_dict()["text"] for e in await user.read(0)]
    assert texts == ["a", "b", "c"]
    after_a = await user.read(first[0].cursor)
    assert [e.cursor for e in after_a] == [first[1].cursor, second[0].cursor]
    assert await user.read(second[0].cursor) == []
    db.close()
