"""The page keeps working when things break: the IRC server restarts, WebSockets (and
Server-Sent Events) are blocked, and the Backchannel process itself is killed and
started again. No message is lost and none is shown twice."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Page, Request, WebSocketRoute, expect

from tests.browser.conftest import PageMonitor, start_server
from tests.browser.helpers import (
    BackchannelServer,
    PinnedNgIRCd,
    add_network_api,
    count_in_log,
    eventually,
    irc_user,
    log_in,
    message_input,
    message_log,
    open_conversation,
    tag,
    wait_joined,
)
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]

# what Chromium logs while the server is away or a transport is blocked on purpose
CONNECTION_TROUBLE = (
    r"net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INTERNET_DISCONNECTED"
    r"|NETWORK_CHANGED|CONNECTION_CLOSED|FAILED|ABORTED)"
)
WS_TROUBLE = r"WebSocket connection to .*/api/ws.* failed"


@pytest_asyncio.fixture(loop_scope="session")
async def people() -> AsyncIterator[list[IRCClient]]:
    clients: list[IRCClient] = []
    yield clients
    for client in clients:
        await client.close(None)


def said(nick: str, text: str) -> Any:
    return lambda m: m.command == "PRIVMSG" and m.nick == nick and m.param(-1) == text


async def in_channel_with_op(
    page: Page,
    server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
    channel: str,
    me: str,
    op_nick: str,
) -> tuple[IRCClient, dict[str, Any]]:
    """An IRC user ``op_nick`` in ``channel``; the page logged in, with a network
    (nick ``me``) that joined it, showing the channel. The op and the network."""
    op = await irc_user(irc.host, irc.port, op_nick, channel)
    people.append(op)
    await log_in(page, server)
    net = await add_network_api(page, server, irc.host, irc.port, me, [channel])
    await op.expect(lambda m: m.command == "JOIN" and m.nick == me, timeout=15)
    await wait_joined(page, server, net["id"], channel)
    await open_conversation(page, channel)
    return op, net


async def network_status(page: Page, server: BackchannelServer, network_id: int) -> dict[str, Any]:
    resp = await page.request.get(f"{server.url}/api/networks/{network_id}")
    status: dict[str, Any] = (await resp.json())["status"] or {}
    return status


async def test_reconnects_after_the_irc_server_restarts(
    page: Page, bc_server: BackchannelServer, people: list[IRCClient]
) -> None:
    t = tag()
    channel, me, op_nick = f"#rs{t}", f"rs{t}", f"op{t}"
    irc = await asyncio.to_thread(PinnedNgIRCd().start)
    restarted: PinnedNgIRCd | None = None
    try:
        op = await irc_user(irc.host, irc.port, op_nick, channel)
        people.append(op)
        await log_in(page, bc_server)
        net = await add_network_api(page, bc_server, irc.host, irc.port, me, [channel])
        await op.expect(lambda m: m.command == "JOIN" and m.nick == me, timeout=15)
        await open_conversation(page, channel)
        log = message_log(page)
        await op.send(f"PRIVMSG {channel} :before the restart {t}")
        await expect(log).to_contain_text(f"before the restart {t}")

        # the IRC server dies without a goodbye
        assert irc.proc is not None
        irc.proc.kill()
        await asyncio.to_thread(irc.proc.wait, 5)
        irc.stop()
        # typed while the server is away: accepted, and sent once we are back
        await message_input(page).fill(f"typed during the outage {t}")
        await message_input(page).press("Enter")
        await expect(message_input(page)).to_have_value("")

        # wait for a refused attempt: the next one is >= 3 s away, time to come back
        async def refused() -> bool:
            status = await network_status(page, bc_server, net["id"])
            return (
                status.get("state") == "disconnected"
                and "cannot connect" in status.get("reason", "").lower()
                and status.get("next_attempt") is not None
            )

        await eventually(refused, 15)
        restarted = await asyncio.to_thread(PinnedNgIRCd(irc.port).start)
        op = await irc_user(restarted.host, restarted.port, op_nick, channel)
        people.append(op)

        await op.expect(lambda m: m.command == "JOIN" and m.nick == me, timeout=20)
        await op.expect(said(me, f"typed during the outage {t}"), timeout=10)
        await op.send(f"PRIVMSG {channel} :after the restart {t}")
        await expect(log).to_contain_text(f"after the restart {t}")
        await expect(log).to_contain_text(f"typed during the outage {t}")
        for text in ("before the restart", "typed during the outage", "after the restart"):
            assert await count_in_log(page, f"{text} {t}") == 1, text
    finally:
        irc.stop()
        if restarted is not None:
            restarted.stop()


async def test_long_poll_when_websockets_and_streams_are_blocked(
    page: Page,
    bc_server: BackchannelServer,
    ngircd: NgIRCd,
    page_monitor: PageMonitor,
    people: list[IRCClient],
) -> None:
    page_monitor.allow(rf"{CONNECTION_TROUBLE}.*/api/events/stream")
    page_monitor.allow(WS_TROUBLE)

    async def refuse_socket(ws: WebSocketRoute) -> None:
        await ws.close(code=1011, reason="WebSockets are blocked by this test")

    await page.route_web_socket("**/api/ws**", refuse_socket)
    await page.route("**/api/ws**", lambda route: route.abort())
    await page.route("**/api/events/stream**", lambda route: route.abort())
    polls: list[str] = []

    def on_request(request: Request) -> None:
        if re.search(r"/api/events\?", request.url):
            polls.append(request.url)

    page.on("request", on_request)

    t = tag()
    channel, me = f"#lp{t}", f"lp{t}"
    op, _ = await in_channel_with_op(page, bc_server, ngircd, people, channel, me, f"op{t}")

    await op.send(f"PRIVMSG {channel} :over the long-poll {t}")
    await expect(message_log(page)).to_contain_text(f"over the long-poll {t}")
    assert polls, "no /api/events long-poll request was made"

    # and commands still work (REST instead of WebSocket commands)
    await message_input(page).fill(f"sent without a socket {t}")
    await message_input(page).press("Enter")
    await op.expect(said(me, f"sent without a socket {t}"))
    await expect(message_log(page)).to_contain_text(f"sent without a socket {t}")
    assert await count_in_log(page, f"sent without a socket {t}") == 1
    assert await count_in_log(page, f"over the long-poll {t}") == 1

    # and the status banner says the page fell back to long-polling
    banner = page.get_by_role("status").filter(has_text=re.compile(r"poll", re.I))
    await expect(banner.first).to_be_visible()


@pytest.fixture
def own_server(tmp_path: Path) -> Iterator[BackchannelServer]:
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


async def test_page_catches_up_after_backchannel_is_killed_and_restarted(
    own_server: BackchannelServer,
    page: Page,
    context: BrowserContext,
    ngircd: NgIRCd,
    page_monitor: PageMonitor,
    people: list[IRCClient],
) -> None:
    page_monitor.allow(CONNECTION_TROUBLE)
    page_monitor.allow(WS_TROUBLE)
    server = own_server
    t = tag()
    channel, me = f"#kr{t}", f"kr{t}"
    op, net = await in_channel_with_op(page, server, ngircd, people, channel, me, f"op{t}")
    log = message_log(page)
    await op.send(f"PRIVMSG {channel} :first {t}")
    await expect(log).to_contain_text(f"first {t}")

    # the page loses the network, then the server crashes
    await context.set_offline(True)
    server.kill()
    await message_input(page).fill(f"typed while it was down {t}")
    await message_input(page).press("Enter")

    # the server comes back (same port and data), reconnects and rejoins by itself;
    # messages arrive while the page is still away
    await asyncio.to_thread(server.start)
    await op.expect(lambda m: m.command == "JOIN" and m.nick == me, timeout=20)
    await op.send(f"PRIVMSG {channel} :second {t}")
    await op.send(f"PRIVMSG {channel} :third {t}")

    async def stored() -> bool:
        resp = await page.request.get(
            f"{server.url}/api/networks/{net['id']}/history",
            params={"target": channel, "limit": 50},
        )
        texts = [e.get("text") for e in (await resp.json())["events"]]
        return f"third {t}" in texts

    await eventually(stored, 10)
    await expect(log).not_to_contain_text(f"second {t}")

    # the page comes back: it catches up, sends what was typed, and shows all once
    await context.set_offline(False)
    await expect(log).to_contain_text(f"third {t}", timeout=20_000)
    await op.expect(said(me, f"typed while it was down {t}"), timeout=15)
    await expect(log).to_contain_text(f"typed while it was down {t}")
    for text in ("first", "second", "third", "typed while it was down"):
        assert await count_in_log(page, f"{text} {t}") == 1, text

    # and a reload shows the same conversation, still without duplicates
    await page.reload()
    await open_conversation(page, channel)
    await expect(log).to_contain_text(f"typed while it was down {t}")
    for text in ("first", "second", "third", "typed while it was down"):
        assert await count_in_log(page, f"{text} {t}") == 1, text


async def test_a_command_whose_answer_was_lost_is_sent_once(
    page: Page,
    bc_server: BackchannelServer,
    ngircd: NgIRCd,
    page_monitor: PageMonitor,
    people: list[IRCClient],
) -> None:
    """The socket dies after the server carried out a send but before its answer
    reached the page: the page retries on the next link, with the same key, and
    the message reaches IRC (and the log) once."""
    page_monitor.allow(WS_TROUBLE)
    t = tag()
    lost = f"answer lost {t}"
    dropped: list[int] = []  # the id of the command whose answer was dropped
    closing: list[asyncio.Future[None]] = []

    async def proxy(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_page(message: str | bytes) -> None:
            if not dropped and isinstance(message, str) and lost in message:
                dropped.append(json.loads(message)["id"])
            server.send(message)

        def from_server(message: str | bytes) -> None:
            if dropped and len(dropped) == 1 and isinstance(message, str):
                data = json.loads(message)
                if data.get("reply_to") == dropped[0]:
                    dropped.append(-1)  # once: later sockets pass everything
                    closing.append(
                        asyncio.ensure_future(ws.close(code=4000, reason="the answer is lost"))
                    )
                    return
            ws.send(message)

        ws.on_message(from_page)
        server.on_message(from_server)

    await page.route_web_socket("**/api/ws**", proxy)
    channel, me = f"#lost{t}", f"ls{t}"
    op, _ = await in_channel_with_op(page, bc_server, ngircd, people, channel, me, f"op{t}")

    await message_input(page).fill(lost)
    await message_input(page).press("Enter")
    await op.expect(said(me, lost))
    async def answer_dropped() -> bool:
        return len(dropped) == 2

    await eventually(answer_dropped)  # the server answered; the page never heard it
    await message_input(page).fill(f"after {t}")  # the page is live again
    await message_input(page).press("Enter")
    await op.expect(said(me, f"after {t}"))
    await op.expect_none(said(me, lost), timeout=1.0)  # the retry was not sent again
    await expect(message_log(page)).to_contain_text(f"after {t}")
    assert await count_in_log(page, lost) == 1
