"""The message input and what it sends, in a real Chromium against a real ngircd: Up/Down
recall sent lines, a pasted block of lines is confirmed and then sent line by line, the
/join /part /nick /topic /quote commands, and desktop notifications for highlights
(with a per-channel mute)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.browser.helpers import (
    BackchannelServer,
    conversation,
    irc_user,
    log_in,
    member,
    message_input,
    message_log,
    network_with,
    open_conversation,
    tag,
    viewing,
)
from tests.support.ircclient import IRCClient, Message
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]



def said(nick: str, target: str, text: str | None = None) -> Any:
    def match(m: Message) -> bool:
        return (
            m.command == "PRIVMSG"
            and m.nick == nick
            and m.param(0).lower() == target.lower()
            and (text is None or m.param(-1) == text)
        )

    return match



async def send(box: Locator, line: str) -> None:
    await box.fill(line)
    await box.press("Enter")
    await expect(box).to_have_value("")


# --- the input ---------------------------------------------------------------------------------


async def test_up_and_down_recall_sent_lines(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan = f"#re{t}"
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, chan)
    await open_conversation(page, chan)
    await viewing(page, chan)
    box = message_input(page)
    await send(box, f"first line {t}")
    await send(box, f"second line {t}")
    await friend.expect(said(me, chan, f"second line {t}"))

    await box.press_sequentially(f"a draft {t}")
    await box.press("ArrowUp")
    await expect(box).to_have_value(f"second line {t}")
    await box.press("ArrowUp")
    await expect(box).to_have_value(f"first line {t}")
    await box.press("ArrowUp")  # nothing older
    await expect(box).to_have_value(f"first line {t}")
    await box.press("ArrowDown")
    await expect(box).to_have_value(f"second line {t}")
    await box.press("ArrowDown")  # back to what was being typed
    await expect(box).to_have_value(f"a draft {t}")

    # a recalled line is sent again with Enter
    await box.fill("")
    await box.press("ArrowUp")
    await box.press("ArrowUp")
    await expect(box).to_have_value(f"first line {t}")
    await box.press("Enter")
    await expect(box).to_have_value("")
    await friend.expect(said(me, chan, f"first line {t}"))


async def test_a_pasted_block_of_lines_is_confirmed_then_sent_in_order(
    page: Page,
    context: BrowserContext,
    bc_server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    chan = f"#pa{t}"
    lines = [f"pasted one {t}", f"pasted two {t}", f"pasted three {t}"]
    await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=bc_server.url)
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, chan)
    await open_conversation(page, chan)
    await viewing(page, chan)
    box = message_input(page)
    await box.click()
    await page.evaluate("text => navigator.clipboard.writeText(text)", "\n".join(lines) + "\n")
    await page.keyboard.press("Control+V")

    question = page.get_by_role("dialog", name="Send 3 lines?")
    await expect(question).to_be_visible()
    await expect(question).to_contain_text(f"This sends 3 messages to {chan}.")
    # Cancel: nothing is sent, the lines wait in the input
    await question.get_by_role("button", name="Cancel").click()
    await expect(question).to_be_hidden()
    await expect(box).to_have_value("\n".join(lines))

    # Enter asks again; "Send all lines" sends each line, in order
    await box.press("End")
    await box.press("Enter")
    await expect(question).to_be_visible()
    await question.get_by_role("button", name="Send all lines").click()
    await expect(question).to_be_hidden()
    await expect(box).to_have_value("")
    got = [(await friend.expect(said(me, chan))).param(-1) for _ in lines]
    assert got == lines
    await friend.sync()
    assert [m.param(-1) for m in friend.received if said(me, chan)(m)] == lines  # once each
    for line in lines:
        await expect(message_log(page).get_by_text(line, exact=True)).to_have_count(1)


# --- commands ----------------------------------------------------------------------------------


async def test_join_topic_and_part_commands(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    home, fresh = f"#ho{t}", f"#cm{t}"
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, home)
    await open_conversation(page, home)
    await viewing(page, home)
    box = message_input(page)

    # /join: a new channel (alice creates it, so she is its operator), opened at once
    await send(box, f"/join {fresh}")
    await viewing(page, fresh)
    await expect(member(page, me)).to_be_visible()
    watcher = await irc_user(irc.host, irc.port, f"wa{t}", fresh)
    people.append(watcher)
    await expect(member(page, f"wa{t}")).to_be_visible()

    # /topic: the channel's topic, in the topic bar and for the others
    topic = f"plans for the weekend {t}"
    await send(box, f"/topic {topic}")
    got = await watcher.expect(lambda m: m.command == "TOPIC" and m.nick == me)
    assert got.params == [fresh, topic]
    topic_bar = page.locator("header").filter(has=page.get_by_role("heading", name=fresh))
    await expect(topic_bar.get_by_text(topic)).to_be_visible()
    await expect(message_log(page)).to_contain_text(f"{me} changed the topic to: {topic}")

    # /part: alice leaves; the channel leaves the Networks nav
    await send(box, f"/part {fresh} off to bed")
    got = await watcher.expect(lambda m: m.command == "PART" and m.nick == me)
    assert got.params == [fresh, "off to bed"]
    await expect(conversation(page, fresh)).to_have_count(0)
    await expect(conversation(page, home)).to_be_visible()
    await friend.sync()  # the friend, in another channel, still sees alice there
    assert not any(m.command == "PART" for m in friend.received)


async def test_nick_and_quote_commands(
    page: Page, bc_server: BackchannelServer, irc: NgIRCd, people: list[IRCClient]
) -> None:
    t = tag()
    chan = f"#nq{t}"
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, chan)
    await open_conversation(page, chan)
    await viewing(page, chan)
    box = message_input(page)

    renamed = f"new{t}"
    await send(box, f"/nick {renamed}")
    got = await friend.expect(lambda m: m.command == "NICK" and m.nick == me)
    assert got.param(0) == renamed
    await expect(member(page, renamed)).to_be_visible()
    await expect(member(page, me)).to_have_count(0)
    await expect(message_log(page)).to_contain_text(f"{me} is now {renamed}")
    await expect(page.locator("form.composer")).to_contain_text(renamed)  # the input's nick

    # /quote: a raw line, exactly as typed
    await send(box, f"/quote PRIVMSG {friend.nick} :raw and direct {t}")
    got = await friend.expect(said(renamed, friend.nick or ""))
    assert got.param(-1) == f"raw and direct {t}"
    await send(box, f"/quote NOTICE {chan} :a raw notice {t}")
    got = await friend.expect(lambda m: m.command == "NOTICE" and m.nick == renamed)
    assert got.params == [chan, f"a raw notice {t}"]


# --- desktop notifications ---------------------------------------------------------------------

# window.Notification replaced before the page loads: it records what would be shown
RECORDER = """
(() => {
  const shown = [];
  class RecordedNotification {
    constructor(title, options = {}) {
      this.title = title;
      this.body = options.body ?? "";
      shown.push({ title, body: this.body, tag: options.tag ?? "" });
    }
    close() {}
    static get permission() { return "granted"; }
    static requestPermission() { return Promise.resolve("granted"); }
  }
  Object.defineProperty(window, "Notification", {
    value: RecordedNotification, configurable: true, writable: true,
  });
  Object.defineProperty(window, "__notifications", { value: shown });
})();
"""


async def notifications(page: Page) -> list[dict[str, str]]:
    shown: list[dict[str, str]] = await page.evaluate("() => window.__notifications")
    return shown


async def test_highlights_notify_with_plain_text_unless_muted(
    page: Page,
    context: BrowserContext,
    bc_server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
) -> None:
    t = tag()
    here, there = f"#no{t}", f"#nt{t}"
    await context.grant_permissions(["notifications"], origin=bc_server.url)
    await page.add_init_script(RECORDER)
    await log_in(page, bc_server)
    _, me, friend = await network_with(page, bc_server, irc, people, here, there)
    await open_conversation(page, here)
    await viewing(page, here)

    # a highlight in a channel not on screen: one notification, in plain text
    await friend.send(
        f"PRIVMSG {there} :\x02hey\x02 {me}, \x0304,01look\x03 at \x1d\x1fthis\x0f {t}"
    )
    await page.wait_for_function("() => window.__notifications.length > 0")
    (note,) = await notifications(page)
    assert note["body"] == f"hey {me}, look at this {t}", note
    assert note["title"].startswith(f"{friend.nick} in {there}"), note
    for value in note.values():
        assert not re.search(r"[\x00-\x1f\x7f]", value), note

    # a highlight in the channel on screen: none
    await friend.send(f"PRIVMSG {here} :{me}: you see this one {t}")
    await expect(message_log(page)).to_contain_text(f"you see this one {t}")

    # muted (the toggle in the topic bar of that channel): none
    await open_conversation(page, there)
    await viewing(page, there)
    mute = page.get_by_role("button", name="Mute notifications")
    await expect(mute).to_have_attribute("aria-pressed", "false")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await open_conversation(page, here)
    await viewing(page, here)
    await expect(mute).to_have_attribute("aria-pressed", "false")  # only that channel
    await friend.send(f"PRIVMSG {there} :{me}: quietly now {t}")
    await expect(conversation(page, there)).to_have_accessible_description("1 unread, 1 mention")
    assert len(await notifications(page)) == 1  # the event has been handled: no new one

    # the mute is remembered; unmuted, highlights notify again
    await page.reload()
    await open_conversation(page, there)
    await viewing(page, there)
    await expect(mute).to_have_attribute("aria-pressed", "true")
    await mute.click()
    await expect(mute).to_have_attribute("aria-pressed", "false")
    await open_conversation(page, here)
    await viewing(page, here)
    await friend.send(f"PRIVMSG {there} :{me}: loud again {t}")
    await page.wait_for_function("() => window.__notifications.length > 0")
    (note,) = await notifications(page)  # a fresh page: its first one
    assert note["body"] == f"{me}: loud again {t}", note
