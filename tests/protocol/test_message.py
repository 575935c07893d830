"""Parsing and serialising single IRC messages: focused cases and properties."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backchannel.protocol import Message, ParseError, parse, serialize
from backchannel.protocol.message import escape_tag_value, unescape_tag_value

# --- serialising the last parameter ----------------------------------------


@pytest.mark.parametrize(
    ("params", "line"),
    [
        (["#chan", "hello"], "PRIVMSG #chan hello"),
        (["#chan", ""], "PRIVMSG #chan :"),
        (["#chan", ":)"], "PRIVMSG #chan ::)"),
        (["#chan", "hello world"], "PRIVMSG #chan :hello world"),
        (["#chan", " "], "PRIVMSG #chan : "),
        ([], "PRIVMSG"),
    ],
    ids=["plain", "empty", "leading-colon", "space", "only-space", "no-params"],
)
def test_serialize_trailing_param(params: list[str], line: str) -> None:
    msg = Message("PRIVMSG", params)
    assert serialize(msg) == line
    assert parse(line) == msg


def test_serialize_colon_inside_middle_of_last_param_needs_no_trailing() -> None:
    assert serialize(Message("MODE", ["#c", "a:b"])) == "MODE #c a:b"


def test_serialize_source_and_tags() -> None:
    msg = Message("PRIVMSG", ["#c", "hi there"], "nick!u@h", {"time": "t", "bot": ""})
    assert serialize(msg) == "@time=t;bot :nick!u@h PRIVMSG #c :hi there"
    assert msg.to_line() == serialize(msg)


# --- tag value escaping ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a;b", "a\\:b"),
        ("a b", "a\\sb"),
        ("a\\b", "a\\\\b"),
        ("a\rb", "a\\rb"),
        ("a\nb", "a\\nb"),
        ("plain", "plain"),
        ("", ""),
        ("; \\\r\n", "\\:\\s\\\\\\r\\n"),
    ],
)
def test_tag_value_escaping_both_ways(raw: str, escaped: str) -> None:
    assert escape_tag_value(raw) == escaped
    assert unescape_tag_value(escaped) == raw


@pytest.mark.parametrize(
    ("escaped", "raw"),
    [
        ("a\\bc", "abc"),  # unknown escape: the backslash is dropped
        ("\\t", "t"),
        ("value\\", "value"),  # trailing lone backslash is dropped
        ("\\", ""),
        ("\\\\\\", "\\"),  # an escaped backslash, then a lone one
    ],
)
def test_tag_value_unescape_oddities(escaped: str, raw: str) -> None:
    assert unescape_tag_value(escaped) == raw


def test_tags_parsed_with_escapes_and_without_values() -> None:
    msg = parse("@a=x\\sy;b;c=;d=e=f;+vendor.example/k=v TAGMSG")
    assert msg.tags == {"a": "x y", "b": "", "c": "", "d": "e=f", "+vendor.example/k": "v"}
    assert msg.verb == "TAGMSG"
    assert msg.params == []


def test_serialize_escapes_tag_values() -> None:
    msg = Message("TAGMSG", tags={"k": "a b;c\\"})
    assert serialize(msg) == "@k=a\\sb\\:c\\\\ TAGMSG"


# --- errors ------------------------------------------------------------------


@pytest.mark.parametrize(
    "line",
    ["", " ", "   ", "@a=b", "@a=b ", "@a=b  ", ":src", ":src ", "@a=b :src", ":src :text"],
    ids=[
        "empty",
        "space",
        "spaces",
        "tags-only",
        "tags-space",
        "tags-spaces",
        "source-only",
        "source-space",
        "tags-and-source",
        "source-and-trailing",
    ],
)
def test_parse_error(line: str) -> None:
    with pytest.raises(ParseError):
        parse(line)


def test_parse_error_is_a_value_error() -> None:
    assert issubclass(ParseError, ValueError)


# --- verbs, params, line endings ------------------------------------------------


def test_verb_case_preserved_and_command_upper_cased() -> None:
    msg = parse(":n!u@h privMsg #c :hi")
    assert msg.verb == "privMsg"
    assert msg.command == "PRIVMSG"
    assert serialize(msg) == ":n!u@h privMsg #c hi"


def test_numeric_verb() -> None:
    msg = parse(":irc.example 001 me :Welcome")
    assert msg.verb == "001"
    assert msg.command == "001"
    assert msg.params == ["me", "Welcome"]


def test_param_default() -> None:
    msg = Message("NICK", ["new"])
    assert msg.param(0) == "new"
    assert msg.param(-1) == "new"
    assert msg.param(1) == ""
    assert msg.param(1, "x") == "x"
    assert msg.param(-2, "neg") == "neg"


def test_parse_strips_line_ending() -> None:
    assert parse("PING :x\r\n") == Message("PING", ["x"])
    assert parse("PING :x\n") == Message("PING", ["x"])


def test_tab_is_not_a_separator() -> None:
    assert parse("FOO a\tb c").params == ["a\tb", "c"]


def test_equality_and_repr() -> None:
    a = Message("PING", ["x"], "s", {"k": "v"})
    assert a == Message("PING", ("x",), "s", {"k": "v"})
    assert a != Message("PING", ["x"], "s", {"k": "w"})
    assert a != Message("ping", ["x"], "s", {"k": "v"})
    assert a != "PING x"
    assert hash(a) == hash(Message("PING", ["x"], "s", {"k": "v"}))
    assert "PING" in repr(a)


def test_message_copies_its_inputs() -> None:
    params = ["a"]
    tags = {"k": "v"}
    msg = Message("X", params, tags=tags)
    params.append("b")
    tags["z"] = ""
    assert msg.params == ["a"]
    assert msg.tags == {"k": "v"}


# --- properties ----------------------------------------------------------------

_FORBIDDEN = "\r\n\x00"
_param_chars = st.characters(exclude_characters=_FORBIDDEN, exclude_categories=["Cs"])
_middle_params = st.text(
    st.characters(exclude_characters=_FORBIDDEN + " ", exclude_categories=["Cs"]),
    min_size=1,
).filter(lambda p: not p.startswith(":"))
_last_param = st.text(_param_chars)
_verbs = st.text(string.ascii_letters + string.digits, min_size=1, max_size=12)
_key_names = st.text(string.ascii_letters + string.digits + "-", min_size=1, max_size=10)
_tag_keys = st.builds(
    lambda plus, vendor, name: plus + (vendor + "/" if vendor else "") + name,
    st.sampled_from(["", "+"]),
    st.one_of(st.just(""), st.from_regex(r"[a-z0-9]+(\.[a-z0-9]+)*", fullmatch=True)),
    _key_names,
)
_sources = st.one_of(
    st.none(),
    st.text(
        st.characters(exclude_characters=_FORBIDDEN + " ", exclude_categories=["Cs"]),
        min_size=1,
    ),
)


@st.composite
def _messages(draw: st.DrawFn) -> Message:
    middles = draw(st.lists(_middle_params, max_size=6))
    last = draw(st.one_of(st.none(), _last_param))
    params = middles + ([last] if last is not None else [])
    tags = draw(st.dictionaries(_tag_keys, st.text(), max_size=5))
    return Message(draw(_verbs), params, draw(_sources), tags)


@given(_messages())
def test_serialize_then_parse_round_trips(msg: Message) -> None:
    line = serialize(msg)
    assert "\r" not in line
    assert "\n" not in line
    assert parse(line) == msg


@given(st.text())
def test_parse_arbitrary_text_returns_message_or_raises_parse_error(line: str) -> None:
    try:
        msg = parse(line)
    except ParseError:
        return
    assert isinstance(msg, Message)
    assert msg.verb
    assert " " not in msg.verb


@given(st.text(alphabet=" :@;=\\abc\t\r\n"))
def test_parse_irc_punctuation_returns_message_or_raises_parse_error(line: str) -> None:
    try:
        msg = parse(line)
    except ParseError:
        return
    assert msg.verb
    assert not msg.verb.startswith(":")
