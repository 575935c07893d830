"""Behind a real nginx (Debian's package, run as a plain subprocess with the
configuration docs/reverse-proxy.md documents) in front of a real
``backchannel serve --trusted-proxy 127.0.0.2/32``, at the root and under a
base path, over HTTP and with nginx terminating TLS.

nginx connects upstream from 127.0.0.2 (``proxy_bind``) and is the only
trusted proxy, while the test client connects from 127.0.0.1: so the right
client address (127.0.0.1, what nginx appended to X-Forwarded-For) differs
from nginx's own (127.0.0.2) and from what the client forged in its own
X-Forwarded-For (198.51.100.7), and a client connecting directly from
127.0.0.1 with a forged header is not believed."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support.ircd import free_ports
from tests.support.nginx import (
    MAP_TEMPLATE,
    Nginx,
    Served,
    nginx_binary,
    render_location,
    self_signed,
    start_nginx,
    start_serve,
)
from tests.web.transport_helpers import (
    HttpClient,
    add_network,
    open_sse,
    open_ws,
    plain_in,
    poll,
    poll_until,
    said,
    texts,
)

pytestmark = pytest.mark.ircd

PASSWORD = "correct horse battery staple"
DOCS = Path(__file__).resolve().parents[1] / "docs" / "reverse-proxy.md"


@pytest.fixture(scope="module")
def nginx_required() -> None:
    if nginx_binary() is None:
        pytest.fail(
            "nginx is not installed: run scripts/install-test-deps (Debian's nginx package)",
            pytrace=False,
        )


def _lines(text: str) -> str:
    """Lines without their indentation, blank ones dropped (the docs indent the
    location blocks inside a server block)."""
    return "\n".join(line.strip() for line in text.splitlines() if line.strip()) + "\n"


def test_the_docs_quote_the_tested_configuration() -> None:
    docs = _lines(DOCS.read_text(encoding="utf-8"))
    assert _lines(MAP_TEMPLATE) in docs
    assert _lines(render_location("/", "127.0.0.1:8080")) in docs
    assert _lines(render_location("/irc/", "127.0.0.1:8080")) in docs


class Stack:
    def __init__(self, served: Served, nginx: Nginx, base_path: str) -> None:
        self.served, self.nginx, self.base_path = served, nginx, base_path
        self.clients: list[HttpClient] = []

    def client(self, base: str) -> HttpClient:
        client = HttpClient(base)
        self.clients.append(client)
        return client

    def front(self) -> HttpClient:
        """A browser talking to nginx over HTTP."""
        return self.client(self.nginx.url + self.base_path)

    def logs(self) -> str:
        return f"{self.served.log()}\n{self.nginx.log()}"


@pytest.fixture(params=["/", "/chat/"], ids=["root", "base_path"])
def stack(
    request: pytest.FixtureRequest, tmp_path: Path, ngircd: Any, nginx_required: None
) -> Iterator[Stack]:
    base_path: str = request.param
    backend, front, front_tls = free_ports(3)
    config = tmp_path / "backchannel.toml"
    config.write_text(f'allowed_servers = ["{ngircd.host}:{ngircd.port}"]\npoll_timeout = 2\n')
    served = start_serve(
        tmp_path / "srv",
        backend,
        "--config",
        str(config),
        "--trusted-proxy",
        "127.0.0.2/32",
        "--base-path",
        base_path,
        base_path=base_path,
    )
    cert, key = self_signed(tmp_path, "nginx")
    try:
        served.add_user("alice", PASSWORD)
        served.add_user("bob", PASSWORD)
        nginx = start_nginx(
            tmp_path / "nginx",
            port=front,
            upstream=f"127.0.0.1:{backend}",
            base_path=base_path,
            bind="127.0.0.2",
            tls_port=front_tls,
            tls_cert=cert,
            tls_key=key,
        )
    except BaseException:
        served.stop()
        raise
    stack = Stack(served, nginx, base_path)
    try:
        yield stack
    finally:
        nginx.stop()
        served.stop()


async def _close(stack: Stack) -> None:
    for client in stack.clients:
        await client.session.close()


async def _login(client: HttpClient, name: str, password: str = PASSWORD, **kw: Any) -> int:
    status, _ = await client.post("/api/login", {"username": name, "password": password}, **kw)
    return status


async def _addresses(client: HttpClient, **kw: Any) -> list[str]:
    status, body = await client.get("/api/sessions", **kw)
    assert status == 200, body
    return [s["address"] for s in body["sessions"]]


async def test_every_transport_and_the_real_client_address_through_nginx(
    stack: Stack, ngircd: Any
) -> None:
    try:
        await _through_nginx(stack, ngircd)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- logs\n{stack.logs()}") from None
    finally:
        await _close(stack)


async def _through_nginx(stack: Stack, ngircd: Any) -> None:
    origin = {"Origin": stack.nginx.url}
    alice = stack.front()
    # the browser's own X-Forwarded-For is passed on by nginx, which appends 127.0.0.1
    forged = {"X-Forwarded-For": "198.51.100.7"}
    assert await _login(alice, "alice", headers={**origin, **forged}) == 200
    assert await _addresses(alice) == ["127.0.0.1"]
    # the Origin check sees the host the browser used (Host: $http_host)
    status, body = await alice.post("/api/networks", {}, headers={"Origin": "http://evil.example"})
    assert status == 403, body

    # the page and its files under the base path
    status, page = await alice.get("/")
    assert status == 200 and f'content="{stack.base_path}"' in page
    for href in re.findall(r'(?:href|src)="(/[^"]*)"', page):
        assert href.startswith(stack.base_path), href
        status, _ = await alice.get("/" + href[len(stack.base_path) :])
        assert status == 200, href

    channel, nick, plain_nick = "#nginx", "webngx", "sockngx"
    nid, plain = await asyncio.gather(
        add_network(alice, ngircd, nick, channel), plain_in(ngircd, plain_nick, channel)
    )
    msg = said(channel, plain_nick)
    try:
        # long-poll: one that waits with nothing to say, then events
        _events, start = await poll(alice, None, timeout=0)
        waited = asyncio.get_running_loop().time()
        events, _ = await poll(alice, start, timeout=1.5)
        assert asyncio.get_running_loop().time() - waited >= 1.0 or events
        sse = await open_sse(alice, after=start)
        ws = await open_ws(alice, after=start, headers=origin)
        try:
            for n in range(3):
                await plain.send(f"PRIVMSG {channel} :through nginx {n}")
            want = [f"through nginx {n}" for n in range(3)]
            polled, _ = await poll_until(alice, start, msg, 3)
            assert texts(polled, msg) == want
            assert texts(await sse.read_until(msg, 3), msg) == want  # not held in a buffer
            assert texts(await ws.read_until(msg, 3), msg) == want
            # a command on the WebSocket, out to IRC
            reply = await ws.command(
                {"id": 1, "type": "send", "network": nid, "target": channel, "text": "hi"}
            )
            assert reply.get("ok", True) is not False, reply
            await plain.expect(lambda m: m.command == "PRIVMSG" and m.params[-1] == "hi")
        finally:
            sse.close()
            await ws.close()
    finally:
        await plain.close()

    # the log names the real client too: a failed login through nginx
    assert await _login(stack.front(), "alice", "wrong", headers=forged) == 401
    assert "failed login to 'alice' from 127.0.0.1" in stack.served.log()
    assert "from 127.0.0.2" not in stack.served.log()
    assert "198.51.100.7" not in stack.served.log()

    # straight to Backchannel from 127.0.0.1 (not a trusted proxy): a forged header is ignored
    direct = stack.client(stack.served.url)
    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
    status, _ = await direct.post(
        "/api/login", {"username": "alice", "password": PASSWORD}, headers=headers
    )
    assert status == 200
    assert sorted(await _addresses(direct)) == ["127.0.0.1", "127.0.0.1"]

    # the limiter keys on the real address: rotating the forged header does not help
    for n in range(5):
        hdrs = {"X-Forwarded-For": f"198.51.100.{n}"}
        assert await _login(stack.front(), "bob", "wrong", headers=hdrs) == 401
    hdrs = {"X-Forwarded-For": "198.51.100.99"}
    assert await _login(stack.front(), "bob", "wrong", headers=hdrs) == 429

    # nginx terminating TLS: X-Forwarded-Proto https makes the cookie Secure, and the
    # https Origin is this site's
    secure = stack.client(stack.nginx.tls_url + stack.base_path)
    tls_origin = {"Origin": stack.nginx.tls_url}
    async with secure.session.post(
        secure.url("/api/login"),
        json={"username": "alice", "password": PASSWORD},
        headers=tls_origin,
        ssl=False,
    ) as resp:
        assert resp.status == 200, await resp.text()
        assert "Secure" in resp.headers["Set-Cookie"]
    status, me = await secure.get("/api/me", ssl=False)
    assert status == 200 and me["user"]["name"] == "alice"
    wss = await open_ws(secure, headers=tls_origin, ssl=False)
    await wss.close()
