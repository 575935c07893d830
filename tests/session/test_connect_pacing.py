"""The process-wide connect-rate limiter (``connect_rate``)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.manager import Runtimes
from backchannel.session.pacing import ConnectPacer
from backchannel.session.user import Publish
from backchannel.store.db import Database
from backchannel.store.events import EventStore
from backchannel.store.networks import NetworkStore
from tests.support.fakeircd import FakeIrcServer


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_one_attempt_per_interval() -> None:
    clock = Clock()
    assert [ConnectPacer(4, clock=clock).reserve() for _ in range(3)] == [0, 0, 0]
    spaced = ConnectPacer(4, clock=clock)  # by default: never more than 4 in any second
    assert [spaced.reserve() for _ in range(3)] == pytest.approx([0, 0.25, 0.5])
    pacer = ConnectPacer(4, burst=4, clock=clock)
    assert [pacer.reserve() for _ in range(4)] == [0, 0, 0, 0]
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0.25, 0.5, 0.75])


def test_unused_time_refills_the_burst_but_no_more() -> None:
    clock = Clock()
    pacer = ConnectPacer(2, burst=2, clock=clock)
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.5])
    clock.now += 60
    assert [pacer.reserve() for _ in range(3)] == pytest.approx([0, 0, 0.5])


def test_zero_is_unlimited() -> None:
    pacer = ConnectPacer(0)
    assert pacer.unlimited
    assert all(pacer.reserve() == 0 for _ in range(1000))
    with pytest.raises(ValueError):
        ConnectPacer(-1)


async def test_waiters_are_spread_over_time() -> None:
    pacer = ConnectPacer(50)
    loop = asyncio.get_running_loop()
    start = loop.time()
    done: list[float] = []

    async def attempt() -> None:
        await pacer.wait()
        done.append(loop.time() - start)

    await asyncio.gather(*(attempt() for _ in range(6)))
    assert done[0] < 0.05
    assert done[-1] >= 0.1 - 0.01  # five intervals of 20 ms after the first


async def test_runtimes_pace_the_connections_of_every_network(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    networks = NetworkStore(db)

    async def publisher(user_id: int) -> Publish:
        return lambda events: None

    db.write_sync(
        lambda c: c.executemany(
            "INSERT INTO users (id, name, password_hash, created_at) VALUES (?, ?, 'x', 0)",
            [(1, "a"), (2, "b")],
        )
    )
    async with FakeIrcServer() as server:
        runtimes = Runtimes(
            networks, EventStore(db), publisher, TargetPolicy([f"127.0.0.1:{server.port}"]),
            StsStore(None), pacer=ConnectPacer(20),
        )  # fmt: skip
        loop = asyncio.get_running_loop()
        start = loop.time()
        for user in (1, 1, 2, 2):
            record = await networks.create(
                user, "n", {"host": "127.0.0.1", "port": server.port, "nick": f"n{user}"}
            )
            await runtimes.start(record)
        arrived = []
        for _ in range(4):
            await server.accept()
            arrived.append(loop.time() - start)
        # 20 per second: the fourth attempt waits three intervals of 50 ms
        assert arrived[-1] >= 0.15 - 0.01
        await runtimes.stop_all()
    db.close()
