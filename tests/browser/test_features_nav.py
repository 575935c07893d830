"""Finding your way in a real Chromium: unread and mention badges in the Networks nav
(and read markers shared by two browsers), the "New messages" line and day separators,
condensed joins/parts/quits, times in the viewer's time zone, paging back through the
history, search, the mentions view, and the Ctrl+K / Alt+Up / Alt+Down shortcuts.

Against a real ngircd whose flood penalties are off (a socket user can send hundreds of
lines at once), and a scripted fake server for messages stamped on other days."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import DESKTOP
from tests.browser.helpers import (
    BackchannelServer,
    add_network_api,
    conversation,
    eventually,
    irc_user,
    log_in,
    message_log,
    nav,
    network_with,
    open_conversation,
    tag,
    viewing,
    wait_joined,
)
from tests.support.fakeircd import FakeIrcServer
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]

ZONE = "UTC"  # this module's browsers, unless a test says otherwise


@pytest.fixture
def context_options() -> dict[str, Any]:
    return {"viewport": DESKTOP, "locale": "en-US", "timezone_id": ZONE}



async def history(
    page: Page, server: BackchannelServer, network_id: int, target: str, limit: int = 50
) -> list[dict[str, Any]]:
    resp = await page.request.get(
        f"{server.url}/api/networks/{network_id}/history",
        params={"target": target, "limit": limit},
    )
    assert resp.status == 200, await resp.text()
    events: list[dict[str, Any]] = (await resp.json())["events"]
    return events


async def stored(
    page: Page, server: BackchannelServer, network_id: int, target: str, text: str
) -> dict[str, Any]:
    """Wait until the server has stored a message with ``text`` in ``target``."""

    async def find() -> dict[str, Any] | None:
        for event in await history(page, server, network_id, target):
            if event.get("text") == text:
                return event
        return None

    found: dict[str, Any] = await eventually(find, 15)
    return found


async def target_state(
    page: Page, server: BackchannelServer, network_id: int, name: str
) -> dict[str, Any]:
    resp = await page.request.get(server.url + "/api/state")
    for net in (await resp.json())["networks"]:
        if net["id"] == network_id:
            for target in net["targets"]:
                if target["name"].lower() == name.lower():
                    found: dict[str, Any] = target
                    return found
    raise AssertionError(f"{name} is not in /api/state")




async def rows(page: Page) -> list[str]:
    """The log's rows, top to bottom: separators as "| text", others by their text."""
    texts: list[str] = await message_log(page).evaluate(
        """log => [...log.querySelectorAll('.rows > *')].map(r =>
             r.getAttribute('role') === 'separator' ? '| ' + r.textContent.trim()
                                                    : r.textContent.trim())"""
    )
    return texts


def index_of(items: list[str], needle: str) -> int:
    found = [i for i, item in enumerate(items) if needle in item]
    assert len(found) == 1, (needle, items)
    return found[0]


def long_date(when: datetime) -> str:
    """How en-US writes a day in full: "Tuesday, November 24, 2026"."""
    return f"{when:%A}, {when:%B} {when.day}, {when.year}"


def local(stamp: str, zone: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).astimezone(ZoneInfo(zone))


# --- badges and read markers --------------------------------------------------------------


async def test_unread_and_mention_badges_are_cleared_in_every_browser(
    page: Page,
    new_page: Callable[..., Awaitable[Page]],
    bc_server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    here, there = f"#ua{t}", f"#ub{t}"
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, here, there)
    await open_conversation(page, here)
    await viewing(page, here)
    other = conversation(page, there)
    await expect(other).to_have_accessible_description("")

    # messages in the channel not being viewed count as unread...
    await friend.send(f"PRIVMSG {there} :first unread {t}")
    await friend.send(f"PRIVMSG {there} :second unread {t}")
    await expect(other).to_have_accessible_description("2 unread")
    await expect(other.get_by_text("2", exact=True)).to_be_visible()
    # ...and one with alice's nick is a mention too
    await friend.send(f"PRIVMSG {there} :{me}: are you there? {t}")
    await expect(other).to_have_accessible_description("3 unread, 1 mention")
    badge = other.get_by_text("3", exact=True)
    await expect(badge).to_be_visible()
    await expect(page).to_have_title(re.compile(r"^\(1\) "))
    # the conversation on screen counts nothing
    await friend.send(f"PRIVMSG {here} :seen at once {t}")
    await expect(message_log(page)).to_contain_text(f"seen at once {t}")
    await expect(conversation(page, here)).to_have_accessible_description("")

    # another browser of the same user shows the same counts (the server keeps them)
    second = await new_page(locale="en-US", timezone_id=ZONE)
    await log_in(second, bc_server)
    elsewhere = conversation(second, there)
    await expect(elsewhere).to_have_accessible_description("3 unread, 1 mention")
    await expect(elsewhere.get_by_text("3", exact=True)).to_be_visible()
    await expect(conversation(second, here)).to_have_accessible_description("")

    # viewing the channel clears both counts, here and in the other browser
    await open_conversation(page, there)
    await viewing(page, there)
    await expect(message_log(page)).to_contain_text(f"are you there? {t}")
    await expect(other).to_have_accessible_description("")
    await expect(badge).to_be_hidden()
    await expect(page).not_to_have_title(re.compile(r"^\(\d+\) "))
    await expect(elsewhere).to_have_accessible_description("")
    await expect(elsewhere.get_by_text("3", exact=True)).to_be_hidden()
    # for good: a reload asks the server again
    await second.reload()
    await expect(conversation(second, there)).to_be_visible()
    await expect(conversation(second, there)).to_have_accessible_description("")


async def test_new_messages_line_and_day_separator(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan, other = f"#na{t}", f"#nb{t}"
    await log_in(page, bc_server)
    net_id, _, friend = await network_with(page, bc_server, irc, people, chan, other)
    await open_conversation(page, chan)
    await viewing(page, chan)
    await friend.send(f"PRIVMSG {chan} :already read {t}")
    await expect(message_log(page)).to_contain_text(f"already read {t}")
    read = await stored(page, bc_server, net_id, chan, f"already read {t}")

    async def marked() -> bool:
        marker = (await target_state(page, bc_server, net_id, chan))["marker"]
        return marker is not None and int(marker) >= int(read["cursor"])

    await eventually(marked, 10)  # the page told the server what was read

    await open_conversation(page, other)
    await viewing(page, other)
    await friend.send(f"PRIVMSG {chan} :new one {t}")
    await friend.send(f"PRIVMSG {chan} :new two {t}")
    await expect(conversation(page, chan)).to_have_accessible_description("2 unread")

    async def check_log(last_read: str, first_new: str, last: str) -> None:
        log = message_log(page)
        await expect(log).to_contain_text(last)
        await expect(log.get_by_text("New messages", exact=True)).to_have_count(1)
        shown = await rows(page)
        marker = shown.index("| New messages")
        assert index_of(shown, last_read) < marker, shown
        assert marker + 1 == index_of(shown, first_new), shown
        # the log starts with the day of its first event, and shows each day once
        events = await history(page, bc_server, net_id, chan)
        days = [long_date(local(e["time"], ZONE)) for e in events if e["kind"] != "read"]
        assert shown[0] == f"| {days[0]}", shown
        assert [s for s in shown if s.startswith("| ") and s != "| New messages"] == [
            f"| {day}" for day in dict.fromkeys(days)
        ]

    # the marker kept by the server: after a reload (which opens the last conversation
    # viewed, #nb) the line is where alice stopped reading
    await page.reload()
    await viewing(page, other)
    await expect(conversation(page, chan)).to_have_accessible_description("2 unread")
    await open_conversation(page, chan)
    await viewing(page, chan)
    await check_log(f"already read {t}", f"new one {t}", f"new two {t}")

    # and the page's own: it moved on while #na was on screen
    await open_conversation(page, other)
    await viewing(page, other)
    await friend.send(f"PRIVMSG {chan} :new three {t}")
    await expect(conversation(page, chan)).to_have_accessible_description("1 unread")
    await open_conversation(page, chan)
    await viewing(page, chan)
    await check_log(f"new two {t}", f"new three {t}", f"new three {t}")


async def test_joins_parts_and_quits_are_condensed_into_one_line(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan = f"#jp{t}"
    await log_in(page, bc_server)
    _, _, friend = await network_with(page, bc_server, irc, people, chan)
    await open_conversation(page, chan)
    await viewing(page, chan)
    log = message_log(page)
    await friend.send(f"PRIVMSG {chan} :before the crowd {t}")
    await expect(log).to_contain_text(f"before the crowd {t}")

    ann = await irc_user(irc.host, irc.port, f"ann{t}", chan)
    people.append(ann)
    bob = await irc_user(irc.host, irc.port, f"bob{t}", chan)
    people.append(bob)
    await ann.send(f"PART {chan} :later")
    await expect(log).to_contain_text(f"ann{t} left")
    await bob.close("gone fishing")
    # reasons are shown with the leaving (ngircd quotes a quit message)
    line = re.compile(
        rf'^ann{t} joined, bob{t} joined, ann{t} left \(later\), bob{t} quit \("?gone fishing"?\)$'
    )
    await expect(log.get_by_text(line)).to_have_count(1)
    await friend.send(f"PRIVMSG {chan} :after the crowd {t}")
    await expect(log).to_contain_text(f"after the crowd {t}")

    async def check() -> None:
        shown = await rows(page)
        start = index_of(shown, f"before the crowd {t}")
        assert index_of(shown, f"after the crowd {t}") == start + 2, shown
        assert line.search(re.sub(r"^\d\d:\d\d\s*", "", shown[start + 1])), shown
        assert re.match(r"^\d\d:\d\d", shown[start + 1]), shown  # with its time

    await check()
    # the same single line when the history is rendered from scratch
    await page.reload()
    await viewing(page, chan)
    await expect(log).to_contain_text(f"after the crowd {t}")
    await check()


async def test_times_and_days_follow_the_viewers_time_zone(
    new_page: Callable[..., Awaitable[Page]], bc_server: BackchannelServer
) -> None:
    zone = "Asia/Tokyo"  # UTC+9: these messages are one day in UTC, two days in Tokyo
    page = await new_page(locale="en-US", timezone_id=zone)
    t = tag()
    chan, me = f"#tz{t}", f"tz{t}"
    stamps = {
        "join": "2026-03-14T14:05:00.000Z",
        "late": "2026-03-14T14:55:00.000Z",
        "early": "2026-03-14T15:10:00.000Z",
    }
    async with FakeIrcServer() as srv:
        await log_in(page, bc_server)
        net = await add_network_api(page, bc_server, "127.0.0.1", srv.port, me, [chan], f"Fake {t}")
        fc = await srv.accept(15)
        await fc.expect("CAP LS 302")
        fc.send(":fake.irc CAP * LS :server-time")
        while True:
            line = await fc.readline()
            if line.startswith("CAP REQ :"):
                fc.send(f":fake.irc CAP * ACK :{line.removeprefix('CAP REQ :')}")
            elif line == "CAP END":
                break
        await fc.welcome(me)
        await fc.expect(lambda line: line.upper().startswith(f"JOIN {chan.upper()}"), 10)
        fc.send(f"@time={stamps['join']} :{me}!u@h JOIN {chan}")
        fc.send(f"@time={stamps['late']} :zed!u@h PRIVMSG {chan} :late in the evening {t}")
        fc.send(f"@time={stamps['early']} :zed!u@h PRIVMSG {chan} :just after midnight {t}")
        await fc.drain()
        await wait_joined(page, bc_server, net["id"], chan)

        await open_conversation(page, chan)
        await viewing(page, chan)
        log = message_log(page)
        await expect(log).to_contain_text(f"just after midnight {t}")
        late, early = local(stamps["late"], zone), local(stamps["early"], zone)
        assert (late.strftime("%H:%M"), early.strftime("%H:%M")) == ("23:55", "00:10")
        for text, when in ((f"late in the evening {t}", late), (f"just after midnight {t}", early)):
            row = log.locator(".row").filter(has_text=text)
            await expect(row.locator("time")).to_have_text(when.strftime("%H:%M"))
        shown = await rows(page)
        first_day, second_day = f"| {long_date(late)}", f"| {long_date(early)}"
        assert first_day == "| Saturday, March 14, 2026"
        assert [s for s in shown if s.startswith("| ")] == [first_day, second_day], shown
        assert shown[0] == first_day
        assert (
            index_of(shown, f"late in the evening {t}")
            < shown.index(second_day)
            < index_of(shown, f"just after midnight {t}")
        ), shown


# --- history, search, mentions -------------------------------------------------------------


async def test_scrolling_up_pages_back_to_the_first_message(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan = f"#hi{t}"
    await log_in(page, bc_server)
    net_id, _, friend = await network_with(page, bc_server, irc, people, chan)
    lines = [f"history {n:04d} {t}" for n in range(1, 601)]
    friend.writer.write("".join(f"PRIVMSG {chan} :{line}\r\n" for line in lines).encode())
    await friend.writer.drain()
    await stored(page, bc_server, net_id, chan, lines[-1])

    await open_conversation(page, chan)
    await viewing(page, chan)
    log = message_log(page)
    await expect(log.get_by_text(lines[-1], exact=True)).to_be_in_viewport()
    first = log.get_by_text(lines[0], exact=True)
    await expect(first).to_have_count(0)  # only the newest page comes at first
    await expect(page.get_by_text("Beginning of the conversation")).to_have_count(0)

    await log.hover()

    async def scrolled_up() -> bool:
        await page.mouse.wheel(0, -20_000)
        return await first.count() > 0 and await first.is_visible()

    await eventually(scrolled_up, 30, interval=0.2)
    await page.mouse.wheel(0, -20_000)
    await expect(first).to_be_in_viewport()
    await expect(page.get_by_text("Beginning of the conversation")).to_be_visible()
    # the pages join up: no message missing or shown twice
    numbers = [
        int(m.group(1)) for row in await rows(page) if (m := re.search(r"history (\d{4}) ", row))
    ]
    assert numbers == list(range(1, len(numbers) + 1)), numbers
    assert len(numbers) >= 150


async def test_search_finds_a_rare_word_and_jumps_to_it(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    here, there = f"#sa{t}", f"#sb{t}"
    word = f"quokka{t}"
    text = f"the rare word {word} is here"
    await log_in(page, bc_server)
    net_id, _, friend = await network_with(page, bc_server, irc, people, here, there)
    # the message is far from the end of its channel: the jump must load its page
    filler = "".join(f"PRIVMSG {there} :filler {n} {t}\r\n" for n in range(300))
    friend.writer.write(f"PRIVMSG {there} :{text}\r\n{filler}".encode())
    await friend.writer.drain()
    await stored(page, bc_server, net_id, there, f"filler 299 {t}")
    await open_conversation(page, here)
    await viewing(page, here)

    await nav(page).get_by_role("button", name="Search").click()
    panel = page.get_by_role("dialog", name="Search")
    await expect(panel).to_be_visible()
    await panel.get_by_label("Search messages").fill(word)
    await panel.get_by_label("Search messages").press("Enter")
    results = panel.get_by_role("list", name="Search results")
    found = results.get_by_role("listitem").filter(has_text=word)
    await expect(found).to_have_count(1)
    await expect(results.get_by_role("listitem")).to_have_count(1)
    await expect(found).to_contain_text(there)

    await found.get_by_role("button").click()
    await expect(panel).to_be_hidden()
    await viewing(page, there)
    await expect(message_log(page).get_by_text(text)).to_be_in_viewport()


async def test_mentions_view_lists_a_highlight(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    here, there = f"#ma{t}", f"#mb{t}"
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, here, there)
    await open_conversation(page, here)
    await viewing(page, here)
    await friend.send(f"PRIVMSG {there} :not for anyone {t}")
    await friend.send(f"PRIVMSG {there} :{me}, a word with you {t}")
    await expect(conversation(page, there)).to_have_accessible_description("2 unread, 1 mention")

    await nav(page).get_by_role("button", name="Mentions").click()
    panel = page.get_by_role("dialog", name="Mentions")
    listed = panel.get_by_role("list", name="Mentions").get_by_role("listitem")
    mine = listed.filter(has_text=f"a word with you {t}")
    await expect(mine).to_have_count(1)
    await expect(mine).to_contain_text(there)
    await expect(listed.filter(has_text=f"not for anyone {t}")).to_have_count(0)
    await mine.get_by_role("button").click()
    await expect(panel).to_be_hidden()
    await viewing(page, there)
    await expect(message_log(page).get_by_text(f"a word with you {t}")).to_be_visible()


# --- keyboard -----------------------------------------------------------------------------------


async def test_ctrl_k_and_alt_arrows_switch_channels(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    first, second, third = f"#ka{t}", f"#kb{t}", f"#kc{t}"
    await log_in(page, bc_server)
    await network_with(page, bc_server, irc, people, first, second, third)
    await open_conversation(page, first)
    await viewing(page, first)

    await page.keyboard.press("Control+k")
    jump = page.get_by_role("combobox", name="Jump to conversation")
    await expect(jump).to_be_focused()
    await jump.press_sequentially(f"kc{t}")
    options = page.get_by_role("listbox", name="Conversations").get_by_role("option")
    await expect(options).to_have_count(1)
    await expect(options).to_contain_text(third)
    await jump.press("Enter")
    await expect(jump).to_have_count(0)
    await viewing(page, third)

    await page.keyboard.press("Alt+ArrowUp")
    await viewing(page, second)
    await page.keyboard.press("Alt+ArrowUp")
    await viewing(page, first)
    await page.keyboard.press("Alt+ArrowDown")
    await viewing(page, second)

    # Escape closes the box without switching
    await page.keyboard.press("Control+k")
    await expect(jump).to_be_focused()
    await jump.press_sequentially(f"ka{t}")
    await jump.press("Escape")
    await expect(jump).to_have_count(0)
    await viewing(page, second)
