"""Registration and connection: 001, 005, MOTD, nick errors, CAP, ERROR."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.message import Message
from backchannel.state.events import (
    CapsChanged,
    Event,
    ISupportChanged,
    Motd,
    NickError,
    Registered,
    ServerError,
)
from backchannel.state.handlers.common import HandlerTable
from backchannel.state.handlers.replies import server_reply

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def on_welcome(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    nick = msg.param(0)
    if nick and nick != state.nick:
        state.rename_user(state.nick, nick)
    state.registered = True
    state.server_name = msg.source
    return [Registered(time=time, nick=state.nick, server=msg.source, text=msg.param(-1))]


def on_isupport(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    tokens = tuple(msg.params[1:-1] if len(msg.params) > 2 else msg.params[1:])
    state.set_isupport(state.isupport.update(tokens))
    return [ISupportChanged(time=time, tokens=tokens)]


def on_motd_start(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    state.motd_lines = []
    return []


def on_motd_line(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    line = msg.param(-1) if len(msg.params) > 1 else ""
    state.motd_lines.append(line[2:] if line.startswith("- ") else line)
    return []


def on_motd_end(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    lines = tuple(state.motd_lines) if msg.command == "376" else ()
    state.motd_lines = []
    state.motd_done = True
    return [Motd(time=time, lines=lines)]


def on_nick_error(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    nick = msg.param(1) if len(msg.params) > 2 else ""
    if state.is_channel(nick):  # 437 is also "channel temporarily unavailable"
        return server_reply(state, msg, time)
    return [NickError(time=time, code=msg.command, nick=nick, reason=msg.param(-1))]


def on_error(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    return [ServerError(time=time, message=msg.param(0))]


def on_cap(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``CAP <client> <sub> [*] :<caps>``: LS/NEW offer caps, ACK enables or
    (``-cap``) disables them, DEL withdraws them."""
    sub = msg.param(1).upper()
    items = msg.param(-1).split() if len(msg.params) > 2 else []
    enabled: list[str] = []
    disabled: list[str] = []
    if sub in ("LS", "NEW"):
        for item in items:
            name, _, value = item.partition("=")
            state.caps_available[name] = value
    elif sub in ("ACK", "LIST"):
        for item in items:
            if item.startswith("-"):
                if item[1:] in state.caps:
                    state.caps.discard(item[1:])
                    disabled.append(item[1:])
            elif item not in state.caps:
                state.caps.add(item)
                enabled.append(item)
    elif sub == "DEL":
        for name in items:
            state.caps_available.pop(name, None)
            if name in state.caps:
                state.caps.discard(name)
                disabled.append(name)
    if not (enabled or disabled):
        return []
    return [CapsChanged(time=time, enabled=tuple(enabled), disabled=tuple(disabled))]


HANDLERS: HandlerTable = {
    "001": on_welcome,
    "005": on_isupport,
    "375": on_motd_start,
    "372": on_motd_line,
    "376": on_motd_end,
    "422": on_motd_end,
    "432": on_nick_error,
    "433": on_nick_error,
    "436": on_nick_error,
    "437": on_nick_error,
    "CAP": on_cap,
    "ERROR": on_error,
}
