"""The event contract: unique kinds, frozen, JSON-ready."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from backchannel.state.events import (
    EVENT_TYPES,
    BatchInfo,
    Event,
    ModeChange,
    NamesEntry,
    NamesReply,
    Topic,
    jsonable,
)

T = datetime(2024, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)


def _sample(cls: type[Event]) -> Event:
    values: dict[str, Any] = {"time": T}
    for f in dataclasses.fields(cls):
        if f.name in values or f.default is not dataclasses.MISSING:
            continue
        values[f.name] = {
            "bool": True,
            "str": "x",
            "str | None": None,
            "datetime | None": T,
            "tuple[str, ...]": ("a", "b"),
            "tuple[ModeChange, ...]": (ModeChange(True, "o", "n"),),
            "tuple[NamesEntry, ...]": (NamesEntry("n", "o", "@"),),
        }[str(f.type)]
    return cls(**values)


def test_kinds_are_unique_and_named() -> None:
    kinds = [cls.kind for cls in EVENT_TYPES]
    assert len(kinds) == len(set(kinds))
    assert "event" not in kinds


@pytest.mark.parametrize("cls", EVENT_TYPES, ids=lambda cls: cls.kind)
def test_every_event_is_frozen_and_json_ready(cls: type[Event]) -> None:
    event = _sample(cls)
    with pytest.raises(dataclasses.FrozenInstanceError):
        event.time = T  # type: ignore[misc]
    data = event.to_dict()
    assert data["kind"] == cls.kind
    assert data["time"] == "2024-01-02T03:04:05.678Z"
    assert json.loads(json.dumps(data)) == data
    assert not hasattr(event, "__dict__")  # slots


def test_nested_records_become_objects() -> None:
    event = NamesReply(
        time=T,
        batch=BatchInfo("r", "netjoin", ("a",)),
        channel="#c",
        members=(NamesEntry("n", "ov", "@+"),),
    )
    data = event.to_dict()
    assert data["batch"] == {"ref": "r", "type": "netjoin", "params": ["a"], "parent": None}
    assert data["members"] == [{"nick": "n", "modes": "ov", "prefixes": "@+"}]


def test_naive_times_have_no_zone_suffix() -> None:
    event = Topic(time=datetime(2024, 1, 1), channel="#c", topic="", setter=None, changed=False)
    assert event.to_dict()["time"] == "2024-01-01T00:00:00.000"


def test_jsonable_rejects_other_objects() -> None:
    with pytest.raises(TypeError):
        jsonable(object())
