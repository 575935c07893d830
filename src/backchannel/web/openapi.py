"""The OpenAPI 3.1 description of every ``/api`` route, built from one route
table (:data:`ROUTE_DOCS`, in :mod:`backchannel.web.openapi_routes`) and the
pydantic models of the bodies. Served at ``GET /api/openapi.json`` without
login; a test checks that every ``/api`` route registered on the app is in
it. Prose and examples: ``docs/api.md``."""

from __future__ import annotations

from functools import cache

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from backchannel import __version__
from backchannel.web import api_models as m
from backchannel.web.openapi_routes import ROUTE_DOCS, Param, RouteDoc, Schema

__all__ = ["ROUTE_DOCS", "Param", "RouteDoc", "openapi_document"]

def _body_models() -> list[tuple[type[BaseModel], JsonSchemaMode]]:
    seen: list[tuple[type[BaseModel], JsonSchemaMode]] = [(m.ErrorBody, "serialization")]
    for route in ROUTE_DOCS:
        if route.body is not None and (route.body, "validation") not in seen:
            seen.append((route.body, "validation"))
        response = route.response
        if isinstance(response, type) and (response, "serialization") not in seen:
            seen.append((response, "serialization"))
    return seen


def _operation(route: RouteDoc, refs: dict[tuple[type[BaseModel], str], Schema]) -> Schema:
    op: Schema = {
        "summary": route.summary,
        "tags": [route.tag],
        "operationId": (route.method.lower() + route.path.replace("/", "_"))
        .replace("{", "")
        .replace("}", "")
        .replace(".", "_")
        .replace("-", "_"),
        "security": [{"cookie": []}] if route.login else [],
    }
    if route.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.required,
                "description": p.description,
                "schema": p.schema(),
            }
            for p in route.params
        ]
    if route.body is not None:
        schema = refs[(route.body, "validation")]
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    ok: Schema = {"description": "switching to the WebSocket protocol"}
    if route.response is not None:
        response = route.response
        schema = refs[(response, "serialization")] if isinstance(response, type) else response
        ok = {"description": "success", "content": {route.media: {"schema": schema}}}
    responses: Schema = {str(route.status): ok}
    for status in route.also_ok:
        responses[str(status)] = {**ok, "description": _SUCCESSES.get(status, "success")}
    error = {"content": {"application/json": {"schema": refs[(m.ErrorBody, "serialization")]}}}
    for status in sorted({*route.errors, *_implied_errors(route)}):
        responses[str(status)] = {"description": _ERRORS.get(status, "error"), **error}
    op["responses"] = responses
    return op


def _implied_errors(route: RouteDoc) -> set[int]:
    """What every route of its kind may answer: 401 without a session; 403
    ``cross_site`` for a state-changing request from another site (csrf.py);
    400, 413, 415 and 422 for a body (errors.read_json)."""
    implied = {401} if route.login else set()
    if route.method not in ("GET", "HEAD", "OPTIONS"):
        implied.add(403)
    if route.body is not None:
        implied.update((400, 413, 415, 422))
    return implied


_SUCCESSES = {200: "success: nothing new was made (e.g. the browser's session already exists)"}
_ERRORS = {
    400: "bad request: bad_json, bad_cursor, bad_line...",
    401: "unauthorized: no session",
    403: "forbidden: cross_site (a state-changing request from another site), "
    "target_refused (the server may not be reached)...",
    404: "not_found: no such thing of this user's",
    409: "conflict: e.g. not_connected",
    413: "too_large",
    415: "unsupported_media_type: send application/json",
    422: "invalid: the body does not fit the schema",
    429: "too many: failed logins, queued lines, lines a second, open streams, guests...",
}


@cache
def openapi_document() -> Schema:
    key_map, top = models_json_schema(_body_models(), ref_template="#/components/schemas/{model}")
    refs: dict[tuple[type[BaseModel], str], Schema] = {}
    for (model, mode), schema in key_map.items():
        if isinstance(model, type) and issubclass(model, BaseModel):
            refs[(model, mode)] = schema
    paths: dict[str, Schema] = {}
    for route in ROUTE_DOCS:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Backchannel API",
            "version": __version__,
            "description": "The v1 API of Backchannel, a self-hosted web IRC client. "
            'Errors are {"error": {"code", "message"}}; cursors are decimal strings. '
            "See docs/api.md and docs/events.md.",
        },
        "paths": paths,
        "components": {
            "schemas": top.get("$defs", {}),
            "securitySchemes": {"cookie": {"type": "apiKey", "in": "cookie", "name": "bc_auth"}},
        },
    }
