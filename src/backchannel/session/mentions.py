"""Whether a message mentions the user: their nick (or a highlight word) as
a whole word, in any case: ``(?<![\\w-])word(?![\\w-])``, case-insensitive.

With thousands of users, a regular expression per user would be compiled
again and again (each nick is its own pattern, and Python's cache of
compiled patterns holds 512), which costs far more than the message. For
ASCII text and words, what ``re.IGNORECASE`` matches is exactly what
``str.lower`` finds, so the words are looked up with ``str.find`` and only
the characters around each find are checked with one shared pattern; other
text uses a compiled pattern, kept per set of words."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

__all__ = ["Mentions", "mentions"]

_WORD_CHAR = re.compile(r"[\w-]")
_MAX_PATTERNS = 64


def _contains_word(text: str, word: str) -> bool:
    """``word`` occurs in ``text`` with no word character or '-' next to it."""
    start = 0
    size = len(text)
    match = _WORD_CHAR.match
    while (i := text.find(word, start)) >= 0:
        end = i + len(word)
        if (i == 0 or match(text, i - 1) is None) and (end == size or match(text, end) is None):
            return True
        start = i + 1
    return False


def _pattern(words: Sequence[str]) -> re.Pattern[str]:
    alternatives = "|".join(re.escape(w) for w in words)
    return re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-])", re.IGNORECASE)


def mentions(text: str, words: Sequence[str]) -> bool:
    """Whether any of ``words`` (empty ones ignored) is in ``text`` as a word."""
    words = [w for w in words if w]
    if not words:
        return False
    if text.isascii() and all(w.isascii() for w in words):
        lowered = text.lower()
        return any(_contains_word(lowered, w.lower()) for w in words)
    return _pattern(words).search(text) is not None


class Mentions:
    """:func:`mentions` for one user: their nick and ``highlight_words()``;
    patterns for non-ASCII text are compiled once per set of words."""

    def __init__(self, highlight_words: Callable[[], list[str]] = list) -> None:
        self.highlight_words = highlight_words
        self._patterns: dict[tuple[str, ...], re.Pattern[str]] = {}

    def __call__(self, text: str, nick: str) -> bool:
        extra = self.highlight_words()
        if text.isascii() and nick.isascii() and (not extra or all(w.isascii() for w in extra)):
            lowered = text.lower()
            if nick and _contains_word(lowered, nick.lower()):
                return True
            return bool(extra) and any(w and _contains_word(lowered, w.lower()) for w in extra)
        words = tuple(w for w in (nick, *extra) if w)
        if not words:
            return False
        pattern = self._patterns.get(words)
        if pattern is None:
            if len(self._patterns) >= _MAX_PATTERNS:  # nick or words changed many times
                self._patterns.clear()
            pattern = self._patterns[words] = _pattern(words)
        return pattern.search(text) is not None
