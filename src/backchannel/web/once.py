"""Idempotency keys on commands (see :mod:`backchannel.session.once`): the
``Idempotency-Key`` header of the REST command routes, the
``idempotency_key`` field of WebSocket commands (not ``key``: a join's
channel key is called so)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web

from backchannel.session.once import MAX_KEY
from backchannel.web.errors import ApiError
from backchannel.web.keys import ONCE

__all__ = ["HEADER", "checked_key", "run_once"]

HEADER = "Idempotency-Key"
T = TypeVar("T")


def checked_key(value: object) -> str | None:
    """A usable key, None for none; 400 ``bad_key`` otherwise."""
    if value is None or value == "":
        return None
    if not isinstance(value, str) or len(value) > MAX_KEY or not value.isprintable():
        raise ApiError(
            400, "bad_key", f"an idempotency key is printable text of at most {MAX_KEY} characters"
        )
    return value


async def run_once(
    app: web.Application, user_id: int, key: str | None, action: Callable[[], Awaitable[T]]
) -> T:
    """``action()``, or what it answered before under ``key`` for this user."""
    return await app[ONCE].run(user_id, key, action)
