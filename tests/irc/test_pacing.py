"""Flood control, reconnect backoff and lag, with the time passed in."""

from __future__ import annotations

import random

import pytest

from backchannel.irc.pacing import Backoff, LagMeter, TokenBucket

# --- TokenBucket --------------------------------------------------------------


def test_burst_then_rate() -> None:
    bucket = TokenBucket(burst=5, rate=1.0)
    assert [bucket.take(100.0) for _ in range(5)] == [0.0] * 5
    assert bucket.take(100.0) == pytest.approx(1.0)
    assert bucket.take(100.5) == pytest.approx(0.5)
    assert bucket.take(101.0) == 0.0
    assert bucket.take(101.0) == pytest.approx(1.0)


def test_waiting_does_not_spend() -> None:
    bucket = TokenBucket(burst=1, rate=2.0)
    assert bucket.take(0.0) == 0.0
    assert bucket.take(0.0) == pytest.approx(0.5)
    assert bucket.take(0.0) == pytest.approx(0.5)  # the refused take spent nothing
    assert bucket.take(0.5) == 0.0


def test_refill_is_capped_at_burst() -> None:
    bucket = TokenBucket(burst=3, rate=1.0)
    for _ in range(3):
        bucket.take(0.0)
    assert bucket.available(1000.0) == pytest.approx(3.0)
    assert [bucket.take(1000.0) for _ in range(4)][-1] == pytest.approx(1.0)


def test_clock_going_backwards_mints_nothing() -> None:
    bucket = TokenBucket(burst=1, rate=1.0)
    assert bucket.take(10.0) == 0.0
    assert bucket.take(5.0) > 0.0
    assert bucket.take(10.5) == pytest.approx(0.5)


@pytest.mark.parametrize(("burst", "rate"), [(0, 1.0), (5, 0.0), (5, -1.0)])
def test_bucket_rejects_bad_settings(burst: int, rate: float) -> None:
    with pytest.raises(ValueError):
        TokenBucket(burst=burst, rate=rate)


# --- Backoff ------------------------------------------------------------------


def test_backoff_doubles_up_to_cap_without_jitter() -> None:
    backoff = Backoff(random.Random(1), initial=2.0, factor=2.0, cap=300.0, jitter=0.0)
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays == [2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 300.0, 300.0]
    assert backoff.attempts == 10


def test_backoff_reset() -> None:
    backoff = Backoff(random.Random(1), jitter=0.0)
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.attempts == 0
    assert backoff.next_delay() == 2.0


def test_jitter_stays_within_twenty_percent_and_under_cap() -> None:
    backoff = Backoff(random.Random(42))
    base = 2.0
    for _ in range(30):
        delay = backoff.next_delay()
        assert 0.8 * base - 1e-9 <= delay <= 1.2 * base + 1e-9
        assert delay <= 300.0
        base = min(250.0, base * 2)  # 250 * 1.2 == the cap


def test_jitter_is_deterministic_per_seed_and_actually_random() -> None:
    one, two = Backoff(random.Random(7)), Backoff(random.Random(7))
    assert [one.next_delay() for _ in range(5)] == [two.next_delay() for _ in range(5)]
    many = {Backoff(random.Random(seed)).next_delay() for seed in range(20)}
    assert len(many) > 1
    assert any(d != 2.0 for d in many)


def test_many_attempts_do_not_overflow() -> None:
    backoff = Backoff(random.Random(0), jitter=0.0)
    for _ in range(5000):
        delay = backoff.next_delay()
    assert delay == 300.0


@pytest.mark.parametrize(
    "kwargs",
    [{"initial": 0.0}, {"initial": 10.0, "cap": 5.0}, {"factor": 0.5}, {"jitter": 1.0}],
)
def test_backoff_rejects_bad_settings(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        Backoff(random.Random(0), **kwargs)


# --- LagMeter -----------------------------------------------------------------


def test_ping_due_only_after_idle() -> None:
    meter = LagMeter(idle_interval=60.0, timeout=120.0)
    meter.connected(0.0)
    assert not meter.ping_due(59.9)
    meter.received(30.0)
    assert not meter.ping_due(60.0)
    assert meter.ping_due(90.0)
    assert meter.next_check(80.0) == pytest.approx(10.0)


def test_pong_measures_lag() -> None:
    meter = LagMeter()
    meter.connected(0.0)
    token = meter.ping(100.0)
    assert meter.awaiting_pong
    assert not meter.ping_due(1000.0)  # one PING at a time
    assert meter.pong("someone-else", 100.2) is None
    assert meter.pong(token, 100.25) == pytest.approx(0.25)
    assert meter.lag == pytest.approx(0.25)
    assert not meter.awaiting_pong
    assert meter.pong(token, 101.0) is None  # answered already


def test_tokens_differ() -> None:
    meter = LagMeter()
    assert meter.ping(0.0) != meter.ping(1.0)


def test_dead_after_timeout_without_pong() -> None:
    meter = LagMeter(idle_interval=60.0, timeout=120.0)
    meter.connected(0.0)
    meter.ping(60.0)
    meter.received(100.0)  # other traffic does not answer our PING
    assert not meter.is_dead(179.9)
    assert meter.next_check(170.0) == pytest.approx(10.0)
    assert meter.is_dead(180.0)


def test_not_dead_without_ping_in_flight() -> None:
    meter = LagMeter(idle_interval=60.0, timeout=120.0)
    meter.connected(0.0)
    assert not meter.is_dead(10_000.0)


def test_current_lag_grows_while_waiting() -> None:
    meter = LagMeter()
    meter.connected(0.0)
    assert meter.current_lag(0.0) is None
    token = meter.ping(10.0)
    meter.pong(token, 10.5)
    meter.ping(20.0)
    assert meter.current_lag(20.2) == pytest.approx(0.5)
    assert meter.current_lag(23.0) == pytest.approx(3.0)


def test_reconnect_forgets_ping_in_flight() -> None:
    meter = LagMeter(idle_interval=60.0, timeout=120.0)
    meter.connected(0.0)
    meter.ping(60.0)
    meter.connected(500.0)
    assert not meter.is_dead(500.0)
    assert not meter.ping_due(550.0)
    assert meter.ping_due(560.0)


def test_jitter_still_spreads_delays_at_the_cap() -> None:
    backoff = Backoff(random.Random(3), initial=2.0, cap=300.0, jitter=0.2)
    for _ in range(20):
        backoff.next_delay()
    at_cap = [backoff.next_delay() for _ in range(20)]
    assert len(set(at_cap)) == 20  # none piled up on the cap itself
    assert all(200.0 <= d <= 300.0 for d in at_cap)
