"""A connect-rate limiter shared by every engine of the process, so that a
restart (or an IRC server coming back) does not open hundreds of connections
in the same second: IRC networks throttle or ban addresses that connect too
fast (the ``connect_rate`` setting, attempts per second; 0 = unlimited)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

__all__ = ["ConnectPacer"]


class ConnectPacer:
    """A token bucket over connection attempts: up to ``burst`` at once
    (default 1: attempts evenly spaced, never more than ``rate`` in any one
    second), then ``rate`` per second, first come first served.

    :meth:`wait` reserves the next free slot at once (GCRA: no queue, no
    task, no lock) and sleeps until it; a waiter that is cancelled leaves its
    slot unused, so the rate is never exceeded."""

    __slots__ = ("_clock", "_tat", "burst", "rate")

    def __init__(
        self, rate: float, burst: int = 1, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if rate < 0:
            raise ValueError("rate must not be negative")
        self.rate = rate
        self.burst = max(1, burst or 1)
        self._clock = clock
        self._tat = 0.0  # the theoretical arrival time of the next attempt

    @property
    def unlimited(self) -> bool:
        return self.rate == 0

    def reserve(self) -> float:
        """Take the next slot; returns the seconds to wait until it."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        interval = 1.0 / self.rate
        tat = max(self._tat, now)
        delay = tat - (self.burst - 1) * interval - now
        self._tat = tat + interval
        return max(0.0, delay)

    async def wait(self) -> None:
        """Wait for our turn to connect."""
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
