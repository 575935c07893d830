"""Commands carried out once per idempotency key (the web tests send them
through a running server)."""

from __future__ import annotations

import asyncio

import pytest

from backchannel.session.once import KEEP, TTL, OnceStore


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_key_runs_once_and_repeats_its_answer() -> None:
    once = OnceStore()
    runs: list[int] = []

    async def action() -> str:
        runs.append(1)
        return f"answer {len(runs)}"

    assert await once.run(1, "k", action) == "answer 1"
    assert await once.run(1, "k", action) == "answer 1"
    assert await once.run(2, "k", action) == "answer 2"  # keys are per user
    assert await once.run(1, None, action) == "answer 3"  # no key: always runs
    assert await once.run(1, None, action) == "answer 4"
    assert len(runs) == 4


async def test_a_failure_is_not_remembered() -> None:
    once = OnceStore()
    tries: list[int] = []

    async def flaky() -> str:
        tries.append(1)
        if len(tries) == 1:
            raise ValueError("not now")
        return "done"

    with pytest.raises(ValueError):
        await once.run(1, "k", flaky)
    assert await once.run(1, "k", flaky) == "done"
    assert await once.run(1, "k", flaky) == "done"
    assert len(tries) == 2


async def test_a_repeat_during_the_first_waits_for_its_answer() -> None:
    once = OnceStore()
    release = asyncio.Event()
    runs: list[int] = []

    async def slow() -> str:
        runs.append(1)
        await release.wait()
        return "late"

    first = asyncio.create_task(once.run(1, "k", slow))
    await asyncio.sleep(0)
    second = asyncio.create_task(once.run(1, "k", slow))
    await asyncio.sleep(0.01)
    assert not second.done()
    release.set()
    assert await asyncio.gather(first, second) == ["late", "late"]
    assert runs == [1]


async def test_keys_are_forgotten_after_their_time_and_past_the_count() -> None:
    clock = Clock()
    once = OnceStore(clock)
    runs: list[str] = []

    async def action() -> int:
        runs.append("x")
        return len(runs)

    assert await once.run(1, "old", action) == 1
    clock.now += TTL + 1
    assert await once.run(1, "old", action) == 2  # expired: runs again
    for n in range(KEEP + 1):
        await once.run(1, f"k{n}", action)
    before = len(runs)
    await once.run(1, "k0", action)  # pushed out by newer ones
    assert len(runs) == before + 1
    await once.run(1, f"k{KEEP}", action)  # still remembered
    assert len(runs) == before + 1
