"""The mutable records a :class:`NetworkState` keeps: users, channels, queries.

They belong to the state and change only inside ``apply``; upper layers read
them (or, better, the events) and never write to them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from backchannel.protocol.casemap import RFC1459, Casemap, IRCDict

__all__ = ["Channel", "Query", "User"]


@dataclass(slots=True)
class User:
    """A user we share a channel with (or ourselves). ``away`` is None when
    present, else the away message ("" when unknown); ``account`` is None when
    not logged in or not known."""

    nick: str
    user: str | None = None
    host: str | None = None
    account: str | None = None
    away: str | None = None
    realname: str | None = None

    def update_mask(self, user: str | None, host: str | None) -> None:
        if user:
            self.user = user
        if host:
            self.host = host


def _members() -> IRCDict[str]:
    return IRCDict(RFC1459)


@dataclass(slots=True)
class Channel:
    """A channel we are in. ``members`` maps each nick to its prefix modes
    (``"ov"``, highest first; "" for none). ``modes`` holds the set modes
    that are not lists or prefixes, with their parameter (None for flags)."""

    name: str
    members: IRCDict[str] = field(default_factory=_members)
    topic: str = ""
    topic_setter: str | None = None
    topic_time: datetime | None = None
    modes: dict[str, str | None] = field(default_factory=dict)
    created: datetime | None = None
    # the roster being built by 353 replies until 366 ends it
    pending_names: IRCDict[str] | None = None

    @classmethod
    def new(cls, name: str, casemap: Casemap) -> Channel:
        return cls(name, members=IRCDict(casemap))

    def set_casemap(self, casemap: Casemap) -> None:
        self.members.set_casemap(casemap)
        if self.pending_names is not None:
            self.pending_names.set_casemap(casemap)


@dataclass(slots=True)
class Query:
    """A private conversation with ``nick``."""

    nick: str
