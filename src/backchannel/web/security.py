"""HTTP security: response headers and the Origin check that stands in for
CSRF tokens on the seed API (seed-era clients send none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web

__all__ = ["is_cross_site", "security_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


_KEEP_ERROR_HEADERS = {hdrs.ALLOW, hdrs.RETRY_AFTER}
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    429: "too_many_requests",
}


def _origin_of(url: str) -> tuple[str, str] | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return parts.scheme.lower(), parts.netloc.lower()


def is_cross_site(request: web.Request) -> bool:
    """True when the browser says the request comes from another site.

    ``Origin`` (or, without it, ``Referer``) must name this host; a request
    with neither, from a non-browser client, is allowed. ``Sec-Fetch-Site:
    cross-site`` is refused too."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return True
    claimed = request.headers.get(hdrs.ORIGIN) or request.headers.get(hdrs.REFERER)
    if claimed is None:
        return False
    origin = _origin_of(claimed)  # "null" and garbage end up None: refused
    return origin is None or origin[1] != request.host.lower()


@web.middleware
async def security_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {k: v for k, v in exc.headers.items() if k in _KEEP_ERROR_HEADERS}
        if exc.content_type == "application/json" and exc.text:
            # already a JSON error body (e.g. the seed API's error triple)
            response = web.Response(
                text=exc.text, status=exc.status, content_type="application/json", headers=headers
            )
        else:
            # aiohttp's own errors (404, 405, 413...) as JSON too
            code = _CODES.get(exc.status, f"http_{exc.status}")
            response = web.json_response(
                {"error": {"code": code, "message": exc.reason}},
                status=exc.status,
                headers=headers,
            )
    for name, value in _HEADERS.items():
        response.headers.setdefault(name, value)
    return response
