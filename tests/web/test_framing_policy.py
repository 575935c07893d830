"""Who may frame the page: nobody by default (CSP ``frame-ancestors 'none'``
and ``X-Frame-Options: DENY``); the origins of ``frame_ancestors`` when an
operator embeds the web chat in their site."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from backchannel.settings import SettingsError, load_settings


async def _headers(server: Any, path: str) -> Any:
    async with aiohttp.ClientSession() as http, http.get(server.make_url(path)) as resp:
        return resp.headers


@pytest.mark.parametrize("path", ["/", "/api/config", "/no/such/page", "/static/js/app.js"])
async def test_nobody_may_frame_by_default(make_server: Any, path: str) -> None:
    headers = await _headers(await make_server(), path)
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


async def test_listed_origins_may_frame(make_server: Any) -> None:
    server = await make_server(
        frame_ancestors=["https://www.example.org", "'self'", "http://[2001:db8::1]:8080"]
    )
    for path in ("/", "/api/config"):
        headers = await _headers(server, path)
        csp = headers["Content-Security-Policy"]
        assert (
            "frame-ancestors https://www.example.org 'self' http://[2001:db8::1]:8080;" in csp
        )
        assert "X-Frame-Options" not in headers  # it cannot list origins; the CSP says it
        assert "script-src 'self'" in csp  # the rest of the policy is unchanged


@pytest.mark.parametrize(
    "origin",
    [
        "www.example.org",  # no scheme
        "https://a.example; script-src *",  # would end the directive
        "https://a.example https://b.example",  # two in one
        "javascript:alert(1)",
        "https://a.example/path",
        "'none'",
        "*",
    ],
)
def test_anything_but_an_origin_is_refused_at_start(origin: str) -> None:
    with pytest.raises(SettingsError, match="frame_ancestors"):
        load_settings(env={}, overrides={"frame_ancestors": [origin]})
