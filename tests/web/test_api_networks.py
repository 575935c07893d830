"""``/api/networks``: validation, secrets, the SSRF policy, ownership, and
the connection's life (create connects, disconnect/connect, PATCH, DELETE)."""

from __future__ import annotations

from typing import Any

import pytest

from backchannel.web.keys import NETWORKS, RUNTIMES
from tests.web.api_helpers import ApiWorld, eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def _world(make_world: Any, ngircd: Any) -> ApiWorld:
    world: ApiWorld = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    return world


async def _stored(world: ApiWorld) -> list[Any]:
    return await world.app[NETWORKS].list()


async def test_no_session_is_401(make_world, ngircd):
    world = await _world(make_world, ngircd)
    anonymous = world.client()
    for method, path in [
        ("GET", "/api/networks"),
        ("POST", "/api/networks"),
        ("GET", "/api/networks/1"),
        ("PATCH", "/api/networks/1"),
        ("DELETE", "/api/networks/1"),
        ("POST", "/api/networks/1/send"),
        ("GET", "/api/networks/1/history"),
        ("GET", "/api/state"),
        ("GET", "/api/search?q=x"),
    ]:
        status, body = await anonymous.request(method, path)
        assert status == 401, (method, path, body)
        assert body["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "field, value",
    [
        ("nick", "bad\r\nQUIT"),
        ("name", "x\nQUIT"),
        ("realname", "a\rb"),
        ("password", "pw\0x"),
        ("username", "u\nx"),
        ("alt_nicks", ["ok", "b\nad"]),
        ("channels", [{"name": "#ok\r\nQUIT"}]),
        ("channels", [{"name": "#ok", "key": "k\n"}]),
        ("auto_commands", ["PRIVMSG x :a\r\nQUIT"]),
        ("sasl", {"mechanism": "PLAIN", "account": "a\n", "password": "p"}),
        ("host", "irc.example.org\r\n"),
    ],
)
async def test_line_breaks_in_settings_are_refused(make_world, ngircd, field, value):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    body = network_body(ngircd.host, ngircd.port, "crlf")
    body[field] = value
    status, answer = await alice.post("/api/networks", body)
    assert status == 422, answer
    assert answer["error"]["code"] == "invalid"
    assert field in answer["error"]["message"]
    assert await _stored(world) == []


async def test_bad_bodies(make_world, ngircd):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    status, body = await alice.post(
        "/api/networks", data=b"{not json", headers={"Content-Type": "application/json"}
    )
    assert (status, body["error"]["code"]) == (400, "bad_json")
    good = network_body(ngircd.host, ngircd.port, "bodies")
    status, body = await alice.post("/api/networks", {**good, "colour": "red"})
    assert (status, body["error"]["code"]) == (422, "invalid")
    assert "colour" in body["error"]["message"]
    status, body = await alice.post("/api/networks", {**good, "port": "6667"})
    assert status == 422
    status, body = await alice.post("/api/networks", [good])
    assert status == 422
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    status, body = await alice.post("/api/networks", data=b"name=x", headers=form)
    assert status == 415
    status, body = await alice.post("/api/networks", {**good, "sasl": {"mechanism": "PLAIN"}})
    assert status == 422 and "account" in body["error"]["message"]
    assert await _stored(world) == []


async def test_ssrf_policy_refuses_unlisted_private_servers(make_world, ngircd):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    for host, port in [("127.0.0.1", 6667), ("10.1.2.3", 6667), ("localhost", 6697)]:
        status, body = await alice.post("/api/networks", network_body(host, port, "ssrf"))
        assert status == 403, body
        assert body["error"]["code"] == "target_refused"
    status, body = await alice.post("/api/networks", network_body("bad host!", 6667, "x"))
    assert status == 422
    assert await _stored(world) == []


async def test_create_list_patch_delete_without_secrets(make_world, ngircd):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    body = network_body(
        ngircd.host,
        ngircd.port,
        "crud",
        password="server-secret",
        sasl={"mechanism": "PLAIN", "account": "acc", "password": "sasl-secret"},
        channels=[{"name": "#crud", "key": "chan-secret"}],
        auto_commands=["MODE crud +i"],
    )
    status, created = await alice.post("/api/networks", body)
    assert status == 201, created
    text = str(created)
    assert "secret" not in text
    assert created["password_set"] is True
    assert created["sasl"] == {"mechanism": "PLAIN", "account": "acc", "password_set": True}
    assert created["channels"] == [{"name": "#crud", "key_set": True}]
    assert created["enabled"] is True and created["running"] is True
    nid = created["id"]

    status, listed = await alice.get("/api/networks")
    assert status == 200 and "secret" not in str(listed)
    assert [n["id"] for n in listed["networks"]] == [nid]

    # (ngircd has no server password: this network keeps being refused)
    status, one = await alice.get(f"/api/networks/{nid}")
    assert status == 200 and one == {**created, "status": one["status"]}

    # PATCH: a new nick restarts the connection; secrets left out are kept
    status, patched = await alice.request(
        "PATCH",
        f"/api/networks/{nid}",
        {"nick": "crud2", "channels": [{"name": "#crud"}, {"name": "#crud2"}],
         "sasl": {"mechanism": "PLAIN", "account": "acc"}},
    )
    assert status == 200, patched
    assert patched["nick"] == "crud2"
    assert patched["channels"] == [
        {"name": "#crud", "key_set": True},
        {"name": "#crud2", "key_set": False},
    ]
    assert patched["sasl"]["password_set"] is True
    stored = (await _stored(world))[0]
    assert stored.config["sasl"]["password"] == "sasl-secret"
    assert stored.config["channels"][0]["key"] == "chan-secret"
    # null clears an optional field; a required one cannot be cleared
    status, patched = await alice.request("PATCH", f"/api/networks/{nid}", {"password": None})
    assert status == 200 and patched["password_set"] is False
    status, bad = await alice.request("PATCH", f"/api/networks/{nid}", {"nick": None})
    assert status == 422, bad
    status, bad = await alice.request("PATCH", f"/api/networks/{nid}", {"host": "127.0.0.2"})
    assert (status, bad["error"]["code"]) == (403, "target_refused")

    status, gone = await alice.request("DELETE", f"/api/networks/{nid}")
    assert status == 200 and gone == {"ok": True}
    assert await _stored(world) == []
    assert world.app[RUNTIMES].status(stored.user_id, nid) is None
    status, _ = await alice.get(f"/api/networks/{nid}")
    assert status == 404


async def test_disconnect_and_connect(make_world, ngircd):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    _s, created = await alice.post("/api/networks", network_body(ngircd.host, ngircd.port, "dc"))
    nid = created["id"]
    status, off = await alice.post(f"/api/networks/{nid}/disconnect")
    assert status == 200 and off["enabled"] is False and off["running"] is False
    status, body = await alice.post(f"/api/networks/{nid}/send", {"raw": "PING x"})
    assert (status, body["error"]["code"]) == (409, "not_connected")
    status, on = await alice.post(f"/api/networks/{nid}/connect")
    assert status == 200 and on["enabled"] is True and on["running"] is True

    async def registered() -> bool:
        _s, one = await alice.get(f"/api/networks/{nid}")
        return (one["status"] or {}).get("state") == "registered"

    await eventually(registered)


async def test_other_users_networks_are_404(make_world, ngircd):
    world = await _world(make_world, ngircd)
    alice = await world.user("alice")
    bob = await world.user("bob")
    _s, created = await alice.post("/api/networks", network_body(ngircd.host, ngircd.port, "own"))
    nid = created["id"]
    for method, path, body in [
        ("GET", f"/api/networks/{nid}", None),
        ("PATCH", f"/api/networks/{nid}", {"nick": "stolen"}),
        ("DELETE", f"/api/networks/{nid}", None),
        ("POST", f"/api/networks/{nid}/connect", None),
        ("POST", f"/api/networks/{nid}/disconnect", None),
        ("POST", f"/api/networks/{nid}/send", {"raw": "QUIT"}),
        ("POST", f"/api/networks/{nid}/join", {"channel": "#x"}),
        ("POST", f"/api/networks/{nid}/part", {"channel": "#x"}),
        ("POST", f"/api/networks/{nid}/query", {"nick": "x"}),
        ("POST", f"/api/networks/{nid}/read", {"target": "", "cursor": "1"}),
        ("GET", f"/api/networks/{nid}/history", None),
        ("GET", f"/api/search?q=hello&network={nid}", None),
        ("GET", "/api/networks/99999999999999999999", None),
    ]:
        status, answer = await bob.request(method, path, body)
        assert status == 404, (method, path, answer)
        assert answer["error"]["code"] == "not_found"
    _s, listed = await bob.get("/api/networks")
    assert listed == {"networks": []}
    _s, state = await bob.get("/api/state")
    assert state["networks"] == []
    # alice's network is untouched
    _s, mine = await alice.get(f"/api/networks/{nid}")
    assert mine["nick"] == "own" and mine["enabled"] is True
