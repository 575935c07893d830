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
        self._late: set[asyncio.Future[None]] = set()  # closes of late sockets

    @property
    def closing(self) -> bool:
        return self.shutdown_at is not None

    @contextlib.contextmanager
    def socket(self, ws: web.WebSocketResponse) -> Iterator[None]:
        self.sockets.add(ws)
        if self.closing:  # opened while the shutdown was closing the others
            closing = asyncio.ensure_future(_close(ws))
            self._late.add(closing)
            closing.add_done_callback(self._late.discard)
        try:
            yield
        finally:
            self.sockets.discard(ws)

    @contextlib.contextmanager
    def stream(self) -> Iterator[None]:
        """The current handler task serves an event stream (or waits in a
        long-poll) until cancelled; at once when the shutdown has begun (a
        request that was on its way when the others were cancelled)."""
        task = asyncio.current_task()
        if task is not None:
            self.tasks.add(task)
            if self.closing:
                task.cancel()
        try:
            yield
        finally:
            if task is not None:
                self.tasks.discard(task)

    async def close_all(self) -> None:
        """Streams and polls are cancelled; sockets are closed all at once,
        each waiting at most :data:`CLOSE_WAIT` for the client's answer (one
        after another, 225 sockets took 5 to 10 s in the soak test)."""
        self.shutdown_at = asyncio.get_running_loop().time()
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*(_close(ws) for ws in list(self.sockets)))


CLOSE_WAIT = 1.0


async def _close(ws: web.WebSocketResponse) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(
            ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutting down"), CLOSE_WAIT
        )


STREAMS = web.AppKey("streams", OpenStreams)


def add_stream_shutdown(app: web.Application) -> None:
    app[STREAMS] = OpenStreams()

    async def on_shutdown(app: web.Application) -> None:
        await app[STREAMS].close_all()

    app.on_shutdown.append(on_shutdown)
