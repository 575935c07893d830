"""The v1 event transports: long-poll (``/api/events``) and Server-Sent Events
(``/api/events/stream``). Both resume from a cursor with no gap and no
duplicate: the bus serves recent events from memory and older ones from the
store."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web

from backchannel.bus.hub import UserHub
from backchannel.web.api_models import parse_cursor
from backchannel.web.auth import require_user
from backchannel.web.errors import ApiError
from backchannel.web.keys import HUB, SETTINGS
from backchannel.web.limits import stream_slot
from backchannel.web.streams import STREAMS

__all__ = ["PAGE", "add_event_routes", "cursor_or"]

PAGE = 1000
SSE_KEEPALIVE = 15.0


def cursor_or(text: str | None, default: int) -> int:
    cursor = parse_cursor(text)
    return default if cursor is None else cursor


async def _hub(request: web.Request) -> tuple[int, UserHub]:
    user = await require_user(request)
    return user.id, await request.app[HUB].for_user(user.id)


def _events_body(events: list[str], cursor: int) -> str:
    return '{"events":[' + ",".join(events) + '],"cursor":"' + str(cursor) + '"}'


async def events_poll(request: web.Request) -> web.StreamResponse:
    """Everything after ``after`` at once (paged), else wait up to ``timeout``."""
    user_id, hub = await _hub(request)
    after = cursor_or(request.query.get("after"), hub.latest)
    poll_timeout = request.app[SETTINGS].poll_timeout
    try:
        timeout = float(request.query.get("timeout", poll_timeout))
    except ValueError:
        raise ApiError(400, "bad_timeout", "timeout must be a number of seconds") from None
    timeout = max(0.0, min(timeout, poll_timeout))
    # (a graceful shutdown cancels a waiting poll: the client asks again elsewhere)
    with stream_slot(request, user_id), hub.subscribed(), request.app[STREAMS].stream():
        if hub.latest <= after:
            await hub.wait(after, timeout)
        events = await hub.read(after, PAGE)
    cursor = events[-1].cursor if events else after
    return web.Response(
        text=_events_body([e.data_json for e in events], cursor),
        content_type="application/json",
    )


async def events_stream(request: web.Request) -> web.StreamResponse:
    """SSE: one event per message, its cursor as the SSE id; ``Last-Event-ID``
    (sent by a reconnecting browser) wins over ``after``."""
    user_id, hub = await _hub(request)
    after = cursor_or(
        request.headers.get("Last-Event-ID") or request.query.get("after"), hub.latest
    )
    with stream_slot(request, user_id):
        return await _stream(request, hub, after)


async def _stream(request: web.Request, hub: UserHub, after: int) -> web.StreamResponse:
    response = web.StreamResponse(
        headers={
            "Content-Type": "text/event-stream",
            "Cache-Control": "no-cache",
            "X-Accel-Buffering": "no",  # tell nginx not to buffer
        }
    )
    await response.prepare(request)
    await response.write(f"retry: 2000\n: cursor {after}\n\n".encode())
    streams = request.app[STREAMS]
    with (
        contextlib.suppress(ConnectionResetError, asyncio.CancelledError),
        hub.subscribed(),
        streams.stream(),
    ):
        while True:
            events = await hub.read(after, PAGE)
            if events:
                chunk = "".join(f"id: {e.cursor}\ndata: {e.data_json}\n\n" for e in events)
                await response.write(chunk.encode())
                after = events[-1].cursor
                continue
            if not await hub.wait(after, SSE_KEEPALIVE):
                await response.write(b": keepalive\n\n")
    return response


def add_event_routes(app: web.Application) -> None:
    app.router.add_get("/api/events", events_poll)
    app.router.add_get("/api/events/stream", events_stream)
