"""The seed's raw relay: one IRC connection whose lines are queued for a
browser that speaks IRC itself.

The queue is bounded in events and bytes; when it is full the reader stops
reading the socket until the browser pulls, so TCP back-pressure, not memory,
absorbs a flood. Server ``PING``s are answered here, so a slow browser does not
get the connection dropped, and still delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from collections import deque
from dataclasses import dataclass
from typing import Final

from backchannel.irc.targets import ResolvedTarget
from backchannel.protocol.framing import MAX_LINE_BYTES, LineFramer
from backchannel.protocol.message import ParseError, parse

__all__ = ["RelayConnection", "RelayLimits", "validate_pushed_line"]

log = logging.getLogger(__name__)

CONNECTING: Final = "connecting"
CONNECTED: Final = "connected"
CLOSED: Final = "closed"

MAX_PUSH_BYTES = 512
_READ_SIZE = 65536
_WRITE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RelayLimits:
    buffer_events: int = 10_000
    buffer_bytes: int = 4 * 1024 * 1024
    connect_timeout: float = 15.0
    reconnect_interval: float = 60.0


def _event(prefix: str, command: str, params: object) -> str:
    return json.dumps([prefix, command, params], ensure_ascii=False)


def validate_pushed_line(body: bytes) -> bytes:
    """The line a browser pushed, without its line ending, or ValueError with
    the reason it cannot be sent."""
    if body.endswith(b"\r\n"):
        body = body[:-2]
    elif body.endswith((b"\n", b"\r")):
        body = body[:-1]
    if not body.strip(b" "):
        raise ValueError("Empty line.")
    if b"\r" in body or b"\n" in body or b"\0" in body:
        raise ValueError("Line contains CR, LF or NUL; nothing was sent.")
    if len(body) > MAX_PUSH_BYTES:
        raise ValueError(f"Line is {len(body)} bytes; the limit is {MAX_PUSH_BYTES}.")
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("Line is not valid UTF-8.") from None
    return body


class RelayConnection:
    """One upstream IRC connection of the seed API; events are JSON-encoded
    ``[prefix, command, params]`` triples, encoded once when queued."""

    def __init__(self, target: ResolvedTarget, limits: RelayLimits) -> None:
        self.target = target
        self.limits = limits
        self.state: str = CONNECTING
        self.close_reason = ""
        self._events: deque[str] = deque()
        self._queued_bytes = 0
        self._readable = asyncio.Event()
        self._space = asyncio.Event()
        self._space.set()
        self._writer: asyncio.StreamWriter | None = None
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    # -- life cycle -------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"relay {self.target.spec}")

    async def close(self, quit_message: str = "Connection closed", reason: str = "") -> None:
        """Send QUIT (when connected), close the socket and stop the task."""
        if self._writer is not None and self.state == CONNECTED:
            with contextlib.suppress(Exception):
                await self.write(f"QUIT :{quit_message}".encode())
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._finish(reason or "Connection closed.")

    # -- the browser's side -------------------------------------------------
    async def push(self, body: bytes) -> None:
        """Send one pushed line; ValueError with the reason when nothing was sent."""
        line = validate_pushed_line(body)
        if self.state == CONNECTING:
            raise ValueError("Not connected yet; wait for CONNECTED.")
        if self.state == CLOSED:
            raise ValueError(f"Connection closed: {self.close_reason}")
        try:
            await self.write(line)
        except (OSError, TimeoutError) as exc:
            raise ValueError(f"Write failed: {exc or type(exc).__name__}") from None

    async def write(self, line: bytes) -> None:
        writer = self._writer
        if writer is None or writer.is_closing():
            raise ConnectionResetError("not connected")
        async with self._write_lock:
            writer.write(line + b"\r\n")
            await asyncio.wait_for(writer.drain(), _WRITE_TIMEOUT)

    def take(self) -> list[str]:
        """Everything queued (JSON-encoded events), removing it."""
        events = list(self._events)
        self._events.clear()
        self._queued_bytes = 0
        self._readable.clear()
        self._space.set()
        return events

    @property
    def queued(self) -> int:
        return len(self._events)

    async def wait_readable(self, timeout: float) -> None:
        """Return when something is queued or ``timeout`` passes."""
        if not self._events:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._readable.wait(), timeout)

    # -- the server's side ---------------------------------------------------
    def _queue(self, encoded: str) -> None:
        self._events.append(encoded)
        self._queued_bytes += len(encoded)
        self._readable.set()
        if (
            len(self._events) >= self.limits.buffer_events
            or self._queued_bytes >= self.limits.buffer_bytes
        ):
            self._space.clear()

    def _finish(self, reason: str) -> None:
        if self.state != CLOSED:
            self.state = CLOSED
            self.close_reason = reason
            self._queue(_event("", "ERROR", reason))
        writer, self._writer = self._writer, None
        if writer is not None:
            writer.close()

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        last: Exception | None = None
        for _family, address in self.target.addresses:
            try:
                return await asyncio.wait_for(
                    asyncio.open_connection(address, self.target.port, limit=_READ_SIZE),
                    self.limits.connect_timeout,
                )
            except (OSError, TimeoutError) as exc:
                last = exc
        assert last is not None
        raise last

    async def _run(self) -> None:
        try:
            reader = await self._connect_with_retries()
            if reader is not None:
                await self._read_loop(reader)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not take the server down; say what happened
            log.exception("relay to %s failed", self.target.spec)
            self._finish(f"Internal error: {type(exc).__name__}")

    async def _connect_with_retries(self) -> asyncio.StreamReader | None:
        while True:
            self._queue(_event("", "CONNECTING", ""))
            try:
                reader, self._writer = await self._connect()
            except TimeoutError:
                self._queue(
                    _event(
                        "",
                        "CONNECT_TIMEOUT",
                        f"No answer from {self.target.spec} within "
                        f"{self.limits.connect_timeout:g} s; retrying in "
                        f"{self.limits.reconnect_interval:g} s.",
                    )
                )
                await asyncio.sleep(self.limits.reconnect_interval)
                continue
            except OSError as exc:
                reason = os.strerror(exc.errno) if exc.errno else str(exc) or type(exc).__name__
                self._finish(f"Cannot connect to {self.target.spec}: {reason}.")
                return None
            self.state = CONNECTED
            self._queue(_event("", "CONNECTED", ""))
            return reader

    async def _read_loop(self, reader: asyncio.StreamReader) -> None:
        framer = LineFramer(MAX_LINE_BYTES)
        while True:
            await self._space.wait()
            try:
                data = await reader.read(_READ_SIZE)
            except OSError as exc:
                self._finish(f"Connection lost: {exc.strerror or exc}.")
                return
            if not data:
                self._finish("Connection closed by the server.")
                return
            for line in framer.feed(data):
                self._handle_line(line)

    def _handle_line(self, line: str) -> None:
        try:
            msg = parse(line)
        except ParseError:
            self._queue(_event("", "MALFORMED", line))
            return
        if msg.command == "PING" and self._writer is not None:
            # written without waiting for the socket to drain: the reader must not stall
            pong = "PONG" + (f" :{msg.params[-1]}" if msg.params else "")
            self._writer.write(pong.encode() + b"\r\n")
        self._queue(_event(msg.source or "", msg.verb, msg.params))
