"""What a person types, as commands: ``/join #x``, ``/msg nick text``, ``/me``,
plain text to the current conversation. Pure: it only parses; the caller
carries the command out."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "Command",
    "CommandError",
    "Join",
    "Nick",
    "Part",
    "Quit",
    "Raw",
    "Say",
    "parse_input",
]


class CommandError(ValueError):
    """Input that cannot be carried out; the message says why."""


@dataclass(frozen=True, slots=True)
class Say:
    target: str
    text: str
    action: bool = False
    notice: bool = False


@dataclass(frozen=True, slots=True)
class Join:
    channel: str
    key: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    channel: str
    reason: str = ""


@dataclass(frozen=True, slots=True)
class Nick:
    nick: str


@dataclass(frozen=True, slots=True)
class Quit:
    message: str = "Leaving"


@dataclass(frozen=True, slots=True)
class Raw:
    line: str


Command = Say | Join | Part | Nick | Quit | Raw


def _need(value: str, usage: str) -> str:
    if not value:
        raise CommandError(f"usage: {usage}")
    return value


def parse_input(text: str, current: str | None) -> Command:
    """One line of input; ``current`` is the conversation plain text goes to."""
    if any(ch in text for ch in "\r\n\0"):
        raise CommandError("input cannot contain CR, LF or NUL")
    if not text.startswith("/") or text.startswith("//"):
        body = text[1:] if text.startswith("//") else text
        if not body:
            raise CommandError("nothing to send")
        if current is None:
            raise CommandError("no conversation yet: /join a channel or /msg someone")
        return Say(current, body)
    name, _, rest = text[1:].partition(" ")
    name = name.lower()
    rest = rest.strip()
    if name == "join":
        channel, _, key = _need(rest, "/join #channel [key]").partition(" ")
        return Join(channel, key.strip() or None)
    if name == "part":
        channel, _, reason = rest.partition(" ")
        channel = channel or _need(current or "", "/part #channel [reason]")
        return Part(channel, reason.strip())
    if name in ("msg", "notice"):
        target, _, body = _need(rest, f"/{name} target text").partition(" ")
        return Say(target, _need(body.strip(), f"/{name} target text"), notice=name == "notice")
    if name == "me":
        if current is None:
            raise CommandError("no conversation yet: /join a channel first")
        return Say(current, _need(rest, "/me text"), action=True)
    if name == "nick":
        return Nick(_need(rest, "/nick newnick").split(" ")[0])
    if name == "quit":
        return Quit(rest or "Leaving")
    if name in ("raw", "quote"):
        return Raw(_need(rest, f"/{name} LINE"))
    raise CommandError(f"unknown command /{name}")
