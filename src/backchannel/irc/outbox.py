"""Outgoing lines: a bounded queue drained under a token bucket, so a burst
of commands never gets us disconnected for flooding. Registration, PONG and
QUIT are written directly by the connection, outside this queue."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable

from backchannel.irc.pacing import TokenBucket

__all__ = ["Outbox", "OutboxFull"]


class OutboxFull(Exception):
    """Too many lines are waiting to be sent."""


class Outbox:
    def __init__(
        self,
        burst: int,
        rate: float,
        max_queued: int = 1000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.bucket = TokenBucket(burst, rate)
        self.max_queued = max_queued
        self._clock = clock
        self._queue: deque[tuple[bytes, Callable[[], None] | None]] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._queue)

    def put(self, line: str, on_sent: Callable[[], None] | None = None) -> None:
        """Queue a line; it is sent once the connection is registered, and
        ``on_sent`` is called when it has been written."""
        if len(self._queue) >= self.max_queued:
            raise OutboxFull(f"{len(self._queue)} lines are already waiting to be sent")
        self._queue.append((line.encode("utf-8") + b"\r\n", on_sent))
        self._wake.set()

    def put_first(self, lines: list[str]) -> None:
        """Queue ``lines`` ahead of everything waiting (rejoins after a reconnect)."""
        for line in reversed(lines):
            self._queue.appendleft((line.encode("utf-8") + b"\r\n", None))
        self._wake.set()

    def attach(self, writer: asyncio.StreamWriter) -> None:
        """Start draining the queue into ``writer`` (call once registered);
        lines queued while disconnected are sent then."""
        self.detach()
        self._writer = writer
        self._task = asyncio.create_task(self._pump(writer), name="irc outbox")

    def detach(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None
        self._writer = None

    def clear(self) -> None:
        self._queue.clear()

    async def flush(self, timeout: float) -> None:
        """Wait until the queue is empty (or ``timeout``)."""
        deadline = self._clock() + timeout
        while self._queue and self._clock() < deadline and self._task is not None:
            await asyncio.sleep(0.05)
        writer = self._writer
        if writer is not None and not writer.is_closing():
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), max(0.1, deadline - self._clock()))

    async def _pump(self, writer: asyncio.StreamWriter) -> None:
        while True:
            if not self._queue:
                self._wake.clear()
                await self._wake.wait()
                continue
            wait = self.bucket.take(self._clock())
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            data, on_sent = self._queue.popleft()
            writer.write(data)
            if on_sent is not None:
                on_sent()
            await writer.drain()
