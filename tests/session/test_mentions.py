"""Mentions: the quick ASCII path finds exactly what the regular expression
``(?<![\\w-])word(?![\\w-])`` (case-insensitive) finds."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from backchannel.session.mentions import Mentions, mentions


def by_regex(text: str, words: list[str]) -> bool:
    words = [w for w in words if w]
    if not words:
        return False
    alternatives = "|".join(re.escape(w) for w in words)
    pattern = rf"(?<![\w-])(?:{alternatives})(?![\w-])"
    return re.search(pattern, text, re.IGNORECASE) is not None


def test_words_and_boundaries() -> None:
    assert mentions("ada: the build is green", ["ada"])
    assert mentions("hey ADA!", ["ada"])
    assert mentions("ada", ["ada"])
    assert not mentions("adam is here", ["ada"])
    assert not mentions("grenada", ["ada"])
    assert not mentions("ada-lovelace", ["ada"])
    assert not mentions("x_ada", ["ada"])
    assert mentions("ask [ada]", ["[ada]"])
    assert mentions("the deploy went fine", ["ada", "deploy"])
    assert not mentions("anything", ["", ""])
    assert mentions("Grüße an Ada", ["ada"])  # non-ASCII text: the regular expression
    assert mentions("ÉMILIE, look", ["émilie"])


def test_runtime_mentions_follow_the_nick_and_words() -> None:
    words = ["release"]
    check = Mentions(lambda: words)
    assert check("ada: hi", "ada")
    assert check("the release is out", "ada")
    assert not check("the releases are out", "ada")
    words.append("ünicode")
    assert check("ÜNICODE!", "ada")
    assert not check("hi", "")


alphabet = st.sampled_from(list("aAbB-_ :[]\\|{}^1é\u212a\u017fs"))


@given(st.text(alphabet, max_size=30), st.lists(st.text(alphabet, max_size=4), max_size=3))
def test_same_as_the_regular_expression(text: str, words: list[str]) -> None:
    assert mentions(text, words) == by_regex(text, words)
    nick, *extra = [*words, ""]
    assert Mentions(lambda: extra)(text, nick) == by_regex(text, [nick, *extra])
