"""Slow bodies: a request body must arrive whole within ``body_timeout``
seconds of its head, so a client trickling it byte by byte cannot hold a
handler (and its memory) open. The body is read here, before the handler
(which then finds it read); at most ``max_body_bytes``, as before."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

from backchannel.web.errors import ApiError

__all__ = ["body_deadline_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _has_body(request: web.Request) -> bool:
    if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
        return False
    return request.body_exists


def body_deadline_middleware(timeout: float) -> Middleware:
    @web.middleware
    async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _has_body(request):
            try:
                async with asyncio.timeout(timeout):
                    await request.read()
            except TimeoutError:
                response = ApiError(
                    408, "body_timeout", f"the request body did not arrive within {timeout:g} s"
                ).response()
                # the rest of the body is still on its way: answer, then hang up
                # (rather than let the server linger, reading what is still coming)
                response.force_close()
                await response.prepare(request)
                await response.write_eof()
                if request.transport is not None:
                    request.transport.close()  # after the answer is flushed
                return response
            except web.HTTPRequestEntityTooLarge:
                raise ApiError(
                    413,
                    "too_large",
                    f"the request body is larger than {request.client_max_size} bytes",
                ) from None
        return await handler(request)

    return body_deadline
