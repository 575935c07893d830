"""First run: claim the instance with a one-time token printed on the console.

While there is no account, :func:`setup_token_if_needed` (called once at
start-up) makes a random token that lives only in this process's memory; the
caller prints :func:`setup_link` on the console. ``GET /setup`` serves a small
page that reads the token from the link's fragment (never sent in requests or
logs) and posts it with the first user's name and password to
``POST /api/setup``. The account is created only if the token matches
(constant-time comparison) and there is still no account, checked in the same
transaction as the insert; the token is void afterwards. Only someone who can
read the console can claim the instance.

Routes: ``GET /setup``, ``GET /setup.js``, ``GET /api/setup`` →
``{"needed": bool}``, ``POST /api/setup`` ``{"token", "username",
"password"}`` → 201 ``{"user": {"id", "name"}}`` and the login cookie.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from importlib import resources

from aiohttp import web

from backchannel.store.accounts import AccountError
from backchannel.web.api_models import SetupBody
from backchannel.web.auth import AUTH, start_session
from backchannel.web.errors import ApiError, read_json

__all__ = ["SETUP", "SetupState", "add_setup_routes", "setup_link", "setup_token_if_needed"]


@dataclass
class SetupState:
    token: str | None = None


SETUP = web.AppKey("setup", SetupState)


async def setup_token_if_needed(app: web.Application) -> str | None:
    """A setup token when there is no account yet, else None. Call it at
    start-up (e.g. in ``on_startup``), after :func:`add_setup_routes`."""
    if SETUP not in app:
        raise RuntimeError("add_setup_routes(app) must be called before setup_token_if_needed")
    state = app[SETUP]
    if await app[AUTH].accounts(app).count_users() > 0:
        state.token = None
    elif state.token is None:
        state.token = secrets.token_urlsafe(32)
    return state.token


def setup_link(base_url: str, token: str) -> str:
    """The link to print: the token rides in the fragment, which browsers do
    not send to the server."""
    return f"{base_url.rstrip('/')}/setup#{token}"


def _static(name: str, content_type: str) -> web.Response:
    text = resources.files("backchannel.web").joinpath(f"static/{name}").read_text("utf-8")
    return web.Response(text=text, content_type=content_type, headers={"Cache-Control": "no-store"})


async def setup_page(request: web.Request) -> web.StreamResponse:
    return _static("setup.html", "text/html")


async def setup_script(request: web.Request) -> web.StreamResponse:
    return _static("setup.js", "text/javascript")


async def _needed(request: web.Request) -> bool:
    if request.app[SETUP].token is None:
        return False
    return await request.app[AUTH].accounts(request.app).count_users() == 0


async def setup_status(request: web.Request) -> web.StreamResponse:
    return web.json_response({"needed": await _needed(request)})


async def _claim(request: web.Request) -> web.StreamResponse:
    body = await read_json(request, SetupBody)
    state = request.app[SETUP]
    expected = state.token
    if expected is None:
        raise ApiError(403, "setup_closed", "this instance is set up already")
    if not hmac.compare_digest(body.token.encode(), expected.encode()):
        raise ApiError(
            403, "invalid_token", "the setup token is wrong; use the link on the console"
        )
    accounts = request.app[AUTH].accounts(request.app)
    try:
        user = await accounts.create_first_user(body.username, body.password)
    except AccountError as exc:
        raise ApiError(422, exc.code, exc.message) from None
    state.token = None
    if user is None:
        raise ApiError(409, "setup_closed", "this instance has an account already")
    response = web.json_response({"user": {"id": user.id, "name": user.name}}, status=201)
    await start_session(request, response, user)
    return response


async def claim(request: web.Request) -> web.StreamResponse:
    try:
        return await _claim(request)
    except ApiError as exc:
        return exc.response()


def add_setup_routes(app: web.Application) -> None:
    """Register the setup routes (after :func:`add_auth_routes`)."""
    app[SETUP] = SetupState()
    app.router.add_get("/setup", setup_page)
    app.router.add_get("/setup.js", setup_script)
    app.router.add_get("/api/setup", setup_status)
    app.router.add_post("/api/setup", claim)
