"""The Origin check that stands in for CSRF tokens on the JSON API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.auth_helpers import PASSWORD, AuthEnv, auth_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[AuthEnv]:
    async with auth_env(tmp_path) as env:
        await env.accounts.create_user("alice", PASSWORD)
        yield env


async def test_cross_site_logout_is_refused(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    status, body = await env.call(
        browser, "POST", "/api/logout", headers={"Origin": "https://evil.example"}
    )
    assert status == 403
    assert body["error"]["code"] == "cross_site"
    assert (await env.call(browser, "GET", "/api/me"))[0] == 200  # still logged in


async def test_same_origin_and_no_origin_pass(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    status, _ = await env.call(browser, "POST", "/api/logout", headers={"Origin": env.origin})
    assert status == 200
    assert (await env.call(browser, "GET", "/api/me"))[0] == 401
    await env.login(browser, "alice")
    assert (await env.call(browser, "POST", "/api/logout"))[0] == 200


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
async def test_cross_site_login_is_refused(env: AuthEnv, headers: dict[str, str]) -> None:
    async with env.browser().post(
        env.url("/api/login"), json={"username": "alice", "password": PASSWORD}, headers=headers
    ) as resp:
        assert resp.status == 403
        assert "bc_auth" not in resp.cookies


async def test_cross_site_session_revocation_is_refused(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    evil = {"Origin": "https://evil.example"}
    assert (await env.call(browser, "POST", "/api/sessions/revoke-others", headers=evil))[0] == 403
    _, me = await env.call(browser, "GET", "/api/me")
    status, _ = await env.call(browser, "DELETE", f"/api/sessions/{me['session']}", headers=evil)
    assert status == 403


async def test_reads_are_not_checked(env: AuthEnv) -> None:
    status, _ = await env.call(
        env.browser(), "GET", "/api/me", headers={"Origin": "https://evil.example"}
    )
    assert status == 401


async def test_cross_site_websocket_handshake_is_refused(env: AuthEnv) -> None:
    headers = {
        "Origin": "https://evil.example",
        "Connection": "Upgrade",
        "Upgrade": "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
    }
    async with env.browser().get(env.url("/anything"), headers=headers) as resp:
        assert resp.status == 403
