"""Every user's runtime in this process: started with the server (connecting
all enabled networks), stopped gracefully (QUIT sent, events flushed)."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.pacing import ConnectPacer
from backchannel.session.user import Publish, UserRuntime
from backchannel.store.events import EventStore
from backchannel.store.networks import NetworkRecord, NetworkStore

__all__ = ["Runtimes"]

log = logging.getLogger(__name__)


class Runtimes:
    def __init__(
        self,
        networks: NetworkStore,
        events: EventStore,
        publisher: Callable[[int], Awaitable[Publish]],
        policy: TargetPolicy,
        sts: StsStore,
        pacer: ConnectPacer | None = None,
    ) -> None:
        self.networks = networks
        self.events = events
        self.publisher = publisher
        self.policy = policy
        self.sts = sts
        #: paces every network's connection attempts (starts and reconnects)
        self.pacer = pacer
        self._users: dict[int, UserRuntime] = {}
        #: per user, the words besides their nick that make a message a highlight
        self.highlight_words: dict[int, list[str]] = {}
        self._lock: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)

    async def for_user(self, user_id: int) -> UserRuntime:
        runtime = self._users.get(user_id)
        if runtime is None:
            async with self._lock[user_id]:
                runtime = self._users.get(user_id)
                if runtime is None:
                    publish = await self.publisher(user_id)
                    runtime = UserRuntime(
                        user_id,
                        publish,
                        self.events,
                        self.policy,
                        self.sts,
                        highlight_words=partial(self._words, user_id),
                    )
                    self._users[user_id] = runtime
        return runtime

    def _words(self, user_id: int) -> list[str]:
        return self.highlight_words.get(user_id, [])

    def get(self, user_id: int) -> UserRuntime | None:
        return self._users.get(user_id)

    async def start_all(self) -> int:
        """Connect every enabled network of every user; returns how many."""
        records = [r for r in await self.networks.list() if r.enabled]
        for record in records:
            await self.start(record)
        if records:
            log.info("started %d network(s)", len(records))
        return len(records)

    async def start(self, record: NetworkRecord) -> None:
        runtime = await self.for_user(record.user_id)
        await runtime.stop_network(record.id)
        runner = runtime.start_network(record)
        if self.pacer is not None and not self.pacer.unlimited:
            # (set before the engine's task first runs)
            runner.client.connect_pacer = self.pacer.wait

    async def stop(self, user_id: int, network_id: int, message: str = "Leaving") -> None:
        runtime = self._users.get(user_id)
        if runtime is not None:
            await runtime.stop_network(network_id, message)

    def status(self, user_id: int, network_id: int) -> dict[str, Any] | None:
        runtime = self._users.get(user_id)
        runner = runtime.networks.get(network_id) if runtime else None
        return runner.status if runner else None

    async def remove_user(self, user_id: int) -> None:
        runtime = self._users.pop(user_id, None)
        if runtime is not None:
            await runtime.stop("Account removed")

    async def reconcile(self, existing_users: set[int]) -> int:
        """Stop the runtimes of users that no longer exist (removed with
        ``backchannel user remove`` while the server runs); returns how many."""
        gone = [uid for uid in self._users if uid not in existing_users]
        for user_id in gone:
            log.info("user %s was removed; closing their networks", user_id)
            await self.remove_user(user_id)
        return len(gone)

    async def stop_all(self, message: str = "Backchannel shutting down") -> None:
        runtimes, self._users = list(self._users.values()), {}
        await asyncio.gather(*(r.stop(message) for r in runtimes), return_exceptions=True)
