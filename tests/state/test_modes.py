"""MODE on channels and on ourselves, 324 and 221."""

from __future__ import annotations

from backchannel.protocol.isupport import ISupport
from backchannel.state.events import ChannelModes, ModeChange, ModeChanged
from backchannel.state.handlers.modes import parse_channel_modes
from tests.state.support import feed, in_channel, only, registered


def test_mixed_param_modes() -> None:
    state = in_channel(names="@me alice bob")
    event = only(feed(state, ":me!u@h MODE #chan +ov-b alice bob *!*@bad.host"), ModeChanged)
    assert event.changes == (
        ModeChange(True, "o", "alice"),
        ModeChange(True, "v", "bob"),
        ModeChange(False, "b", "*!*@bad.host"),
    )
    assert event.self and event.by == "me" and event.target == "#chan"
    members = state.channels["#chan"].members
    assert members["alice"] == "o" and members["bob"] == "v"
    assert state.prefixes("#chan", "alice") == "@"


def test_prefix_modes_are_kept_in_rank_order() -> None:
    state = in_channel(names="@me alice")
    feed(state, ":me!u@h MODE #chan +vq alice alice")
    assert state.channels["#chan"].members["alice"] == "qv"
    feed(state, ":me!u@h MODE #chan -q+h alice alice")
    assert state.channels["#chan"].members["alice"] == "hv"
    assert state.prefixes("#chan", "ALICE") == "%+"


def test_type_b_c_d_modes() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h MODE #chan +klm-n secret 25"), ModeChanged)
    assert event.changes == (
        ModeChange(True, "k", "secret"),
        ModeChange(True, "l", "25"),
        ModeChange(True, "m", None),
        ModeChange(False, "n", None),
    )
    assert not event.self
    assert state.channels["#chan"].modes == {"k": "secret", "l": "25", "m": None}
    # type C takes no parameter when unset; type B still does
    event = only(feed(state, ":alice!a@h MODE #chan -lk secret"), ModeChanged)
    assert event.changes == (ModeChange(False, "l", None), ModeChange(False, "k", "secret"))
    assert state.channels["#chan"].modes == {"m": None}


def test_list_modes_are_not_kept() -> None:
    state = in_channel()
    feed(state, ":alice!a@h MODE #chan +b *!*@x")
    assert state.channels["#chan"].modes == {}


def test_mode_for_missing_member_changes_nothing() -> None:
    state = in_channel()
    feed(state, ":alice!a@h MODE #chan +o ghost")
    assert "ghost" not in state.channels["#chan"].members


def test_parse_unknown_modes_take_no_parameter() -> None:
    changes = parse_channel_modes("+Xo", ["nick"], ISupport())
    assert changes == [ModeChange(True, "X", None), ModeChange(True, "o", "nick")]


def test_parse_missing_parameters_are_none() -> None:
    assert parse_channel_modes("+b", [], ISupport()) == [ModeChange(True, "b", None)]


def test_channel_mode_is_324_replaces_modes() -> None:
    state = in_channel()
    feed(state, ":alice!a@h MODE #chan +m")
    event = only(feed(state, ":srv 324 me #chan +ntk key"), ChannelModes)
    assert event.modes == (
        ModeChange(True, "n", None),
        ModeChange(True, "t", None),
        ModeChange(True, "k", "key"),
    )
    assert state.channels["#chan"].modes == {"n": None, "t": None, "k": "key"}


def test_our_user_modes() -> None:
    state = registered()
    event = only(feed(state, ":me MODE me :+iw"), ModeChanged)
    assert event.target == "me" and event.self
    assert state.user_modes == {"i", "w"}
    feed(state, ":me MODE me -w")
    assert state.user_modes == {"i"}
    event = only(feed(state, ":srv 221 me +Zi"), ModeChanged)
    assert state.user_modes == {"Z", "i"} and event.by is None


def test_mode_on_channel_we_are_not_in_is_reported_only() -> None:
    state = in_channel()
    event = only(feed(state, ":x!x@h MODE #other +o y"), ModeChanged)
    assert event.target == "#other"
    assert "#other" not in state.channels
