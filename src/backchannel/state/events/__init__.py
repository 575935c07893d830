"""Typed, frozen events that :meth:`NetworkState.apply` returns.

Every event has a ``kind`` (its wire name), a ``time`` (the IRCv3 server-time
of the message when it carried one, else the receive time) and ``batch`` (the
open IRCv3 batch the message belonged to, if any). ``to_dict()`` gives
JSON-ready data: ``{"kind": ..., "time": "2024-01-02T03:04:05.678Z", ...}``
with every field by name, tuples as lists and nested records as objects.
Fields named ``self`` say the event is about our own client.

:data:`EVENT_TYPES` lists every concrete event class (for docs and tests).
"""

from __future__ import annotations

from backchannel.state.events.base import BatchInfo, Event, ModeChange, NamesEntry, jsonable
from backchannel.state.events.channels import (
    ChannelModes,
    Invited,
    Joined,
    Kicked,
    ModeChanged,
    NamesReply,
    Parted,
    Topic,
    TopicWhoTime,
)
from backchannel.state.events.messages import (
    Action,
    ChatEvent,
    CtcpReply,
    CtcpRequest,
    Notice,
    Privmsg,
    QueryClosed,
    QueryOpened,
)
from backchannel.state.events.server import (
    BatchEnded,
    BatchStarted,
    CapsChanged,
    ISupportChanged,
    Motd,
    NickError,
    Registered,
    ServerError,
    ServerReply,
    StandardReply,
)
from backchannel.state.events.users import (
    AccountChanged,
    AwayChanged,
    HostChanged,
    NickChanged,
    Quit,
    RealnameChanged,
)

EVENT_TYPES: tuple[type[Event], ...] = (
    Registered,
    ISupportChanged,
    CapsChanged,
    Motd,
    NickError,
    ServerError,
    NickChanged,
    AwayChanged,
    AccountChanged,
    HostChanged,
    RealnameChanged,
    Joined,
    Parted,
    Kicked,
    Quit,
    NamesReply,
    Topic,
    TopicWhoTime,
    ModeChanged,
    ChannelModes,
    Invited,
    Privmsg,
    Notice,
    Action,
    CtcpRequest,
    CtcpReply,
    QueryOpened,
    QueryClosed,
    BatchStarted,
    BatchEnded,
    StandardReply,
    ServerReply,
)

__all__ = [
    "EVENT_TYPES",
    "AccountChanged",
    "Action",
    "AwayChanged",
    "BatchEnded",
    "BatchInfo",
    "BatchStarted",
    "CapsChanged",
    "ChannelModes",
    "ChatEvent",
    "CtcpReply",
    "CtcpRequest",
    "Event",
    "HostChanged",
    "ISupportChanged",
    "Invited",
    "Joined",
    "Kicked",
    "ModeChange",
    "ModeChanged",
    "Motd",
    "NamesEntry",
    "NamesReply",
    "NickChanged",
    "NickError",
    "Notice",
    "Parted",
    "Privmsg",
    "QueryClosed",
    "QueryOpened",
    "Quit",
    "RealnameChanged",
    "Registered",
    "ServerError",
    "ServerReply",
    "StandardReply",
    "Topic",
    "TopicWhoTime",
    "jsonable",
]
