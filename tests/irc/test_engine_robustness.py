"""Hostile input against the scripted server: NUL bytes, invalid UTF-8, huge
lines, 10,000 tags, lines without a command, truncated commands. None may
crash the engine or end the connection; a PRIVMSG after them still arrives."""

from __future__ import annotations

import asyncio

import pytest

from backchannel.state.events.messages import Privmsg
from tests.irc.engine_helpers import SERVER, Engine, config, negotiate, registered, running
from tests.support.fakeircd import FakeClient, FakeIrcServer

TEN_THOUSAND_TAGS = b"@" + b";".join(b"t%d=v%d" % (n, n) for n in range(10_000))

GARBAGE: dict[str, bytes] = {
    "nul-in-text": b":a!b@c PRIVMSG me :nul\x00inside\r\n",
    "only-nuls": b"\x00\x00\x00\r\n",
    "invalid-utf8-text": b":a!b@c PRIVMSG me :\xff\xfe\xc3( caf\xe9\r\n",
    "invalid-utf8-everywhere": b"@\xff=\xfe :\xff!\xfe@\xc3 \xff\xfe \xc3 :\xe9\r\n",
    "100kb-line": b":a!b@c PRIVMSG me :" + b"x" * 100_000 + b"\r\n",
    "100kb-no-newline-then-newline": b"y" * 100_000 + b"\n",
    "10000-tags": TEN_THOUSAND_TAGS + b" :a!b@c PRIVMSG me :tagged\r\n",
    "10000-tags-no-command": TEN_THOUSAND_TAGS + b"\r\n",
    "source-only": b":prefix.only\r\n",
    "tags-only": b"@tag=1\r\n",
    "tags-and-source": b"@tag=1 :prefix\r\n",
    "trailing-only": b":src :trailing only\r\n",
    "empty-lines": b"\r\n\n   \r\n\r\r\n",
    "bare-privmsg": b"PRIVMSG\r\n",
    "privmsg-no-text": b":a!b@c PRIVMSG me\r\n",
    "privmsg-empty-text": b":a!b@c PRIVMSG me :\r\n",
    "no-source-privmsg": b"PRIVMSG me :who?\r\n",
    "bare-join": b":a!b@c JOIN\r\n",
    "bare-part-kick-mode": b":a!b@c PART\r\n:a!b@c KICK #x\r\n:a!b@c MODE\r\n:a!b@c MODE #x\r\n",
    "bare-nick-quit-topic": b":a!b@c NICK\r\n:a!b@c QUIT\r\n:a!b@c TOPIC\r\n",
    "our-own-nick-empty": b":me!u@h NICK :\r\n",
    "numerics-without-params": b":s 005\r\n:s 353\r\n:s 366\r\n:s 332\r\n:s 433\r\n:s 324\r\n",
    "names-for-unknown-channel": b":s 353 me = #nowhere :@op +voice plain\r\n",
    "weird-isupport": b":s 005 me PREFIX=(ov CHANTYPES= CASEMAPPING=bogus NICKLEN=x :ok\r\n",
    "batches": b"BATCH +\r\nBATCH -nope\r\n@batch=zzz :a!b@c PRIVMSG me :orphan\r\n",
    "cap-fragments": b"CAP\r\nCAP * ACK\r\nCAP * NEW\r\nCAP * DEL :\r\n",
    "authenticate-out-of-place": b"AUTHENTICATE\r\nAUTHENTICATE +\r\n:s 903 me :ok\r\n",
    "bare-ping": b"PING\r\n",
    "ctcp-fragments": b":a!b@c PRIVMSG me :\x01\r\n:a!b@c PRIVMSG me :\x01VERSION\r\n",
    "huge-source": b":" + b"x" * 600 + b" PRIVMSG me :long source\r\n",
    "bad-server-time": b"@time=notatime :a!b@c PRIVMSG me :when?\r\n",
    "error-like-but-not": b"ERRORS everywhere\r\n",
}


async def still_alive(fc: FakeClient, eng: Engine, text: str = "after the garbage") -> None:
    fc.send(f":friend!f@h PRIVMSG me :{text}")
    await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.text == text)
    fc.send(f"PING :{SERVER}")
    await fc.expect(f"PONG :{SERVER}")
    assert not fc.closed.is_set()
    assert eng.task is not None and not eng.task.done()
    assert not eng.statuses("disconnected")


@pytest.mark.parametrize("data", GARBAGE.values(), ids=GARBAGE.keys())
async def test_garbage_after_registration_is_survived(data: bytes) -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        fc.send_raw(data)
        await fc.drain()
        await still_alive(fc, eng)


async def test_all_the_garbage_at_once_in_small_pieces() -> None:
    blob = b"".join(GARBAGE.values())
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        for i in range(0, len(blob), 4093):  # pieces that cut lines and characters
            fc.send_raw(blob[i : i + 4093])
        await fc.drain()
        await still_alive(fc, eng)


async def test_garbage_during_registration_does_not_stop_it() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await srv.accept()
        await fc.expect("USER ")
        for name in ("only-nuls", "100kb-line", "10000-tags-no-command", "source-only"):
            fc.send_raw(GARBAGE[name])
        fc.send_raw(b":s NOTICE * :\xff\xfe looking up your hostname\r\n")
        await fc.drain()
        await negotiate(fc, "multi-prefix")
        await eng.wait_status("registered")
        await still_alive(fc, eng)


async def test_a_line_split_across_many_writes_is_reassembled() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        line = ":friend!f@h PRIVMSG me :héllo in pieces\r\n".encode()
        for byte in line:
            fc.send_raw(bytes([byte]))
            await fc.drain()
        await eng.wait_for(lambda e: isinstance(e, Privmsg) and e.text == "héllo in pieces")


async def test_error_then_close_leads_to_a_reconnect() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        fc.send("ERROR :Closing Link: me (Killed (oper (go away)))")
        await fc.close()
        down = await eng.wait_status("disconnected")
        assert down.next_attempt is not None
        await registered(srv, eng)


async def test_quit_sends_quit_and_stops() -> None:
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        eng.client.say("#chan", "last words")
        await asyncio.wait_for(eng.client.quit("bye now"), 5)
        assert await eng.outcome() is None
        await fc.expect("PRIVMSG #chan")
        assert await fc.expect("QUIT") == "QUIT :bye now"
        assert eng.statuses()[-1].state == "disconnected"
        assert len(srv.clients) == 1


async def test_what_the_server_sends_before_it_reads_our_quit_is_kept() -> None:
    """Lines already on their way when we QUIT are read until the server closes
    the link (its answer to QUIT), not thrown away with a socket closed at once."""
    async with FakeIrcServer() as srv, running(config(srv.port)) as eng:
        fc = await registered(srv, eng)
        quitting = asyncio.create_task(eng.client.quit("bye now"))
        assert await fc.expect("QUIT") == "QUIT :bye now"
        fc.send(":friend!f@h PRIVMSG me :said just before your QUIT arrived")
        fc.send("ERROR :Closing link (quit)")
        await asyncio.sleep(0.2)
        await fc.close()
        await asyncio.wait_for(quitting, 5)
        assert await eng.outcome() is None
        said = [e.text for e in eng.events if isinstance(e, Privmsg)]
        assert "said just before your QUIT arrived" in said
