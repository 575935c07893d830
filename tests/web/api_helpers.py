"""Helpers for the v1 REST API tests: a real app (SQLite in tmp_path) on a
loopback port, with the API, auth and event routes wired in when app.py does
not wire them yet, and a JSON client with its own cookie jar per user."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from argon2 import PasswordHasher

from backchannel.settings import load_settings
from backchannel.store.accounts import Accounts
from backchannel.web.api import add_api_routes
from backchannel.web.app import create_app
from backchannel.web.keys import DATABASE

PASSWORD = "correct horse battery"
FAST_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


def _registered(app: web.Application, method: str, path: str) -> bool:
    return any(
        route.method == method and route.resource is not None
        and route.resource.canonical == path
        for route in app.router.routes()
    )


def build_app(data_dir: Path, **settings: Any) -> web.Application:
    """``create_app`` plus, when app.py does not register them yet, the auth,
    event and API routes (added before the app starts)."""
    settings.setdefault("data_dir", str(data_dir))
    app = create_app(load_settings(env={}, overrides=settings))
    if not _registered(app, "POST", "/api/login"):
        from backchannel.web.auth import add_auth_routes

        add_auth_routes(app, hasher=FAST_HASHER)
    if not _registered(app, "GET", "/api/events"):
        from backchannel.web.api_events import add_event_routes

        add_event_routes(app)
    if not _registered(app, "GET", "/api/networks"):
        add_api_routes(app)
    return app


class ApiClient:
    """JSON requests with one cookie jar (one browser)."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def url(self, path: str) -> str:
        return str(self.server.make_url(path))

    async def request(
        self, method: str, path: str, body: Any = None, *, data: bytes | None = None, **kw: Any
    ) -> tuple[int, Any]:
        if body is not None:
            kw["json"] = body
        async with self.session.request(method, self.url(path), data=data, **kw) as resp:
            if resp.content_type == "application/json":
                return resp.status, await resp.json()
            return resp.status, await resp.text()

    async def get(self, path: str, **kw: Any) -> tuple[int, Any]:
        return await self.request("GET", path, **kw)

    async def post(self, path: str, body: Any = None, **kw: Any) -> tuple[int, Any]:
        return await self.request("POST", path, body, **kw)

    async def login(self, name: str, password: str = PASSWORD) -> None:
        status, body = await self.post("/api/login", {"username": name, "password": password})
        assert status == 200, body

    async def close(self) -> None:
        await self.session.close()


class ApiWorld:
    """One running app and its users' clients."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.app: web.Application = server.app  # type: ignore[assignment]
        self.clients: list[ApiClient] = []

    def client(self) -> ApiClient:
        client = ApiClient(self.server)
        self.clients.append(client)
        return client

    async def user(self, name: str) -> ApiClient:
        """A new account, logged in on a new client."""
        await Accounts(self.app[DATABASE], hasher=FAST_HASHER).create_user(name, PASSWORD)
        client = self.client()
        await client.login(name)
        return client


WorldFactory = Callable[..., Awaitable[ApiWorld]]


@pytest.fixture
async def make_world(tmp_path: Path) -> AsyncIterator[WorldFactory]:
    worlds: list[ApiWorld] = []

    async def start(**settings: Any) -> ApiWorld:
        app = build_app(tmp_path / f"data{len(worlds)}", **settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        world = ApiWorld(server)
        worlds.append(world)
        return world

    yield start
    for world in worlds:
        for client in world.clients:
            await client.close()
        await world.server.close()


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


def network_body(host: str, port: int, nick: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"name": "test", "host": host, "port": port, "nick": nick}
    body.update(extra)
    return body
