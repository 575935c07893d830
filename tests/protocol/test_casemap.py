"""Casemapping: folding rules and the case-insensitive IRCDict."""

from __future__ import annotations

import pytest

from backchannel.protocol.casemap import (
    ASCII,
    RFC1459,
    RFC1459_STRICT,
    IRCDict,
    casemap_for,
    fold,
)


def test_ascii_folds_letters_only() -> None:
    assert ASCII.fold("NiCk[]\\~") == "nick[]\\~"


def test_rfc1459_folds_brackets_backslash_and_tilde() -> None:
    assert RFC1459.fold("NICK[]\\~") == "nick{}|^"
    assert RFC1459.equal("#Foo[bar]", "#foo{BAR}")


def test_rfc1459_strict_leaves_tilde() -> None:
    assert RFC1459_STRICT.fold("A[]\\~") == "a{}|~"
    assert not RFC1459_STRICT.equal("a~", "a^")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (None, RFC1459),
        ("rfc1459", RFC1459),
        ("RFC1459", RFC1459),
        ("ascii", ASCII),
        ("rfc1459-strict", RFC1459_STRICT),
        ("strict-rfc1459", RFC1459_STRICT),
        ("something-new", ASCII),
    ],
)
def test_casemap_for(name: str | None, expected: object) -> None:
    assert casemap_for(name) is expected


def test_precis_casemapping_lowercases_unicode() -> None:
    assert fold("ÄBC", "rfc8265") == "äbc"


def test_fold_defaults_to_rfc1459() -> None:
    assert fold("[X]") == "{x}"
    assert fold("[X]", "ascii") == "[x]"


def test_non_ascii_letters_are_not_folded_by_rfc1459() -> None:
    assert RFC1459.fold("É") == "É"


def test_ircdict_lookups_are_case_insensitive_and_keep_display_name() -> None:
    d: IRCDict[int] = IRCDict(RFC1459)
    d["#Chan[1]"] = 1
    assert d["#chan{1}"] == 1
    assert "#CHAN{1}" in d
    assert list(d) == ["#Chan[1]"]
    assert d.display("#chan{1}") == "#Chan[1]"
    del d["#CHAN[1]"]
    assert len(d) == 0
    assert 5 not in d  # type: ignore[comparison-overlap]


def test_ircdict_rename_moves_value() -> None:
    d: IRCDict[str] = IRCDict(ASCII, {"Alice": "x"})
    d.rename("alice", "Bob")
    assert dict(d) == {"Bob": "x"}
    with pytest.raises(KeyError):
        d.rename("alice", "carol")


def test_ircdict_refolds_when_casemap_changes() -> None:
    d: IRCDict[int] = IRCDict(ASCII, [("a[", 1), ("A{", 2)])
    assert len(d) == 2
    d.set_casemap(RFC1459)
    assert len(d) == 1
    assert d["a{"] == 2  # the later insertion wins
    d.set_casemap(ASCII)
    assert "A{" in d and "a[" not in d
    assert d.casemap is ASCII
