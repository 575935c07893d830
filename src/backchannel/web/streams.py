"""Open streams (WebSockets, SSE responses, waiting long-polls) of this
process, so a graceful shutdown ends them at once instead of waiting for its
timeout: sockets are closed with 1001 (going away), event streams and polls
are ended; clients reconnect and resume from their cursor (a poll ended so
has taken nothing)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

from aiohttp import WSCloseCode, web

__all__ = ["STREAMS", "OpenStreams", "add_stream_shutdown"]


class OpenStreams:
    def __init__(self) -> None:
        self.sockets: set[web.WebSocketResponse] = set()
        self.tasks: set[asyncio.Task[object]] = set()
        #: when the shutdown began (loop time), for the log of how long it took
        self.shutdown_at: float | None = None

    @contextlib.contextmanager
    def socket(self, ws: web.WebSocketResponse) -> Iterator[None]:
        self.sockets.add(ws)
        try:
            yield
        finally:
            self.sockets.discard(ws)

    @contextlib.contextmanager
    def stream(self) -> Iterator[None]:
        """The current handler task serves an event stream (or waits in a
        long-poll) until cancelled."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
        try:
            yield
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def close_all(self) -> None:
        self.shutdown_at = asyncio.get_running_loop().time()
        for ws in list(self.sockets):
            with contextlib.suppress(Exception):
                await ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down")
        for task in list(self.tasks):
            task.cancel()


STREAMS = web.AppKey("streams", OpenStreams)


def add_stream_shutdown(app: web.Application) -> None:
    app[STREAMS] = OpenStreams()

    async def on_shutdown(app: web.Application) -> None:
        await app[STREAMS].close_all()

    app.on_shutdown.append(on_shutdown)
