"""The WebSocket transport (``/api/ws?after=CURSOR``): the user's events
pushed as JSON, one per message, each with its cursor; commands accepted on
the same socket and answered ``{"reply_to": id, "ok": ...}``.

The handshake is refused when it comes from another site (browsers always
send ``Origin`` on WebSocket handshakes, and cookies ride along, so this is
the CSRF defence here)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from typing import Any

from aiohttp import WSMsgType, web

from backchannel.bus.hub import UserHub
from backchannel.web.api_commands import CommandFailed, run_command
from backchannel.web.api_events import PAGE, cursor_or
from backchannel.web.auth import AuthedUser, require_user
from backchannel.web.errors import ApiError, parse_json
from backchannel.web.keys import HUB, SETTINGS
from backchannel.web.limits import stream_slot
from backchannel.web.security import is_cross_site
from backchannel.web.streams import STREAMS

__all__ = ["add_ws_routes"]

log = logging.getLogger(__name__)

HEARTBEAT = 30.0
SEND_BUFFER = 256 * 1024  # bytes buffered for a socket before the pump waits for it
DRAIN_POLL = 0.01


def _text_frames(texts: list[str]) -> bytes:
    """Unmasked, uncompressed WebSocket text frames (RFC 6455 5.2), one per text."""
    out = bytearray()
    for text in texts:
        payload = text.encode("utf-8")
        length = len(payload)
        if length < 126:
            out += _SHORT(0x81, length)
        elif length < 65536:
            out += _MEDIUM(0x81, 126, length)
        else:
            out += _LONG(0x81, 127, length)
        out += payload
    return bytes(out)


_SHORT = struct.Struct("!BB").pack
_MEDIUM = struct.Struct("!BBH").pack
_LONG = struct.Struct("!BBQ").pack


async def _pump(ws: web.WebSocketResponse, hub: UserHub, after: int, request: web.Request) -> None:
    """Send every event after ``after`` as it is stored; a slow socket only
    falls behind (it reads from the store), it never holds anyone up.

    Without compression, a page of events (one event per message) goes to the
    socket in one write rather than one write (and system call) per message."""
    transport = request.transport
    while not ws.closed:
        events = await hub.read(after, PAGE)
        if not events:
            await hub.wait(after, HEARTBEAT)
            continue
        if ws.compress or transport is None:
            for event in events:
                await ws.send_str(event.data_json)
        else:
            if transport.is_closing():
                return
            transport.write(_text_frames([event.data_json for event in events]))
            while transport.get_write_buffer_size() > SEND_BUFFER and not transport.is_closing():
                await asyncio.sleep(DRAIN_POLL)  # a slow reader: wait for its socket
        after = events[-1].cursor


async def _commands(request: web.Request, ws: web.WebSocketResponse, user: AuthedUser) -> None:
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            if message.type == WSMsgType.BINARY:
                await ws.send_json({"ok": False, "error": "binary messages are not accepted"})
            continue
        reply: dict[str, Any]
        command: object = None
        try:
            # as an HTTP body is: too deep is refused before the parser sees it
            command = parse_json(message.data.encode("utf-8", "surrogatepass"))
            if not isinstance(command, dict):
                raise CommandFailed("bad_command", "a command is a JSON object")
            reply = {"reply_to": command.get("id"), "ok": True}
            reply.update(await run_command(request.app, user, command))
        except ApiError as exc:
            reply_to = command.get("id") if isinstance(command, dict) else None
            reply = {"reply_to": reply_to, "ok": False, "error": exc.code}
            if exc.code != "bad_json":  # (bad_json's reply has always been just the code)
                reply["message"] = exc.message
        except CommandFailed as exc:
            reply = {
                "reply_to": command.get("id") if isinstance(command, dict) else None,
                "ok": False,
                "error": exc.code,
                "message": exc.message,
            }
        await ws.send_json(reply)


async def websocket(request: web.Request) -> web.StreamResponse:
    if is_cross_site(request):
        raise ApiError(403, "cross_site", "cross-site WebSocket handshake refused")
    user = await require_user(request)
    hub = await request.app[HUB].for_user(user.id)
    after = cursor_or(request.query.get("after"), hub.latest)
    with stream_slot(request, user.id):  # a 429 before the upgrade when none is free
        max_size = request.app[SETTINGS].max_ws_message_bytes
        ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=max_size)
        await ws.prepare(request)
        await ws.send_json({"kind": "hello", "cursor": str(after)})
        pump = asyncio.create_task(_pump(ws, hub, after, request), name=f"ws pump {user.id}")
        try:
            with hub.subscribed(), request.app[STREAMS].socket(ws):
                await _commands(request, ws, user)
        finally:
            pump.cancel()
            with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
                await pump
    return ws


def add_ws_routes(app: web.Application) -> None:
    app.router.add_get("/api/ws", websocket)
