"""RPL_ISUPPORT parsing into the typed view."""

from __future__ import annotations

import pytest

from backchannel.protocol.isupport import (
    ChanModes,
    ISupport,
    PrefixMap,
    parse_token,
    unescape_value,
)
from backchannel.protocol.message import parse


def _tokens(line: str) -> list[str]:
    msg = parse(line)
    return msg.params[1:-1]


def test_defaults() -> None:
    isup = ISupport()
    assert isup.casemapping == "rfc1459"
    assert isup.prefix == PrefixMap("ov", "@+")
    assert isup.chanmodes == ChanModes("beI", "k", "l", "imnpst")
    assert isup.chantypes == "#&"
    assert isup.linelen == 512
    assert isup.network is None
    assert isup.nicklen is None
    assert dict(isup.targmax) == {}
    assert not isup.utf8only
    assert not isup.monitor
    assert isup.statusmsg == ""


def test_typical_line() -> None:
    isup = ISupport().update(
        _tokens(
            ":srv 005 me CASEMAPPING=ascii PREFIX=(qaohv)~&@%+ CHANMODES=beI,k,l,imnpst"
            " CHANTYPES=# NETWORK=Libera.Chat NICKLEN=16 STATUSMSG=@+ UTF8ONLY MONITOR=100"
            " TARGMAX=PRIVMSG:4,NOTICE:4,JOIN: LINELEN=2048 :are supported by this server"
        )
    )
    assert isup.casemapping == "ascii"
    assert isup.prefix.modes == "qaohv"
    assert isup.prefix.prefixes == "~&@%+"
    assert isup.chanmodes.a == "beI"
    assert isup.chantypes == "#"
    assert isup.network == "Libera.Chat"
    assert isup.nicklen == 16
    assert isup.statusmsg == "@+"
    assert isup.utf8only
    assert isup.monitor and isup.monitor_limit == 100
    assert dict(isup.targmax) == {"PRIVMSG": 4, "NOTICE": 4, "JOIN": None}
    assert isup.linelen == 2048
    assert isup.tokens["UTF8ONLY"] == ""


def test_updates_accumulate_and_removal_restores_default() -> None:
    first = ISupport().update(["CHANTYPES=#", "NETWORK=One"])
    second = first.update(["NICKLEN=30"])
    assert second.chantypes == "#" and second.nicklen == 30 and second.network == "One"
    third = second.update(["-CHANTYPES", "-NETWORK", "-UNKNOWN"])
    assert third.chantypes == "#&"
    assert third.network is None
    assert first.chantypes == "#"  # the old view is unchanged


def test_value_escapes() -> None:
    isup = ISupport().update(["NETWORK=Example\\x20Net\\x5Cwork\\x3D"])
    assert isup.network == "Example Net\\work="
    assert unescape_value("caf\\xC3\\xA9") == "café"
    assert unescape_value("plain") == "plain"
    assert unescape_value("bad\\xZZ") == "bad\\xZZ"


def test_parse_token() -> None:
    assert parse_token("-PREFIX") == ("PREFIX", None, True)
    assert parse_token("excepts") == ("EXCEPTS", "", False)
    assert parse_token("EXCEPTS=e") == ("EXCEPTS", "e", False)


def test_empty_prefix_means_no_prefixes() -> None:
    assert ISupport().update(["PREFIX="]).prefix == PrefixMap("", "")


def test_malformed_prefix_keeps_default() -> None:
    assert ISupport().update(["PREFIX=ov@+"]).prefix == PrefixMap()


def test_prefix_map_helpers() -> None:
    prefix = PrefixMap.parse("(qaohv)~&@%+")
    assert prefix.prefix_for("o") == "@"
    assert prefix.prefix_for("x") is None
    assert prefix.prefix_for("") is None
    assert prefix.mode_for("%") == "h"
    assert prefix.mode_for("!") is None
    assert prefix.sort_modes("vqov") == "qov"
    assert prefix.prefixes_of("ov") == "@+"
    assert prefix.rank("q") == 0 and prefix.rank("z") == 5


def test_chanmodes_short_and_long() -> None:
    assert ChanModes.parse("b,k") == ChanModes("b", "k", "", "")
    assert ChanModes.parse("b,k,l,imn,XYZ") == ChanModes("b", "k", "l", "imn")


def test_linelen_never_below_512() -> None:
    assert ISupport().update(["LINELEN=100"]).linelen == 512
    assert ISupport().update(["LINELEN=abc"]).linelen == 512


def test_monitor_without_limit() -> None:
    isup = ISupport().update(["MONITOR"])
    assert isup.monitor and isup.monitor_limit is None


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("@#chan", ("@", "#chan")),
        ("+@#chan", ("+@", "#chan")),
        ("#chan", ("", "#chan")),
        ("@nick", ("", "@nick")),
        ("@", ("", "@")),
    ],
)
def test_split_statusmsg(target: str, expected: tuple[str, str]) -> None:
    isup = ISupport().update(["STATUSMSG=@+", "CHANTYPES=#"])
    assert isup.split_statusmsg(target) == expected


def test_is_channel() -> None:
    isup = ISupport().update(["CHANTYPES=#"])
    assert isup.is_channel("#a")
    assert not isup.is_channel("&a")
    assert not isup.is_channel("")
