"""A phone (360×740, touch): the Networks sidebar is a drawer opened by "Menu"; switching
channels and sending a message work there."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Page, expect

from tests.browser.helpers import (
    BackchannelServer,
    add_network_api,
    conversation,
    irc_user,
    log_in,
    message_input,
    message_log,
    nav,
    tag,
    wait_joined,
)
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]

PHONE = {"width": 360, "height": 740}


@pytest.fixture
def context_options() -> dict[str, Any]:
    return {"viewport": PHONE, "is_mobile": True, "has_touch": True, "device_scale_factor": 2}


@pytest_asyncio.fixture(loop_scope="session")
async def people() -> AsyncIterator[list[IRCClient]]:
    clients: list[IRCClient] = []
    yield clients
    for client in clients:
        await client.close()


async def test_drawer_switch_channel_and_send(
    page: Page, bc_server: BackchannelServer, ngircd: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    first, second, me = f"#ma{t}", f"#mb{t}", f"mo{t}"
    op = await irc_user(ngircd.host, ngircd.port, f"op{t}", first, second)
    people.append(op)
    await log_in(page, bc_server)
    net = await add_network_api(page, bc_server, ngircd.host, ngircd.port, me, [first, second])
    await wait_joined(page, bc_server, net["id"], first)
    await wait_joined(page, bc_server, net["id"], second)
    await op.send(f"PRIVMSG {first} :in the first channel {t}")
    await op.send(f"PRIVMSG {second} :in the second channel {t}")

    # the sidebar is not on screen until the Menu button opens it
    menu = page.get_by_role("button", name="Menu")
    await expect(menu).to_be_visible()
    await expect(nav(page)).not_to_be_in_viewport()
    await menu.tap()
    await expect(nav(page)).to_be_in_viewport()

    # picking a channel closes the drawer and shows that channel
    await conversation(page, second).first.tap()
    await expect(nav(page)).not_to_be_in_viewport()
    log = message_log(page)
    await expect(log).to_be_in_viewport()
    await expect(log).to_contain_text(f"in the second channel {t}")
    await expect(log).not_to_contain_text(f"in the first channel {t}")

    box = message_input(page)
    await expect(box).to_be_in_viewport()
    await box.tap()
    await box.fill(f"sent from a phone {t}")
    await box.press("Enter")
    got = await op.expect(lambda m: m.command == "PRIVMSG" and m.nick == me)
    assert got.params == [second, f"sent from a phone {t}"]
    await expect(log).to_contain_text(f"sent from a phone {t}")

    # and back to the first channel through the drawer
    await menu.tap()
    await expect(nav(page)).to_be_in_viewport()
    await conversation(page, first).first.tap()
    await expect(log).to_contain_text(f"in the first channel {t}")
    await expect(log).not_to_contain_text(f"sent from a phone {t}")

    # nothing is wider than the phone
    width = await page.evaluate("document.scrollingElement.scrollWidth")
    assert width <= PHONE["width"], width
