"""Who is in which channel: JOIN, PART, KICK, QUIT, NAMES (353/366)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.hostmask import split_hostmask
from backchannel.protocol.message import Message
from backchannel.state.events import (
    Event,
    Joined,
    Kicked,
    NamesEntry,
    NamesReply,
    Parted,
    Quit,
)
from backchannel.state.handlers.common import HandlerTable, source_of
from backchannel.state.handlers.replies import server_reply
from backchannel.state.model import Channel, Members

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def on_join(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``JOIN #chan`` or, with extended-join, ``JOIN #chan account :realname``
    (account ``*``: not logged in)."""
    src = source_of(msg)
    name = msg.param(0)
    if not src.nick or not name:
        return []
    me = state.is_me(src.nick)
    if me:
        channel = Channel.new(name, state.casemap)
        state.channels[name] = channel
    else:
        found = state.channels.get(name)
        if found is None:
            return []
        channel = found
    user = state.ensure_user(src.nick, src.user, src.host)
    if len(msg.params) >= 3:
        account = msg.params[1]
        user.account = None if account == "*" else account
        user.realname = msg.params[2]
    elif "account" in msg.tags:
        user.account = msg.tags["account"] or None
    channel.members[src.nick] = ""
    return [
        Joined(
            time=time,
            channel=channel.name,
            nick=src.nick,
            user=user.user,
            host=user.host,
            account=user.account,
            realname=user.realname,
            self=me,
        )
    ]


def _leave(state: NetworkState, channel: Channel, nick: str) -> None:
    """``nick`` left ``channel``; when that is us, we leave it altogether."""
    if state.is_me(nick):
        del state.channels[channel.name]
        state.forget_unseen(channel.members)
    else:
        channel.members.pop(nick, None)
        state.forget_unseen([nick])


def on_part(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    src = source_of(msg)
    channel = state.channels.get(msg.param(0))
    if channel is None or not src.nick:
        return []
    _leave(state, channel, src.nick)
    reason = msg.params[1] if len(msg.params) > 1 else None
    return [
        Parted(
            time=time,
            channel=channel.name,
            nick=src.nick,
            reason=reason,
            self=state.is_me(src.nick),
        )
    ]


def on_kick(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    channel = state.channels.get(msg.param(0))
    kicked = msg.param(1)
    if channel is None or not kicked:
        return []
    _leave(state, channel, kicked)
    reason = msg.params[2] if len(msg.params) > 2 else None
    return [
        Kicked(
            time=time,
            channel=channel.name,
            nick=kicked,
            by=source_of(msg).nick,
            reason=reason,
            self=state.is_me(kicked),
        )
    ]


def on_quit(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    nick = source_of(msg).nick
    if not nick:
        return []
    me = state.is_me(nick)
    shared = state.channels_of(nick)
    if me:
        state.channels.clear()
        state.forget_unseen(list(state.users))
    else:
        for channel in shared:
            del channel.members[nick]
        state.users.pop(nick, None)
    reason = msg.params[0] if msg.params else None
    channels = tuple(channel.name for channel in shared)
    return [Quit(time=time, nick=nick, reason=reason, channels=channels, self=me)]


def on_names(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """353 ``<client> <symbol> <channel> :[prefixes]<nick>[!user@host] ...``
    (several prefixes with multi-prefix, full masks with userhost-in-names)."""
    if len(msg.params) < 3:
        return []
    channel = state.channels.get(msg.params[-2])
    if channel is None:  # NAMES of a channel we are not in: just show it
        return server_reply(state, msg, time)
    prefix = state.isupport.prefix
    if channel.pending_names is None:
        channel.pending_names = Members(state.casemap)
    for entry in msg.params[-1].split():
        i = 0
        while i < len(entry) and prefix.mode_for(entry[i]) is not None:
            i += 1
        mask = split_hostmask(entry[i:])
        if not mask.nick:
            continue
        modes = prefix.sort_modes(m for p in entry[:i] if (m := prefix.mode_for(p)))
        channel.pending_names[mask.nick] = modes
        state.users.note(mask.nick, mask.user, mask.host)
    return []


def on_end_of_names(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    channel = state.channels.get(msg.param(1))
    if channel is None or channel.pending_names is None:
        # no 353 since the last 366: nothing to tell (a server repeating bare
        # 366s must not have the whole member list rebuilt and sent each time)
        return []
    gone = [nick for nick in channel.members if nick not in channel.pending_names]
    channel.members = channel.pending_names
    channel.pending_names = None
    state.forget_unseen(gone)
    prefix = state.isupport.prefix
    members = tuple(
        NamesEntry(nick, modes, prefix.prefixes_of(modes))
        for nick, modes in channel.members.items()
    )
    return [NamesReply(time=time, channel=channel.name, members=members)]


HANDLERS: HandlerTable = {
    "JOIN": on_join,
    "PART": on_part,
    "KICK": on_kick,
    "QUIT": on_quit,
    "353": on_names,
    "366": on_end_of_names,
}
