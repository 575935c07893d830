"""PRIVMSG, NOTICE, ACTION, CTCP, queries, echo-message, STATUSMSG, tags."""

from __future__ import annotations

from backchannel.state.events import (
    Action,
    CtcpReply,
    CtcpRequest,
    Notice,
    Privmsg,
    QueryOpened,
)
from tests.state.support import feed, in_channel, only, registered


def test_channel_message() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@a.host PRIVMSG #CHAN :hello all"), Privmsg)
    assert (event.target, event.nick, event.user, event.host) == ("#chan", "alice", "a", "a.host")
    assert (event.text, event.self, event.server, event.status) == ("hello all", False, False, "")
    assert len(state.queries) == 0
    assert state.users["alice"].host == "a.host"  # learnt from the source


def test_private_message_opens_a_query_once() -> None:
    state = registered()
    events = feed(state, ":bob!b@h PRIVMSG me :psst")
    assert [type(e) for e in events] == [QueryOpened, Privmsg]
    opened, message = events
    assert isinstance(opened, QueryOpened) and opened.nick == "bob"
    assert isinstance(message, Privmsg) and message.target == "bob"
    assert "BOB" in state.queries
    assert [type(e) for e in feed(state, ":Bob!b@h PRIVMSG me :again")] == [Privmsg]


def test_private_notice_opens_a_query() -> None:
    state = registered()
    events = feed(state, ":NickServ!NickServ@services. NOTICE me :This nickname is registered")
    assert [type(e) for e in events] == [QueryOpened, Notice]
    assert "nickserv" in state.queries


def test_echoed_channel_message_is_ours() -> None:
    state = in_channel()
    event = only(feed(state, ":me!u@h PRIVMSG #chan :my words"), Privmsg)
    assert event.self and event.target == "#chan"


def test_echoed_private_message_targets_the_recipient() -> None:
    state = registered()
    events = feed(state, "@msgid=abc :me!u@h PRIVMSG carol :hi carol")
    assert [type(e) for e in events] == [QueryOpened, Privmsg]
    event = events[1]
    assert isinstance(event, Privmsg)
    assert event.self and event.target == "carol" and event.nick == "me" and event.msgid == "abc"
    assert "carol" in state.queries


def test_action() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h PRIVMSG #chan :\x01ACTION waves\x01"), Action)
    assert event.text == "waves" and event.kind == "action"


def test_action_without_final_delimiter_in_private() -> None:
    state = registered()
    events = feed(state, ":bob!b@h PRIVMSG me :\x01ACTION shrugs")
    assert isinstance(events[-1], Action) and events[-1].text == "shrugs"
    assert "bob" in state.queries


def test_ctcp_request_does_not_open_a_query() -> None:
    state = registered()
    event = only(feed(state, ":bob!b@h PRIVMSG me :\x01VERSION\x01"), CtcpRequest)
    assert (event.command, event.text, event.target) == ("VERSION", "", "bob")
    event = only(feed(state, ":bob!b@h PRIVMSG me :\x01PING 123\x01"), CtcpRequest)
    assert (event.command, event.text) == ("PING", "123")
    assert len(state.queries) == 0


def test_ctcp_reply_in_notice() -> None:
    state = registered()
    event = only(feed(state, ":bob!b@h NOTICE me :\x01VERSION irssi 1.4\x01"), CtcpReply)
    assert (event.command, event.text) == ("VERSION", "irssi 1.4")
    assert len(state.queries) == 0


def test_server_notices() -> None:
    state = registered()
    event = only(feed(state, ":irc.example.net NOTICE * :*** Looking up your hostname"), Notice)
    assert event.server and event.target == "irc.example.net" and not event.self
    event = only(feed(state, "NOTICE me :no source at all"), Notice)
    assert event.server and event.target == "srv"  # the server named in 001
    event = only(feed(state, ":srv NOTICE me :from the server we registered with"), Notice)
    assert event.server and event.target == "srv"
    assert len(state.queries) == 0


def test_statusmsg_target() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h NOTICE @#chan :ops only"), Notice)
    assert event.target == "#chan" and event.status == "@"
    message = only(feed(state, ":alice!a@h PRIVMSG +#chan :voices"), Privmsg)
    assert message.target == "#chan" and message.status == "+"


def test_account_tag_is_kept_and_learnt() -> None:
    state = in_channel()
    event = only(feed(state, "@account=alice_a :alice!a@h PRIVMSG #chan :hi"), Privmsg)
    assert event.account == "alice_a"
    assert state.users["alice"].account == "alice_a"
    event = only(feed(state, ":alice!a@h PRIVMSG #chan :hi"), Privmsg)
    assert event.account is None
    assert state.users["alice"].account == "alice_a"  # no tag: nothing learnt


def test_message_for_unknown_channel_still_reported() -> None:
    state = in_channel()
    event = only(feed(state, ":x!x@h PRIVMSG #other :hi"), Privmsg)
    assert event.target == "#other"


def test_malformed_messages_are_ignored() -> None:
    state = registered()
    assert feed(state, ":a!b@c PRIVMSG #chan", ":a!b@c PRIVMSG", ":a!b@c NOTICE  :x") == []


def test_to_dict() -> None:
    state = in_channel()
    event = only(feed(state, "@msgid=m1 :alice!a@h PRIVMSG #chan :hi"), Privmsg)
    assert event.to_dict() == {
        "kind": "privmsg",
        "time": "2024-05-06T07:08:09.000Z",
        "batch": None,
        "target": "#chan",
        "nick": "alice",
        "user": "a",
        "host": "h",
        "text": "hi",
        "self": False,
        "server": False,
        "status": "",
        "msgid": "m1",
        "account": None,
    }
