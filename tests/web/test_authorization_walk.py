"""Every route, walked as the owner's neighbour, as an anonymous visitor and as
a public-mode guest: nobody gets anything that is not theirs.

The route list comes from the running app's router, so a new route is walked
(and must be classified below) without anyone remembering to add it."""

from __future__ import annotations

import json
import re
from typing import Any

import aiohttp
import pytest

from tests.support.ircclient import IRCClient
from tests.web.api_helpers import ApiClient, eventually, make_world, network_body

__all__ = ["make_world"]  # the fixture, re-exported for pytest

pytestmark = pytest.mark.ircd

# routes anyone may use without a session (everything else must answer 401)
PUBLIC = {
    ("GET", "/"),
    ("GET", "/healthz"),
    ("GET", "/setup"),
    ("GET", "/setup.js"),
    ("GET", "/api/config"),
    ("GET", "/api/setup"),
    ("POST", "/api/setup"),
    ("POST", "/api/login"),
    ("POST", "/api/logout"),  # idempotent: ends the session the request has, if any
    ("POST", "/api/guest"),
    ("GET", "/api/openapi.json"),
}
# the seed API answers its own way (an error triple; ids are per browser session)
SEED = {("GET", "/irc/connect/{server}"), ("POST", "/irc/push/{id}"), ("GET", "/irc/pull/{id}")}
SECRET = "zebrafinch"


def _routes(app: Any) -> list[tuple[str, str]]:
    found = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter") or info.get("prefix")
        if route.method in ("HEAD", "OPTIONS") or path is None or path.startswith("/static"):
            continue
        found.add((route.method, re.sub(r"\{(\w+)(:[^}]*)?\}", r"{\1}", path)))
    return sorted(found)


def _fill(path: str, network: int, session: str) -> str:
    return path.replace("{id}", str(network) if "networks" in path else session)


async def _call(client: ApiClient, method: str, path: str) -> tuple[int, Any]:
    body: dict[str, Any] = {}
    if path.endswith("/send"):
        body = {"target": "#walk", "text": "intruder"}
    elif path.endswith(("/join", "/part")):
        body = {"channel": "#walk"}
    elif path.endswith("/query"):
        body = {"nick": "someone"}
    elif path.endswith("/read"):
        body = {"target": "#walk", "cursor": "1"}
    elif method == "PATCH":
        body = {"nick": "stolen"}
    kw: dict[str, Any] = {"json": body} if method in ("POST", "PATCH") else {}
    params = {"target": "#walk", "q": SECRET, "timeout": "0"} if method == "GET" else None
    async with client.session.request(method, client.url(path), params=params, **kw) as resp:
        if resp.content_type == "text/event-stream":
            # a stream never ends: what it says first is enough (it starts at "now")
            text = (await resp.content.readany()).decode()
        else:
            text = await resp.text()
        return resp.status, text


async def test_every_route_refuses_what_is_not_yours(make_world, ngircd) -> None:
    world = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    owner = await world.user("owner")
    status, created = await owner.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "walkowner", channels=[{"name": "#walk"}]),
    )
    assert status in (200, 201), created
    network = created["id"]
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    try:
        await other.register("walker")
        await other.send("JOIN #walk")

        async def sees_walker() -> bool:  # whoever joined first, both are in #walk
            _, page = await owner.get(
                f"/api/networks/{network}/history", params={"target": "#walk"}
            )
            return any(
                (e["kind"] == "join" and e.get("nick") == "walker")
                or (e["kind"] == "names" and any(m["nick"] == "walker" for m in e["members"]))
                for e in page["events"]
            )

        await eventually(sees_walker, timeout=30)
        await other.send(f"PRIVMSG #walk :the word is {SECRET}")

        async def stored() -> bool:
            _, found = await owner.get("/api/search", params={"q": SECRET})
            return bool(found["results"])

        await eventually(stored)
        _, sessions = await owner.get("/api/sessions")
        owner_session = sessions["sessions"][0]["id"]

        neighbour = await world.user("neighbour")
        anonymous = world.client()
        routes = _routes(world.app)
        assert ("GET", "/api/networks/{id}/history") in routes  # the walk sees the API
        unclassified = []
        for method, path in routes:
            if (method, path) in PUBLIC or (method, path) in SEED:
                continue
            url = _fill(path, network, owner_session)
            # anonymous: 401 everywhere (the WebSocket too)
            status, text = await _call(anonymous, method, url)
            assert status == 401, (method, path, status, text)
            # the neighbour: 404 for the owner's ids, and never the owner's data
            status, text = await _call(neighbour, method, url)
            if "{id}" in path:
                assert status == 404, (method, path, status, text)
            elif status not in (200, 201, 400, 405, 409, 422):
                unclassified.append((method, path, status))
            assert SECRET not in text and "walkowner" not in text, (method, path, text[:200])
        assert not unclassified, unclassified
        # the owner's network was not changed by any of that
        _, mine = await owner.get(f"/api/networks/{network}")
        assert mine["nick"] == "walkowner"
        # the seed API: another browser's ids are invalid
        async with neighbour.session.get(neighbour.url("/irc/pull/0")) as resp:
            assert json.loads(await resp.text()) == ["", "ERROR", "Invalid connection id."]
    finally:
        await other.close()


async def test_a_guest_sees_only_its_own(make_world, ngircd) -> None:
    world = await make_world(public=True, allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    first, second = world.client(), world.client()
    for guest in (first, second):
        status, _ = await guest.post("/api/guest")
        assert status == 201
    status, created = await first.post(
        "/api/networks", network_body(ngircd.host, ngircd.port, "guestone")
    )
    assert status in (200, 201), created
    network = created["id"]
    for method, path in (
        ("GET", f"/api/networks/{network}"),
        ("GET", f"/api/networks/{network}/history"),
        ("POST", f"/api/networks/{network}/send"),
        ("DELETE", f"/api/networks/{network}"),
    ):
        status, text = await _call(second, method, path)
        assert status == 404, (method, path, status, text)
    _, state = await second.get("/api/state")
    assert state["networks"] == []
    async with aiohttp.ClientSession() as plain, plain.get(first.url("/api/state")) as resp:
        assert resp.status == 401
