"""The abuse limits' bookkeeping, alone (the web tests drive them through a
running server)."""

from __future__ import annotations

import contextlib

import pytest

from backchannel.session.limits import (
    AddressQuota,
    LimitExceeded,
    LineBudget,
    StreamCounter,
    address_group,
)


@pytest.mark.parametrize(
    "address, group",
    [
        ("203.0.113.7", "203.0.113.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.7", "203.0.113.7"),
        ("fe80::1%eth0", "fe80::/64"),
        ("", ""),
        ("unix-socket", "unix-socket"),
    ],
)
def test_address_groups(address: str, group: str) -> None:
    assert address_group(address) == group


def test_streams_are_counted_per_user_and_per_address_and_released() -> None:
    streams = StreamCounter(per_user=2, per_address=3)
    with streams.hold(1, "10.0.0.1"), streams.hold(1, "10.0.0.1"):
        with pytest.raises(LimitExceeded) as exc:
            streams.check(1, "10.0.0.2")
        assert exc.value.code == "too_many_streams"
        with streams.hold(2, "10.0.0.1"):
            with pytest.raises(LimitExceeded):
                streams.check(3, "10.0.0.1")  # the address is full
            streams.check(3, "10.0.0.2")  # another address is not
        assert streams.open_for(1) == 2
    assert streams.open_for(1) == 0
    with streams.hold(1, "10.0.0.1"):  # released even when the block raised before
        pass


def test_a_stream_is_released_when_its_block_fails() -> None:
    streams = StreamCounter(per_user=1, per_address=0)
    with pytest.raises(RuntimeError), streams.hold("u", "a"):
        raise RuntimeError("the handler failed")
    streams.check("u", "a")


def test_an_ipv6_host_cannot_dodge_the_address_limit_by_changing_address() -> None:
    streams = StreamCounter(per_user=0, per_address=1)
    with streams.hold(1, "2001:db8::1"), pytest.raises(LimitExceeded):
        streams.check(2, "2001:db8::2")


def test_zero_is_no_limit() -> None:
    streams = StreamCounter(0, 0)
    with contextlib.ExitStack() as held:
        for _ in range(100):
            held.enter_context(streams.hold(1, "a"))
        streams.check(1, "a")
        assert streams.open_for(1) == 100
    budget = LineBudget(0, 0)
    for _ in range(1000):
        budget.check("u")
        budget.charge("u", 100)
    assert len(budget) == 0
    quota = AddressQuota(0)
    for n in range(100):
        quota.add("a", n)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_line_budget_lets_a_burst_through_then_waits_for_the_debt() -> None:
    clock = Clock()
    budget = LineBudget(rate=5, burst=20, clock=clock)
    budget.check("u")
    budget.charge("u", 50)  # a long paste goes out whole...
    with pytest.raises(LimitExceeded) as exc:
        budget.check("u")  # ...and the next send waits
    assert exc.value.code == "rate_limited"
    assert "5 lines a second" in exc.value.message
    budget.check("v")  # someone else is not held up
    clock.now += 6.0  # 30 lines paid back: still 1 short
    with pytest.raises(LimitExceeded):
        budget.check("u")
    clock.now += 0.2
    budget.check("u")


def test_line_budget_forgets_full_buckets() -> None:
    clock = Clock()
    budget = LineBudget(rate=10, burst=10, clock=clock)
    for user in range(100):
        budget.charge(user, 1)
    assert len(budget) == 100
    clock.now += 1.0
    for user in range(100):
        budget.check(user)
    assert len(budget) == 0


def test_address_quota_counts_members_and_frees_them() -> None:
    quota = AddressQuota(per_address=2)
    quota.add("192.0.2.1", "a")
    quota.add("192.0.2.1", "b")
    quota.add("192.0.2.1", "b")  # the same member again is not another one
    with pytest.raises(LimitExceeded) as exc:
        quota.add("192.0.2.1", "c")
    assert exc.value.code == "too_many_sessions"
    quota.add("192.0.2.2", "c")
    quota.discard("a")
    quota.discard("a")  # twice is harmless
    quota.add("192.0.2.1", "d")
    assert quota.count("192.0.2.1") == 2
    quota.discard("b")
    quota.discard("d")
    assert quota.count("192.0.2.1") == 0
