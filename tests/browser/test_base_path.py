"""The page served under a sub-path (``--base-path /irc/``, e.g. behind a proxy
that shares a host): every request it makes stays under that path."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect

from tests.browser.helpers import BackchannelServer, log_in, nav

pytestmark = pytest.mark.asyncio(loop_scope="session")


class _UnderIrc(BackchannelServer):
    @property
    def url(self) -> str:
        return super().url + "/irc"


@pytest.fixture(scope="module")
def sub_path_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BackchannelServer]:
    server = _UnderIrc(tmp_path_factory.mktemp("base"), extra_args=("--base-path", "/irc/"))
    server.add_user()
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_the_page_works_under_a_base_path(page: Page, sub_path_server) -> None:
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    await log_in(page, sub_path_server)
    await expect(nav(page)).to_be_visible()
    await expect(page.get_by_role("button", name="Add network")).to_be_visible()
    root = sub_path_server.url.removesuffix("/irc")
    same_host = [u for u in requested if u.startswith(root)]
    assert same_host, requested
    outside = [u for u in same_host if not u.startswith(sub_path_server.url + "/")]
    assert not outside, f"requests outside /irc/: {outside}"
    assert any("/irc/api/state" in u for u in same_host)
