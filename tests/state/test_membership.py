"""JOIN, PART, KICK, QUIT and NAMES."""

from __future__ import annotations

from backchannel.state.events import (
    Joined,
    Kicked,
    NamesEntry,
    NamesReply,
    Parted,
    Quit,
    ServerReply,
)
from tests.state.support import feed, in_channel, only, registered


def test_our_join_creates_the_channel() -> None:
    state = registered()
    event = only(feed(state, ":me!~u@host.example JOIN #Chan"), Joined)
    assert event.self and event.channel == "#Chan" and event.nick == "me"
    assert "#chan" in state.channels
    assert state.channels["#chan"].members["me"] == ""
    assert (state.me.user, state.me.host) == ("~u", "host.example")


def test_others_join_adds_a_member_and_user() -> None:
    state = in_channel()
    event = only(feed(state, ":carol!c@c.host JOIN #chan"), Joined)
    assert not event.self
    assert (event.user, event.host, event.account, event.realname) == ("c", "c.host", None, None)
    assert "carol" in state.channels["#chan"].members
    assert state.users["carol"].host == "c.host"


def test_extended_join_carries_account_and_realname() -> None:
    state = in_channel()
    event = only(feed(state, ":carol!c@h JOIN #chan carolacct :Carol C"), Joined)
    assert (event.account, event.realname) == ("carolacct", "Carol C")
    assert state.users["carol"].account == "carolacct"
    assert state.users["carol"].realname == "Carol C"
    event = only(feed(state, ":dave!d@h JOIN #chan * :Dave"), Joined)
    assert event.account is None and state.users["dave"].account is None


def test_account_tag_on_join() -> None:
    state = in_channel()
    feed(state, "@account=erin :erin!e@h JOIN #chan")
    assert state.users["erin"].account == "erin"


def test_join_of_a_channel_we_are_not_in_is_ignored() -> None:
    state = in_channel()
    assert feed(state, ":carol!c@h JOIN #elsewhere") == []
    assert "carol" not in state.users


def test_our_rejoin_starts_a_fresh_channel() -> None:
    state = in_channel()
    feed(state, ":me!u@h JOIN #chan")
    assert list(state.channels["#chan"].members) == ["me"]


def test_join_with_other_case_finds_the_channel() -> None:
    state = in_channel("#Chan[x]")
    only(feed(state, ":carol!c@h JOIN #CHAN{X}"), Joined)
    assert "carol" in state.channels["#chan[x]"].members


def test_part_of_another_user() -> None:
    state = in_channel()
    event = only(feed(state, ":bob!b@h PART #chan :bye now"), Parted)
    assert (event.nick, event.reason, event.self) == ("bob", "bye now", False)
    assert "bob" not in state.channels["#chan"].members
    assert "bob" not in state.users


def test_part_keeps_users_seen_elsewhere() -> None:
    state = in_channel()
    feed(state, ":me!u@h JOIN #two", ":srv 353 me = #two :me bob", ":srv 366 me #two :End")
    feed(state, ":bob!b@h PART #chan")
    assert "bob" in state.users
    assert Parted in [type(e) for e in feed(state, ":bob!b@h PART #two")]
    assert "bob" not in state.users


def test_our_part_removes_the_channel_and_its_users() -> None:
    state = in_channel()
    event = only(feed(state, ":me!u@h PART #chan"), Parted)
    assert event.self and event.reason is None
    assert "#chan" not in state.channels
    assert list(state.users) == ["me"]


def test_part_of_unknown_channel_is_ignored() -> None:
    assert feed(in_channel(), ":bob!b@h PART #nope") == []


def test_kick_of_another_user() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h KICK #chan bob :behave"), Kicked)
    assert (event.nick, event.by, event.reason, event.self) == ("bob", "alice", "behave", False)
    assert "bob" not in state.channels["#chan"].members


def test_kick_of_ourselves_removes_the_channel() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h KICK #chan ME :out"), Kicked)
    assert event.self
    assert "#chan" not in state.channels
    assert "alice" not in state.users


def test_quit_removes_the_user_from_every_channel() -> None:
    state = in_channel()
    feed(state, ":me!u@h JOIN #two", ":srv 353 me = #two :me @bob", ":srv 366 me #two :End")
    feed(state, ":me!u@h JOIN #three", ":srv 353 me = #three :me", ":srv 366 me #three :End")
    event = only(feed(state, ":bob!b@h QUIT :Ping timeout"), Quit)
    assert event.channels == ("#chan", "#two")
    assert (event.reason, event.self) == ("Ping timeout", False)
    assert all("bob" not in c.members for c in state.channels.values())
    assert "bob" not in state.users


def test_quit_of_an_unknown_user_has_no_channels() -> None:
    event = only(feed(in_channel(), ":zed!z@h QUIT"), Quit)
    assert event.channels == () and event.reason is None


def test_our_quit_clears_everything() -> None:
    state = in_channel()
    event = only(feed(state, ":me!u@h QUIT :Client quit"), Quit)
    assert event.self and event.channels == ("#chan",)
    assert len(state.channels) == 0 and list(state.users) == ["me"]


def test_names_with_multi_prefix() -> None:
    state = registered()
    events = feed(
        state,
        ":me!u@h JOIN #chan",
        ":srv 353 me = #chan :~@me @+alice +bob",
        ":srv 353 me = #chan :%carol dave",
        ":srv 366 me #chan :End of /NAMES list.",
    )
    names = events[-1]
    assert isinstance(names, NamesReply)
    assert names.members == (
        NamesEntry("me", "qo", "~@"),
        NamesEntry("alice", "ov", "@+"),
        NamesEntry("bob", "v", "+"),
        NamesEntry("carol", "h", "%"),
        NamesEntry("dave", "", ""),
    )
    assert state.prefixes("#chan", "alice") == "@+"
    assert state.prefixes("#chan", "nobody") == ""
    assert state.prefixes("#nowhere", "alice") == ""


def test_names_with_userhost_in_names() -> None:
    state = registered()
    feed(
        state,
        ":me!u@h JOIN #chan",
        ":srv 353 me = #chan :@me!u@h +alice!~al@alice.host bob!b@1.2.3.4",
        ":srv 366 me #chan :End",
    )
    assert state.channels["#chan"].members["alice"] == "v"
    assert (state.users["alice"].user, state.users["alice"].host) == ("~al", "alice.host")
    assert state.users["bob"].host == "1.2.3.4"


def test_a_names_refresh_replaces_the_member_list() -> None:
    state = in_channel()
    feed(state, ":srv 353 me = #chan :@me alice", ":srv 366 me #chan :End")
    members = state.channels["#chan"].members
    assert dict(members) == {"me": "o", "alice": ""}
    assert "bob" not in state.users


def test_names_of_another_channel_is_shown_not_kept() -> None:
    state = in_channel()
    reply = only(feed(state, ":srv 353 me = #other :x y"), ServerReply)
    assert reply.params == ("=", "#other", "x y")
    assert "x" not in state.users
    assert feed(state, ":srv 366 me #other :End") == []
