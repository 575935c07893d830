"""docs/events.md stays true to the events: every kind has a section, and each
section's first JSON example has exactly that event's fields."""

from __future__ import annotations

import dataclasses
import json
import re
import sys
from pathlib import Path

import pytest

import backchannel.irc.status as engine_events
import backchannel.state.events as state_events
from backchannel.state.events import EVENT_TYPES, Event

DOC = Path(__file__).resolve().parents[1] / "docs" / "events.md"
_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*$")
_KIND_HEADING = re.compile(r"^`([a-z_]+)`$")


def _subclasses(cls: type[Event]) -> list[type[Event]]:
    """Every subclass, recursively. ``dataclass(slots=True)`` replaces the class
    it decorates, and the discarded original can linger in ``__subclasses__``:
    keep only the classes their module really exports under their name."""
    found: list[type[Event]] = []
    for sub in cls.__subclasses__():
        module = sys.modules.get(sub.__module__)
        if getattr(module, sub.__qualname__, None) is sub:
            found.append(sub)
        found.extend(_subclasses(sub))
    return found


def _defined_in(cls: type, module: str) -> bool:
    return cls.__module__ == module or cls.__module__.startswith(module + ".")


def _concrete(cls: type[Event]) -> bool:
    return cls.kind != Event.kind


def _event_classes() -> dict[str, type[Event]]:
    """Every concrete event class of the state layer and of the engine."""
    classes = set(EVENT_TYPES)
    classes.update(
        cls
        for cls in _subclasses(Event)
        if _concrete(cls)
        and (_defined_in(cls, state_events.__name__) or _defined_in(cls, engine_events.__name__))
    )
    by_kind: dict[str, type[Event]] = {}
    for cls in classes:
        assert cls.kind not in by_kind, f"two event classes named {cls.kind!r}"
        by_kind[cls.kind] = cls
    return by_kind


EVENTS = _event_classes()


def _sections() -> dict[str, str]:
    """The text under each ``### `kind``` heading (up to the next heading of
    level 1-3), headings inside fenced blocks ignored."""
    sections: dict[str, list[str]] = {}
    current: list[str] | None = None
    fenced = False
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading and len(heading.group(1)) <= 3:
            current = None
            kind = _KIND_HEADING.match(heading.group(2))
            if len(heading.group(1)) == 3 and kind:
                assert kind.group(1) not in sections, f"two sections for {kind.group(1)!r}"
                current = sections[kind.group(1)] = []
            continue
        if current is not None:
            current.append(line)
    return {kind: "\n".join(lines) for kind, lines in sections.items()}


SECTIONS = _sections()


def _first_json_example(text: str) -> str | None:
    match = re.search(r"^```json\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else None


def _json_lines(block: str) -> list[dict[str, object]]:
    """An example block: one JSON object a line, as ``backchannel connect`` prints."""
    objects = [json.loads(line) for line in block.splitlines() if line.strip()]
    assert objects, "empty example"
    assert all(isinstance(data, dict) for data in objects)
    return objects


def _fields(cls: type[Event]) -> set[str]:
    return {"kind"} | {f.name for f in dataclasses.fields(cls)}


def test_every_event_class_is_listed_in_event_types() -> None:
    state_classes = {
        cls
        for cls in _subclasses(Event)
        if _concrete(cls) and _defined_in(cls, state_events.__name__)
    }
    assert state_classes <= set(EVENT_TYPES), "add new event classes to EVENT_TYPES"
    assert {"status", "sasl", "lag", "sts"} <= set(EVENTS)


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_event_kind_is_documented(kind: str) -> None:
    assert kind in SECTIONS, f"docs/events.md has no '### `{kind}`' section"


def test_no_section_for_an_unknown_kind() -> None:
    assert set(SECTIONS) <= set(EVENTS), "sections for kinds that do not exist"


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_first_example_matches_the_event(kind: str) -> None:
    if kind not in SECTIONS:
        pytest.fail(f"docs/events.md has no '### `{kind}`' section")
    example = _first_json_example(SECTIONS[kind])
    assert example is not None, f"the '{kind}' section has no ```json example"
    data = _json_lines(example)[0]
    assert data["kind"] == kind
    assert set(data) == _fields(EVENTS[kind])


def test_every_example_in_the_document_is_a_real_event() -> None:
    """All ```json blocks: JSON lines, each an event with exactly its fields."""
    blocks = re.findall(r"^```json\n(.*?)^```", DOC.read_text(encoding="utf-8"), re.M | re.S)
    assert blocks
    for block in blocks:
        for data in _json_lines(block):
            assert data.get("kind") in EVENTS, data
            assert set(data) == _fields(EVENTS[data["kind"]]), data


@pytest.mark.parametrize("kind", sorted(EVENTS))
def test_every_field_is_described(kind: str) -> None:
    """Each event-specific field is named (as `name`) in its section."""
    text = SECTIONS.get(kind, "")
    missing = [
        name
        for name in sorted(_fields(EVENTS[kind]) - {"kind", "time", "batch"})
        if f"`{name}`" not in text
    ]
    assert not missing, f"the '{kind}' section does not describe {missing}"


def test_common_fields_are_described() -> None:
    intro = DOC.read_text(encoding="utf-8").split("### ", 1)[0]
    for name in ("kind", "time", "batch"):
        assert f"| `{name}` |" in intro
