"""Logging in and out, the user's login sessions, and the failed-login limiter.

Routes (all answers JSON; errors are ``{"error": {"code", "message"}}``):

- ``POST /api/login`` ``{"username", "password"}`` → ``{"user": {"id", "name"}}``
  and the ``bc_auth`` cookie (HttpOnly, SameSite=Lax, Path=/, Secure over
  HTTPS). A session the browser already had is ended: ids rotate at login.
- ``POST /api/logout`` ends the session server-side and expires the cookie.
- ``GET /api/me`` → ``{"user": {"id", "name"}, "session": ID}``.
- ``GET /api/sessions`` → ``{"sessions": [{"id", "created_at", "last_seen",
  "address", "user_agent", "current"}]}`` (times ISO 8601, UTC).
- ``POST /api/sessions/revoke-others`` → ``{"revoked": N}``.
- ``DELETE /api/sessions/{id}`` → ``{"revoked": 1}`` or 404.

Other handlers call :func:`current_user` or :func:`require_user`. The client
address used by the limiter and shown in the sessions list comes from
``app[CLIENT_ADDRESS]`` (default ``request.remote``): replace it behind a
reverse proxy (or in tests) with a function that reads the trusted header.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiohttp import hdrs, web
from argon2 import PasswordHasher

from backchannel.store.accounts import Accounts, User
from backchannel.store.web_sessions import WebSession, WebSessions, public_id
from backchannel.web.api_models import LoginBody
from backchannel.web.errors import ApiError, read_json
from backchannel.web.keys import DATABASE
from backchannel.web.login_limits import LoginLimiter

__all__ = [
    "AUTH",
    "AUTH_COOKIE",
    "CLIENT_ADDRESS",
    "AuthState",
    "AuthedUser",
    "add_auth_routes",
    "current_user",
    "require_user",
    "start_session",
]

log = logging.getLogger(__name__)

AUTH_COOKIE = "bc_auth"
_COOKIE_MAX_AGE = 400 * 24 * 3600  # the browsers' cap; the server ends idle sessions sooner
_MAX_BODY = 64 * 1024

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
ClientAddress = Callable[[web.Request], str]


def default_client_address(request: web.Request) -> str:
    return request.remote or ""


@dataclass
class AuthState:
    """What the auth routes share; ``accounts`` and ``sessions`` are made from
    ``app[DATABASE]`` on first use (the database may be set after the routes)."""

    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    hasher: PasswordHasher | None = None
    _accounts: Accounts | None = None
    _sessions: WebSessions | None = None

    def accounts(self, app: web.Application) -> Accounts:
        if self._accounts is None:
            self._accounts = Accounts(app[DATABASE], hasher=self.hasher)
        return self._accounts

    def sessions(self, app: web.Application) -> WebSessions:
        if self._sessions is None:
            self._sessions = WebSessions(app[DATABASE])
        return self._sessions


AUTH = web.AppKey("auth", AuthState)
CLIENT_ADDRESS = web.AppKey[ClientAddress]("client_address")
_USER = web.RequestKey("backchannel_user", object)


@dataclass(frozen=True, slots=True)
class AuthedUser:
    id: int
    name: str
    session_id: str

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name}


# --- who is logged in --------------------------------------------------------------


def _state(request: web.Request) -> AuthState:
    return request.app[AUTH]


async def current_user(request: web.Request) -> AuthedUser | None:
    """The user of the request's ``bc_auth`` session, or None."""
    if _USER in request:
        cached = request[_USER]
        return cached if isinstance(cached, AuthedUser) else None
    found: AuthedUser | None = None
    state = _state(request)
    session = await state.sessions(request.app).lookup(request.cookies.get(AUTH_COOKIE))
    if session is not None:
        user = await state.accounts(request.app).get_user(session.user_id)
        if user is not None:
            found = AuthedUser(user.id, user.name, session.id)
    request[_USER] = found
    return found


async def require_user(request: web.Request) -> AuthedUser:
    """The logged-in user; raises a 401 :class:`ApiError` without one."""
    user = await current_user(request)
    if user is None:
        raise ApiError(401, "unauthorized", "log in first")
    return user


async def start_session(request: web.Request, response: web.StreamResponse, user: User) -> None:
    """Log ``user`` in: end the browser's previous session, start a new one and
    set its cookie on ``response``."""
    sessions = _state(request).sessions(request.app)
    old = request.cookies.get(AUTH_COOKIE)
    if old:
        await sessions.delete(old)
    token = await sessions.create(
        user.id, request.app[CLIENT_ADDRESS](request), request.headers.get(hdrs.USER_AGENT, "")
    )
    response.set_cookie(
        AUTH_COOKIE,
        token,
        max_age=_COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=request.secure,
        path="/",
    )
    request[_USER] = AuthedUser(user.id, user.name, public_id(token))


def _end_cookie(response: web.StreamResponse) -> None:
    response.del_cookie(AUTH_COOKIE, path="/")


# --- handlers ------------------------------------------------------------------


async def _is_own_browser(request: web.Request, username: str) -> bool:
    """The browser holds a live session of the account it is logging in to."""
    user = await current_user(request)
    return user is not None and user.name.lower() == username.lower()


async def login(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, LoginBody, _MAX_BODY)
    state = _state(request)
    address = request.app[CLIENT_ADDRESS](request)
    trusted = await _is_own_browser(request, body.username)
    wait = state.limiter.begin(body.username, address, trusted=trusted)
    if wait > 0:
        log.info("login to %r from %s refused for %.0f s", body.username, address, wait)
        raise ApiError(
            429,
            "too_many_attempts",
            "too many failed logins; try again later",
            {hdrs.RETRY_AFTER: str(math.ceil(wait))},
        )
    user = await state.accounts(request.app).authenticate(body.username, body.password)
    if user is None:
        state.limiter.failed(body.username, address)
        log.info("failed login to %r from %s", body.username, address)
        raise ApiError(401, "invalid_credentials", "wrong user name or password")
    state.limiter.succeeded(body.username, address)
    response = web.json_response({"user": {"id": user.id, "name": user.name}})
    await start_session(request, response, user)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    token = request.cookies.get(AUTH_COOKIE)
    if token:
        await _state(request).sessions(request.app).delete(token)
    response = web.json_response({"ok": True})
    _end_cookie(response)
    return response


async def me(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    return web.json_response({"user": user.as_json(), "session": user.session_id})


def _iso(timestamp: float) -> str:
    moment = datetime.fromtimestamp(timestamp, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def _session_json(session: WebSession, current: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "created_at": _iso(session.created_at),
        "last_seen": _iso(session.last_seen),
        "address": session.address,
        "user_agent": session.user_agent,
        "current": session.id == current,
    }


async def list_sessions(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    sessions = await _state(request).sessions(request.app).list(user.id)
    return web.json_response({"sessions": [_session_json(s, user.session_id) for s in sessions]})


async def revoke_others(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    token = request.cookies.get(AUTH_COOKIE, "")
    revoked = await _state(request).sessions(request.app).delete_others(user.id, token)
    return web.json_response({"revoked": revoked})


async def revoke(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    session_id = request.match_info["id"]
    if not await _state(request).sessions(request.app).delete_by_id(user.id, session_id):
        raise ApiError(404, "not_found", "no such session")
    response = web.json_response({"revoked": 1})
    if session_id == user.session_id:
        _end_cookie(response)
    return response


def add_auth_routes(app: web.Application, *, hasher: PasswordHasher | None = None) -> None:
    """Register the routes; ``app[DATABASE]`` must be set before the first
    request. ``hasher`` replaces argon2-cffi's default parameters (tests)."""
    app[AUTH] = AuthState(hasher=hasher)
    if CLIENT_ADDRESS not in app:
        app[CLIENT_ADDRESS] = default_client_address
    app.router.add_post("/api/login", login)
    app.router.add_post("/api/logout", logout)
    app.router.add_get("/api/me", me)
    app.router.add_get("/api/sessions", list_sessions)
    app.router.add_post("/api/sessions/revoke-others", revoke_others)
    app.router.add_delete("/api/sessions/{id}", revoke)
