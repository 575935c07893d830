"""What a user sees and does in their networks' conversations:
``GET /api/state`` (a snapshot to start from, with the cursor to resume the
event stream after) and the commands ``send``, ``join``, ``part`` and
``query``. A command to a network that is not running is 409
``not_connected``. The commands are functions of (app, user id, network id,
validated body), so that other transports (the WebSocket) share them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Literal

from aiohttp import web
from pydantic import BaseModel, Field

from backchannel.protocol.message import ParseError, parse
from backchannel.session.user import NetworkRunner
from backchannel.state.events.messages import QueryOpened
from backchannel.state.network import NetworkState
from backchannel.store.markers import Unread
from backchannel.store.networks import NetworkRecord
from backchannel.web.api_history import local_event, mark_read
from backchannel.web.api_models import JoinBody, PartBody, QueryBody, ReadBody, Route, SendBody
from backchannel.web.api_networks import (
    check_channel_room,
    fold_target,
    network_of,
    owned_network,
    remember_channel,
    runner_of,
)
from backchannel.web.auth import require_user
from backchannel.web.errors import ApiError, read_json
from backchannel.web.keys import HUB, MARKERS, NETWORKS, RUNTIMES
from backchannel.web.limits import charge_lines, check_lines
from backchannel.web.once import HEADER as ONCE_HEADER
from backchannel.web.once import checked_key, run_once

__all__ = [
    "ROUTES",
    "Member",
    "NetworkSnapshot",
    "SendResult",
    "StateSnapshot",
    "TargetView",
    "join_channel",
    "open_query",
    "part_channel",
    "running_network",
    "send_message",
]

_ACTION = "/me "
Kind = Literal["channel", "query", "server"]


class Member(BaseModel):
    nick: str
    prefixes: str = Field(examples=["@"])


class TargetView(BaseModel):
    name: str = Field(description='"" for the network\'s own buffer')
    type: Kind
    joined: bool = Field(description="false for a stored channel while not connected")
    topic: str
    members: list[Member]
    unread: int
    mentions: int
    marker: str | None = Field(description="the read marker (a cursor); null: none yet")


class NetworkSnapshot(BaseModel):
    id: int
    name: str
    enabled: bool
    status: dict[str, object] | None = Field(description="the last `status` event, if any")
    nick: str
    targets: list[TargetView]


class StateSnapshot(BaseModel):
    cursor: str = Field(description="resume the event stream after this cursor")
    networks: list[NetworkSnapshot]
    storage_error: str | None = Field(
        default=None,
        description="why new events cannot be stored right now (they are kept and retried)",
    )


class SendResult(BaseModel):
    ok: bool
    lines: int = Field(description="IRC lines queued")


# --- the snapshot ------------------------------------------------------------------

Counts = dict[tuple[int, str], Unread]


def _members(state: NetworkState, channel: str) -> list[Member]:
    prefix = state.isupport.prefix
    members = [
        Member(nick=nick, prefixes=prefix.prefixes_of(modes))
        for nick, modes in state.channels[channel].members.items()
    ]
    rank = {p: i for i, p in enumerate(prefix.prefixes)}
    members.sort(key=lambda m: (rank.get(m.prefixes[:1], len(rank)), m.nick.lower()))
    return members


class _Targets:
    def __init__(self, record: NetworkRecord, runner: NetworkRunner | None, counts: Counts):
        self.record, self.runner, self.counts = record, runner, counts
        self.views: list[TargetView] = []
        self.seen: set[str] = set()

    def add(
        self, name: str, kind: Kind, joined: bool, topic: str = "", members: Sequence[Member] = ()
    ) -> None:
        key = fold_target(self.runner, name)
        if key in self.seen:
            return
        self.seen.add(key)
        count = self.counts.get((self.record.id, key))
        self.views.append(
            TargetView(
                name=name,
                type=kind,
                joined=joined,
                topic=topic,
                members=list(members),
                unread=count.unread if count else 0,
                mentions=count.mentions if count else 0,
                marker=str(count.marker) if count and count.marker else None,
            )
        )


def _snapshot(app: web.Application, record: NetworkRecord, counts: Counts) -> NetworkSnapshot:
    runner = runner_of(app, record.user_id, record.id)
    targets = _Targets(record, runner, counts)
    targets.add("", "server", runner is not None)
    nick = str(record.config.get("nick", ""))
    if runner is not None:
        state = runner.client.state
        nick = state.me.nick
        for channel in list(state.channels.values()):
            targets.add(channel.name, "channel", True, channel.topic, _members(state, channel.name))
        for query in list(state.queries.values()):
            targets.add(query.nick, "query", True)
    for channel in record.config.get("channels") or ():
        targets.add(str(channel.get("name", "")), "channel", False)
    for (network_id, key), count in counts.items():
        if network_id == record.id and count.unread:  # e.g. a query from before a restart
            targets.add(key, "channel" if key[:1] in "#&+!" else "query", False)
    return NetworkSnapshot(
        id=record.id,
        name=record.name,
        enabled=record.enabled,
        status=runner.status if runner is not None and runner.status else None,
        nick=nick,
        targets=targets.views,
    )


async def get_state(request: web.Request) -> web.StreamResponse:
    user = await require_user(request)
    app = request.app
    # the cursor first: what happens while the snapshot is built comes again, never lost
    cursor = (await app[HUB].for_user(user.id)).latest
    records = await app[NETWORKS].list(user.id)
    counts = {(u.network_id, u.target_key): u for u in await app[MARKERS].unread(user.id)}
    runtime = app[RUNTIMES].get(user.id)
    snapshot = StateSnapshot(
        cursor=str(cursor),
        networks=[_snapshot(app, r, counts) for r in records],
        storage_error=runtime.store_error if runtime else None,
    )
    return web.json_response(snapshot.model_dump(mode="json"))


# --- commands (also for other transports: each raises ApiError) ---------------------


async def running_network(
    app: web.Application, user_id: int, network_id: object
) -> tuple[NetworkRecord, NetworkRunner]:
    """The user's network and its engine: 404 when not theirs, 409
    ``not_connected`` when it is not running."""
    record = await network_of(app, user_id, network_id)
    runner = runner_of(app, user_id, record.id)
    if runner is None:
        raise ApiError(409, "not_connected", "the network is not connected; connect it first")
    return record, runner


async def send_message(
    app: web.Application, user_id: int, network_id: object, body: SendBody
) -> SendResult:
    record, runner = await running_network(app, user_id, network_id)
    client = runner.client
    check_lines(app, user_id)
    if body.raw is not None:
        if any(ch in body.raw for ch in "\r\n\0"):
            raise ApiError(400, "bad_line", "a raw line cannot contain CR, LF or NUL")
        await check_channel_room(app, user_id, record.id, _raw_joins(body.raw))
        try:
            client.send_raw(body.raw)
        except ValueError as exc:
            raise ApiError(400, "bad_line", str(exc)) from None
        charge_lines(app, user_id, 1)
        return SendResult(ok=True, lines=1)
    assert body.target is not None and body.text is not None
    text, action = body.text, False
    if text.startswith(_ACTION) and not body.notice:
        text, action = text[len(_ACTION) :], True
    try:
        lines = client.say(body.target, text, action=action, notice=body.notice)
    except ValueError as exc:
        if "too many lines" in str(exc):
            raise ApiError(429, "queue_full", str(exc)) from None
        raise ApiError(422, "invalid", str(exc)) from None
    if lines == 0:
        raise ApiError(422, "invalid", "text: nothing to send")
    charge_lines(app, user_id, lines)
    return SendResult(ok=True, lines=lines)


def _raw_joins(line: str) -> list[str]:
    """The channels a raw ``JOIN`` line asks for (none for ``JOIN 0``, which parts all)."""
    try:
        message = parse(line)
    except ParseError:
        return []
    if message.command != "JOIN" or not message.params or message.params[0] == "0":
        return []
    return [name for name in message.params[0].split(",") if name]


async def join_channel(
    app: web.Application, user_id: int, network_id: object, body: JoinBody
) -> None:
    """JOIN, and keep the channel in the stored settings (joined at start)."""
    record, runner = await running_network(app, user_id, network_id)
    if not runner.client.state.is_channel(body.channel):
        raise ApiError(422, "invalid", f"channel: not a channel name: {body.channel!r}")
    check_lines(app, user_id)
    await check_channel_room(app, user_id, record.id, [body.channel])
    runner.client.join(body.channel, body.key)
    charge_lines(app, user_id, 1)
    await remember_channel(app, record, body.channel, body.key, keep=True)


async def part_channel(
    app: web.Application, user_id: int, network_id: object, body: PartBody
) -> None:
    record, runner = await running_network(app, user_id, network_id)
    check_lines(app, user_id)
    line = f"PART {body.channel} :{body.reason}" if body.reason else f"PART {body.channel}"
    runner.client.send_raw(line)
    charge_lines(app, user_id, 1)
    await remember_channel(app, record, body.channel, None, keep=False)


async def open_query(
    app: web.Application, user_id: int, network_id: object, body: QueryBody
) -> str:
    """Open a private conversation: it is in the state (and ``/api/state``)
    at once, and a ``query`` event tells the user's other sessions."""
    _record, runner = await running_network(app, user_id, network_id)
    client = runner.client
    if client.state.is_channel(body.nick):
        raise ApiError(422, "invalid", f"nick: {body.nick!r} is a channel name")
    if client.state.open_query(body.nick):
        client.emit(QueryOpened(time=datetime.now(UTC), nick=body.nick))
    return body.nick


async def close_query(
    app: web.Application, user_id: int, network_id: object, body: QueryBody
) -> None:
    """Close a private conversation: it is marked read and leaves the state
    (and ``/api/state``); a ``query_closed`` event tells the user's other
    sessions. Its history is kept, and a new message opens it again."""
    record = await network_of(app, user_id, network_id)
    runner = runner_of(app, user_id, record.id)
    if runner is not None and runner.client.state.is_channel(body.nick):
        raise ApiError(422, "invalid", f"nick: {body.nick!r} is a channel: part it instead")
    latest = (await app[HUB].for_user(user_id)).latest
    if latest:
        await mark_read(app, user_id, record.id, ReadBody(target=body.nick, cursor=str(latest)))
    if runner is not None:
        runner.client.state.close_query(body.nick)
    key = fold_target(runner, body.nick)
    event = local_event(user_id, record.id, body.nick, key, "query_closed", nick=body.nick)
    await (await app[RUNTIMES].for_user(user_id)).store_and_publish([event])


async def send(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    key = checked_key(request.headers.get(ONCE_HEADER))  # a retry is sent once
    body = await read_json(request, SendBody)
    result = await run_once(
        request.app, user.id, key, lambda: send_message(request.app, user.id, record.id, body)
    )
    return web.json_response(result.model_dump())


async def join(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    await join_channel(request.app, user.id, record.id, await read_json(request, JoinBody))
    return web.json_response({"ok": True})


async def part(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    await part_channel(request.app, user.id, record.id, await read_json(request, PartBody))
    return web.json_response({"ok": True})


async def close(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    await close_query(request.app, user.id, record.id, await read_json(request, QueryBody))
    return web.json_response({"ok": True})


async def query(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    body = await read_json(request, QueryBody)
    target = await open_query(request.app, user.id, record.id, body)
    return web.json_response({"ok": True, "target": target})


_ONE = "/api/networks/{id:\\d+}"
ROUTES: list[Route] = [
    ("GET", "/api/state", get_state),
    ("POST", _ONE + "/send", send),
    ("POST", _ONE + "/join", join),
    ("POST", _ONE + "/part", part),
    ("POST", _ONE + "/query", query),
    ("POST", _ONE + "/close", close),
]
