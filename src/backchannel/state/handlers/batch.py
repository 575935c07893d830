"""IRCv3 batches: ``BATCH +ref type params...`` opens one, ``BATCH -ref``
closes it. While open, the events of its lines carry its :class:`BatchInfo`
(so netsplits, netjoins and chathistory can be grouped or deduplicated)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.message import Message
from backchannel.state.events import BatchEnded, BatchInfo, BatchStarted, Event
from backchannel.state.handlers.common import HandlerTable

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def on_batch(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    ref = msg.param(0)
    if len(ref) < 2:
        return []
    if ref[0] == "+" and len(msg.params) >= 2:
        info = BatchInfo(ref[1:], msg.params[1], tuple(msg.params[2:]), msg.tags.get("batch"))
        state.batches[info.ref] = info
        return [BatchStarted(time=time, ref=info.ref, type=info.type, params=info.params)]
    if ref[0] == "-":
        ended = state.batches.pop(ref[1:], None)
        if ended is not None:
            return [BatchEnded(time=time, ref=ended.ref, type=ended.type, params=ended.params)]
    return []


HANDLERS: HandlerTable = {"BATCH": on_batch}
