"""One TCP/TLS connection of the engine: registration (CAP, SASL, nick
fallback), keepalive, and each line from the server applied to the state."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from backchannel.irc.nicks import NickChooser
from backchannel.irc.outbox import OutboxFull
from backchannel.irc.status import Lag, SaslOutcome, StsApplied
from backchannel.protocol import cap as capneg
from backchannel.protocol.framing import LineFramer
from backchannel.protocol.message import Message, ParseError, parse
from backchannel.protocol.sasl import SaslFailure, SaslSuccess
from backchannel.protocol.sts import StsPolicy
from backchannel.state.events import Event
from backchannel.state.events.messages import ChatEvent, CtcpRequest
from backchannel.state.events.server import Motd, NickError

if TYPE_CHECKING:
    from backchannel.irc.client import IrcClient

__all__ = ["MAX_UNSENT", "Connection", "Disconnect", "close_link"]

log = logging.getLogger(__name__)

#: bytes waiting to be sent at which a server is taken to have stopped reading
#: (our answers to its PINGs would otherwise pile up in memory without limit)
MAX_UNSENT = 1 << 20


def close_link(writer: asyncio.StreamWriter) -> None:
    """Close the connection: at once (a reset) when data is still waiting to
    be sent, since a peer that stopped reading would keep a polite close (and
    the socket) pending for ever."""
    transport = writer.transport
    if transport.is_closing():
        return
    if _unsent(transport):
        transport.abort()
    else:
        writer.close()


def _unsent(transport: asyncio.BaseTransport) -> int:
    """Bytes waiting to be sent; 0 once a TLS transport is torn down (its
    ``get_write_buffer_size`` then fails)."""
    try:
        return int(transport.get_write_buffer_size())  # type: ignore[attr-defined]
    except AttributeError:
        return 0


class Disconnect(Exception):
    """End this connection; ``fatal`` stops reconnecting; ``sts_port`` asks
    for an immediate reconnect with TLS."""

    def __init__(self, reason: str, *, fatal: bool = False, sts_port: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.fatal = fatal
        self.sts_port = sts_port


class Connection:
    """One TCP/TLS connection of an :class:`~backchannel.irc.client.IrcClient`."""

    def __init__(
        self, client: IrcClient, writer: asyncio.StreamWriter, tls: bool, port: int
    ) -> None:
        self.client = client
        self.writer = writer
        self.tls = tls
        self.port = port
        config = client.config
        self.cap = capneg.CapNegotiator(tls=tls, sasl=config.sasl)
        self.nicks = NickChooser(config.nick, config.alt_nicks)
        self.registered = False
        self.history_requested = False
        self.abort_reason: str | None = None

    def send_now(self, line: str) -> None:
        """Write at once, outside the flood queue (registration, PONG); a
        server that lets more than :data:`MAX_UNSENT` bytes pile up (it sends
        PINGs but never reads the PONGs) is disconnected."""
        writer = self.writer
        if writer.is_closing():
            return
        unsent = _unsent(writer.transport)
        if unsent > MAX_UNSENT:
            self._abort(f"The server stopped reading what we send ({unsent // 1024} KiB waiting)")
            return
        writer.write(line.encode("utf-8") + b"\r\n")

    async def register(self) -> None:
        config = self.client.config
        for line in self.cap.start():
            self.send_now(line)
        if config.password:
            self.send_now(f"PASS :{config.password}")
        self.send_now(f"NICK {self.nicks.current}")
        username = config.username or config.nick
        self.send_now(f"USER {username} 0 * :{config.realname}")
        await self.writer.drain()
        self.client.lag.connected(self.client.clock())

    async def keepalive(self) -> None:
        client = self.client
        lag = client.lag
        deadline = client.clock() + client.config.register_timeout
        while True:
            now = client.clock()
            if not self.registered and now >= deadline:
                self._abort("Registration timed out")
                return
            if lag.is_dead(now):
                self._abort(f"Ping timeout: no answer for {lag.timeout:g} s")
                return
            if lag.ping_due(now):
                self.send_now(f"PING :{lag.ping(now)}")
            wait = lag.next_check(client.clock())
            if not self.registered:
                wait = min(wait, max(0.0, deadline - client.clock()))
            await asyncio.sleep(max(wait, 0.05))

    def _abort(self, reason: str) -> None:
        log.info("%s: %s", self.client.config.label, reason)
        self.abort_reason = reason
        # a reset, not a polite close: the peer is dead or not reading, and a
        # close would wait (for ever, or 30 s with TLS) for it to take our data
        self.writer.transport.abort()

    async def read(self, reader: asyncio.StreamReader) -> None:
        framer = LineFramer()
        client = self.client
        while True:
            try:
                gate = client.read_gate
                if gate is not None and not gate.is_set():
                    await gate.wait()  # whoever consumes our events is behind: let TCP wait
                data = await reader.read(65536)
            except OSError as exc:
                raise Disconnect(self.abort_reason or f"Connection lost: {exc}") from None
            if not data:
                raise Disconnect(self.abort_reason or "Connection closed by the server")
            self._handle_lines(framer.feed(data))
            del data  # not kept alive while waiting for the next read

    def _handle_lines(self, lines: list[str]) -> None:
        client = self.client
        # the lines of one read arrived together: one clock reading for all of them
        now = client.clock()
        received = client._now()
        for line in lines:
            try:
                msg = parse(line)
            except ParseError:
                log.debug("unparseable line from %s: %r", client.config.label, line)
                continue
            self.handle(msg, now, received)

    # -- one line -----------------------------------------------------------
    def handle(
        self, msg: Message, now: float | None = None, received: datetime | None = None
    ) -> None:
        """Apply one line; ``now`` (the client's clock) and ``received`` (the
        wall-clock time) default to the current time."""
        client = self.client
        if now is None:
            now = client.clock()
        client.lag.received(now)
        command = msg.command
        if command == "PING":
            self.send_now("PONG" + (f" :{msg.params[-1]}" if msg.params else ""))
        elif command == "PONG" and msg.params:
            lag = client.lag.pong(msg.params[-1], now)
            if lag is not None:
                client.emit(Lag(time=client._now(), seconds=round(lag, 3)))
        if not self.cap.done or command in ("CAP", "AUTHENTICATE") or command.isdigit():
            self._cap_actions(self.cap.feed(msg))
        events = client.state.apply(msg, received or client._now())
        emit = client.emit
        for event in events:
            self._on_event(event)
            emit(event)
        if not self.registered and client.state.registered:
            self._on_registered()

    def _cap_actions(self, actions: list[capneg.Action]) -> None:
        client = self.client
        failed: str | None = None  # acted on after the lines that follow it (CAP END)
        for action in actions:
            if isinstance(action, capneg.Send):
                self.send_now(action.line)
            elif isinstance(action, capneg.StsUpgrade):
                client.emit(
                    StsApplied(
                        time=client._now(), host=client.config.host, port=action.port, upgrade=True
                    )
                )
                # from now on this client only connects with TLS (never falls back)
                client.sts_port = action.port
                raise Disconnect("Upgrading to TLS (STS)", sts_port=action.port)
            elif isinstance(action, capneg.StsPersist):
                self._persist_sts(action)
            elif isinstance(action, SaslSuccess):
                client.emit(
                    SaslOutcome(
                        time=client._now(),
                        success=True,
                        mechanism=action.mechanism,
                        account=action.account,
                    )
                )
            elif isinstance(action, SaslFailure):
                client.emit(
                    SaslOutcome(
                        time=client._now(),
                        success=False,
                        mechanism=client.config.sasl.mechanism if client.config.sasl else "",
                        reason=action.reason,
                    )
                )
                failed = action.reason
        if failed is not None:
            self.send_now("QUIT :SASL authentication failed")
            raise Disconnect(f"SASL authentication failed: {failed}", fatal=True)

    def _persist_sts(self, action: capneg.StsPersist) -> None:
        client = self.client
        host = client.config.host
        if action.duration == 0:
            client.sts.remove(host)
            return
        policy = StsPolicy.from_duration(
            host, self.port, action.duration, time.time(), preload=action.preload
        )
        if policy is not None:
            client.sts.put(policy)
            client.emit(
                StsApplied(
                    time=client._now(),
                    host=host,
                    port=self.port,
                    upgrade=False,
                    duration=action.duration,
                )
            )

    def _on_event(self, event: Event) -> None:
        client = self.client
        if isinstance(event, NickError) and not self.registered:
            nick = self.nicks.next(client.state.isupport.nicklen)
            if nick is None:
                self.send_now("QUIT :No usable nick")
                raise Disconnect("Every nick we tried was refused", fatal=True)
            self.send_now(f"NICK {nick}")
        elif isinstance(event, CtcpRequest):
            reply = client.ctcp.reply(event)
            if reply is not None:
                try:
                    client.outbox.put(reply)
                except OutboxFull:
                    client.ctcp.dropped += 1  # the user's own lines fill the queue
        elif isinstance(event, Motd) and self.registered and not self.history_requested:
            # the end of the MOTD: 005 (with the CHATHISTORY limit) has arrived
            self.history_requested = True
            for line in self._history_requests():
                try:
                    client.outbox.put(line)
                except OutboxFull:
                    break
        if isinstance(event, ChatEvent):
            # the newest message seen (a replayed older one never moves it back)
            key = event.target.lower()
            seen = client.last_seen.get(key)
            if seen is None or event.time > seen:
                client.last_seen[key] = event.time

    def _on_registered(self) -> None:
        client = self.client
        self.registered = True
        client.ever_registered = True
        client.backoff.reset()
        client._status("registered")
        lines = client._join_lines() + list(client.config.auto_commands)
        client.outbox.put_first(lines)
        client.outbox.attach(self.writer)
        client.registered.set()

    def _history_requests(self) -> list[str]:
        client = self.client
        if not ({"draft/chathistory", "chathistory"} & set(self.cap.enabled)):
            return []
        limit = client.state.isupport.tokens.get("CHATHISTORY") or "100"
        limit = limit if limit.isdigit() and limit != "0" else "100"
        lines = []
        for target, when in client.last_seen.items():
            stamp = when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
            lines.append(f"CHATHISTORY AFTER {target} timestamp={stamp} {limit}")
        return lines
