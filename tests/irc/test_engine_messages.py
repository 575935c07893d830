"""Sending messages against the scripted server: flood control, splitting to
fit 512 bytes with the server's prefix, multi-line text, echo-message versus
local echo, and CTCP answers."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from backchannel.protocol.ctcp import parse_ctcp
from backchannel.protocol.message import parse
from backchannel.state.events.messages import Action, Notice, Privmsg
from tests.irc.engine_helpers import config, registered, running
from tests.support.fakeircd import FakeClient, FakeIrcServer

#: how the server shows us to others: the longest host it could give us
SOURCE = "me!~u@" + "h" * 63


async def read_privmsgs(fc: FakeClient, count: int, command: str = "PRIVMSG") -> list[str]:
    return [await fc.expect(command + " ") for _ in range(count)]


def texts(lines: list[str]) -> list[tuple[str, str]]:
    """(target, text) of each PRIVMSG/NOTICE line (a one-word text may come
    without its colon)."""
    return [(parse(line).params[0], parse(line).params[1]) for line in lines]


async def test_flood_control_sends_every_line_in_order_at_the_bucket_rate() -> None:
    async with FakeIrcServer() as srv:
        cfg = config(srv.port, flood_burst=3, flood_rate=20.0)
        async with running(cfg) as eng:
            fc = await registered(srv, eng)
            for n in range(20):
                assert eng.client.say("#chan", f"line {n}") == 1
            lines = await read_privmsgs(fc, 20)
            assert texts(lines) == [("#chan", f"line {n}") for n in range(20)]
            times = [
                t
                for line, t in zip(fc.received, fc.received_times, strict=True)
                if line.startswith("PRIVMSG")
            ]
            spread = times[-1] - times[0]
            assert spread >= (20 - 3) / 20 - 0.1  # not faster than the bucket
            assert spread < 3.0
            # the burst goes at once, then about 1/20 s apart
            assert times[2] - times[0] < 0.2
            gaps = [b - a for a, b in itertools.pairwise(times[3:])]
            assert sum(gaps) / len(gaps) >= 0.04


async def test_long_text_is_split_to_fit_512_bytes_with_the_servers_prefix() -> None:
    text = " ".join(f"wörd{n}-é€😀" for n in range(300))  # multi-byte, ~4 KB
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        count = eng.client.say("#chan", text)
        assert count > 1
        lines = await read_privmsgs(fc, count)
        for line in lines:
            relayed = f":{SOURCE} {line}\r\n".encode()
            assert len(relayed) <= 512, len(relayed)
        pieces = [text for _, text in texts(lines)]
        assert " ".join(pieces) == text  # split at spaces, nothing lost


async def test_a_long_word_is_hard_split_without_cutting_characters() -> None:
    text = "é" * 1000
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        count = eng.client.say("nick", text)
        lines = await read_privmsgs(fc, count)
        assert all("\ufffd" not in line for line in lines)
        assert all(len(f":{SOURCE} {line}\r\n".encode()) <= 512 for line in lines)
        assert "".join(piece for _, piece in texts(lines)) == text


async def test_multi_line_text_becomes_several_messages() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        assert eng.client.say("#chan", "one\ntwo\r\nthree\r\n\nfour") == 4
        lines = await read_privmsgs(fc, 4)
        assert texts(lines) == [("#chan", word) for word in ("one", "two", "three", "four")]
        assert eng.client.say("#chan", "waves\nagain", action=True) == 2
        actions = await read_privmsgs(fc, 2)
        assert texts(actions) == [
            ("#chan", "\x01ACTION waves\x01"),
            ("#chan", "\x01ACTION again\x01"),
        ]


async def test_lines_queued_before_registration_follow_the_joins() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port, channels=(("#a", None),))) as eng:
        eng.client.say("#a", "early bird")
        eng.client.send_raw("MODE me +i")
        fc = await registered(srv, eng)
        assert await fc.readline() == "JOIN #a"
        assert texts([await fc.readline()]) == [("#a", "early bird")]
        assert await fc.readline() == "MODE me +i"


async def test_say_refuses_a_bad_target() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        for target in ("", "#a b", "#a,#b", "x\r\nQUIT"):
            with pytest.raises(ValueError):
                eng.client.say(target, "hi")


# -- echo-message ------------------------------------------------------------------


async def test_with_echo_message_only_the_servers_echo_is_shown() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng, offer="echo-message")
        assert eng.client.state.has_cap("echo-message")
        eng.client.say("#chan", "hello")
        line = await fc.expect("PRIVMSG")
        await asyncio.sleep(0.05)
        assert not [e for e in eng.of(Privmsg) if e.self]  # no local echo
        fc.send(f":me!u@h {line}")
        echo = await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.self)
        assert isinstance(echo, Privmsg) and echo.text == "hello" and echo.target == "#chan"
        eng.client.send_raw("PING :sync")
        await fc.expect("PING :sync")
        assert len([e for e in eng.of(Privmsg) if e.self]) == 1


async def test_without_echo_message_each_line_is_echoed_locally_once() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        eng.client.say("#chan", "one\ntwo\nthree")
        eng.client.say("#chan", "waves", action=True)
        eng.client.say("bob", "psst", notice=True)
        await read_privmsgs(fc, 4)
        await fc.expect("NOTICE bob")
        await asyncio.sleep(0.05)
        mine = [e for e in eng.events if isinstance(e, Privmsg | Action | Notice) and e.self]
        assert [(type(e).__name__, e.target, e.text) for e in mine] == [
            ("Privmsg", "#chan", "one"),
            ("Privmsg", "#chan", "two"),
            ("Privmsg", "#chan", "three"),
            ("Action", "#chan", "waves"),
            ("Notice", "bob", "psst"),
        ]
        assert all(e.nick == "me" for e in mine)


# -- CTCP --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("VERSION", "VERSION Backchannel"),
        ("PING 1234567890", "PING 1234567890"),
        ("TIME", "TIME "),
        ("CLIENTINFO", "CLIENTINFO "),
    ],
)
async def test_ctcp_queries_are_answered_by_notice(query: str, expected: str) -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        fc.send(f":friend!f@h PRIVMSG me :\x01{query}\x01")
        reply = await fc.expect("NOTICE ")
        assert reply.startswith("NOTICE friend :\x01")
        assert reply.endswith("\x01")
        body = reply.removeprefix("NOTICE friend :")
        assert body.strip("\x01").startswith(expected)
        parsed = parse_ctcp(body)
        assert parsed is not None and parsed[0] == query.split()[0]
        if query == "CLIENTINFO":
            assert {"VERSION", "PING", "TIME", "CLIENTINFO"} <= set(parsed[1].split())


async def test_unknown_ctcp_and_ctcp_in_notices_get_no_answer() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        fc.send(":friend!f@h PRIVMSG me :\x01FINGER\x01")
        fc.send(":friend!f@h NOTICE me :\x01VERSION other 1.0\x01")
        fc.send(f":{'friend'}!f@h PRIVMSG me :\x01VERSION\x01")
        reply = await fc.expect("NOTICE ")
        assert reply.startswith("NOTICE friend :\x01VERSION Backchannel")
        eng.client.send_raw("PING :sync")
        await fc.expect("PING :sync")
        assert len([line for line in fc.received if line.startswith("NOTICE")]) == 1


async def test_a_ctcp_flood_gets_only_a_handful_of_replies() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        for n in range(50):
            fc.send(f":flooder{n}!f@h PRIVMSG me :\x01VERSION\x01")
        fc.send(":friend!f@h PRIVMSG me :still alive")
        await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.text == "still alive")
        await asyncio.sleep(0.5)
        replies = [line for line in fc.received if line.startswith("NOTICE")]
        assert 1 <= len(replies) <= 5
        assert eng.client.ctcp.dropped >= 45
        assert not fc.closed.is_set()
