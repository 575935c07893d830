"""IRCv3 Strict Transport Security: parsing the ``sts`` capability value and a
persisted policy.

Pure: no I/O and no clock; times are passed in as seconds since the epoch (or
any monotonic origin the caller keeps consistently).

The rules, from the ircv3.net ``sts`` specification:

* on an insecure connection only the ``port`` key counts: the client must
  close the connection and reconnect with TLS to that port (an *upgrade*);
  a ``duration`` seen there must be ignored;
* on a secure connection only the ``duration`` key counts: from now on the
  host must only be reached over TLS until ``now + duration`` (a
  *persistence* policy); ``duration=0`` removes the policy;
* every time the policy is seen again, and when a connection closes, the
  expiry is rescheduled to ``now + duration``;
* unknown keys are ignored; an invalid value for a key counts as a missing key.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

__all__ = ["StsAdvertisement", "StsPolicy", "normalize_host", "parse_sts_value"]


def _parse_port(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or not raw.isascii():
        return None
    port = int(raw)
    return port if 0 < port < 65536 else None


def _parse_duration(raw: str | None) -> int | None:
    if raw is None or not raw.isdigit() or not raw.isascii():
        return None
    return int(raw)


@dataclass(frozen=True, slots=True)
class StsAdvertisement:
    """The parts of an ``sts`` capability value this client understands.

    ``port`` and ``duration`` are None when missing or invalid."""

    port: int | None = None
    duration: int | None = None
    preload: bool = False


def parse_sts_value(value: str) -> StsAdvertisement:
    """Parse ``port=6697,duration=300,preload`` (keys in any order).

    A key given more than once is invalid and ignored, as is any unknown key."""
    seen: dict[str, str | None] = {}
    repeated: set[str] = set()
    for token in value.split(","):
        if not token:
            continue
        key, sep, val = token.partition("=")
        if key in seen:
            repeated.add(key)
        seen[key] = val if sep else None
    for key in repeated:
        seen.pop(key)
    return StsAdvertisement(
        port=_parse_port(seen.get("port")),
        duration=_parse_duration(seen.get("duration")),
        preload="preload" in seen,
    )


def normalize_host(host: str) -> str:
    """The key a policy is stored under: lower-case, without a trailing dot."""
    return host.strip().rstrip(".").lower()


@dataclass(frozen=True, slots=True)
class StsPolicy:
    """A persistence policy: ``host`` must be reached with TLS on ``port``
    until ``expires_at``. ``duration`` is kept to reschedule the expiry when a
    connection closes."""

    host: str
    port: int
    duration: int
    expires_at: float
    preload: bool = False

    @classmethod
    def from_duration(
        cls, host: str, port: int, duration: int, now: float, *, preload: bool = False
    ) -> StsPolicy | None:
        """The policy a secure connection to ``host:port`` advertised at ``now``;
        None when ``duration`` is 0 (the stored policy must then be removed)."""
        if duration < 0:
            raise ValueError("an STS duration cannot be negative")
        if not 0 < port < 65536:
            raise ValueError(f"invalid port {port}")
        if duration == 0:
            return None
        return cls(normalize_host(host), port, duration, now + duration, preload)

    def is_active(self, now: float) -> bool:
        """Whether connections to the host must still use TLS at ``now``."""
        return now < self.expires_at

    def rescheduled(self, now: float) -> StsPolicy:
        """The same policy with its expiry moved to ``now + duration``: call it
        when a connection to the host closes."""
        return replace(self, expires_at=now + self.duration)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready form for persistence."""
        return {
            "host": self.host,
            "port": self.port,
            "duration": self.duration,
            "expires_at": self.expires_at,
            "preload": self.preload,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> StsPolicy:
        """Read what :meth:`to_dict` wrote; raises ValueError for anything else."""
        try:
            host = data["host"]
            port = data["port"]
            duration = data["duration"]
            expires_at = data["expires_at"]
            preload = data.get("preload", False)
        except (KeyError, TypeError, AttributeError) as exc:
            raise ValueError(f"not an STS policy: {data!r}") from exc
        if not isinstance(host, str) or not host:
            raise ValueError("STS policy host must be a non-empty string")
        if type(port) is not int or not 0 < port < 65536:
            raise ValueError(f"invalid STS policy port {port!r}")
        if type(duration) is not int or duration <= 0:
            raise ValueError(f"invalid STS policy duration {duration!r}")
        if type(expires_at) not in (int, float) or not math.isfinite(expires_at):
            raise ValueError(f"invalid STS policy expiry {expires_at!r}")
        if not isinstance(preload, bool):
            raise ValueError(f"invalid STS policy preload flag {preload!r}")
        return cls(normalize_host(host), port, duration, float(expires_at), preload)
