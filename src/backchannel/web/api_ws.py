"""The WebSocket transport (``/api/ws?after=CURSOR``): the user's events
pushed as JSON, one per message, each with its cursor; commands accepted on
the same socket and answered ``{"reply_to": id, "ok": ...}``.

The handshake is refused when it comes from another site (browsers always
send ``Origin`` on WebSocket handshakes, and cookies ride along, so this is
the CSRF defence here)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from backchannel.bus.hub import UserHub
from backchannel.web.api_commands import CommandFailed, run_command
from backchannel.web.api_events import PAGE, cursor_or
from backchannel.web.auth import AuthedUser, require_user
from backchannel.web.errors import ApiError
from backchannel.web.keys import HUB
from backchannel.web.security import is_cross_site

__all__ = ["add_ws_routes"]

log = logging.getLogger(__name__)

MAX_MESSAGE = 1024 * 1024
HEARTBEAT = 30.0


async def _pump(ws: web.WebSocketResponse, hub: UserHub, after: int) -> None:
    """Send every event after ``after`` as it is stored; a slow socket only
    falls behind (it reads from the store), it never holds anyone up."""
    while not ws.closed:
        events = await hub.read(after, PAGE)
        if not events:
            await hub.wait(after, HEARTBEAT)
            continue
        for event in events:
            await ws.send_str(event.data_json)
        after = events[-1].cursor


async def _commands(request: web.Request, ws: web.WebSocketResponse, user: AuthedUser) -> None:
    async for message in ws:
        if message.type != WSMsgType.TEXT:
            if message.type == WSMsgType.BINARY:
                await ws.send_json({"ok": False, "error": "binary messages are not accepted"})
            continue
        reply: dict[str, Any]
        try:
            command = json.loads(message.data)
            if not isinstance(command, dict):
                raise CommandFailed("bad_command", "a command is a JSON object")
            reply = {"reply_to": command.get("id"), "ok": True}
            reply.update(await run_command(request.app, user, command))
        except json.JSONDecodeError:
            reply = {"reply_to": None, "ok": False, "error": "bad_json"}
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
    ws = web.WebSocketResponse(heartbeat=HEARTBEAT, max_msg_size=MAX_MESSAGE)
    await ws.prepare(request)
    await ws.send_json({"kind": "hello", "cursor": str(after)})
    pump = asyncio.create_task(_pump(ws, hub, after), name=f"ws pump {user.id}")
    try:
        with hub.subscribed():
            await _commands(request, ws, user)
    finally:
        pump.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionResetError):
            await pump
    return ws


def add_ws_routes(app: web.Application) -> None:
    app.router.add_get("/api/ws", websocket)
