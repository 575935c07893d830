"""The v1 REST API: networks, commands, history, search, read markers, the
state snapshot and the OpenAPI document. ``add_api_routes(app)`` registers
them all; every route but ``/api/openapi.json`` needs a logged-in user
(:func:`backchannel.web.auth.require_user`), and any error is answered as
``{"error": {"code", "message"}}``."""

from __future__ import annotations

from aiohttp import web

from backchannel.web import api_history, api_networks, api_state
from backchannel.web.api_models import Route
from backchannel.web.openapi import openapi_document

__all__ = ["API_ROUTES", "add_api_routes"]


async def openapi_json(request: web.Request) -> web.StreamResponse:
    return web.json_response(openapi_document())


API_ROUTES: tuple[Route, ...] = (
    *api_networks.ROUTES,
    *api_state.ROUTES,
    *api_history.ROUTES,
    ("GET", "/api/openapi.json", openapi_json),
)


def add_api_routes(app: web.Application) -> None:
    for method, path, handler in API_ROUTES:
        app.router.add_route(method, path, handler)
