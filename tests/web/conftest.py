"""Fixtures for the web layer: a real Backchannel app on a loopback port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from backchannel.settings import load_settings
from backchannel.web.app import create_app
from tests.support.seed_client import SeedClient

AppFactory = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def make_server(tmp_path: Any) -> AsyncIterator[AppFactory]:
    """Start Backchannel with the given settings; stopped after the test."""
    servers: list[TestServer] = []

    async def start(**settings: Any) -> TestServer:
        settings.setdefault("data_dir", str(tmp_path / "data"))
        server = TestServer(create_app(load_settings(env={}, overrides=settings)), host="127.0.0.1")
        await server.start_server()
        servers.append(server)
        return server

    yield start
    for server in servers:
        await server.close()


@pytest.fixture
async def make_client() -> AsyncIterator[Callable[..., SeedClient]]:
    """Seed API clients, each with its own cookie jar (its own browser session)."""
    clients: list[SeedClient] = []

    def new(server: TestServer, **kw: Any) -> SeedClient:
        client = SeedClient(str(server.make_url("/")), **kw)
        clients.append(client)
        return client

    yield new
    for client in clients:
        await client.close()
