"""Highlight words: configurable per user, applied to the next message."""

from __future__ import annotations

import pytest

from tests.support.ircclient import IRCClient
from tests.web.api_helpers import eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def test_highlight_words_make_mentions(make_world, ngircd) -> None:
    world = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    assert await alice.get("/api/settings") == (200, {"highlight_words": []})
    status, body = await alice.request("PATCH", "/api/settings", {"highlight_words": ["bad\nword"]})
    assert status == 422
    status, body = await alice.request("PATCH", "/api/settings", {"highlight_words": ["zeppelin"]})
    assert (status, body) == (200, {"highlight_words": ["zeppelin"]})
    _, created = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "hlalice", channels=[{"name": "#hl"}]),
    )
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    try:
        await other.register("hlbob")
        await other.send("JOIN #hl")

        async def joined() -> bool:
            _, state = await alice.get("/api/state")
            targets = state["networks"][0]["targets"]
            return any(t["name"] == "#hl" and len(t["members"]) == 2 for t in targets)

        await eventually(joined, timeout=30)
        await other.send("PRIVMSG #hl :the Zeppelin has landed")
        await other.send("PRIVMSG #hl :nothing to see")

        async def mentioned() -> list[dict[str, object]]:
            _, page = await alice.get(
                f"/api/networks/{created['id']}/history", params={"target": "#hl"}
            )
            said = [e for e in page["events"] if e["kind"] == "privmsg"]
            return said if len(said) == 2 else []

        said = await eventually(mentioned)
        assert [bool(e.get("highlight")) for e in said] == [True, False]
    finally:
        await other.close()
