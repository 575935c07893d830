"""The mutable records a :class:`NetworkState` keeps: users, channels, queries.

They belong to the state and change only inside ``apply``; upper layers read
them (or, better, the events) and never write to them.

They are kept small, because an always-on user holds thousands of them
(30 channels of 200 members on each of several networks): nicks, user names
and hosts are interned (one string per distinct name in the process, shared
by every channel, network connection and user that sees it), and a channel's
member list is a plain dict holding only those shared strings.
"""

from __future__ import annotations

import sys
from collections.abc import ItemsView, Iterable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime

from backchannel.protocol.casemap import RFC1459, Casemap

__all__ = ["Channel", "Members", "Query", "User", "Users", "intern"]

intern = sys.intern  # strings that die with their last user (not immortal)


def _intern_opt(value: str | None) -> str | None:
    return None if value is None else intern(value)


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

    def __post_init__(self) -> None:
        self.nick = intern(self.nick)
        self.user = _intern_opt(self.user)
        self.host = _intern_opt(self.host)

    def update_mask(self, user: str | None, host: str | None) -> None:
        if user and user != self.user:
            self.user = intern(user)
        if host and host != self.host:
            self.host = intern(host)


class Users(MutableMapping[str, User]):
    """The users of one connection by nick, keyed by the server's casemapping
    (the interface of :class:`~backchannel.protocol.casemap.IRCDict`).

    A user of whom nothing is known but the nick (most NAMES entries, on a
    server without userhost-in-names) is kept as just that nick, an interned
    string, until someone looks it up: it becomes a :class:`User` then (and
    stays one), so what callers change on it is kept. :meth:`note` adds users
    that way; everything else sees :class:`User` objects only."""

    __slots__ = ("_casemap", "_data")

    def __init__(
        self,
        casemap: Casemap = RFC1459,
        items: Mapping[str, User] | Iterable[tuple[str, User]] = (),
    ) -> None:
        self._casemap = casemap
        self._data: dict[str, User | str] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for nick, user in pairs:
            self[nick] = user

    @property
    def casemap(self) -> Casemap:
        return self._casemap

    def note(self, nick: str, user: str | None = None, host: str | None = None) -> None:
        """Make ``nick`` known (with its user name and host when given),
        without making a :class:`User` of it when nothing else is known."""
        key = self._casemap.fold(nick)
        known = self._data.get(key)
        if user or host:
            if not isinstance(known, User):
                known = self._data[intern(key)] = User(nick)
            known.update_mask(user, host)
        elif known is None:
            self._data[intern(key)] = intern(nick)

    def set_casemap(self, casemap: Casemap) -> None:
        if casemap is self._casemap:
            return
        old = list(self._data.values())
        self._casemap = casemap
        self._data = {intern(casemap.fold(v if isinstance(v, str) else v.nick)): v for v in old}

    def display(self, key: str) -> str:
        """The current spelling of ``key`` (KeyError when absent)."""
        value = self._data[self._casemap.fold(key)]
        return value if isinstance(value, str) else value.nick

    def rename(self, old: str, new: str) -> None:
        """Move the user ``old`` to ``new``, renaming it (KeyError when absent)."""
        user = self.pop(old)
        user.nick = intern(new)
        self[new] = user

    def __getitem__(self, key: str) -> User:
        folded = self._casemap.fold(key)
        value = self._data[folded]
        if isinstance(value, str):
            value = self._data[folded] = User(value)
        return value

    def __setitem__(self, key: str, value: User) -> None:
        self._data[intern(self._casemap.fold(key))] = value

    def __delitem__(self, key: str) -> None:
        del self._data[self._casemap.fold(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._casemap.fold(key) in self._data

    def __iter__(self) -> Iterator[str]:
        return (v if isinstance(v, str) else v.nick for v in list(self._data.values()))

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()

    def __repr__(self) -> str:
        return f"Users({self._casemap.name}, {len(self._data)} users)"


class Members(MutableMapping[str, str]):
    """A channel's members: each nick (as displayed) and its prefix modes
    ("ov", highest first; "" for none), keyed by the server's casemapping
    like :class:`~backchannel.protocol.casemap.IRCDict`, with the same
    interface (``display``, ``rename``, ``set_casemap``).

    Compact: one dict entry per member whose value is the interned nick when
    it has no modes (most members), else ``(nick, modes)``; the folded keys
    are interned too, so 200 members cost about 8 KiB whatever their names."""

    __slots__ = ("_casemap", "_data")

    def __init__(
        self,
        casemap: Casemap = RFC1459,
        items: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    ) -> None:
        self._casemap = casemap
        self._data: dict[str, str | tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for nick, modes in pairs:
            self[nick] = modes

    @property
    def casemap(self) -> Casemap:
        return self._casemap

    def set_casemap(self, casemap: Casemap) -> None:
        if casemap is self._casemap:
            return
        old = list(self.items())
        self._casemap = casemap
        self._data = {}
        for nick, modes in old:
            self[nick] = modes

    def display(self, key: str) -> str:
        """The stored spelling of ``key`` (KeyError when absent)."""
        value = self._data[self._casemap.fold(key)]
        return value if isinstance(value, str) else value[0]

    def rename(self, old: str, new: str) -> None:
        """Move the member ``old`` to ``new`` (KeyError when absent)."""
        value = self._data.pop(self._casemap.fold(old))
        self[new] = "" if isinstance(value, str) else value[1]

    def __getitem__(self, key: str) -> str:
        value = self._data[self._casemap.fold(key)]
        return "" if isinstance(value, str) else value[1]

    def __setitem__(self, key: str, value: str) -> None:
        nick = intern(key)
        self._data[intern(self._casemap.fold(key))] = (nick, value) if value else nick

    def __delitem__(self, key: str) -> None:
        del self._data[self._casemap.fold(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._casemap.fold(key) in self._data

    def __iter__(self) -> Iterator[str]:
        return (v if isinstance(v, str) else v[0] for v in list(self._data.values()))

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()

    def items(self) -> ItemsView[str, str]:
        return _MemberItems(self)

    def pairs(self) -> Iterator[tuple[str, str]]:
        """(nick, modes) of each member, without a lookup per member."""
        for value in list(self._data.values()):
            yield (value, "") if isinstance(value, str) else value

    def __repr__(self) -> str:
        inner = ", ".join(f"{nick!r}: {modes!r}" for nick, modes in self.pairs())
        return f"Members({self._casemap.name}, {{{inner}}})"


class _MemberItems(ItemsView[str, str]):
    _mapping: Members

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return self._mapping.pairs()


def _as_members(value: Mapping[str, str], casemap: Casemap | None = None) -> Members:
    if isinstance(value, Members):
        return value
    found = getattr(value, "casemap", None)
    if casemap is None:
        casemap = found if isinstance(found, Casemap) else RFC1459
    return Members(casemap, value)


class Channel:
    """A channel we are in. ``members`` maps each nick to its prefix modes
    (``"ov"``, highest first; "" for none). ``modes`` holds the set modes
    that are not lists or prefixes, with their parameter (None for flags).

    ``members`` and ``pending_names`` (the roster being built by 353 replies
    until 366 ends it) are always :class:`Members`: a mapping assigned to
    either (an ``IRCDict``...) is taken over into one."""

    __slots__ = (
        "_members",
        "_pending",
        "created",
        "modes",
        "name",
        "topic",
        "topic_setter",
        "topic_time",
    )

    def __init__(
        self,
        name: str,
        members: Mapping[str, str] | None = None,
        topic: str = "",
        topic_setter: str | None = None,
        topic_time: datetime | None = None,
        modes: dict[str, str | None] | None = None,
        created: datetime | None = None,
        pending_names: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self._members = Members() if members is None else _as_members(members)
        self.topic = topic
        self.topic_setter = topic_setter
        self.topic_time = topic_time
        self.modes: dict[str, str | None] = {} if modes is None else modes
        self.created = created
        self._pending = None if pending_names is None else _as_members(pending_names)

    @classmethod
    def new(cls, name: str, casemap: Casemap) -> Channel:
        return cls(name, members=Members(casemap))

    @property
    def members(self) -> Members:
        return self._members

    @members.setter
    def members(self, value: Mapping[str, str]) -> None:
        self._members = _as_members(value)

    @property
    def pending_names(self) -> MutableMapping[str, str] | None:
        # (typed as any mapping, so that assigning one narrows to it)
        return self._pending

    @pending_names.setter
    def pending_names(self, value: Mapping[str, str] | None) -> None:
        self._pending = None if value is None else _as_members(value)

    def set_casemap(self, casemap: Casemap) -> None:
        self._members.set_casemap(casemap)
        if self._pending is not None:
            self._pending.set_casemap(casemap)

    def __repr__(self) -> str:
        return f"Channel({self.name!r}, {len(self._members)} members, topic={self.topic!r})"


@dataclass(slots=True)
class Query:
    """A private conversation with ``nick``."""

    nick: str
