"""Events about channels, their members and modes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from backchannel.state.events.base import Event, ModeChange, NamesEntry

__all__ = [
    "ChannelModes",
    "Invited",
    "Joined",
    "Kicked",
    "ModeChanged",
    "NamesReply",
    "Parted",
    "Topic",
    "TopicWhoTime",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Joined(Event):
    kind: ClassVar[str] = "join"
    channel: str
    nick: str
    user: str | None
    host: str | None
    account: str | None
    realname: str | None
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Parted(Event):
    kind: ClassVar[str] = "part"
    channel: str
    nick: str
    reason: str | None
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Kicked(Event):
    """``nick`` was kicked by ``by``; ``self`` when we were kicked."""

    kind: ClassVar[str] = "kick"
    channel: str
    nick: str
    by: str
    reason: str | None
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class NamesReply(Event):
    """366 after 353s: the complete member list of a channel."""

    kind: ClassVar[str] = "names"
    channel: str
    members: tuple[NamesEntry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Topic(Event):
    """TOPIC (``changed``, ``setter`` set), 332 or 331 (empty ``topic``)."""

    kind: ClassVar[str] = "topic"
    channel: str
    topic: str
    setter: str | None
    changed: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class TopicWhoTime(Event):
    """333: who set the current topic, and when."""

    kind: ClassVar[str] = "topic_who_time"
    channel: str
    setter: str
    set_at: datetime | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ModeChanged(Event):
    """MODE on a channel or on our own nick (``target``)."""

    kind: ClassVar[str] = "mode"
    target: str
    changes: tuple[ModeChange, ...]
    by: str | None
    self: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class ChannelModes(Event):
    """324: the channel's current modes, as additions."""

    kind: ClassVar[str] = "channel_modes"
    channel: str
    modes: tuple[ModeChange, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Invited(Event):
    """INVITE; ``self`` when ``target`` is us (else invite-notify)."""

    kind: ClassVar[str] = "invite"
    nick: str
    target: str
    channel: str
    self: bool
