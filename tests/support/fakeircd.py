"""A scripted fake IRC server for tests that need what a real ircd will not send.

The test drives the conversation by hand::

    async with FakeIrcServer() as srv:
        ...connect the code under test to 127.0.0.1:srv.port...
        client = await srv.accept()
        await client.register("me")
        client.send_raw(b":evil PRIVMSG me :caf\\xe9\\r\\n")
        line = await client.expect("QUIT")

Lines the client sends are decoded as UTF-8 (undecodable bytes become U+FFFD)
and kept, without their line ending, in :attr:`FakeClient.received`. The server
does not parse or answer anything on its own.

``FakeIrcServer(ssl=context)`` serves TLS with a server-side
:class:`ssl.SSLContext` (e.g. a self-signed certificate) instead of plaintext.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as ssl_module
import struct
from collections.abc import Callable
from types import TracebackType

__all__ = ["FakeClient", "FakeIrcServer"]

#: Longest line the fake accepts from a client before it gives up on it.
READ_LIMIT = 1 << 20


class FakeClient:
    """One connection accepted by :class:`FakeIrcServer`: the server's end."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, server_name: str
    ) -> None:
        self.server_name = server_name
        self.received: list[str] = []
        #: ``loop.time()`` at which each line of :attr:`received` was read.
        self.received_times: list[float] = []
        #: Set once the peer has disconnected (EOF, reset, or our own close).
        self.closed = asyncio.Event()
        transport = writer.transport
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._reader = reader
        self._writer = writer
        self._lines: asyncio.Queue[str | None] = asyncio.Queue()
        self._reading = asyncio.Event()
        self._reading.set()
        self._task = asyncio.create_task(self._read_loop())

    async def _read_loop(self) -> None:
        try:
            while True:
                await self._reading.wait()
                raw = await self._reader.readline()
                if not raw:
                    break
                line = raw.rstrip(b"\r\n").decode("utf-8", "replace")
                self.received.append(line)
                self.received_times.append(asyncio.get_running_loop().time())
                self._lines.put_nowait(line)
        except (OSError, ValueError):
            pass  # reset by the peer (or a TLS error), or a line over READ_LIMIT
        finally:
            self.closed.set()
            self._lines.put_nowait(None)

    async def readline(self, timeout: float = 5.0) -> str:
        """The next line the client sent, without CR/LF.

        Raises TimeoutError when none arrives in time and EOFError when the
        client has disconnected, each saying what was received so far."""
        try:
            line = await asyncio.wait_for(self._lines.get(), timeout)
        except TimeoutError:
            raise TimeoutError(
                f"no line from the client within {timeout}s; last lines: {self.received[-5:]!r}"
            ) from None
        if line is None:
            self._lines.put_nowait(None)  # every later read sees the EOF too
            raise EOFError(f"client disconnected; last lines: {self.received[-5:]!r}")
        return line

    async def expect(self, match: str | Callable[[str], bool], timeout: float = 5.0) -> str:
        """Read lines until one matches and return it. ``match`` is a predicate
        or a prefix; the deadline covers all the lines read, not each one."""

        def predicate(line: str) -> bool:
            return match(line) if callable(match) else line.startswith(match)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        skipped: list[str] = []
        while True:
            remaining = deadline - loop.time()
            try:
                line = await self.readline(max(remaining, 0.0))
            except (TimeoutError, EOFError) as exc:
                raise type(exc)(f"expected {match!r}; skipped {skipped[-10:]!r}: {exc}") from None
            if predicate(line):
                return line
            skipped.append(line)

    def extra_info(self, name: str) -> object:
        """Transport details, e.g. ``"ssl_object"`` for the TLS session."""
        return self._writer.get_extra_info(name)

    def send(self, line: str) -> None:
        """Queue ``line`` (UTF-8) followed by CRLF; ``drain`` to wait for it."""
        self._writer.write(line.encode("utf-8") + b"\r\n")

    def send_raw(self, data: bytes) -> None:
        """Queue bytes exactly as given: no line ending is added."""
        self._writer.write(data)

    async def drain(self) -> None:
        await self._writer.drain()

    def pause_reading(self) -> None:
        """Stop reading from the socket, as a stuck server would: the client's
        writes then back up in the kernel buffers."""
        self._reading.clear()
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()
        self._reading.set()

    def abort(self) -> None:
        """Drop the connection at once: with a zero linger time the kernel
        sends a reset (RST) instead of an orderly FIN."""
        sock = self._writer.get_extra_info("socket")
        if sock is not None and sock.fileno() >= 0:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self._transport.abort()

    async def close(self) -> None:
        """Close the connection cleanly, after flushing what was sent."""
        if not self._writer.is_closing():
            self._writer.close()
        with contextlib.suppress(ConnectionError):
            await self._writer.wait_closed()

    async def register(self, nick: str | None = None, *, motd: bool = True) -> str:
        """Wait for the client's NICK and USER (skipping CAP, PASS and anything
        else), then send a minimal welcome: 001-005 and 376 (422 when
        ``motd`` is false). Returns the nick welcomed: ``nick``, or the one
        the client asked for."""
        wanted: str | None = None
        user_seen = False
        while wanted is None or not user_seen:
            words = (await self.readline()).split(" ")
            verb = words[0].upper()
            if verb == "NICK" and len(words) > 1:
                wanted = words[1].removeprefix(":")
            elif verb == "USER":
                user_seen = True
        nick = nick or wanted
        await self.welcome(nick, motd=motd)
        return nick

    async def welcome(self, nick: str, *, motd: bool = True) -> None:
        """Send the minimal welcome of :meth:`register` (001-005 and 376, or
        422 when ``motd`` is false) without reading anything first."""
        me = self.server_name
        for line in (
            f":{me} 001 {nick} :Welcome to the fake network, {nick}",
            f":{me} 002 {nick} :Your host is {me}, running fakeircd",
            f":{me} 003 {nick} :This server was created for a test",
            f":{me} 004 {nick} {me} fakeircd-1 iow biklmnopstv bklov",
            f":{me} 005 {nick} CASEMAPPING=rfc1459 CHANTYPES=# PREFIX=(ov)@+ "
            "NETWORK=FakeNet :are supported by this server",
            f":{me} 376 {nick} :End of /MOTD command."
            if motd
            else f":{me} 422 {nick} :MOTD File is missing",
        ):
            self.send(line)
        await self.drain()

    async def _shutdown(self) -> None:
        self.abort()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task


class FakeIrcServer:
    """Listens on 127.0.0.1 on a free port while used as ``async with``."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        server_name: str = "fake.irc",
        *,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        self.host = host
        self.server_name = server_name
        self.ssl = ssl
        self.port = 0
        #: Every connection accepted so far, in order.
        self.clients: list[FakeClient] = []
        self._server: asyncio.Server | None = None
        self._accepted: asyncio.Queue[FakeClient] = asyncio.Queue()

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        client = FakeClient(reader, writer, self.server_name)
        self.clients.append(client)
        self._accepted.put_nowait(client)

    async def __aenter__(self) -> FakeIrcServer:
        self._server = await asyncio.start_server(
            self._on_connect, self.host, 0, limit=READ_LIMIT, ssl=self.ssl
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._server is not None:
            self._server.close()
        for client in self.clients:
            await client._shutdown()
        if self._server is not None:
            await self._server.wait_closed()

    async def accept(self, timeout: float = 5.0) -> FakeClient:
        """The next connection (already accepted ones are returned in order)."""
        try:
            return await asyncio.wait_for(self._accepted.get(), timeout)
        except TimeoutError:
            raise TimeoutError(f"no connection to port {self.port} within {timeout}s") from None
