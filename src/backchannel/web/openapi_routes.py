"""The route table of the OpenAPI document (:mod:`backchannel.web.openapi`):
one :class:`RouteDoc` per ``/api`` route, with its parameters, body and
answer models, and the schema fragments they share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from backchannel.web import api_models as m
from backchannel.web.api_history import HistoryPage, ReadResult, SearchResults
from backchannel.web.api_networks import NetworkList, NetworkView
from backchannel.web.api_settings import SettingsBody
from backchannel.web.api_state import SendResult, StateSnapshot

__all__ = ["ROUTE_DOCS", "Param", "RouteDoc", "Schema"]

Schema = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    description: str
    where: Literal["query", "path", "header"] = "query"
    schema_type: str = "string"
    required: bool = False
    pattern: str | None = None
    minimum: float | None = None
    maximum: float | None = None

    def schema(self) -> Schema:
        schema: Schema = {"type": self.schema_type}
        if self.pattern is not None:
            schema["pattern"] = self.pattern
        if self.minimum is not None:
            schema["minimum"] = self.minimum
        if self.maximum is not None:
            schema["maximum"] = self.maximum
        return schema


@dataclass(frozen=True, slots=True)
class RouteDoc:
    method: str
    path: str  # OpenAPI form: /api/networks/{id}
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    response: type[BaseModel] | Schema | None = None
    status: int = 200
    params: tuple[Param, ...] = ()
    errors: tuple[int, ...] = ()
    login: bool = True  # needs a session (401 without)
    media: str = "application/json"
    also_ok: tuple[int, ...] = ()  # other success statuses, with the same body


# a cursor in a query or header: digits ("" is the same as none); one past
# the largest (2**63 - 1) is a 400 like any other bad cursor
_DIGITS = "^[0-9]*$"
_ID = Param("id", "the network's id", "path", "integer", required=True)
_AFTER = Param("after", "a cursor: only events after it (default: the latest)", pattern=_DIGITS)
_PAGE = (
    Param("before", "a cursor: the page before it", pattern=_DIGITS),
    Param("after", "a cursor: the page after it", pattern=_DIGITS),
    Param(
        "limit",
        "events per page, 1 to 1000 (default 100)",
        schema_type="integer",
        minimum=1,
        maximum=1000,
    ),
)
_CURSOR = {"type": "string", "pattern": "^[0-9]+$", "description": "a cursor: decimal digits"}
_EVENT = {
    "type": "object",
    "description": "one event, with its cursor, network and target: see docs/events.md",
    "properties": {"kind": {"type": "string"}, "time": {"type": "string"}, "cursor": _CURSOR},
    "required": ["kind", "time", "cursor"],
}
_EVENTS = {"type": "array", "items": _EVENT}
# OpenAPI 3.1 has no word for event streams: as tools read it, the schema of a
# text/event-stream response describes each event (RFC-style fields), and
# contentMediaType/contentSchema what its data holds
_SSE_EVENT = {
    "type": "object",
    "description": "one Server-Sent Event: id is the event's cursor, data the event",
    "properties": {
        "id": _CURSOR,
        "event": {"type": "string"},
        "data": {"type": "string", "contentMediaType": "application/json", "contentSchema": _EVENT},
        "retry": {"type": "integer"},
    },
}
_USER = {
    "type": "object",
    "properties": {"id": {"type": "integer"}, "name": {"type": "string"}},
    "required": ["id", "name"],
}


def _obj(**props: Schema) -> Schema:
    return {"type": "object", "properties": props, "required": list(props)}


_STR = {"type": "string"}
_INT = {"type": "integer"}
_OK = _obj(ok={"type": "boolean"})
_SESSION = _obj(
    id=_STR,
    created_at=_STR,
    last_seen=_STR,
    address=_STR,
    user_agent=_STR,
    current={"type": "boolean"},
)

ROUTE_DOCS: tuple[RouteDoc, ...] = (
    # --- login and sessions (backchannel.web.auth) ---
    RouteDoc(
        "POST",
        "/api/login",
        "Log in; sets the bc_auth cookie",
        "auth",
        m.LoginBody,
        _obj(user=_USER),
        errors=(400, 401, 422, 429),
        login=False,
    ),
    RouteDoc(
        "POST", "/api/logout", "Log out (ends this session)", "auth", response=_OK, login=False
    ),
    RouteDoc(
        "GET",
        "/api/me",
        "The logged-in user and session",
        "auth",
        response=_obj(user=_USER, session=_STR),
    ),
    RouteDoc(
        "GET",
        "/api/sessions",
        "The user's login sessions",
        "auth",
        response=_obj(sessions={"type": "array", "items": _SESSION}),
    ),
    RouteDoc(
        "POST",
        "/api/sessions/revoke-others",
        "End every other session",
        "auth",
        response=_obj(revoked=_INT),
    ),
    RouteDoc(
        "DELETE",
        "/api/sessions/{id}",
        "End one session",
        "auth",
        response=_obj(revoked=_INT),
        errors=(404,),
        params=(Param("id", "the session's id", "path", required=True),),
    ),
    RouteDoc(
        "GET",
        "/api/settings",
        "The user's preferences (highlight words)",
        "auth",
        response=_obj(highlight_words={"type": "array", "items": _STR}),
    ),
    RouteDoc(
        "PATCH",
        "/api/settings",
        "Change the user's preferences",
        "auth",
        SettingsBody,
        _obj(highlight_words={"type": "array", "items": _STR}),
        errors=(400, 422),
    ),
    RouteDoc(
        "GET",
        "/api/config",
        "The server's mode (public or private), its allowed servers and version",
        "auth",
        response=_obj(mode=_STR, servers={"type": "array", "items": _STR}, version=_STR),
        login=False,
    ),
    RouteDoc(
        "POST",
        "/api/guest",
        "Public mode: start (or resume) this browser's guest session",
        "auth",
        response=_obj(user=_USER),
        status=201,
        also_ok=(200,),
        errors=(404, 429),
        login=False,
    ),
    RouteDoc(
        "GET",
        "/api/setup",
        "Whether the instance still needs its first account",
        "auth",
        response=_obj(needed={"type": "boolean"}),
        login=False,
    ),
    RouteDoc(
        "POST",
        "/api/setup",
        "Create the first account with the console's token",
        "auth",
        m.SetupBody,
        _obj(user=_USER),
        status=201,
        errors=(400, 403, 409, 422),
        login=False,
    ),
    # --- networks ---
    RouteDoc(
        "GET", "/api/networks", "The user's networks, with status", "networks", response=NetworkList
    ),
    RouteDoc(
        "POST",
        "/api/networks",
        "Add a network; it connects at once",
        "networks",
        m.NetworkCreate,
        NetworkView,
        status=201,
        errors=(400, 403, 409, 422),
    ),
    RouteDoc(
        "GET",
        "/api/networks/{id}",
        "One network",
        "networks",
        response=NetworkView,
        params=(_ID,),
        errors=(404,),
    ),
    RouteDoc(
        "PATCH",
        "/api/networks/{id}",
        "Change settings; reconnects",
        "networks",
        m.NetworkPatch,
        NetworkView,
        params=(_ID,),
        errors=(400, 403, 404, 422),
    ),
    RouteDoc(
        "DELETE",
        "/api/networks/{id}",
        "Remove a network (QUIT) and its scrollback",
        "networks",
        response=_OK,
        params=(_ID,),
        errors=(404,),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/connect",
        "Enable and connect",
        "networks",
        response=NetworkView,
        params=(_ID,),
        errors=(404,),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/disconnect",
        "Disconnect (QUIT) and disable",
        "networks",
        response=NetworkView,
        params=(_ID,),
        errors=(404,),
    ),
    # --- commands ---
    RouteDoc(
        "POST",
        "/api/networks/{id}/send",
        "Send text to a conversation, or a raw line",
        "commands",
        m.SendBody,
        SendResult,
        params=(
            _ID,
            Param(
                "Idempotency-Key",
                "any printable text up to 100 characters; a retry with the same key (within "
                "10 minutes) is answered from the first try and sent to IRC once",
                "header",
                pattern=r"^[ -~]{1,100}$",
            ),
        ),
        errors=(400, 404, 409, 422, 429),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/join",
        "Join a channel",
        "commands",
        m.JoinBody,
        _OK,
        params=(_ID,),
        errors=(400, 404, 409, 422, 429),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/part",
        "Leave a channel",
        "commands",
        m.PartBody,
        _OK,
        params=(_ID,),
        errors=(400, 404, 409, 422, 429),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/query",
        "Open a private conversation",
        "commands",
        m.QueryBody,
        _obj(ok={"type": "boolean"}, target=_STR),
        params=(_ID,),
        errors=(400, 404, 409, 422),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/close",
        "Close a private conversation (marked read; its history is kept)",
        "commands",
        m.QueryBody,
        _obj(ok={"type": "boolean"}),
        params=(_ID,),
        errors=(400, 404, 422),
    ),
    # --- scrollback ---
    RouteDoc(
        "GET",
        "/api/networks/{id}/history",
        "A page of a conversation, oldest first",
        "history",
        response=HistoryPage,
        errors=(400, 404),
        params=(_ID, Param("target", 'the conversation ("" or absent: the network)'), *_PAGE),
    ),
    RouteDoc(
        "POST",
        "/api/networks/{id}/read",
        "Move a read marker forward",
        "history",
        m.ReadBody,
        ReadResult,
        params=(_ID,),
        errors=(400, 404, 422),
    ),
    RouteDoc(
        "GET",
        "/api/search",
        "Full-text search, newest first",
        "history",
        response=SearchResults,
        errors=(400, 404),
        params=(
            Param("q", "words to find", required=True),
            Param("network", "a network id", schema_type="integer"),
            Param("target", "a conversation (with network: folded by its rules)"),
            Param("nick", "only messages from this nick"),
            *_PAGE,
        ),
    ),
    # --- state and events ---
    RouteDoc(
        "GET",
        "/api/state",
        "Snapshot of networks and conversations, with a cursor",
        "events",
        response=StateSnapshot,
    ),
    RouteDoc(
        "GET",
        "/api/events",
        "Long-poll: events after a cursor",
        "events",
        response=_obj(events=_EVENTS, cursor=_STR),
        errors=(400, 429),
        params=(
            _AFTER,
            Param(
                "timeout",
                "seconds to wait (at most the poll timeout)",
                schema_type="number",
                minimum=0,
            ),
        ),
    ),
    RouteDoc(
        "GET",
        "/api/events/stream",
        "Server-Sent Events: id is the cursor",
        "events",
        response=_SSE_EVENT,
        media="text/event-stream",
        errors=(400, 429),
        params=(
            _AFTER,
            Param("Last-Event-ID", "resume after this cursor", "header", pattern=_DIGITS),
        ),
    ),
    RouteDoc(
        "GET",
        "/api/ws",
        "WebSocket: events pushed, commands accepted",
        "events",
        status=101,
        params=(_AFTER,),
        errors=(400, 403, 429),
    ),
    RouteDoc(
        "GET",
        "/api/openapi.json",
        "This document",
        "meta",
        response={"type": "object"},
        login=False,
    ),
)
