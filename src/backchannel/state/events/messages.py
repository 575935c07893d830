"""Conversation events: messages, notices, actions, CTCP, queries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from backchannel.state.events.base import Event

__all__ = [
    "Action",
    "ChatEvent",
    "CtcpReply",
    "CtcpRequest",
    "Notice",
    "Privmsg",
    "QueryClosed",
    "QueryOpened",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatEvent(Event):
    """Text in a conversation. ``target`` is the conversation: the channel, the
    other party of a private message (the sender when it was sent to us), or
    the server name for a server notice (``server``). ``self``: we sent it
    (echo-message). ``status``: the STATUSMSG prefix of ``@#chan``, else ""."""

    target: str
    nick: str
    user: str | None
    host: str | None
    text: str
    self: bool
    server: bool = False
    status: str = ""
    msgid: str | None = None
    account: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Privmsg(ChatEvent):
    kind: ClassVar[str] = "privmsg"


@dataclass(frozen=True, slots=True, kw_only=True)
class Notice(ChatEvent):
    kind: ClassVar[str] = "notice"


@dataclass(frozen=True, slots=True, kw_only=True)
class Action(ChatEvent):
    """CTCP ACTION (``/me``); ``text`` is without the CTCP wrapper."""

    kind: ClassVar[str] = "action"


@dataclass(frozen=True, slots=True, kw_only=True)
class CtcpRequest(ChatEvent):
    """A CTCP other than ACTION in a PRIVMSG; ``text`` holds its params. The
    irc layer answers VERSION/PING/TIME/CLIENTINFO."""

    kind: ClassVar[str] = "ctcp_request"
    command: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CtcpReply(ChatEvent):
    """A CTCP in a NOTICE (an answer to one of our requests)."""

    kind: ClassVar[str] = "ctcp_reply"
    command: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryOpened(Event):
    """A private conversation with ``nick`` became known."""

    kind: ClassVar[str] = "query"
    nick: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QueryClosed(Event):
    """The user closed the private conversation with ``nick`` (its history is kept)."""

    kind: ClassVar[str] = "query_closed"
    nick: str
