"""The failed-login limiter: in memory, per (account, address), per address,
and per account only against distributed attacks (see :class:`LoginLimiter`)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Backoff", "LoginLimiter"]


@dataclass(frozen=True, slots=True)
class Backoff:
    """``free`` failures are allowed; then each failure locks the key for
    ``first`` seconds, doubling up to ``longest``. Failures are forgotten
    ``forget`` seconds after the last one."""

    free: int
    first: float
    longest: float
    forget: float

    def lock(self, failures: int) -> float:
        if failures < self.free:
            return 0.0
        return min(self.first * 2.0 ** min(failures - self.free, 32), self.longest)


@dataclass(slots=True)
class _Bucket:
    failures: int = 0
    last: float = 0.0
    locked_until: float = 0.0


class _Buckets:
    """Failure counts by key, bounded in number (stale ones are swept; past
    ``limit``, the least recently failing are dropped)."""

    def __init__(self, backoff: Backoff, limit: int = 100_000) -> None:
        self.backoff = backoff
        self._limit = limit
        self._items: dict[object, _Bucket] = {}

    def wait(self, key: object, now: float) -> float:
        bucket = self._items.get(key)
        return 0.0 if bucket is None else max(0.0, bucket.locked_until - now)

    def fail(self, key: object, now: float) -> None:
        bucket = self._items.pop(key, None) or _Bucket()
        if now - bucket.last > self.backoff.forget:
            bucket.failures = 0
        bucket.failures += 1
        bucket.last = now
        lock = self.backoff.lock(bucket.failures)
        if lock:
            bucket.locked_until = now + lock
        self._items[key] = bucket  # re-inserted: the dict is ordered by last failure
        if len(self._items) > self._limit:
            self._sweep(now)

    def undo(self, key: object) -> None:
        """Take back one failure (a provisional one, see LoginLimiter.begin)."""
        bucket = self._items.get(key)
        if bucket is not None:
            bucket.failures = max(0, bucket.failures - 1)
            if bucket.failures < self.backoff.free:
                bucket.locked_until = 0.0

    def clear(self, key: object) -> None:
        self._items.pop(key, None)

    def _sweep(self, now: float) -> None:
        for key, bucket in list(self._items.items()):
            if bucket.locked_until <= now and now - bucket.last > self.backoff.forget:
                del self._items[key]
        while len(self._items) > self._limit:
            del self._items[next(iter(self._items))]


class LoginLimiter:
    """Failed logins, limited in memory so that an attacker cannot lock the
    owner out.

    Three limits, checked before a password is verified:

    * per (account, address): 5 free failures, then a lockout of 30 s doubling
      up to an hour. This is what stops one address guessing one password,
      and it touches nobody else: the owner on another address is unaffected.
    * per address, over all accounts: 20 free failures, then the same growth.
      It stops one address trying a common password on many accounts.
    * per account, over all addresses: only when failures come from many
      addresses (``spread`` distinct ones within ``window``), a sign of a
      distributed attack. Even then it only slows *unknown* clients, to one
      attempt per ``interval`` for the account; an address that has logged in
      to the account before, or a browser holding a session of it, is exempt.
      A single address can never trigger it, so hammering account X from
      address A cannot stop the owner logging in from address B.

    An attempt counts as a failure as soon as it starts (taken back if the
    password was right), so parallel requests cannot outrun the lockout.
    State lives in memory and dies with the process; the client address is
    whatever ``app[CLIENT_ADDRESS]`` says.
    """

    def __init__(
        self,
        per_pair: Backoff = Backoff(5, 30.0, 3600.0, 86400.0),
        per_address: Backoff = Backoff(20, 30.0, 3600.0, 86400.0),
        spread: int = 10,
        window: float = 3600.0,
        interval: float = 10.0,
        trust_for: float = 30 * 86400.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._pairs = _Buckets(per_pair)
        self._addresses = _Buckets(per_address)
        self._spread = spread
        self._window = window
        self._interval = interval
        self._trust_for = trust_for
        self._clock = clock
        self._failing: dict[str, dict[str, float]] = {}  # account -> address -> last failure
        self._next_unknown: dict[str, float] = {}  # account -> next slot for unknown clients
        self._trusted: dict[str, dict[str, float]] = {}  # account -> address -> last login

    @staticmethod
    def _account(name: str) -> str:
        return name[:64].lower()

    def _under_attack(self, account: str, now: float) -> bool:
        failing = self._failing.get(account)
        if not failing:
            return False
        for address, last in list(failing.items()):
            if now - last > self._window:
                del failing[address]
        if not failing:
            del self._failing[account]
            self._next_unknown.pop(account, None)
        return len(failing) >= self._spread

    def _known(self, account: str, address: str, now: float) -> bool:
        last = self._trusted.get(account, {}).get(address)
        return last is not None and now - last <= self._trust_for

    def begin(self, name: str, address: str, *, trusted: bool = False) -> float:
        """Seconds to wait before this attempt may be made; 0 means go ahead
        (and the attempt is counted as a failure until :meth:`succeeded`)."""
        now = self._clock()
        account = self._account(name)
        pair = (account, address)
        wait = max(self._pairs.wait(pair, now), self._addresses.wait(address, now))
        throttled = (
            not trusted
            and self._under_attack(account, now)
            and not self._known(account, address, now)
        )
        if throttled:
            wait = max(wait, self._next_unknown.get(account, 0.0) - now)
        if wait > 0:
            return wait
        if throttled:
            self._next_unknown[account] = now + self._interval
        self._pairs.fail(pair, now)
        self._addresses.fail(address, now)
        return 0.0

    def failed(self, name: str, address: str) -> None:
        account = self._account(name)
        failing = self._failing.setdefault(account, {})
        failing.pop(address, None)
        failing[address] = self._clock()
        if len(failing) > 1000:  # enough to know; keep memory bounded
            del failing[next(iter(failing))]

    def succeeded(self, name: str, address: str) -> None:
        account = self._account(name)
        self._pairs.clear((account, address))
        self._addresses.undo(address)
        trusted = self._trusted.setdefault(account, {})
        trusted.pop(address, None)
        trusted[address] = self._clock()
        if len(trusted) > 100:
            del trusted[next(iter(trusted))]
