"""Anonymous browser sessions of the seed API and the relay connections they own.

A session is named by a random token kept in a cookie. Its connection ids are
small numbers, as in the seed, and mean something only inside that session, so
one visitor can never name another's connection. A session that has not pulled
for ``idle_timeout`` seconds has its connections closed (with a QUIT) and is
forgotten.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable

from backchannel.irc.relay import CLOSED, RelayConnection, RelayLimits
from backchannel.irc.targets import ServerSpec, TargetPolicy
from backchannel.session.limits import AddressQuota

__all__ = ["GatewaySession", "GatewaySessions", "LimitError"]

log = logging.getLogger(__name__)

IDLE_QUIT_MESSAGE = "Web client went away"


class LimitError(Exception):
    """The session may not open another connection."""


class GatewaySession:
    def __init__(self, token: str, now: float, owner: int | None = None) -> None:
        self.token = token
        self.owner = owner  # the logged-in user it belongs to (None: anonymous)
        self.connections: dict[str, RelayConnection] = {}
        self.last_seen = now
        self.active_pulls = 0
        self._next_id = 0

    def add(self, connection: RelayConnection) -> str:
        conn_id = str(self._next_id)
        self._next_id += 1
        self.connections[conn_id] = connection
        return conn_id

    def get(self, conn_id: str) -> RelayConnection | None:
        return self.connections.get(conn_id)


class GatewaySessions:
    """All anonymous sessions of this process."""

    def __init__(
        self,
        policy: TargetPolicy,
        limits: RelayLimits,
        idle_timeout: float,
        max_connections: int,
        clock: Callable[[], float] = time.monotonic,
        quota: AddressQuota | None = None,
    ) -> None:
        self.policy = policy
        self.limits = limits
        self.idle_timeout = idle_timeout
        self.max_connections = max_connections
        self._clock = clock
        #: anonymous sessions per client address (public mode)
        self.quota = quota or AddressQuota(0)
        self._sessions: dict[str, GatewaySession] = {}
        self._reaper: asyncio.Task[None] | None = None

    def __len__(self) -> int:
        return len(self._sessions)

    def get(self, token: str | None) -> GatewaySession | None:
        return self._sessions.get(token) if token else None

    def create(self, owner: int | None = None, address: str = "") -> GatewaySession:
        """A new session; an anonymous one counts against its address's quota
        (raises LimitExceeded when that is full)."""
        session = GatewaySession(secrets.token_urlsafe(32), self._clock(), owner)
        if owner is None:
            self.quota.add(address, ("seed", session.token))
        self._sessions[session.token] = session
        return session

    def forget(self, session: GatewaySession) -> None:
        """Drop a session without closing anything (it has no live connection)."""
        self._sessions.pop(session.token, None)
        self.quota.discard(("seed", session.token))

    def touch(self, session: GatewaySession) -> None:
        session.last_seen = self._clock()

    async def connect(self, session: GatewaySession, spec: ServerSpec) -> str:
        """Check the target, start the connection, return its id.
        Raises TargetError or LimitError with the reason; nothing is attempted then."""
        live = sum(1 for c in session.connections.values() if c.state != CLOSED)
        if self.max_connections and live >= self.max_connections:
            raise LimitError(
                f"This session already has {live} connections; the limit is {self.max_connections}."
            )
        target = await self.policy.resolve(spec)
        connection = RelayConnection(target, self.limits)
        conn_id = session.add(connection)
        self.touch(session)
        connection.start()
        log.info("session connection %s to %s", conn_id, spec)
        return conn_id

    # -- idle sessions ---------------------------------------------------
    def start_reaper(self, interval: float | None = None) -> None:
        if self._reaper is None and self.idle_timeout > 0:
            every = interval or max(0.05, min(5.0, self.idle_timeout / 4))
            self._reaper = asyncio.create_task(self._reap_forever(every), name="gateway reaper")

    async def _reap_forever(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reap_idle()
            except Exception:
                log.exception("reaping idle sessions failed")

    async def reap_idle(self) -> int:
        """Close and forget sessions idle for longer than the timeout."""
        now = self._clock()
        idle = [
            s
            for s in self._sessions.values()
            if s.active_pulls == 0 and now - s.last_seen > self.idle_timeout
        ]
        for session in idle:
            self.forget(session)
            await self._close_session(
                session, IDLE_QUIT_MESSAGE, "Session idle for too long; connection closed."
            )
        if idle:
            log.info("closed %d idle session(s)", len(idle))
        return len(idle)

    async def _close_session(self, session: GatewaySession, message: str, reason: str) -> None:
        await asyncio.gather(
            *(c.close(message, reason) for c in session.connections.values()),
            return_exceptions=True,
        )

    async def close_all(self, message: str = "Server shutting down") -> None:
        if self._reaper is not None:
            self._reaper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reaper
            self._reaper = None
        sessions = list(self._sessions.values())
        for session in sessions:
            self.forget(session)
            await self._close_session(session, message, "Server shutting down.")
