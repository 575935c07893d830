"""The OpenAPI document lists every ``/api`` route of the app, is readable
without logging in, and carries the request schemas of the pydantic models;
``docs/api.md`` describes every route too."""

from __future__ import annotations

import re
from pathlib import Path

from backchannel.web.api_models import NetworkCreate, SendBody
from backchannel.web.openapi import ROUTE_DOCS, openapi_document
from tests.web.api_helpers import make_world

__all__ = ["make_world"]

DOCS = Path(__file__).resolve().parents[2] / "docs" / "api.md"


def _app_routes(app) -> set[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        resource = route.resource
        if resource is None or route.method in ("HEAD", "OPTIONS", "*"):
            continue
        path = re.sub(r"\{(\w+):[^}]*\}", r"{\1}", resource.canonical)
        if path.startswith("/api/"):
            found.add((route.method, path))
    return found


async def test_every_api_route_is_in_the_document(make_world):
    world = await make_world()
    routes = _app_routes(world.app)
    assert ("GET", "/api/networks/{id}/history") in routes  # the API is wired in
    anonymous = world.client()
    status, document = await anonymous.get("/api/openapi.json")
    assert status == 200
    assert document["openapi"].startswith("3.1")
    documented = {
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    }
    missing = routes - documented
    assert not missing, f"routes missing from the OpenAPI document: {sorted(missing)}"


def test_request_bodies_come_from_the_models():
    document = openapi_document()
    schemas = document["components"]["schemas"]
    create = document["paths"]["/api/networks"]["post"]
    ref = create["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    name = ref.rsplit("/", 1)[1]
    assert set(schemas[name]["properties"]) == set(NetworkCreate.model_fields)
    assert schemas[name]["additionalProperties"] is False
    send = document["paths"]["/api/networks/{id}/send"]["post"]
    ref = send["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert set(schemas[ref.rsplit("/", 1)[1]]["properties"]) == set(SendBody.model_fields)
    assert document["paths"]["/api/openapi.json"]["get"]["security"] == []
    assert document["paths"]["/api/networks"]["get"]["security"] == [{"cookie": []}]
    assert "401" in document["paths"]["/api/networks"]["get"]["responses"]


def test_docs_describe_every_route():
    text = DOCS.read_text(encoding="utf-8")
    headings = set(re.findall(r"^#+ `?(GET|POST|PATCH|DELETE|PUT) (/api/[^\s`]*)`?", text, re.M))
    missing = {(r.method, r.path) for r in ROUTE_DOCS} - headings
    assert not missing, f"routes without a section in docs/api.md: {sorted(missing)}"
    assert "docs/events.md" in text or "(events.md)" in text
