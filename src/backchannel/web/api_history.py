"""Scrollback: a conversation's history in pages (``/history``), full-text
search (``/api/search``) and read markers (``/read``). Events are the stored
JSON objects, each with its ``cursor`` (a decimal string)."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web
from pydantic import BaseModel, Field

from backchannel.state.events.base import jsonable
from backchannel.store.events import NewEvent, StoredEvent
from backchannel.web.api_models import ReadBody, Route, parse_cursor, parse_limit
from backchannel.web.api_networks import fold_target, network_of, owned_network, runner_of
from backchannel.web.auth import require_user
from backchannel.web.errors import ApiError, read_json
from backchannel.web.keys import EVENTS, HUB, MARKERS, NETWORKS, RUNTIMES

__all__ = ["ROUTES", "HistoryPage", "ReadResult", "SearchResults", "mark_read"]

Event = dict[str, object]  # a stored event: see docs/events.md
MAX_QUERY = 500


class HistoryPage(BaseModel):
    events: list[Event] = Field(description="oldest first")
    before: str | None = Field(description="before= for the older page; null: nothing older")
    after: str | None = Field(description="after= for the newer page")


class SearchResults(BaseModel):
    results: list[Event] = Field(description="newest first")


class ReadResult(BaseModel):
    target: str
    marker: str = Field(description="the marker now (a cursor; it never moves back)")


def _events_json(events: list[StoredEvent]) -> str:
    return "[" + ",".join(e.data_json for e in events) + "]"


def _text(value: str | None) -> str:
    return "null" if value is None else f'"{value}"'  # cursors: digits only


def _cursors(request: web.Request) -> tuple[int | None, int | None]:
    before = parse_cursor(request.query.get("before"), "before")
    after = parse_cursor(request.query.get("after"), "after")
    if before is not None and after is not None:
        raise ApiError(400, "bad_cursor", "give before or after, not both")
    return before, after


async def history(request: web.Request) -> web.StreamResponse:
    """A page of one conversation, oldest first: the newest ``limit`` events
    (before ``before``), or the oldest ``limit`` after ``after``."""
    user, record = await owned_network(request)
    target = request.query.get("target", "")
    before, after = _cursors(request)
    limit = parse_limit(request.query.get("limit"))
    key = fold_target(runner_of(request.app, user.id, record.id), target)
    events = await request.app[EVENTS].history(
        user.id, record.id, key, before=before, after=after, limit=limit
    )
    if after is None:
        # paging back: a short page is the beginning of the conversation
        older = str(events[0].cursor) if len(events) == limit else None
    else:
        older = str(events[0].cursor) if events else str(after + 1)
    if events:
        newer: str | None = str(events[-1].cursor)
    elif after is not None:
        newer = str(after)
    else:
        newer = str(before - 1) if before is not None else None
    body = f'{{"events":{_events_json(events)},"before":{_text(older)},"after":{_text(newer)}}}'
    return web.Response(text=body, content_type="application/json")


async def search(request: web.Request) -> web.StreamResponse:
    """Full-text search of the user's events, newest first, optionally in
    one network, one conversation (``target``, folded like the history's),
    from one nick, and before or after a cursor."""
    user = await require_user(request)
    app = request.app
    query = request.query
    text = query.get("q", "").strip()
    if not text:
        raise ApiError(400, "bad_query", "q: give the words to search for")
    if len(text) > MAX_QUERY:
        raise ApiError(400, "bad_query", f"q: at most {MAX_QUERY} characters")
    network_id: int | None = None
    runner = None
    network = query.get("network", "")
    if network:
        found = None
        if network.isascii() and network.isdigit() and len(network) <= 18:
            found = await app[NETWORKS].get(user.id, int(network))
        if found is None:
            raise ApiError(404, "not_found", "no such network")
        network_id = found.id
        runner = runner_of(app, user.id, found.id)
    target = query.get("target")
    before, after = _cursors(request)
    events = await app[EVENTS].search(
        user.id,
        text,
        network_id=network_id,
        target_key=None if target is None else fold_target(runner, target),
        nick=query.get("nick") or None,
        before=before,
        after=after,
        limit=parse_limit(query.get("limit")),
    )
    return web.Response(
        text=f'{{"results":{_events_json(events)}}}', content_type="application/json"
    )


def local_event(
    user_id: int, network_id: int, target: str, target_key: str, kind: str, **fields: str
) -> NewEvent:
    """An event the user caused here rather than IRC (a read marker, a closed
    query), to store and publish like the others."""
    now = str(jsonable(datetime.now(UTC)))
    return NewEvent(
        user_id=user_id,
        network_id=network_id,
        target=target,
        target_key=target_key,
        kind=kind,
        time=now,
        nick="",
        text="",
        data={"kind": kind, "time": now, "batch": None, **fields},
    )


async def mark_read(
    app: web.Application, user_id: int, network_id: object, body: ReadBody
) -> ReadResult:
    """Move a conversation's read marker forward; when it moved, a ``read``
    event is stored and then published, so the user's other sessions follow."""
    record = await network_of(app, user_id, network_id)
    cursor = parse_cursor(body.cursor)
    if cursor is None:
        raise ApiError(400, "bad_cursor", "cursor: give the cursor of the last event read")
    hub = await app[HUB].for_user(user_id)
    if cursor > hub.latest:
        raise ApiError(400, "bad_cursor", "cursor: there is no such event yet")
    key = fold_target(runner_of(app, user_id, record.id), body.target)
    marker = await app[MARKERS].set(user_id, record.id, key, cursor)
    if marker == cursor:
        event = local_event(user_id, record.id, body.target, key, "read", cursor_read=str(cursor))
        # persist, then publish, in order with the user's other events
        await (await app[RUNTIMES].for_user(user_id)).store_and_publish([event])
    return ReadResult(target=body.target, marker=str(marker))


async def read(request: web.Request) -> web.StreamResponse:
    user, record = await owned_network(request)
    body = await read_json(request, ReadBody)
    result = await mark_read(request.app, user.id, record.id, body)
    return web.json_response(result.model_dump())


_ONE = "/api/networks/{id:\\d+}"
ROUTES: list[Route] = [
    ("GET", _ONE + "/history", history),
    ("POST", _ONE + "/read", read),
    ("GET", "/api/search", search),
]
