"""Events the engine itself reports (connection life, SASL, lag), shaped like
the state layer's events so one stream carries both."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from backchannel.state.events.base import Event

__all__ = ["Lag", "SaslOutcome", "Status", "StsApplied"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Event):
    """The connection's life: ``state`` is one of ``connecting``,
    ``connected`` (TCP/TLS up, registering), ``registered``, ``disconnected``
    (with ``next_attempt`` when a reconnect is scheduled) or ``failed``
    (given up: it will not retry)."""

    kind: ClassVar[str] = "status"
    state: str
    host: str
    port: int
    tls: bool
    reason: str = ""
    attempt: int = 0
    next_attempt: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SaslOutcome(Event):
    kind: ClassVar[str] = "sasl"
    success: bool
    mechanism: str
    account: str | None = None
    reason: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Lag(Event):
    """Round trip of our own PING, in seconds."""

    kind: ClassVar[str] = "lag"
    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class StsApplied(Event):
    """A Strict Transport Security policy took effect: ``upgrade`` when a
    plaintext connection is being replaced by TLS on ``port``."""

    kind: ClassVar[str] = "sts"
    host: str
    port: int
    upgrade: bool
    duration: int | None = None
