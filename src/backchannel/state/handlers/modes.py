"""Modes: MODE on channels and on our nick, 324 (channel modes), 221 (ours).

Which modes take a parameter comes from ISUPPORT: prefix modes (PREFIX) and
list modes (CHANMODES A) and type B always do, type C only when set, type D
and unknown modes never. List modes (bans...) are reported but not kept."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.isupport import ISupport
from backchannel.protocol.message import Message
from backchannel.state.events import ChannelModes, Event, ModeChange, ModeChanged
from backchannel.state.handlers.common import HandlerTable, source_of
from backchannel.state.model import Channel

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS", "parse_channel_modes"]


def parse_channel_modes(
    modestring: str, params: Sequence[str], isupport: ISupport
) -> list[ModeChange]:
    """``+ov-b`` with ``[nick1, nick2, mask]`` → three changes."""
    chanmodes = isupport.chanmodes
    always = isupport.prefix.modes + chanmodes.a + chanmodes.b
    args = iter(params)
    adding = True
    changes: list[ModeChange] = []
    for mode in modestring:
        if mode in "+-":
            adding = mode == "+"
            continue
        takes = mode in always or (adding and mode in chanmodes.c)
        changes.append(ModeChange(adding, mode, next(args, None) if takes else None))
    return changes


def _apply_to_channel(state: NetworkState, channel: Channel, change: ModeChange) -> None:
    isupport = state.isupport
    if change.mode in isupport.prefix.modes:
        nick = change.param
        if nick is None or nick not in channel.members:
            return
        current = channel.members[nick]
        if change.adding:
            updated = isupport.prefix.sort_modes(current + change.mode)
        else:
            updated = current.replace(change.mode, "")
        channel.members[channel.members.display(nick)] = updated
    elif change.mode in isupport.chanmodes.a:
        return
    elif change.adding:
        channel.modes[change.mode] = change.param
    else:
        channel.modes.pop(change.mode, None)


def on_mode(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    target = msg.param(0)
    if not target or len(msg.params) < 2:
        return []
    by = source_of(msg).nick or None
    mine = by is not None and state.is_me(by)
    if state.is_channel(target):
        changes = parse_channel_modes(msg.params[1], msg.params[2:], state.isupport)
        channel = state.channels.get(target)
        if channel is not None:
            target = channel.name
            for change in changes:
                _apply_to_channel(state, channel, change)
    else:
        changes = _user_mode_changes(msg.params[1])
        if state.is_me(target):
            _apply_user_modes(state, changes)
    return [ModeChanged(time=time, target=target, changes=tuple(changes), by=by, self=mine)]


def _user_mode_changes(modestring: str) -> list[ModeChange]:
    adding = True
    changes: list[ModeChange] = []
    for mode in modestring:
        if mode in "+-":
            adding = mode == "+"
        else:
            changes.append(ModeChange(adding, mode))
    return changes


def _apply_user_modes(state: NetworkState, changes: list[ModeChange]) -> None:
    for change in changes:
        if change.adding:
            state.user_modes.add(change.mode)
        else:
            state.user_modes.discard(change.mode)


def on_channel_mode_is(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """324 ``<client> <channel> <modestring> <mode arguments>...``"""
    channel = state.channels.get(msg.param(1))
    if channel is None or len(msg.params) < 3:
        return []
    changes = parse_channel_modes(msg.params[2], msg.params[3:], state.isupport)
    channel.modes.clear()
    for change in changes:
        _apply_to_channel(state, channel, change)
    current = tuple(ModeChange(True, mode, param) for mode, param in channel.modes.items())
    return [ChannelModes(time=time, channel=channel.name, modes=current)]


def on_user_mode_is(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """221 ``<client> <user modes>``"""
    state.user_modes.clear()
    changes = _user_mode_changes(msg.param(1))
    _apply_user_modes(state, changes)
    return [ModeChanged(time=time, target=state.nick, changes=tuple(changes), by=None, self=True)]


HANDLERS: HandlerTable = {
    "MODE": on_mode,
    "324": on_channel_mode_is,
    "221": on_user_mode_is,
}
