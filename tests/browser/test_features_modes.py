"""The page's looks and modes in a real Chromium: light and dark themes follow the
browser's colour scheme, and a public gateway (``serve --public``) greets visitors with a
connect form (nick, channels) that takes them into a working chat on a real ngircd."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.helpers import (
    BackchannelServer,
    conversation,
    irc_user,
    log_in,
    message_input,
    message_log,
    nav,
    tag,
)
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]


@pytest_asyncio.fixture(loop_scope="session")
async def people() -> AsyncIterator[list[IRCClient]]:
    clients: list[IRCClient] = []
    yield clients
    for client in clients:
        await client.close()


def rgb(css: str) -> tuple[int, int, int]:
    r, g, b = (int(float(x)) for x in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def luminance(css: str) -> float:
    """Relative luminance (WCAG) of an rgb()/rgba() colour, 0 (black) to 1 (white)."""

    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(v) for v in rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


async def colours(page: Page) -> tuple[str, str]:
    """The body's background and text colours."""
    bg, fg = await page.evaluate(
        "() => { const s = getComputedStyle(document.body); return [s.backgroundColor, s.color]; }"
    )
    return bg, fg


async def test_light_and_dark_themes_follow_the_colour_scheme(
    new_page: Callable[..., Awaitable[Page]], bc_server: BackchannelServer
) -> None:
    seen: dict[str, tuple[str, str]] = {}
    for scheme in ("light", "dark"):
        page = await new_page(color_scheme=scheme)
        await page.goto(bc_server.url + "/")
        await expect(page.get_by_label("Username")).to_be_visible()
        login_colours = await colours(page)
        await log_in(page, bc_server)
        seen[scheme] = await colours(page)
        assert seen[scheme] == login_colours, scheme  # one theme for every screen
    light_bg, light_fg = seen["light"]
    dark_bg, dark_fg = seen["dark"]
    assert light_bg != dark_bg
    assert luminance(light_bg) > 0.8, light_bg
    assert luminance(dark_bg) < 0.05, dark_bg
    # and the text stays readable on each
    assert luminance(light_fg) < 0.1, light_fg
    assert luminance(dark_fg) > 0.6, dark_fg


@pytest.fixture(scope="module")
def gateway(
    tmp_path_factory: pytest.TempPathFactory, ngircd: NgIRCd
) -> Iterator[BackchannelServer]:
    """``backchannel serve --public`` that lets guests reach the ngircd only."""
    allowed = f"127.0.0.1:{ngircd.port}"
    server = BackchannelServer(
        tmp_path_factory.mktemp("gateway"), extra_args=("--public", "--allow-server", allowed)
    )
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_public_gateway_connect_form_joins_and_chats(
    page: Page, gateway: BackchannelServer, ngircd: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan, nick = f"#gw{t}", f"gu{t}"
    friend = await irc_user(ngircd.host, ngircd.port, f"ho{t}", chan)
    people.append(friend)

    await page.goto(gateway.url + "/")
    # no login: a connect form
    await expect(page.get_by_label("Nick", exact=True)).to_be_visible()
    await expect(page.get_by_label("Channels", exact=True)).to_be_visible()
    await expect(page.get_by_label("Username")).to_have_count(0)
    await expect(page.get_by_label("Password")).to_have_count(0)
    server = page.get_by_label("Server", exact=True)
    allowed = f"127.0.0.1:{ngircd.port}"
    await expect(server.locator("option", has_text=allowed)).to_have_count(1)
    await server.select_option(allowed)
    await page.get_by_label("Nick", exact=True).fill(nick)
    await page.get_by_label("Channels", exact=True).fill(chan.removeprefix("#"))
    await page.get_by_role("button", name="Connect").click()

    # the guest joins the channel, which the chat shows
    await friend.expect(lambda m: m.command == "JOIN" and m.nick == nick, timeout=20)
    await expect(nav(page)).to_be_visible()
    await expect(conversation(page, chan)).to_be_visible()
    await conversation(page, chan).click()
    await expect(message_input(page)).to_be_editable()

    await friend.send(f"PRIVMSG {chan} :welcome, guest {t}")
    await expect(message_log(page)).to_contain_text(f"welcome, guest {t}")
    await message_input(page).fill(f"thanks, host {t}")
    await message_input(page).press("Enter")
    got = await friend.expect(lambda m: m.command == "PRIVMSG" and m.nick == nick)
    assert got.params == [chan, f"thanks, host {t}"]
    await expect(message_log(page)).to_contain_text(f"thanks, host {t}")
