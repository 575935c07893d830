"""CTCP parsing and building."""

from __future__ import annotations

import pytest

from backchannel.protocol.ctcp import (
    Ctcp,
    action_text,
    build_action,
    build_ctcp,
    is_action,
    is_ctcp,
    parse_ctcp,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x01VERSION\x01", Ctcp("VERSION", "")),
        ("\x01version\x01", Ctcp("VERSION", "")),
        ("\x01PING 12345\x01", Ctcp("PING", "12345")),
        ("\x01PING 12345", Ctcp("PING", "12345")),  # final \x01 missing
        ("\x01ACTION waves at  everyone\x01", Ctcp("ACTION", "waves at  everyone")),
        ("\x01ACTION\x01", Ctcp("ACTION", "")),
        ("\x01ACTION ", Ctcp("ACTION", "")),
    ],
)
def test_parse(text: str, expected: Ctcp) -> None:
    assert is_ctcp(text)
    assert parse_ctcp(text) == expected


@pytest.mark.parametrize("text", ["", "hello", "\x01", "\x01\x01", "\x01 x\x01", "a\x01PING\x01"])
def test_not_ctcp(text: str) -> None:
    assert not is_ctcp(text)
    assert parse_ctcp(text) is None
    assert not is_action(text)
    assert action_text(text) is None


def test_build() -> None:
    assert build_ctcp("version") == "\x01VERSION\x01"
    assert build_ctcp("PING", "99") == "\x01PING 99\x01"
    assert build_action("dances") == "\x01ACTION dances\x01"


def test_action_helpers() -> None:
    assert is_action("\x01ACTION dances\x01")
    assert action_text("\x01ACTION dances") == "dances"
    assert not is_action("\x01VERSION\x01")
    assert action_text("\x01VERSION\x01") is None


def test_round_trip() -> None:
    assert parse_ctcp(build_ctcp("TIME", "a b")) == Ctcp("TIME", "a b")
