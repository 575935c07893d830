"""Closing a private conversation: it leaves the state, is marked read, every
session of the user hears of it, its history stays, and a new message opens
it again. Against a real ngircd."""

from __future__ import annotations

from typing import Any

import pytest

from tests.web.api_helpers import ApiWorld, eventually, make_world
from tests.web.transport_helpers import Room, make_room, open_ws, poll

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def _room(make_world: Any, ngircd: Any, tag: str) -> Room:
    world: ApiWorld = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    return await make_room(world, ngircd, "alice", tag)


async def _query(room: Room, nick: str) -> dict[str, Any] | None:
    _s, state = await room.user.get("/api/state")
    [network] = [n for n in state["networks"] if n["id"] == room.nid]
    for target in network["targets"]:
        if target["name"].lower() == nick.lower():
            return dict(target)
    return None


async def test_a_closed_query_leaves_the_state_and_comes_back_with_a_message(
    make_world, ngircd
):
    room = await _room(make_world, ngircd, "qc")
    other = str(room.plain.nick)
    try:
        start = await room.latest()
        await room.plain.send(f"PRIVMSG {room.nick} :psst")

        async def unread_query() -> dict[str, Any] | None:
            found = await _query(room, other)
            return found if found and found["unread"] == 1 else None

        await eventually(unread_query)
        ws = await open_ws(room.user, after=start)  # another session of alice
        try:
            status, body = await room.user.post(
                f"/api/networks/{room.nid}/close", {"nick": other.upper()}
            )
            assert status == 200 and body == {"ok": True}, body
            assert await _query(room, other) is None  # gone, and not back for its unread
            closed = await ws.read_until(lambda e: e["kind"] == "query_closed", 1)
            assert [e["nick"] for e in closed if e["kind"] == "query_closed"] == [other.upper()]
        finally:
            await ws.close()
        # the history stays
        status, page = await room.user.get(
            f"/api/networks/{room.nid}/history", params={"target": other}
        )
        assert status == 200 and [e["text"] for e in page["events"] if e["kind"] == "privmsg"] \
            == ["psst"]
        # a new message opens it again, unread 1 (the old one was marked read)
        await room.plain.send(f"PRIVMSG {room.nick} :again")
        found = await eventually(unread_query)
        assert found["type"] == "query"
        events, _ = await poll(room.user, start, timeout=0)
        kinds = [e["kind"] for e in events if e.get("target", "").lower() == other.lower()]
        assert kinds[-3:] == ["query_closed", "query", "privmsg"], kinds
    finally:
        await room.plain.close()


async def test_close_by_websocket_and_its_refusals(make_world, ngircd):
    room = await _room(make_world, ngircd, "qw")
    try:
        status, _ = await room.user.post(f"/api/networks/{room.nid}/query", {"nick": "someone"})
        assert status == 200
        assert await _query(room, "someone") is not None
        ws = await open_ws(room.user)
        try:
            reply = await ws.command(
                {"id": 1, "type": "close", "network": room.nid, "nick": "someone"}
            )
            assert reply["ok"] is True, reply
            reply = await ws.command(
                {"id": 2, "type": "close", "network": room.nid, "nick": room.channel}
            )
            assert reply["ok"] is False and reply["error"] == "invalid", reply
            assert reply["message"].startswith("nick:"), reply
        finally:
            await ws.close()
        assert await _query(room, "someone") is None
        assert await _query(room, room.channel) is not None  # the channel was not touched
        bob = await room.world.user("bob")  # another user's network is not found
        status, body = await bob.post(f"/api/networks/{room.nid}/close", {"nick": "someone"})
        assert status == 404, body
    finally:
        await room.plain.close()
