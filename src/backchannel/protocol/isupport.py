"""RPL_ISUPPORT (005): what a server supports, as a frozen, typed view. Pure.

Tokens are ``NAME``, ``NAME=value`` or ``-NAME`` (withdraws an earlier
token, back to its default). Values escape characters as ``\\xHH``
(``\\x20`` is a space, ``\\x5C`` a backslash). See modern.ircdocs.horse,
"RPL_ISUPPORT Parameters".

Defaults when a token was never published (or was withdrawn):
CASEMAPPING rfc1459, PREFIX ``(ov)@+``, CHANMODES ``beI,k,l,imnpst``,
CHANTYPES ``#&``, LINELEN 512, NETWORK/NICKLEN unknown (None), no STATUSMSG,
no TARGMAX limits, no UTF8ONLY, no MONITOR.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

__all__ = ["ChanModes", "ISupport", "PrefixMap", "parse_token", "unescape_value"]

_ESCAPE = re.compile(rb"\\x([0-9A-Fa-f]{2})")


def unescape_value(value: str) -> str:
    """Undo ``\\xHH`` escaping; escaped bytes are read as UTF-8."""
    if "\\x" not in value:
        return value
    raw = _ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("utf-8"))
    return raw.decode("utf-8", errors="replace")


def parse_token(token: str) -> tuple[str, str | None, bool]:
    """``(NAME, value, removed)``; value is "" for a token without one and None
    for a ``-NAME`` removal. Names are upper-cased."""
    if token.startswith("-"):
        return token[1:].upper(), None, True
    name, _, value = token.partition("=")
    return name.upper(), unescape_value(value), False


@dataclass(frozen=True, slots=True)
class PrefixMap:
    """Channel membership modes and their prefix characters, highest rank
    first: ``PREFIX=(qaohv)~&@%+`` gives modes "qaohv", prefixes "~&@%+"."""

    modes: str = "ov"
    prefixes: str = "@+"

    @classmethod
    def parse(cls, value: str) -> PrefixMap:
        if not value:
            return cls("", "")
        if not value.startswith("(") or ")" not in value:
            return cls()
        modes, _, prefixes = value[1:].partition(")")
        n = min(len(modes), len(prefixes))
        return cls(modes[:n], prefixes[:n])

    def prefix_for(self, mode: str) -> str | None:
        i = self.modes.find(mode) if mode else -1
        return self.prefixes[i] if i >= 0 else None

    def mode_for(self, prefix: str) -> str | None:
        i = self.prefixes.find(prefix) if prefix else -1
        return self.modes[i] if i >= 0 else None

    def rank(self, mode: str) -> int:
        """0 for the highest mode; unknown modes sort last."""
        i = self.modes.find(mode) if mode else -1
        return i if i >= 0 else len(self.modes)

    def sort_modes(self, modes: Iterable[str]) -> str:
        """The given modes, deduplicated and ordered by rank."""
        return "".join(sorted(set(modes), key=self.rank))

    def prefixes_of(self, modes: str) -> str:
        return "".join(p for m in modes if (p := self.prefix_for(m)) is not None)


@dataclass(frozen=True, slots=True)
class ChanModes:
    """``CHANMODES=A,B,C,D``: list modes (always a parameter), modes that
    always take one, modes that take one only when set, flag modes. Groups
    past the fourth are ignored."""

    a: str = "beI"
    b: str = "k"
    c: str = "l"
    d: str = "imnpst"

    @classmethod
    def parse(cls, value: str) -> ChanModes:
        groups = [*value.split(","), "", "", ""]
        return cls(groups[0], groups[1], groups[2], groups[3])


def _int_or(value: str | None, default: int | None) -> int | None:
    if value is None or not value.isdigit():
        return default
    return int(value)


def _targmax(value: str | None) -> Mapping[str, int | None]:
    limits: dict[str, int | None] = {}
    for item in (value or "").split(","):
        command, _, limit = item.partition(":")
        if command:
            limits[command.upper()] = _int_or(limit, None)
    return MappingProxyType(limits)


def _empty_tokens() -> Mapping[str, str]:
    return MappingProxyType({})


def _empty_targmax() -> Mapping[str, int | None]:
    return MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ISupport:
    """The accumulated ISUPPORT tokens and typed views of the common ones.

    Build one with :meth:`update` (an ``ISupport()`` is all defaults);
    ``tokens`` holds every published token by upper-case name, with its
    unescaped value ("" when it has none)."""

    tokens: Mapping[str, str] = field(default_factory=_empty_tokens, hash=False)
    casemapping: str = "rfc1459"
    prefix: PrefixMap = PrefixMap()
    chanmodes: ChanModes = ChanModes()
    chantypes: str = "#&"
    network: str | None = None
    nicklen: int | None = None
    targmax: Mapping[str, int | None] = field(default_factory=_empty_targmax, hash=False)
    linelen: int = 512
    utf8only: bool = False
    monitor: bool = False
    monitor_limit: int | None = None
    statusmsg: str = ""

    def update(self, tokens: Iterable[str]) -> ISupport:
        """A new view with ``tokens`` (as sent in a 005) applied."""
        merged = dict(self.tokens)
        for token in tokens:
            if not token or token == "-":
                continue
            name, value, removed = parse_token(token)
            if removed:
                merged.pop(name, None)
            elif value is not None:
                merged[name] = value
        return ISupport.from_tokens(merged)

    @classmethod
    def from_tokens(cls, tokens: Mapping[str, str]) -> ISupport:
        get = tokens.get
        prefix = get("PREFIX")
        chanmodes = get("CHANMODES")
        casemapping = get("CASEMAPPING")
        linelen = _int_or(get("LINELEN"), 512)
        return cls(
            tokens=MappingProxyType(dict(tokens)),
            casemapping=casemapping.lower() if casemapping else "rfc1459",
            prefix=PrefixMap.parse(prefix) if prefix is not None else PrefixMap(),
            chanmodes=ChanModes.parse(chanmodes) if chanmodes else ChanModes(),
            chantypes=get("CHANTYPES", "#&"),
            network=get("NETWORK") or None,
            nicklen=_int_or(get("NICKLEN"), None),
            targmax=_targmax(get("TARGMAX")),
            linelen=max(linelen or 512, 512),
            utf8only="UTF8ONLY" in tokens,
            monitor="MONITOR" in tokens,
            monitor_limit=_int_or(get("MONITOR"), None),
            statusmsg=get("STATUSMSG", ""),
        )

    def is_channel(self, name: str) -> bool:
        return bool(name) and name[0] in self.chantypes

    def split_statusmsg(self, target: str) -> tuple[str, str]:
        """``("@", "#chan")`` for ``@#chan``; ``("", target)`` otherwise."""
        i = 0
        while i < len(target) and target[i] in self.statusmsg:
            i += 1
        if i and self.is_channel(target[i:]):
            return target[:i], target[i:]
        return "", target
