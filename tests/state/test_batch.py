"""IRCv3 batches: tagging, nesting, and chathistory as history."""

from __future__ import annotations

from backchannel.state.events import BatchEnded, BatchInfo, BatchStarted, Joined, Privmsg, Quit
from tests.state.support import feed, in_channel, only


def test_netsplit_batch_tags_its_quits() -> None:
    state = in_channel()
    start = only(
        feed(state, ":srv BATCH +yXNAbvnRHTRBv netsplit irc.a.net irc.b.net"), BatchStarted
    )
    assert (start.ref, start.type, start.params) == (
        "yXNAbvnRHTRBv",
        "netsplit",
        ("irc.a.net", "irc.b.net"),
    )
    events = feed(
        state,
        "@batch=yXNAbvnRHTRBv :alice!a@h QUIT :irc.a.net irc.b.net",
        "@batch=yXNAbvnRHTRBv :bob!b@h QUIT :irc.a.net irc.b.net",
    )
    info = BatchInfo("yXNAbvnRHTRBv", "netsplit", ("irc.a.net", "irc.b.net"))
    assert [e.batch for e in events] == [info, info]
    assert all(isinstance(e, Quit) for e in events)
    assert list(state.channels["#chan"].members) == ["me"]  # state still changes
    end = only(feed(state, ":srv BATCH -yXNAbvnRHTRBv"), BatchEnded)
    assert end.type == "netsplit" and end.batch is None
    assert state.batches == {}
    after = only(feed(state, "@batch=yXNAbvnRHTRBv :x!x@h PRIVMSG #chan :late"), Privmsg)
    assert after.batch is None


def test_nested_batches() -> None:
    state = in_channel()
    feed(state, ":srv BATCH +outer example.com/outer")
    inner = only(feed(state, "@batch=outer :srv BATCH +inner netjoin a b"), BatchStarted)
    assert inner.batch == BatchInfo("outer", "example.com/outer")
    assert state.batches["inner"].parent == "outer"
    event = only(feed(state, "@batch=inner :carol!c@h JOIN #chan"), Joined)
    assert event.batch == BatchInfo("inner", "netjoin", ("a", "b"), "outer")


def test_chathistory_is_history_not_news() -> None:
    state = in_channel()
    feed(state, ":srv BATCH +h1 chathistory #chan")
    events = feed(
        state,
        "@batch=h1;time=2020-01-01T00:00:00.000Z;msgid=old1 :zed!z@h JOIN #chan",
        "@batch=h1;time=2020-01-01T00:00:01.000Z;msgid=old2;account=zz :zed!z@h PRIVMSG #chan :hi",
        "@batch=h1;msgid=old3 :dave!d@h PRIVMSG me :old private",
        "@batch=h1 :alice!a@h QUIT :gone",
    )
    assert [type(e) for e in events] == [Privmsg, Privmsg]
    first = events[0]
    assert isinstance(first, Privmsg)
    assert first.batch is not None and first.batch.type == "chathistory"
    assert first.msgid == "old2" and first.account == "zz"
    assert first.time.year == 2020
    assert "zed" not in state.users and "zed" not in state.channels["#chan"].members
    assert "alice" in state.channels["#chan"].members
    assert "dave" not in state.queries
    assert not state.replaying
    feed(state, ":srv BATCH -h1")
    events = feed(state, ":dave!d@h PRIVMSG me :live")
    assert "dave" in state.queries


def test_history_inside_a_nested_batch_is_history() -> None:
    state = in_channel()
    feed(state, ":srv BATCH +h chathistory #chan", "@batch=h :srv BATCH +n other")
    assert feed(state, "@batch=n :zed!z@h JOIN #chan") == []


def test_unknown_batch_end_and_malformed_batch() -> None:
    state = in_channel()
    assert feed(state, ":srv BATCH -nope", ":srv BATCH +", ":srv BATCH +x", ":srv BATCH") == []
