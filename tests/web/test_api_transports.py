"""The three v1 event transports against a real IRC server (ngIRCd): the
long-poll (``/api/events``), Server-Sent Events (``/api/events/stream``) and
the WebSocket (``/api/ws``, with its commands). A user's network is in a
channel, a plain socket client talks there, and every transport must deliver
the same events, in cursor order, resuming from a cursor with no gap and no
duplicate, and only to their user."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest

from backchannel.store.events import NewEvent
from backchannel.web.keys import EVENTS, HUB
from tests.web.api_helpers import ApiClient, ApiWorld, eventually, make_world
from tests.web.transport_helpers import (
    Room,
    add_network,
    assert_increasing,
    count_waits,
    cursors,
    find_target,
    make_room,
    open_sse,
    open_ws,
    plain_in,
    poll,
    poll_until,
    said,
    texts,
)

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd

POLL_TIMEOUT = 3.0  # the server's cap on a long-poll's wait


async def _room(make_world: Any, ngircd: Any, tag: str) -> Room:
    world: ApiWorld = await make_world(
        allowed_servers=[f"{ngircd.host}:{ngircd.port}"], poll_timeout=POLL_TIMEOUT
    )
    return await make_room(world, ngircd, "alice", tag)


async def _quiet_cursor(room: Room) -> str:
    """The latest cursor once the stream has been quiet for a moment (the
    network's joins and names have settled)."""
    cursor = await room.latest()
    while True:
        await asyncio.sleep(0.3)
        events, newer = await poll(room.user, cursor, timeout=0)
        if not events:
            return cursor
        cursor = newer


async def _uid(client: ApiClient) -> int:
    status, me = await client.get("/api/me")
    assert status == 200, me
    return int(me["user"]["id"])


async def _true(value: bool) -> bool:
    return value


# --- long-poll ------------------------------------------------------------------------------


async def test_long_poll_waits_resumes_and_refuses_bad_requests(make_world, ngircd):
    room = await _room(make_world, ngircd, "lp")
    alice, msg = room.user, room.said()
    try:
        start = await _quiet_cursor(room)

        # nothing new: waits about `timeout`, then answers no events and the same cursor
        began = time.monotonic()
        events, cursor = await poll(alice, start, timeout=1)
        waited = time.monotonic() - began
        assert (events, cursor) == ([], start)
        assert 0.9 <= waited < POLL_TIMEOUT, waited
        # the wait is capped by the server's poll timeout
        began = time.monotonic()
        assert await poll(alice, start, timeout=30) == ([], start)
        assert POLL_TIMEOUT - 0.2 <= time.monotonic() - began < POLL_TIMEOUT + 3.0

        # without `after`: the current cursor, nothing old
        assert await poll(alice, None, timeout=0) == ([], start)

        # events after the cursor come at once, each with its cursor, in order
        await room.say("one", "two")
        got, cursor = await poll_until(alice, start, msg, 2)
        assert texts(got, msg) == ["one", "two"]
        assert all(int(e["cursor"]) > int(start) for e in got)
        assert all(e["network"] == room.nid for e in got if msg(e))
        began = time.monotonic()
        again, again_cursor = await poll(alice, start, timeout=POLL_TIMEOUT)
        assert time.monotonic() - began < POLL_TIMEOUT / 2  # did not wait
        assert again == got and again_cursor == cursor
        # from the middle: exactly what came after
        first = next(e for e in got if msg(e))
        after_first, _ = await poll(alice, first["cursor"], timeout=0)
        assert after_first == got[got.index(first) + 1 :]

        # a waiting poll without `after` gets only what comes next
        hub = await room.world.app[HUB].for_user(await _uid(alice))
        waits = count_waits(hub)
        waiting = asyncio.create_task(poll(alice, None, timeout=POLL_TIMEOUT))
        await eventually(lambda: _true(waits[0] > 0), interval=0.01)  # it is waiting
        await room.say("three")
        new, new_cursor = await waiting
        assert texts(new, msg) == ["three"], new
        assert all(int(e["cursor"]) > int(cursor) for e in new)
        assert new_cursor == new[-1]["cursor"]

        for bad in ["abc", "-1", "1.5", "0x10", "١٢"]:
            status, body = await alice.get("/api/events", params={"after": bad, "timeout": "0"})
            assert status == 400 and body["error"]["code"] == "bad_cursor", (bad, body)
        status, body = await alice.get("/api/events", params={"after": start, "timeout": "soon"})
        assert status == 400 and isinstance(body, dict) and "error" in body

        stranger = room.world.client()
        status, body = await stranger.get("/api/events", params={"timeout": "0"})
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    finally:
        await room.plain.close()


async def test_long_poll_pages_through_more_than_a_thousand_events(make_world, ngircd):
    room = await _room(make_world, ngircd, "pg")
    app = room.world.app
    try:
        start = await _quiet_cursor(room)
        uid = await _uid(room.user)
        total = 2500  # more than the hub keeps in memory: early pages come from the store
        now = "2026-01-01T00:00:00.000Z"
        bulk = [
            NewEvent(
                user_id=uid, network_id=room.nid, target="#bulk", target_key="#bulk",
                kind="privmsg", time=now, nick="bulk", text=f"bulk {i}",
                data={"kind": "privmsg", "time": now, "batch": None, "target": "#bulk",
                      "nick": "bulk", "text": f"bulk {i}", "self": False},
            )
            for i in range(total)
        ]
        stored = await app[EVENTS].append(bulk)
        (await app[HUB].for_user(uid)).publish(stored)
        await room.say("after the flood")

        is_bulk = said("#bulk", "bulk")
        seen: list[dict[str, Any]] = []
        cursor, sizes = start, []
        while True:
            events, cursor = await poll(room.user, cursor, timeout=0)
            if not events:
                break
            assert len(events) <= 1000
            sizes.append(len(events))
            seen.extend(events)
        assert sizes[0] == 1000 and len(sizes) >= 3, sizes
        assert_increasing(seen)  # in order, and so no duplicates
        assert texts(seen, is_bulk) == [f"bulk {i}" for i in range(total)]
        assert cursors([e for e in seen if is_bulk(e)]) == [s.cursor for s in stored]
        assert texts(seen, room.said()) == ["after the flood"]
        assert cursor == seen[-1]["cursor"]
    finally:
        await room.plain.close()


# --- Server-Sent Events ------------------------------------------------------------------


async def test_sse_ids_are_cursors_and_last_event_id_resumes(make_world, ngircd):
    room = await _room(make_world, ngircd, "ss")
    alice, msg = room.user, room.said()
    try:
        start = await _quiet_cursor(room)
        stream = await open_sse(alice, after=start)
        try:
            await room.say("s1", "s2", "s3")
            got = await stream.read_until(msg, 3)
        finally:
            stream.close()
        assert stream.retry is not None  # a reconnect delay for EventSource
        assert texts(got, msg) == ["s1", "s2", "s3"]
        assert stream.ids == [e["cursor"] for e in stream.events]  # id: is the cursor
        assert_increasing(stream.events)
        assert int(stream.events[0]["cursor"]) > int(start)
        polled, _ = await poll_until(alice, start, msg, 3)
        assert stream.events == polled  # the same objects as the long-poll
        last_id = stream.ids[-1]

        # while no stream is open, more is said; a reconnecting EventSource sends
        # Last-Event-ID, which wins over `after` either way (no duplicate, no gap)
        await room.say("s4", "s5")
        expected, _ = await poll_until(alice, last_id, msg, 2)
        assert texts(expected, msg) == ["s4", "s5"]
        latest = expected[-1]["cursor"]
        for after in ["0", start, latest]:
            resumed = await open_sse(alice, after=after, last_event_id=last_id)
            try:
                again = await resumed.read_until(msg, 2)
            finally:
                resumed.close()
            assert again == expected, after
            assert resumed.ids == [e["cursor"] for e in again]

        # from the middle: s2 onwards
        s1 = next(e for e in stream.events if e.get("text") == "s1")
        middle = await open_sse(alice, last_event_id=s1["cursor"])
        try:
            again = await middle.read_until(msg, 4)
        finally:
            middle.close()
        assert texts(again, msg) == ["s2", "s3", "s4", "s5"]
        assert again[0] == polled[polled.index(s1) + 1]

        for headers, params in [({"Last-Event-ID": "x"}, {}), ({}, {"after": "-3"})]:
            async with alice.session.get(
                alice.url("/api/events/stream"), headers=headers, params=params
            ) as resp:
                body = await resp.json()
                assert (resp.status, body["error"]["code"]) == (400, "bad_cursor")
        status, body = await room.world.client().get("/api/events/stream")
        assert (status, body["error"]["code"]) == (401, "unauthorized")
    finally:
        await room.plain.close()


# --- WebSocket --------------------------------------------------------------------------


async def test_websocket_events_and_send(make_world, ngircd):
    room = await _room(make_world, ngircd, "ws")
    alice, msg = room.user, room.said()
    try:
        start = await _quiet_cursor(room)
        ws = await open_ws(alice, after=start)
        try:
            assert ws.hello == {"kind": "hello", "cursor": start}
            await room.say("w1", "w2")
            got = await ws.read_until(msg, 2)
            assert texts(got, msg) == ["w1", "w2"]
            assert_increasing(got)
            polled, _ = await poll_until(alice, start, msg, 2)
            assert got == polled

            reply = await ws.command(
                {"id": 1, "type": "send", "network": room.nid, "target": room.channel,
                 "text": "hi from the socket"}
            )
            assert reply["reply_to"] == 1 and reply["ok"] is True, reply
            line = await room.plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == room.nick)
            assert line.params == [room.channel, "hi from the socket"]
            # ngIRCd has no echo-message: the local echo comes as an event
            echo = await ws.read_until(lambda e: e.get("self") is True, 1)
            assert [e["text"] for e in echo if e.get("self")] == ["hi from the socket"]

            reply = await ws.command(
                {"id": "r", "type": "send", "network": room.nid,
                 "raw": f"PRIVMSG {room.channel} :raw"}
            )
            assert reply["reply_to"] == "r" and reply["ok"] is True, reply
            line = await room.plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == room.nick)
            assert line.params == [room.channel, "raw"]
        finally:
            await ws.close()

        # without `after`, the stream starts at the latest cursor
        ws = await open_ws(alice)
        try:
            assert ws.hello["cursor"] == await room.latest()
            await room.say("w3")
            got = await ws.read_until(msg, 1)
            assert texts(got, msg) == ["w3"]
            assert int(got[0]["cursor"]) > int(ws.hello["cursor"])
        finally:
            await ws.close()
    finally:
        await room.plain.close()


async def test_websocket_refuses_bad_commands_and_sends_nothing(make_world, ngircd):
    room = await _room(make_world, ngircd, "wb")
    bob = await room.world.user("bob")
    bob_nid = await add_network(bob, ngircd, "webbob", "#trbob")
    chan = room.channel
    try:
        ws = await open_ws(room.user)
        try:
            cases: list[tuple[Any, str]] = [
                ({"id": 2, "type": "shout", "network": room.nid}, "bad_command"),
                ({"id": 3, "network": room.nid, "target": chan, "text": "x"}, "bad_command"),
                ({"id": 4, "type": "send", "network": room.nid, "target": f"{chan}\r\nQUIT",
                  "text": "x"}, "invalid"),
                ({"id": 5, "type": "send", "network": room.nid, "target": chan,
                  "text": "nul\0QUIT"}, "invalid"),
                ({"id": 6, "type": "send", "network": room.nid,
                  "raw": f"PRIVMSG {chan} :a\r\nQUIT"}, "bad_line"),
                ({"id": 7, "type": "send", "network": room.nid, "raw": f"PRIVMSG {chan} :b\n"},
                 "bad_line"),
                ({"id": 8, "type": "send", "network": bob_nid, "target": "#trbob",
                  "text": "leak"}, "not_found"),
                ({"id": 9, "type": "send", "network": 999999, "target": chan, "text": "leak"},
                 "not_found"),
                ({"id": 10, "type": "send", "network": room.nid, "target": chan, "text": "x",
                  "extra": 1}, "invalid"),
                ({"id": 11, "type": "join", "network": room.nid, "channel": "#a\r\nQUIT"},
                 "invalid"),
                ({"id": 12, "type": "send", "network": room.nid, "target": chan}, "invalid"),
                ({"id": 13, "type": "read", "network": room.nid, "target": chan,
                  "cursor": "999999999"}, "bad_cursor"),
            ]
            for command, code in cases:
                reply = await ws.command(command)
                assert reply["reply_to"] == command["id"], reply
                assert reply["ok"] is False and reply["error"] == code, (command, reply)
                assert reply["message"]
            reply = await ws.command("this is not JSON")
            assert reply == {"reply_to": None, "ok": False, "error": "bad_json"}
            reply = await ws.command("[1, 2]")
            assert reply["ok"] is False and reply["error"] == "bad_command"

            # the socket still works, and nothing of the refused commands was sent
            reply = await ws.command(
                {"id": 99, "type": "send", "network": room.nid, "target": chan, "text": "marker"}
            )
            assert reply["ok"] is True
            await room.plain.expect(lambda m: m.command == "PRIVMSG" and m.param(1) == "marker")
            ours = [line for line in room.plain.received if line.nick in (room.nick, "webbob")]
            assert not any(
                "QUIT" in line or "leak" in line or ":a" in line or ":b" in line or "nul" in line
                for line in ours
            ), ours
            _s, page = await bob.get(f"/api/networks/{bob_nid}/history",
                                     params={"target": "#trbob"})
            assert not [e for e in page["events"] if e["kind"] == "privmsg"], page
            _s, network = await room.user.get(f"/api/networks/{room.nid}")
            assert network["status"]["state"] == "registered"
        finally:
            await ws.close()
    finally:
        await room.plain.close()


async def test_websocket_raw_command_as_documented(make_world, ngircd):
    room = await _room(make_world, ngircd, "wr")
    try:
        ws = await open_ws(room.user)
        try:
            reply = await ws.command(
                {"id": 10, "type": "raw", "network": room.nid, "line": f"PRIVMSG {room.channel} :r"}
            )
            assert reply["ok"] is True, reply
            reply = await ws.command(
                {"id": 11, "type": "raw", "network": room.nid, "line": "PING a\r\nQUIT"}
            )
            assert (reply["ok"], reply["error"]) == (False, "bad_line"), reply
        finally:
            await ws.close()
    finally:
        await room.plain.close()


async def test_websocket_read_command_reaches_other_sockets(make_world, ngircd):
    room = await _room(make_world, ngircd, "rd")
    alice = room.user
    tab = room.world.client()  # the same user in another browser
    await tab.login("alice")
    try:
        ws = await open_ws(alice)
        other = await open_ws(tab)
        try:
            await room.say("read me")
            (message,) = [e for e in await ws.read_until(room.said(), 1) if room.said()(e)]
            _s, state = await alice.get("/api/state")
            before = find_target(state, room.nid, room.channel)
            assert before is not None and before["unread"] == 1 and before["marker"] is None

            sent_at = len(ws.events)
            reply = await ws.command(
                {"id": 5, "type": "read", "network": room.nid, "target": room.channel,
                 "cursor": message["cursor"]}
            )
            assert reply["ok"] is True, reply
            assert reply["result"] == {"target": room.channel, "marker": message["cursor"]}

            def is_read(e: dict[str, Any]) -> bool:
                return e["kind"] == "read" and e["cursor_read"] == message["cursor"]

            # (on the socket that sent the command, the event may come before the reply)
            early = [e for e in ws.events[sent_at:] if is_read(e)]
            for socket in (other, ws):
                found = early if socket is ws and early else await socket.read_until(is_read, 1)
                (event,) = [e for e in found if is_read(e)]
                assert event["network"] == room.nid and event["target"] == room.channel
                assert int(event["cursor"]) > int(message["cursor"])
            _s, state = await alice.get("/api/state")
            after = find_target(state, room.nid, room.channel)
            assert after is not None
            assert (after["unread"], after["marker"]) == (0, message["cursor"])
            # markers never move back: no second read event
            reply = await ws.command(
                {"id": 6, "type": "read", "network": room.nid, "target": room.channel,
                 "cursor": "1"}
            )
            assert reply["ok"] is True and reply["result"]["marker"] == message["cursor"]
            assert not [e for e in await other.read_for(0.5) if e["kind"] == "read"]
        finally:
            await ws.close()
            await other.close()
    finally:
        await room.plain.close()


async def test_websocket_handshake_needs_a_session_and_the_same_site(make_world, ngircd):
    world: ApiWorld = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    own = f"http://{world.server.host}:{world.server.port}"
    for origin in ["https://evil.example", "null", f"http://{world.server.host}:1"]:
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await alice.session.ws_connect(alice.url("/api/ws"), headers={"Origin": origin})
        assert refused.value.status == 403, origin
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await alice.session.ws_connect(
            alice.url("/api/ws"), headers={"Referer": "https://evil.example/page"}
        )
    assert refused.value.status == 403
    async with alice.session.get(
        alice.url("/api/ws"),
        headers={"Origin": "https://evil.example", "Connection": "Upgrade",
                 "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
                 "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ=="},
    ) as resp:
        assert resp.status == 403 and (await resp.json())["error"]["code"] == "cross_site"

    stranger = world.client()
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await stranger.session.ws_connect(stranger.url("/api/ws"))
    assert refused.value.status == 401
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await alice.session.ws_connect(alice.url("/api/ws"), params={"after": "nope"})
    assert refused.value.status == 400

    # the same site (and no Origin at all, a non-browser client) may connect
    ws = await open_ws(alice, headers={"Origin": own})
    await ws.close()
    ws = await open_ws(alice)
    await ws.close()


# --- who sees what ------------------------------------------------------------------------


async def test_users_never_see_each_others_events(make_world, ngircd):
    room = await _room(make_world, ngircd, "ua")
    bob = await room.world.user("bob")
    bob_nid = await add_network(bob, ngircd, "webub", "#trub")
    bob_plain = await plain_in(ngircd, "sockub", "#trub")
    bob_msg = said("#trub", "sockub")
    try:
        bob_ws = await open_ws(bob, after="0")
        bob_sse = await open_sse(bob, after="0")
        try:
            await room.say("for alice 1", "for alice 2")
            await bob_plain.send("PRIVMSG #trub :for bob")
            await room.say("for alice 3")
            await poll_until(room.user, "0", room.said(), 3)  # alice has hers
            got_ws = await bob_ws.read_until(bob_msg, 1)
            got_sse = await bob_sse.read_until(bob_msg, 1)
            got_ws += await bob_ws.read_for(0.5)
            got_sse += await bob_sse.read_for(0.2)
            got_poll, _ = await poll_until(bob, "0", bob_msg, 1)
            for events in (got_ws, got_sse, got_poll):
                assert texts(events, bob_msg) == ["for bob"]
                assert {e["network"] for e in events} == {bob_nid}, events
                assert not [e for e in events if "alice" in str(e.get("text", ""))]
                assert_increasing(events)
            assert got_ws == got_poll == got_sse
            # and not from a cursor inside alice's range either
            alice_events, _ = await poll(room.user, "0", timeout=0)
            first = alice_events[0]["cursor"]
            events, _ = await poll(bob, first, timeout=0)
            assert {e["network"] for e in events} <= {bob_nid}
            # bob cannot read or act on alice's network
            status, _ = await bob.get(f"/api/networks/{room.nid}/history",
                                      params={"target": room.channel})
            assert status == 404
        finally:
            await bob_ws.close()
            bob_sse.close()
    finally:
        await bob_plain.close()
        await room.plain.close()


async def test_every_tab_of_a_user_gets_the_same_message(make_world, ngircd):
    room = await _room(make_world, ngircd, "tb")
    msg = room.said()
    second = room.world.client()
    await second.login("alice")
    try:
        start = await _quiet_cursor(room)
        tab1 = await open_ws(room.user)
        tab2 = await open_ws(second)
        sse = await open_sse(second)
        polling = asyncio.create_task(poll(room.user, start, timeout=POLL_TIMEOUT))
        try:
            await room.say("to every tab")
            one = [e for e in await tab1.read_until(msg, 1) if msg(e)]
            two = [e for e in await tab2.read_until(msg, 1) if msg(e)]
            three = [e for e in await sse.read_until(msg, 1) if msg(e)]
            polled, _ = await polling
            four = [e for e in polled if msg(e)]
            assert one == two == three == four, (one, two, three, four)
            assert one[0]["text"] == "to every tab" and int(one[0]["cursor"]) > int(start)
        finally:
            await tab1.close()
            await tab2.close()
            sse.close()
            if not polling.done():
                polling.cancel()
    finally:
        await room.plain.close()



# --- regressions: bugs these tests found -----------------------------------------------


async def test_websocket_answers_a_command_whose_type_is_not_a_string(make_world):
    world: ApiWorld = await make_world()
    alice = await world.user("alice")
    ws = await open_ws(alice)
    try:
        for kind in (["send"], {"a": 1}):
            reply = await ws.command({"id": 1, "type": kind}, timeout=3)
            assert (reply["ok"], reply["error"]) == (False, "bad_command")
    finally:
        await ws.close()


async def test_cursors_keep_growing_after_the_newest_events_are_deleted(make_world, ngircd):
    room = await _room(make_world, ngircd, "dl")
    try:
        other = await add_network(room.user, ngircd, "webdl2", "#trdl2")  # the newest events
        cursor = await _quiet_cursor(room)
        status, body = await room.user.request("DELETE", f"/api/networks/{other}")
        assert status == 200, body
        _events, cursor = await poll(room.user, cursor, timeout=0)
        await room.say("after the delete")
        got, _ = await poll(room.user, cursor, timeout=1)
        assert texts(got, room.said()) == ["after the delete"]
        assert int(got[-1]["cursor"]) > int(cursor)
    finally:
        await room.plain.close()
