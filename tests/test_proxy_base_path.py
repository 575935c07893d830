"""``base_path``: everything served under a sub-path, the page told where it
is, and the API's guards (the Origin check on /api/) working there too."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from backchannel.settings import SettingsError, load_settings
from backchannel.store.accounts import Accounts
from backchannel.web.app import serving_app
from backchannel.web.auth import AUTH
from backchannel.web.keys import DATABASE
from backchannel.web.proxy import page_with_base
from tests.web.api_helpers import FAST_HASHER, PASSWORD


@pytest.mark.parametrize(
    ("given", "expected"),
    [("/irc/", "/irc/"), ("/irc", "/irc/"), ("irc", "/irc/"), ("/", "/"), ("/a/b", "/a/b/")],
)
def test_base_path_is_normalised(given: str, expected: str) -> None:
    assert load_settings(env={}, overrides={"base_path": given}).base_path == expected


@pytest.mark.parametrize("bad", ["/irc?x", "/i rc/", "/irc#top", '/"x"/'])
def test_bad_base_path_is_a_clear_error(bad: str) -> None:
    with pytest.raises(SettingsError, match="base_path"):
        load_settings(env={}, overrides={"base_path": bad})


def test_page_with_base() -> None:
    page = (
        '<!doctype html>\n<html>\n<head>\n<link rel="stylesheet" href="/static/a.css">\n'
        '<script type="module" src="/static/js/main.js"></script>\n'
        '<a href="https://example.org/">x</a><a href="//cdn.example/">y</a><a href="rel">z</a>\n'
        "</head>"
    )
    out = page_with_base(page, "/irc/")
    assert '<head>\n<meta name="backchannel-base" content="/irc/">' in out
    assert 'href="/irc/static/a.css"' in out and 'src="/irc/static/js/main.js"' in out
    assert 'href="https://example.org/"' in out and 'href="//cdn.example/"' in out
    assert 'href="rel"' in out
    at_root = page_with_base(page, "/")
    assert '<meta name="backchannel-base" content="/">' in at_root
    assert 'href="/static/a.css"' in at_root


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[TestServer]:
    settings = load_settings(env={}, overrides={"data_dir": str(tmp_path), "base_path": "/irc"})
    root = serving_app(settings)
    (app,) = root._subapps  # the Backchannel app, mounted at /irc
    app[AUTH].hasher = FAST_HASHER
    server = TestServer(root, host="127.0.0.1")
    await server.start_server()
    await Accounts(app[DATABASE], hasher=FAST_HASHER).create_user("alice", PASSWORD)
    yield server
    await server.close()


async def test_everything_is_under_the_base_path(server: TestServer) -> None:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:

        async def get(path: str) -> tuple[int, str, aiohttp.ClientResponse]:
            async with http.get(server.make_url(path), allow_redirects=False) as resp:
                return resp.status, await resp.text(), resp

        status, _body, _ = await get("/irc/healthz")
        assert status == 200
        status, page, resp = await get("/irc/")
        assert status == 200 and resp.content_type == "text/html"
        assert '<meta name="backchannel-base" content="/irc/">' in page
        assert 'href="/irc/static/' in page and 'href="/static/' not in page
        assert "Content-Security-Policy" in resp.headers
        status, _, _ = await get("/irc/static/js/main.js")
        assert status == 200
        status, setup_page, _ = await get("/irc/setup")
        assert status == 200 and 'content="/irc/"' in setup_page
        assert 'src="/irc/setup.js"' in setup_page
        status, _, resp = await get("/irc")
        assert status == 308 and resp.headers["Location"] == "/irc/"
        # nothing outside it
        for path in ("/", "/healthz", "/api/config", "/static/js/main.js"):
            status, _, resp = await get(path)
            assert status == 404, path
            assert "X-Content-Type-Options" in resp.headers

        # the API works there, with the same guards
        login = {"username": "alice", "password": PASSWORD}
        origin = f"http://127.0.0.1:{server.port}"
        async with http.post(
            server.make_url("/irc/api/login"), json=login, headers={"Origin": "http://evil.example"}
        ) as resp:
            assert resp.status == 403
        async with http.post(
            server.make_url("/irc/api/login"), json=login, headers={"Origin": origin}
        ) as resp:
            assert resp.status == 200, await resp.text()
        async with http.get(server.make_url("/irc/api/me")) as resp:
            assert resp.status == 200 and (await resp.json())["user"]["name"] == "alice"
        async with http.get(
            server.make_url("/irc/api/events"), params={"after": "0", "timeout": "0"}
        ) as resp:
            assert resp.status == 200 and "cursor" in await resp.json()
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await http.ws_connect(
                server.make_url("/irc/api/ws"), headers={"Origin": "http://evil.example"}
            )
        assert refused.value.status == 403
        async with http.ws_connect(server.make_url("/irc/api/ws")) as ws:
            hello = await ws.receive_json(timeout=5)
            assert hello["kind"] == "hello"
        # the seed API too
        async with http.get(server.make_url("/irc/irc/pull/nope")) as resp:
            assert resp.status == 200 and resp.content_type == "application/json"
        async with http.get(server.make_url("/irc/pull/nope")) as resp:
            assert resp.status == 404
