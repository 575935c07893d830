"""Pacing for an IRC connection: flood control, reconnect backoff, lag.

Pure helpers: no asyncio and no clock. Every method that needs the time takes
``now`` (seconds from any monotonic origin, e.g. ``loop.time()``), and the
backoff takes its own ``random.Random`` so tests can seed it.
"""

from __future__ import annotations

import random

__all__ = ["Backoff", "LagMeter", "TokenBucket"]


class TokenBucket:
    """Flood control: up to ``burst`` lines at once, then ``rate`` lines/s.

    The bucket starts full. :meth:`take` either spends a token (returns 0.0)
    or returns how long to wait before trying again, spending nothing."""

    __slots__ = ("_last", "_tokens", "burst", "rate")

    def __init__(self, burst: int = 5, rate: float = 1.0) -> None:
        if burst < 1:
            raise ValueError("burst must be at least 1")
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.burst = burst
        self.rate = rate
        self._tokens = float(burst)
        self._last: float | None = None

    def _refill(self, now: float) -> None:
        if self._last is not None and now > self._last:
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
        if self._last is None or now > self._last:
            # a clock that goes backwards never mints tokens
            self._last = now

    def take(self, now: float) -> float:
        """Spend one token at ``now`` and return 0.0, or return the seconds to
        wait until one is available (spending nothing)."""
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return 0.0
        return (1.0 - self._tokens) / self.rate

    def available(self, now: float) -> float:
        """Tokens available at ``now`` (fractional)."""
        self._refill(now)
        return self._tokens


class Backoff:
    """Capped exponential backoff with jitter for reconnecting.

    Delays grow ``initial``, ``initial*factor``, … and each is multiplied by
    a random factor in ``[1 - jitter, 1 + jitter]``. The base stops growing at
    ``cap / (1 + jitter)``, so no delay exceeds ``cap`` and delays at the cap
    stay spread out (200–300 s with the defaults) instead of piling up on it."""

    __slots__ = ("_base", "_rng", "attempts", "cap", "factor", "initial", "jitter")

    def __init__(
        self,
        rng: random.Random,
        initial: float = 2.0,
        factor: float = 2.0,
        cap: float = 300.0,
        jitter: float = 0.2,
    ) -> None:
        if initial <= 0 or cap < initial:
            raise ValueError("need 0 < initial <= cap")
        if factor < 1:
            raise ValueError("factor must be at least 1")
        if not 0 <= jitter < 1:
            raise ValueError("jitter must be in [0, 1)")
        self.initial = initial
        self.factor = factor
        self.cap = cap
        self.jitter = jitter
        self._rng = rng
        self._base = initial
        self.attempts = 0

    def next_delay(self) -> float:
        """The delay before the next attempt; each call counts one attempt."""
        ceiling = self.cap / (1.0 + self.jitter)
        base = min(self._base, ceiling)
        # the base grows only up to the ceiling, however many attempts there are
        self._base = min(ceiling, base * self.factor)
        self.attempts += 1
        spread = self._rng.uniform(1.0 - self.jitter, 1.0 + self.jitter)
        return min(self.cap, base * spread)

    def reset(self) -> None:
        """Start again from ``initial`` (call once a connection has proved good)."""
        self._base = self.initial
        self.attempts = 0


class LagMeter:
    """Keepalive and lag for one connection.

    When nothing has been received for ``idle_interval`` seconds, send a PING
    with the token from :meth:`ping`; the matching PONG gives the lag. A PING
    unanswered for ``timeout`` seconds means the link is dead. Call
    :meth:`connected` when the connection opens, :meth:`received` for every
    line read and :meth:`pong` for every PONG."""

    __slots__ = (
        "_counter",
        "_in_flight",
        "_last_received",
        "_sent_at",
        "idle_interval",
        "lag",
        "timeout",
    )

    def __init__(self, idle_interval: float = 60.0, timeout: float = 120.0) -> None:
        if idle_interval <= 0 or timeout <= 0:
            raise ValueError("intervals must be positive")
        self.idle_interval = idle_interval
        self.timeout = timeout
        #: the last measured round trip in seconds, None before the first PONG
        self.lag: float | None = None
        self._last_received = 0.0
        self._in_flight: str | None = None
        self._sent_at = 0.0
        self._counter = 0

    def connected(self, now: float) -> None:
        """A new connection opened at ``now``: forget any PING in flight."""
        self._last_received = now
        self._in_flight = None
        self.lag = None

    def received(self, now: float) -> None:
        """A line arrived at ``now``."""
        self._last_received = max(self._last_received, now)

    @property
    def awaiting_pong(self) -> bool:
        return self._in_flight is not None

    def ping_due(self, now: float) -> bool:
        """Whether to send a PING now: idle long enough and none in flight."""
        return self._in_flight is None and now - self._last_received >= self.idle_interval

    def ping(self, now: float) -> str:
        """Record a PING sent at ``now`` and return its token; send it as
        ``PING :<token>``."""
        self._counter += 1
        self._in_flight = f"backchannel-{self._counter}"
        self._sent_at = now
        return self._in_flight

    def pong(self, token: str, now: float) -> float | None:
        """A PONG carrying ``token`` arrived at ``now``: the measured lag, or
        None when it does not answer our PING in flight."""
        if self._in_flight is None or token != self._in_flight:
            return None
        self._in_flight = None
        self.lag = max(0.0, now - self._sent_at)
        return self.lag

    def current_lag(self, now: float) -> float | None:
        """The lag to show: the last measurement, or how long the PING in
        flight has waited when that is longer."""
        if self._in_flight is not None:
            waited = now - self._sent_at
            if self.lag is None or waited > self.lag:
                return waited
        return self.lag

    def is_dead(self, now: float) -> bool:
        """Whether our PING has gone unanswered for ``timeout`` seconds."""
        return self._in_flight is not None and now - self._sent_at >= self.timeout

    def next_check(self, now: float) -> float:
        """Seconds from ``now`` until :meth:`ping_due` or :meth:`is_dead`
        could next change; sleep that long (or until a line arrives)."""
        if self._in_flight is not None:
            deadline = self._sent_at + self.timeout
        else:
            deadline = self._last_received + self.idle_interval
        return max(0.0, deadline - now)
