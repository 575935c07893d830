"""Abuse limits: how much one user, one public session or one client address
may hold at once or send per second. Each limit is a number from the
settings; 0 means no limit. Pure bookkeeping: the callers turn
:class:`LimitExceeded` into an answer (HTTP 429, a seed ERROR, a WebSocket
error reply) and nothing is sent or started.

Client addresses are grouped the way abusers rotate them: an IPv6 address
counts as its /64 (one host usually has a whole /64), an IPv4 address as
itself."""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AddressQuota",
    "LimitExceeded",
    "Limits",
    "LineBudget",
    "StreamCounter",
    "address_group",
]


class LimitExceeded(Exception):
    """A limit was reached; ``code`` names it (``too_many_streams``...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def address_group(address: str) -> str:
    """The unit address limits count by: IPv4 as is, IPv6 by its /64."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address  # not an IP (a Unix socket peer, a test client): as given
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((int(ip) >> 64 << 64, 64)))
    return str(ip)


class StreamCounter:
    """Concurrent event streams (long-polls, SSE streams, WebSockets, seed
    pulls) per user and per client address."""

    def __init__(self, per_user: int, per_address: int) -> None:
        self.per_user = per_user
        self.per_address = per_address
        self._users: dict[Hashable, int] = {}
        self._addresses: dict[str, int] = {}

    def check(self, user: Hashable, address: str) -> None:
        """Raise if one more stream of ``user`` from ``address`` is over a limit."""
        group = address_group(address)
        if self.per_user and self._users.get(user, 0) >= self.per_user:
            raise LimitExceeded(
                "too_many_streams",
                f"this account already has {self.per_user} open event streams "
                "(polls, streams and sockets); close one first",
            )
        if self.per_address and self._addresses.get(group, 0) >= self.per_address:
            raise LimitExceeded(
                "too_many_streams",
                f"your address already has {self.per_address} open event streams",
            )

    @contextmanager
    def hold(self, user: Hashable, address: str) -> Iterator[None]:
        """Count one stream for as long as the block runs (raises before it
        starts when over a limit)."""
        self.check(user, address)
        group = address_group(address)
        self._users[user] = self._users.get(user, 0) + 1
        self._addresses[group] = self._addresses.get(group, 0) + 1
        try:
            yield
        finally:
            _decrement(self._users, user)
            _decrement(self._addresses, group)

    def open_for(self, user: Hashable) -> int:
        return self._users.get(user, 0)


def _decrement(counts: dict[Any, int], key: Any) -> None:
    left = counts.get(key, 0) - 1
    if left > 0:
        counts[key] = left
    else:
        counts.pop(key, None)


@dataclass(slots=True)
class _Bucket:
    tokens: float
    stamp: float


class LineBudget:
    """Lines a user may send to IRC: ``rate`` a second, in bursts of up to
    ``burst``. A request is let through while the budget is positive and then
    charged for every line it sent, so a long paste goes out whole and the
    next one waits until the debt is paid back."""

    def __init__(
        self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1.0, burst)
        self._clock = clock
        self._buckets: dict[Hashable, _Bucket] = {}

    @property
    def unlimited(self) -> bool:
        return self.rate <= 0

    def _refilled(self, key: Hashable) -> _Bucket | None:
        bucket = self._buckets.get(key)
        if bucket is None:
            return None
        now = self._clock()
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.stamp) * self.rate)
        bucket.stamp = now
        if bucket.tokens >= self.burst:
            del self._buckets[key]  # full again: nothing to remember
            return None
        return bucket

    def check(self, key: Hashable) -> None:
        """Raise when ``key`` has no budget left."""
        if self.unlimited:
            return
        bucket = self._refilled(key)
        if bucket is not None and bucket.tokens < 1:
            wait = (1 - bucket.tokens) / self.rate
            raise LimitExceeded(
                "rate_limited",
                f"sending too fast: at most {self.rate:g} lines a second; "
                f"try again in {wait:.1f} s",
            )

    def charge(self, key: Hashable, lines: int) -> None:
        if self.unlimited or lines <= 0:
            return
        bucket = self._refilled(key)
        if bucket is None:
            bucket = self._buckets[key] = _Bucket(self.burst, self._clock())
        bucket.tokens -= lines

    def __len__(self) -> int:
        return len(self._buckets)


class AddressQuota:
    """Public sessions (guest accounts and anonymous seed sessions) per
    client address."""

    def __init__(self, per_address: int) -> None:
        self.per_address = per_address
        self._members: dict[str, set[Hashable]] = {}
        self._group_of: dict[Hashable, str] = {}

    def add(self, address: str, member: Hashable) -> None:
        """Count ``member`` for ``address``; raises when it is already full."""
        group = address_group(address)
        if member not in self._members.get(group, ()):
            self.check(address)
        self._members.setdefault(group, set()).add(member)
        self._group_of[member] = group

    def discard(self, member: Hashable) -> None:
        group = self._group_of.pop(member, None)
        if group is None:
            return
        members = self._members.get(group)
        if members is not None:
            members.discard(member)
            if not members:
                del self._members[group]

    def check(self, address: str) -> None:
        """Raise when ``address`` cannot have another session."""
        if self.per_address and self.count(address) >= self.per_address:
            raise LimitExceeded(
                "too_many_sessions",
                f"your address already has {self.per_address} sessions open here; "
                "close one or wait for it to expire",
            )

    def count(self, address: str) -> int:
        return len(self._members.get(address_group(address), ()))


@dataclass(slots=True)
class Limits:
    """Every abuse limit of one server (0: none)."""

    streams: StreamCounter
    lines: LineBudget
    public_sessions: AddressQuota
    max_networks: int = 0
    max_channels: int = 0

    @classmethod
    def unlimited(cls) -> Limits:
        return cls(StreamCounter(0, 0), LineBudget(0, 0), AddressQuota(0))
