"""Helpers for the event-transport tests: read the long-poll, the SSE stream
and the WebSocket of ``/api`` the way a client does, and set up a user whose
network is joined to a channel on the real ngIRCd, with a plain socket client
in the same channel."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from tests.support.ircclient import IRCClient
from tests.web.api_helpers import ApiClient, ApiWorld, eventually, network_body

Event = dict[str, Any]
Match = Callable[[Event], bool]


class HttpClient(ApiClient):
    """An :class:`ApiClient` for a server given by its base URL (a real process)."""

    def __init__(self, base: str) -> None:  # no TestServer here
        self.base = base.rstrip("/")
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        return self.base + path


def said(channel: str, nick: str) -> Match:
    """A privmsg from ``nick`` in ``channel``."""
    return lambda e: (
        e.get("kind") == "privmsg"
        and e.get("nick") == nick
        and str(e.get("target", "")).lower() == channel.lower()
    )


def texts(events: list[Event], match: Match) -> list[str]:
    return [str(e["text"]) for e in events if match(e)]


def cursors(events: list[Event]) -> list[int]:
    return [int(e["cursor"]) for e in events]


def assert_increasing(events: list[Event]) -> None:
    got = cursors(events)
    assert all(isinstance(e["cursor"], str) for e in events)
    assert all(a < b for a, b in itertools.pairwise(got)), got


# --- long-poll ------------------------------------------------------------------------


async def poll(
    client: ApiClient, after: str | None = None, timeout: float = 0
) -> tuple[list[Event], str]:
    params = {"timeout": str(timeout)}
    if after is not None:
        params["after"] = after
    status, body = await client.get("/api/events", params=params)
    assert status == 200, body
    assert set(body) == {"events", "cursor"}, body
    return list(body["events"]), str(body["cursor"])


async def poll_until(
    client: ApiClient, after: str, match: Match, count: int, deadline: float = 15.0
) -> tuple[list[Event], str]:
    """Every event after ``after`` (walking pages and waiting with short polls)
    until ``count`` of them match; all the events seen, and the last cursor."""
    out: list[Event] = []
    cursor = after
    stop = time.monotonic() + deadline
    while sum(1 for e in out if match(e)) < count:
        assert time.monotonic() < stop, f"long-poll: not {count} matches in {out!r}"
        events, cursor = await poll(client, cursor, timeout=1)
        if events:
            assert events[-1]["cursor"] == cursor
        out.extend(events)
    assert_increasing(out)
    return out, cursor


def count_waits(hub: Any) -> list[int]:
    """Count the calls of an in-process ``UserHub.wait`` (a long-poll with
    nothing to answer yet is waiting there): ``[calls]``, updated live."""
    calls = [0]
    original = hub.wait

    async def wait(after: int, timeout: float) -> bool:
        calls[0] += 1
        return bool(await original(after, timeout))

    hub.wait = wait
    return calls


# --- Server-Sent Events -----------------------------------------------------------------


@dataclass
class SseStream:
    """One open ``/api/events/stream`` response, parsed as a browser would."""

    response: aiohttp.ClientResponse
    events: list[Event] = field(default_factory=list)
    ids: list[str] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    retry: str | None = None

    async def _next(self, timeout: float) -> Event:
        fields: dict[str, list[str]] = {}
        while True:
            raw = await asyncio.wait_for(self.response.content.readline(), timeout)
            assert raw, "the SSE stream ended"
            line = raw.decode("utf-8").rstrip("\r\n")
            if line == "":
                if "data" not in fields:
                    if "retry" in fields:
                        self.retry = fields["retry"][-1]
                    fields = {}
                    continue
                assert set(fields) <= {"id", "data"}, fields
                (event_id,) = fields["id"]  # every event has exactly one id
                (data,) = fields["data"]  # one JSON line
                event: Event = json.loads(data)
                self.ids.append(event_id)
                self.events.append(event)
                return event
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            fields.setdefault(name, []).append(value.removeprefix(" "))

    async def read_until(self, match: Match, count: int, timeout: float = 15.0) -> list[Event]:
        """Read events until ``count`` (new) ones match; the events read."""
        start = len(self.events)
        stop = time.monotonic() + timeout
        while sum(1 for e in self.events[start:] if match(e)) < count:
            remaining = stop - time.monotonic()
            assert remaining > 0, f"SSE: not {count} matches in {self.events[start:]!r}"
            await self._next(remaining)
        return self.events[start:]

    async def read_for(self, seconds: float) -> list[Event]:
        """Whatever events come within ``seconds``."""
        start = len(self.events)
        stop = time.monotonic() + seconds
        while (remaining := stop - time.monotonic()) > 0:
            try:
                await self._next(remaining)
            except TimeoutError:
                break
        return self.events[start:]

    def close(self) -> None:
        self.response.close()


async def open_sse(
    client: ApiClient, after: str | None = None, last_event_id: str | None = None
) -> SseStream:
    params = {} if after is None else {"after": after}
    headers = {} if last_event_id is None else {"Last-Event-ID": last_event_id}
    response = await client.session.get(
        client.url("/api/events/stream"), params=params, headers=headers
    )
    assert response.status == 200, await response.text()
    assert response.content_type == "text/event-stream"
    return SseStream(response)


# --- WebSocket ---------------------------------------------------------------------------


@dataclass
class WsStream:
    """One ``/api/ws`` connection: events and command replies kept apart."""

    ws: aiohttp.ClientWebSocketResponse
    hello: Event
    events: list[Event] = field(default_factory=list)
    replies: list[Event] = field(default_factory=list)

    async def _next(self, timeout: float) -> Event:
        message = await self.ws.receive(timeout)
        assert message.type == aiohttp.WSMsgType.TEXT, message
        data: Event = json.loads(message.data)
        if "reply_to" in data:
            assert "cursor" not in data, data  # a reply is not an event
            self.replies.append(data)
        else:
            assert "cursor" in data, data
            self.events.append(data)
        return data

    async def read_until(self, match: Match, count: int, timeout: float = 15.0) -> list[Event]:
        start = len(self.events)
        stop = time.monotonic() + timeout
        while sum(1 for e in self.events[start:] if match(e)) < count:
            remaining = stop - time.monotonic()
            assert remaining > 0, f"WebSocket: not {count} matches in {self.events[start:]!r}"
            await self._next(remaining)
        return self.events[start:]

    async def read_for(self, seconds: float) -> list[Event]:
        start = len(self.events)
        stop = time.monotonic() + seconds
        while (remaining := stop - time.monotonic()) > 0:
            try:
                await self._next(remaining)
            except TimeoutError:
                break
        return self.events[start:]

    async def command(self, command: Event | str, timeout: float = 10.0) -> Event:
        """Send a command; its reply (events read meanwhile are kept)."""
        start = len(self.replies)
        if isinstance(command, str):
            await self.ws.send_str(command)
        else:
            await self.ws.send_json(command)
        stop = time.monotonic() + timeout
        while len(self.replies) == start:
            remaining = stop - time.monotonic()
            assert remaining > 0, f"no reply to {command!r}"
            await self._next(remaining)
        (reply,) = self.replies[start:]
        return reply

    async def close(self) -> None:
        await self.ws.close()


async def open_ws(client: ApiClient, after: str | None = None, **kw: Any) -> WsStream:
    params = {} if after is None else {"after": after}
    ws = await client.session.ws_connect(client.url("/api/ws"), params=params, **kw)
    message = await ws.receive(10)
    assert message.type == aiohttp.WSMsgType.TEXT, message
    hello = json.loads(message.data)
    assert set(hello) == {"kind", "cursor"} and hello["kind"] == "hello", hello
    return WsStream(ws, hello)


# --- a user in a channel on ngIRCd, and a plain client there -------------------------------


def find_target(state: dict[str, Any], nid: int, name: str) -> dict[str, Any] | None:
    for network in state["networks"]:
        if network["id"] == nid:
            for target in network["targets"]:
                if target["name"].lower() == name.lower():
                    return dict(target)
    return None


async def wait_joined(client: ApiClient, nid: int, channel: str, *nicks: str) -> dict[str, Any]:
    """The channel, once the user's network is in it with all ``nicks``."""

    async def check() -> dict[str, Any] | None:
        _s, state = await client.get("/api/state")
        target = find_target(state, nid, channel)
        members = {m["nick"] for m in target["members"]} if target else set()
        if target and target["joined"] and set(nicks) <= members:
            return target
        return None

    found: dict[str, Any] = await eventually(check)
    return found


async def add_network(client: ApiClient, ngircd: Any, nick: str, channel: str) -> int:
    status, created = await client.post(
        "/api/networks", network_body(ngircd.host, ngircd.port, nick, channels=[{"name": channel}])
    )
    assert status == 201, created
    nid = int(created["id"])
    await wait_joined(client, nid, channel, nick)
    return nid


async def plain_in(ngircd: Any, nick: str, channel: str) -> IRCClient:
    plain = await IRCClient.connect(ngircd.host, ngircd.port)
    await plain.register(nick)
    await plain.send(f"JOIN {channel}")
    await plain.expect("366")
    return plain


@dataclass
class Room:
    """A logged-in user with a network in ``channel``, and ``plain`` in it too."""

    world: ApiWorld
    user: ApiClient
    nid: int
    channel: str
    nick: str  # the user's nick on IRC
    plain: IRCClient

    async def say(self, *lines: str) -> None:
        for line in lines:
            await self.plain.send(f"PRIVMSG {self.channel} :{line}")

    def said(self) -> Match:
        return said(self.channel, str(self.plain.nick))

    async def latest(self) -> str:
        _s, state = await self.user.get("/api/state")
        return str(state["cursor"])


async def make_room(world: ApiWorld, ngircd: Any, name: str, tag: str) -> Room:
    user = await world.user(name)
    channel, nick = f"#tr{tag}", f"web{tag}"
    # ngIRCd takes about a second to register a client: both at once
    nid, plain = await asyncio.gather(
        add_network(user, ngircd, nick, channel), plain_in(ngircd, f"sock{tag}", channel)
    )
    await wait_joined(user, nid, channel, nick, f"sock{tag}")
    return Room(world, user, nid, channel, nick, plain)
