"""Commands sent on the WebSocket: the same actions as the REST routes
(``send``, ``raw``, ``join``, ``part``, ``query``, ``close``, ``read``), validated by the same
models and carried out by the same functions."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from pydantic import BaseModel, ValidationError

from backchannel.web.api_history import mark_read
from backchannel.web.api_models import JoinBody, PartBody, QueryBody, ReadBody, SendBody
from backchannel.web.api_state import (
    close_query,
    join_channel,
    open_query,
    part_channel,
    send_message,
)
from backchannel.web.auth import AuthedUser
from backchannel.web.errors import ApiError, describe
from backchannel.web.once import checked_key, run_once

__all__ = ["CommandFailed", "run_command"]


class CommandFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


Action = Callable[[web.Application, int, object, Any], Awaitable[object]]

_COMMANDS: dict[str, tuple[type[BaseModel], Action]] = {
    "send": (SendBody, send_message),
    "raw": (SendBody, send_message),
    "join": (JoinBody, join_channel),
    "part": (PartBody, part_channel),
    "query": (QueryBody, open_query),
    "close": (QueryBody, close_query),
    "read": (ReadBody, mark_read),
}


async def run_command(
    app: web.Application, user: AuthedUser, command: dict[str, Any]
) -> dict[str, Any]:
    """Carry out ``{"id", "type", "network", ...body}``; returns extra reply fields."""
    kind = command.get("type")
    if not isinstance(kind, str) or kind not in _COMMANDS:
        raise CommandFailed("bad_command", f"unknown command type {str(kind)[:40]!r}")
    model, action = _COMMANDS[kind]
    fields = {
        k: v for k, v in command.items() if k not in ("id", "type", "network", "idempotency_key")
    }
    if kind == "raw":  # {"type": "raw", "line": ...} is a send of one raw line
        fields = {"raw": fields.pop("line", None), **fields}
    try:
        key = checked_key(command.get("idempotency_key"))
        body = model.model_validate(fields)
        result = await run_once(
            app, user.id, key, lambda: action(app, user.id, command.get("network"), body)
        )
    except ValidationError as exc:
        raise CommandFailed("invalid", describe(exc)) from None
    except ApiError as exc:
        raise CommandFailed(exc.code, exc.message) from None
    if isinstance(result, BaseModel):
        return {"result": result.model_dump(mode="json")}
    return {} if result is None else {"result": result}
