"""What every handler shares: its type, and reading a message's source."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TypeAlias

from backchannel.protocol.hostmask import Hostmask, split_hostmask
from backchannel.protocol.message import Message
from backchannel.state.events import Event

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["Handler", "HandlerTable", "source_of", "timestamp"]

#: ``handler(state, message, event_time) -> events``
Handler: TypeAlias = "Callable[[NetworkState, Message, datetime], list[Event]]"
HandlerTable: TypeAlias = "Mapping[str, Handler]"

_NO_SOURCE = Hostmask("", None, None)


def source_of(msg: Message) -> Hostmask:
    return split_hostmask(msg.source) if msg.source else _NO_SOURCE


def timestamp(value: str) -> datetime | None:
    """A Unix time parameter (as in 333 or 329), or None if it is not one."""
    if not value.isdigit():
        return None
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (OverflowError, OSError, ValueError):
        return None
