"""First run: the one-time setup token, the setup page and POST /api/setup."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backchannel.web.setup import setup_link, setup_token_if_needed
from tests.web.auth_helpers import PASSWORD, AuthEnv, auth_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[AuthEnv]:
    async with auth_env(tmp_path) as env:
        yield env


def _claim(token: str, name: str = "admin", password: str = PASSWORD) -> dict[str, str]:
    return {"token": token, "username": name, "password": password}


async def test_token_only_while_there_is_no_account(env: AuthEnv) -> None:
    token = await setup_token_if_needed(env.app)
    assert token and len(token) >= 40
    assert await setup_token_if_needed(env.app) == token  # kept for the process
    await env.accounts.create_user("someone", PASSWORD)
    assert await setup_token_if_needed(env.app) is None
    assert setup_link("http://127.0.0.1:8080/", "abc") == "http://127.0.0.1:8080/setup#abc"


async def test_tokens_differ_between_runs(tmp_path: Path) -> None:
    tokens = set()
    for i in range(3):
        (tmp_path / str(i)).mkdir()
        async with auth_env(tmp_path / str(i)) as env:
            tokens.add(await setup_token_if_needed(env.app))
    assert len(tokens) == 3


async def test_setup_page_has_no_inline_script_or_style(env: AuthEnv) -> None:
    browser = env.browser()
    async with browser.get(env.url("/setup")) as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
        assert "script-src 'self'" in resp.headers["Content-Security-Policy"]
    assert '<script src="/setup.js"' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)
    assert "<style" not in page and "style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers
    async with browser.get(env.url("/setup.js")) as resp:
        assert resp.status == 200 and "javascript" in resp.content_type
        assert "/api/setup" in await resp.text()


async def test_wrong_token_is_refused_and_right_one_works_once(env: AuthEnv) -> None:
    token = await setup_token_if_needed(env.app)
    assert token
    browser = env.browser()
    assert await env.call(browser, "GET", "/api/setup") == (200, {"needed": True})

    status, body = await env.call(browser, "POST", "/api/setup", json=_claim("x" + token[1:]))
    assert status == 403 and body["error"]["code"] == "invalid_token"
    assert await env.accounts.count_users() == 0

    status, body = await env.call(
        browser, "POST", "/api/setup", json=_claim(token, password="short")
    )
    assert status == 422 and body["error"]["code"] == "invalid_password"

    status, body = await env.call(browser, "POST", "/api/setup", json=_claim(token))
    assert status == 201 and body["user"]["name"] == "admin"
    status, me = await env.call(browser, "GET", "/api/me")  # logged in at once
    assert status == 200 and me["user"]["name"] == "admin"

    status, body = await env.call(env.browser(), "POST", "/api/setup", json=_claim(token, "evil"))
    assert status == 403 and body["error"]["code"] == "setup_closed"
    assert [u.name for u in await env.accounts.list_users()] == ["admin"]
    assert await env.call(browser, "GET", "/api/setup") == (200, {"needed": False})
    assert await setup_token_if_needed(env.app) is None


async def test_no_setup_without_a_token(env: AuthEnv) -> None:
    status, _ = await env.call(env.browser(), "POST", "/api/setup", json=_claim(""))
    assert status == 403
    assert await env.accounts.count_users() == 0


async def test_setup_refused_once_an_account_exists(env: AuthEnv) -> None:
    token = await setup_token_if_needed(env.app)
    assert token
    await env.accounts.create_user("cli-made", PASSWORD)  # e.g. `backchannel user add`
    status, body = await env.call(env.browser(), "POST", "/api/setup", json=_claim(token))
    assert status == 409 and body["error"]["code"] == "setup_closed"
    assert await env.accounts.count_users() == 1


async def test_concurrent_claims_create_one_account(env: AuthEnv) -> None:
    token = await setup_token_if_needed(env.app)
    assert token
    results = await asyncio.gather(
        *(
            env.call(env.browser(), "POST", "/api/setup", json=_claim(token, f"admin{i}"))
            for i in range(4)
        )
    )
    statuses = [status for status, _ in results]
    assert statuses.count(201) == 1
    assert set(statuses) <= {201, 403, 409}
    assert await env.accounts.count_users() == 1


async def test_cross_site_setup_is_refused(env: AuthEnv) -> None:
    token = await setup_token_if_needed(env.app)
    assert token
    status, _ = await env.call(
        env.browser(),
        "POST",
        "/api/setup",
        json=_claim(token),
        headers={"Origin": "https://evil.example"},
    )
    assert status == 403
    assert await env.accounts.count_users() == 0
