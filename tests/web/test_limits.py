"""Abuse limits on a running server against a real ngircd: networks and
channels per user, lines per second, concurrent event streams, and public
sessions per address. Over a limit: a clear 4xx naming it, and nothing sent
or started."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from backchannel.web.guests import reap_idle_guests
from backchannel.web.keys import EVENTS
from tests.support.ircclient import IRCClient
from tests.web.api_helpers import ApiClient, ApiWorld, eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def _world(make_world: Any, ngircd: Any, **settings: Any) -> ApiWorld:
    world: ApiWorld = await make_world(
        allowed_servers=[f"{ngircd.host}:{ngircd.port}"], **settings
    )
    return world


async def _joined(client: ApiClient, nid: int) -> set[str]:
    _s, state = await client.get("/api/state")
    [network] = [n for n in state["networks"] if n["id"] == nid]
    return {t["name"].lower() for t in network["targets"] if t.get("joined")}


async def _network(client: ApiClient, ngircd: Any, nick: str, channels: list[str]) -> int:
    status, created = await client.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, nick, channels=[{"name": c} for c in channels]),
    )
    assert status == 201, created
    nid: int = created["id"]
    if channels:
        await eventually(lambda: _has(client, nid, set(channels)))
    return nid


async def _has(client: ApiClient, nid: int, channels: set[str]) -> bool:
    return channels <= await _joined(client, nid)


async def test_networks_per_user(make_world, ngircd):
    world = await _world(make_world, ngircd, max_networks=2, max_stored_bytes=4096)
    assert world.app[EVENTS].max_bytes_per_user == 4096  # the store is given its limit
    alice = await world.user("alice")
    for n in range(2):
        await _network(alice, ngircd, f"netlim{n}", [])
    status, body = await alice.post("/api/networks", network_body(ngircd.host, ngircd.port, "x"))
    assert status == 409, body
    assert body["error"]["code"] == "too_many_networks"
    assert "at most 2 networks" in body["error"]["message"]
    _s, listed = await alice.get("/api/networks")
    assert len(listed["networks"]) == 2
    bob = await world.user("bob")  # per user: bob has his own two
    await _network(bob, ngircd, "netlimb", [])


async def test_channels_per_user_over_all_networks(make_world, ngircd):
    world = await _world(make_world, ngircd, max_channels=3)
    alice = await world.user("alice")
    nid = await _network(alice, ngircd, "chlim", ["#chlima", "#chlimb"])
    # a second network with two more would make four
    status, body = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "chlim2", channels=[{"name": "#x"}, {"name": "#y"}]),
    )
    assert status == 409 and body["error"]["code"] == "too_many_channels", body
    status, body = await alice.post(f"/api/networks/{nid}/join", {"channel": "#chlimc"})
    assert status == 200, body
    await eventually(lambda: _has(alice, nid, {"#chlimc"}))
    for request in (
        ("join", {"channel": "#chlimd"}),
        ("send", {"raw": "JOIN #chlimd,#chlime"}),
    ):
        status, body = await alice.post(f"/api/networks/{nid}/{request[0]}", request[1])
        assert status == 409, (request, body)
        assert body["error"]["code"] == "too_many_channels"
        assert "at most 3 channels" in body["error"]["message"]
    # rejoining one it is in already is no new channel; PATCH that grows the list is refused
    status, body = await alice.post(f"/api/networks/{nid}/join", {"channel": "#CHLIMA"})
    assert status == 200, body
    four = [{"name": c} for c in ("#chlima", "#chlimb", "#chlimc", "#chlimd")]
    status, body = await alice.request("PATCH", f"/api/networks/{nid}", {"channels": four})
    assert status == 409 and body["error"]["code"] == "too_many_channels", body
    # after a part there is room again; the refused channel was never joined
    status, _ = await alice.post(f"/api/networks/{nid}/part", {"channel": "#chlimc"})
    assert status == 200
    await eventually(lambda: _lacks(alice, nid, "#chlimc"))
    status, body = await alice.post(f"/api/networks/{nid}/join", {"channel": "#chlimf"})
    assert status == 200, body
    await eventually(lambda: _has(alice, nid, {"#chlimf"}))
    assert "#chlimd" not in await _joined(alice, nid)
    assert "#chlime" not in await _joined(alice, nid)


async def _lacks(client: ApiClient, nid: int, channel: str) -> bool:
    return channel not in await _joined(client, nid)


async def test_lines_per_second_refuse_the_excess_and_send_nothing_of_it(make_world, ngircd):
    # rate 1 a second: bursts of 10 lines
    world = await _world(make_world, ngircd, max_lines_per_second=1)
    alice = await world.user("alice")
    nid = await _network(alice, ngircd, "ratelim", ["#ratelim"])
    watcher = await IRCClient.connect(ngircd.host, ngircd.port)
    try:
        await watcher.register("ratewatch")
        await watcher.send("JOIN #ratelim")
        await watcher.expect("366")
        answers = []
        for n in range(14):
            status, body = await alice.post(
                f"/api/networks/{nid}/send", {"target": "#ratelim", "text": f"line {n}"}
            )
            answers.append(status)
            if status != 200:
                assert status == 429 and body["error"]["code"] == "rate_limited", body
                assert "1 lines a second" in body["error"]["message"]
        assert answers.count(200) in (10, 11), answers  # 11 if a second passed meanwhile
        sent = answers.count(200)
        for n in range(sent):
            await watcher.expect(
                lambda m, n=n: m.command == "PRIVMSG" and m.param(1) == f"line {n}"
            )
        await watcher.expect_none(
            lambda m: m.command == "PRIVMSG" and m.param(1) == f"line {sent}", timeout=1.5
        )
    finally:
        await watcher.send("QUIT")
        watcher.writer.close()


async def test_a_paste_goes_out_whole_then_the_next_send_waits(make_world, ngircd):
    world = await _world(make_world, ngircd, max_lines_per_second=1)
    alice = await world.user("alice")
    nid = await _network(alice, ngircd, "pastelim", ["#pastelim"])
    paste = "\n".join(f"paste {n}" for n in range(15))
    status, body = await alice.post(
        f"/api/networks/{nid}/send", {"target": "#pastelim", "text": paste}
    )
    assert status == 200 and body["lines"] == 15, body
    status, body = await alice.post(
        f"/api/networks/{nid}/send", {"target": "#pastelim", "text": "one more"}
    )
    assert status == 429 and body["error"]["code"] == "rate_limited", body


async def _poll(client: ApiClient, timeout: float = 3.0) -> int:
    status, _body = await client.get("/api/events", params={"timeout": str(timeout)})
    return status


async def test_event_streams_per_user(make_world, ngircd):
    world = await _world(make_world, ngircd, max_streams_per_user=2)
    alice = await world.user("alice")
    waiting = [asyncio.create_task(_poll(alice)) for _ in range(2)]
    await eventually(lambda: _open_streams(world, alice))
    status, body = await alice.get("/api/events", params={"timeout": "1"})
    assert status == 429 and body["error"]["code"] == "too_many_streams", body
    status, _ = await alice.get("/api/events/stream")
    assert status == 429
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        await alice.session.ws_connect(alice.url("/api/ws"), headers=_origin(alice))
    assert refused.value.status == 429
    bob = await world.user("bob")  # another user is not held up
    assert await _poll(bob, 0) == 200
    assert await asyncio.gather(*waiting) == [200, 200]
    # both ended: there is room again, for a WebSocket too
    ws = await alice.session.ws_connect(alice.url("/api/ws"), headers=_origin(alice))
    hello = await ws.receive_json(timeout=5)
    assert hello["kind"] == "hello"
    status, body = await alice.get("/api/events", params={"timeout": "0"})
    assert status == 200, body
    await ws.close()


async def _open_streams(world: ApiWorld, client: ApiClient) -> bool:
    from backchannel.web.keys import LIMITS

    _s, me = await client.get("/api/me")
    return bool(world.app[LIMITS].streams.open_for(me["user"]["id"]) == 2)


def _origin(client: ApiClient) -> dict[str, str]:
    return {"Origin": client.url("/").rstrip("/")}


async def test_event_streams_per_address(make_world, ngircd):
    world = await _world(make_world, ngircd, max_streams_per_address=2)
    alice, bob = await world.user("alice"), await world.user("bob")
    waiting = [asyncio.create_task(_poll(alice)), asyncio.create_task(_poll(bob))]
    await asyncio.sleep(0.5)
    carol = await world.user("carol")  # same address (127.0.0.1), a third user
    status, body = await carol.get("/api/events", params={"timeout": "1"})
    assert status == 429 and "your address" in body["error"]["message"], body
    assert await asyncio.gather(*waiting) == [200, 200]
    assert await _poll(carol, 0) == 200


async def test_public_sessions_per_address(make_world, ngircd):
    world = await _world(make_world, ngircd, public=True, max_public_sessions_per_address=2)
    guests = [world.client() for _ in range(3)]
    for guest in guests[:2]:
        status, body = await guest.post("/api/guest")
        assert status == 201, body
    status, body = await guests[2].post("/api/guest")
    assert status == 429 and body["error"]["code"] == "too_many_sessions", body
    # an anonymous seed session is a public session too
    seed = world.client()
    status, text = await seed.get(f"/irc/connect/{ngircd.host}:{ngircd.port}")
    assert status == 429 and text[1] == "ERROR" and "sessions open here" in text[2], text
    # the same browser asking again keeps its guest: no new session
    status, body = await guests[0].post("/api/guest")
    assert status == 200, body
    # guests that went away free their places
    assert await reap_idle_guests(world.app, now=10**12) == 2
    status, body = await guests[2].post("/api/guest")
    assert status == 201, body
    status, text = await seed.get(f"/irc/connect/{ngircd.host}:{ngircd.port}")
    assert status == 200 and text.isdigit(), text


async def test_a_refused_seed_connect_does_not_use_up_a_session(make_world, ngircd):
    world = await _world(make_world, ngircd, public=True, max_public_sessions_per_address=1)
    for _ in range(3):  # refused targets: no session is kept for them
        status, text = await world.client().get("/irc/connect/irc.example.org:6667")
        assert status == 403 and text[1] == "ERROR", text
    status, text = await world.client().get(f"/irc/connect/{ngircd.host}:{ngircd.port}")
    assert status == 200 and text.isdigit(), text
    status, text = await world.client().get(f"/irc/connect/{ngircd.host}:{ngircd.port}")
    assert status == 429, text  # that one holds the address's only place
