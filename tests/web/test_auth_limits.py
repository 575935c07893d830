"""The failed-login limiter: lockouts, Retry-After, and that an attacker cannot
lock the owner out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from backchannel.web.login_limits import Backoff, LoginLimiter
from tests.web.auth_helpers import PASSWORD, AuthEnv, FakeClock, auth_env

ATTACKER = "203.0.113.66"
OWNER = "198.51.100.20"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def env(tmp_path: Path, clock: FakeClock) -> AsyncIterator[AuthEnv]:
    async with auth_env(tmp_path, limiter=LoginLimiter(clock=clock)) as env:
        await env.accounts.create_user("owner", PASSWORD)
        yield env


async def _fail(env: AuthEnv, address: str, name: str = "owner") -> int:
    status, _, _ = await env.login(env.browser(address), name, "not the password")
    return status


async def test_five_failures_then_429_with_retry_after(env: AuthEnv, clock: FakeClock) -> None:
    for _ in range(5):
        assert await _fail(env, ATTACKER) == 401
    attacker = env.browser(ATTACKER)
    async with attacker.post(
        env.url("/api/login"), json={"username": "owner", "password": PASSWORD}
    ) as resp:
        assert resp.status == 429  # even the right password waits out the lockout
        assert resp.headers["Retry-After"] == "30"
        body = await resp.json()
        assert body["error"]["code"] == "too_many_attempts"
    clock.advance(31)
    assert await _fail(env, ATTACKER) == 401  # the lockout ended; this failure doubles it
    async with attacker.post(
        env.url("/api/login"), json={"username": "owner", "password": "x" * 8}
    ) as resp:
        assert resp.status == 429 and resp.headers["Retry-After"] == "60"


async def test_the_owner_gets_in_from_another_address(env: AuthEnv) -> None:
    for _ in range(30):
        await _fail(env, ATTACKER)
    status, body, _ = await env.login(env.browser(OWNER), "owner")
    assert status == 200 and body["user"]["name"] == "owner"


async def test_a_session_does_not_lift_the_lockout_of_its_address(env: AuthEnv) -> None:
    # a stolen cookie must not allow unlimited guessing of the password
    owner = env.browser(ATTACKER)  # same address as the attacker, e.g. a shared NAT
    assert (await env.login(owner, "owner"))[0] == 200
    for _ in range(5):
        await _fail(env, ATTACKER)
    assert (await env.login(owner, "owner"))[0] == 429
    assert (await env.call(owner, "GET", "/api/me"))[0] == 200  # still logged in


async def test_success_clears_the_failures(env: AuthEnv) -> None:
    for _ in range(4):
        assert await _fail(env, OWNER) == 401
    assert (await env.login(env.browser(OWNER), "owner"))[0] == 200
    for _ in range(4):
        assert await _fail(env, OWNER) == 401
    assert (await env.login(env.browser(OWNER), "owner"))[0] == 200


async def test_one_address_trying_many_accounts_is_stopped(env: AuthEnv) -> None:
    statuses = [await _fail(env, ATTACKER, f"user{i}") for i in range(21)]
    assert statuses[:20] == [401] * 20
    assert statuses[20] == 429
    assert (await env.login(env.browser(OWNER), "owner"))[0] == 200


async def test_parallel_attempts_cannot_outrun_the_lockout(env: AuthEnv) -> None:
    statuses = await asyncio.gather(*(_fail(env, ATTACKER) for _ in range(12)))
    assert statuses.count(401) == 5
    assert statuses.count(429) == 7


async def test_distributed_attack_slows_unknown_addresses_only(
    env: AuthEnv, clock: FakeClock
) -> None:
    known = env.browser(OWNER)
    assert (await env.login(known, "owner"))[0] == 200
    for i in range(10):
        assert await _fail(env, f"203.0.113.{i}") == 401
    # unknown addresses now share one attempt per 10 s for this account
    assert await _fail(env, "192.0.2.50") == 401
    status, _, resp = await env.login(env.browser("192.0.2.51"), "owner")
    assert status == 429 and int(resp.headers["Retry-After"]) <= 10
    # the owner's known address is not slowed, nor is another account
    assert (await env.login(env.browser(OWNER), "owner"))[0] == 200
    await env.accounts.create_user("other", PASSWORD)
    assert (await env.login(env.browser("192.0.2.52"), "other"))[0] == 200
    clock.advance(11)
    assert (await env.login(env.browser("192.0.2.51"), "owner"))[0] == 200


def test_limiter_forgets_old_failures() -> None:
    clock = FakeClock()
    limiter = LoginLimiter(per_pair=Backoff(2, 10, 100, 50), clock=clock)
    for _ in range(2):
        assert limiter.begin("x", "a") == 0
        limiter.failed("x", "a")
    assert limiter.begin("x", "a") == 10
    clock.advance(60)  # past the lockout and the forget time
    assert limiter.begin("x", "a") == 0
    limiter.failed("x", "a")
    assert limiter.begin("x", "a") == 0  # counted from zero again


def test_lockouts_stop_growing() -> None:
    backoff = Backoff(5, 30, 3600, 86400)
    assert [backoff.lock(n) for n in (4, 5, 6, 7)] == [0, 30, 60, 120]
    assert backoff.lock(10_000) == 3600
