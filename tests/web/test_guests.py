"""Public mode: anonymous guests with in-memory networks and scrollback."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import pytest

from backchannel.web.guests import reap_idle_guests
from backchannel.web.keys import DATABASE, RUNTIMES
from tests.support.ircclient import IRCClient
from tests.web.conftest import AppFactory

pytestmark = pytest.mark.ircd


async def test_a_guest_chats_on_an_allowed_server_and_vanishes_when_idle(
    make_server: AppFactory, ngircd
) -> None:
    server = await make_server(public=True, allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    assert str(server.app[DATABASE].path) == ":memory:"  # nothing of guests reaches the disk
    base = str(server.make_url("/"))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.get(f"{base}api/state") as resp:
            assert resp.status == 401
        async with http.post(f"{base}api/guest") as resp:
            assert resp.status == 201
            guest = (await resp.json())["user"]
        async with http.post(f"{base}api/guest") as resp:  # the same browser: the same guest
            assert (await resp.json())["user"] == guest
        # only the allowed servers
        async with http.post(
            f"{base}api/networks", json={"name": "x", "host": "irc.example.org", "nick": "g"}
        ) as resp:
            assert resp.status == 403
        async with http.post(
            f"{base}api/networks",
            json={
                "name": "test",
                "host": ngircd.host,
                "port": ngircd.port,
                "nick": "guesty",
                "channels": [{"name": "#lobby"}],
            },
        ) as resp:
            assert resp.status in (200, 201), await resp.text()
            network = (await resp.json())["id"]
        other = await IRCClient.connect(ngircd.host, ngircd.port)
        try:
            await other.register("local")
            await other.send("JOIN #lobby")
            # whoever joins first, the other sees it: a JOIN, or the NAMES list
            await other.expect(
                lambda m: (m.command == "JOIN" and m.nick == "guesty")
                or (m.command == "353" and "guesty" in m.params[-1].replace("@", "").split()),
                timeout=15,
            )
            await other.send("PRIVMSG #lobby :welcome, guest")
            async with asyncio.timeout(10):
                while True:
                    async with http.get(
                        f"{base}api/networks/{network}/history", params={"target": "#lobby"}
                    ) as resp:
                        texts = [e.get("text") for e in (await resp.json())["events"]]
                    if "welcome, guest" in texts:
                        break
                    await asyncio.sleep(0.1)
            # idle past the timeout: the guest's connection and data are gone
            removed = await reap_idle_guests(server.app, now=time.time() + 10_000)
            assert removed == 1
            quit_msg = await other.expect(lambda m: m.command == "QUIT" and m.nick == "guesty")
            assert quit_msg is not None
            assert server.app[RUNTIMES].get(guest["id"]) is None
            async with http.get(f"{base}api/state") as resp:
                assert resp.status == 401
        finally:
            await other.close()


async def test_guests_exist_only_in_public_mode(make_server: AppFactory) -> None:
    server = await make_server(public=False)
    async with aiohttp.ClientSession() as http, http.post(str(server.make_url("/api/guest"))) as r:
        assert r.status == 404
