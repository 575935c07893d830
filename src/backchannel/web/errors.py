"""Errors and request bodies of the v1 API, in one place.

Every error is answered as ``{"error": {"code": <string>, "message": <text>}}``
with its HTTP status: handlers raise :class:`ApiError`, and
:func:`api_error_middleware` answers it. :func:`read_json` validates a body
against a pydantic model (415 for form or text content types, which other
sites can send without asking; 413 too large; 400 not JSON; 422 wrong fields).
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

__all__ = [
    "MAX_BODY",
    "ApiError",
    "api_error_middleware",
    "describe",
    "error_response",
    "json_depth",
    "parse_json",
    "read_json",
]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
M = TypeVar("M", bound=BaseModel)

MAX_BODY = 256 * 1024
MAX_DEPTH = 64
_SIMPLE_TYPES = {"application/x-www-form-urlencoded", "multipart/form-data", "text/plain"}


class ApiError(Exception):
    """An error answered as ``{"error": {"code", "message"}}`` with ``status``."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def response(self) -> web.Response:
        return error_response(self.status, self.code, self.message, self.headers)


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "message": message}}, status=status, headers=headers
    )


@web.middleware
async def api_error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Answers an :class:`ApiError` raised by any handler as JSON. Goes inside
    ``security_middleware``."""
    try:
        return await handler(request)
    except ApiError as exc:
        return exc.response()
    except sqlite3.OperationalError as exc:
        # the database is locked by another process, or the disk is full: say so, and
        # let the client try again (nothing stored is touched by a failed write)
        log.warning("%s %s: storage unavailable: %s", request.method, request.path, exc)
        return error_response(
            503,
            "storage_unavailable",
            f"the server's storage is unavailable for now ({exc}); try again shortly",
            {"Retry-After": "5"},
        )


def describe(exc: ValidationError) -> str:
    """A validation error for people: ``channels.0.name: must not contain ...``."""
    parts = []
    for error in exc.errors(include_url=False):
        where = ".".join(str(part) for part in error["loc"]) or "body"
        message = str(error["msg"]).removeprefix("Value error, ")
        parts.append(f"{where}: {message}")
    return "; ".join(parts)


def json_depth(raw: bytes) -> int:
    """How deeply arrays and objects nest in a JSON text (strings skipped),
    found without parsing, so a hostile body cannot exhaust the parser."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return deepest


def parse_json(raw: bytes, max_depth: int = MAX_DEPTH) -> object:
    """JSON from a client: 400 ``too_deep`` past ``max_depth`` levels, 400
    ``bad_json`` when it is not JSON."""
    if json_depth(raw) > max_depth:
        raise ApiError(400, "too_deep", f"JSON nested deeper than {max_depth} levels")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise ApiError(400, "bad_json", "the request body is not valid JSON") from None


async def read_json(request: web.Request, model: type[M], max_bytes: int = MAX_BODY) -> M:
    """The request body as ``model``, or an :class:`ApiError` saying what is wrong."""
    if request.content_type in _SIMPLE_TYPES:
        raise ApiError(415, "unsupported_media_type", "send the body as application/json")
    too_large = ApiError(413, "too_large", f"the request body is larger than {max_bytes} bytes")
    if request.content_length is not None and request.content_length > max_bytes:
        raise too_large
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        raise too_large from None
    if len(raw) > max_bytes:
        raise too_large
    data = parse_json(raw)
    if not isinstance(data, dict):
        raise ApiError(422, "invalid", "the body must be a JSON object")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(422, "invalid", describe(exc)) from None
