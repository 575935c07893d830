"""Catching up after a reconnect: when the server offers chathistory, the
engine asks for what it missed in every conversation it had seen messages in,
after the last message it saw there."""

from __future__ import annotations

from backchannel.state.events.messages import Privmsg
from tests.irc.engine_helpers import SERVER, Engine, config, registered, running
from tests.support.fakeircd import FakeClient, FakeIrcServer

CAPS = "draft/chathistory batch server-time message-tags"


async def first_session(fc: FakeClient, eng: Engine) -> None:
    fc.send(":me!u@h JOIN #chan")
    fc.send("@time=2024-05-01T10:00:00.000Z :friend!f@h PRIVMSG #chan :early")
    fc.send("@time=2024-05-01T10:03:00.250Z :friend!f@h PRIVMSG #Chan :later")
    fc.send("@time=2024-05-01T10:05:00.123Z :pal!p@h PRIVMSG me :psst")
    await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.text == "psst")


async def history_lines(fc: FakeClient) -> list[str]:
    fc.send(f"PING :{SERVER}")
    await fc.expect("PONG")
    return [line for line in fc.received if line.startswith("CHATHISTORY")]


async def test_reconnect_requests_history_after_the_last_message_seen() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng, offer=CAPS)
        await first_session(fc, eng)
        assert await history_lines(fc) == []  # nothing to catch up on at first
        fc.abort()
        second = await registered(srv, eng, offer=CAPS)
        await second.expect("JOIN #chan")
        await second.expect("CHATHISTORY")
        assert sorted(await history_lines(second)) == [
            "CHATHISTORY AFTER #chan timestamp=2024-05-01T10:03:00.250Z 100",
            "CHATHISTORY AFTER pal timestamp=2024-05-01T10:05:00.123Z 100",
        ]
        # the rejoin comes before the request for the channel's history
        joined = second.received.index("JOIN #chan")
        asked = next(
            i for i, line in enumerate(second.received) if "#chan" in line and "CHAT" in line
        )
        assert joined < asked


async def test_history_limit_follows_the_isupport_token() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng, offer=CAPS)
        await first_session(fc, eng)
        fc.abort()
        second = await srv.accept()
        await second.expect("CAP LS 302")
        second.send(f":{SERVER} CAP * LS :{CAPS}")
        req = await second.expect("CAP REQ")
        second.send(f":{SERVER} CAP * ACK :{req.removeprefix('CAP REQ :')}")
        await second.expect("CAP END")
        # like real servers: 005 after 001, the MOTD last
        second.send(f":{SERVER} 001 me :Welcome")
        second.send(f":{SERVER} 005 me CHATHISTORY=50 CHANTYPES=# :are supported")
        second.send(f":{SERVER} 422 me :MOTD File is missing")
        await second.expect("CHATHISTORY")
        assert sorted(await history_lines(second)) == [
            "CHATHISTORY AFTER #chan timestamp=2024-05-01T10:03:00.250Z 50",
            "CHATHISTORY AFTER pal timestamp=2024-05-01T10:05:00.123Z 50",
        ]


async def test_no_history_requests_without_the_cap() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng, offer=CAPS)
        await first_session(fc, eng)
        fc.abort()
        second = await registered(srv, eng, offer="batch server-time")
        await second.expect("JOIN #chan")
        assert await history_lines(second) == []


async def test_replayed_history_moves_the_marker_forward_never_back() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng, offer=CAPS)
        await first_session(fc, eng)
        fc.abort()
        second = await registered(srv, eng, offer=CAPS)
        await second.expect("CHATHISTORY")
        second.send("BATCH +h1 chathistory pal")
        second.send("@batch=h1;time=2024-05-01T11:00:00.000Z :pal!p@h PRIVMSG me :replayed")
        second.send("BATCH -h1")
        second.send("BATCH +h2 chathistory #chan")  # an older page (scrolling back)
        second.send("@batch=h2;time=2024-04-01T09:00:00.000Z :friend!f@h PRIVMSG #chan :old")
        second.send("BATCH -h2")
        await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.text == "old")
        second.abort()
        third = await registered(srv, eng, offer=CAPS)
        await third.expect("CHATHISTORY")
        assert sorted(await history_lines(third)) == [
            "CHATHISTORY AFTER #chan timestamp=2024-05-01T10:03:00.250Z 100",
            "CHATHISTORY AFTER pal timestamp=2024-05-01T11:00:00.000Z 100",
        ]
