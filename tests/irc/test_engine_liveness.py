"""Keeping the link alive against the scripted server: PING/PONG, our own
PING on a silent link, ping timeout, reconnect with rejoin and queries kept,
and backoff that grows."""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import replace

from backchannel.irc.pacing import Backoff
from backchannel.irc.status import Lag
from backchannel.irc.targets import ResolvedTarget, ServerSpec, TargetPolicy
from backchannel.state.events.messages import Privmsg
from tests.irc.engine_helpers import SERVER, config, negotiate, registered, running
from tests.support.fakeircd import FakeIrcServer


async def test_server_ping_is_answered_with_pong() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        fc.send(f"PING :{SERVER}-token 42")
        assert await fc.expect("PONG") == f"PONG :{SERVER}-token 42"
        fc.send("PING bare")
        assert await fc.expect("PONG") == "PONG :bare"


async def test_ping_before_registration_is_answered() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("USER ")
        fc.send("PING :cookie-1234")
        assert await fc.expect("PONG") == "PONG :cookie-1234"
        await negotiate(fc, "")
        await eng.wait_status("registered")


async def test_our_ping_measures_lag() -> None:
    cfg = config(0, ping_interval=0.2, ping_timeout=2)
    async with FakeIrcServer() as srv, running(replace(cfg, port=srv.port)) as eng:
        fc = await registered(srv, eng)
        ping = await fc.expect("PING ", timeout=2)
        token = ping.removeprefix("PING :")
        fc.send(f":{SERVER} PONG {SERVER} :{token}")
        lag = await eng.wait_for(lambda e: isinstance(e, Lag))
        assert isinstance(lag, Lag) and 0 <= lag.seconds < 1


async def test_silent_server_gets_pinged_then_declared_dead_and_reconnected() -> None:
    async with FakeIrcServer() as srv:
        cfg = config(srv.port, ping_interval=0.2, ping_timeout=0.5)
        async with running(cfg) as eng:
            fc = await registered(srv, eng)
            loop = asyncio.get_running_loop()
            quiet_since = loop.time()
            ping = await fc.expect("PING ", timeout=2)
            pinged_after = loop.time() - quiet_since
            assert 0.1 <= pinged_after < 1.0
            assert ping.startswith("PING :")
            await fc.closed.wait()
            dead_after = loop.time() - quiet_since
            assert 0.5 <= dead_after < 2.0
            down = await eng.wait_status("disconnected")
            assert down.reason.startswith("Ping timeout")
            assert down.next_attempt is not None and down.next_attempt > down.time
            second = await srv.accept(timeout=3)
            await eng.wait_status("connecting", 2)
            await negotiate(second, "")
            await eng.wait_status("registered", 2)
            assert [s.state for s in eng.statuses()] == [
                "connecting",
                "connected",
                "registered",
                "disconnected",
                "connecting",
                "connected",
                "registered",
            ]


async def test_reconnect_rejoins_channels_with_keys_and_keeps_queries() -> None:
    async with FakeIrcServer() as srv:
        cfg = config(srv.port, channels=(("#keyed", "sekrit"), ("#plain", None)))
        async with running(cfg) as eng:
            fc = await registered(srv, eng)
            assert await fc.expect("JOIN") == "JOIN #keyed,#plain sekrit"
            for channel in ("#keyed", "#plain"):
                fc.send(f":me!u@h JOIN {channel}")
            eng.client.join("#other", "k2")
            assert await fc.expect("JOIN") == "JOIN #other k2"
            fc.send(":me!u@h JOIN #other")
            fc.send(":me!u@h PART #plain :bye")  # left: not rejoined
            fc.send(":friend!f@h PRIVMSG me :hello there")
            await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.target == "friend")
            assert "friend" in eng.client.state.queries
            fc.abort()

            second = await srv.accept(timeout=3)
            await negotiate(second, "")
            await eng.wait_status("registered", 2)
            join = await second.expect("JOIN")
            channels, keys = join.removeprefix("JOIN ").split(" ")
            rejoined = dict(zip(channels.split(","), keys.split(","), strict=True))
            assert rejoined == {"#keyed": "sekrit", "#other": "k2"}
            second.send(":me!u@h JOIN #keyed")
            eng.client.send_raw("PING :sync")
            await second.expect("PING :sync")
            assert [line for line in second.received if line.startswith("JOIN")] == [join]
            assert "friend" in eng.client.state.queries


async def test_backoff_delays_grow_between_failed_attempts() -> None:
    async with FakeIrcServer() as srv:
        backoff = Backoff(random.Random(0), initial=0.05, factor=2.0, cap=5.0, jitter=0.2)
        async with running(config(srv.port), backoff=backoff) as eng:
            for _ in range(4):
                fc = await srv.accept(timeout=3)
                await fc.close()  # refused before registration
            downs = [await eng.wait_status("disconnected", n) for n in range(1, 5)]
            delays = [(s.next_attempt - s.time).total_seconds() for s in downs if s.next_attempt]
            assert len(delays) == 4
            assert all(b > a for a, b in itertools.pairwise(delays))
            assert 0.04 <= delays[0] <= 0.06
            assert delays[-1] >= 0.3
            assert [s.attempt for s in downs] == [1, 2, 3, 4]


async def test_backoff_starts_again_after_a_successful_registration() -> None:
    async with FakeIrcServer() as srv:
        backoff = Backoff(random.Random(0), initial=0.05, factor=4.0, cap=5.0, jitter=0.1)
        async with running(config(srv.port), backoff=backoff) as eng:
            for _ in range(2):
                fc = await srv.accept(timeout=3)
                await fc.close()
            fc = await registered(srv, eng)
            fc.abort()
            down = await eng.wait_status("disconnected", 3)
            assert down.next_attempt is not None
            assert (down.next_attempt - down.time).total_seconds() < 0.1


async def test_quit_while_waiting_to_reconnect_stops_at_once() -> None:
    async with FakeIrcServer() as srv:
        backoff = Backoff(random.Random(0), initial=30.0, cap=60.0)
        async with running(config(srv.port), backoff=backoff) as eng:
            fc = await registered(srv, eng)
            fc.abort()
            await eng.wait_status("disconnected")
            loop = asyncio.get_running_loop()
            started = loop.time()
            await asyncio.wait_for(eng.client.quit("bye", timeout=0.3), 5)
            assert await eng.outcome(timeout=2) is None
            assert loop.time() - started < 2
            assert eng.statuses()[-1].state == "disconnected"
            assert eng.statuses()[-1].reason == "Quit"
            assert len(srv.clients) == 1


class SlowPolicy(TargetPolicy):
    """Any address, after a delay: the engine is still connecting for a while."""

    async def resolve(self, spec: ServerSpec) -> ResolvedTarget:
        await asyncio.sleep(0.4)
        return await super().resolve(spec)


async def test_quit_while_connecting_does_not_stay_connected() -> None:
    async with FakeIrcServer() as srv:
        policy = SlowPolicy(unrestricted=True)
        async with running(config(srv.port), policy=policy) as eng:
            await eng.wait_status("connecting")
            await asyncio.wait_for(eng.client.quit("bye", timeout=0.1), 5)
            assert await eng.outcome(timeout=2) is None
            assert not eng.statuses("registered")
            for fc in srv.clients:
                await asyncio.wait_for(fc.closed.wait(), 2)
                assert not [line for line in fc.received if line.startswith("NICK")]
