"""Events about users (ourselves included)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from backchannel.state.events.base import Event

__all__ = ["AccountChanged", "AwayChanged", "HostChanged", "NickChanged", "Quit", "RealnameChanged"]


@dataclass(frozen=True, slots=True, kw_only=True)
class NickChanged(Event):
    kind: ClassVar[str] = "nick"
    old: str
    new: str
    self: bool
    channels: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class AwayChanged(Event):
    """``message`` None: back; "" away with an unknown message (306).
    ``reply``: a 301 answer (to WHOIS, or to a message we sent them), not a
    change announced by away-notify."""

    kind: ClassVar[str] = "away"
    nick: str
    message: str | None
    self: bool
    reply: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class AccountChanged(Event):
    kind: ClassVar[str] = "account"
    nick: str
    account: str | None
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class HostChanged(Event):
    kind: ClassVar[str] = "chghost"
    nick: str
    user: str | None
    host: str
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class RealnameChanged(Event):
    kind: ClassVar[str] = "setname"
    nick: str
    realname: str
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Quit(Event):
    """``channels``: the channels we shared with the user."""

    kind: ClassVar[str] = "quit"
    nick: str
    reason: str | None
    channels: tuple[str, ...]
    self: bool
