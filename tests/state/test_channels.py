"""Topics and channel creation time."""

from __future__ import annotations

from datetime import UTC, datetime

from backchannel.state.events import Topic, TopicWhoTime
from tests.state.support import T0, feed, in_channel, only


def test_topic_change() -> None:
    state = in_channel()
    event = only(feed(state, ":alice!a@h TOPIC #chan :New topic here"), Topic)
    assert (event.channel, event.topic, event.setter, event.changed) == (
        "#chan",
        "New topic here",
        "alice",
        True,
    )
    channel = state.channels["#chan"]
    assert (channel.topic, channel.topic_setter, channel.topic_time) == (
        "New topic here",
        "alice",
        T0,
    )


def test_topic_cleared() -> None:
    state = in_channel()
    feed(state, ":alice!a@h TOPIC #chan :something")
    assert only(feed(state, ":alice!a@h TOPIC #chan :"), Topic).topic == ""
    assert state.channels["#chan"].topic == ""


def test_topic_on_join_332_and_333() -> None:
    state = in_channel()
    topic = only(feed(state, ":srv 332 me #chan :Welcome to #chan"), Topic)
    assert (topic.topic, topic.changed, topic.setter) == ("Welcome to #chan", False, None)
    who = only(feed(state, ":srv 333 me #chan alice!a@h 1700000000"), TopicWhoTime)
    assert who.setter == "alice!a@h"
    assert who.set_at == datetime.fromtimestamp(1700000000, UTC)
    channel = state.channels["#chan"]
    assert channel.topic == "Welcome to #chan"
    assert channel.topic_time == datetime.fromtimestamp(1700000000, UTC)


def test_no_topic_331() -> None:
    state = in_channel()
    feed(state, ":alice!a@h TOPIC #chan :old")
    event = only(feed(state, ":srv 331 me #chan :No topic is set"), Topic)
    assert event.topic == "" and not event.changed
    assert state.channels["#chan"].topic_setter is None


def test_bad_333_time() -> None:
    state = in_channel()
    assert only(feed(state, ":srv 333 me #chan alice soon"), TopicWhoTime).set_at is None


def test_topic_for_unknown_channel_is_ignored() -> None:
    state = in_channel()
    assert feed(state, ":a!a@h TOPIC #x :t", ":srv 332 me #x :t", ":srv 333 me #x a 1") == []


def test_creation_time_is_kept_quietly() -> None:
    state = in_channel()
    assert feed(state, ":srv 329 me #chan 1600000000") == []
    assert state.channels["#chan"].created == datetime.fromtimestamp(1600000000, UTC)
