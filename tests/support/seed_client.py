"""A browser-less client of the seed API (connect/push/pull), for tests."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import aiohttp

Event = list[Any]


class SeedClient:
    """Drives ``/irc/*`` over HTTP with its own cookie jar (one browser session)."""

    def __init__(self, base_url: str, headers: dict[str, str] | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.http = aiohttp.ClientSession(
            cookie_jar=aiohttp.CookieJar(unsafe=True), headers=headers or {}
        )
        self.events: dict[str, list[Event]] = {}

    async def close(self) -> None:
        await self.http.close()

    async def __aenter__(self) -> SeedClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def connect_raw(self, server: str) -> tuple[int, str]:
        async with self.http.get(f"{self.base_url}/irc/connect/{server}") as resp:
            return resp.status, await resp.text()

    async def connect(self, server: str) -> str:
        status, text = await self.connect_raw(server)
        assert status == 200, f"connect {server}: HTTP {status} {text}"
        return text

    async def push(self, conn_id: str, line: str | bytes, **kw: Any) -> Any:
        data = line.encode() if isinstance(line, str) else line
        async with self.http.post(f"{self.base_url}/irc/push/{conn_id}", data=data, **kw) as resp:
            return json.loads(await resp.text())

    async def pull(self, conn_id: str) -> Any:
        async with self.http.get(f"{self.base_url}/irc/pull/{conn_id}") as resp:
            assert resp.status == 200, await resp.text()
            result = json.loads(await resp.text())
        if isinstance(result, list) and all(isinstance(e, list) for e in result):
            self.events.setdefault(conn_id, []).extend(result)
        return result

    async def expect(
        self, conn_id: str, predicate: Callable[[Event], bool], timeout: float = 10.0
    ) -> Event:
        """Pull until an event matches; every event pulled is kept in ``events``."""
        seen = self.events.setdefault(conn_id, [])
        checked = 0
        async with asyncio.timeout(timeout):
            while True:
                for event in seen[checked:]:
                    checked += 1
                    if predicate(event):
                        return event
                await self.pull(conn_id)

    async def register(self, conn_id: str, nick: str, timeout: float = 15.0) -> None:
        """Register as the browser does: wait for CONNECTED, push NICK/USER, wait for 001."""
        await self.expect(conn_id, lambda e: e[1] == "CONNECTED", timeout)
        assert await self.push(conn_id, f"NICK {nick}") == ["", "PUSH_OK", ""]
        assert await self.push(conn_id, f"USER {nick} 0 * :Backchannel test") == [
            "",
            "PUSH_OK",
            "",
        ]
        await self.expect(conn_id, lambda e: e[1] == "001", timeout)
