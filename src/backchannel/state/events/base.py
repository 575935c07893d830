"""The event base class and the small records events carry."""

from __future__ import annotations

from dataclasses import dataclass, fields, is_dataclass
from datetime import UTC, datetime
from typing import Any, ClassVar

__all__ = ["BatchInfo", "Event", "ModeChange", "NamesEntry", "jsonable"]


def _time(value: datetime) -> str:
    if value.tzinfo is None:
        return value.isoformat(timespec="milliseconds")
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """``value`` as plain JSON data (datetimes as ISO 8601 text)."""
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return _time(value)
    if isinstance(value, tuple | list):
        return [jsonable(item) for item in value]
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    raise TypeError(f"not JSON data: {value!r}")


@dataclass(frozen=True, slots=True)
class BatchInfo:
    """An open IRCv3 batch: ``BATCH +ref type params...``; ``parent`` is the
    reference of the batch this one is nested in."""

    ref: str
    type: str
    params: tuple[str, ...] = ()
    parent: str | None = None


@dataclass(frozen=True, slots=True)
class ModeChange:
    adding: bool
    mode: str
    param: str | None = None


@dataclass(frozen=True, slots=True)
class NamesEntry:
    """A channel member: ``modes`` ("ov") and ``prefixes`` ("@+"), highest first."""

    nick: str
    modes: str
    prefixes: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    kind: ClassVar[str] = "event"
    time: datetime
    batch: BatchInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"kind": self.kind}
        for f in fields(self):
            data[f.name] = jsonable(getattr(self, f.name))
        return data
