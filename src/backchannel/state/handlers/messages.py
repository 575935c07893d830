"""Conversation lines: PRIVMSG and NOTICE, with CTCP and ACTION.

The conversation (``target`` of the event) is the channel; for a private
message, the other party (the sender, or the recipient of our own echoed
message); for a server notice, the server. A PRIVMSG or NOTICE from a user
to us opens a query with them (CTCP requests and replies do not). A
``@#chan`` target (STATUSMSG) is the channel, with ``status="@"``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.ctcp import parse_ctcp
from backchannel.protocol.hostmask import Hostmask
from backchannel.protocol.message import Message
from backchannel.state.events import (
    Action,
    ChatEvent,
    CtcpReply,
    CtcpRequest,
    Event,
    Notice,
    Privmsg,
    QueryOpened,
)
from backchannel.state.handlers.common import HandlerTable, source_of

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def _is_server(state: NetworkState, src: Hostmask) -> bool:
    if not src.nick:
        return True
    if src.user is not None or src.host is not None:
        return False
    return "." in src.nick or src.nick == state.server_name


def _conversation(state: NetworkState, src: Hostmask, target: str, server: bool) -> str:
    if state.is_channel(target):
        channel = state.channels.get(target)
        return channel.name if channel is not None else target
    if server:
        return src.nick or state.server_name or "*"
    if state.is_me(src.nick):
        return target
    return src.nick


@dataclass(frozen=True, slots=True)
class _Line:
    """What every event of one PRIVMSG/NOTICE line shares."""

    time: datetime
    target: str
    src: Hostmask
    mine: bool
    server: bool
    status: str
    msgid: str | None
    account: str | None

    def chat(self, cls: type[Privmsg | Notice | Action], text: str) -> ChatEvent:
        return cls(
            time=self.time,
            target=self.target,
            nick=self.src.nick,
            user=self.src.user,
            host=self.src.host,
            text=text,
            self=self.mine,
            server=self.server,
            status=self.status,
            msgid=self.msgid,
            account=self.account,
        )

    def ctcp(self, cls: type[CtcpRequest | CtcpReply], command: str, text: str) -> ChatEvent:
        return cls(
            time=self.time,
            target=self.target,
            nick=self.src.nick,
            user=self.src.user,
            host=self.src.host,
            text=text,
            command=command,
            self=self.mine,
            server=self.server,
            status=self.status,
            msgid=self.msgid,
            account=self.account,
        )


def on_message(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    if len(msg.params) < 2 or not msg.params[0]:
        return []
    src = source_of(msg)
    status, target = state.isupport.split_statusmsg(msg.params[0])
    server = _is_server(state, src)
    line = _Line(
        time=time,
        target=_conversation(state, src, target, server),
        src=src,
        mine=not server and state.is_me(src.nick),
        server=server,
        status=status,
        msgid=msg.tags.get("msgid"),
        account=msg.tags.get("account") or None,
    )
    notice = msg.command == "NOTICE"
    text = msg.params[1]
    ctcp = parse_ctcp(text)
    if ctcp is None:
        event = line.chat(Notice if notice else Privmsg, text)
    elif notice:
        event = line.ctcp(CtcpReply, ctcp.command, ctcp.params)
    elif ctcp.command == "ACTION":
        event = line.chat(Action, ctcp.params)
    else:
        event = line.ctcp(CtcpRequest, ctcp.command, ctcp.params)
    if state.replaying:
        return [event]
    _learn_from_sender(state, src, msg)
    events: list[Event] = []
    private = not server and not state.is_channel(target)
    is_ctcp = isinstance(event, CtcpRequest | CtcpReply)
    if private and not is_ctcp and state.open_query(event.target):
        events.append(QueryOpened(time=time, nick=event.target))
    events.append(event)
    return events


def _learn_from_sender(state: NetworkState, src: Hostmask, msg: Message) -> None:
    """account-tag and the source mask refresh what we know of the sender."""
    user = state.users.get(src.nick) if src.nick else None
    if user is None:
        return
    user.update_mask(src.user, src.host)
    if "account" in msg.tags:
        user.account = msg.tags["account"] or None


HANDLERS: HandlerTable = {
    "PRIVMSG": on_message,
    "NOTICE": on_message,
}
