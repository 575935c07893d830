"""A tiny asyncio IRC client for driving real servers in tests.

    client = await IRCClient.connect(server.host, server.port)
    await client.register("alice")
    await client.send("JOIN #test")
    await client.expect(lambda m: m.command == "JOIN" and m.nick == "alice")
    await client.close()

Every received line is a :class:`Message`, a ``str`` (the raw line without CRLF) that also
carries its parsed ``tags``, ``source``, ``nick``, ``command`` and ``params``, so predicates
can use either form. PINGs are answered while reading. All received lines are kept in
``client.received``.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ssl as ssl_module
import time
from collections.abc import Callable, Iterable
from typing import Self

__all__ = ["IRCClient", "Message", "Predicate"]


def _unescape_tag_value(value: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            out.append({":": ";", "s": " ", "r": "\r", "n": "\n"}.get(nxt, nxt))
            i += 2
        elif ch == "\\":
            i += 1
        else:
            out.append(ch)
            i += 1
    return "".join(out)


class Message(str):
    """One received IRC line (a ``str``) with its parsed parts as attributes."""

    tags: dict[str, str]
    source: str | None
    command: str
    params: list[str]

    def __new__(cls, raw: str) -> Message:
        self = super().__new__(cls, raw)
        rest = raw
        self.tags = {}
        if rest.startswith("@"):
            tag_text, _, rest = rest[1:].partition(" ")
            for item in tag_text.split(";"):
                if item:
                    key, _, value = item.partition("=")
                    self.tags[key] = _unescape_tag_value(value)
            rest = rest.lstrip(" ")
        self.source = None
        if rest.startswith(":"):
            source, _, rest = rest[1:].partition(" ")
            self.source = source
            rest = rest.lstrip(" ")
        trailing: str | None = None
        if " :" in rest:
            rest, _, trailing = rest.partition(" :")
        elif rest.startswith(":"):
            rest, trailing = "", rest[1:]
        words = rest.split()
        self.command = words[0].upper() if words else ""
        self.params = words[1:]
        if trailing is not None:
            self.params.append(trailing)
        return self

    @property
    def nick(self) -> str | None:
        """The nick (or server name) part of the source."""
        if self.source is None:
            return None
        return self.source.split("!", 1)[0].split("@", 1)[0]

    @property
    def raw(self) -> str:
        return str(self)

    def param(self, index: int, default: str = "") -> str:
        return self.params[index] if -len(self.params) <= index < len(self.params) else default


Predicate = Callable[[Message], object] | str


def _as_predicate(predicate: Predicate) -> Callable[[Message], object]:
    if isinstance(predicate, str):
        command = predicate.upper()
        return lambda m: m.command == command
    return predicate


class IRCClient:
    """A plain-socket (or TLS) IRC connection; methods are coroutines."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer
        self.received: list[Message] = []
        self.nick: str | None = None
        self.caps: set[str] = set()  # caps acknowledged during register()
        self.available_caps: dict[str, str] = {}  # from CAP LS during register()
        self.isupport: dict[str, str] = {}
        self._eof = False

    @classmethod
    async def connect(
        cls,
        host: str,
        port: int,
        *,
        ssl: ssl_module.SSLContext | None = None,
        server_hostname: str | None = None,
        timeout: float = 10.0,
    ) -> Self:
        """Open a connection; with ``ssl``, the certificate is checked for ``host`` (or
        ``server_hostname``)."""
        hostname = (server_hostname or host) if ssl is not None else None
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(host, port, ssl=ssl, server_hostname=hostname), timeout
        )
        return cls(reader, writer)

    async def send(self, line: str) -> None:
        """Send one line (CRLF is added)."""
        if "\r" in line or "\n" in line:
            raise ValueError(f"line contains CR/LF: {line!r}")
        self.writer.write(line.encode() + b"\r\n")
        await self.writer.drain()

    async def _read_one(self, timeout: float) -> Message | None:
        if self._eof:
            return None
        try:
            data = await asyncio.wait_for(self.reader.readline(), timeout)
        except (asyncio.IncompleteReadError, ConnectionError):
            data = b""
        if not data:
            self._eof = True
            return None
        msg = Message(data.decode(errors="replace").rstrip("\r\n"))
        self.received.append(msg)
        if msg.command == "PING":
            await self.send("PONG :" + msg.param(-1))
        return msg

    async def expect(self, predicate: Predicate, timeout: float = 10.0) -> Message:
        """Read lines until one matches ``predicate`` (a callable, or a command like "001").

        Lines read past are consumed. Raises AssertionError on timeout or EOF, listing the
        last lines received.
        """
        match = _as_predicate(predicate)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(self._describe_failure(predicate, timeout, "timed out"))
            try:
                msg_or_none = await self._read_one(remaining)
            except TimeoutError:
                raise AssertionError(
                    self._describe_failure(predicate, timeout, "timed out")
                ) from None
            if msg_or_none is None:
                raise AssertionError(self._describe_failure(predicate, timeout, "EOF"))
            if match(msg_or_none):
                return msg_or_none

    async def expect_none(self, predicate: Predicate, timeout: float = 1.0) -> None:
        """Assert that no matching line arrives within ``timeout`` (lines are consumed)."""
        match = _as_predicate(predicate)
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                msg = await self._read_one(remaining)
            except TimeoutError:
                return
            if msg is None:
                return
            if match(msg):
                raise AssertionError(f"unexpected line: {msg!r}")

    async def sync(self, timeout: float = 10.0) -> None:
        """Round-trip a PING, so everything the server sent before it has been read."""
        token = f"sync{time.monotonic_ns()}"
        await self.send(f"PING :{token}")
        await self.expect(lambda m: m.command == "PONG" and m.param(-1) == token, timeout)

    def _describe_failure(self, predicate: Predicate, timeout: float, why: str) -> str:
        recent = "\n".join(f"  {line}" for line in self.received[-20:]) or "  (nothing)"
        return f"{why} after {timeout} s waiting for {predicate!r}; last lines:\n{recent}"

    async def register(
        self,
        nick: str,
        *,
        user: str | None = None,
        realname: str = "Backchannel test",
        password: str | None = None,
        caps: Iterable[str] = (),
        sasl: tuple[str, str] | None = None,
        timeout: float = 10.0,
    ) -> Message:
        """Register with NICK/USER and wait for 001 (returned); then read to end of MOTD.

        With ``caps`` (and/or ``sasl``), negotiates ``CAP LS 302`` / ``CAP REQ`` first;
        unknown caps raise. ``sasl=(account, password)`` authenticates with SASL PLAIN and
        requires 903.
        """
        wanted = list(caps)
        if sasl is not None and "sasl" not in wanted:
            wanted.append("sasl")
        if wanted:
            await self.send("CAP LS 302")
        if password is not None:
            await self.send(f"PASS {password}")
        await self.send(f"NICK {nick}")
        await self.send(f"USER {user or nick} 0 * :{realname}")
        self.nick = nick
        if wanted:
            self.available_caps = await self.read_cap_ls(timeout)
            missing = [c for c in wanted if c not in self.available_caps]
            if missing:
                raise AssertionError(f"server does not offer {missing}: {self.available_caps}")
            await self.send("CAP REQ :" + " ".join(wanted))
            ack = await self.expect(
                lambda m: m.command == "CAP" and m.param(1) in ("ACK", "NAK"), timeout
            )
            if ack.param(1) == "NAK":
                raise AssertionError(f"CAP REQ refused: {ack}")
            self.caps.update(ack.param(-1).split())
            if sasl is not None:
                await self.authenticate_plain(*sasl, timeout=timeout)
            await self.send("CAP END")
        welcome = await self.expect(
            lambda m: m.command in ("001", "432", "433", "ERROR", "904"), timeout
        )
        if welcome.command != "001":
            raise AssertionError(f"registration as {nick!r} failed: {welcome}")
        self.nick = welcome.param(0, nick)
        while True:
            msg = await self.expect(lambda m: m.command in ("005", "376", "422"), timeout)
            if msg.command != "005":
                break
            for token in msg.params[1:-1]:
                key, _, value = token.partition("=")
                self.isupport[key.upper()] = value
        return welcome

    async def read_cap_ls(self, timeout: float = 10.0) -> dict[str, str]:
        """Read the (possibly multi-line) reply to ``CAP LS 302`` as {cap: value}."""
        caps: dict[str, str] = {}
        while True:
            msg = await self.expect(lambda m: m.command == "CAP" and m.param(1) == "LS", timeout)
            for item in msg.param(-1).split():
                name, _, value = item.partition("=")
                caps[name] = value
            if msg.param(2) != "*":
                return caps

    async def authenticate_plain(
        self, account: str, password: str, *, timeout: float = 10.0, require: bool = True
    ) -> Message:
        """Run ``AUTHENTICATE PLAIN``; returns the 903/904/... numeric.

        With ``require`` (default) anything but 903 raises AssertionError.
        """
        await self.send("AUTHENTICATE PLAIN")
        await self.expect(lambda m: m.command == "AUTHENTICATE" and m.param(0) == "+", timeout)
        payload = base64.b64encode(f"{account}\0{account}\0{password}".encode()).decode()
        await self.send(f"AUTHENTICATE {payload}")
        result = await self.expect(
            lambda m: m.command in ("903", "904", "905", "906", "907", "908"), timeout
        )
        if require and result.command != "903":
            raise AssertionError(f"SASL PLAIN as {account!r} failed: {result}")
        return result

    async def close(self, quit_message: str | None = "bye") -> None:
        """Send QUIT (best effort) and close the socket."""
        if not self.writer.is_closing():
            if quit_message is not None and not self._eof:
                with contextlib.suppress(OSError, ConnectionError):
                    await self.send(f"QUIT :{quit_message}")
            self.writer.close()
        with contextlib.suppress(OSError, ConnectionError, ssl_module.SSLError):
            await asyncio.wait_for(self.writer.wait_closed(), 2)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
