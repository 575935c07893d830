"""Running an :class:`IrcClient` against the scripted fake server.

``running(config)`` starts the engine's ``run()`` as a task and collects every
event it emits; the test plays the server with a
:class:`~tests.support.fakeircd.FakeClient`. ``negotiate`` plays a polite
server's side of CAP 302 (ACKing every request) and sends the welcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
import ssl
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from backchannel.irc.client import IrcClient
from backchannel.irc.config import NetworkConfig
from backchannel.irc.pacing import Backoff
from backchannel.irc.status import Status
from backchannel.irc.targets import TargetPolicy
from backchannel.state.events import Event
from tests.support.fakeircd import FakeClient

E = TypeVar("E", bound=Event)

SERVER = "fake.irc"


def config(port: int, **overrides: Any) -> NetworkConfig:
    """A config for the fake server on 127.0.0.1; nick ``me``; a flood
    bucket so large that only the flood test notices it."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": port,
        "nick": "me",
        "username": "u",
        "flood_burst": 100,
        "flood_rate": 100.0,
    }
    values.update(overrides)
    return NetworkConfig(**values)


@dataclass
class Engine:
    client: IrcClient
    events: list[Event] = field(default_factory=list)
    task: asyncio.Task[None] | None = None

    def of(self, kind: type[E]) -> list[E]:
        return [event for event in self.events if isinstance(event, kind)]

    def statuses(self, state: str | None = None) -> list[Status]:
        return [s for s in self.of(Status) if state is None or s.state == state]

    async def wait_for(
        self, predicate: Callable[[Event], bool], timeout: float = 5.0, *, start: int = 0
    ) -> Event:
        """The first event (from index ``start``) matching ``predicate``,
        waiting for it to be emitted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for event in self.events[start:]:
                if predicate(event):
                    return event
            if loop.time() > deadline:
                kinds = [e.kind for e in self.events[-15:]]
                raise TimeoutError(f"no matching event within {timeout}s; last: {kinds}")
            if self.task is not None and self.task.done():
                self.task.result()  # re-raise why the engine stopped
                raise AssertionError("the engine stopped without the expected event")
            await asyncio.sleep(0.01)

    async def wait_status(self, state: str, count: int = 1, timeout: float = 5.0) -> Status:
        """The ``count``-th Status with ``state``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(self.statuses(state)) < count:
            if loop.time() > deadline:
                seen = [(s.state, s.reason) for s in self.statuses()]
                raise TimeoutError(f"no status {state!r} #{count} within {timeout}s: {seen}")
            if self.task is not None and self.task.done():
                self.task.result()
                raise AssertionError(f"the engine stopped before status {state!r} #{count}")
            await asyncio.sleep(0.01)
        return self.statuses(state)[count - 1]

    async def outcome(self, timeout: float = 5.0) -> BaseException | None:
        """Wait for ``run()`` to end; its exception (None when it returned)."""
        assert self.task is not None
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.shield(self.task), timeout)
        assert self.task.done(), "the engine is still running"
        return self.task.exception()


@asynccontextmanager
async def running(
    cfg: NetworkConfig, *, backoff: Backoff | None = None, **kwargs: Any
) -> AsyncIterator[Engine]:
    """Run an engine for ``cfg`` (any address allowed); fast reconnects
    unless ``backoff`` is given. Cancelled on exit."""
    kwargs.setdefault("rng", random.Random(0))
    kwargs.setdefault("policy", TargetPolicy(unrestricted=True))
    engine = Engine(client=None)  # type: ignore[arg-type]
    client = IrcClient(cfg, emit=engine.events.append, **kwargs)
    client.backoff = backoff or Backoff(random.Random(0), initial=0.05, cap=0.5)
    engine.client = client
    engine.task = asyncio.create_task(client.run())
    try:
        yield engine
    finally:
        engine.task.cancel()
        with contextlib.suppress(BaseException):
            await engine.task


async def negotiate(fc: FakeClient, offer: str = "", *, nick: str = "me") -> list[str]:
    """Answer ``CAP LS 302`` with ``offer``, ACK every request, wait for
    ``CAP END`` and send the welcome. Returns the caps requested."""
    if "CAP LS 302" not in fc.received:  # else the test has read it already
        assert await fc.readline() == "CAP LS 302"
    fc.send(f":{SERVER} CAP * LS :{offer}")
    requested: list[str] = []
    while True:
        line = await fc.readline()
        if line.startswith("CAP REQ :"):
            caps = line.removeprefix("CAP REQ :")
            requested += caps.split()
            fc.send(f":{SERVER} CAP * ACK :{caps}")
        elif line == "CAP END":
            break
    await fc.welcome(nick)
    return requested


async def registered(srv: Any, engine: Engine, offer: str = "", nick: str = "me") -> FakeClient:
    """Accept the engine's next connection and register it."""
    fc: FakeClient = await srv.accept()
    count = len(engine.statuses("registered"))
    await negotiate(fc, offer, nick=nick)
    await engine.wait_status("registered", count + 1)
    return fc


def lines_after(fc: FakeClient, prefix: str) -> list[str]:
    return [line for line in fc.received if line.startswith(prefix)]


@dataclass(frozen=True)
class Cert:
    cert: Path
    key: Path
    fingerprint: str  # SHA-256, hex

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        return context


def make_self_signed(directory: Path) -> Cert:
    """A self-signed certificate for localhost/127.0.0.1 made by the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "ec",
            "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(key), "-out", str(cert), "-days", "2",
            "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    der = ssl.PEM_cert_to_DER_cert(cert.read_text())
    return Cert(cert, key, hashlib.sha256(der).hexdigest())
