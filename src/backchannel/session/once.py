"""Commands carried out once: a client that did not hear the answer to a
command (its socket died, its request timed out) sends it again with the
same key, and gets the first answer instead of a second message on IRC.

Per user, the keys of the last :data:`KEEP` successful commands are kept in
memory, each for :data:`TTL` seconds. A command that failed is forgotten, so
asking again tries again. A repeat that arrives while the first is still
running waits for its answer."""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

__all__ = ["KEEP", "MAX_KEY", "TTL", "OnceStore"]

KEEP = 256
TTL = 600.0
MAX_KEY = 100  # longer keys are refused by the callers
T = TypeVar("T")


class OnceStore:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._users: dict[int, OrderedDict[str, tuple[float, asyncio.Future[Any]]]] = {}

    def _recent(self, user_id: int) -> OrderedDict[str, tuple[float, asyncio.Future[Any]]]:
        recent = self._users.setdefault(user_id, OrderedDict())
        horizon = self._clock() - TTL
        while recent and (len(recent) > KEEP or next(iter(recent.values()))[0] < horizon):
            recent.popitem(last=False)
        return recent

    async def run(self, user_id: int, key: str | None, action: Callable[[], Awaitable[T]]) -> T:
        """``action()``'s result, or the result it gave under ``key`` before."""
        if not key:
            return await action()
        recent = self._recent(user_id)
        found = recent.get(key)
        if found is not None:
            return cast(T, await asyncio.shield(found[1]))
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        recent[key] = (self._clock(), future)
        try:
            result = await action()
        except Exception as exc:
            recent.pop(key, None)  # failed: the next try runs it again
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning without waiters
            raise
        except BaseException:
            recent.pop(key, None)
            future.cancel()
            raise
        future.set_result(result)
        return result

    def forget_user(self, user_id: int) -> None:
        self._users.pop(user_id, None)
