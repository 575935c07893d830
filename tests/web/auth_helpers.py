"""A small app with the auth and setup routes on a real SQLite file, and
browsers (cookie jars) that claim a client address, for the auth tests.

The client address comes from ``app[CLIENT_ADDRESS]``; here it reads the
``X-Test-Address`` header so one test can play several addresses.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from backchannel.store.accounts import Accounts
from backchannel.store.db import Database
from backchannel.web.auth import AUTH, CLIENT_ADDRESS, add_auth_routes
from backchannel.web.csrf import csrf_middleware
from backchannel.web.errors import api_error_middleware
from backchannel.web.keys import DATABASE
from backchannel.web.login_limits import LoginLimiter
from backchannel.web.security import security_middleware
from backchannel.web.setup import add_setup_routes

# still argon2id, only cheaper, so the tests run fast
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
ADDRESS_HEADER = "X-Test-Address"
PASSWORD = "correct horse battery"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class FakeClock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@web.middleware
async def https_when_told(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Play a TLS-terminating proxy: ``X-Test-Https: 1`` makes the request https."""
    if request.headers.get("X-Test-Https") == "1":
        request = request.clone(scheme="https")
    return await handler(request)


def build_app(
    db_path: Path, *, limiter: LoginLimiter | None = None, client_max_size: int = 1024**2
) -> web.Application:
    app = web.Application(
        middlewares=[https_when_told, security_middleware, api_error_middleware, csrf_middleware],
        client_max_size=client_max_size,
    )
    db = Database(db_path)
    app[DATABASE] = db
    add_auth_routes(app, hasher=FAST_HASHER)
    add_setup_routes(app)
    app[CLIENT_ADDRESS] = lambda request: request.headers.get(ADDRESS_HEADER, "127.0.0.1")
    if limiter is not None:
        app[AUTH].limiter = limiter

    async def close_db(app: web.Application) -> None:
        db.close()

    app.on_cleanup.append(close_db)
    return app


class AuthEnv:
    def __init__(self, server: TestServer, app: web.Application) -> None:
        self.server = server
        self.app = app
        self._browsers: list[aiohttp.ClientSession] = []

    @property
    def accounts(self) -> Accounts:
        return self.app[AUTH].accounts(self.app)

    @property
    def db(self) -> Database:
        return self.app[DATABASE]

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    @property
    def origin(self) -> str:
        return str(self.server.make_url("/")).rstrip("/")

    def browser(self, address: str = "192.0.2.1", **headers: str) -> aiohttp.ClientSession:
        """A browser with its own cookie jar, at ``address``."""
        session = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True),
            headers={ADDRESS_HEADER: address, **headers},
        )
        self._browsers.append(session)
        return session

    async def login(
        self, browser: aiohttp.ClientSession, name: str, password: str = PASSWORD
    ) -> tuple[int, dict[str, Any], aiohttp.ClientResponse]:
        async with browser.post(
            self.url("/api/login"), json={"username": name, "password": password}
        ) as resp:
            return resp.status, await resp.json(), resp

    async def call(
        self, browser: aiohttp.ClientSession, method: str, path: str, **kw: Any
    ) -> tuple[int, Any]:
        async with browser.request(method, self.url(path), **kw) as resp:
            return resp.status, await resp.json()

    async def close(self) -> None:
        for browser in self._browsers:
            await browser.close()


@asynccontextmanager
async def auth_env(tmp_path: Path, **kw: Any) -> AsyncIterator[AuthEnv]:
    app = build_app(tmp_path / "backchannel.sqlite3", **kw)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    env = AuthEnv(server, app)
    try:
        yield env
    finally:
        await env.close()
        await server.close()


def auth_cookie(browser: aiohttp.ClientSession) -> str | None:
    for cookie in browser.cookie_jar:
        if cookie.key == "bc_auth":
            return cookie.value
    return None
