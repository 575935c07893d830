"""Hostile text in every field the page shows, rendered by the real app in Chromium: nothing
may run, no element may come out of it, and every payload must be shown literally.

Fields: message text (PRIVMSG, NOTICE, ACTION, CTCP requests and replies), nicks (senders,
the nick list, joins, parts, quits, kicks, nick changes, our own nick), topics (the topic bar,
topic lines, who changed it), channel names (sidebar, topic bar, page title, quick jump,
search and mentions), realnames and user@host (WHOIS replies; our realname in the network
form), server lines (welcome, numerics, MOTD, server notices, FAIL, ERROR, INVITE, nick
errors), the network name (typed in the network form), link text and URLs (javascript:,
data:, vbscript:, quotes and angle brackets in URLs), mIRC formatting edge cases (codes
inside tags and entities, unterminated codes), part and quit reasons, away replies (WHOIS
301), and desktop notifications. Away changes of others (AWAY, by away-notify) are sent too,
though the page does not show them: they must not run either.

Message text and topics come from a real ngircd; nicks, channel names and server lines that
a real server refuses come from the scripted fake server (tests/support/fakeircd.py).

Every payload would leave a trace if it ran: it sets ``window.__xss`` (a trapped property),
calls a dialog (``alert``...: trapped, and ``page.on("dialog")``) or sets ``document.title``
(every assignment is recorded). An init script also records: elements and attributes that
could run or load something (a MutationObserver from page load on, and a scan at the end),
links whose scheme is not http/https/irc, and any use of an HTML sink (innerHTML,
outerHTML, insertAdjacentHTML, document.write, createContextualFragment, DOMParser,
setHTMLUnsafe) with a string that holds a payload. The conftest fails a test on console
errors (a broken ``<img src=x>`` would log one) and on CSP violations.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Dialog, Page, expect

from tests.browser.helpers import (
    BackchannelServer,
    add_network_api,
    eventually,
    irc_user,
    log_in,
    message_log,
    nav,
    open_conversation,
    tag,
    wait_joined,
)
from tests.support.fakeircd import FakeClient, FakeIrcServer
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.ircd]

# --- the corpus ----------------------------------------------------------------------------

#: free text (spaces allowed): message text, topics, reasons, realnames, server lines
TEXTS = [
    "<script>window.__xss=1</script>",
    '<img src=x onerror="window.__xss=2">',
    "<svg onload=window.__xss=3><animate onbegin=window.__xss=3 attributeName=x>",
    '"><iframe srcdoc="<script>parent.__xss=4</script>"></iframe>',
    "javascript:window.__xss=5",
    "' onmouseover='window.__xss=6' x='",
    "` onfocus=`window.__xss=7` autofocus x=`",
    "{{constructor.constructor('window.__xss=8')()}}",
    "&lt;script&gt;window.__xss=9&lt;/script&gt; &#60;b&#62;xss&amp;",
    "</textarea><img src=x onerror=window.__xss=10>",
    "\u202e<img src=x onerror=window.__xss=11>\u202c rtl \u200bzero\u200dwidth\ufeff xss",
    '<a href="javascript:window.__xss=12">xss</a>',
    "data:text/html,<script>window.__xss=13</script>",
    "vbscript:msgbox(xss)",
    "<img src=x onerror=\"document.title='PWNED xss'\">",
    "</title><script>document.title='PWNED xss'</script>",
    "${window.__xss=14} <% xss %> #{xss}",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=15>",
]

#: URLs: link text and hrefs (only http, https and irc may become links)
LINKS = [
    'https://example.com/"><img src=x onerror=window.__xss=20>',
    "https://example.com/'onmouseover='window.__xss=21' x",
    "https://example.com/<script>window.__xss=22</script>",
    "see http://example.com/?q=<svg/onload=window.__xss=23>&x=\"`' now",
    "irc://example.com/#<img src=x onerror=window.__xss=24>",
    "JaVaScRiPt:window.__xss=25 java\tscript:window.__xss=26 "
    "data:text/html;base64,PHNjcmlwdD54c3M8L3NjcmlwdD4= vbscript:msgbox(27)",
]

#: mIRC formatting edge cases: (raw text, what must be shown)
EDGES = [
    ("\x0304<scr\x03ipt>window.__xss=30</scr\x0312,01ipt>", "<script>window.__xss=30</script>"),
    ("\x02<img src=x onerror=window.__xss=31>", "<img src=x onerror=window.__xss=31>"),
    ("\x0304,<svg onload=window.__xss=32>\x03", ",<svg onload=window.__xss=32>"),
    ("\x03999<b>xss</b>", "9<b>xss</b>"),
    ("\x04ff00<i>xss</i>", "ff00<i>xss</i>"),
    ("\x04ff0000,00ff<u>xss</u>\x04", ",00ff<u>xss</u>"),
    (
        "&l\x16t;script&g\x0ft;window.__xss=33&\x1dl\x1dt;/script&gt;",
        "&lt;script&gt;window.__xss=33&lt;/script&gt;",
    ),
    ("<\x0fimg src=x one\x1drror=window.__xss=34>", "<img src=x onerror=window.__xss=34>"),
    (
        "\x1f\x1e\x11\x16\x0f</span><img src=x onerror=window.__xss=35>",
        "</span><img src=x onerror=window.__xss=35>",
    ),
    (
        '\x02https://exa\x02mple.com/\x0304"><img src=x onerror=window.__xss=36>',
        'https://example.com/"><img src=x onerror=window.__xss=36>',
    ),
    (
        "\x03\x02\x0f\x16\x1d\x1f\x03,\x0312,<script>window.__xss=37</script>",
        ",,<script>window.__xss=37</script>",
    ),
    (
        "x\x07\x08<img src=x onerror=window.__xss=38>\x7f\u009b",
        "x<img src=x onerror=window.__xss=38>",
    ),
]

#: (raw, shown) for every free-text payload
PLAIN = [(text, text) for text in TEXTS + LINKS] + EDGES

#: nicks: no spaces, "!" or "@", and not starting with ":" or a rank prefix
NICKS = [
    "<img/src=x/onerror=window.__xss=101>",
    "<svg/onload=window.__xss=102>",
    '"><script>window.__xss=103</script>',
    "{{constructor.constructor('window.__xss=104')()}}",
    "'`\"><iframe/srcdoc=<script>parent.__xss=105</script>>",
    "&lt;b&gt;xss&#60;",
    "\u202eevil\u200bxss<b>",
    "javascript:window.__xss=106",
]
OWN_NICK = "<img/src=x/onerror=window.__xss=100>"

#: channel names (the one with spaces comes as a JOIN's trailing parameter)
CHANNELS = [
    "#<img/src=x/onerror=window.__xss=201>",
    '#"><svg/onload=window.__xss=202>',
    "#</title><script>window.__xss=203</script>",
    "#&lt;script&gt;xss\u202e",
    "#<img src=x onerror=window.__xss=204>",
]
INVITED = "#<iframe/srcdoc=<script>parent.__xss=205</script>>"

NETWORK_NAME = "<img src=x onerror=window.__xss=300>\"'`</title>&lt;"
REALNAME = "<svg onload=window.__xss=301> '\"` &amp;"
USER = '"><img/src=x/onerror=window.__xss=302>'
HOST = "<svg/onload=window.__xss=303>.example"
AWAY = "<img src=x onerror=window.__xss=304> away"

# --- the traps -----------------------------------------------------------------------------

TRAPS = r"""
(() => {
  const hits = [];   // payloads that ran
  const sinks = [];  // payloads given to an HTML parser
  const seen = [];   // dangerous elements and attributes, as they appear
  const titles = []; // every document.title assignment
  const notes = [];  // desktop notifications
  let last;
  Object.defineProperty(window, '__xss', {
    configurable: false,
    get() { return last; },
    set(value) { last = value; hits.push('window.__xss = ' + value); },
  });
  for (const name of ['alert', 'confirm', 'prompt', 'print']) {
    window[name] = (...args) => { hits.push(name + '(' + args.join(', ') + ')'); };
  }
  const titleProp = Object.getOwnPropertyDescriptor(Document.prototype, 'title');
  Object.defineProperty(Document.prototype, 'title', {
    configurable: true,
    get() { return titleProp.get.call(this); },
    set(value) {
      titles.push(String(value));
      if (/^PWNED/.test(String(value))) hits.push('document.title = ' + value);
      titleProp.set.call(this, value);
    },
  });

  const hostile = (value) => typeof value === 'string' && /xss|PWNED/i.test(value);
  const watch = (proto, name, label) => {
    const prop = Object.getOwnPropertyDescriptor(proto, name);
    if (!prop) return;
    if (prop.set) {
      Object.defineProperty(proto, name, {
        ...prop,
        set(value) {
          if (hostile(value)) sinks.push(label + ': ' + value);
          prop.set.call(this, value);
        },
      });
    } else if (typeof prop.value === 'function') {
      const original = prop.value;
      proto[name] = function (...args) {
        if (args.some(hostile)) sinks.push(label + ': ' + args.filter(hostile).join(' | '));
        return original.apply(this, args);
      };
    }
  };
  watch(Element.prototype, 'innerHTML', 'innerHTML');
  watch(ShadowRoot.prototype, 'innerHTML', 'shadow innerHTML');
  watch(Element.prototype, 'outerHTML', 'outerHTML');
  watch(Element.prototype, 'insertAdjacentHTML', 'insertAdjacentHTML');
  watch(Element.prototype, 'setHTMLUnsafe', 'setHTMLUnsafe');
  watch(Document.prototype, 'write', 'document.write');
  watch(Document.prototype, 'writeln', 'document.writeln');
  watch(Range.prototype, 'createContextualFragment', 'createContextualFragment');
  watch(DOMParser.prototype, 'parseFromString', 'DOMParser');
  watch(HTMLIFrameElement.prototype, 'srcdoc', 'srcdoc');

  window.Notification = class {
    constructor(title, options) { notes.push({title, body: options.body}); }
    close() {}
  };
  window.Notification.permission = 'granted';
  window.Notification.requestPermission = async () => 'granted';

  // Elements that run or load things, event handler attributes, odd links and styles.
  const BAD = new Set(['SCRIPT', 'IMG', 'IMAGE', 'SVG', 'MATH', 'IFRAME', 'FRAME', 'FRAMESET',
    'OBJECT', 'EMBED', 'APPLET', 'PORTAL', 'VIDEO', 'AUDIO', 'SOURCE', 'TRACK', 'PICTURE',
    'STYLE', 'LINK', 'META', 'BASE', 'TEMPLATE', 'NOSCRIPT', 'XMP', 'MARQUEE', 'BGSOUND',
    'ANIMATE', 'SET', 'MGLYPH', 'MTEXT', 'BODY', 'HTML', 'HEAD', 'TITLE']);
  const URL_ATTRS = new Set(['href', 'src', 'action', 'formaction', 'xlink:href', 'data',
    'srcdoc', 'srcset', 'poster', 'background', 'ping', 'codebase', 'lowsrc', 'dynsrc']);
  const SCHEMES = new Set(['http:', 'https:', 'irc:']);
  const initial = new WeakSet();
  const describe = (el) => el.outerHTML.slice(0, 160);
  function problems(el) {
    const out = [];
    if (initial.has(el)) return out;
    if (BAD.has(el.tagName.toUpperCase()) || el.namespaceURI !== 'http://www.w3.org/1999/xhtml') {
      out.push('element: ' + describe(el));
    }
    for (const attr of el.attributes) {
      const name = attr.name.toLowerCase();
      if (name.startsWith('on')) out.push('handler ' + name + ': ' + describe(el));
      else if (URL_ATTRS.has(name) && !(el.tagName === 'A' && name === 'href')) {
        out.push('attribute ' + name + ': ' + describe(el));
      } else if (name === 'style' && /url\(|expression|script|@import|behavior/i.test(attr.value)) {
        out.push('style: ' + describe(el));
      }
    }
    if (el.tagName === 'A' && el.hasAttribute('href')) {
      if (!SCHEMES.has(el.protocol)) out.push('link ' + el.protocol + ': ' + describe(el));
      if (el.target !== '_blank' || !/noopener/.test(el.rel)) {
        out.push('link opener: ' + describe(el));
      }
      // the link text is the link: no hidden destination
      let shown = null;
      try { shown = new URL(el.textContent).href; } catch (e) { shown = null; }
      if (shown !== el.href) {
        out.push('link text ' + JSON.stringify(el.textContent) + ' -> ' + el.href);
      }
    }
    return out;
  }
  const check = (node) => {
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    seen.push(...problems(node));
    for (const el of node.querySelectorAll('*')) seen.push(...problems(el));
  };
  const observer = new MutationObserver((records) => {
    for (const record of records) {
      if (record.type === 'attributes') check(record.target);
      else for (const node of record.addedNodes) check(node);
    }
  });
  document.addEventListener('DOMContentLoaded', () => {
    for (const el of document.querySelectorAll('*')) initial.add(el);
    observer.observe(document, {childList: true, subtree: true, attributes: true});
  });

  window.__xssReport = () => {
    for (const record of observer.takeRecords()) {
      if (record.type === 'attributes') check(record.target);
      else for (const node of record.addedNodes) check(node);
    }
    const now = [];
    for (const el of document.querySelectorAll('*')) now.push(...problems(el));
    return {hits: [...hits], sinks: [...sinks], seen: [...new Set(seen)], now, titles: [...titles],
            notes: [...notes], title: document.title};
  };
})();
"""


async def armed(context: BrowserContext, page: Page) -> list[str]:
    """Installs the traps in the page's context; the dialogs it opens, as a list."""
    await context.add_init_script(TRAPS)
    dialogs: list[str] = []

    async def on_dialog(dialog: Dialog) -> None:
        dialogs.append(f"{dialog.type}: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    return dialogs


async def nothing_ran(page: Page, dialogs: list[str]) -> dict[str, Any]:
    """Hovers and focuses around, then asserts no payload ran or became markup; the report."""
    for selector in ("[role=log]", ".topic-bar", "nav", ".nicklist"):
        box = await page.locator(selector).first.bounding_box()
        if box:
            await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    await page.keyboard.press("Tab")
    await page.wait_for_timeout(200)  # timers and image errors
    report: dict[str, Any] = await page.evaluate("() => window.__xssReport()")
    assert dialogs == []
    assert report["hits"] == []
    assert report["sinks"] == []
    assert report["seen"] == []
    assert report["now"] == []
    assert await page.evaluate("() => window.__xss") is None
    assert not report["title"].startswith("PWNED")
    return report


# --- reading the page ----------------------------------------------------------------------

ROWS = "() => [...document.querySelectorAll('[role=log] .row .body')].map(b => b.textContent)"


async def rows_missing(page: Page, expected: list[str]) -> list[str]:
    shown = set(await page.evaluate(ROWS))
    return [row for row in expected if row not in shown]


async def shows_rows(page: Page, expected: list[str], timeout: float = 20) -> None:
    """Every expected row body is in the log, exactly (waits for them)."""

    async def done() -> bool:
        return not await rows_missing(page, expected)

    try:
        await eventually(done, timeout)
    except AssertionError:
        missing = await rows_missing(page, expected)
        shown = await page.evaluate(ROWS)
        raise AssertionError(f"rows not shown: {missing!r}\nshown: {shown!r}") from None


async def text_of(page: Page, selector: str) -> str:
    text: str = await page.locator(selector).first.evaluate("e => e.textContent")
    return text


async def open_by_name(page: Page, name: str) -> None:
    """Clicks the conversation whose name is exactly ``name`` in the Networks nav."""
    clicked = await nav(page).evaluate(
        """(nav, name) => {
          const b = [...nav.querySelectorAll('button.target')]
            .find(b => b.querySelector('.target-name').textContent === name);
          if (b) b.click();
          return !!b;
        }""",
        name,
    )
    assert clicked, f"no conversation {name!r} in the nav"
    await expect(page.locator(".topic-title")).to_have_text(name, use_inner_text=False)


async def sidebar_names(page: Page) -> list[str]:
    names: list[str] = await nav(page).evaluate(
        "nav => [...nav.querySelectorAll('.target-name')].map(n => n.textContent)"
    )
    return names


# --- message text and topics through a real ngircd ---------------------------------------------


async def test_hostile_text_and_topics_from_a_real_server(
    context: BrowserContext,
    page: Page,
    bc_server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
) -> None:
    dialogs = await armed(context, page)
    t = tag()
    chan, me, friend_nick, net_name = f"#x{t}", f"me{t}", f"fr{t}", f"Net {t}"
    friend = await irc_user(irc.host, irc.port, friend_nick, chan)
    people.append(friend)
    first_topic = TEXTS[1] + " " + EDGES[0][0]
    await friend.send(f"TOPIC {chan} :{first_topic}")
    await friend.expect(lambda m: m.command == "TOPIC")

    await log_in(page, bc_server)
    net = await add_network_api(page, bc_server, irc.host, irc.port, me, [chan], name=net_name)
    await wait_joined(page, bc_server, net["id"], chan)
    await open_conversation(page, chan)
    await expect(page.locator(".topic-title")).to_have_text(chan)

    expected = [f"Topic: {TEXTS[1]} {EDGES[0][1]}"]
    lines = []
    for raw, shown in PLAIN:
        lines.append(f"PRIVMSG {chan} :{raw}")
        lines.append(f"NOTICE {chan} :{raw}")
        lines.append(f"PRIVMSG {chan} :\x01ACTION {raw}\x01")
        expected += [
            f"{friend_nick} {shown}",
            f"-{friend_nick}- {shown}",
            f"* {friend_nick} {shown}",
        ]
    topics = [
        (TEXTS[0], TEXTS[0]),
        EDGES[6],
        (TEXTS[3] + " " + LINKS[0], TEXTS[3] + " " + LINKS[0]),
    ]
    for raw, shown in topics:
        lines.append(f"TOPIC {chan} :{raw}")
        expected.append(f"{friend_nick} changed the topic to: {shown}")
    # in private: text, CTCP requests (a hostile verb too) and CTCP replies
    query = []
    for raw, shown in PLAIN[:8]:
        lines.append(f"PRIVMSG {me} :{raw}")
        query.append(f"{friend_nick} {shown}")
    for text in TEXTS[:6] + LINKS[:2]:
        lines.append(f"PRIVMSG {me} :\x01XSSTEST {text}\x01")
        lines.append(f"NOTICE {me} :\x01VERSION {text}\x01")
        query.append(f"{friend_nick} sent CTCP XSSTEST {text}")
        query.append(f"CTCP VERSION reply from {friend_nick}: {text}")
    verb = "<svg/onload=window.__xss=40>"
    lines.append(f"PRIVMSG {me} :\x01{verb} {TEXTS[1]}\x01")
    query.append(f"{friend_nick} sent CTCP {verb.upper()} {TEXTS[1]}")
    friend.writer.write("".join(f"{line}\r\n" for line in lines).encode())
    await friend.writer.drain()
    await friend.sync()

    await shows_rows(page, expected)
    assert await text_of(page, ".topic-text") == topics[-1][1]
    assert (await page.title()).endswith(f"{chan} — Backchannel")
    # links: only http(s)/irc, their text is where they go (checked by the traps), and the
    # URLs with markup in them do become links up to the first quote or angle bracket
    hrefs = await message_log(page).evaluate(
        "log => [...log.querySelectorAll('a')].map(a => a.href)"
    )
    assert "https://example.com/" in hrefs
    assert not [h for h in hrefs if not h.startswith(("http://", "https://", "irc://"))]
    await nothing_ran(page, dialogs)

    # the private conversation: sidebar, title, rows; notifications are plain text
    await open_by_name(page, friend_nick)
    await shows_rows(page, query)
    assert (await page.title()).endswith(f"{friend_nick} — Backchannel")
    assert await text_of(page, ".topic-text") == f"Private conversation on {net_name}"
    report = await nothing_ran(page, dialogs)
    bodies = {note["body"] for note in report["notes"]}
    for _, shown in PLAIN[:8]:
        assert shown in bodies, (shown, bodies)
    assert {note["title"] for note in report["notes"]} == {f"{friend_nick} ({net_name})"}


# --- names and server lines through the scripted fake server ----------------------------------


async def handshake(fc: FakeClient) -> str:
    """Reads the client's registration (answering CAP LS with no caps); its USER line."""
    user_line = ""
    nick_seen = cap_done = False
    cap_started = False
    while not (nick_seen and user_line and (cap_done or not cap_started)):
        line = await fc.readline(15)
        verb = line.split(" ", 1)[0].upper()
        if verb == "CAP" and line.upper().startswith("CAP LS"):
            cap_started = True
            fc.send(f":{fc.server_name} CAP * LS :")
        elif verb == "CAP" and line.upper() == "CAP END":
            cap_done = True
        elif verb == "NICK":
            nick_seen = True
        elif verb == "USER":
            user_line = line
    return user_line


async def test_hostile_names_and_server_lines_from_a_scripted_server(
    context: BrowserContext,
    page: Page,
    bc_server: BackchannelServer,
) -> None:
    dialogs = await armed(context, page)
    t = tag()
    me = OWN_NICK
    main = CHANNELS[0]
    needle = f"needle{t}"
    async with FakeIrcServer() as srv:
        s = srv.server_name
        await log_in(page, bc_server)
        # the network, named in the form; our realname too
        await page.get_by_role("button", name="Add network").click()
        await page.get_by_label("Name", exact=True).fill(NETWORK_NAME)
        await page.get_by_label("Server", exact=True).fill("127.0.0.1")
        await page.get_by_label("Port", exact=True).fill(str(srv.port))
        await page.get_by_label("Use TLS", exact=True).set_checked(False)
        await page.get_by_label("Nick", exact=True).fill(f"me{t}")
        await page.get_by_label("Real name", exact=True).fill(REALNAME)
        await page.get_by_role("button", name="Save").click()

        fc = await srv.accept(15)
        user_line = await handshake(fc)
        assert user_line.endswith(f":{REALNAME}"), user_line
        lines = [
            f":{s} 001 {me} :Welcome {TEXTS[1]} {me}",
            f":{s} 002 {me} :Your host is {TEXTS[2]}",
            f":{s} 005 {me} CASEMAPPING=rfc1459 CHANTYPES=# PREFIX=(ov)@+ NETWORK=<b>x</b> "
            ":are supported by this server",
            f":{s} 375 {me} :- {s} Message of the day -",
            *(f":{s} 372 {me} :- {raw}" for raw, _ in PLAIN),
            f":{s} 376 {me} :End of /MOTD command.",
            f":{s} NOTICE {me} :{TEXTS[0]} {LINKS[0]}",
        ]
        for line in lines:
            fc.send(line)
        await fc.drain()
        # the rest once the page knows the network (its notifications name it)
        title = page.locator(".topic-title")
        await expect(title).to_have_text(NETWORK_NAME, use_inner_text=False)
        lines = []
        motd = "\n".join(shown for _, shown in PLAIN)
        server_rows = [
            f"Welcome {TEXTS[1]} {me}",
            f"Your host is {TEXTS[2]}",
            motd,
            f"-{s}- {TEXTS[0]} {LINKS[0]}",
        ]
        # forced into hostile channels (the last one with spaces, as a trailing parameter)
        for chan in CHANNELS[:-1]:
            lines.append(f":{me}!u@h JOIN {chan}")
        lines.append(f":{me}!u@h JOIN :{CHANNELS[-1]}")
        topic0 = f"{TEXTS[3]} \x02{EDGES[6][0]}"
        lines += [
            f":{s} 332 {me} {main} :{topic0}",
            f":{s} 333 {me} {main} {NICKS[0]}!{USER}@{HOST} 1700000000",
            f":{s} 353 {me} = {main} :@{me} @{NICKS[0]} +{NICKS[1]} {NICKS[2]} {NICKS[3]}",
            f":{s} 366 {me} {main} :End of /NAMES list.",
        ]
        rows = [f"Topic: {TEXTS[3]} {EDGES[6][1]}"]
        # each nick joins or speaks, with other lines between membership lines (a run of
        # more than six joins/parts is summed up and would not name everyone)
        for i, nick in enumerate(NICKS):
            mask = f"{nick}!{USER}@{HOST}"
            if i >= 4:
                lines.append(f":{mask} JOIN {main}")
                rows.append(f"{nick} joined")
            raw, shown = PLAIN[i]
            lines.append(f":{mask} PRIVMSG {main} :{raw}")
            lines.append(f":{mask} NOTICE {main} :{raw}")
            lines.append(f":{mask} PRIVMSG {main} :\x01ACTION {raw}\x01")
            rows += [f"{nick} {shown}", f"-{nick}- {shown}", f"* {nick} {shown}"]
        m0 = f"{NICKS[0]}!{USER}@{HOST}"
        m1 = f"{NICKS[1]}!{USER}@{HOST}"
        highlight = f"{me}: {TEXTS[1]} {needle}"
        renamed = "<img/src=y/onerror=window.__xss=107>"
        lines += [
            f":{m0} PRIVMSG {main} :{highlight}",
            f":{m0} TOPIC {main} :{TEXTS[0]} {EDGES[0][0]}",
            f":{m0} MODE {main} +o {NICKS[2]}",
            f":{m0} KICK {main} {NICKS[3]} :{TEXTS[4]} {TEXTS[1]}",
            f":{NICKS[4]}!u@h NICK :{renamed}",
            f":{m1} PRIVMSG {main} :between",
            f":{NICKS[5]}!u@h PART {main} :{TEXTS[1]}",
            f":{m1} PRIVMSG {main} :and",
            f":{NICKS[6]}!u@h QUIT :Quit: {TEXTS[2]}",
            f":{m1} PRIVMSG {main} :more",
            f":{m1} PRIVMSG {main} :\x01XSSTEST {TEXTS[5]}\x01",
        ]
        rows += [
            f"{NICKS[0]} {highlight}",
            f"{NICKS[0]} changed the topic to: {TEXTS[0]} {EDGES[0][1]}",
            f"{NICKS[0]} sets mode +o {NICKS[2]}",
            f"{NICKS[3]} was kicked by {NICKS[0]} ({TEXTS[4]} {TEXTS[1]})",
            f"{NICKS[4]} is now {renamed}",
            f"{NICKS[5]} left ({TEXTS[1]})",
            f"{NICKS[6]} quit (Quit: {TEXTS[2]})",
            f"{NICKS[1]} sent CTCP XSSTEST {TEXTS[5]}",
        ]
        members = {me: "@", NICKS[0]: "@", NICKS[1]: "+", NICKS[2]: "@", renamed: "", NICKS[7]: ""}
        # other channels: a line each (not the one with a space: no PRIVMSG can name it)
        for chan in CHANNELS[1:-1]:
            lines.append(f":{m1} PRIVMSG {chan} :{TEXTS[2]} {chan}")
        # private messages from hostile nicks
        lines += [
            f":{m1} PRIVMSG {me} :{TEXTS[0]} {needle}",
            f":{NICKS[7]}!{USER}@{HOST} PRIVMSG {me} :{EDGES[1][0]}",
            f":{m1} NOTICE {me} :\x01VERSION {TEXTS[3]}\x01",
        ]
        query_rows = [
            f"{NICKS[1]} {TEXTS[0]} {needle}",
            f"CTCP VERSION reply from {NICKS[1]}: {TEXTS[3]}",
        ]
        # WHOIS of a hostile user, with realname, user@host, away message, channels
        lines += [
            f":{s} 311 {me} {NICKS[0]} {USER} {HOST} * :{REALNAME}",
            f":{s} 312 {me} {NICKS[0]} {s} :{TEXTS[6]}",
            f":{s} 319 {me} {NICKS[0]} :@{main} {CHANNELS[1]}",
            f":{s} 301 {me} {NICKS[0]} :{AWAY}",
            f":{s} 317 {me} {NICKS[0]} 5 1700000000 :seconds idle, signon time",
            f":{s} 318 {me} {NICKS[0]} :End of /WHOIS list.",
            f":{m0} AWAY :{AWAY}",
            f":{s} 401 {me} {NICKS[1]} :No such nick {TEXTS[7]}",
            f":{s} 433 {me} {NICKS[2]} :Nickname is already in use {TEXTS[8]}",
            f"FAIL {NICKS[3]} BAD_{t} :{TEXTS[9]}",
            f":{m1} INVITE {me} {INVITED}",
        ]
        server_rows += [
            f"{NICKS[0]} {USER} {HOST}: {REALNAME}",
            f"{NICKS[0]} {s}: {TEXTS[6]}",
            f"{NICKS[0]}: @{main} {CHANNELS[1]}",
            f"{NICKS[0]} is away: {AWAY}",
            f"{NICKS[1]}: No such nick {TEXTS[7]}",
            f"Nick {NICKS[2]} refused: Nickname is already in use {TEXTS[8]}",
            f"FAIL {NICKS[3]} BAD_{t}: {TEXTS[9]}",
            f"{NICKS[1]} invited you to {INVITED}",
        ]
        for line in lines:
            fc.send(line)
        await fc.drain()

        listed = await (await page.request.get(bc_server.url + "/api/networks")).json()
        net_id = next(n["id"] for n in listed["networks"] if n["name"] == NETWORK_NAME)
        await wait_joined(page, bc_server, net_id, main)

        # the network's own buffer (open since the form was saved)
        await expect(title).to_have_text(NETWORK_NAME, use_inner_text=False)
        await shows_rows(page, server_rows)
        assert await text_of(page, ".topic-text") == f"Connected as {me}"
        # highlights and private messages seen from elsewhere: plain-text notifications
        expected_notes = [
            {"title": f"{NICKS[0]} in {main} ({NETWORK_NAME})", "body": highlight},
            {"title": f"{NICKS[1]} ({NETWORK_NAME})", "body": f"{TEXTS[0]} {needle}"},
            {"title": f"{NICKS[7]} ({NETWORK_NAME})", "body": EDGES[1][1]},
        ]

        async def notes_missing() -> list[dict[str, str]]:
            notes = (await page.evaluate("() => window.__xssReport()"))["notes"]
            return [note for note in expected_notes if note not in notes]

        async def notified() -> bool:
            return not await notes_missing()

        try:
            await eventually(notified)
        except AssertionError:
            report = await page.evaluate("() => window.__xssReport()")
            raise AssertionError(f"missing {await notes_missing()}; report {report}") from None

        # every hostile name in the nav, literally
        names = await sidebar_names(page)
        for name in [NETWORK_NAME, *CHANNELS, NICKS[1], NICKS[7]]:
            assert name in names, (name, names)
        assert INVITED not in names  # an invitation does not join

        # the channel: topic bar, title, rows, nick list
        await open_by_name(page, main)
        await shows_rows(page, rows)
        assert await text_of(page, ".topic-text") == f"{TEXTS[0]} {EDGES[0][1]}"
        assert re.fullmatch(r"(\(\d+\) )?(.*) — Backchannel", await page.title())
        assert (await page.title()).endswith(f"{main} — Backchannel")
        shown_members = await page.evaluate(
            """() => [...document.querySelectorAll('.nicklist button[data-nick]')]
                 .map(b => [b.dataset.nick, b.getAttribute('aria-label'), b.textContent])"""
        )
        assert sorted(shown_members) == sorted(
            [nick, nick, prefix + nick] for nick, prefix in members.items()
        )
        await nothing_ran(page, dialogs)

        # the other channels and the private conversations
        for chan in CHANNELS[1:]:
            await open_by_name(page, chan)
            if chan != CHANNELS[-1]:
                await shows_rows(page, [f"{NICKS[1]} {TEXTS[2]} {chan}"])
            assert (await page.title()).endswith(f"{chan} — Backchannel")
        await open_by_name(page, NICKS[1])
        await shows_rows(page, query_rows)
        assert await text_of(page, ".topic-text") == f"Private conversation on {NETWORK_NAME}"
        await open_by_name(page, NICKS[7])
        await shows_rows(page, [f"{NICKS[7]} {EDGES[1][1]}"])
        await nothing_ran(page, dialogs)

        # Ctrl+K lists every conversation by name
        await page.keyboard.press("Control+k")
        box = page.get_by_role("listbox", name="Conversations")
        await expect(box).to_be_visible()
        options = await box.evaluate(
            "b => [...b.querySelectorAll('.option-name')].map(o => o.textContent)"
        )
        for name in [NETWORK_NAME, *CHANNELS, NICKS[1], NICKS[7]]:
            assert name in options, (name, options)
        await page.keyboard.press("Escape")

        # mentions and search list the target, the nick and the text
        await page.get_by_role("button", name="Mentions").click()
        mentions = page.get_by_role("list", name="Mentions")
        await expect(mentions).to_contain_text(needle)
        found = await mentions.evaluate("l => l.textContent")
        for part in (main, f"<{NICKS[0]}> ", highlight):
            assert part in found, (part, found)
        await page.keyboard.press("Escape")
        await page.get_by_role("button", name="Search").click()
        await page.get_by_label("Search messages").fill(needle)
        await page.get_by_label("Search messages").press("Enter")
        results = page.get_by_role("list", name="Search results")
        await expect(results.locator("li")).to_have_count(2)
        found = await results.evaluate("l => l.textContent")
        for part in (
            main,
            NICKS[1],
            f"<{NICKS[0]}> ",
            highlight,
            f"<{NICKS[1]}> {TEXTS[0]} {needle}",
        ):
            assert part in found, (part, found)
        networks_offered = await page.get_by_label("Network", exact=True).evaluate(
            "s => [...s.options].map(o => o.textContent)"
        )
        assert NETWORK_NAME in networks_offered
        await page.keyboard.press("Escape")
        await nothing_ran(page, dialogs)

        # the network form shows the name and realname as typed
        await nav(page).locator(f'button.edit-network[data-edit="{net_id}"]').click()
        panel = page.locator("#panel")
        await expect(panel.locator(".panel-title")).to_have_text(
            f"Network: {NETWORK_NAME}", use_inner_text=False
        )
        await expect(page.get_by_label("Name", exact=True)).to_have_value(NETWORK_NAME)
        await expect(page.get_by_label("Real name", exact=True)).to_have_value(REALNAME)
        await panel.get_by_role("button", name="Delete network").click()
        confirm = panel.get_by_role("alertdialog")
        assert await confirm.locator("p").evaluate("p => p.textContent") == (
            f"Delete the network “{NETWORK_NAME}” with all its scrollback? This cannot be undone."
        )
        await confirm.get_by_role("button", name="Cancel").click()
        await page.keyboard.press("Escape")
        await expect(panel).to_be_hidden()

        # last, the server closes the link with a hostile ERROR
        await open_by_name(page, NETWORK_NAME)
        fc.send(f"ERROR :Closing link: {TEXTS[10]} {TEXTS[1]}")
        await fc.drain()
        await fc.close()
        await shows_rows(page, [f"Error: Closing link: {TEXTS[10]} {TEXTS[1]}"])
        report = await nothing_ran(page, dialogs)
        # every title the page set is a conversation's name as text, or the app's name
        known = set(await sidebar_names(page))
        assert {NETWORK_NAME, *CHANNELS, NICKS[1], NICKS[7]} <= known
        for title in report["titles"]:
            m = re.fullmatch(r"(?:\(\d+\) )?(?:(.*) — )?Backchannel", title, re.S)
            assert m and (m.group(1) is None or m.group(1) in known), title
