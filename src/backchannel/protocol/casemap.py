"""Casemapping: which nick and channel names a server considers equal. Pure.

The server names its rule in the ``CASEMAPPING`` ISUPPORT token
(modern.ircdocs.horse):

- ``ascii``: ``A-Z`` fold to ``a-z``;
- ``rfc1459``: as ascii, and ``[]\\~`` fold to ``{}|^``;
- ``rfc1459-strict`` (also spelled ``strict-rfc1459``): as rfc1459 without
  ``~``/``^``.

A server that does not publish the token is taken to use rfc1459, as the
spec asks. ``rfc7613``/``rfc8265`` (PRECIS) are approximated with Unicode
lower-casing plus NFC; any other unknown name folds as ascii, which never
merges two names the server keeps apart by punctuation.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping, MutableMapping
from typing import TypeVar

__all__ = [
    "ASCII",
    "DEFAULT_CASEMAPPING",
    "RFC1459",
    "RFC1459_STRICT",
    "Casemap",
    "IRCDict",
    "casemap_for",
    "fold",
]

DEFAULT_CASEMAPPING = "rfc1459"

_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LOWER = "abcdefghijklmnopqrstuvwxyz"


class Casemap:
    """One casemapping rule: ``fold`` gives the canonical (lower) form."""

    __slots__ = ("fold", "name")

    def __init__(self, name: str, fold: Callable[[str], str]) -> None:
        self.name = name
        self.fold = fold

    def equal(self, a: str, b: str) -> bool:
        return self.fold(a) == self.fold(b)

    def __repr__(self) -> str:
        return f"Casemap({self.name!r})"


def _translator(upper: str, lower: str) -> Callable[[str], str]:
    table = str.maketrans(upper, lower)

    def fold(name: str) -> str:
        return name.translate(table)

    return fold


def _precis_fold(name: str) -> str:
    return unicodedata.normalize("NFC", name.lower())


ASCII = Casemap("ascii", _translator(_UPPER, _LOWER))
RFC1459 = Casemap("rfc1459", _translator(_UPPER + "[]\\~", _LOWER + "{}|^"))
RFC1459_STRICT = Casemap("rfc1459-strict", _translator(_UPPER + "[]\\", _LOWER + "{}|"))
_PRECIS = Casemap("rfc8265", _precis_fold)

_BY_NAME: dict[str, Casemap] = {
    "ascii": ASCII,
    "rfc1459": RFC1459,
    "rfc1459-strict": RFC1459_STRICT,
    "strict-rfc1459": RFC1459_STRICT,
    "rfc7613": _PRECIS,
    "rfc8265": _PRECIS,
}


def casemap_for(name: str | None) -> Casemap:
    """The casemap a ``CASEMAPPING`` value names (None: not published)."""
    if name is None:
        return RFC1459
    return _BY_NAME.get(name.lower(), ASCII)


def fold(name: str, casemapping: str | None = DEFAULT_CASEMAPPING) -> str:
    """``name`` folded under the named casemapping (rfc1459 by default)."""
    return casemap_for(casemapping).fold(name)


V = TypeVar("V")


class IRCDict(MutableMapping[str, V]):
    """A mapping keyed by IRC names, equal under a casemap.

    Iteration yields the names as last written (their display form); lookups
    accept any case-equivalent spelling. :meth:`set_casemap` re-folds the keys
    when the server announces a different casemapping; when two keys become
    equal, the one inserted later wins."""

    __slots__ = ("_casemap", "_data")

    def __init__(
        self,
        casemap: Casemap = RFC1459,
        items: Mapping[str, V] | Iterable[tuple[str, V]] = (),
    ) -> None:
        self._casemap = casemap
        self._data: dict[str, tuple[str, V]] = {}
        pairs = items.items() if isinstance(items, Mapping) else items
        for key, value in pairs:
            self[key] = value

    @property
    def casemap(self) -> Casemap:
        return self._casemap

    def set_casemap(self, casemap: Casemap) -> None:
        if casemap is self._casemap:
            return
        old = list(self._data.values())
        self._casemap = casemap
        self._data = {casemap.fold(name): (name, value) for name, value in old}

    def display(self, key: str) -> str:
        """The stored spelling of ``key`` (KeyError when absent)."""
        return self._data[self._casemap.fold(key)][0]

    def rename(self, old: str, new: str) -> None:
        """Move the value under ``old`` to ``new`` (KeyError when absent)."""
        value = self._data.pop(self._casemap.fold(old))[1]
        self[new] = value

    def __getitem__(self, key: str) -> V:
        return self._data[self._casemap.fold(key)][1]

    def __setitem__(self, key: str, value: V) -> None:
        self._data[self._casemap.fold(key)] = (key, value)

    def __delitem__(self, key: str) -> None:
        del self._data[self._casemap.fold(key)]

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._casemap.fold(key) in self._data

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in list(self._data.values()))

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        inner = ", ".join(f"{name!r}: {value!r}" for name, value in self._data.values())
        return f"IRCDict({self._casemap.name}, {{{inner}}})"
