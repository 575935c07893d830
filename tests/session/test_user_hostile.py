"""A server that sends faster than the always-on runtime can store: the
user's IRC readers pause (TCP back-pressure reaches the server), the events
waiting in memory stay bounded, none is lost, and another user of the same
process, on the real ngircd, keeps getting messages meanwhile."""

from __future__ import annotations

import asyncio
import json
import secrets
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

import pytest

from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session import user as user_module
from backchannel.session.user import UserRuntime
from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent, StoredEvent
from backchannel.store.networks import NetworkStore
from tests.irc.engine_helpers import negotiate
from tests.support.fakeircd import FakeIrcServer
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = pytest.mark.ircd

MiB = 1 << 20
LINES = 20_000
TEXT = "x" * 400  # 20,000 lines of ~430 bytes: 8 MiB, more than the kernel buffers hold


class SlowStore(EventStore):
    """A disk that takes 50 ms more for every transaction."""

    async def append(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        await asyncio.sleep(0.05)
        return await super().append(events)


async def test_a_server_faster_than_the_store_is_held_back_and_nothing_is_lost(
    tmp_path: Path, ngircd: NgIRCd
) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    events = SlowStore(db)
    networks = NetworkStore(db)
    db.write_sync(
        lambda c: c.execute(
            "INSERT INTO users (id, name, password_hash, created_at) "
            "VALUES (1, 'u1', 'x', 0), (2, 'u2', 'x', 0)"
        )
    )
    privmsgs = 0  # user 1's, published (not kept: the test's memory is not the runtime's)
    states: list[str] = []  # user 1's connection statuses
    others_published: list[StoredEvent] = []

    def publish_flooded(batch: Sequence[StoredEvent]) -> None:
        nonlocal privmsgs
        for event in batch:
            privmsgs += event.kind == "privmsg"
            if event.kind == "status":
                states.append(json.loads(event.data_json)["state"])

    policy = TargetPolicy(unrestricted=True)
    flooded = UserRuntime(1, publish_flooded, events, policy, StsStore(None))
    other = UserRuntime(2, others_published.extend, events, policy, StsStore(None))
    peer = await IRCClient.connect(ngircd.host, ngircd.port)
    try:
        async with FakeIrcServer() as srv:
            record = await networks.create(
                1,
                "hostile",
                {"host": "127.0.0.1", "port": srv.port, "nick": "me",
                 "channels": [{"name": "#flood"}]},
            )  # fmt: skip
            flooded.start_network(record)
            fc = await srv.accept()
            await negotiate(fc)
            await fc.expect("JOIN #flood")
            fc.send(":me!u@h JOIN #flood")

            nick = "ot" + secrets.token_hex(3)
            calm = await networks.create(2, "calm", {"host": ngircd.host, "port": ngircd.port,
                                                     "nick": nick})  # fmt: skip
            other.start_network(calm)
            await peer.register("op" + secrets.token_hex(3))

            async def other_gets(text: str) -> float:
                started = time.monotonic()
                await peer.send(f"PRIVMSG {nick} :{text}")
                async with asyncio.timeout(15):
                    while not any(text in e.data_json for e in others_published):
                        await asyncio.sleep(0.01)
                return time.monotonic() - started

            async with asyncio.timeout(15):  # user 2 is connected (and its events stored)
                while '"registered"' not in "".join(e.data_json for e in others_published):
                    await asyncio.sleep(0.02)
            await other_gets("hello before")

            blob = b"".join(
                b":flood!f@h PRIVMSG #flood :%d %s\r\n" % (n, TEXT.encode()) for n in range(LINES)
            )
            pending: list[int] = []
            gate_closed = 0
            others: list[float] = []
            stop = asyncio.Event()

            async def watch() -> None:
                nonlocal gate_closed
                while not stop.is_set():
                    pending.append(len(flooded._pending))
                    gate_closed += not flooded.read_gate.is_set()
                    await asyncio.sleep(0.005)

            async def talk() -> None:
                n = 0
                while not stop.is_set():
                    n += 1
                    others.append(await other_gets(f"meanwhile #{n}#"))
                    await asyncio.sleep(0.05)

            tracing = tracemalloc.is_tracing()
            if not tracing:
                tracemalloc.start()
            tracemalloc.reset_peak()
            base = tracemalloc.get_traced_memory()[0]
            tasks = [asyncio.create_task(watch()), asyncio.create_task(talk())]
            try:
                for i in range(0, len(blob), 1 << 16):
                    fc.send_raw(blob[i : i + (1 << 16)])
                    await fc.drain()
                async with asyncio.timeout(60):
                    while privmsgs < LINES:
                        await asyncio.sleep(0.02)
                peak = tracemalloc.get_traced_memory()[1] - base
            finally:
                if not tracing:
                    tracemalloc.stop()
                stop.set()
                await asyncio.gather(*tasks)

            # the readers paused while the store was behind: what waits in memory
            # is the high-water mark and one read; the rest waited in TCP buffers
            # (without the pause: all 20,000 events and 22 MiB; with it: 5,130, 9 MiB)
            assert gate_closed > 0
            assert max(pending) < user_module.HIGH_WATER + 1000, max(pending)
            assert peak < 16 * MiB, f"peak {peak / MiB:.1f} MiB"
            # nothing lost, nothing out of order, and the link is still up
            texts = db.read_sync(
                lambda c: [r[0] for r in c.execute(
                    "SELECT text FROM events WHERE user_id = 1 AND kind = 'privmsg' ORDER BY id")]
            )  # fmt: skip
            assert texts == [f"{n} {TEXT}" for n in range(LINES)]
            assert states[-1] == "registered" and "disconnected" not in states
            # the other user was served all along
            assert others and max(others) < 5.0, others
    finally:
        await peer.close()
        await flooded.stop()
        await other.stop()
        db.close()
