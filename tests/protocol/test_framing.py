"""Framing a hostile byte stream into bounded, decoded lines."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backchannel.protocol import MAX_LINE_BYTES, LineFramer, decode_line
from backchannel.protocol.framing import MAX_CUT_WORD


def test_max_line_bytes_is_tags_plus_rfc_message() -> None:
    assert MAX_LINE_BYTES == 8191 + 512


def test_crlf_and_bare_lf() -> None:
    framer = LineFramer()
    assert framer.feed(b"PING :a\r\nPING :b\nPING :c\r\n") == ["PING :a", "PING :b", "PING :c"]
    assert framer.pending == 0
    assert framer.truncated == 0


def test_partial_line_is_buffered_until_its_end() -> None:
    framer = LineFramer()
    assert framer.feed(b"PRIVMSG #c :hel") == []
    assert framer.pending == len(b"PRIVMSG #c :hel")
    assert framer.feed(b"lo\r") == []
    assert framer.feed(b"\nNEXT") == ["PRIVMSG #c :hello"]
    assert framer.pending == len(b"NEXT")


def test_line_fed_byte_by_byte() -> None:
    data = b"@time=x :n!u@h PRIVMSG #c :caf\xc3\xa9 \xe2\x98\x95\r\nPING :z\n"
    framer = LineFramer()
    lines: list[str] = []
    for i in range(len(data)):
        lines.extend(framer.feed(data[i : i + 1]))
    assert lines == ["@time=x :n!u@h PRIVMSG #c :café ☕", "PING :z"]
    assert framer.pending == 0


def test_empty_lines_are_skipped() -> None:
    framer = LineFramer()
    assert framer.feed(b"\r\n\n\r\nPING :a\r\n\r\n\nPING :b\n") == ["PING :a", "PING :b"]


def test_lone_cr_is_kept_inside_a_line() -> None:
    # only LF ends a line; a CR that is not just before it is data
    assert LineFramer().feed(b"a\rb\n") == ["a\rb"]


def test_empty_feed() -> None:
    framer = LineFramer()
    assert framer.feed(b"") == []
    assert framer.pending == 0


@pytest.mark.parametrize(
    ("raw", "text"),
    [
        (b"caf\xe9", "café"),  # latin-1 / cp1252
        (b"\x93quoted\x94 \x80", "\u201cquoted\u201d \u20ac"),  # cp1252-only characters
        (b"\x81\x8d", "\x81\x8d"),  # undefined in cp1252: read as latin-1
        (b"\x8f\x90\x9d", "\x8f\x90\x9d"),
        (b"caf\xc3\xa9", "café"),  # valid UTF-8 wins
        (b"", ""),
    ],
)
def test_decode_line(raw: bytes, text: str) -> None:
    assert decode_line(raw) == text


def test_invalid_utf8_through_the_framer() -> None:
    framer = LineFramer()
    assert framer.feed(b"PRIVMSG #c :caf\xe9\r\n\x81\x8d\n") == ["PRIVMSG #c :café", "\x81\x8d"]


def test_every_byte_decodes() -> None:
    assert len(decode_line(bytes(range(256)))) == 256


def test_huge_line_without_newline_is_truncated_and_memory_bounded() -> None:
    limit = 512
    framer = LineFramer(limit)
    lines: list[str] = []
    for _ in range(100 * 1024 // 100):
        lines.extend(framer.feed(b"x" * 100))
        assert framer.pending <= limit
    assert lines == ["x" * limit]
    assert framer.truncated == 1
    # the rest of the long line is discarded up to its end; the next line is intact
    assert framer.feed(b"yyy\r\nPING :after\r\n") == ["PING :after"]
    assert framer.pending == 0
    assert framer.truncated == 1


def test_huge_line_with_default_limit() -> None:
    framer = LineFramer()
    lines = framer.feed(b"A" * (100 * 1024))
    assert framer.pending <= MAX_LINE_BYTES
    lines += framer.feed(b"\r\nPING :ok\r\n")
    assert lines == ["A" * MAX_LINE_BYTES, "PING :ok"]


def test_over_long_complete_line_is_truncated() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"0123456789abcdef\r\nshort\r\n") == ["0123456789", "short"]
    assert framer.truncated == 1


def test_line_of_exactly_the_limit_is_not_truncated() -> None:
    framer = LineFramer(10)
    assert framer.feed(b"0123456789\r\n") == ["0123456789"]
    assert framer.feed(b"0123456789") == []
    assert framer.feed(b"\n") == ["0123456789"]
    assert framer.truncated == 0


def test_truncated_utf8_line_is_cut_at_a_character_boundary() -> None:
    # 'é' is two bytes in UTF-8; cutting between them must not turn the whole
    # line into cp1252 mojibake
    framer = LineFramer(6)
    assert framer.feed("aaaaaé tail\n".encode()) == ["aaaaa"]
    assert framer.feed("aaaaaé tail".encode()) == ["aaaaa"]
    assert framer.truncated == 2


def test_a_cut_drops_a_short_split_word_but_keeps_a_giant_one() -> None:
    framer = LineFramer(40)
    names = b":s 353 me = #c :alice bob carol dave erin frank"
    assert framer.feed(names + b"\r\n") == [":s 353 me = #c :alice bob carol dave"]
    wide = LineFramer(2 * MAX_CUT_WORD)
    giant = b":n!u@h PRIVMSG #c :" + b"y" * 4 * MAX_CUT_WORD  # one word, longer than a cut drops
    [line] = wide.feed(giant + b"\r\n")
    assert line == giant[: 2 * MAX_CUT_WORD].decode()  # its text is kept, cut at the limit


def test_max_line_must_be_positive() -> None:
    with pytest.raises(ValueError):
        LineFramer(0)


def _legacy_bytes(line: str) -> bytes:
    """The bytes a cp1252-with-latin-1 decoded line came from."""
    out = bytearray()
    for ch in line:
        try:
            out += ch.encode("cp1252")
        except UnicodeEncodeError:
            out += ch.encode("latin-1")
    return bytes(out)


@given(
    st.lists(st.binary(max_size=64), max_size=40),
    st.integers(min_value=1, max_value=40),
)
def test_arbitrary_chunks_never_raise_and_lines_are_bounded(
    chunks: list[bytes], limit: int
) -> None:
    framer = LineFramer(limit)
    for chunk in chunks:
        for line in framer.feed(chunk):
            assert line
            assert "\n" not in line
            assert len(line) <= limit
            # re-encoded as it was decoded, a line fits in the limit
            assert len(line.encode("utf-8")) <= limit or len(_legacy_bytes(line)) <= limit
        assert framer.pending <= limit


_line_chars = st.characters(exclude_characters="\r\n", exclude_categories=["Cs"])


@given(st.lists(st.text(_line_chars, min_size=1), max_size=10))
def test_short_utf8_lines_survive_any_chunking(lines: list[str]) -> None:
    data = b"".join(line.encode() + b"\r\n" for line in lines)
    for size in (1, 2, 3, 7, len(data) or 1):
        framer = LineFramer()
        out: list[str] = []
        for i in range(0, len(data), size):
            out.extend(framer.feed(data[i : i + size]))
        assert out == lines
