"""The IRC engine: one task per network connection that connects (TCP, TLS,
STS), registers (CAP 302, SASL, nick fallback), keeps the link alive (PING,
lag), applies every line to the pure state and emits its events, and
reconnects with backoff, rejoining channels and restoring queries.

Pure decisions live in ``protocol`` (CAP, SASL, splitting, CTCP) and ``state``;
this module does the I/O and the timing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import ssl
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from backchannel.irc.config import NetworkConfig
from backchannel.irc.connection import Connection, Disconnect, close_link
from backchannel.irc.ctcp_replies import CtcpResponder
from backchannel.irc.link import open_link
from backchannel.irc.outbox import Outbox
from backchannel.irc.pacing import Backoff, LagMeter
from backchannel.irc.status import Status
from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import ServerSpec, TargetError, TargetPolicy
from backchannel.irc.tls import FingerprintMismatch, TlsOptions
from backchannel.protocol.casemap import fold
from backchannel.protocol.split import conservative_source, split_action, split_message
from backchannel.state.events import Event
from backchannel.state.events.messages import Action, ChatEvent, Notice, Privmsg
from backchannel.state.model import Query
from backchannel.state.network import NetworkState

__all__ = ["EngineFailure", "IrcClient"]

log = logging.getLogger(__name__)

#: the reconnect jitter of every engine (a Random's state is 2.5 KiB: one is enough)
_JITTER = random.Random()


class EngineFailure(Exception):
    """The engine gave up: the reason is for people."""


#: seconds a QUIT waits for the server to close the link (it reads meanwhile)
QUIT_LINGER = 2.0


class IrcClient:
    """Runs one network. ``emit`` receives every event (state events and the
    engine's own :mod:`~backchannel.irc.status` events) in order."""

    def __init__(
        self,
        config: NetworkConfig,
        *,
        emit: Callable[[Event], None],
        policy: TargetPolicy | None = None,
        sts: StsStore | None = None,
        retry_until_registered: bool = True,
        rng: random.Random | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.emit = emit
        self.policy = policy or TargetPolicy()
        self.sts = sts or StsStore(None)
        self.retry_until_registered = retry_until_registered
        self.clock = clock
        self.state = NetworkState(config.nick)
        self.outbox = Outbox(config.flood_burst, config.flood_rate, clock=clock)
        self.backoff = Backoff(rng=rng or _JITTER)
        self.lag = LagMeter(config.ping_interval, config.ping_timeout)
        self.ctcp = CtcpResponder(config.ctcp_version, enabled=config.ctcp_replies, clock=clock)
        self.keys: dict[str, str] = {
            fold(name): key for name, key in config.channels if key
        }  # rfc1459-folded: it folds the most, and keys outlive one connection's casemapping
        self.rejoin: list[str] = [name for name, _ in config.channels]
        self.last_seen: dict[str, datetime] = {}  # per target, for chathistory
        self.ever_registered = False
        self.sts_port: int | None = None  # set by an STS upgrade on this run
        #: when given and cleared, reading from the server pauses until it is set again
        self.read_gate: asyncio.Event | None = None
        #: when given, awaited before each connection attempt (a process-wide
        #: connect-rate limit: see ``backchannel.session.pacing``)
        self.connect_pacer: Callable[[], Awaitable[None]] | None = None
        self.attempt = 0
        self._writer: asyncio.StreamWriter | None = None
        self._link_done: asyncio.Event | None = None  # set when the current link's reading ends
        self._stopping = False
        self._stopped = asyncio.Event()  # set by quit(): ends a wait before reconnecting
        self._retry_pending = False  # waiting to reconnect: quit() need not wait
        self.registered = asyncio.Event()  # set while the current connection is registered

    # -- commands from the user --------------------------------------------
    def send_raw(self, line: str) -> None:
        """Queue a raw line (CR/LF/NUL refused). Sent once registered."""
        if any(ch in line for ch in "\r\n\0"):
            raise ValueError("a line cannot contain CR, LF or NUL")
        if not line.strip():
            raise ValueError("empty line")
        self.outbox.put(line)

    def join(self, channel: str, key: str | None = None) -> None:
        if key:
            self.keys[fold(channel)] = key
        self.send_raw(f"JOIN {channel} {key}" if key else f"JOIN {channel}")

    async def quit(self, message: str = "Leaving", timeout: float = 10.0) -> None:
        """Send what is queued, then QUIT, and stop. Waits (up to ``timeout``)
        for registration first, so lines queued before it are not lost."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if not self._stopping and not self._retry_pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.registered.wait(), timeout)
            await self.outbox.flush(max(0.0, deadline - loop.time()))
        self._stopping = True
        self._stopped.set()
        writer = self._writer
        if writer is not None and not writer.is_closing():
            writer.write(f"QUIT :{message}\r\n".encode())
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.drain(), max(0.1, deadline - loop.time()))
            # the server answers a QUIT by closing the link: until it does, what it sent
            # before reading our QUIT is still arriving, and is read and kept
            done = self._link_done
            if done is not None:
                linger = min(QUIT_LINGER, deadline - loop.time())
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), max(0.1, linger))
            close_link(writer)  # a server that stopped reading cannot hold us

    def say(self, target: str, text: str, *, action: bool = False, notice: bool = False) -> int:
        """Send text to a channel or nick, split to fit the line; multi-line
        text becomes several messages. When a line is written and the server
        does not offer echo-message, it is echoed locally, so the user's text
        appears exactly once either way. Returns the number of lines queued."""
        if not target or any(ch in target for ch in " ,\r\n\0"):
            raise ValueError(f"invalid target {target!r}")
        me = self.state.me
        source = conservative_source(me.nick, me.user, me.host)
        if action:
            messages = split_action(target, text, source=source)
        else:
            messages = split_message("NOTICE" if notice else "PRIVMSG", target, text, source=source)
        if len(self.outbox) + len(messages) > self.outbox.max_queued:
            raise ValueError("too many lines are waiting to be sent")
        kind = Action if action else Notice if notice else Privmsg
        for msg in messages:
            body = msg.params[1][8:-1] if action else msg.params[1]
            self.outbox.put(msg.to_line(), partial(self._local_echo, kind, target, body))
        return len(messages)

    def _local_echo(self, kind: type[ChatEvent], target: str, text: str) -> None:
        if self.state.has_cap("echo-message"):
            return  # the server will send it back
        me = self.state.me
        self.emit(
            kind(
                time=self._now(),
                target=target,
                nick=me.nick,
                user=me.user,
                host=me.host,
                text=text,
                self=True,
            )
        )

    # -- the connection loop -----------------------------------------------
    def _now(self) -> datetime:
        return datetime.now(UTC)

    def _status(self, state: str, reason: str = "", next_in: float | None = None) -> None:
        host, port, tls = self._endpoint()
        self.emit(
            Status(
                time=self._now(),
                state=state,
                host=host,
                port=port,
                tls=tls,
                reason=reason,
                attempt=self.attempt,
                next_attempt=self._now() + timedelta(seconds=next_in) if next_in else None,
            )
        )

    def _endpoint(self) -> tuple[str, int, bool]:
        if self.sts_port is not None and not self.config.tls:
            return self.config.host, self.sts_port, True
        policy = self.sts.get(self.config.host, time.time())
        if policy is not None and not self.config.tls:
            return self.config.host, policy.port, True
        return self.config.host, self.config.port, self.config.tls

    async def run(self) -> None:
        """Connect and stay connected until :meth:`quit`; raises
        :class:`EngineFailure` when it gives up."""
        while not self._stopping:
            self.attempt += 1
            try:
                await self._connection()
                reason = "Connection closed"
            except Disconnect as exc:
                if exc.sts_port is not None:
                    continue  # reconnect at once, now with TLS
                reason = exc.reason
                if exc.fatal:
                    self._status("failed", reason)
                    raise EngineFailure(reason) from None
            if self._stopping:
                self._status("disconnected", "Quit")
                return
            if not self.config.reconnect or not (
                self.ever_registered or self.retry_until_registered
            ):
                self._status("failed", reason)
                raise EngineFailure(reason)
            delay = self.backoff.next_delay()
            self._status("disconnected", reason, next_in=delay)
            self._retry_pending = True
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), delay)
            finally:
                self._retry_pending = False
            if self._stopping:
                self._status("disconnected", "Quit")
                return

    async def _connection(self) -> None:
        host, port, use_tls = self._endpoint()
        self._status("connecting")
        if self.connect_pacer is not None:
            await self.connect_pacer()
            if self._stopping:  # quit() while we waited for our turn
                return
        try:
            target = await self.policy.resolve(ServerSpec(host.lower(), port))
        except TargetError as exc:
            raise Disconnect(str(exc), fatal=True) from None
        tls = (
            TlsOptions(
                verify=self.config.tls_verify,
                fingerprint=self.config.fingerprint,
                client_cert=self.config.client_cert,
                client_key=self.config.client_key,
            )
            if use_tls
            else None
        )
        try:
            reader, writer = await open_link(target, tls, self.config.connect_timeout)
        except (FingerprintMismatch, ssl.SSLCertVerificationError) as exc:
            raise Disconnect(f"TLS verification failed: {exc}", fatal=True) from None
        except TimeoutError:
            raise Disconnect(f"No answer from {host}:{port}") from None
        except OSError as exc:
            raise Disconnect(f"Cannot connect to {host}:{port}: {exc}") from None
        if self._stopping:  # quit() while we were connecting
            writer.close()
            return
        self._writer = writer
        self._link_done = done = asyncio.Event()
        self._status("connected")
        session = Connection(self, writer, use_tls, port)
        keepalive = asyncio.create_task(session.keepalive(), name="irc keepalive")
        try:
            await session.register()
            await session.read(reader)
        finally:
            done.set()
            keepalive.cancel()
            self.registered.clear()
            self.outbox.detach()
            self._writer = None
            close_link(writer)
            self._remember_for_reconnect()

    def _remember_for_reconnect(self) -> None:
        state = self.state
        if state.registered:
            self.rejoin = [channel.name for channel in state.channels.values()]
            for channel in state.channels.values():
                key = channel.modes.get("k")
                if key and key != "*":  # a key set while we were in (MODE +k) gets us back in
                    self.keys[fold(channel.name)] = key
        queries = [query.nick for query in state.queries.values()]
        self.state = NetworkState(state.me.nick if state.registered else self.config.nick)
        for nick in queries:
            self.state.queries[nick] = Query(nick)

    def _join_lines(self) -> list[str]:
        """JOIN lines for the channels to (re)join, keyed ones first, each
        line within 512 bytes."""
        keyed = [(c, self.keys[fold(c)]) for c in self.rejoin if fold(c) in self.keys]
        plain = [c for c in self.rejoin if fold(c) not in self.keys]
        lines: list[str] = []
        names: list[str] = []
        keys: list[str] = []
        for channel, key in [*keyed, *((c, "") for c in plain)]:
            candidate = f"JOIN {','.join([*names, channel])} {','.join([*keys, key])}".strip()
            if names and len(candidate.encode()) > 500:
                lines.append(f"JOIN {','.join(names)} {','.join(keys)}".strip())
                names, keys = [], []
            names.append(channel)
            if key:
                keys.append(key)
        if names:
            lines.append(f"JOIN {','.join(names)} {','.join(keys)}".strip())
        return lines
