"""Sources (nick!user@host) and IRC wildcard masks. Pure."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache
from typing import NamedTuple

__all__ = ["Hostmask", "mask_matcher", "match_mask", "split_hostmask"]


class Hostmask(NamedTuple):
    nick: str
    user: str | None
    host: str | None


def split_hostmask(source: str) -> Hostmask:
    """Split ``nick!user@host``; the user and host parts may be missing."""
    rest, at, host = source.partition("@")
    nick, bang, user = rest.partition("!")
    return Hostmask(nick, user if bang else None, host if at else None)


@lru_cache(maxsize=1024)
def mask_matcher(mask: str) -> Callable[[str], bool]:
    """A predicate for an IRC glob mask: ``*`` any run, ``?`` one character,
    ``\\`` escapes the next character. Case-sensitive: fold both sides with the
    network's casemapping first when that matters."""
    out: list[str] = []
    i = 0
    while i < len(mask):
        ch = mask[i]
        if ch == "\\" and i + 1 < len(mask):
            i += 1
            out.append(re.escape(mask[i]))
        elif ch == "*":
            out.append(".*")
        elif ch == "?":
            out.append(".")
        else:
            out.append(re.escape(ch))
        i += 1
    pattern = re.compile("".join(out), re.DOTALL)
    return lambda text: pattern.fullmatch(text) is not None


def match_mask(mask: str, text: str) -> bool:
    return mask_matcher(mask)(text)
