"""Choosing a nick when the server refuses one during registration
(432/433/436/437): the configured alternates, then the nick with a suffix,
a bounded number of times, so registration can never loop forever."""

from __future__ import annotations

__all__ = ["NickChooser"]

MAX_ATTEMPTS = 10


class NickChooser:
    def __init__(self, nick: str, alternates: tuple[str, ...] = ()) -> None:
        self.base = nick
        self.current = nick
        self._queue = [alt for alt in alternates if alt and alt != nick]
        self._tried = {nick}
        self._suffix = 0

    def next(self, nicklen: int | None = None) -> str | None:
        """The next nick to try, or None when we should give up."""
        if len(self._tried) >= MAX_ATTEMPTS:
            return None
        while self._queue:
            candidate = self._queue.pop(0)
            if candidate not in self._tried:
                return self._use(candidate)
        while True:
            self._suffix += 1
            suffix = "_" * self._suffix if self._suffix <= 2 else str(self._suffix - 2)
            stem = self.base
            if nicklen:
                stem = stem[: max(1, nicklen - len(suffix))]
            candidate = stem + suffix
            if candidate not in self._tried:
                return self._use(candidate)

    def _use(self, nick: str) -> str:
        self._tried.add(nick)
        self.current = nick
        return nick
