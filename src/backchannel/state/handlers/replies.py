"""Replies worth showing: FAIL/WARN/NOTE, INVITE, and numerics as
``ServerReply`` (welcome lines, LUSERS, WHOIS/WHOWAS/WHO, lists, SASL
outcomes, and every error numeric without a handler of its own)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.message import Message
from backchannel.state.events import Event, Invited, ServerReply, StandardReply
from backchannel.state.handlers.common import HandlerTable, source_of

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS", "SHOWN_NUMERICS", "is_error_numeric", "server_reply"]

#: informational numerics passed on as ServerReply (errors are all passed on)
SHOWN_NUMERICS = frozenset(
    {
        *("002", "003", "004", "042"),  # welcome lines, unique id
        *("250", "251", "252", "253", "254", "255", "265", "266"),  # LUSERS
        *("276", "307", "312", "313", "317", "318", "319", "320", "330"),  # WHOIS
        *("335", "338", "378", "379", "671"),  # WHOIS
        *("314", "369"),  # WHOWAS
        "315",  # end of WHO (352 has its own handler)
        *("321", "322", "323"),  # LIST
        "341",  # INVITE sent
        *("346", "347", "348", "349", "367", "368"),  # invite, exception, ban lists
        *("351", "364", "365", "371", "374", "381", "391"),  # VERSION, LINKS, INFO...
        *("730", "731", "732", "733", "734"),  # MONITOR
        *("902", "903", "904", "905", "906", "907", "908"),  # SASL
    }
)


def is_error_numeric(command: str) -> bool:
    return len(command) == 3 and command.isdigit() and "400" <= command <= "599"


def server_reply(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    params = tuple(msg.params[1:])
    return [ServerReply(time=time, code=msg.command, params=params, text=msg.param(-1))]


def on_standard_reply(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``FAIL <command> <code> [<context>...] :<description>``"""
    if len(msg.params) < 3:
        return []
    return [
        StandardReply(
            time=time,
            severity=msg.command,
            command=msg.params[0],
            code=msg.params[1],
            context=tuple(msg.params[2:-1]),
            description=msg.params[-1],
        )
    ]


def on_invite(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:inviter INVITE <nick> <channel>``; with invite-notify we also see
    invites of others to channels we are in."""
    if len(msg.params) < 2:
        return []
    target, channel = msg.params[0], msg.params[1]
    return [
        Invited(
            time=time,
            nick=source_of(msg).nick,
            target=target,
            channel=channel,
            self=state.is_me(target),
        )
    ]


HANDLERS: HandlerTable = {
    "FAIL": on_standard_reply,
    "WARN": on_standard_reply,
    "NOTE": on_standard_reply,
    "INVITE": on_invite,
    **dict.fromkeys(SHOWN_NUMERICS, server_reply),
}
