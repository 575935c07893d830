"""Users: NICK, AWAY (away-notify, 301/305/306), ACCOUNT (account-notify,
900/901), CHGHOST, SETNAME, 396, and the user details in 311 and 352."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.hostmask import split_hostmask
from backchannel.protocol.message import Message
from backchannel.state.events import (
    AccountChanged,
    AwayChanged,
    Event,
    HostChanged,
    NickChanged,
    RealnameChanged,
)
from backchannel.state.handlers.common import HandlerTable, source_of
from backchannel.state.handlers.replies import server_reply

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def on_nick(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    old = source_of(msg).nick
    new = msg.param(0)
    if not old or not new:
        return []
    me = state.is_me(old)
    channels = tuple(state.rename_user(old, new))
    return [NickChanged(time=time, old=old, new=new, self=me, channels=channels)]


def on_away(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:nick AWAY :message`` (away) or ``:nick AWAY`` (back)."""
    nick = source_of(msg).nick
    if not nick:
        return []
    message = msg.param(0) or None
    user = state.users.get(nick)
    if user is not None:
        user.away = message
    return [AwayChanged(time=time, nick=nick, message=message, self=state.is_me(nick))]


def on_away_reply(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """301 ``<client> <nick> :<message>``"""
    nick = msg.param(1)
    if not nick:
        return []
    message = msg.param(2)
    user = state.users.get(nick)
    if user is not None:
        user.away = message
    return [
        AwayChanged(time=time, nick=nick, message=message, self=state.is_me(nick), reply=True)
    ]


def on_our_away(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """305 (we are back) and 306 (we are away; the message is not repeated)."""
    if msg.command == "305":
        state.me.away = None
    elif state.me.away is None:
        state.me.away = ""
    return [AwayChanged(time=time, nick=state.nick, message=state.me.away, self=True)]


def on_account(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:nick ACCOUNT accountname`` (``*``: logged out)."""
    nick = source_of(msg).nick
    if not nick or not msg.params:
        return []
    account = None if msg.params[0] == "*" else msg.params[0]
    user = state.users.get(nick)
    if user is not None:
        user.account = account
    return [AccountChanged(time=time, nick=nick, account=account, self=state.is_me(nick))]


def on_logged_in(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """900 ``<client> <nick>!<user>@<host> <account> :...``; 901 logged out."""
    mask = split_hostmask(msg.param(1))
    state.me.update_mask(mask.user, mask.host)
    state.me.account = (msg.param(2) or None) if msg.command == "900" else None
    return [AccountChanged(time=time, nick=state.nick, account=state.me.account, self=True)]


def on_chghost(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:nick!old@old CHGHOST newuser newhost``"""
    nick = source_of(msg).nick
    if not nick or len(msg.params) < 2:
        return []
    user, host = msg.params[0], msg.params[1]
    known = state.users.get(nick)
    if known is not None:
        known.update_mask(user, host)
    return [HostChanged(time=time, nick=nick, user=user, host=host, self=state.is_me(nick))]


def on_visible_host(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """396 ``<client> <host> :is now your displayed host`` (may be user@host)."""
    user, at, host = msg.param(1).rpartition("@")
    if not host:
        return []
    state.me.update_mask(user if at else None, host)
    return [HostChanged(time=time, nick=state.nick, user=state.me.user, host=host, self=True)]


def on_setname(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:nick SETNAME :new realname``"""
    nick = source_of(msg).nick
    if not nick or not msg.params:
        return []
    realname = msg.params[0]
    user = state.users.get(nick)
    if user is not None:
        user.realname = realname
    return [RealnameChanged(time=time, nick=nick, realname=realname, self=state.is_me(nick))]


def on_whois_user(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """311 ``<client> <nick> <user> <host> * :<realname>``: shown, and known
    users learn their details from it."""
    user = state.users.get(msg.param(1))
    if user is not None and len(msg.params) >= 6:
        user.update_mask(msg.params[2], msg.params[3])
        user.realname = msg.params[5]
    return server_reply(state, msg, time)


def on_who_reply(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """352 ``<client> <channel> <user> <host> <server> <nick> <flags> :<hops>
    <realname>``: flags ``G`` mean away."""
    user = state.users.get(msg.param(5))
    if user is not None and len(msg.params) >= 8:
        user.update_mask(msg.params[2], msg.params[3])
        flags = msg.params[6]
        if "G" in flags and user.away is None:
            user.away = ""
        elif "H" in flags:
            user.away = None
        user.realname = msg.params[7].partition(" ")[2]
    return server_reply(state, msg, time)


HANDLERS: HandlerTable = {
    "NICK": on_nick,
    "AWAY": on_away,
    "301": on_away_reply,
    "305": on_our_away,
    "306": on_our_away,
    "ACCOUNT": on_account,
    "900": on_logged_in,
    "901": on_logged_in,
    "CHGHOST": on_chghost,
    "396": on_visible_host,
    "SETNAME": on_setname,
    "311": on_whois_user,
    "352": on_who_reply,
}
