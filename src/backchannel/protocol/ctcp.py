"""CTCP: requests and replies carried in PRIVMSG/NOTICE text. Pure.

A CTCP message is ``\\x01VERB params\\x01`` (modern.ircdocs.horse/ctcp):
the final ``\\x01`` may be missing and must be tolerated; the verb is
case-insensitive (upper-cased here); params are everything after the first
space. ``ACTION`` (``/me``) is the one CTCP that is really chat text.
"""

from __future__ import annotations

from typing import NamedTuple

__all__ = [
    "DELIM",
    "Ctcp",
    "action_text",
    "build_action",
    "build_ctcp",
    "is_action",
    "is_ctcp",
    "parse_ctcp",
]

DELIM = "\x01"


class Ctcp(NamedTuple):
    command: str
    params: str


def is_ctcp(text: str) -> bool:
    """True when ``text`` is a CTCP message with a verb."""
    return len(text) > 1 and text[0] == DELIM and text[1] not in (DELIM, " ")


def parse_ctcp(text: str) -> Ctcp | None:
    """The verb (upper-cased) and params of a CTCP message, or None."""
    if not is_ctcp(text):
        return None
    body = text[1:-1] if text.endswith(DELIM) else text[1:]
    command, _, params = body.partition(" ")
    return Ctcp(command.upper(), params)


def build_ctcp(command: str, params: str = "") -> str:
    """``\\x01COMMAND params\\x01``; no space when there are no params."""
    body = f"{command.upper()} {params}" if params else command.upper()
    return f"{DELIM}{body}{DELIM}"


def build_action(text: str) -> str:
    """The PRIVMSG text for ``/me text``."""
    return build_ctcp("ACTION", text)


def is_action(text: str) -> bool:
    ctcp = parse_ctcp(text)
    return ctcp is not None and ctcp.command == "ACTION"


def action_text(text: str) -> str | None:
    """The text of an ACTION, or None when ``text`` is not one."""
    ctcp = parse_ctcp(text)
    return ctcp.params if ctcp is not None and ctcp.command == "ACTION" else None
