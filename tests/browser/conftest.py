"""Fixtures for the real-browser tests (Playwright's async API driving Debian's Chromium).

- ``browser`` (session): one headless Chromium, launched from /usr/lib/chromium/chromium
  (never ``playwright install``).
- ``context`` / ``page`` (per test): a fresh browser context (cookies, storage) and page.
  Console errors, uncaught page errors and ``securitypolicyviolation`` events are recorded
  and fail the test (``page_monitor.allow(...)`` lets a test expect a specific one). On
  failure a screenshot goes to ``test-artifacts/<test-name>.png``.
- ``bc_server`` (per module): a real ``backchannel serve`` subprocess with its own data dir
  and port, and the account ``alice`` created with ``backchannel user add``.

Browser test modules share the session's event loop with the browser:

    pytestmark = pytest.mark.asyncio(loop_scope="session")
"""

from __future__ import annotations

import asyncio
import glob
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, ConsoleMessage, Page, async_playwright
from playwright.async_api import expect as pw_expect

from tests.browser.helpers import BackchannelServer
from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd

CHROMIUM = "/usr/lib/chromium/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}

pw_expect.set_options(timeout=10_000)

_SHOTS = pytest.StashKey["_Shots"]()
_MONITOR = pytest.StashKey["PageMonitor"]()


@dataclass
class PageMonitor:
    """Console errors, page errors and CSP violations seen in one browser context."""

    problems: list[str] = field(default_factory=list)
    allowed: list[re.Pattern[str]] = field(
        default_factory=lambda: [
            # the page asks whether it is logged in; "no" is a 401 that Chromium logs
            re.compile(r"status of 401 .* \(at https?://[^/]+(/[^/]+)?/api/me\)$"),
            # Chromium asks for /favicon.ico by itself when the page names no icon
            re.compile(r"status of 404 .* \(at https?://[^/]+/favicon\.ico\)$"),
        ]
    )

    def allow(self, pattern: str) -> None:
        """Do not count problems matching this regular expression (searched in
        ``console.error: TEXT (at URL)`` / ``uncaught: ...``)."""
        self.allowed.append(re.compile(pattern))

    def _record(self, text: str, url: str = "") -> None:
        described = f"{text} (at {url})" if url else text
        if not any(pattern.search(described) for pattern in self.allowed):
            self.problems.append(described)

    def on_console(self, msg: ConsoleMessage) -> None:
        if msg.type == "error":
            self._record(f"console.error: {msg.text}", (msg.location or {}).get("url", ""))

    def on_weberror(self, error: Any) -> None:
        self._record(f"uncaught: {error.error}")

    def on_csp(self, source: Any, violation: dict[str, Any]) -> None:
        # never allowed: the page must work under its Content-Security-Policy
        self.problems.append(f"securitypolicyviolation: {violation}")

    def check(self) -> None:
        if self.problems:
            listed = "\n  ".join(self.problems)
            raise AssertionError(f"the page reported problems:\n  {listed}")


_CSP_LISTENER = """
document.addEventListener('securitypolicyviolation', (e) => {
  window.__bcCspViolation({directive: e.violatedDirective, blocked: e.blockedURI,
                           source: e.sourceFile, line: e.lineNumber, sample: e.sample});
}, true);
"""


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    result = yield  # re-raises when the test itself failed
    monitor = item.stash.get(_MONITOR, None)
    if monitor is not None:
        monitor.check()
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report: pytest.TestReport = yield
    if report.when == "call":
        if report.failed:
            _screenshots(item)  # now, before any fixture (IRC users, servers) is torn down
        else:
            _forget_screenshots(item)
    return report


@dataclass
class _Shots:
    """The browser contexts of a test, and the loop to drive them from a hook."""

    loop: asyncio.AbstractEventLoop
    contexts: list[BrowserContext] = field(default_factory=list)


def _artifact_name(item: pytest.Item) -> tuple[Path, str]:
    return item.config.rootpath / "test-artifacts", re.sub(r"[^A-Za-z0-9_.-]+", "_", item.name)


def _screenshots(item: pytest.Item) -> None:
    """Save every open page of the failed test to test-artifacts/<test-name>[-N].png."""
    shots = item.stash.get(_SHOTS, None)
    if shots is None or shots.loop.is_running() or shots.loop.is_closed():
        return
    artifacts, name = _artifact_name(item)
    artifacts.mkdir(exist_ok=True)

    async def save() -> None:
        pages = [p for ctx in shots.contexts for p in ctx.pages]
        for i, open_page in enumerate(pages):
            path = artifacts / (f"{name}.png" if i == 0 else f"{name}-{i}.png")
            try:
                await asyncio.wait_for(open_page.screenshot(path=path, full_page=True), 10)
            except Exception as exc:  # a crashed page must not hide the real failure
                print(f"screenshot {path.name} failed: {exc}")

    shots.loop.run_until_complete(save())


def _forget_screenshots(item: pytest.Item) -> None:
    """The test passed: screenshots of an earlier failure are stale."""
    artifacts, name = _artifact_name(item)
    (artifacts / f"{name}.png").unlink(missing_ok=True)
    for stale in artifacts.glob(f"{glob.escape(name)}-[0-9]*.png"):
        stale.unlink(missing_ok=True)


def _register_context(request: pytest.FixtureRequest, ctx: BrowserContext) -> None:
    shots = request.node.stash.get(_SHOTS, None)
    if shots is None:
        shots = request.node.stash[_SHOTS] = _Shots(asyncio.get_running_loop())
    shots.contexts.append(ctx)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            await chromium.close()


@pytest.fixture
def context_options() -> dict[str, Any]:
    """Options of each test's browser context; a module may override (phones)."""
    return {"viewport": DESKTOP}


@pytest.fixture
def page_monitor(request: pytest.FixtureRequest) -> PageMonitor:
    monitor = PageMonitor()
    request.node.stash[_MONITOR] = monitor
    return monitor


async def _monitored_context(
    browser: Browser, options: dict[str, Any], monitor: PageMonitor
) -> BrowserContext:
    ctx = await browser.new_context(**options)
    ctx.set_default_timeout(10_000)
    ctx.on("console", monitor.on_console)
    ctx.on("weberror", monitor.on_weberror)
    await ctx.expose_binding("__bcCspViolation", monitor.on_csp)
    await ctx.add_init_script(_CSP_LISTENER)
    return ctx


@pytest_asyncio.fixture(loop_scope="session")
async def context(
    browser: Browser,
    context_options: dict[str, Any],
    page_monitor: PageMonitor,
    request: pytest.FixtureRequest,
) -> AsyncIterator[BrowserContext]:
    ctx = await _monitored_context(browser, context_options, page_monitor)
    _register_context(request, ctx)
    try:
        yield ctx
    finally:
        await ctx.close()


@pytest_asyncio.fixture(loop_scope="session")
async def page(context: BrowserContext) -> AsyncIterator[Page]:
    pg = await context.new_page()
    yield pg


@pytest_asyncio.fixture(loop_scope="session")
async def new_page(
    browser: Browser, page_monitor: PageMonitor, request: pytest.FixtureRequest
) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """``await new_page(viewport=...)``: a page in a browser context of its own (another
    browser, another device), monitored like ``page``; closed after the test."""
    contexts: list[BrowserContext] = []

    async def make(**options: Any) -> Page:
        options.setdefault("viewport", DESKTOP)
        ctx = await _monitored_context(browser, options, page_monitor)
        contexts.append(ctx)
        _register_context(request, ctx)
        return await ctx.new_page()

    yield make
    for ctx in contexts:
        await ctx.close()


def start_server(root: Path, **kw: Any) -> BackchannelServer:
    server = BackchannelServer(root, **kw)
    server.add_user()
    server.start()
    return server


@pytest.fixture(scope="module")
def bc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackchannelServer]:
    """``backchannel serve`` for this module, with the account alice."""
    server = start_server(tmp_path_factory.mktemp("backchannel"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def irc() -> Iterator[NgIRCd]:
    """An ngircd of the module's own (the test config has no flood penalties)."""
    server = NgIRCd()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def people() -> AsyncIterator[list[IRCClient]]:
    """Plain-socket IRC users a test connects; closed after it."""
    clients: list[IRCClient] = []
    yield clients
    for client in clients:
        await client.close()
