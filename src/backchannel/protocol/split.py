"""Splitting outgoing text into PRIVMSG/NOTICE lines that fit. Pure.

A server relays our message to others as ``:nick!user@host PRIVMSG target
:text\\r\\n``, and that whole line must fit in 512 bytes (tags are counted
separately and are not part of this budget). So the room for text depends on
our full source, which the caller passes (see :func:`conservative_source`
when the user or host is not known yet).

Rules: each line of the input (split on ``\\r\\n``, ``\\r`` or ``\\n``; empty
lines are dropped, since IRC cannot send empty text) becomes one or more
messages; a piece ends at the last space that fits (that one space is
dropped), else the word is hard-split; a UTF-8 code point is never cut.
NUL characters are removed (servers truncate lines at them). For ACTIONs each
piece keeps its own ``\\x01ACTION ...\\x01`` wrapper.
"""

from __future__ import annotations

import re

from backchannel.protocol.ctcp import build_action
from backchannel.protocol.message import Message

__all__ = [
    "LINE_LIMIT",
    "conservative_source",
    "split_action",
    "split_lines",
    "split_message",
    "split_text",
    "text_budget",
]

LINE_LIMIT = 512
_MIN_BUDGET = 4  # one code point of up to four bytes
_ACTION_OVERHEAD = len(build_action("").encode()) + 1  # "\x01ACTION " and "\x01"
_NEWLINES = re.compile(r"\r\n|\r|\n")
_USERLEN = 11  # common USERLEN (10) plus the "~" of an unverified ident
_HOSTLEN = 63


def conservative_source(nick: str, user: str | None = None, host: str | None = None) -> str:
    """Our source as the server will show it, with the longest usual user and
    host filled in for the parts we do not know."""
    return f"{nick}!{user or 'u' * _USERLEN}@{host or 'h' * _HOSTLEN}"


def text_budget(command: str, target: str, source: str, *, line_limit: int = LINE_LIMIT) -> int:
    """Bytes left for the text of ``:source COMMAND target :text\\r\\n``."""
    overhead = len(f":{source} {command} {target} :".encode()) + 2
    return line_limit - overhead


def split_lines(text: str) -> list[str]:
    """The non-empty lines of ``text``, NULs removed."""
    return [line for line in _NEWLINES.split(text.replace("\0", "")) if line]


def split_text(text: str, budget: int) -> list[str]:
    """``text`` (one line) in pieces of at most ``budget`` UTF-8 bytes."""
    if budget < _MIN_BUDGET:
        raise ValueError(f"no room for text: {budget} bytes left in the line")
    data = text.encode("utf-8", errors="replace")
    pieces: list[str] = []
    while len(data) > budget:
        cut = budget
        while data[cut] & 0xC0 == 0x80:  # a continuation byte: back off to a code point
            cut -= 1
        if data[cut] == 0x20:  # the space right after the room ends: break there
            pieces.append(data[:cut].decode())
            data = data[cut + 1 :]
            continue
        space = data.rfind(b" ", 0, cut)
        if space > 0:
            pieces.append(data[:space].decode())
            data = data[space + 1 :]
        else:
            pieces.append(data[:cut].decode())
            data = data[cut:]
    if data:
        pieces.append(data.decode())
    return pieces


def split_message(
    command: str, target: str, text: str, *, source: str, line_limit: int = LINE_LIMIT
) -> list[Message]:
    """PRIVMSG/NOTICE messages (without a source) carrying ``text``."""
    budget = text_budget(command, target, source, line_limit=line_limit)
    return [
        Message(command, [target, piece])
        for line in split_lines(text)
        for piece in split_text(line, budget)
    ]


def split_action(
    target: str, text: str, *, source: str, line_limit: int = LINE_LIMIT
) -> list[Message]:
    """``/me text`` as PRIVMSG ACTIONs, each piece wrapped in ``\\x01``."""
    budget = text_budget("PRIVMSG", target, source, line_limit=line_limit) - _ACTION_OVERHEAD
    return [
        Message("PRIVMSG", [target, build_action(piece)])
        for line in split_lines(text)
        for piece in split_text(line, budget)
    ]
