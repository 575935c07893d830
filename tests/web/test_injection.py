"""CR, LF or NUL in any field that reaches IRC is refused and never sent
(issue 7): network settings (created or changed), the commands of the REST
routes and of the WebSocket, and lines pushed through the seed API.

The user's network is connected to a scripted server that records every line
it reads (:mod:`tests.support.fakeircd`), so "nothing was sent" is checked on
the wire: after each refused request, a marker line is sent through the API
and it must be the very next line the server reads. A message's ``text`` is
the one field whose line breaks are allowed (documented: each line is a
message of its own); those are checked to arrive as separate PRIVMSGs, never
as a command of their own.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest

from tests.support.fakeircd import FakeClient, FakeIrcServer
from tests.support.ircclient import Message
from tests.web.api_helpers import ApiClient, ApiWorld, make_world
from tests.web.transport_helpers import open_ws

__all__ = ["make_world"]

BAD = {"CR": "\r", "LF": "\n", "NUL": "\0"}
NICK = "inj"


@dataclass
class Room:
    """A logged-in user whose network is registered on a fake server."""

    world: ApiWorld
    user: ApiClient
    fake: FakeIrcServer
    irc: FakeClient  # the server's end of the user's connection
    nid: int
    _marks: itertools.count[int]

    async def mark(self) -> None:
        """Send a marker through the API: it must be the next line the server
        reads, so nothing else was sent since the previous one."""
        token = f"mark{next(self._marks)}"
        status, body = await self.user.post(
            f"/api/networks/{self.nid}/send", {"raw": f"PING :{token}"}
        )
        assert status == 200, body
        line = await self.irc.readline()
        assert line == f"PING :{token}", f"the server read {line!r} before the marker"

    async def no_new_connection(self) -> None:
        with pytest.raises(TimeoutError):
            await self.fake.accept(timeout=0.3)


@pytest.fixture
async def room(make_world: Callable[..., Any]) -> AsyncIterator[Room]:
    async with FakeIrcServer() as fake:
        world: ApiWorld = await make_world(allowed_servers=[f"127.0.0.1:{fake.port}"])
        user = await world.user("alice")
        status, created = await user.post(
            "/api/networks",
            {"name": "fake", "host": "127.0.0.1", "port": fake.port, "nick": NICK,
             "channels": [{"name": "#c", "key": "k"}]},
        )
        assert status == 201, created
        irc = await fake.accept()
        await irc.register(NICK)
        await irc.expect("JOIN #c k")
        room = Room(world, user, fake, irc, int(created["id"]), itertools.count())
        # whatever the engine sends on its own after registering comes before this
        token = "settled"
        await user.post(f"/api/networks/{room.nid}/send", {"raw": f"PING :{token}"})
        await irc.expect(f"PING :{token}")
        yield room


def _refused(status: int, body: Any, code: str, field: str) -> None:
    assert isinstance(body, dict) and "error" in body, (status, body)
    assert (status, body["error"]["code"]) == (422 if code == "invalid" else 400, code), body
    assert field in body["error"]["message"], body  # the message names the field


# --- network settings --------------------------------------------------------------------

#: (the field as the error names it, the settings that carry a bad character ``s`` in it)
FIELDS: list[tuple[str, Callable[[str], dict[str, Any]]]] = [
    ("nick", lambda s: {"nick": f"ni{s}QUIT"}),
    ("alt_nicks.0", lambda s: {"alt_nicks": [f"alt{s}QUIT"]}),
    ("username", lambda s: {"username": f"us{s}QUIT"}),
    ("realname", lambda s: {"realname": f"Real Name{s}QUIT :x"}),
    ("password", lambda s: {"password": f"pw{s}QUIT :x"}),
    ("sasl.account", lambda s: {"sasl": {"mechanism": "PLAIN", "account": f"a{s}QUIT",
                                         "password": "secret"}}),
    ("sasl.password", lambda s: {"sasl": {"mechanism": "PLAIN", "account": "acc",
                                          "password": f"pw{s}QUIT"}}),
    ("channels.0.name", lambda s: {"channels": [{"name": f"#d{s}QUIT"}]}),
    ("channels.0.key", lambda s: {"channels": [{"name": "#d", "key": f"k{s}QUIT"}]}),
    ("auto_commands.0", lambda s: {"auto_commands": [f"PRIVMSG #c :a{s}QUIT :x"]}),
]
FIELD_IDS = [name for name, _ in FIELDS]


@pytest.mark.parametrize(("field", "settings"), FIELDS, ids=FIELD_IDS)
async def test_a_new_network_with_a_bad_field_is_refused(room: Room, field, settings) -> None:
    for char in BAD.values():
        body = {"name": "other", "host": "127.0.0.1", "port": room.fake.port, "nick": "other",
                **settings(char)}
        status, answer = await room.user.post("/api/networks", body)
        _refused(status, answer, "invalid", field)
    _s, listed = await room.user.get("/api/networks")
    assert [n["id"] for n in listed["networks"]] == [room.nid]  # nothing was stored
    await room.no_new_connection()  # nor connected
    await room.mark()


@pytest.mark.parametrize(("field", "settings"), FIELDS, ids=FIELD_IDS)
async def test_a_change_with_a_bad_field_is_refused(room: Room, field, settings) -> None:
    path = f"/api/networks/{room.nid}"
    _s, before = await room.user.get(path)
    for char in BAD.values():
        status, answer = await room.user.request("PATCH", path, settings(char))
        _refused(status, answer, "invalid", field)
    _s, after = await room.user.get(path)
    assert after == before  # nothing was stored
    await room.no_new_connection()  # no reconnection with the bad settings
    await room.mark()


# --- commands, over REST and the WebSocket ------------------------------------------------

#: (route and WebSocket command type, the body with ``s`` in one field, error code,
#:  the field named in the error, the bad characters tried)
COMMANDS: list[tuple[str, Callable[[str], dict[str, Any]], str, str, str]] = [
    ("send", lambda s: {"target": f"#c{s}QUIT", "text": "hi"}, "invalid", "target", "\r\n\0"),
    ("send", lambda s: {"target": "#c", "text": f"hi{s}QUIT"}, "invalid", "text", "\0"),
    ("send", lambda s: {"target": "#c", "text": f"hi{s}", "notice": True}, "invalid", "text",
     "\0"),
    ("send", lambda s: {"raw": f"PRIVMSG #c :hi{s}QUIT :x"}, "bad_line", "raw", "\r\n\0"),
    ("send", lambda s: {"raw": f"TOPIC #c :new topic{s}QUIT"}, "bad_line", "raw", "\r\n\0"),
    ("send", lambda s: {"raw": f"AWAY :gone{s}QUIT"}, "bad_line", "raw", "\r\n\0"),
    ("send", lambda s: {"raw": f"NICK other{s}QUIT"}, "bad_line", "raw", "\r\n\0"),
    ("send", lambda s: {"raw": f"PRIVMSG #c :trailing{s}"}, "bad_line", "raw", "\r\n\0"),
    ("join", lambda s: {"channel": f"#d{s}QUIT"}, "invalid", "channel", "\r\n\0"),
    ("join", lambda s: {"channel": "#d", "key": f"k{s}QUIT"}, "invalid", "key", "\r\n\0"),
    ("part", lambda s: {"channel": f"#c{s}QUIT"}, "invalid", "channel", "\r\n\0"),
    ("part", lambda s: {"channel": "#c", "reason": f"bye{s}QUIT"}, "invalid", "reason",
     "\r\n\0"),
    ("query", lambda s: {"nick": f"bob{s}QUIT"}, "invalid", "nick", "\r\n\0"),
]
COMMAND_IDS = [
    f"{route}-{field}-{'-'.join(str(v) for v in body('').values())[:24]}"
    for route, body, _code, field, _chars in COMMANDS
]


def _ws_command(route: str, body: dict[str, Any], nid: int, n: int) -> dict[str, Any]:
    if "raw" in body:  # the WebSocket's own raw command: {"type": "raw", "line": ...}
        return {"id": n, "type": "raw", "network": nid, "line": body["raw"]}
    return {"id": n, "type": route, "network": nid, **body}


@pytest.mark.parametrize(("route", "body", "code", "field", "chars"), COMMANDS, ids=COMMAND_IDS)
async def test_a_rest_command_with_a_bad_field_is_refused(
    room: Room, route, body, code, field, chars
) -> None:
    for char in chars:
        status, answer = await room.user.post(f"/api/networks/{room.nid}/{route}", body(char))
        _refused(status, answer, code, field)
    await room.mark()
    _s, network = await room.user.get(f"/api/networks/{room.nid}")
    assert [c["name"] for c in network["channels"]] == ["#c"]  # nothing stored either


@pytest.mark.parametrize(("route", "body", "code", "field", "chars"), COMMANDS, ids=COMMAND_IDS)
async def test_a_websocket_command_with_a_bad_field_is_refused(
    room: Room, route, body, code, field, chars
) -> None:
    ws = await open_ws(room.user)
    try:
        for n, char in enumerate(chars):
            command = _ws_command(route, body(char), room.nid, n)
            reply = await ws.command(command)
            assert (reply["reply_to"], reply["ok"], reply["error"]) == (n, False, code), reply
            assert field in reply["message"] or (field == "raw" and "raw line" in reply["message"])
        await room.mark()
        reply = await ws.command(
            {"id": "after", "type": "raw", "network": room.nid, "line": "PING :ws-after"}
        )
        assert reply["ok"] is True, reply  # the socket is still usable
        assert await room.irc.readline() == "PING :ws-after"
    finally:
        await ws.close()


@pytest.mark.parametrize("transport", ["rest", "ws"])
async def test_line_breaks_in_a_message_text_only_make_separate_messages(
    room: Room, transport: str
) -> None:
    """The documented exception: each line of a text is a PRIVMSG of its own,
    so what follows a line break is text to the target, never a command."""
    text = "hi\r\nQUIT :pwned\rNICK evil\nJOIN 0"
    if transport == "rest":
        status, answer = await room.user.post(
            f"/api/networks/{room.nid}/send", {"target": "#c", "text": text}
        )
        assert (status, answer) == (200, {"ok": True, "lines": 4}), answer
    else:
        ws = await open_ws(room.user)
        try:
            reply = await ws.command(
                {"id": 1, "type": "send", "network": room.nid, "target": "#c", "text": text}
            )
            assert reply["ok"] is True and reply["result"]["lines"] == 4, reply
        finally:
            await ws.close()
    got = [Message(await room.irc.readline()) for _ in range(4)]
    assert [(m.command, m.params) for m in got] == [
        ("PRIVMSG", ["#c", "hi"]), ("PRIVMSG", ["#c", "QUIT :pwned"]),
        ("PRIVMSG", ["#c", "NICK evil"]), ("PRIVMSG", ["#c", "JOIN 0"]),
    ], got
    await room.mark()


# --- the seed API -----------------------------------------------------------------------


async def _seed_connection(room: Room) -> tuple[str, FakeClient]:
    """A seed-API relay connection of the user's browser to the fake server."""
    user = room.user
    async with user.session.get(user.url(f"/irc/connect/127.0.0.1:{room.fake.port}")) as resp:
        assert resp.status == 200, await resp.text()
        conn_id = await resp.text()
    relay = await room.fake.accept()
    async with asyncio.timeout(10):
        while True:
            async with user.session.get(user.url(f"/irc/pull/{conn_id}")) as resp:
                if any(e[1] == "CONNECTED" for e in await resp.json()):
                    break
    return conn_id, relay


@pytest.mark.parametrize("char", BAD.values(), ids=BAD.keys())
async def test_a_pushed_seed_line_with_a_bad_character_is_refused(room: Room, char) -> None:
    """The seed protocol answers an error as the triple ``["", "ERROR", reason]``
    (HTTP 200, as the seed did): the reason says why, and nothing is sent."""
    conn_id, relay = await _seed_connection(room)
    user = room.user
    for line in (f"PRIVMSG #c :hi{char}QUIT :x", f"TOPIC #c :t{char}QUIT", f"AWAY :a{char}x"):
        async with user.session.post(user.url(f"/irc/push/{conn_id}"), data=line.encode()) as r:
            answer = await r.json(content_type=None)
        assert answer[:2] == ["", "ERROR"] and "CR, LF or NUL" in answer[2], answer
    async with user.session.post(user.url(f"/irc/push/{conn_id}"), data=b"PING :after") as r:
        assert await r.json(content_type=None) == ["", "PUSH_OK", ""]
    assert await relay.readline() == "PING :after"  # nothing else reached the server
    await room.mark()


# --- WebSocket input limits ------------------------------------------------------------------


async def test_websocket_json_nested_too_deep_is_refused_and_the_socket_stays(room: Room) -> None:
    """Deeper than 64 levels is refused before parsing, as an HTTP body is
    (400 ``too_deep`` there): a reply says so and the socket stays usable."""
    ws = await open_ws(room.user)
    try:
        for deep in ("[" * 65 + "]" * 65, "[" * 100_000 + "]" * 100_000,
                     '{"id": 1, "type": "send", "x": ' + "[" * 64 + "]" * 64 + "}"):
            reply = await ws.command(deep)
            assert reply["ok"] is False and reply["error"] == "too_deep", reply
            assert "64" in reply["message"], reply
        # 64 levels are parsed (and this command is refused for its unknown field)
        nested = "[" * 63 + "]" * 63
        command = f'{{"id": 2, "type": "send", "network": {room.nid}, "x": {nested}}}'
        reply = await ws.command(command)
        assert (reply["reply_to"], reply["error"]) == (2, "invalid"), reply
        reply = await ws.command(
            {"id": 3, "type": "raw", "network": room.nid, "line": "PING :still-here"}
        )
        assert reply["ok"] is True, reply
        assert await room.irc.readline() == "PING :still-here"
    finally:
        await ws.close()


@pytest.mark.parametrize("compress", [0, 15], ids=["plain", "deflate"])
async def test_a_websocket_message_over_1_mib_closes_the_socket_with_1009(
    room: Room, compress: int
) -> None:
    """With ``deflate`` the frame on the wire is small: the limit holds for the
    message once inflated."""
    ws = await open_ws(room.user, compress=compress)
    try:
        # just under the limit: read, answered (the text is too long for a command)
        under = {"id": 1, "type": "send", "network": room.nid, "target": "#c",
                 "text": "x" * (1024 * 1024 - 1024)}
        reply = await ws.command(under)
        assert (reply["reply_to"], reply["error"]) == (1, "invalid"), reply
        over = '{"id": 2, "type": "send", "text": "' + "x" * (1024 * 1024) + '"}'
        await ws.ws.send_str(over)
        message = await ws.ws.receive(10)
        while message.type == aiohttp.WSMsgType.TEXT:  # (an event pushed meanwhile)
            message = await ws.ws.receive(10)
        assert message.type == aiohttp.WSMsgType.CLOSE, message
        assert message.data == aiohttp.WSCloseCode.MESSAGE_TOO_BIG == 1009
    finally:
        await ws.close()
    # the server still serves this user: the API, a new socket, IRC
    status, _state = await room.user.get("/api/state")
    assert status == 200
    again = await open_ws(room.user)
    try:
        reply = await again.command(
            {"id": 3, "type": "raw", "network": room.nid, "line": "PING :new-socket"}
        )
        assert reply["ok"] is True, reply
        assert await room.irc.readline() == "PING :new-socket"
    finally:
        await again.close()
