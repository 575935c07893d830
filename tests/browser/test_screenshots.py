"""Reference screenshots of the main screens, in docs/screenshots/.

With ``BACKCHANNEL_UPDATE_SCREENSHOTS=1`` the test drives the real page (a real
inspircd, people chatting on plain sockets) and saves the screenshots; otherwise it
checks that they exist and are real PNGs of the expected size (at least 10 KB).

    BACKCHANNEL_UPDATE_SCREENSHOTS=1 .venv/bin/python -m pytest tests/browser/test_screenshots.py
"""

from __future__ import annotations

import asyncio
import os
import struct
import zlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import (
    BackchannelServer,
    add_network_api,
    irc_user,
    log_in,
    member_list,
    message_input,
    message_log,
    nav,
    open_conversation,
    wait_joined,
)
from tests.support.ircclient import IRCClient
from tests.support.ircd import InspIRCd

pytestmark = pytest.mark.asyncio(loop_scope="session")

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 360, "height": 740}
PHONE_SCALE = 2
# file → the image size in pixels
SCREENS = {
    "login.png": (DESKTOP["width"], DESKTOP["height"]),
    "chat-desktop.png": (DESKTOP["width"], DESKTOP["height"]),
    "chat-phone.png": (PHONE["width"] * PHONE_SCALE, PHONE["height"] * PHONE_SCALE),
    "network-form.png": (DESKTOP["width"], DESKTOP["height"]),
}
MIN_BYTES = 10 * 1024
CHANNEL = "#backchannel"


def check_png(path: Path, size: tuple[int, int]) -> None:
    """A complete PNG (signature, IHDR of ``size``, CRCs, IEND) of at least 10 KB."""
    assert path.is_file(), f"{path} is missing: run with BACKCHANNEL_UPDATE_SCREENSHOTS=1"
    data = path.read_bytes()
    assert len(data) >= MIN_BYTES, f"{path.name}: {len(data)} bytes, expected >= {MIN_BYTES}"
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name}: not a PNG"
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert zlib.crc32(kind + body) == crc, f"{path.name}: bad CRC in {kind!r}"
        chunks.append((kind, body))
        pos += 12 + length
    assert chunks[0][0] == b"IHDR" and chunks[-1][0] == b"IEND", path.name
    width, height = struct.unpack(">II", chunks[0][1][:8])
    assert (width, height) == size, f"{path.name}: {width}x{height}, expected {size}"
    assert any(kind == b"IDAT" for kind, _ in chunks), path.name


async def _settle(page: Page) -> None:
    await page.evaluate("document.fonts.ready")
    await page.wait_for_timeout(300)


async def update_screenshots(
    server: BackchannelServer, ircd: InspIRCd, new_page: Callable[..., Awaitable[Page]]
) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    people: list[IRCClient] = []
    try:
        # the login page
        page = await new_page(viewport=DESKTOP)
        await page.goto(server.url + "/")
        await expect(page.get_by_role("button", name="Log in")).to_be_visible()
        await _settle(page)
        await page.screenshot(path=SHOTS / "login.png")

        # the network form, filled in
        await log_in(page, server)
        await page.get_by_role("button", name="Add network").click()
        await page.get_by_label("Name", exact=True).fill("Libera.Chat")
        await page.get_by_label("Server", exact=True).fill("irc.libera.chat")
        await page.get_by_label("Port", exact=True).fill("6697")
        await page.get_by_label("Use TLS", exact=True).set_checked(True)
        await page.get_by_label("Nick", exact=True).fill("ada")
        await page.get_by_label("Channels", exact=True).fill("#python, #backchannel")
        await page.get_by_label("Name", exact=True).focus()
        await page.get_by_label("Name", exact=True).evaluate(  # the form's top in view
            "e => { for (let n = e.parentElement; n; n = n.parentElement) n.scrollTop = 0; }"
        )
        await _settle(page)
        await page.screenshot(path=SHOTS / "network-form.png")

        # a channel with some life in it
        grace = await irc_user(ircd.host, ircd.port, "grace_h", CHANNEL)
        people.append(grace)
        net = await add_network_api(page, server, ircd.host, ircd.port, "ada_l", [CHANNEL])
        await wait_joined(page, server, net["id"], CHANNEL)
        linus = await irc_user(ircd.host, ircd.port, "linus_t", CHANNEL)
        people.append(linus)
        await grace.send(f"TOPIC {CHANNEL} :Backchannel: a self-hosted web IRC client")
        page = await new_page(viewport=DESKTOP)
        await log_in(page, server)
        await open_conversation(page, CHANNEL)
        lines = [
            (grace, "morning all! the nightly build is \x02green\x02 again"),
            (linus, "\x01ACTION stretches\x01"),
            (linus, "nice. did the reconnect fix land?"),
            (grace, "yes, see https://example.org/backchannel/pull/42"),
            (grace, "ada_l: could you try it on your phone?"),
            (linus, "\x0304careful:\x03 the old cookies are gone after the upgrade"),
        ]
        for who, text in lines:
            await who.send(f"PRIVMSG {CHANNEL} :{text}")
            await asyncio.sleep(0.05)
        await expect(message_log(page)).to_contain_text("the old cookies are gone")
        await message_input(page).fill("on it, trying on the phone now")
        await message_input(page).press("Enter")
        await expect(message_log(page)).to_contain_text("on it, trying on the phone now")
        await expect(member_list(page)).to_contain_text("linus_t")
        await _settle(page)
        await page.screenshot(path=SHOTS / "chat-desktop.png")

        # the same channel on a phone
        phone = await new_page(
            viewport=PHONE, is_mobile=True, has_touch=True, device_scale_factor=PHONE_SCALE
        )
        await log_in(phone, server)
        await phone.get_by_role("button", name="Menu").tap()
        await nav(phone).get_by_text(CHANNEL, exact=True).first.tap()
        await expect(message_log(phone)).to_contain_text("on it, trying on the phone now")
        await _settle(phone)
        await phone.screenshot(path=SHOTS / "chat-phone.png")
    finally:
        for person in people:
            await person.close()


async def test_reference_screenshots(
    request: pytest.FixtureRequest, new_page: Callable[..., Awaitable[Page]]
) -> None:
    if os.environ.get("BACKCHANNEL_UPDATE_SCREENSHOTS") == "1":
        server: BackchannelServer = request.getfixturevalue("bc_server")
        ircd: InspIRCd = request.getfixturevalue("inspircd")
        await update_screenshots(server, ircd, new_page)
    for name, size in SCREENS.items():
        check_png(SHOTS / name, size)
