"""Public (gateway) mode: anonymous visitors get a guest account for the
life of their browser session, like qwebirc or Kiwi on a network's website.

``POST /api/guest`` starts one (or answers with the one the browser already
has). Everything a guest has — networks, scrollback, markers — lives in the
in-memory database of a public server, restricted to the allowed servers, and
is removed when the guest has had no subscriber (poll, stream or socket) and
no request for ``idle_timeout`` seconds."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time

from aiohttp import web

from backchannel.session.limits import LimitExceeded
from backchannel.store.accounts import Accounts
from backchannel.store.web_sessions import WebSessions
from backchannel.web.auth import current_user, start_session
from backchannel.web.errors import ApiError
from backchannel.web.keys import DATABASE, HUB, LIMITS, RUNTIMES, SETTINGS
from backchannel.web.limits import client_address, limit_error

__all__ = ["add_guest_routes", "reap_idle_guests"]

log = logging.getLogger(__name__)


async def start_guest(request: web.Request) -> web.StreamResponse:
    if not request.app[SETTINGS].public:
        raise ApiError(404, "not_found", "guest sessions exist only in public mode")
    user = await current_user(request)
    if user is not None:
        return web.json_response({"user": user.as_json()})
    quota = request.app[LIMITS].public_sessions
    address = client_address(request)
    try:
        quota.check(address)  # guests (and anonymous seed sessions) per address
    except LimitExceeded as exc:
        raise limit_error(exc) from None
    accounts = Accounts(request.app[DATABASE])
    name = f"guest-{secrets.token_hex(4)}"
    guest = await accounts.create_user(name, secrets.token_urlsafe(24))
    quota.add(address, ("guest", guest.id))
    response = web.json_response({"user": {"id": guest.id, "name": guest.name}}, status=201)
    await start_session(request, response, guest)
    return response


async def reap_idle_guests(app: web.Application, now: float | None = None) -> int:
    """Remove guests idle for longer than ``idle_timeout``; returns how many."""
    idle_timeout = app[SETTINGS].idle_timeout
    now = time.time() if now is None else now
    accounts = Accounts(app[DATABASE])
    sessions = WebSessions(app[DATABASE])
    removed = 0
    for user in await accounts.list_users():
        hub = await app[HUB].for_user(user.id)
        if hub.subscribers:
            continue
        last = max((s.last_seen for s in await sessions.list(user.id)), default=user.created_at)
        if now - last <= idle_timeout:
            continue
        await app[RUNTIMES].remove_user(user.id)
        await accounts.remove_user(user.name)
        app[HUB].drop(user.id)
        app[LIMITS].public_sessions.discard(("guest", user.id))
        removed += 1
    if removed:
        log.info("removed %d idle guest(s)", removed)
    return removed


async def reap_forever(app: web.Application) -> None:
    every = max(1.0, min(30.0, app[SETTINGS].idle_timeout / 4))
    while True:
        await asyncio.sleep(every)
        try:
            await reap_idle_guests(app)
        except Exception:
            log.exception("removing idle guests failed")


def add_guest_routes(app: web.Application) -> None:
    app.router.add_post("/api/guest", start_guest)
