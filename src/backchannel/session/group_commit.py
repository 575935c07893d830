"""Group commit: the batches of many users' persist loops stored in as few
transactions as possible.

Every user has a persist loop that stores its events before publishing
them. When one IRC line reaches many users at once (a busy channel shared
by the users of one server), each loop has one small batch at the same
moment; one transaction each would make the single SQLite writer commit
thousands of times (each commit also flushes a full-text-index segment).
Here, while one transaction is being written, the batches that arrive wait
and then go together in the next one. A user's batches stay in order: its
loop waits for one before it sends the next.

When a shared transaction fails, each batch in it is tried again alone, so
one user's bad event never fails another user's batch — unless the database
itself is busy (another process holds it locked): each batch alone would
only wait out the busy timeout again, so they all fail with that error at
once, and each user's persist loop reports it and retries.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import weakref
from collections.abc import Sequence
from typing import ClassVar

from backchannel.store.events import EventStore, NewEvent, StoredEvent

__all__ = ["GroupCommit"]

log = logging.getLogger(__name__)

#: events stored in one shared transaction at most (a batch is never split)
MAX_EVENTS = 5000

_Job = tuple[Sequence[NewEvent], "asyncio.Future[list[StoredEvent]]"]

#: SQLite result codes (primary) of a database another connection holds locked
_BUSY = frozenset({sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED})


def _is_busy(exc: Exception) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and isinstance(code, int) and code & 0xFF in _BUSY


class GroupCommit:
    """``append`` with the contract of :meth:`EventStore.append`."""

    _shared: ClassVar[weakref.WeakKeyDictionary[EventStore, GroupCommit]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, events: EventStore) -> None:
        self.events = events
        self._jobs: list[_Job] = []
        self._writer: asyncio.Task[None] | None = None

    @classmethod
    def for_store(cls, events: EventStore) -> GroupCommit:
        """The one group committer of an event store (shared by all the
        user runtimes that store into it)."""
        found = cls._shared.get(events)
        if found is None:
            found = cls._shared[events] = cls(events)
        return found

    async def append(self, batch: Sequence[NewEvent]) -> list[StoredEvent]:
        """Store ``batch`` (perhaps with other users' batches, in one
        transaction); returns it with its cursors."""
        if not batch:
            return []
        future: asyncio.Future[list[StoredEvent]] = asyncio.get_running_loop().create_future()
        self._jobs.append((batch, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_all(), name="group commit")
        return await future

    async def _write_all(self) -> None:
        while self._jobs:
            jobs = self._take()
            if len(jobs) == 1:
                await self._write_alone(jobs[0])
                continue
            try:
                stored = await self.events.append([e for batch, _ in jobs for e in batch])
            except Exception as exc:
                if _is_busy(exc):
                    for _, future in jobs:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                log.warning(
                    "a shared transaction of %d batches failed; storing each alone", len(jobs)
                )
                for job in jobs:
                    await self._write_alone(job)
                continue
            start = 0
            for batch, future in jobs:
                end = start + len(batch)
                if not future.done():
                    future.set_result(stored[start:end])
                start = end

    def _take(self) -> list[_Job]:
        """The waiting batches, oldest first, up to MAX_EVENTS (at least one)."""
        taken = 0
        count = 0
        for batch, _ in self._jobs:
            if count and taken + len(batch) > MAX_EVENTS:
                break
            taken += len(batch)
            count += 1
        jobs, self._jobs = self._jobs[:count], self._jobs[count:]
        return jobs

    async def _write_alone(self, job: _Job) -> None:
        batch, future = job
        try:
            stored = await self.events.append(batch)
        except Exception as exc:
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(stored)
