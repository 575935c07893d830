"""The REST API against a real IRC server (ngIRCd): a network created over
the API connects and joins; a plain socket client talks with it; what is
said is in the history, the search and the state; text and raw lines go out
(and lines with CR/LF do not); read markers reach the user's other sessions."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.ircclient import IRCClient
from tests.web.api_helpers import ApiClient, ApiWorld, eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


def _target(state: dict[str, Any], nid: int, name: str) -> dict[str, Any] | None:
    for network in state["networks"]:
        if network["id"] == nid:
            for target in network["targets"]:
                if target["name"].lower() == name.lower():
                    return dict(target)
    return None


async def _joined(client: ApiClient, nid: int, channel: str, nick: str) -> dict[str, Any]:
    async def check() -> dict[str, Any] | None:
        _s, state = await client.get("/api/state")
        target = _target(state, nid, channel)
        if target and target["joined"] and any(m["nick"] == nick for m in target["members"]):
            return target
        return None

    found: dict[str, Any] = await eventually(check)
    return found


async def _history(client: ApiClient, nid: int, target: str, **params: str) -> dict[str, Any]:
    status, page = await client.get(
        f"/api/networks/{nid}/history", params={"target": target, **params}
    )
    assert status == 200, page
    return dict(page)


async def _setup(
    make_world: Any, ngircd: Any, tag: str
) -> tuple[ApiWorld, ApiClient, int, IRCClient]:
    world: ApiWorld = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    channel = f"#api{tag}"
    status, created = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, f"web{tag}", channels=[{"name": channel}]),
    )
    assert status == 201, created
    nid = created["id"]
    target = await _joined(alice, nid, channel, f"web{tag}")
    assert {"nick": f"web{tag}", "prefixes": "@"} in target["members"]
    assert target["type"] == "channel"
    plain = await IRCClient.connect(ngircd.host, ngircd.port)
    await plain.register(f"sock{tag}")
    await plain.send(f"JOIN {channel}")
    await plain.expect("366")
    await _joined(alice, nid, channel, f"sock{tag}")
    return world, alice, nid, plain


async def test_conversation_history_search_and_state(make_world, ngircd):
    world, alice, nid, plain = await _setup(make_world, ngircd, "h")
    try:
        await plain.send("PRIVMSG #apih :hello from the socket ünïcode")

        async def said() -> list[dict[str, Any]]:
            page = await _history(alice, nid, "#APIH")  # folded: any case finds it
            return [e for e in page["events"] if e["kind"] == "privmsg"]

        (message,) = await eventually(said)
        assert message["text"] == "hello from the socket ünïcode"
        assert message["nick"] == "sockh" and message["target"] == "#apih"
        assert message["network"] == nid and message["cursor"].isdigit()

        status, found = await alice.get("/api/search", params={"q": "socket"})
        assert status == 200 and [r["cursor"] for r in found["results"]] == [message["cursor"]]
        _s, found = await alice.get(
            "/api/search",
            params={"q": "hello", "network": str(nid), "target": "#ApiH", "nick": "SOCKH"},
        )
        assert [r["cursor"] for r in found["results"]] == [message["cursor"]]
        _s, found = await alice.get("/api/search", params={"q": "hello", "nick": "nobody"})
        assert found["results"] == []
        _s, found = await alice.get("/api/search", params={"q": "hello", "before": "1"})
        assert found["results"] == []

        # paging: the page before the message, and after it
        page = await _history(alice, nid, "#apih", limit="1")
        assert [e["cursor"] for e in page["events"]] == [message["cursor"]]
        assert page["before"] == message["cursor"] and page["after"] == message["cursor"]
        older = await _history(alice, nid, "#apih", before=page["before"], limit="1000")
        assert older["events"] and all(int(e["cursor"]) < int(message["cursor"])
                                       for e in older["events"])
        newer = await _history(alice, nid, "#apih", after=message["cursor"])
        assert all(e["kind"] != "privmsg" for e in newer["events"])
        for bad in [{"before": "x1"}, {"after": "-1"}, {"limit": "0"}, {"limit": "1001"},
                    {"before": "1", "after": "2"}]:
            status, _ = await alice.get(f"/api/networks/{nid}/history", params=bad)
            assert status == 400, bad

        # state: unread and mention counts, then a read marker
        await plain.send("PRIVMSG #apih :webh: are you there?")
        await eventually(lambda: _unread(alice, nid, "#apih", 2))
        _s, state = await alice.get("/api/state")
        target = _target(state, nid, "#apih")
        assert target is not None and target["mentions"] == 1 and target["marker"] is None
        assert target["topic"] == ""
        server = _target(state, nid, "")
        assert server is not None and server["type"] == "server"
        latest = (await _history(alice, nid, "#apih"))["events"][-1]["cursor"]

        tab = world.client()  # the same user in another browser
        await tab.login("alice")
        status, read = await alice.post(
            f"/api/networks/{nid}/read", {"target": "#APIH", "cursor": latest}
        )
        assert status == 200 and read == {"target": "#APIH", "marker": latest}
        _s, polled = await tab.get("/api/events", params={"after": latest, "timeout": "5"})
        (event,) = [e for e in polled["events"] if e["kind"] == "read"]
        assert event["cursor_read"] == latest and event["network"] == nid
        target = _target((await alice.get("/api/state"))[1], nid, "#apih")
        assert target is not None and (target["unread"], target["marker"]) == (0, latest)
        # markers never move back; bad cursors are 400
        status, read = await alice.post(
            f"/api/networks/{nid}/read", {"target": "#apih", "cursor": "1"}
        )
        assert status == 200 and read["marker"] == latest
        for cursor in ["abc", "", "99999999999"]:
            status, body = await alice.post(
                f"/api/networks/{nid}/read", {"target": "#apih", "cursor": cursor}
            )
            assert (status, body["error"]["code"]) == (400, "bad_cursor")
    finally:
        await plain.close()


async def _unread(client: ApiClient, nid: int, name: str, count: int) -> bool:
    _s, state = await client.get("/api/state")
    target = _target(state, nid, name)
    return target is not None and target["unread"] == count


async def test_send_text_and_raw_lines(make_world, ngircd):
    _world, alice, nid, plain = await _setup(make_world, ngircd, "s")
    send = f"/api/networks/{nid}/send"
    try:
        status, body = await alice.post(send, {"target": "#apis", "text": "hi there"})
        assert status == 200 and body == {"ok": True, "lines": 1}
        got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == "webs")
        assert got.params == ["#apis", "hi there"]

        await alice.post(send, {"target": "#apis", "text": "/me waves"})
        got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == "webs")
        assert got.params[1] == "\x01ACTION waves\x01"

        status, body = await alice.post(send, {"target": "socks", "text": "one\ntwo\r\nthree"})
        assert body["lines"] == 3
        for line in ["one", "two", "three"]:
            got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == "webs")
            assert got.params == ["socks", line]

        long = " ".join(f"word{i}" for i in range(300))
        status, body = await alice.post(send, {"target": "#apis", "text": long})
        assert status == 200 and body["lines"] >= 3
        pieces = [
            (await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == "webs")).params[1]
            for _ in range(body["lines"])
        ]
        assert " ".join(pieces) == long

        status, body = await alice.post(send, {"raw": "PRIVMSG socks :raw hello"})
        assert status == 200
        got = await plain.expect(lambda m: m.command == "PRIVMSG" and m.nick == "webs")
        assert got.params == ["socks", "raw hello"]

        for raw in ["PRIVMSG socks :x\r\nQUIT", "PRIVMSG socks :y\nQUIT", "PRIVMSG socks :z\0"]:
            status, body = await alice.post(send, {"raw": raw})
            assert (status, body["error"]["code"]) == (400, "bad_line"), raw
        for bad in [
            {"target": "#apis\r\nQUIT", "text": "x"},
            {"target": "#apis", "text": "nul\0"},
            {"target": "#apis"},
            {"raw": "PING", "target": "#apis"},
            {"target": "#apis", "text": "\n\n"},
            {"target": "#apis", "text": "x", "extra": 1},
        ]:
            status, body = await alice.post(send, bad)
            assert (status, body["error"]["code"]) == (422, "invalid"), bad
        # nothing of the refused requests reached the server
        await alice.post(send, {"target": "socks", "text": "marker"})
        await plain.expect(lambda m: m.command == "PRIVMSG" and m.param(1) == "marker")
        assert not any(
            "QUIT" in line or ":x" in line or ":y" in line or "nul" in line
            for line in plain.received
            if line.nick == "webs"
        )
        _s, network = await alice.get(f"/api/networks/{nid}")
        assert (network["status"] or {}).get("state") == "registered"
        # our own messages are in the history (local echo), once
        page = await _history(alice, nid, "#apis")
        texts = [e["text"] for e in page["events"] if e["kind"] == "privmsg"]
        assert texts.count("hi there") == 1
    finally:
        await plain.close()


async def test_join_part_and_query(make_world, ngircd):
    _world, alice, nid, plain = await _setup(make_world, ngircd, "j")
    base = f"/api/networks/{nid}"
    try:
        status, body = await alice.post(base + "/join", {"channel": "#apij2"})
        assert status == 200, body
        await _joined(alice, nid, "#apij2", "webj")
        _s, network = await alice.get(base)
        assert {"name": "#apij2", "key_set": False} in network["channels"]
        status, body = await alice.post(base + "/join", {"channel": "notachannel"})
        assert status == 422

        status, body = await alice.post(base + "/part", {"channel": "#apij2", "reason": "bye"})
        assert status == 200

        async def parted() -> bool:
            _s, state = await alice.get("/api/state")
            return _target(state, nid, "#apij2") is None

        await eventually(parted)
        _s, network = await alice.get(base)
        assert all(c["name"] != "#apij2" for c in network["channels"])

        status, body = await alice.post(base + "/query", {"nick": "sockj"})
        assert status == 200 and body == {"ok": True, "target": "sockj"}
        _s, state = await alice.get("/api/state")
        query = _target(state, nid, "sockj")
        assert query is not None and query["type"] == "query"
        page = await _history(alice, nid, "sockj")
        assert [e["kind"] for e in page["events"]] == ["query"]
        status, body = await alice.post(base + "/query", {"nick": "#apij"})
        assert status == 422
    finally:
        await plain.close()
