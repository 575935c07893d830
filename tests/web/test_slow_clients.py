"""Slow clients: a request body trickled byte by byte is cut off after
``body_timeout`` with a 408 and a closed connection, while the server keeps
answering everyone else. (A trickled request head: tests/test_cli.py.)"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import pytest


async def _trickle(port: int, path: str, total: int) -> tuple[bytes, float]:
    """POST ``path`` announcing ``total`` body bytes, then send one every 0.1 s;
    what the server answered, and after how long it stopped listening."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {total}\r\n\r\n"
    )
    writer.write(head.encode())
    started = time.monotonic()
    answer = b""
    try:
        for _ in range(total):
            writer.write(b" ")
            await writer.drain()
            try:
                chunk = await asyncio.wait_for(reader.read(4096), 0.1)
            except TimeoutError:
                continue
            if not chunk:
                break
            answer += chunk
    except ConnectionError:
        pass
    finally:
        writer.close()
    return answer, time.monotonic() - started


@pytest.mark.parametrize("path", ["/api/login", "/irc/push/0"])
async def test_a_trickled_body_is_cut_off_and_others_are_served(make_server: Any, path: str):
    server = await make_server(body_timeout=1)
    trickle = asyncio.create_task(_trickle(server.port, path, total=200))
    async with aiohttp.ClientSession() as http:
        for _ in range(5):  # meanwhile, the server answers at once
            started = time.monotonic()
            async with http.get(server.make_url("/healthz")) as resp:
                assert resp.status == 200
            assert time.monotonic() - started < 1
            await asyncio.sleep(0.1)
    answer, lasted = await trickle
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b'"body_timeout"' in answer
    assert lasted < 5, "the server kept listening to a trickling body"


async def test_a_body_in_time_is_read_as_before(make_server: Any):
    server = await make_server(body_timeout=5)
    async with aiohttp.ClientSession() as http, http.post(
        server.make_url("/api/login"), json={"username": "nobody", "password": "x" * 10}
    ) as resp:
        assert resp.status == 401
