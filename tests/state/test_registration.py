"""Registration and connection: 001, 005, MOTD, nick errors, CAP, ERROR, time."""

from __future__ import annotations

from datetime import UTC, datetime

from backchannel.protocol.message import parse
from backchannel.state import NetworkState
from backchannel.state.events import (
    CapsChanged,
    ISupportChanged,
    Motd,
    NickError,
    Privmsg,
    Registered,
    ServerError,
    ServerReply,
)
from tests.state.support import T0, feed, in_channel, only, registered


def test_welcome_sets_our_nick_and_registered() -> None:
    state = NetworkState("wanted")
    assert not state.registered
    event = only(feed(state, ":irc.example.net 001 wanted_ :Welcome to the network"), Registered)
    assert state.registered
    assert state.nick == "wanted_"
    assert state.server_name == "irc.example.net"
    assert "wanted_" in state.users and "wanted" not in state.users
    assert state.users["wanted_"] is state.me
    assert (event.nick, event.server, event.text) == (
        "wanted_",
        "irc.example.net",
        "Welcome to the network",
    )


def test_isupport_is_accumulated() -> None:
    state = NetworkState("me")
    events = feed(
        state,
        ":srv 005 me NETWORK=Example CHANTYPES=# :are supported by this server",
        ":srv 005 me NICKLEN=30 -CHANTYPES :are supported by this server",
    )
    assert [e.tokens for e in events if isinstance(e, ISupportChanged)] == [
        ("NETWORK=Example", "CHANTYPES=#"),
        ("NICKLEN=30", "-CHANTYPES"),
    ]
    assert state.isupport.network == "Example"
    assert state.isupport.nicklen == 30
    assert state.isupport.chantypes == "#&"


def test_default_casemapping_is_rfc1459() -> None:
    state = in_channel("#Foo[1]")
    assert "#foo{1}" in state.channels
    assert state.channels["#FOO{1}"].name == "#Foo[1]"


def test_casemapping_change_refolds_existing_keys() -> None:
    state = in_channel("#a[b]", names="me Nick[x]")
    assert "nick{x}" in state.users
    feed(state, ":srv 005 me CASEMAPPING=ascii :are supported")
    assert state.casemap.name == "ascii"
    assert "#a{b}" not in state.channels
    assert "#A[B]" in state.channels
    assert "nick{x}" not in state.users and "NICK[X]" in state.users
    assert "nick{x}" not in state.channels["#a[b]"].members
    assert "NICK[x]" in state.channels["#a[b]"].members


def test_motd_lines_are_collected() -> None:
    state = registered()
    events = feed(
        state,
        ":srv 375 me :- srv Message of the day -",
        ":srv 372 me :- Hello",
        ":srv 372 me :- World",
        ":srv 376 me :End of /MOTD command.",
    )
    assert only(events, Motd).lines == ("Hello", "World")
    assert state.motd_done


def test_missing_motd() -> None:
    state = registered()
    assert only(feed(state, ":srv 422 me :MOTD File is missing"), Motd).lines == ()
    assert state.motd_done


def test_nick_errors() -> None:
    state = NetworkState("taken")
    for code in ("432", "433", "436", "437"):
        event = only(feed(state, f":srv {code} * taken :Nickname is already in use"), NickError)
        assert (event.code, event.nick, event.reason) == (
            code,
            "taken",
            "Nickname is already in use",
        )


def test_437_for_a_channel_is_not_a_nick_error() -> None:
    state = registered()
    reply = only(feed(state, ":srv 437 me #chan :Channel is temporarily unavailable"), ServerReply)
    assert reply.params == ("#chan", "Channel is temporarily unavailable")


def test_cap_ack_new_del() -> None:
    state = NetworkState("me")
    assert feed(state, ":srv CAP * LS * :multi-prefix sasl=PLAIN,EXTERNAL") == []
    assert feed(state, ":srv CAP * LS :away-notify") == []
    assert state.caps_available == {"multi-prefix": "", "sasl": "PLAIN,EXTERNAL", "away-notify": ""}
    event = only(feed(state, ":srv CAP * ACK :multi-prefix away-notify"), CapsChanged)
    assert event.enabled == ("multi-prefix", "away-notify") and event.disabled == ()
    assert state.has_cap("multi-prefix")
    assert feed(state, ":srv CAP me ACK :multi-prefix") == []  # nothing new
    event = only(feed(state, ":srv CAP me ACK :-multi-prefix"), CapsChanged)
    assert event.disabled == ("multi-prefix",)
    feed(state, ":srv CAP me NEW :chghost")
    assert "chghost" in state.caps_available
    event = only(feed(state, ":srv CAP me DEL :away-notify chghost"), CapsChanged)
    assert event.disabled == ("away-notify",)
    assert state.caps == set()
    assert "chghost" not in state.caps_available


def test_error() -> None:
    state = registered()
    event = only(feed(state, "ERROR :Closing Link: me (Quit)"), ServerError)
    assert event.message == "Closing Link: me (Quit)"


def test_unknown_commands_produce_nothing() -> None:
    state = registered()
    assert feed(state, ":srv FROBNICATE a b", "PING :x", ":srv 999 me :what", ":a TAGMSG #c") == []


def test_event_time_is_the_receive_time_without_a_time_tag() -> None:
    state = registered()
    event = only(feed(state, ":a!b@c PRIVMSG #chan :hi"), Privmsg)
    assert event.time == T0


def test_server_time_tag_is_the_event_time() -> None:
    state = registered()
    line = "@time=2011-10-19T16:40:51.620Z :a!b@c PRIVMSG #chan :hi"
    event = only(state.apply(parse(line), T0), Privmsg)
    assert event.time == datetime(2011, 10, 19, 16, 40, 51, 620000, tzinfo=UTC)
    assert event.to_dict()["time"] == "2011-10-19T16:40:51.620Z"


def test_bad_server_time_falls_back_to_receive_time() -> None:
    state = registered()
    event = only(state.apply(parse("@time=yesterday :a!b@c PRIVMSG #chan :hi"), T0), Privmsg)
    assert event.time == T0


def test_naive_server_time_is_taken_as_utc() -> None:
    state = registered()
    line = "@time=2011-10-19T16:40:51 :a!b@c PRIVMSG #chan :hi"
    event = only(state.apply(parse(line), T0), Privmsg)
    assert event.time == datetime(2011, 10, 19, 16, 40, 51, tzinfo=UTC)
