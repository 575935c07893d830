"""The dispatch table: one small handler module per command family.

Each module exports ``HANDLERS`` (command → handler); :func:`handler_for`
picks the handler for a command, falling back to ``ServerReply`` for error
numerics (400-599) that no module claims, and None for everything else."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from backchannel.state.handlers import (
    batch,
    channels,
    membership,
    messages,
    modes,
    registration,
    replies,
    users,
)
from backchannel.state.handlers.common import Handler

__all__ = ["HANDLERS", "MODULES", "Handler", "handler_for"]

MODULES = (registration, membership, channels, modes, users, messages, batch, replies)


def _build() -> Mapping[str, Handler]:
    table: dict[str, Handler] = {}
    for module in MODULES:
        for command, handler in module.HANDLERS.items():
            if command in table:
                raise RuntimeError(f"two handlers for {command}")
            table[command] = handler
    return MappingProxyType(table)


HANDLERS = _build()


def handler_for(command: str) -> Handler | None:
    handler = HANDLERS.get(command)
    if handler is None and replies.is_error_numeric(command):
        return replies.server_reply
    return handler
