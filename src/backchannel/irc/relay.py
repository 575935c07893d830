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
_WRITE_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class RelayLimits:
    buffer_events: int = 10_000
    buffer_bytes: int = 4 * 1024 * 1024
    connect_timeout: float = 15.0
    reconnect_interval: float = 60.0


#: ``json.dumps(..., ensure_ascii=False)`` without building an encoder per call
_encode = json.JSONEncoder(ensure_ascii=False).encode


def _event(prefix: str, command: str, params: object) -> str:
    return _encode([prefix, command, params])


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


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class _RelayProtocol(asyncio.Protocol):
    """The socket's side of a relay connection. Lines are framed, parsed and
    queued straight from the event loop's read callback: no task, no stream
    buffer and no wake-up per connection and read."""

    def __init__(self, relay: RelayConnection) -> None:
        self.relay = relay
        self.framer = LineFramer(MAX_LINE_BYTES)
        self.transport: asyncio.Transport | None = None
        #: the reason the connection ended, once it has
        self.ended: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.can_write = asyncio.Event()
        self.can_write.set()
        self.reading = True
        self.held: list[str] = []  # lines read but not queued while the buffer is full
        self.released = asyncio.Event()  # set when held lines have been queued

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self._deliver(self.framer.feed(data))

    def _deliver(self, lines: list[str]) -> None:
        relay = self.relay
        for i, line in enumerate(lines):
            relay._handle_line(line)
            if relay.full:
                # the rest of this read waits here, and TCP back-pressure
                # holds the server until the browser pulls
                self.held = lines[i + 1 :]
                if self.reading and self.transport is not None:
                    self.transport.pause_reading()
                    self.reading = False
                return

    def resume(self) -> None:
        """The browser pulled: deliver what was held, then read again."""
        held, self.held = self.held, []
        if held:
            self._deliver(held)
            if not self.held:
                self.released.set()
        if self.relay.full or self.reading:
            return
        if self.transport is not None and not self.transport.is_closing():
            self.reading = True
            self.transport.resume_reading()

    def eof_received(self) -> bool:
        self._end("Connection closed by the server.")
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.can_write.set()
        if exc is None:
            self._end("Connection closed by the server.")
        else:
            self._end(f"Connection lost: {getattr(exc, 'strerror', None) or exc}.")

    def _end(self, reason: str) -> None:
        if not self.ended.done():
            self.ended.set_result(reason)

    def pause_writing(self) -> None:
        self.can_write.clear()

    def resume_writing(self) -> None:
        self.can_write.set()


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
        self._readers: set[asyncio.Future[None]] = set()  # pulls waiting for an event
        self.full = False  # the buffer is full: the socket is not read until a pull
        self._protocol: _RelayProtocol | None = None
        self._task: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()

    # -- life cycle -------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"relay {self.target.spec}")

    async def close(self, quit_message: str = "Connection closed", reason: str = "") -> None:
        """Send QUIT (when connected), close the socket and stop the task."""
        if self._protocol is not None and self.state == CONNECTED:
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
        protocol = self._protocol
        transport = protocol.transport if protocol is not None else None
        if protocol is None or transport is None or transport.is_closing():
            raise ConnectionResetError("not connected")
        async with self._write_lock:
            transport.write(line + b"\r\n")
            if not protocol.can_write.is_set():  # the socket's buffer is full: wait for it
                await asyncio.wait_for(protocol.can_write.wait(), _WRITE_TIMEOUT)
            if transport.is_closing():
                raise ConnectionResetError("connection closed")

    def take(self) -> list[str]:
        """Everything queued (JSON-encoded events), removing it."""
        events = list(self._events)
        self._events.clear()
        self._queued_bytes = 0
        if self.full:
            self.full = False
            if self._protocol is not None:
                self._protocol.resume()
        return events

    @property
    def queued(self) -> int:
        return len(self._events)

    async def wait_readable(self, timeout: float) -> None:
        """Return when something is queued or ``timeout`` passes. A waiting
        pull costs one future and one timer (no task)."""
        if self._events:
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._readers.add(waiter)
        timer = loop.call_later(timeout, _wake, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._readers.discard(waiter)

    # -- the server's side ---------------------------------------------------
    def _queue(self, encoded: str) -> None:
        self._events.append(encoded)
        self._queued_bytes += len(encoded)
        if self._readers:
            readers, self._readers = self._readers, set()
            for reader in readers:
                _wake(reader)
        if (
            len(self._events) >= self.limits.buffer_events
            or self._queued_bytes >= self.limits.buffer_bytes
        ):
            self.full = True

    def _finish(self, reason: str) -> None:
        if self.state != CLOSED:
            self.state = CLOSED
            self.close_reason = reason
            self._queue(_event("", "ERROR", reason))
        protocol, self._protocol = self._protocol, None
        if protocol is not None and protocol.transport is not None:
            protocol.transport.close()

    async def _connect(self) -> _RelayProtocol:
        loop = asyncio.get_running_loop()
        last: Exception | None = None
        for _family, address in self.target.addresses:
            try:
                _, protocol = await asyncio.wait_for(
                    loop.create_connection(lambda: _RelayProtocol(self), address, self.target.port),
                    self.limits.connect_timeout,
                )
                return protocol
            except (OSError, TimeoutError) as exc:
                last = exc
        assert last is not None
        raise last

    async def _run(self) -> None:
        try:
            protocol = await self._connect_with_retries()
            if protocol is not None:
                reason = await protocol.ended
                while protocol.held:  # what was read before the end comes before the ERROR
                    protocol.released.clear()
                    await protocol.released.wait()
                self._finish(reason)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a bug must not take the server down; say what happened
            log.exception("relay to %s failed", self.target.spec)
            self._finish(f"Internal error: {type(exc).__name__}")

    async def _connect_with_retries(self) -> _RelayProtocol | None:
        while True:
            self._queue(_event("", "CONNECTING", ""))
            try:
                self._protocol = await self._connect()
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
            return self._protocol

    def _handle_line(self, line: str) -> None:
        try:
            msg = parse(line)
        except ParseError:
            self._queue(_event("", "MALFORMED", line))
            return
        if msg.command == "PING" and self._protocol is not None:
            transport = self._protocol.transport
            if transport is not None and not transport.is_closing():
                # written without waiting for the socket to drain: the reader must not stall
                pong = "PONG" + (f" :{msg.params[-1]}" if msg.params else "")
                transport.write(pong.encode() + b"\r\n")
        self._queue(_event(msg.source or "", msg.verb, msg.params))
