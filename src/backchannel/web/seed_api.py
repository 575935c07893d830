"""The seed's comet API, kept exactly: ``/irc/connect``, ``/irc/push``, ``/irc/pull``.

Answers are JSON triples ``[prefix, command, params]`` (pull: a list of them);
an unknown or foreign id is ``["", "ERROR", "Invalid connection id."]`` with
HTTP 200 from push and pull alike.
"""

from __future__ import annotations

import asyncio
import json

from aiohttp import web

from backchannel.irc.relay import CLOSED, RelayConnection
from backchannel.irc.targets import TargetError, parse_server
from backchannel.session.gateway import GatewaySession, GatewaySessions, LimitError
from backchannel.session.limits import LimitExceeded
from backchannel.settings import Settings
from backchannel.web.auth import current_user
from backchannel.web.keys import GATEWAY, LIMITS, SETTINGS
from backchannel.web.limits import client_address
from backchannel.web.security import is_cross_site
from backchannel.web.streams import STREAMS

__all__ = ["SESSION_COOKIE", "add_seed_routes"]

SESSION_COOKIE = "bc_session"
INVALID_ID = ["", "ERROR", "Invalid connection id."]


def _triple(command: str, text: str, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(["", command, text], ensure_ascii=False),
        status=status,
        content_type="application/json",
    )


def _error(text: str, status: int = 200) -> web.Response:
    return _triple("ERROR", text, status)


async def _owner(request: web.Request) -> int | None:
    """The logged-in user, or None for an anonymous visitor in public mode.
    In private mode the seed API is for logged-in users: raises a 401."""
    user = await current_user(request)
    if user is not None:
        return user.id
    if request.app[SETTINGS].public:
        return None
    raise web.HTTPUnauthorized(
        text=json.dumps(["", "ERROR", "Log in first."]), content_type="application/json"
    )


async def _session(request: web.Request) -> GatewaySession | None:
    owner = await _owner(request)
    session = request.app[GATEWAY].get(request.cookies.get(SESSION_COOKIE))
    # a browser shared by two accounts: one never sees the other's connections
    return session if session is not None and session.owner == owner else None


def _set_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )


async def connect(request: web.Request) -> web.StreamResponse:
    if is_cross_site(request):
        return _error("Cross-site request refused.", 403)
    gateway: GatewaySessions = request.app[GATEWAY]
    try:
        spec = parse_server(request.match_info["server"])
    except TargetError as exc:
        return _error(str(exc), 403)
    session = await _session(request)
    new_session = session is None
    if session is None:
        try:
            session = gateway.create(await _owner(request), client_address(request))
        except LimitExceeded as exc:
            return _error(exc.message, 429)
    try:
        conn_id = await gateway.connect(session, spec)
    except (TargetError, LimitError) as exc:
        if new_session:
            gateway.forget(session)  # it never had a connection nor a cookie
        return _error(str(exc), 403)
    response = web.Response(text=conn_id, content_type="text/plain")
    if new_session:
        _set_cookie(request, response, session.token)
    return response


def _limit_key(session: GatewaySession) -> object:
    """Whose lines and streams a seed request counts as: the logged-in
    user's (shared with the v1 API), else the anonymous session's own."""
    return session.owner if session.owner is not None else ("seed", session.token)


async def _connection(request: web.Request) -> tuple[GatewaySession, RelayConnection] | None:
    session = await _session(request)
    if session is None:
        return None
    conn = session.get(request.match_info["id"])
    return None if conn is None else (session, conn)


async def push(request: web.Request) -> web.StreamResponse:
    if is_cross_site(request):
        return _error("Cross-site request refused.", 403)
    body = await request.read()  # first, so an oversized body is a 413 whatever the id
    found = await _connection(request)
    if found is None:
        return web.json_response(INVALID_ID)
    session, conn = found
    request.app[GATEWAY].touch(session)
    lines = request.app[LIMITS].lines
    try:
        lines.check(_limit_key(session))
    except LimitExceeded as exc:
        return _error(exc.message, 429)
    try:
        await conn.push(body)
    except ValueError as exc:
        return _error(str(exc))
    lines.charge(_limit_key(session), 1)
    return _triple("PUSH_OK", "")


async def pull(request: web.Request) -> web.StreamResponse:
    found = await _connection(request)
    if found is None:
        return web.json_response(INVALID_ID)
    session, conn = found
    streams = request.app[LIMITS].streams
    key, address = _limit_key(session), client_address(request)
    try:
        streams.check(key, address)
    except LimitExceeded as exc:
        return _error(exc.message, 429)
    with streams.hold(key, address), request.app[STREAMS].stream():
        return await _wait_and_take(request, session, conn)


async def _wait_and_take(
    request: web.Request, session: GatewaySession, conn: RelayConnection
) -> web.StreamResponse:
    gateway: GatewaySessions = request.app[GATEWAY]
    timeout = request.app[SETTINGS].poll_timeout
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    session.active_pulls += 1
    gateway.touch(session)
    try:
        while True:
            if conn.queued:
                transport = request.transport
                if transport is None or transport.is_closing():
                    # the browser left while we waited: keep the events for its next pull
                    return web.Response(status=204)
                events = conn.take()
                break
            if conn.state == CLOSED:
                return web.json_response([["", "ERROR", conn.close_reason]])
            remaining = deadline - loop.time()
            if remaining <= 0:
                events = []
                break
            await conn.wait_readable(remaining)
    finally:
        session.active_pulls -= 1
        gateway.touch(session)
    return web.Response(text="[" + ",".join(events) + "]", content_type="application/json")


def add_seed_routes(app: web.Application, settings: Settings) -> None:
    app.router.add_get("/irc/connect/{server:[^/]+}", connect)
    app.router.add_post("/irc/push/{id}", push)
    app.router.add_get("/irc/pull/{id}", pull)
