"""Chatting in a real Chromium against a real inspircd (echo-message, server-time):
adding a network through the form, messages both ways, formatting, safety of hostile
text, links, the nick list, queries, /me and nick completion."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from playwright.async_api import BrowserContext, Dialog, Page, expect

from tests.browser.conftest import start_server
from tests.browser.helpers import (
    PASSWORD,
    USERNAME,
    BackchannelServer,
    conversation,
    count_in_log,
    eventually,
    irc_user,
    log_in,
    member,
    member_list,
    message_input,
    message_log,
    nav,
    open_conversation,
    tag,
)
from tests.support.ircclient import IRCClient
from tests.support.ircd import InspIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]

CHANNEL = "#browser"


@dataclass
class ChatNetwork:
    id: int
    nick: str
    channel: str


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def chat_net(bc_server: BackchannelServer, inspircd: InspIRCd) -> ChatNetwork:
    """alice's network on the inspircd, in #browser (created through the REST API)."""
    nick = f"bc{tag()}"
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(bc_server.url, cookie_jar=jar) as http:
        login = {"username": USERNAME, "password": PASSWORD}
        async with http.post("/api/login", json=login) as resp:
            assert resp.status == 200, await resp.text()
        body = {
            "name": "Inspircd",
            "host": inspircd.host,
            "port": inspircd.port,
            "nick": nick,
            "channels": [{"name": CHANNEL}],
        }
        async with http.post("/api/networks", json=body) as resp:
            assert resp.status == 201, await resp.text()
            network_id = (await resp.json())["id"]

        async def joined() -> bool:
            async with http.get("/api/state") as resp:
                state = await resp.json()
            return any(
                t["name"] == CHANNEL and t["joined"]
                for n in state["networks"]
                if n["id"] == network_id
                for t in n["targets"]
            )

        await eventually(joined, 20)
    return ChatNetwork(network_id, nick, CHANNEL)


@pytest.fixture
def fresh_server(tmp_path: Path) -> Iterator[BackchannelServer]:
    """A server of its own: alice starts with no network at all."""
    server = start_server(tmp_path)
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def people() -> AsyncIterator[list[IRCClient]]:
    """Socket IRC users a test makes; closed afterwards."""
    clients: list[IRCClient] = []
    yield clients
    for client in clients:
        await client.close()


async def person(people: list[IRCClient], server: InspIRCd, nick: str, *chans: str) -> IRCClient:
    client = await irc_user(server.host, server.port, nick, *chans)
    people.append(client)
    return client


async def open_channel(page: Page, server: BackchannelServer, channel: str = CHANNEL) -> None:
    await log_in(page, server)
    await open_conversation(page, channel)
    await expect(message_log(page)).to_be_visible()
    await expect(message_input(page)).to_be_editable()


async def test_add_network_through_the_form(
    fresh_server: BackchannelServer, page: Page, inspircd: InspIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    nick, friend_nick = f"fm{t}", f"fr{t}"
    friend = await person(people, inspircd, friend_nick, CHANNEL)
    await log_in(page, fresh_server)

    await page.get_by_role("button", name="Add network").click()
    await page.get_by_label("Name", exact=True).fill(f"Local {t}")
    await page.get_by_label("Server", exact=True).fill("127.0.0.1")
    await page.get_by_label("Port", exact=True).fill(str(inspircd.port))
    await page.get_by_label("Use TLS", exact=True).set_checked(False)
    await page.get_by_label("Nick", exact=True).fill(nick)
    await page.get_by_label("Channels", exact=True).fill(CHANNEL)
    await page.get_by_role("button", name="Save").click()

    # the network joins the channel, which shows in the Networks nav
    await friend.expect(lambda m: m.command == "JOIN" and m.nick == nick, timeout=20)
    await expect(nav(page)).to_contain_text(f"Local {t}")
    await expect(conversation(page, CHANNEL)).to_be_visible()

    await open_conversation(page, CHANNEL)
    await friend.send(f"PRIVMSG {CHANNEL} :hello from the socket {t}")
    await expect(message_log(page)).to_contain_text(f"hello from the socket {t}")
    await expect(message_log(page)).to_contain_text(friend_nick)


async def test_sending_a_message_shows_it_once(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    friend = await person(people, inspircd, f"rx{t}", CHANNEL)
    await open_channel(page, bc_server)
    text = f"typed in the page {t}"
    await message_input(page).fill(text)
    await message_input(page).press("Enter")
    got = await friend.expect(lambda m: m.command == "PRIVMSG" and m.nick == chat_net.nick)
    assert got.params == [CHANNEL, text]
    await expect(message_input(page)).to_have_value("")
    await expect(message_log(page)).to_contain_text(text)
    # echo-message comes back from the server: it must not show a second time
    await friend.sync()
    await asyncio.sleep(1.5)  # inspircd ticks once a second
    assert await count_in_log(page, text) == 1


async def test_formatting_renders_as_styles(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    friend = await person(people, inspircd, f"fmt{t}", CHANNEL)
    await open_channel(page, bc_server)
    bold, red = f"strong{t}", f"crimson{t}"
    await friend.send(f"PRIVMSG {CHANNEL} :plain \x02{bold}\x02 and \x0304{red}\x03 end")
    log = message_log(page)
    await expect(log).to_contain_text(f"plain {bold} and {red} end")
    bold_el = log.get_by_text(bold, exact=True)
    red_el = log.get_by_text(red, exact=True)
    weight = await bold_el.evaluate("e => getComputedStyle(e).fontWeight")
    assert int(weight) >= 600, weight
    colour = await red_el.evaluate("e => getComputedStyle(e).color")
    r, g, b = (int(x) for x in re.findall(r"\d+", colour)[:3])
    assert r >= 200 and g <= 60 and b <= 60, colour
    # neither is styled by the other's code, and no control character reaches the page
    assert int(await red_el.evaluate("e => getComputedStyle(e).fontWeight")) < 600
    assert await count_in_log(page, "\x02") == 0
    assert await count_in_log(page, "\x03") == 0


async def test_markup_in_a_message_is_shown_as_text(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    friend = await person(people, inspircd, f"xss{tag()}", CHANNEL)
    await open_channel(page, bc_server)
    payload = "<img src=x onerror=alert(1)>"
    await friend.send(f"PRIVMSG {CHANNEL} :{payload}")
    log = message_log(page)
    shown = log.get_by_text(payload, exact=True)
    await expect(shown).to_have_count(1)
    assert await shown.text_content() == payload
    await expect(log.locator("img")).to_have_count(0)
    await asyncio.sleep(0.5)
    assert dialogs == []


async def test_links_open_safely(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    friend = await person(people, inspircd, f"ln{t}", CHANNEL)
    await open_channel(page, bc_server)
    url = f"https://example.org/{t}"
    await friend.send(f"PRIVMSG {CHANNEL} :have a look at {url} please")
    link = message_log(page).get_by_role("link", name=url)
    await expect(link).to_have_count(1)
    await expect(link).to_have_attribute("href", url)
    rel = (await link.get_attribute("rel") or "").split()
    assert "noopener" in rel and "noreferrer" in rel, rel


async def test_nick_list_follows_joins_and_parts_and_opens_queries(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    nick = f"nl{t}"
    await open_channel(page, bc_server)
    members = member_list(page)
    await expect(members).to_be_visible()
    await expect(member(page, chat_net.nick)).to_be_visible()
    await expect(member(page, nick)).to_have_count(0)

    friend = await person(people, inspircd, nick, CHANNEL)
    await expect(member(page, nick)).to_be_visible()
    await friend.send(f"PART {CHANNEL} :later")
    await expect(member(page, nick)).to_have_count(0)
    await friend.send(f"JOIN {CHANNEL}")
    await expect(member(page, nick)).to_be_visible()

    # clicking the nick opens a private conversation with it
    await member(page, nick).click()
    await expect(conversation(page, nick)).to_be_visible()
    text = f"a private word {t}"
    await message_input(page).fill(text)
    await message_input(page).press("Enter")
    got = await friend.expect(lambda m: m.command == "PRIVMSG" and m.nick == chat_net.nick)
    assert got.params == [nick, text]
    await expect(message_log(page)).to_contain_text(text)


async def test_me_is_shown_as_an_action(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    friend = await person(people, inspircd, f"me{t}", CHANNEL)
    await open_channel(page, bc_server)
    await message_input(page).fill(f"/me waves {t}")
    await message_input(page).press("Enter")
    got = await friend.expect(lambda m: m.command == "PRIVMSG" and m.nick == chat_net.nick)
    assert got.params == [CHANNEL, f"\x01ACTION waves {t}\x01"]
    log = message_log(page)
    # "* nick waves": the nick directly followed by the action, no "/me", no CTCP bytes
    await expect(log).to_contain_text(re.compile(rf"{chat_net.nick}\s+waves {t}"))
    assert await count_in_log(page, f"/me waves {t}") == 0
    assert await count_in_log(page, "ACTION") == 0
    # and the same for someone else's action
    await friend.send(f"PRIVMSG {CHANNEL} :\x01ACTION nods {t}\x01")
    await expect(log).to_contain_text(re.compile(rf"{friend.nick}\s+nods {t}"))


async def test_tab_completes_a_nick(
    page: Page,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    nick = f"tabby{t}"
    await person(people, inspircd, nick, CHANNEL)
    await open_channel(page, bc_server)
    await expect(member(page, nick)).to_be_visible()
    box = message_input(page)
    await box.fill("")
    await box.press_sequentially(f"tabby{t[:2]}")
    await box.press("Tab")
    await expect(box).to_have_value(re.compile(rf"^{nick}[:,]? ?$"))
    await expect(box).to_be_focused()
    # and in the middle of a line
    await box.fill("")
    await box.press_sequentially(f"hi tabby{t[:1]}")
    await box.press("Tab")
    await expect(box).to_have_value(re.compile(rf"^hi {nick}[:,]? ?$"))


async def test_a_private_conversation_can_be_closed_and_comes_back_with_a_message(
    page: Page,
    context: BrowserContext,
    bc_server: BackchannelServer,
    chat_net: ChatNetwork,
    inspircd: InspIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    nick = f"cq{t}"
    friend = await person(people, inspircd, nick, CHANNEL)
    await open_channel(page, bc_server)
    other = await context.new_page()  # a second tab of the same user
    await other.goto(bc_server.url)
    await friend.send(f"PRIVMSG {chat_net.nick} :hello there {t}")
    for tab in (page, other):
        await expect(conversation(tab, nick)).to_be_visible()
    await open_conversation(page, nick)
    await expect(message_log(page)).to_contain_text(f"hello there {t}")

    # its close button: gone here, and in the other tab; this tab shows the network
    await nav(page).get_by_role("button", name=f"Close {nick}", exact=True).click()
    for tab in (page, other):
        await expect(conversation(tab, nick)).to_have_count(0)
    await expect(message_log(page)).not_to_contain_text(f"hello there {t}")

    # a new message opens it again, with its history
    await friend.send(f"PRIVMSG {chat_net.nick} :back again {t}")
    await expect(conversation(page, nick)).to_be_visible()
    await open_conversation(page, nick)
    await expect(message_log(page)).to_contain_text(f"back again {t}")
    await expect(message_log(page)).to_contain_text(f"hello there {t}")

    # and /close closes the one open
    await message_input(page).fill("/close")
    await message_input(page).press("Enter")
    for tab in (page, other):
        await expect(conversation(tab, nick)).to_have_count(0)
    await other.close()
