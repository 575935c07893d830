"""Events about the connection, the server and its replies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from backchannel.state.events.base import Event

__all__ = [
    "BatchEnded",
    "BatchStarted",
    "CapsChanged",
    "ISupportChanged",
    "Motd",
    "NickError",
    "Registered",
    "ServerError",
    "ServerReply",
    "StandardReply",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Registered(Event):
    """001 RPL_WELCOME: registration is complete; ``nick`` is ours."""

    kind: ClassVar[str] = "registered"
    nick: str
    server: str | None
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ISupportChanged(Event):
    """005: the raw tokens of this line (``-NAME`` withdraws one)."""

    kind: ClassVar[str] = "isupport"
    tokens: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CapsChanged(Event):
    kind: ClassVar[str] = "caps"
    enabled: tuple[str, ...]
    disabled: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Motd(Event):
    """376/422: the whole message of the day (empty when there is none)."""

    kind: ClassVar[str] = "motd"
    lines: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class NickError(Event):
    """432/433/436/437: ``nick`` was refused; the irc layer picks another."""

    kind: ClassVar[str] = "nick_error"
    code: str
    nick: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerError(Event):
    """ERROR: the server is closing the connection."""

    kind: ClassVar[str] = "error"
    message: str


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchStarted(Event):
    kind: ClassVar[str] = "batch_start"
    ref: str
    type: str
    params: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class BatchEnded(Event):
    kind: ClassVar[str] = "batch_end"
    ref: str
    type: str
    params: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class StandardReply(Event):
    """FAIL/WARN/NOTE (IRCv3 standard-replies); ``command`` may be "*"."""

    kind: ClassVar[str] = "standard_reply"
    severity: str
    command: str
    code: str
    context: tuple[str, ...]
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerReply(Event):
    """A numeric worth showing (WHOIS, LUSERS, errors...). ``params`` are
    without the leading client nick; ``text`` is the last one."""

    kind: ClassVar[str] = "server_reply"
    code: str
    params: tuple[str, ...]
    text: str
