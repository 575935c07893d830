"""Fan-out of a user's stored events to every subscriber (long-polls, SSE,
WebSockets, tabs and devices alike).

The store is the source of truth; the hub keeps only a short window of recent
events in memory so that live subscribers are served without a query. A
subscriber asks for "everything after cursor C": from the window when C is
inside it, otherwise from the store, so a slow or absent subscriber never
loses anything and never holds up the IRC reader or anyone else.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from collections.abc import Iterator, Sequence

from backchannel.store.events import EventStore, StoredEvent

__all__ = ["Hub", "UserHub"]

WINDOW = 2000
#: and at most this many bytes of events (an idle user's window costs no more)
WINDOW_BYTES = 128 * 1024


def _cursor(event: StoredEvent) -> int:
    return event.cursor


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class UserHub:
    """One user's stream."""

    def __init__(self, user_id: int, store: EventStore, latest: int, window: int = WINDOW) -> None:
        self.user_id = user_id
        self.store = store
        self.latest = latest  # the cursor of the newest stored event
        self._recent: deque[StoredEvent] = deque()
        self._bytes = 0  # of the events in _recent (their JSON)
        self._window = window
        # every event of this user with a cursor above the floor is in _recent
        self._floor = latest
        # one future per waiting subscriber, resolved by the next publish
        self._waiters: set[asyncio.Future[None]] = set()
        self.subscribers = 0  # polls, streams and sockets being served right now

    @contextlib.contextmanager
    def subscribed(self) -> Iterator[None]:
        """Count a subscriber for as long as it is being served."""
        self.subscribers += 1
        try:
            yield
        finally:
            self.subscribers -= 1

    def publish(self, events: Sequence[StoredEvent]) -> None:
        """Events that were just committed, in cursor order."""
        if not events:
            return
        recent = self._recent
        if recent and events[0].cursor < recent[-1].cursor:
            # published out of cursor order (must not happen: each user's writers
            # publish in commit order): kept sorted all the same, else a reader
            # could be shown a later cursor first, or find `latest` above its cursor
            # and nothing after it in the window (and the WebSocket pump would spin)
            merged = sorted([*recent, *events], key=_cursor)
            recent.clear()
            recent.extend(merged)
        else:
            recent.extend(events)
        self._bytes += sum(len(e.data_json) for e in events)
        # the newest batch stays whole: a subscriber that follows live reads
        # it from memory, never from the store
        keep = max(self._window, len(events))
        while len(recent) > keep or (len(recent) > len(events) and self._bytes > WINDOW_BYTES):
            old = recent.popleft()
            self._floor = old.cursor
            self._bytes -= len(old.data_json)
        self.latest = max(self.latest, events[-1].cursor)
        waiters, self._waiters = self._waiters, set()
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    async def wait(self, after: int, timeout: float) -> bool:
        """Wait until there is an event after ``after`` (True) or ``timeout`` (False).

        Costs one future and one timer per waiting subscriber (no task, no
        shield): a cancelled wait cancels only its own future."""
        if self.latest > after:
            return True
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.add(waiter)
        timer = loop.call_later(timeout, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)
        return self.latest > after

    async def read(self, after: int, limit: int = 1000) -> list[StoredEvent]:
        """Events after ``after``, oldest first, at most ``limit``."""
        if self.latest <= after:
            return []
        if after >= self._floor:  # the window holds everything after ``after``
            out: list[StoredEvent] = []
            for event in reversed(self._recent):
                if event.cursor <= after:
                    break
                out.append(event)
            out.reverse()
            return out[:limit]
        return await self.store.after(self.user_id, after, limit)


class Hub:
    """All users' streams in this process."""

    def __init__(self, store: EventStore) -> None:
        self.store = store
        self._users: dict[int, UserHub] = {}
        self._lock = asyncio.Lock()

    async def for_user(self, user_id: int) -> UserHub:
        hub = self._users.get(user_id)
        if hub is None:
            async with self._lock:
                hub = self._users.get(user_id)
                if hub is None:
                    latest = await self.store.latest_cursor(user_id)
                    hub = self._users[user_id] = UserHub(user_id, self.store, latest)
        return hub

    def drop(self, user_id: int) -> None:
        self._users.pop(user_id, None)
