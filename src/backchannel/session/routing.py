"""Which conversation(s) an event belongs to, and whether it is kept.

Pure. An event is stored once per conversation it shows in: a QUIT or a NICK
change appears in every channel the user shared with us; a message in its
conversation; connection status and server replies in the network's own
buffer (target ""). Some events only describe state the client fetches
anyway (lag, ISUPPORT, caps, batch markers): those are not stored."""

from __future__ import annotations

from collections.abc import Callable

from backchannel.state.events import Event
from backchannel.state.events.messages import ChatEvent

__all__ = ["TRANSIENT_KINDS", "targets_of"]

#: events that are not kept in the scrollback (no cursor, not replayed)
TRANSIENT_KINDS = frozenset({"lag", "isupport", "caps", "batch_start", "batch_end"})

_CHANNEL_FIELD_KINDS = frozenset(
    {"join", "part", "kick", "names", "topic", "topic_who_time", "mode", "channel_modes"}
)


def targets_of(event: Event, is_channel: Callable[[str], bool]) -> tuple[str, ...]:
    """The conversations ``event`` is shown in ("" is the network buffer);
    empty when the event is not stored. ``is_channel`` tells channel names
    from nicks (user modes go to the network buffer)."""
    kind = event.kind
    if kind in TRANSIENT_KINDS:
        return ()
    if isinstance(event, ChatEvent):
        return ("",) if event.server else (event.target,)
    if kind in _CHANNEL_FIELD_KINDS:
        channel = getattr(event, "channel", None) or getattr(event, "target", None)
        if isinstance(channel, str) and channel and is_channel(channel):
            return (channel,)
        return ("",)
    if kind in ("quit", "nick"):
        channels = getattr(event, "channels", ())
        return tuple(channels) if channels else ("",)
    if kind in ("query", "query_closed"):
        nick = getattr(event, "nick", "")
        return (nick,) if isinstance(nick, str) and nick else ("",)
    return ("",)
