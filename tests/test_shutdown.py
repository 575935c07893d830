"""SIGTERM with browsers attached: open WebSockets and event streams are ended
at once (1001 going away), so the server exits promptly."""

from __future__ import annotations

import asyncio
import signal
import time

import aiohttp
from aiohttp import WSMsgType

from tests.test_cli import served

__all__ = ["served"]


async def test_open_streams_do_not_hold_up_shutdown(served) -> None:
    url, proc = served
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{url}/api/guest") as resp:
            assert resp.status == 201
        ws = await http.ws_connect(f"{url}/api/ws")
        hello = await ws.receive_json(timeout=5)
        assert hello["kind"] == "hello"
        stream = await http.get(f"{url}/api/events/stream")
        assert stream.status == 200
        await stream.content.readany()
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        message = await ws.receive(timeout=10)
        assert message.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
        if message.type == WSMsgType.CLOSE:
            assert message.data == 1001
        code = await asyncio.to_thread(proc.wait, 15)
        assert code == 0
        assert time.monotonic() - started < 5
        stream.close()
        await ws.close()
