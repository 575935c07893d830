"""Feeding literal IRC lines to a NetworkState."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TypeVar

from backchannel.protocol.message import parse
from backchannel.state import NetworkState
from backchannel.state.events import Event

T0 = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)

E = TypeVar("E", bound=Event)

ISUPPORT = (
    ":srv 005 me CHANTYPES=# PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnpst STATUSMSG=~&@%+"
    " CASEMAPPING=rfc1459 NETWORK=Test :are supported by this server"
)


def feed(state: NetworkState, *lines: str) -> list[Event]:
    """Apply each line; all the events, in order."""
    events: list[Event] = []
    for line in lines:
        events.extend(state.apply(parse(line), T0))
    return events


def only(events: list[Event], cls: type[E]) -> E:
    """The single event of the list, checked to be a ``cls``."""
    assert len(events) == 1, events
    event = events[0]
    assert isinstance(event, cls), event
    return event


def registered(nick: str = "me", isupport: str = ISUPPORT) -> NetworkState:
    state = NetworkState(nick)
    feed(state, f":srv 001 {nick} :Welcome {nick}", isupport.replace(" me ", f" {nick} ", 1))
    return state


def in_channel(
    channel: str = "#chan", names: str = "@me +alice bob", nick: str = "me"
) -> NetworkState:
    state = registered(nick)
    feed(
        state,
        f":{nick}!u@h JOIN {channel}",
        f":srv 353 {nick} = {channel} :{names}",
        f":srv 366 {nick} {channel} :End of /NAMES list.",
    )
    return state
