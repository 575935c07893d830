"""js/format.js in a real Chromium: mIRC formatting, colours, links, nick colours, and an
XSS corpus that must render as literal text, under the app's Content-Security-Policy.

The page is tests/browser/format_harness.html, served with the static directory by a
small aiohttp server on 127.0.0.1 that uses the app's own ``security_middleware`` (so the
same CSP header). The ``page`` fixture (conftest.py) fails a test on console errors and CSP
violations; the harness records violations itself too (``window.__csp``).
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from aiohttp import web
from playwright.async_api import Page

from backchannel.web.app import STATIC_DIR
from backchannel.web.security import security_middleware

pytestmark = pytest.mark.asyncio(loop_scope="session")

HARNESS_DIR = Path(__file__).parent
HARNESS_FILES = {"format_harness.html", "format_harness.js"}
ALLOWED_TAGS = {"SPAN", "A"}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _harness_file(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    if name not in HARNESS_FILES:
        raise web.HTTPNotFound()
    return web.FileResponse(HARNESS_DIR / name)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def harness_url() -> AsyncIterator[str]:
    app = web.Application(middlewares=[security_middleware])
    app.router.add_get("/harness/{name}", _harness_file)
    app.router.add_static("/static/", STATIC_DIR)
    runner = web.AppRunner(app)
    await runner.setup()
    port = _free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}/harness/format_harness.html"
    finally:
        await runner.cleanup()


@pytest_asyncio.fixture(loop_scope="session")
async def fmt(page: Page, harness_url: str) -> Page:
    response = await page.goto(harness_url)
    assert response is not None
    assert "script-src 'self'" in response.headers["content-security-policy"]
    await page.wait_for_function("window.__ready === true")
    return page


async def render(page: Page, text: str) -> str:
    """The innerHTML of the rendering, without the irc-text wrapper."""
    html: str = await page.evaluate("(t) => window.render(t)", text)
    prefix, suffix = '<span class="irc-text">', "</span>"
    assert html.startswith(prefix) and html.endswith(suffix), html
    return html[len(prefix) : -len(suffix)]


async def computed(page: Page, selector: str, prop: str) -> str:
    value: str = await page.evaluate(
        "([s, p]) => getComputedStyle(document.querySelector(s)).getPropertyValue(p)",
        [selector, prop],
    )
    return value


# --- formatting codes ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "cls"),
    [("\x02", "irc-b"), ("\x1d", "irc-i"), ("\x1f", "irc-u"), ("\x1e", "irc-s"), ("\x11", "irc-m")],
)
async def test_toggle_codes(fmt: Page, code: str, cls: str) -> None:
    assert await render(fmt, f"a {code}b{code} c") == f'a <span class="{cls}">b</span> c'
    # unterminated: runs to the end
    assert await render(fmt, f"{code}open") == f'<span class="{cls}">open</span>'


async def test_formatting_renders_with_css(fmt: Page) -> None:
    await render(fmt, "\x02b\x02\x1di\x1d\x1fu\x1f\x1es\x1e\x11m\x11")
    assert await computed(fmt, ".irc-b", "font-weight") == "700"
    assert await computed(fmt, ".irc-i", "font-style") == "italic"
    assert "underline" in await computed(fmt, ".irc-u", "text-decoration-line")
    assert "line-through" in await computed(fmt, ".irc-s", "text-decoration-line")
    assert "monospace" in await computed(fmt, ".irc-m", "font-family")


async def test_nested_and_overlapping(fmt: Page) -> None:
    html = await render(fmt, "\x02bold \x1dboth\x02 italic\x1d plain")
    assert html == (
        '<span class="irc-b">bold </span><span class="irc-b irc-i">both</span>'
        '<span class="irc-i"> italic</span> plain'
    )
    # a toggle given twice in a row cancels out; empty runs make no element
    assert await render(fmt, "a\x02\x02b") == "ab"


async def test_reset(fmt: Page) -> None:
    html = await render(fmt, "\x02\x1d\x1f\x0304,12all\x0fnone")
    assert html == '<span class="irc-b irc-i irc-u irc-fg-04 irc-bg-12">all</span>none'


async def test_colours(fmt: Page) -> None:
    assert await render(fmt, "\x034red") == '<span class="irc-fg-04">red</span>'
    assert await render(fmt, "\x0304,12x") == '<span class="irc-fg-04 irc-bg-12">x</span>'
    # a background stays when only the foreground changes
    assert await render(fmt, "\x0304,12a\x0305b") == (
        '<span class="irc-fg-04 irc-bg-12">a</span><span class="irc-fg-05 irc-bg-12">b</span>'
    )
    # \x03 alone ends both colours; 99 is the default colour
    assert await render(fmt, "\x0304,12a\x03b") == '<span class="irc-fg-04 irc-bg-12">a</span>b'
    assert await render(fmt, "\x0399,05x") == '<span class="irc-bg-05">x</span>'
    # at most two digits; a comma without a digit after it is text
    assert await render(fmt, "\x03123") == '<span class="irc-fg-12">3</span>'
    assert await render(fmt, "\x034,x") == '<span class="irc-fg-04">,x</span>'
    assert await render(fmt, "\x03,04x") == ",04x"
    assert await render(fmt, "\x0398x") == '<span class="irc-fg-98">x</span>'


async def test_colour_classes_are_styled(fmt: Page) -> None:
    await render(fmt, "\x0304,02x")
    assert await computed(fmt, ".irc-fg-04", "color") == "rgb(255, 0, 0)"
    assert await computed(fmt, ".irc-fg-04", "background-color") == "rgb(0, 0, 127)"
    # every one of the 99 colours has a class
    missing = await fmt.evaluate(
        """() => {
          const missing = [];
          const out = document.getElementById('out');
          for (let i = 0; i < 99; i++) {
            const n = String(i).padStart(2, '0');
            const span = document.createElement('span');
            span.className = 'irc-fg-' + n + ' irc-bg-' + n;
            out.replaceChildren(span);
            const style = getComputedStyle(span);
            if (style.backgroundColor === 'rgba(0, 0, 0, 0)') missing.push(n);
          }
          return missing;
        }"""
    )
    assert missing == []


async def test_hex_colours(fmt: Page) -> None:
    html = await render(fmt, "\x04FF8800,003366hex\x04 plain")
    assert (
        html
        == '<span style="color: rgb(255, 136, 0); background-color: rgb(0, 51, 102);">hex</span>'
        " plain"
    )
    # not six hex digits: ends the colours, the text stays
    assert await render(fmt, "\x04ff88zz") == "ff88zz"
    assert (
        await render(fmt, "\x04123456,xyz") == '<span style="color: rgb(18, 52, 86);">,xyz</span>'
    )


async def test_reverse(fmt: Page) -> None:
    assert await render(fmt, "\x16rev") == '<span class="irc-rev">rev</span>'
    # with colours: swapped
    assert (
        await render(fmt, "\x0304,12\x16x") == '<span class="irc-rev irc-fg-12 irc-bg-04">x</span>'
    )
    await render(fmt, "\x16rev")
    fg = await computed(fmt, ".irc-rev", "color")
    bg = await computed(fmt, ".irc-rev", "background-color")
    assert fg != bg and bg != "rgba(0, 0, 0, 0)"


async def test_other_controls_are_dropped(fmt: Page) -> None:
    assert await render(fmt, "a\x00b\x07c\x1bd\x7fe\x85f\tg") == "abcdef\tg"


async def test_strip_formatting(fmt: Page) -> None:
    stripped = await fmt.evaluate(
        "() => window.fmt.stripFormatting("
        "'\\x02b\\x02 \\x0304,12c\\x03 \\x04ff0000h\\x0f \\x16r\\x07!')"
    )
    assert stripped == "b c h r!"


# --- links --------------------------------------------------------------------------


async def links(page: Page, text: str) -> list[dict[str, Any]]:
    await render(page, text)
    found: list[dict[str, Any]] = await page.evaluate(
        """() => [...document.querySelectorAll('#out a')].map(a => ({
             href: a.getAttribute('href'), text: a.textContent,
             rel: a.getAttribute('rel'), target: a.getAttribute('target')}))"""
    )
    return found


@pytest.mark.parametrize(
    ("text", "href", "label"),
    [
        (
            "see https://example.com/a?b=c#d now",
            "https://example.com/a?b=c#d",
            "https://example.com/a?b=c#d",
        ),
        ("(http://example.com/x).", "http://example.com/x", "http://example.com/x"),
        (
            "https://en.wikipedia.org/wiki/Foo_(bar), ok",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
            "https://en.wikipedia.org/wiki/Foo_(bar)",
        ),
        (
            "go to irc://irc.libera.chat/#python!",
            "irc://irc.libera.chat/#python",
            "irc://irc.libera.chat/#python",
        ),
        ("<https://example.com/>", "https://example.com/", "https://example.com/"),
        ('"https://example.com/q"', "https://example.com/q", "https://example.com/q"),
        ("HTTPS://EXAMPLE.COM/Path", "https://example.com/Path", "HTTPS://EXAMPLE.COM/Path"),
        ("https://example.com/it's", "https://example.com/it's", "https://example.com/it's"),
        ("end https://example.com/a;", "https://example.com/a", "https://example.com/a"),
    ],
)
async def test_links(fmt: Page, text: str, href: str, label: str) -> None:
    assert await links(fmt, text) == [
        {"href": href, "text": label, "rel": "noopener noreferrer", "target": "_blank"}
    ]


@pytest.mark.parametrize(
    "text",
    [
        "javascript:alert(1)",
        "javascript://example.com/%0Aalert(1)",
        "data:text/html,<script>alert(1)</script>",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "ftp://example.com/",
        "xhttp://example.com/",
        "https://",
        "https:// example.com",
        "http://[bad",
    ],
)
async def test_not_links(fmt: Page, text: str) -> None:
    assert await links(fmt, text) == []
    assert await fmt.evaluate("() => document.getElementById('out').textContent") == text


async def test_links_with_formatting(fmt: Page) -> None:
    html = await render(fmt, "x \x02https://exa\x1dmple.com/\x0f y")
    assert html == (
        'x <a href="https://example.com/" rel="noopener noreferrer" target="_blank"'
        ' class="irc-link">'
        '<span class="irc-b">https://exa</span><span class="irc-b irc-i">mple.com/</span></a> y'
    )
    # colour codes' digits are not part of the link
    found = await links(fmt, "\x0304https://example.com/\x0312,01rest")
    assert found[0]["href"] == "https://example.com/rest"
    assert await links(fmt, "a https://a.example/ b http://b.example/c") == [
        {
            "href": "https://a.example/",
            "text": "https://a.example/",
            "rel": "noopener noreferrer",
            "target": "_blank",
        },
        {
            "href": "http://b.example/c",
            "text": "http://b.example/c",
            "rel": "noopener noreferrer",
            "target": "_blank",
        },
    ]


async def test_links_stop_at_invisible_characters(fmt: Page) -> None:
    found = await links(fmt, "https://example.com/\u202egnp.exe")
    assert [f["href"] for f in found] == ["https://example.com/"]
    found = await links(fmt, "https://example.com/a\u200bjavascript:alert(1)")
    assert [f["href"] for f in found] == ["https://example.com/a"]


# --- nicks --------------------------------------------------------------------------


async def test_nick_class(fmt: Page) -> None:
    result = await fmt.evaluate(
        """() => {
          const n = window.fmt.nickClass;
          const names = [];
          for (let i = 0; i < 400; i++) names.push(n('user' + i));
          return {
            same: n('Ada') === n('ada') && n('ADA') === n('ada'),
            folded: n('[ada]') === n('{ada}') && n('a\\\\b') === n('a|b') && n('x~') === n('x^'),
            stable: n('grace') === n('grace'),
            all: [...new Set(names)].sort(),
            sample: n('ada'),
          };
        }"""
    )
    assert result["same"] and result["folded"] and result["stable"]
    assert sorted(result["all"], key=lambda c: int(c[6:])) == [f"nick-c{i}" for i in range(16)]
    await fmt.evaluate(
        "(c) => { const s = document.createElement('span'); s.id = 'nick'; s.className = c;"
        " s.textContent = 'ada'; document.getElementById('out').replaceChildren(s); }",
        result["sample"],
    )
    assert await computed(fmt, "#nick", "color") != await computed(fmt, "#out", "color")


async def test_highlight_words(fmt: Page) -> None:
    result = await fmt.evaluate(
        """() => {
          const h = window.fmt.highlightWords;
          return [h('ada: hi', ['ada']), h('hi \\x02ADA\\x02!', ['ada']), h('adam', ['ada']),
                  h('[ada] x', ['{ada}']), h('nothing', []), h('x', [''])];
        }"""
    )
    assert result == [True, True, False, True, False, False]


# --- XSS corpus ---------------------------------------------------------------------

XSS = [
    '<img src=x onerror="window.__xss=1">',
    "<img src=x onerror=window.__xss=1>",
    "<script>window.__xss=1</script>",
    "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
    '<svg onload="window.__xss=1">',
    "<svg><script>window.__xss=1</script></svg>",
    '<iframe src="javascript:window.__xss=1"></iframe>',
    '<a href="javascript:window.__xss=1">click</a>',
    "javascript:window.__xss=1",
    "JaVaScRiPt:window.__xss=1",
    "java\tscript:window.__xss=1",
    "jav&#x09;ascript:window.__xss=1",
    "&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;:window.__xss=1",
    '" onmouseover="window.__xss=1" x="',
    "' onfocus='window.__xss=1' autofocus x='",
    'https://example.com/" onmouseover="window.__xss=1',
    "https://example.com/'onmouseover='window.__xss=1'",
    "https://example.com/<script>window.__xss=1</script>",
    "https://example.com/</a><script>window.__xss=1</script>",
    "</a><script>window.__xss=1</script>",
    "</span><img src=x onerror=window.__xss=1>",
    "data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==",
    "data:text/html,<script>window.__xss=1</script>",
    "vbscript:msgbox(1)",
    "<body onload=window.__xss=1>",
    '<div style="background:url(javascript:window.__xss=1)">x</div>',
    "<style>@import 'javascript:window.__xss=1';</style>",
    "<math><mtext><table><mglyph><style><img src=x onerror=window.__xss=1>",
    "<!--<img src=x onerror=window.__xss=1>-->",
    "<![CDATA[<img src=x onerror=window.__xss=1>]]>",
    "\uff1cscript\uff1ewindow.__xss=1\uff1c/script\uff1e",
    "\u202e>tpircs/<1=ssx__.wodniw>tpircs<",
    "<scr\u200bipt>window.__xss=1</scr\u200bipt>",
    "<img src=x onerror=\u0077indow.__xss=1>",
    "\x00<script>window.__xss=1</script>",
    "<object data=javascript:window.__xss=1>",
    "<form action=javascript:window.__xss=1><button>x</button></form>",
    "<meta http-equiv=refresh content='0;url=javascript:window.__xss=1'>",
    "<base href=javascript:/a/-alert(1)///////>",
    "<input onfocus=window.__xss=1 autofocus>",
    "<details open ontoggle=window.__xss=1>",
    "<video><source onerror=window.__xss=1></video>",
    "{{constructor.constructor('window.__xss=1')()}}",
    "${window.__xss=1}",
    'irc://example.com/"><img src=x onerror=window.__xss=1>',
    "http://example.com/?<img/src/onerror=window.__xss=1>",
]

WRAPPERS = [
    "{}",
    "\x02{}\x02",
    "\x0304,12{}\x03",
    "\x04ff0000{}\x0f",
    "\x1d\x1f\x16{}",
    "see https://example.com/\x02{}",
    "https://example.com/{}",
    "\x02https://exa\x02mple.com/{}\x0f",
    "<b>\x02{}</b>",
]


@pytest.mark.parametrize("payload", XSS)
async def test_xss_payload_is_text(fmt: Page, payload: str) -> None:
    texts = [wrapper.replace("{}", payload) for wrapper in WRAPPERS]
    await fmt.evaluate("(texts) => window.renderAll(texts)", texts)
    report = await fmt.evaluate(
        """() => {
          const out = document.getElementById('out');
          const bad = [];
          for (const node of out.querySelectorAll('*')) {
            if (node.parentElement === out && node.tagName === 'DIV') continue;  // harness lines
            if (!['SPAN', 'A'].includes(node.tagName)) bad.push('element ' + node.tagName);
            for (const attr of node.attributes) {
              if (/^on/i.test(attr.name)) bad.push('attribute ' + attr.name);
              const known = ['class', 'href', 'rel', 'target', 'style'];
              if (!known.includes(attr.name)) bad.push('attr ' + attr.name);
            }
            if (node.tagName === 'A') {
              const href = node.getAttribute('href');
              if (!/^(https?|irc):/.test(href)) bad.push('href ' + href);
              const schemes = ['http:', 'https:', 'irc:'];
              if (!schemes.includes(node.protocol)) bad.push('protocol ' + node.protocol);
              const rel = node.rel === 'noopener noreferrer' && node.target === '_blank';
              if (!rel) bad.push('rel/target');
            }
          }
          const lines = [...out.children].map(div => div.textContent);
          return {bad, lines};
        }"""
    )
    assert report["bad"] == []
    expected = await fmt.evaluate("(texts) => texts.map(t => window.fmt.stripFormatting(t))", texts)
    assert report["lines"] == expected  # everything is there, literally
    await fmt.wait_for_timeout(50)
    assert await fmt.evaluate("() => window.__xss") is None
    assert await fmt.evaluate("() => window.__csp") == []


async def test_xss_corpus_all_at_once(fmt: Page) -> None:
    texts = [wrapper.replace("{}", payload) for payload in XSS for wrapper in WRAPPERS]
    assert len(XSS) >= 30
    await fmt.evaluate("(texts) => window.renderAll(texts)", texts)
    # hover and click every link-free span: no handler may run
    await fmt.hover("#out")
    await fmt.wait_for_timeout(300)
    tags = await fmt.evaluate(
        "() => [...new Set([...document.querySelectorAll('#out div *')]"
        ".map(n => n.tagName))].sort()"
    )
    assert set(tags) <= ALLOWED_TAGS
    assert (
        await fmt.evaluate(
            "() => document.querySelectorAll('#out script, #out img, #out svg, #out iframe').length"
        )
        == 0
    )
    assert await fmt.evaluate("() => window.__xss") is None
    assert await fmt.evaluate("() => window.__csp") == []


# --- notifications (js/notify.js): plain-text bodies, who is notified ------------------

FAKE_NOTIFICATION = """
window.__notes = [];
window.Notification = class {
  constructor(title, options) {
    window.__notes.push({title, body: options.body, tag: options.tag});
  }
  close() {}
};
window.Notification.permission = 'granted';
window.Notification.requestPermission = async () => 'granted';
"""


async def test_notifications(fmt: Page) -> None:
    await fmt.evaluate(FAKE_NOTIFICATION)
    result = await fmt.evaluate(
        """() => {
          const n = window.notify;
          const base = {kind: 'privmsg', time: new Date().toISOString(), batch: null, network: 1,
                        target: '#test', nick: 'carol', self: false, server: false, cursor: '9',
                        highlight: true,
                        text: '\\x02ada\\x02: <img src=x onerror="window.__xss=1">'
                              + ' \\x0304red\\x03'};
          const shown = (event, opts) => !!n.maybeNotify(event, opts);
          const out = {
            highlight: shown(base, {networkName: 'Net', viewing: false}),
            own: shown({...base, self: true}, {viewing: false}),
            viewed: shown(base, {viewing: true}),
            old: shown({...base, time: '2001-01-01T00:00:00Z'}, {viewing: false}),
            replay: shown({...base, batch: {ref: 'h', type: 'chathistory', params: []}},
                          {viewing: false}),
            plain: shown({...base, highlight: false}, {viewing: false}),
            private: shown({...base, highlight: false, target: 'carol'},
                           {networkName: 'Net', viewing: false}),
          };
          n.setMuted(1, '#TEST', true);
          out.mutedFolded = n.isMuted(1, '#test');
          out.muted = shown(base, {viewing: false});
          n.setMuted(1, '#test', false);
          out.unmuted = !n.isMuted(1, '#test');
          out.recent = n.recentHighlights().length;
          return out;
        }"""
    )
    assert result == {
        "highlight": True, "own": False, "viewed": False, "old": False, "replay": False,
        "plain": False, "private": True, "mutedFolded": True, "muted": False, "unmuted": True,
        "recent": 5,
    }  # fmt: skip
    notes = await fmt.evaluate("() => window.__notes")
    body = 'ada: <img src=x onerror="window.__xss=1"> red'  # plain text, literally
    assert notes == [
        {"title": "carol in #test (Net)", "body": body, "tag": "backchannel:1:#test"},
        {"title": "carol (Net)", "body": body, "tag": "backchannel:1:carol"},
    ]
    assert await fmt.evaluate("() => window.__xss") is None


async def test_notification_settings(fmt: Page) -> None:
    await fmt.evaluate(FAKE_NOTIFICATION)
    result = await fmt.evaluate(
        """async () => {
          const n = window.notify;
          const event = {kind: 'privmsg', time: new Date().toISOString(), network: 2,
                         target: 'dave',
                         nick: 'dave', text: 'hi', self: false, server: false, cursor: '5'};
          const before = !!n.maybeNotify(event, {viewing: false});
          n.setSettings({privates: false});
          const off = !!n.maybeNotify(event, {viewing: false});
          n.setSettings({privates: true, enabled: false});
          const disabled = !!n.maybeNotify(event, {viewing: false});
          n.setSettings({enabled: true});
          const permission = await n.requestPermission();
          return {before, off, disabled, settings: n.getSettings(), permission};
        }"""
    )
    assert result == {
        "before": True, "off": False, "disabled": False, "permission": "granted",
        "settings": {"enabled": True, "highlights": True, "privates": True},
    }  # fmt: skip


async def test_dark_theme_lightens_dark_colours(fmt: Page) -> None:
    await fmt.emulate_media(color_scheme="dark")
    await render(fmt, "\x0312blue\x03 \x0312,00pair")
    colours = await fmt.evaluate(
        "() => [...document.querySelectorAll('#out .irc-fg-12')]"
        ".map(s => getComputedStyle(s).color)"
    )
    assert colours[0] != "rgb(0, 0, 252)"  # lightened on the dark background
    assert colours[1] == "rgb(0, 0, 252)"  # kept on its own background
    await fmt.emulate_media(color_scheme="light")
    assert await computed(fmt, ".irc-fg-12", "color") == "rgb(0, 0, 252)"
