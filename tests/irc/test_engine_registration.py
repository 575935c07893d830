"""Registration against the scripted server: CAP 302 negotiation, servers
without CAP, NAK, multi-line LS, nick fallback and the registration timeout
(after the irctest client-suite scenarios)."""

from __future__ import annotations

from backchannel.irc.client import EngineFailure
from backchannel.irc.nicks import MAX_ATTEMPTS
from backchannel.state.events.server import Registered
from tests.irc.engine_helpers import SERVER, config, lines_after, negotiate, running
from tests.support.fakeircd import FakeIrcServer


async def test_cap_ls_302_comes_first_then_nick_and_user() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port, realname="Real Name")):
        fc = await srv.accept()
        assert await fc.readline() == "CAP LS 302"
        assert await fc.readline() == "NICK me"
        assert await fc.readline() == "USER u 0 * :Real Name"


async def test_empty_ls_ends_negotiation_and_registers() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        requested = await negotiate(fc, "")
        assert requested == []
        await eng.wait_status("registered")
        assert eng.client.registered.is_set()
        assert [e.nick for e in eng.of(Registered)] == ["me"]
        assert fc.received.count("CAP END") == 1
        states = [s.state for s in eng.statuses()]
        assert states == ["connecting", "connected", "registered"]


async def test_server_without_cap_421_still_registers_with_one_cap_end() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("CAP LS 302")
        await fc.expect("USER ")
        fc.send(f":{SERVER} 421 * CAP :Unknown command")
        await fc.drain()
        await fc.expect("CAP END")
        await fc.welcome("me")
        await eng.wait_status("registered")
        fc.send(f":{SERVER} 421 me CAP :Unknown command")  # a repeat changes nothing
        eng.client.send_raw("PING :sync")
        await fc.expect("PING :sync")
        assert fc.received.count("CAP END") == 1


async def test_server_ignoring_cap_registers_and_sends_cap_end_at_most_once() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.register("me")  # a pre-CAP server just welcomes
        await eng.wait_status("registered")
        eng.client.send_raw("PING :sync")
        await fc.expect("PING :sync")
        assert fc.received.count("CAP END") <= 1
        assert not lines_after(fc, "CAP REQ")


async def test_nak_of_a_group_retries_one_by_one_then_ends() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("CAP LS 302")
        fc.send(f":{SERVER} CAP * LS :multi-prefix server-time away-notify")
        req = await fc.expect("CAP REQ")
        assert sorted(req.removeprefix("CAP REQ :").split()) == [
            "away-notify",
            "multi-prefix",
            "server-time",
        ]
        fc.send(f":{SERVER} CAP * NAK :{req.removeprefix('CAP REQ :')}")
        singles = [await fc.readline() for _ in range(3)]
        assert sorted(singles) == [
            "CAP REQ :away-notify",
            "CAP REQ :multi-prefix",
            "CAP REQ :server-time",
        ]
        fc.send(f":{SERVER} CAP * NAK :away-notify")
        fc.send(f":{SERVER} CAP * ACK :multi-prefix")
        fc.send(f":{SERVER} CAP * NAK :server-time")
        assert await fc.readline() == "CAP END"
        await fc.welcome("me")
        await eng.wait_status("registered")
        assert eng.client.state.caps == {"multi-prefix"}


async def test_nak_of_everything_still_ends_negotiation() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("CAP LS 302")
        fc.send(f":{SERVER} CAP * LS :multi-prefix")
        req = await fc.expect("CAP REQ")
        fc.send(f":{SERVER} CAP * NAK :{req.removeprefix('CAP REQ :')}")
        assert await fc.readline() == "CAP END"
        await fc.welcome("me")
        await eng.wait_status("registered")


async def test_requests_are_a_subset_of_the_offer() -> None:
    # no sasl (not configured), nothing unknown, nothing not offered
    offer = "server-time vendor/weird sasl=PLAIN some-unknown echo-message batch"
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        requested = await negotiate(fc, offer)
        assert sorted(requested) == ["batch", "echo-message", "server-time"]
        await eng.wait_status("registered")
        assert eng.client.state.caps == {"batch", "echo-message", "server-time"}


async def test_multi_line_ls_is_collected_before_requesting() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("USER ")
        fc.send(f":{SERVER} CAP * LS * :multi-prefix away-notify")
        fc.send(f":{SERVER} CAP * LS * :extended-join vendor/x")
        await fc.drain()
        fc.send(f":{SERVER} CAP * LS :server-time")
        req = await fc.readline()
        assert req.startswith("CAP REQ :")
        caps = req.removeprefix("CAP REQ :").split()
        assert sorted(caps) == ["away-notify", "extended-join", "multi-prefix", "server-time"]
        fc.send(f":{SERVER} CAP * ACK :{' '.join(caps)}")
        assert await fc.readline() == "CAP END"
        await fc.welcome("me")
        await eng.wait_status("registered")


# -- nick fallback ------------------------------------------------------------


async def test_nick_in_use_tries_alternates_then_a_suffix() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port, alt_nicks=("me2", "me3"))) as eng:
        fc = await srv.accept()
        await fc.expect("CAP LS")
        fc.send(f":{SERVER} CAP * LS :")
        tried: list[str] = []
        while True:
            line = await fc.readline()
            if not line.startswith("NICK "):
                continue
            nick = line.removeprefix("NICK ")
            tried.append(nick)
            if len(tried) == 4:
                break
            fc.send(f":{SERVER} 433 * {nick} :Nickname is already in use")
        assert tried == ["me", "me2", "me3", "me_"]
        await fc.welcome("me_")
        await eng.wait_status("registered")
        assert eng.client.state.me.nick == "me_"


async def test_a_server_refusing_every_nick_makes_the_engine_give_up() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port, alt_nicks=("a", "b"))) as eng:
        fc = await srv.accept()
        await fc.expect("CAP LS")
        fc.send(f":{SERVER} CAP * LS :")
        for _ in range(50):
            try:
                line = await fc.readline(timeout=2)
            except EOFError:
                break
            if line.startswith("NICK "):
                nick = line.removeprefix("NICK ")
                fc.send(f":{SERVER} 433 * {nick} :Nickname is already in use")
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert "nick" in str(error).lower()
        nicks = lines_after(fc, "NICK ")
        assert len(nicks) <= MAX_ATTEMPTS
        assert len(set(nicks)) == len(nicks)  # never the same nick twice
        assert lines_after(fc, "QUIT")
        assert eng.statuses("failed")


# -- registration timeout -------------------------------------------------------


async def test_silent_server_times_out_and_fails_without_retry() -> None:
    async with FakeIrcServer() as srv:
        cfg = config(srv.port, register_timeout=0.3)
        async with running(cfg, retry_until_registered=False) as eng:
            fc = await srv.accept()
            error = await eng.outcome(timeout=3)
            assert isinstance(error, EngineFailure)
            assert "Registration timed out" in str(error)
            await fc.closed.wait()
            assert len(srv.clients) == 1
            assert eng.statuses("failed")[-1].reason == "Registration timed out"


async def test_silent_server_times_out_and_retries_when_asked_to() -> None:
    async with FakeIrcServer() as srv:
        cfg = config(srv.port, register_timeout=0.3)
        async with running(cfg, retry_until_registered=True) as eng:
            first = await srv.accept()
            await first.closed.wait()
            down = await eng.wait_status("disconnected")
            assert down.reason == "Registration timed out"
            assert down.next_attempt is not None
            second = await srv.accept(timeout=3)
            await negotiate(second, "")
            await eng.wait_status("registered")
            assert eng.client.attempt == 2


async def test_connection_refused_fails_without_retry_and_retries_with() -> None:
    async with FakeIrcServer() as closed:
        port = closed.port  # nothing listens here once the server has stopped
    async with running(config(port), retry_until_registered=False) as eng:
        error = await eng.outcome()
        assert isinstance(error, EngineFailure)
        assert "Cannot connect" in str(error)
    async with running(config(port), retry_until_registered=True) as eng:
        await eng.wait_status("disconnected", 3)
        assert eng.task is not None and not eng.task.done()
        assert all("Cannot connect" in s.reason for s in eng.statuses("disconnected"))
