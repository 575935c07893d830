"""One user's always-on networks: an engine per network, and one persist
loop that stores every visible event before it is published to the user's
subscribers (persist, then fan out)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from backchannel.irc.client import EngineFailure, IrcClient
from backchannel.irc.status import Status
from backchannel.irc.sts_store import StsStore
from backchannel.irc.targets import TargetPolicy
from backchannel.session.event_data import EventData
from backchannel.session.group_commit import GroupCommit
from backchannel.session.mentions import Mentions
from backchannel.session.network_config import engine_config
from backchannel.session.routing import targets_of
from backchannel.state.events import Event
from backchannel.state.events.messages import ChatEvent
from backchannel.state.network import NetworkState
from backchannel.store.events import EventStore, NewEvent, StoredEvent
from backchannel.store.networks import NetworkRecord

__all__ = ["NetworkRunner", "Publish", "UserRuntime"]

#: hands committed events to the subscribers (the bus, above this layer)
Publish = Callable[[Sequence[StoredEvent]], None]

log = logging.getLogger(__name__)

#: pending events at which the user's IRC readers pause until the store catches up
HIGH_WATER = 5000
#: events stored in one transaction at most
MAX_BATCH = 1000


@dataclass
class NetworkRunner:
    record: NetworkRecord
    client: IrcClient
    task: asyncio.Task[None] | None = None
    status: dict[str, Any] = field(default_factory=dict)


class UserRuntime:
    def __init__(
        self,
        user_id: int,
        publish: Publish,
        events: EventStore,
        policy: TargetPolicy,
        sts: StsStore,
        highlight_words: Callable[[], list[str]] = list,
    ) -> None:
        self.user_id = user_id
        self.publish = publish
        self.events = events
        self.policy = policy
        self.sts = sts
        self.highlight_words = highlight_words
        self.networks: dict[int, NetworkRunner] = {}
        #: why events cannot be stored right now (they wait in memory), or None
        self.store_error: str | None = None
        self._store_failures = 0
        self._pending: list[NewEvent] = []
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()
        self.read_gate = asyncio.Event()  # cleared while the store is behind
        self._mentions = Mentions(lambda: self.highlight_words())
        self._event_data = EventData()
        self._last_key: tuple[object, str, str] = (None, "", "")
        self._store = GroupCommit.for_store(events)
        # held from a commit of this user's events to its publish: every writer
        # (the persist loop, read markers) publishes in the order it committed
        self._in_order = asyncio.Lock()
        self._writes: set[asyncio.Future[list[StoredEvent]]] = set()
        self.read_gate.set()
        self._persister = asyncio.create_task(self._persist_loop(), name=f"persist {user_id}")

    # -- networks -------------------------------------------------------------
    def start_network(self, record: NetworkRecord) -> NetworkRunner:
        client = IrcClient(
            engine_config(record.config),
            emit=partial(self._on_event, record.id),
            policy=self.policy,
            sts=self.sts,
        )
        client.read_gate = self.read_gate
        runner = NetworkRunner(record, client)
        self.networks[record.id] = runner
        runner.task = asyncio.create_task(self._run(runner), name=f"network {record.id}")
        return runner

    async def _run(self, runner: NetworkRunner) -> None:
        try:
            await runner.client.run()
        except EngineFailure as exc:
            log.info("network %s of user %s gave up: %s", runner.record.id, self.user_id, exc)
        except Exception:
            log.exception("network %s of user %s crashed", runner.record.id, self.user_id)

    async def stop_network(self, network_id: int, message: str = "Leaving") -> None:
        runner = self.networks.get(network_id)
        if runner is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(runner.client.quit(message, timeout=3), 5)
        if runner.task is not None:
            runner.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner.task
        # removed only now, so the engine's last status ("disconnected") is stored too
        if self.networks.get(network_id) is runner:
            del self.networks[network_id]

    async def stop(self, message: str = "Backchannel shutting down") -> None:
        await asyncio.gather(
            *(self.stop_network(nid, message) for nid in list(self.networks)),
            return_exceptions=True,
        )
        await asyncio.gather(*self._writes, return_exceptions=True)
        await self.flush()
        self._persister.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._persister

    # -- events ---------------------------------------------------------------
    def _on_event(self, network_id: int, event: Event) -> None:
        runner = self.networks.get(network_id)
        if runner is None:
            return
        if isinstance(event, Status):
            runner.status = event.to_dict()
        state = runner.client.state
        targets = targets_of(event, state.is_channel)
        if not targets:
            return
        data = self._event_data(event)
        nick = text = ""
        counts = highlight = False
        if isinstance(event, ChatEvent):
            nick, text = event.nick, event.text
            counts = not event.self and event.kind in ("privmsg", "notice", "action")
            highlight = counts and self._mentions(text, state.me.nick)
        time = str(data["time"])
        kind = event.kind
        pending = self._pending
        for target in targets:
            pending.append(
                NewEvent(
                    user_id=self.user_id,
                    network_id=network_id,
                    target=target,
                    target_key=self._target_key(state, target),
                    kind=kind,
                    time=time,
                    nick=nick,
                    text=text,
                    data=data,
                    counts=counts,
                    highlight=highlight,
                )
            )
        if len(pending) >= HIGH_WATER:
            self.read_gate.clear()
        self._idle.clear()
        if not self._wake.is_set():  # (most events of a busy channel arrive while it is)
            self._wake.set()

    def _target_key(self, state: NetworkState, target: str) -> str:
        """``state.fold(target)``, remembered for the last target (a busy
        channel's lines all have the same one)."""
        last = self._last_key
        if last[0] is state.casemap and last[1] == target:
            return last[2]
        key = state.fold(target)
        self._last_key = (state.casemap, target, key)
        return key

    async def _persist_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self._store_pending()  # (its last batch is not kept while waiting)
            self._idle.set()

    async def _store_pending(self) -> None:
        """Store and publish the pending events, a batch at a time."""
        while self._pending:
            # at most MAX_BATCH per transaction: a subscriber following the
            # bus's window of recent events never falls out of it
            batch = self._pending[:MAX_BATCH]
            del self._pending[:MAX_BATCH]
            try:
                async with self._in_order:
                    stored = await self._store.append(batch)
                    self.publish(stored)
            except Exception as exc:
                # keep the batch and try again, backing off: a busy or full disk must not
                # lose events; the error is shown to the user (/api/state) meanwhile
                log.exception("storing %d events for user %s failed", len(batch), self.user_id)
                self.store_error = f"Messages cannot be stored right now: {exc}"
                self._pending[:0] = batch
                await asyncio.sleep(min(30.0, 1.0 * 2 ** min(self._store_failures, 5)))
                self._store_failures += 1
                continue
            self.store_error, self._store_failures = None, 0
            if len(self._pending) < HIGH_WATER // 2:
                self.read_gate.set()

    async def store_and_publish(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        """Store events that come from elsewhere than a network (a read
        marker), then publish them, in cursor order with the persist loop's: a
        subscriber shown a later cursor first would never see the earlier ones.

        Shielded: a caller cancelled meanwhile (a request whose client went
        away) does not stop the events from being published once stored, else
        subscribers following live would never see them."""
        task = asyncio.ensure_future(self._store_then_publish(events))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)
        return await asyncio.shield(task)

    async def _store_then_publish(self, events: Sequence[NewEvent]) -> list[StoredEvent]:
        async with self._in_order:
            stored = await self._store.append(events)
            self.publish(stored)
        return stored

    async def flush(self, timeout: float = 10.0) -> None:
        """Wait until every event emitted so far is stored and published."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
