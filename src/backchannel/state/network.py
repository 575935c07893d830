"""One IRC network's client-side state, updated by :meth:`NetworkState.apply`.

Pure: no I/O, no clock (the caller passes the receive time). Each command is
handled by one small function in :mod:`backchannel.state.handlers`, chosen
from a table by command. Commands with no handler (PING, TAGMSG, numerics not
worth showing...) change nothing and produce no events; error numerics
(400-599) without a handler of their own become a ``ServerReply``.

Inside a ``chathistory`` batch the lines are history, not news: messages
still produce events (tagged with the batch) but nothing in the state
changes, and other commands (event-playback JOIN/PART...) are skipped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime

from backchannel.protocol.casemap import Casemap, IRCDict, casemap_for
from backchannel.protocol.isupport import ISupport
from backchannel.protocol.message import Message
from backchannel.state.events import BatchInfo, Event
from backchannel.state.handlers import handler_for
from backchannel.state.model import Channel, Query, User, Users

__all__ = ["HISTORY_BATCHES", "NetworkState"]

#: batch types whose contents are history, replayed rather than happening now
HISTORY_BATCHES = frozenset({"chathistory", "draft/chathistory"})
_HISTORY_COMMANDS = frozenset({"PRIVMSG", "NOTICE", "BATCH"})


def _event_time(msg: Message, received: datetime) -> datetime:
    stamp = msg.tags.get("time")
    if stamp:
        try:
            parsed = datetime.fromisoformat(stamp)
        except ValueError:
            return received
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
    return received


class NetworkState:
    """The state of one connection to one network.

    ``nick`` starts as the nick we asked for and follows 001 and NICK.
    Users, channels and queries are keyed by the server's casemapping, so
    ``state.channels["#Foo"]`` finds ``#foo``. Use a new instance for each
    connection (a reconnect starts from nothing)."""

    def __init__(self, nick: str = "*") -> None:
        self.isupport = ISupport()
        self.casemap: Casemap = casemap_for(None)
        self.me = User(nick)
        self.registered = False
        self.server_name: str | None = None
        self.caps: set[str] = set()
        self.caps_available: dict[str, str] = {}
        self.motd_done = False
        self.motd_lines: list[str] = []
        self.user_modes: set[str] = set()
        self.channels: IRCDict[Channel] = IRCDict(self.casemap)
        self.users = Users(self.casemap, {nick: self.me})
        self.queries: IRCDict[Query] = IRCDict(self.casemap)
        self.batches: dict[str, BatchInfo] = {}
        #: True while ``apply`` handles a line of a history batch
        self.replaying = False
        self._me_folded: tuple[str | None, object, str] = (None, None, "")

    # --- applying messages --------------------------------------------------

    def apply(self, msg: Message, time: datetime) -> list[Event]:
        """Update the state from one server message; return what happened."""
        command = msg.command
        tags = msg.tags
        if not tags:  # the common case on busy channels: no batch, no server time
            handler = handler_for(command)
            return [] if handler is None else handler(self, msg, time)
        ref = tags.get("batch")
        batch = self.batches.get(ref) if ref else None
        replaying = batch is not None and self._in_history(batch)
        if replaying and command not in _HISTORY_COMMANDS:
            return []
        handler = handler_for(command)
        if handler is None:
            return []
        self.replaying = replaying
        try:
            events = handler(self, msg, _event_time(msg, time))
        finally:
            self.replaying = False
        if batch is not None:
            events = [replace(event, batch=batch) for event in events]
        return events

    def _in_history(self, batch: BatchInfo) -> bool:
        info: BatchInfo | None = batch
        while info is not None:
            if info.type in HISTORY_BATCHES:
                return True
            info = self.batches.get(info.parent) if info.parent else None
        return False

    # --- queries used by the handlers ---------------------------------------

    @property
    def nick(self) -> str:
        return self.me.nick

    def fold(self, name: str) -> str:
        return self.casemap.fold(name)

    def is_me(self, nick: str) -> bool:
        me = self.me.nick
        if nick == me:
            return True
        fold = self.casemap.fold
        # our nick folded, kept while the nick and the casemapping stay the same
        key = self._me_folded
        if key[0] is not me or key[1] is not fold:
            key = self._me_folded = (me, fold, fold(me))
        return fold(nick) == key[2]

    def is_channel(self, name: str) -> bool:
        return self.isupport.is_channel(name)

    def has_cap(self, name: str) -> bool:
        return name in self.caps

    def channels_of(self, nick: str) -> list[Channel]:
        """The channels we share with ``nick`` (all ours for our own nick)."""
        return [channel for channel in self.channels.values() if nick in channel.members]

    def prefixes(self, channel: str, nick: str) -> str:
        """``nick``'s prefix characters in ``channel`` ("@+"), "" if none."""
        chan = self.channels.get(channel)
        modes = chan.members.get(nick, "") if chan is not None else ""
        return self.isupport.prefix.prefixes_of(modes)

    # --- changes used by the handlers ---------------------------------------

    def ensure_user(self, nick: str, user: str | None = None, host: str | None = None) -> User:
        known = self.users.get(nick)
        if known is None:
            known = User(nick)
            self.users[nick] = known
        known.update_mask(user, host)
        return known

    def forget_unseen(self, nicks: Iterable[str]) -> None:
        """Drop the users among ``nicks`` we no longer share a channel with."""
        for nick in list(nicks):
            if not self.is_me(nick) and nick in self.users and not self.channels_of(nick):
                del self.users[nick]

    def rename_user(self, old: str, new: str) -> list[str]:
        """Follow a NICK change everywhere; the channels it was seen in."""
        seen: list[str] = []
        for channel in self.channels.values():
            if old in channel.members:
                channel.members.rename(old, new)
                seen.append(channel.name)
        user = self.users.pop(old, None)
        if self.is_me(old):
            user = self.me
        if user is not None:
            user.nick = new
            self.users[new] = user
        if old in self.queries:
            del self.queries[old]
            self.queries[new] = Query(new)
        return seen

    def open_query(self, nick: str) -> bool:
        """Make ``nick`` a query target; True when it was not one before."""
        if nick in self.queries:
            return False
        self.queries[nick] = Query(nick)
        return True

    def close_query(self, nick: str) -> bool:
        """Forget ``nick`` as a query target; True when it was one. A new
        message from or to them opens it again."""
        if nick not in self.queries:
            return False
        del self.queries[nick]
        return True

    def set_isupport(self, isupport: ISupport) -> None:
        self.isupport = isupport
        casemap = casemap_for(isupport.tokens.get("CASEMAPPING"))
        if casemap is self.casemap:
            return
        self.casemap = casemap
        for mapping in (self.channels, self.users, self.queries):
            mapping.set_casemap(casemap)
        for channel in self.channels.values():
            channel.set_casemap(casemap)
