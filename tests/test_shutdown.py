"""SIGTERM with browsers attached: open WebSockets and event streams are ended
at once (1001 going away), so the server exits promptly."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time

import aiohttp
from aiohttp import WSMsgType

from tests.test_cli import BACKCHANNEL, free_port, served

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


async def test_waiting_long_polls_do_not_hold_up_shutdown(tmp_path, ngircd) -> None:
    """With a 30 s poll timeout, a waiting v1 long-poll and a waiting seed pull
    end at once on SIGTERM (they took nothing: the client asks again)."""
    port = free_port()
    proc = subprocess.Popen(
        [*BACKCHANNEL, "serve", "--public", "--port", str(port), "--poll-timeout", "30",
         "--allow-server", f"{ngircd.host}:{ngircd.port}", "--data-dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            for _ in range(200):
                try:
                    async with http.post(f"{url}/api/guest") as resp:
                        assert resp.status == 201
                    break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
            async with http.get(f"{url}/irc/connect/{ngircd.host}:{ngircd.port}") as resp:
                conn_id = await resp.text()
            await asyncio.sleep(1)  # the relay's first lines arrive and are taken
            async with http.get(f"{url}/irc/pull/{conn_id}") as resp:
                await resp.read()
            polls = [
                asyncio.create_task(http.get(f"{url}/api/events", params={"timeout": "30"})),
                asyncio.create_task(http.get(f"{url}/irc/pull/{conn_id}")),
            ]
            await asyncio.sleep(1)
            assert not any(p.done() for p in polls)
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            await asyncio.gather(*polls, return_exceptions=True)
            code = await asyncio.to_thread(proc.wait, 15)
            assert code == 0
            assert time.monotonic() - started < 4
    finally:
        if proc.poll() is None:
            proc.kill()
