"""Logging in and out, cookies, session rotation, the sessions list, /api/me."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.web.auth_helpers import PASSWORD, AuthEnv, auth_cookie, auth_env


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[AuthEnv]:
    async with auth_env(tmp_path) as env:
        await env.accounts.create_user("alice", PASSWORD)
        yield env


async def test_login_sets_a_strict_cookie_and_me_answers(env: AuthEnv) -> None:
    browser = env.browser()
    status, body, resp = await env.login(browser, "Alice")  # names are case-insensitive
    assert status == 200
    assert body == {"user": {"id": 1, "name": "alice"}}
    cookie = resp.cookies["bc_auth"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert not cookie["secure"]  # plain http here
    assert len(cookie.value) >= 40
    status, me = await env.call(browser, "GET", "/api/me")
    assert status == 200 and me["user"] == {"id": 1, "name": "alice"}
    assert len(me["session"]) == 16


async def test_cookie_is_secure_over_https(env: AuthEnv) -> None:
    browser = env.browser(**{"X-Test-Https": "1"})
    status, _, resp = await env.login(browser, "alice")
    assert status == 200
    assert resp.cookies["bc_auth"]["secure"] is True


async def test_only_a_hash_of_the_token_is_stored(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    token = auth_cookie(browser)
    assert token
    rows = env.db.read_sync(lambda c: c.execute("SELECT token_hash FROM web_sessions").fetchall())
    assert len(rows) == 1 and len(rows[0][0]) == 32 and token.encode() not in rows[0][0]


@pytest.mark.parametrize(
    ("name", "password"),
    [("alice", "wrong password"), ("nobody", PASSWORD), ("bad name!", PASSWORD)],
)
async def test_failed_login_is_401_and_sets_no_cookie(
    env: AuthEnv, name: str, password: str
) -> None:
    browser = env.browser()
    status, body, resp = await env.login(browser, name, password)
    assert status == 401
    assert body["error"]["code"] == "invalid_credentials"
    assert "bc_auth" not in resp.cookies
    status, body = await env.call(browser, "GET", "/api/me")
    assert status == 401
    assert body["error"]["code"] == "unauthorized" and body["error"]["message"]


async def test_login_rotates_the_session(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    old = auth_cookie(browser)
    await env.login(browser, "alice")
    new = auth_cookie(browser)
    assert old and new and old != new
    stale = env.browser()
    stale.cookie_jar.update_cookies({"bc_auth": old}, env.server.make_url("/"))
    assert (await env.call(stale, "GET", "/api/me"))[0] == 401
    assert (await env.call(browser, "GET", "/api/me"))[0] == 200
    count = env.db.read_sync(lambda c: c.execute("SELECT count(*) FROM web_sessions").fetchone())
    assert count[0] == 1


async def test_logout_ends_the_session_server_side(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    token = auth_cookie(browser)
    assert token
    async with browser.post(env.url("/api/logout")) as resp:
        assert resp.status == 200
        assert resp.cookies["bc_auth"].value == ""  # expired
    replay = env.browser()
    replay.cookie_jar.update_cookies({"bc_auth": token}, env.server.make_url("/"))
    assert (await env.call(replay, "GET", "/api/me"))[0] == 401
    # logging out without a session is fine too
    assert (await env.call(env.browser(), "POST", "/api/logout"))[0] == 200


async def test_sessions_list_and_revoke_others(env: AuthEnv) -> None:
    laptop = env.browser("192.0.2.10", **{"User-Agent": "Laptop/1"})
    phone = env.browser("198.51.100.7", **{"User-Agent": "Phone/2"})
    await env.login(laptop, "alice")
    await env.login(phone, "alice")
    status, body = await env.call(laptop, "GET", "/api/sessions")
    assert status == 200
    sessions = body["sessions"]
    assert len(sessions) == 2
    current = [s for s in sessions if s["current"]]
    assert len(current) == 1
    assert current[0]["address"] == "192.0.2.10" and current[0]["user_agent"] == "Laptop/1"
    assert current[0]["created_at"].endswith("Z") and current[0]["last_seen"].endswith("Z")
    other = next(s for s in sessions if not s["current"])
    assert other["address"] == "198.51.100.7"

    status, body = await env.call(laptop, "POST", "/api/sessions/revoke-others")
    assert (status, body) == (200, {"revoked": 1})
    assert (await env.call(phone, "GET", "/api/me"))[0] == 401
    assert (await env.call(laptop, "GET", "/api/me"))[0] == 200


async def test_revoke_one_session_by_id(env: AuthEnv) -> None:
    laptop, phone = env.browser(), env.browser()
    await env.login(laptop, "alice")
    await env.login(phone, "alice")
    _, me = await env.call(phone, "GET", "/api/me")
    phone_id = me["session"]
    status, body = await env.call(laptop, "DELETE", f"/api/sessions/{phone_id}")
    assert (status, body) == (200, {"revoked": 1})
    assert (await env.call(phone, "GET", "/api/me"))[0] == 401
    status, body = await env.call(laptop, "DELETE", f"/api/sessions/{phone_id}")
    assert status == 404 and body["error"]["code"] == "not_found"
    assert (await env.call(laptop, "DELETE", "/api/sessions/not-an-id"))[0] == 404


async def test_a_user_cannot_revoke_someone_elses_session(env: AuthEnv) -> None:
    await env.accounts.create_user("bob", PASSWORD)
    alice, bob = env.browser(), env.browser()
    await env.login(alice, "alice")
    await env.login(bob, "bob")
    _, me = await env.call(bob, "GET", "/api/me")
    assert (await env.call(alice, "DELETE", f"/api/sessions/{me['session']}"))[0] == 404
    assert (await env.call(bob, "GET", "/api/me"))[0] == 200
    _, listed = await env.call(alice, "GET", "/api/sessions")
    assert len(listed["sessions"]) == 1


async def test_revoking_the_current_session_expires_the_cookie(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    _, me = await env.call(browser, "GET", "/api/me")
    async with browser.delete(env.url(f"/api/sessions/{me['session']}")) as resp:
        assert resp.status == 200
        assert resp.cookies["bc_auth"].value == ""
    assert (await env.call(browser, "GET", "/api/me"))[0] == 401


@pytest.mark.parametrize("path", ["/api/sessions", "/api/me"])
async def test_session_routes_need_a_login(env: AuthEnv, path: str) -> None:
    status, body = await env.call(env.browser(), "GET", path)
    assert status == 401 and body == {"error": {"code": "unauthorized", "message": "log in first"}}


async def test_revoke_others_needs_a_login(env: AuthEnv) -> None:
    status, body = await env.call(env.browser(), "POST", "/api/sessions/revoke-others")
    assert status == 401 and body["error"]["code"] == "unauthorized"


async def test_removed_user_is_logged_out(env: AuthEnv) -> None:
    browser = env.browser()
    await env.login(browser, "alice")
    assert await env.accounts.remove_user("alice")
    assert (await env.call(browser, "GET", "/api/me"))[0] == 401


async def test_bad_bodies(env: AuthEnv) -> None:
    browser = env.browser()
    status, body = await env.call(browser, "POST", "/api/login", data=b"{not json")
    assert status == 400 and body["error"]["code"] == "bad_json"
    status, body = await env.call(browser, "POST", "/api/login", json={"username": "alice"})
    assert status == 422 and body["error"]["code"] == "invalid"
    assert "password" in body["error"]["message"]
    status, body = await env.call(
        browser, "POST", "/api/login", json={"username": "alice", "password": 12345678}
    )
    assert status == 422 and "password" in body["error"]["message"]
    status, body = await env.call(
        browser, "POST", "/api/login", json={"username": "a", "password": "b", "extra": 1}
    )
    assert status == 422 and "extra" in body["error"]["message"]
    status, body = await env.call(browser, "POST", "/api/login", json=["alice", PASSWORD])
    assert status == 422
    form = {"username": "alice", "password": PASSWORD}
    status, body = await env.call(browser, "POST", "/api/login", data=form)
    assert status == 415 and body["error"]["code"] == "unsupported_media_type"
    status, body = await env.call(browser, "POST", "/api/login", data=b"x" * 100_000)
    assert status == 413 and body["error"]["code"] == "too_large"


async def test_body_over_the_server_limit_is_413(tmp_path: Path) -> None:
    async with auth_env(tmp_path, client_max_size=1000) as env:

        async def chunks():  # type: ignore[no-untyped-def]
            for _ in range(10):
                yield b"y" * 500

        status, body = await env.call(env.browser(), "POST", "/api/login", data=chunks())
        assert status == 413 and body["error"]["code"] == "too_large"
