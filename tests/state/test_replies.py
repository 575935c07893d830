"""FAIL/WARN/NOTE, INVITE and numerics as ServerReply."""

from __future__ import annotations

from backchannel.state.events import Invited, ServerReply, StandardReply
from tests.state.support import feed, in_channel, only, registered


def test_standard_replies() -> None:
    state = registered()
    event = only(
        feed(
            state,
            ":srv FAIL CHATHISTORY MESSAGE_ERROR the_given_target :Messages could not be retrieved",
        ),
        StandardReply,
    )
    assert (event.severity, event.command, event.code) == ("FAIL", "CHATHISTORY", "MESSAGE_ERROR")
    assert event.context == ("the_given_target",)
    assert event.description == "Messages could not be retrieved"
    warn = only(feed(state, ":srv WARN * ACCOUNT_NAME_MUST_BE_BOUNCER :careful"), StandardReply)
    assert (warn.severity, warn.command, warn.context) == ("WARN", "*", ())
    note = only(feed(state, "NOTE * OPER_MESSAGE :hello"), StandardReply)
    assert note.severity == "NOTE"
    assert feed(state, ":srv FAIL X :too short") == []


def test_invite_of_ourselves() -> None:
    state = registered()
    event = only(feed(state, ":alice!a@h INVITE me #secret"), Invited)
    assert (event.nick, event.target, event.channel, event.self) == ("alice", "me", "#secret", True)


def test_invite_notify_of_others() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h INVITE carol #chan"), Invited)
    assert event.target == "carol" and not event.self


def test_whois_numerics_are_shown() -> None:
    state = registered()
    event = only(feed(state, ":srv 312 me alice irc.example.net :Example server"), ServerReply)
    assert (event.code, event.params, event.text) == (
        "312",
        ("alice", "irc.example.net", "Example server"),
        "Example server",
    )
    assert event.to_dict()["params"] == ["alice", "irc.example.net", "Example server"]


def test_error_numerics_without_a_handler_are_shown() -> None:
    state = registered()
    event = only(feed(state, ":srv 401 me ghost :No such nick/channel"), ServerReply)
    assert event.code == "401" and event.params == ("ghost", "No such nick/channel")
    event = only(feed(state, ":srv 482 me #chan :You're not channel operator"), ServerReply)
    assert event.code == "482"


def test_uninteresting_numerics_are_dropped() -> None:
    state = registered()
    assert (
        feed(state, ":srv 333333 me x", ":srv 250a me x", ":srv 600 me x", ":srv 366 me #x :End")
        == []
    )
