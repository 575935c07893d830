"""HTTP security: response headers and the Origin check that stands in for
CSRF tokens on the seed API (seed-era clients send none)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware

__all__ = ["headers_for", "is_cross_site", "security_middleware", "security_middleware_for"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors {ancestors}; base-uri 'none'; form-action 'self'"
)


def headers_for(frame_ancestors: tuple[str, ...] = ()) -> dict[str, str]:
    """The security headers of every response. With no ``frame_ancestors``
    no page may frame ours; with some (origins, or ``'self'``), those may, for
    a network that embeds its web chat (X-Frame-Options, which cannot list
    origins, is then left out: the CSP says it)."""
    headers = {
        "Content-Security-Policy": _CSP.format(
            ancestors=" ".join(frame_ancestors) if frame_ancestors else "'none'"
        ),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    if not frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    return headers


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


def security_middleware_for(frame_ancestors: tuple[str, ...] = ()) -> Middleware:
    """Security headers on every response, and HTTP errors as JSON."""
    headers = headers_for(frame_ancestors)

    @web.middleware
    async def security(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await _json_errors(request, handler)
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    return security


security_middleware = security_middleware_for()


async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
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
    return response
