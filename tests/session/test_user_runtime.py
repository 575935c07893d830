"""Always-on networks: an engine per stored network, events persisted before
they are published — against a real ngircd."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

import pytest

from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.manager import Runtimes
from backchannel.session.user import Publish
from backchannel.store.db import Database
from backchannel.store.events import EventStore, StoredEvent
from backchannel.store.networks import NetworkStore
from tests.support.ircclient import IRCClient

pytestmark = pytest.mark.ircd


async def test_events_are_stored_before_they_are_published(tmp_path: Path, ngircd) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    events = EventStore(db)
    networks = NetworkStore(db)
    published: list[StoredEvent] = []
    stored_when_published: list[bool] = []

    async def publisher(user_id: int) -> Publish:
        def publish(batch: Sequence[StoredEvent]) -> None:
            # each published event must already be readable from the database
            ids = db.read_sync(
                lambda c: {r[0] for r in c.execute("SELECT id FROM events WHERE user_id = ?",
                                                   (user_id,))}
            )
            stored_when_published.extend(e.cursor in ids for e in batch)
            published.extend(batch)
        return publish

    runtimes = Runtimes(
        networks, events, publisher,
        TargetPolicy([f"{ngircd.host}:{ngircd.port}"]), StsStore(None),
    )
    db.write_sync(lambda c: c.execute(
        "INSERT INTO users (id, name, password_hash, created_at) VALUES (1, 'u', 'x', 0)"))
    record = await networks.create(
        1, "test", {"host": ngircd.host, "port": ngircd.port, "nick": "alwayson",
                    "channels": [{"name": "#always"}]},
    )
    await runtimes.start(record)
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    try:
        async with asyncio.timeout(15):
            while not any(e.kind == "join" and e.target == "#always" for e in published):
                await asyncio.sleep(0.05)
        await other.register("chatter")
        await other.send("JOIN #always")
        await other.expect(lambda m: m.command == "366")
        await other.send("PRIVMSG #always :hello alwayson, are you there?")
        await other.send("PRIVMSG alwayson :a private word")
        async with asyncio.timeout(15):
            while sum(e.kind == "privmsg" for e in published) < 2:
                await asyncio.sleep(0.05)
    finally:
        await other.close()
        await runtimes.stop_all()
    assert stored_when_published and all(stored_when_published)
    chat = [e.to_dict() for e in published if e.kind == "privmsg"]
    assert chat[0]["target"] == "#always" and chat[0]["highlight"] is True
    assert chat[1]["target"] == "chatter" and chat[1]["text"] == "a private word"
    history = await events.history(1, record.id, "#always")
    assert "privmsg" in [e.kind for e in history]
    kinds = [e.kind for e in await events.after(1, 0)]
    assert "status" in kinds and "registered" in kinds
    assert "lag" not in kinds and "isupport" not in kinds  # transient: not stored
    db.close()
