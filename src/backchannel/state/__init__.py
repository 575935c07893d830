"""The pure state layer: one network's state, updated by ``apply``, which
returns typed, frozen events. No I/O, no clock."""

from __future__ import annotations

from backchannel.state.model import Channel, Query, User
from backchannel.state.network import HISTORY_BATCHES, NetworkState

__all__ = ["HISTORY_BATCHES", "Channel", "NetworkState", "Query", "User"]
