"""A command sent again with the same idempotency key (a client that lost the
answer retries) is answered from the first try, and reaches IRC once."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.api_helpers import ApiWorld, make_world
from tests.web.transport_helpers import Room, make_room, open_ws

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def _room(make_world: Any, ngircd: Any, tag: str) -> Room:
    world: ApiWorld = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    return await make_room(world, ngircd, "alice", tag)


def _from(room: Room, text: str) -> Any:
    return lambda m: m.command == "PRIVMSG" and m.nick == room.nick and m.param(1) == text


async def test_a_repeated_key_reaches_irc_once(make_world, ngircd):
    room = await _room(make_world, ngircd, "once")
    alice = room.user
    try:
        ws = await open_ws(alice)
        try:
            command = {"type": "send", "network": room.nid, "target": room.channel,
                       "text": "only once", "idempotency_key": "q-1"}
            first = await ws.command({"id": 1, **command})
            again = await ws.command({"id": 2, **command})  # the retry of a lost answer
            assert first == {"reply_to": 1, "ok": True, "result": {"ok": True, "lines": 1}}
            assert again == {**first, "reply_to": 2}
            other = await ws.command(
                {"id": 3, **command, "idempotency_key": "q-2", "text": "twice"}
            )
            assert other["ok"] is True
        finally:
            await ws.close()
        # by REST, the same key (the socket died, the page fell back to a POST)
        path = f"/api/networks/{room.nid}/send"
        body = {"target": room.channel, "text": "only once"}
        for _ in range(2):
            status, answer = await alice.post(path, body, headers={"Idempotency-Key": "q-1"})
            assert status == 200 and answer == {"ok": True, "lines": 1}, answer
        status, answer = await alice.post(path, {"target": room.channel, "text": "no key"})
        assert status == 200, answer

        await room.plain.expect(_from(room, "only once"))
        await room.plain.expect(_from(room, "twice"))
        await room.plain.expect(_from(room, "no key"))
        await room.plain.expect_none(_from(room, "only once"), timeout=1.0)
    finally:
        await room.plain.close()


async def test_a_bad_key_is_refused_and_nothing_is_sent(make_world, ngircd):
    room = await _room(make_world, ngircd, "bkey")
    try:
        path = f"/api/networks/{room.nid}/send"
        for key in ("k" * 101, "tab\there"):
            status, answer = await room.user.post(
                path, {"target": room.channel, "text": "refused"}, headers={"Idempotency-Key": key}
            )
            assert status == 400 and answer["error"]["code"] == "bad_key", answer
        ws = await open_ws(room.user)
        try:
            reply = await ws.command({"id": 1, "type": "send", "network": room.nid,
                                      "target": room.channel, "text": "refused",
                                      "idempotency_key": 7})
            assert reply["ok"] is False and reply["error"] == "bad_key", reply
        finally:
            await ws.close()
        await room.plain.expect_none(_from(room, "refused"), timeout=1.0)
    finally:
        await room.plain.close()
