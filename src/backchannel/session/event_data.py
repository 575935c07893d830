"""An event as the plain data that is stored and sent: exactly
:meth:`Event.to_dict`, made cheap enough for every line of a busy channel.

``to_dict`` looks up the dataclass fields and converts every value on each
call; here the fields of each event class are looked up once, read all at
once, and only those that may hold something other than a plain JSON value
(times, records) are converted. The lines of one read from a server share
one receive time, which is formatted once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from operator import attrgetter
from typing import Any

from backchannel.state.events import Event
from backchannel.state.events.base import jsonable

__all__ = ["EventData"]

_PLAIN = frozenset({str, int, bool, float, type(None)})
_PLAIN_TYPES = frozenset({"str", "int", "bool", "float", "None"})

#: per event class: its field names, a getter of all their values, and the
#: fields that may hold something other than plain JSON values
_Layout = tuple[tuple[str, ...], Callable[[Any], tuple[Any, ...]], tuple[str, ...]]
_LAYOUTS: dict[type[Event], _Layout | None] = {}  # None: a class with its own to_dict


def _layout(cls: type[Event]) -> _Layout | None:
    if cls.to_dict is not Event.to_dict:
        return None
    found = fields(cls)
    names = tuple(f.name for f in found)
    get_all = attrgetter(*names)
    getter = get_all if len(names) > 1 else lambda event: (get_all(event),)
    convert = tuple(
        f.name
        for f in found
        if not (isinstance(f.type, str) and set(f.type.replace(" ", "").split("|")) <= _PLAIN_TYPES)
    )
    return names, getter, convert


class EventData:
    """Converts events to data; remembers the last time it formatted."""

    __slots__ = ("_last_time",)

    def __init__(self) -> None:
        self._last_time: tuple[object, Any] = (None, None)

    def __call__(self, event: Event) -> dict[str, Any]:
        cls = type(event)
        try:
            layout = _LAYOUTS[cls]
        except KeyError:
            layout = _LAYOUTS[cls] = _layout(cls)
        if layout is None:
            return event.to_dict()
        names, getter, convert = layout
        data: dict[str, Any] = {"kind": event.kind}
        data.update(zip(names, getter(event), strict=True))
        for name in convert:
            value = data[name]
            if type(value) in _PLAIN:
                continue
            last, encoded = self._last_time
            if value is last:
                data[name] = encoded
                continue
            encoded = data[name] = jsonable(value)
            if isinstance(value, datetime):
                self._last_time = (value, encoded)
        return data
