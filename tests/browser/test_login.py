"""Logging in through the page: a wrong password is refused with a message, the right one
opens the chat, and a reload keeps the session."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser.conftest import PageMonitor
from tests.browser.helpers import USERNAME, BackchannelServer, eventually, log_in

pytestmark = pytest.mark.asyncio(loop_scope="session")


async def test_wrong_password_shows_an_error(
    page: Page, bc_server: BackchannelServer, page_monitor: PageMonitor
) -> None:
    page_monitor.allow(r"status of 401 .* \(at https?://[^/]+/api/login\)$")
    await page.goto(bc_server.url + "/")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password").fill("not the password")
    await page.get_by_role("button", name="Log in").click()
    # a message saying the login failed, announced to screen readers (alert or status)
    failed = re.compile(r"wrong|incorrect|invalid|failed|not match", re.IGNORECASE)
    error = page.get_by_role("alert").or_(page.get_by_role("status")).filter(has_text=failed)
    await expect(error.first).to_be_visible()
    await expect(page.get_by_role("navigation", name="Networks")).to_have_count(0)
    # still on the login form, the name kept for another try
    await expect(page.get_by_label("Username")).to_have_value(USERNAME)
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()


async def test_right_password_shows_the_chat(page: Page, bc_server: BackchannelServer) -> None:
    await log_in(page, bc_server)
    await expect(page.get_by_role("navigation", name="Networks")).to_be_visible()
    await expect(page.get_by_role("button", name="Add network")).to_be_visible()
    await expect(page.get_by_label("Password")).to_have_count(0)
    cookies = await page.context.cookies()
    auth = [c for c in cookies if c["name"] == "bc_auth"]
    assert auth and auth[0]["httpOnly"], cookies


async def test_reload_keeps_you_logged_in(page: Page, bc_server: BackchannelServer) -> None:
    await log_in(page, bc_server)
    await page.reload()
    await expect(page.get_by_role("navigation", name="Networks")).to_be_visible()
    await expect(page.get_by_role("button", name="Log in")).to_have_count(0)
    # a new tab of the same browser is logged in too
    other = await page.context.new_page()
    await other.goto(bc_server.url + "/")
    await expect(other.get_by_role("navigation", name="Networks")).to_be_visible()
    await other.close()


async def test_password_field_is_masked(page: Page, bc_server: BackchannelServer) -> None:
    await page.goto(bc_server.url + "/")
    await expect(page.get_by_label("Password")).to_have_attribute("type", "password")
    await expect(page.get_by_label("Username")).to_be_editable()


async def test_the_page_guard_sees_csp_violations_and_errors(
    page: Page, bc_server: BackchannelServer, page_monitor: PageMonitor
) -> None:
    """The fixtures' guard works: an inline script (refused by the CSP) and a
    console.error are recorded. They are cleared here, so this test passes."""
    await page.goto(bc_server.url + "/")
    await expect(page.get_by_role("button", name="Log in")).to_be_visible()
    assert page_monitor.problems == []
    await page.evaluate(
        """() => { const s = document.createElement('script');
                   s.textContent = 'window.__inline = 1'; document.body.append(s);
                   console.error('guard check'); }"""
    )

    async def recorded() -> bool:
        problems = page_monitor.problems
        return any(p.startswith("securitypolicyviolation") for p in problems) and any(
            "guard check" in p for p in problems
        )

    await eventually(recorded, 5)
    assert await page.evaluate("window.__inline") is None
    page_monitor.problems.clear()
