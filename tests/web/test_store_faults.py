"""The disk fills up (SQLite says the database is full): the server keeps
serving, the user is told, and once there is room every event is stored —
none lost, in order."""

from __future__ import annotations

import pytest

from backchannel.web.keys import DATABASE
from tests.support.ircclient import IRCClient
from tests.web.api_helpers import eventually, make_world, network_body

__all__ = ["make_world"]

pytestmark = pytest.mark.ircd


async def test_a_full_disk_is_reported_and_nothing_is_lost(make_world, ngircd) -> None:
    world = await make_world(allowed_servers=[f"{ngircd.host}:{ngircd.port}"])
    alice = await world.user("alice")
    _, created = await alice.post(
        "/api/networks",
        network_body(ngircd.host, ngircd.port, "fullalice", channels=[{"name": "#full"}]),
    )
    network = created["id"]
    other = await IRCClient.connect(ngircd.host, ngircd.port)
    db = world.app[DATABASE]
    try:
        await other.register("fullbob")
        await other.send("JOIN #full")

        async def both_in() -> bool:
            _, state = await alice.get("/api/state")
            targets = state["networks"][0]["targets"]
            return any(t["name"] == "#full" and len(t["members"]) == 2 for t in targets)

        await eventually(both_in, timeout=30)
        # no more pages may be added: the next writes fail with "database or disk is full"
        await db.write(
            lambda c: c.execute(
                "PRAGMA max_page_count = " + str(c.execute("PRAGMA page_count").fetchone()[0])
            )
        )
        texts = [f"while full {i} " + "x" * 420 for i in range(8)]
        for text in texts:
            await other.send(f"PRIVMSG #full :{text}")

        async def reported() -> str:
            _, state = await alice.get("/api/state")  # the server still answers
            return str(state.get("storage_error") or "")

        assert "full" in (await eventually(reported, timeout=40)).lower()
        await db.write(lambda c: c.execute("PRAGMA max_page_count = 1073741823"))

        async def stored() -> list[str]:
            _, page = await alice.get(
                f"/api/networks/{network}/history", params={"target": "#full", "limit": "100"}
            )
            said = [e["text"] for e in page["events"] if e["kind"] == "privmsg"]
            return said if len(said) == len(texts) else []

        assert await eventually(stored, timeout=60) == texts
        assert await reported() == ""
    finally:
        await other.close()
