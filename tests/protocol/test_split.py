"""Splitting outgoing text to fit the 512-byte line the server relays."""

from __future__ import annotations

import re
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from backchannel.protocol.ctcp import parse_ctcp
from backchannel.protocol.message import Message, serialize
from backchannel.protocol.split import (
    conservative_source,
    split_action,
    split_lines,
    split_message,
    split_text,
    text_budget,
)

SOURCE = "nick!~user@some.host.example"


def _relayed(msg: Message, source: str = SOURCE) -> bytes:
    line = serialize(Message(msg.verb, msg.params, source=source)) + "\r\n"
    return line.encode("utf-8")


def test_short_text_is_one_message() -> None:
    msgs = split_message("PRIVMSG", "#chan", "hello world", source=SOURCE)
    assert msgs == [Message("PRIVMSG", ["#chan", "hello world"])]


def test_budget_counts_the_full_prefix_and_crlf() -> None:
    overhead = len(f":{SOURCE} PRIVMSG #chan :\r\n")
    assert text_budget("PRIVMSG", "#chan", SOURCE) == 512 - overhead


def test_exact_fit_is_not_split() -> None:
    budget = text_budget("PRIVMSG", "#c", SOURCE)
    text = "a " + "x" * (budget - 2)  # a space, so the server sends it as a trailing
    msgs = split_message("PRIVMSG", "#c", text, source=SOURCE)
    assert len(msgs) == 1
    assert len(_relayed(msgs[0])) == 512
    assert len(split_message("PRIVMSG", "#c", text + "y", source=SOURCE)) == 2


def test_splits_at_word_boundary() -> None:
    assert split_text("aaa bbb ccc", 7) == ["aaa bbb", "ccc"]
    assert split_text("aaa bbb ccc", 6) == ["aaa", "bbb", "ccc"]


def test_space_just_past_the_room_is_the_break() -> None:
    assert split_text("abcd efgh", 4) == ["abcd", "efgh"]


def test_hard_splits_long_words() -> None:
    assert split_text("abcdefghij", 4) == ["abcd", "efgh", "ij"]
    assert split_text("hi abcdefghij", 5) == ["hi", "abcde", "fghij"]


def test_never_splits_a_code_point() -> None:
    # "é" is two bytes: a cut at 5 bytes would land inside the third one
    assert split_text("éééé", 5) == ["éé", "éé"]
    assert split_text("😀😀", 6) == ["😀", "😀"]


def test_multiline_input_becomes_several_messages() -> None:
    msgs = split_message("NOTICE", "bob", "one\r\ntwo\nthree\r\rfour", source=SOURCE)
    assert [m.params[1] for m in msgs] == ["one", "two", "three", "four"]
    assert all(m.verb == "NOTICE" and m.params[0] == "bob" for m in msgs)


def test_formatting_codes_are_not_line_breaks() -> None:
    assert split_lines("a\x1db\x1ec\x0bd") == ["a\x1db\x1ec\x0bd"]


def test_nul_is_removed() -> None:
    assert split_lines("a\0b") == ["ab"]


def test_no_room_raises() -> None:
    with pytest.raises(ValueError, match="no room"):
        split_message("PRIVMSG", "#" + "x" * 500, "hi", source=SOURCE)


def test_action_pieces_keep_the_wrapper() -> None:
    text = " ".join(["word"] * 200)
    msgs = split_action("#chan", text, source=SOURCE)
    assert len(msgs) > 1
    pieces = []
    for msg in msgs:
        body = msg.params[1]
        assert body.startswith("\x01ACTION ") and body.endswith("\x01")
        assert len(_relayed(msg)) <= 512
        ctcp = parse_ctcp(body)
        assert ctcp is not None
        pieces.append(ctcp.params)
    assert " ".join(pieces) == text


def test_conservative_source_fills_unknown_parts() -> None:
    src = conservative_source("me")
    assert src.startswith("me!") and len(src) == 3 + 11 + 1 + 63
    assert conservative_source("me", "u", "h") == "me!u@h"


_squash = re.compile(r"\s+")


@settings(max_examples=300)
@given(
    text=st.text(
        alphabet=st.one_of(
            st.characters(codec="utf-8"), st.sampled_from([" ", " ", "\n", "\r", "é", "😀"])
        ),
        max_size=1500,
    ),
    target=st.sampled_from(["#c", "#a-longer-channel-name", "bob"]),
    command=st.sampled_from(["PRIVMSG", "NOTICE"]),
    nick_len=st.integers(1, 30),
)
def test_every_line_fits_and_text_survives(
    text: str, target: str, command: str, nick_len: int
) -> None:
    source = conservative_source("n" * nick_len)
    msgs = split_message(command, target, text, source=source)
    for msg in msgs:
        assert msg.params[0] == target
        assert msg.params[1]
        assert len(_relayed(msg, source)) <= 512
    joined = "".join(m.params[1] for m in msgs)
    expected = "".join(split_lines(text))
    # only the whitespace at the breaks may go missing
    assert _squash.sub("", joined) == _squash.sub("", expected)
    assert len(expected) - len(joined) <= len(msgs)


@given(
    st.text(alphabet=st.sampled_from(["a", "b", " ", "é", "😀"]), min_size=1, max_size=300),
    st.integers(4, 40),
)
def test_pieces_rejoin_with_single_spaces_at_word_breaks(text: str, budget: int) -> None:
    pieces = split_text(text, budget)
    assert all(piece and len(piece.encode()) <= budget for piece in pieces)
    assert _rejoins(pieces, text)


def _rejoins(pieces: list[str], text: str) -> bool:
    """Whether ``text`` is the pieces joined, each break dropping at most one
    space (a final break may drop a trailing space)."""

    @cache
    def go(i: int, pos: int) -> bool:
        if i == len(pieces):
            return text[pos:] in ("", " ")
        if not text.startswith(pieces[i], pos):
            return False
        pos += len(pieces[i])
        return go(i + 1, pos) or (text.startswith(" ", pos) and go(i + 1, pos + 1))

    return go(0, 0)


def test_rejoins_helper_can_fail() -> None:
    assert _rejoins(["ab", "cd"], "ab cd")
    assert not _rejoins(["ab", "cd"], "ab  cd")
    assert not _rejoins(["ab", "d"], "ab cd")
