"""Channel details: TOPIC and the topic numerics (331/332/333), 329."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from backchannel.protocol.message import Message
from backchannel.state.events import Event, Topic, TopicWhoTime
from backchannel.state.handlers.common import HandlerTable, source_of, timestamp

if TYPE_CHECKING:
    from backchannel.state.network import NetworkState

__all__ = ["HANDLERS"]


def on_topic(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """``:nick TOPIC #chan :new topic`` (an empty topic clears it)."""
    channel = state.channels.get(msg.param(0))
    if channel is None or len(msg.params) < 2:
        return []
    setter = source_of(msg).nick or None
    channel.topic = msg.params[1]
    channel.topic_setter = setter
    channel.topic_time = time
    return [
        Topic(time=time, channel=channel.name, topic=channel.topic, setter=setter, changed=True)
    ]


def on_topic_reply(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """332 ``<client> <channel> :<topic>``; 331 ``<client> <channel> :No topic``."""
    channel = state.channels.get(msg.param(1))
    if channel is None:
        return []
    channel.topic = msg.param(2) if msg.command == "332" else ""
    if msg.command == "331":
        channel.topic_setter = None
        channel.topic_time = None
    return [
        Topic(
            time=time,
            channel=channel.name,
            topic=channel.topic,
            setter=channel.topic_setter,
            changed=False,
        )
    ]


def on_topic_who_time(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """333 ``<client> <channel> <nick or mask> <setat>``."""
    channel = state.channels.get(msg.param(1))
    setter = msg.param(2)
    if channel is None or not setter:
        return []
    channel.topic_setter = setter
    channel.topic_time = timestamp(msg.param(3))
    return [TopicWhoTime(time=time, channel=channel.name, setter=setter, set_at=channel.topic_time)]


def on_creation_time(state: NetworkState, msg: Message, time: datetime) -> list[Event]:
    """329 ``<client> <channel> <creationtime>``: kept, not announced."""
    channel = state.channels.get(msg.param(1))
    if channel is not None:
        channel.created = timestamp(msg.param(2))
    return []


HANDLERS: HandlerTable = {
    "TOPIC": on_topic,
    "331": on_topic_reply,
    "332": on_topic_reply,
    "333": on_topic_who_time,
    "329": on_creation_time,
}
