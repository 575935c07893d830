"""Conversation lines: PRIVMSG and NOTICE, with CTCP and ACTION.

The conversation (``target`` of the event) is the channel; for a private
message, the other party (the sender, or the recipient of our own echoed
message); for a server notice, the server. A PRIVMSG or NOTICE from a user
to us opens a query with them (CTCP requests and replies do not). A
``@#chan`` target (STATUSMSG) is the channel, with ``status="@"``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from backchannel.protocol.ctcp import DELIM, parse_ctcp
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


def _conversation(
    state: NetworkState, src: Hostmask, target: str, server: bool, to_channel: bool
) -> str:
    if to_channel:
        channel = state.channels.get(target)
        return channel.name if channel is not None else target
    if server:
        return src.nick or state.server_name or "*"
    if state.is_me(src.nick):
        return target
    return src.nick


def on_message(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    params = msg.params
    if len(params) < 2 or not params[0]:
        return []
    src = source_of(msg)
    status, target = state.isupport.split_statusmsg(params[0])
    server = _is_server(state, src)
    to_channel = state.is_channel(target)
    conversation = _conversation(state, src, target, server, to_channel)
    tags = msg.tags
    text = params[1]
    ctcp = parse_ctcp(text) if text.startswith(DELIM) else None
    mine = not server and state.is_me(src.nick)
    msgid = tags.get("msgid") if tags else None
    account = (tags.get("account") or None) if tags else None
    event: ChatEvent
    command: str | None = None
    if ctcp is None:  # the common case: built at once
        event = (Notice if msg.command == "NOTICE" else Privmsg)(
            time=time,
            target=conversation,
            nick=src.nick,
            user=src.user,
            host=src.host,
            text=text,
            self=mine,
            server=server,
            status=status,
            msgid=msgid,
            account=account,
        )
    else:
        cls: type[ChatEvent]
        if msg.command == "NOTICE":
            cls, text, command = CtcpReply, ctcp.params, ctcp.command
        elif ctcp.command == "ACTION":
            cls, text = Action, ctcp.params
        else:
            cls, text, command = CtcpRequest, ctcp.params, ctcp.command
        fields: dict[str, Any] = {
            "time": time,
            "target": conversation,
            "nick": src.nick,
            "user": src.user,
            "host": src.host,
            "text": text,
            "self": mine,
            "server": server,
            "status": status,
            "msgid": msgid,
            "account": account,
        }
        if command is not None:
            fields["command"] = command
        event = cls(**fields)
    if state.replaying:
        return [event]
    _learn_from_sender(state, src, msg)
    private = not server and not to_channel
    if private and command is None and state.open_query(conversation):
        return [QueryOpened(time=time, nick=conversation), event]
    return [event]


def _learn_from_sender(state: NetworkState, src: Hostmask, msg: Message) -> None:
    """account-tag and the source mask refresh what we know of the sender."""
    nick = src.nick
    users = state.users
    if not nick or nick not in users:  # (no KeyError raised and caught per message)
        return
    user = users[nick]
    user.update_mask(src.user, src.host)
    if msg.tags and "account" in msg.tags:
        user.account = msg.tags["account"] or None


HANDLERS: HandlerTable = {
    "PRIVMSG": on_message,
    "NOTICE": on_message,
}
