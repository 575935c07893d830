"""NICK, AWAY, ACCOUNT, CHGHOST, SETNAME and user details from replies."""

from __future__ import annotations

from backchannel.state.events import (
    AccountChanged,
    AwayChanged,
    HostChanged,
    NickChanged,
    RealnameChanged,
    ServerReply,
)
from tests.state.support import feed, in_channel, only


def test_nick_of_another_user_across_channels() -> None:
    state = in_channel()
    feed(state, ":me!u@h JOIN #two", ":srv 353 me = #two :me @alice", ":srv 366 me #two :End")
    event = only(feed(state, ":alice!a@h NICK alicia"), NickChanged)
    assert (event.old, event.new, event.self) == ("alice", "alicia", False)
    assert event.channels == ("#chan", "#two")
    assert state.channels["#chan"].members["alicia"] == "v"
    assert state.channels["#two"].members["alicia"] == "o"
    assert "alice" not in state.channels["#two"].members
    assert "alice" not in state.users and state.users["alicia"].nick == "alicia"


def test_our_nick_change() -> None:
    state = in_channel()
    event = only(feed(state, ":me!u@h NICK :me2"), NickChanged)
    assert event.self and event.channels == ("#chan",)
    assert state.nick == "me2" and state.me.nick == "me2"
    assert state.is_me("ME2") and not state.is_me("me")
    assert state.channels["#chan"].members["me2"] == "o"
    assert state.users["me2"] is state.me


def test_nick_case_change_keeps_the_new_spelling() -> None:
    state = in_channel()
    feed(state, ":bob!b@h NICK Bob")
    assert list(state.channels["#chan"].members) == ["me", "alice", "Bob"]
    assert state.users["bob"].nick == "Bob"


def test_nick_renames_a_query() -> None:
    state = in_channel()
    feed(state, ":bob!b@h PRIVMSG me :hi")
    feed(state, ":bob!b@h NICK robert")
    assert "bob" not in state.queries
    assert state.queries["robert"].nick == "robert"


def test_away_notify() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h AWAY :Gone fishing"), AwayChanged)
    assert (event.nick, event.message, event.self) == ("alice", "Gone fishing", False)
    assert event.reply is False  # an away-notify change
    assert state.users["alice"].away == "Gone fishing"
    event = only(feed(state, ":alice!a@h AWAY"), AwayChanged)
    assert event.message is None and state.users["alice"].away is None


def test_away_reply_301() -> None:
    state = in_channel()
    event = only(feed(state, ":srv 301 me alice :At lunch"), AwayChanged)
    assert event.message == "At lunch" and state.users["alice"].away == "At lunch"
    assert event.reply is True
    event = only(feed(state, ":srv 301 me stranger :Away"), AwayChanged)
    assert "stranger" not in state.users


def test_our_away_305_306() -> None:
    state = in_channel()
    event = only(feed(state, ":srv 306 me :You have been marked as being away"), AwayChanged)
    assert event.self and event.message == "" and state.me.away == ""
    event = only(feed(state, ":srv 305 me :You are no longer marked as being away"), AwayChanged)
    assert event.message is None and state.me.away is None


def test_account_notify() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h ACCOUNT alice_acct"), AccountChanged)
    assert event.account == "alice_acct" and state.users["alice"].account == "alice_acct"
    event = only(feed(state, ":alice!a@h ACCOUNT *"), AccountChanged)
    assert event.account is None and state.users["alice"].account is None


def test_our_login_900_901() -> None:
    state = in_channel()
    event = only(
        feed(state, ":srv 900 me me!~me@cloaked/me myacct :You are now logged in as myacct"),
        AccountChanged,
    )
    assert event.self and event.account == "myacct"
    assert (state.me.account, state.me.user, state.me.host) == ("myacct", "~me", "cloaked/me")
    feed(state, ":srv 901 me me!~me@cloaked/me :You are now logged out")
    assert state.me.account is None


def test_chghost() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@old.host CHGHOST newuser new.host"), HostChanged)
    assert (event.nick, event.user, event.host) == ("alice", "newuser", "new.host")
    assert (state.users["alice"].user, state.users["alice"].host) == ("newuser", "new.host")


def test_visible_host_396() -> None:
    state = in_channel()
    event = only(feed(state, ":srv 396 me my.cloak :is now your displayed host"), HostChanged)
    assert event.self and event.host == "my.cloak" and state.me.host == "my.cloak"
    feed(state, ":srv 396 me ident@other.cloak :is now your displayed user@host")
    assert (state.me.user, state.me.host) == ("ident", "other.cloak")


def test_setname() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h SETNAME :Alice Liddell"), RealnameChanged)
    assert event.realname == "Alice Liddell" and state.users["alice"].realname == "Alice Liddell"


def test_whois_user_311_updates_and_is_shown() -> None:
    state = in_channel()
    reply = only(feed(state, ":srv 311 me alice ~al alice.host * :Alice A"), ServerReply)
    assert reply.code == "311" and reply.params[0] == "alice"
    user = state.users["alice"]
    assert (user.user, user.host, user.realname) == ("~al", "alice.host", "Alice A")


def test_who_reply_352_updates_away_and_realname() -> None:
    state = in_channel()
    feed(state, ":srv 352 me #chan ~b b.host srv bob G :0 Bob B")
    bob = state.users["bob"]
    assert (bob.user, bob.host, bob.realname, bob.away) == ("~b", "b.host", "Bob B", "")
    feed(state, ":srv 352 me #chan ~b b.host srv bob H@ :0 Bob B")
    assert bob.away is None
