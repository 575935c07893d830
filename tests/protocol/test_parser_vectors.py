"""The ircdocs parser-tests vectors (CC0; see tests/vectors/parser-tests/README.md),
every case as its own test."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from backchannel.protocol import Message, match_mask, parse, serialize, split_hostmask

VECTORS = Path(__file__).resolve().parent.parent / "vectors" / "parser-tests"


def _load(name: str) -> list[dict[str, Any]]:
    with (VECTORS / name).open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    tests: list[dict[str, Any]] = data["tests"]
    assert tests, f"{name} has no tests"
    return tests


def _cases(name: str, label: str) -> list[Any]:
    return [
        pytest.param(case, id=f"{i:02d}:{case.get(label, '')!r}"[:80])
        for i, case in enumerate(_load(name))
    ]


def _expected_message(atoms: dict[str, Any]) -> Message:
    # YAML semantics: a missing key is null; missing params means no params,
    # missing tags means no tags.
    return Message(
        atoms["verb"],
        atoms.get("params") or [],
        atoms.get("source"),
        atoms.get("tags") or {},
    )


@pytest.mark.parametrize("case", _cases("msg-split.yaml", "input"))
def test_msg_split(case: dict[str, Any]) -> None:
    msg = parse(case["input"])
    expected = _expected_message(case["atoms"])
    assert msg.verb == expected.verb
    assert msg.params == expected.params
    assert msg.source == expected.source
    assert msg.tags == expected.tags


@pytest.mark.parametrize("case", _cases("msg-join.yaml", "desc"))
def test_msg_join(case: dict[str, Any]) -> None:
    line = serialize(_expected_message(case["atoms"]))
    assert line in case["matches"]


@pytest.mark.parametrize("case", _cases("msg-join.yaml", "desc"))
def test_msg_join_round_trips(case: dict[str, Any]) -> None:
    msg = _expected_message(case["atoms"])
    assert parse(serialize(msg)) == msg


@pytest.mark.parametrize("case", _cases("userhost-split.yaml", "source"))
def test_userhost_split(case: dict[str, Any]) -> None:
    atoms = case["atoms"]
    nick, user, host = split_hostmask(case["source"])
    # The vectors say a missing part is "an empty string"; our API returns
    # None for a part that is absent from the source.
    assert nick == atoms["nick"]
    assert user == atoms.get("user")
    assert host == atoms.get("host")


def _mask_cases() -> list[Any]:
    params: list[Any] = []
    for i, case in enumerate(_load("mask-match.yaml")):
        mask = case["mask"]
        for text in case.get("matches") or []:
            params.append(pytest.param(mask, text, True, id=f"{i:02d}:{mask}~{text}"))
        for text in case.get("fails") or []:
            params.append(pytest.param(mask, text, False, id=f"{i:02d}:{mask}!~{text}"))
    return params


@pytest.mark.parametrize(("mask", "text", "expected"), _mask_cases())
def test_mask_match(mask: str, text: str, expected: bool) -> None:
    assert match_mask(mask, text) is expected


def test_every_vector_file_is_used() -> None:
    used = {"msg-split.yaml", "msg-join.yaml", "userhost-split.yaml", "mask-match.yaml"}
    assert {p.name for p in VECTORS.glob("*.yaml")} == used
