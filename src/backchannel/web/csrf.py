"""CSRF protection for the JSON API by a strict Origin check.

Every state-changing request under ``/api/`` (anything but GET, HEAD and
OPTIONS) and every WebSocket handshake, wherever it is routed, is refused with
403 when the browser says it comes from another site (``is_cross_site``:
``Origin``, else ``Referer``, must name this host; ``Sec-Fetch-Site:
cross-site`` is refused). Requests without either header come from
non-browser clients, which carry no ambient cookies to abuse, and pass.
SameSite=Lax cookies are the second line of defence.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import hdrs, web

from backchannel.web.errors import error_response
from backchannel.web.security import is_cross_site

__all__ = ["csrf_middleware"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _guarded(request: web.Request) -> bool:
    if request.headers.get(hdrs.UPGRADE, "").lower() == "websocket":
        return True
    return request.path.startswith("/api/") and request.method not in _SAFE_METHODS


@web.middleware
async def csrf_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if _guarded(request) and is_cross_site(request):
        return error_response(403, "cross_site", "cross-site request refused")
    return await handler(request)
