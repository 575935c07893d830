"""Forwarded headers: read only from trusted proxies, right-most untrusted
address wins; scheme and host follow, so Secure cookies and the Origin
check work behind a TLS-terminating proxy. Unit tests of the parsing, then a
real app on a loopback port (the test client is the "proxy" at 127.0.0.1)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp.test_utils import TestServer
from multidict import CIMultiDict, CIMultiDictProxy

from backchannel.settings import SettingsError, load_settings
from backchannel.store.accounts import Accounts
from backchannel.web.keys import DATABASE
from backchannel.web.proxy import TrustedProxies, parse_address, resolve
from tests.web.api_helpers import FAST_HASHER, PASSWORD, build_app

# --- parsing --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("192.0.2.1", "192.0.2.1"),
        (" 192.0.2.1:4711 ", "192.0.2.1"),
        ('"[2001:db8::1]:4711"', "2001:db8::1"),
        ("[2001:db8::1]", "2001:db8::1"),
        ("2001:db8::1", "2001:db8::1"),
        ("::ffff:127.0.0.2", "127.0.0.2"),
        ("unknown", None),
        ("_hidden", None),
        ("", None),
        (None, None),
        ("[2001:db8::1", None),
    ],
)
def test_parse_address(text: str | None, expected: str | None) -> None:
    found = parse_address(text)
    assert (None if found is None else str(found)) == expected


def _resolve(
    peer: str, trusted: list[str], forwarded: list[dict[str, str]] | None = None, **headers: str
) -> tuple[str, str | None, str | None] | None:
    hdrs = CIMultiDictProxy(CIMultiDict({k.replace("_", "-"): v for k, v in headers.items()}))
    found = resolve(peer, hdrs, forwarded or [], TrustedProxies(trusted))
    return None if found is None else (found.remote, found.scheme, found.host)


def test_an_untrusted_peer_is_believed_about_nothing() -> None:
    assert _resolve("192.0.2.50", [], X_Forwarded_For="203.0.113.9") is None
    assert (
        _resolve(
            "192.0.2.50",
            ["10.0.0.0/8"],
            [{"for": "203.0.113.9", "proto": "https"}],
            X_Forwarded_For="203.0.113.9",
            X_Forwarded_Proto="https",
            X_Forwarded_Host="evil.example",
        )
        is None
    )


def test_the_right_most_untrusted_address_is_the_client() -> None:
    trusted = ["10.0.0.0/8", "127.0.0.1/32"]
    # the client forged the left one; the proxy appended what it saw
    assert _resolve("127.0.0.1", trusted, X_Forwarded_For="203.0.113.9, 198.51.100.7") == (
        "198.51.100.7",
        None,
        None,
    )
    # through two trusted proxies
    got = _resolve("127.0.0.1", trusted, X_Forwarded_For="198.51.100.7, 10.1.2.3")
    assert got is not None and got[0] == "198.51.100.7"
    # several header lines are one list
    hdrs = CIMultiDict([("X-Forwarded-For", "203.0.113.9"), ("X-Forwarded-For", "198.51.100.7")])
    found = resolve("127.0.0.1", CIMultiDictProxy(hdrs), [], TrustedProxies(trusted))
    assert found is not None and found.remote == "198.51.100.7"
    # all trusted: the left-most
    got = _resolve("127.0.0.1", trusted, X_Forwarded_For="10.9.9.9, 10.1.2.3")
    assert got is not None and got[0] == "10.9.9.9"
    # garbage where the client should be: the nearest proxy is what is known
    got = _resolve("127.0.0.1", trusted, X_Forwarded_For="198.51.100.7, unknown, 10.1.2.3")
    assert got is not None and got[0] == "10.1.2.3"
    # a trusted peer that says nothing is the client
    assert _resolve("127.0.0.1", trusted) == ("127.0.0.1", None, None)
    # IPv6 proxies and clients
    got = _resolve("::1", ["::1/128"], X_Forwarded_For="2001:db8::7")
    assert got is not None and got[0] == "2001:db8::7"


def test_forwarded_rfc7239_and_precedence() -> None:
    trusted = ["127.0.0.1/32", "10.0.0.0/8"]
    elements = [
        {"for": "198.51.100.7", "proto": "https", "host": "chat.example.org"},
        {"for": "10.1.2.3", "proto": "http", "host": "backend"},
    ]
    # the element of the client's hop gives the scheme and host it used
    assert _resolve("127.0.0.1", trusted, elements) == ("198.51.100.7", "https", "chat.example.org")
    ipv6 = [{"for": '"[2001:db8::7]:4711"'}]
    got = _resolve("127.0.0.1", trusted, ipv6)
    assert got is not None and got[0] == "2001:db8::7"
    # X-Forwarded-For wins: nginx sets it and passes a client's Forwarded through
    forged = [{"for": "203.0.113.9", "proto": "https"}]
    got = _resolve("127.0.0.1", trusted, forged, X_Forwarded_For="198.51.100.7")
    assert got is not None and got[0] == "198.51.100.7"


def test_scheme_and_host() -> None:
    trusted = ["127.0.0.1/32"]
    got = _resolve(
        "127.0.0.1",
        trusted,
        X_Forwarded_For="198.51.100.7",
        X_Forwarded_Proto="HTTPS",
        X_Forwarded_Host="chat.example.org:8443",
    )
    assert got == ("198.51.100.7", "https", "chat.example.org:8443")
    # only http/https and host names; anything else is not believed
    got = _resolve("127.0.0.1", trusted, X_Forwarded_Proto="javascript", X_Forwarded_Host="a/b")
    assert got == ("127.0.0.1", None, None)
    got = _resolve("127.0.0.1", trusted, X_Forwarded_Host="[2001:db8::1]:443")
    assert got == ("127.0.0.1", None, "[2001:db8::1]:443")


@pytest.mark.parametrize("bad", ["nope", "10.0.0.0/33", "::1/200"])
def test_bad_trusted_proxy_is_a_clear_error(bad: str) -> None:
    with pytest.raises(SettingsError, match="trusted_proxies"):
        load_settings(env={}, overrides={"trusted_proxies": [bad]})


def test_trusted_proxies_settings() -> None:
    settings = load_settings(env={"BACKCHANNEL_TRUSTED_PROXIES": "127.0.0.1, 10.0.0.0/8"})
    assert settings.trusted_proxies == ("127.0.0.1", "10.0.0.0/8")
    assert TrustedProxies(settings.trusted_proxies).trusts(parse_address("10.2.3.4"))


# --- a real app -------------------------------------------------------------------------------

Start = Callable[..., Awaitable[TestServer]]


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[Start]:
    servers: list[TestServer] = []

    async def run(**settings: Any) -> TestServer:
        app = build_app(tmp_path / f"data{len(servers)}", **settings)
        server = TestServer(app, host="127.0.0.1")
        await server.start_server()
        await Accounts(app[DATABASE], hasher=FAST_HASHER).create_user("alice", PASSWORD)
        servers.append(server)
        return server

    yield run
    for server in servers:
        await server.close()


async def _login(
    http: aiohttp.ClientSession, server: TestServer, password: str = PASSWORD, **headers: str
) -> aiohttp.ClientResponse:
    hdrs = {k.replace("_", "-"): v for k, v in headers.items()}
    async with http.post(
        server.make_url("/api/login"),
        json={"username": "alice", "password": password},
        headers=hdrs,
    ) as resp:
        await resp.read()
        return resp


async def _addresses(http: aiohttp.ClientSession, server: TestServer) -> list[str]:
    async with http.get(server.make_url("/api/sessions")) as resp:
        assert resp.status == 200
        return [s["address"] for s in (await resp.json())["sessions"]]


async def test_behind_a_trusted_proxy(start: Start) -> None:
    server = await start(trusted_proxies=["127.0.0.1/32"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        resp = await _login(
            http,
            server,
            X_Forwarded_For="203.0.113.9, 198.51.100.7",
            X_Forwarded_Proto="https",
            X_Forwarded_Host="chat.example.org",
            Origin="https://chat.example.org",
        )
        assert resp.status == 200
        cookie = resp.headers["Set-Cookie"]
        assert "bc_auth=" in cookie and "Secure" in cookie  # the browser is on HTTPS
        # (the jar sends no Secure cookie over the test's plain HTTP: log in again without)
        resp = await _login(http, server, X_Forwarded_For="203.0.113.9, 198.51.100.7")
        assert resp.status == 200 and "Secure" not in resp.headers["Set-Cookie"]
        assert set(await _addresses(http, server)) == {"198.51.100.7"}
        # the Origin check compares with the host the browser used
        resp = await _login(
            http, server, X_Forwarded_Host="chat.example.org", Origin="https://evil.example"
        )
        assert resp.status == 403
        # nginx passing Host $http_host (no X-Forwarded-Host) works the same
        resp = await _login(http, server, Host="chat.example.org", Origin="http://chat.example.org")
        assert resp.status == 200
        assert "Secure" not in resp.headers["Set-Cookie"]


async def test_a_forged_header_from_an_untrusted_peer_is_ignored(start: Start) -> None:
    server = await start(trusted_proxies=["10.0.0.0/8"])
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        resp = await _login(
            http,
            server,
            X_Forwarded_For="198.51.100.7",
            X_Forwarded_Proto="https",
            Forwarded="for=198.51.100.8;proto=https",
        )
        assert resp.status == 200
        assert "Secure" not in resp.headers["Set-Cookie"]
        assert await _addresses(http, server) == ["127.0.0.1"]
        # a forged host does not make a cross-site request look same-site
        resp = await _login(
            http, server, X_Forwarded_Host="evil.example", Origin="http://evil.example"
        )
        assert resp.status == 403


async def test_the_login_limiter_keys_on_the_forwarded_address(start: Start) -> None:
    """Through a trusted proxy, clients are told apart by their real address;
    from an untrusted peer, rotating a forged header does not escape the lockout."""
    trusted = await start(trusted_proxies=["127.0.0.1/32"])
    async with aiohttp.ClientSession() as http:
        for _ in range(5):
            resp = await _login(http, trusted, "wrong", X_Forwarded_For="198.51.100.7")
            assert resp.status == 401
        resp = await _login(http, trusted, "wrong", X_Forwarded_For="198.51.100.7")
        assert resp.status == 429
        resp = await _login(http, trusted, X_Forwarded_For="198.51.100.8")
        assert resp.status == 200  # someone else behind the same proxy

    untrusted = await start(trusted_proxies=["10.0.0.0/8"])
    async with aiohttp.ClientSession() as http:
        for n in range(5):
            resp = await _login(http, untrusted, "wrong", X_Forwarded_For=f"198.51.100.{n}")
            assert resp.status == 401
        resp = await _login(http, untrusted, "wrong", X_Forwarded_For="198.51.100.99")
        assert resp.status == 429


async def test_without_trusted_proxies_headers_change_nothing(start: Start) -> None:
    server = await start()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        resp = await _login(http, server, X_Forwarded_For="198.51.100.7", X_Forwarded_Proto="https")
        assert resp.status == 200 and "Secure" not in resp.headers["Set-Cookie"]
        assert await _addresses(http, server) == ["127.0.0.1"]
