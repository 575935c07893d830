"""Behind a reverse proxy: the client's address, scheme and host from the
forwarded headers, and serving under a base path.

Only a request whose TCP peer is in one of the ``trusted_proxies`` networks
has its forwarded headers read; anyone else's are ignored, whatever they say.
For a trusted peer:

- the client address is the right-most entry of ``X-Forwarded-For`` that is
  not itself a trusted proxy (entries are read right to left, each appended
  by the proxy that received the request from the one before); without
  ``X-Forwarded-For``, the ``for=`` of ``Forwarded`` (RFC 7239) is read the
  same way. ``X-Forwarded-For`` wins when both are present: nginx, Caddy and
  Apache set it but pass a client's ``Forwarded`` through untouched, so a
  proxy that sets only ``Forwarded`` must drop an incoming
  ``X-Forwarded-For``;
- the scheme is the right-most ``X-Forwarded-Proto`` (``http``/``https``),
  else the ``proto=`` of the ``Forwarded`` element the address came from;
- the host is the right-most ``X-Forwarded-Host``, else that element's
  ``host=``, else the ``Host`` the proxy passed on.

:func:`forwarded_middleware` hands the handlers a clone of the request with
``remote``, ``scheme`` and ``host`` replaced, so ``request.secure`` (Secure
cookies) and the Origin check see what the browser used, and
:func:`client_address` (``app[CLIENT_ADDRESS]``) is the real client.
"""

from __future__ import annotations

import html
import ipaddress
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Middleware
from multidict import CIMultiDictProxy
from yarl import URL

__all__ = [
    "TRUSTED_PROXIES",
    "Forwarded",
    "TrustedProxies",
    "base_path_middleware",
    "client_address",
    "forwarded_middleware",
    "page_base_middleware",
    "page_with_base",
    "parse_address",
    "resolve",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

_SCHEMES = frozenset({"http", "https"})
_HOST = re.compile(r"[A-Za-z0-9._~-]+(?::[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](?::[0-9]{1,5})?")


class TrustedProxies:
    """The networks whose forwarded headers are believed; :meth:`update`
    replaces them in place (a reload on SIGHUP)."""

    def __init__(self, cidrs: Iterable[str] = ()) -> None:
        self.networks: tuple[Network, ...] = ()
        self.update(cidrs)

    def update(self, cidrs: Iterable[str]) -> None:
        self.networks = tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs)

    def __bool__(self) -> bool:
        return bool(self.networks)

    def trusts(self, address: Address | None) -> bool:
        return address is not None and any(address in net for net in self.networks)


TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)


def parse_address(text: str | None) -> Address | None:
    """An address from a header entry or a peer name: ``192.0.2.1``,
    ``192.0.2.1:4711``, ``[2001:db8::1]:4711``, ``"[2001:db8::1]"``; IPv4
    mapped into IPv6 becomes IPv4. None for ``unknown``, ``_hidden`` and
    anything else that is not an address."""
    if not text:
        return None
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1 : text.find("]")] if "]" in text else ""
    elif text.count(":") == 1:  # IPv4 with a port
        text = text.partition(":")[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class Forwarded:
    """What the trusted proxies say about the request; None: not said."""

    remote: str
    scheme: str | None = None
    host: str | None = None


def _last(headers: CIMultiDictProxy[str], name: str) -> str | None:
    values = [v.strip() for h in headers.getall(name, []) for v in h.split(",")]
    values = [v for v in values if v]
    return values[-1] if values else None


def _pick(hops: Sequence[str | None], peer: Address, trusted: TrustedProxies) -> tuple[str, int]:
    """The client among ``hops`` (left to right, as in the header) and its
    index: the right-most one that is not a trusted proxy. An entry that is not
    an address (``unknown``) stops the walk: the proxy nearest to it is the
    best that is known. All trusted: the left-most."""
    nearest = peer
    for index in range(len(hops) - 1, -1, -1):
        address = parse_address(hops[index])
        if address is None:
            return str(nearest), index
        if not trusted.trusts(address):
            return str(address), index
        nearest = address
    return str(nearest), 0


def resolve(
    peer_name: str | None,
    headers: CIMultiDictProxy[str],
    forwarded: Sequence[Mapping[str, str]],
    trusted: TrustedProxies,
) -> Forwarded | None:
    """What a request from ``peer_name`` with these ``headers`` (and their
    parsed ``Forwarded`` elements) really came from; None when the peer is
    not a trusted proxy or says nothing."""
    peer = parse_address(peer_name)
    if peer is None or not trusted.trusts(peer):
        return None
    element: Mapping[str, str] = {}
    xff = [v.strip() for h in headers.getall("X-Forwarded-For", []) for v in h.split(",")]
    if any(xff):
        remote, _ = _pick([v for v in xff if v], peer, trusted)
    elif forwarded:
        remote, index = _pick([e.get("for") for e in forwarded], peer, trusted)
        element = forwarded[index]
    else:
        remote = str(peer)
    scheme = (_last(headers, "X-Forwarded-Proto") or element.get("proto") or "").lower()
    host = _last(headers, "X-Forwarded-Host") or element.get("host")
    return Forwarded(
        remote=remote,
        scheme=scheme if scheme in _SCHEMES else None,
        host=host if host and _HOST.fullmatch(host) else None,
    )


def forwarded_middleware(trusted: TrustedProxies) -> Middleware:
    """Replace a trusted proxy's request's remote, scheme and host by the
    client's (see the module's doc)."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        if trusted:
            found = resolve(request.remote, request.headers, request.forwarded, trusted)
            if found is not None:
                request = request.clone(
                    remote=found.remote,
                    scheme=found.scheme or request.scheme,
                    host=found.host or request.host,
                )
        return await handler(request)

    return middleware


def client_address(request: web.Request) -> str:
    """The client's address: the peer's, or what a trusted proxy said (the
    middleware has already put it in ``request.remote``)."""
    return request.remote or ""


def base_path_middleware(prefix: str) -> Middleware:
    """For the root application when everything is mounted under ``prefix``
    (``/irc``): the handlers see their paths without it (``/api/...``), as
    they would at the root; routing has already used the full path."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        url = request.rel_url
        if url.raw_path.startswith(prefix + "/"):
            path = url.raw_path[len(prefix) :]
            rel_url = URL.build(path=path, query_string=url.raw_query_string, encoded=True)
            request = request.clone(rel_url=rel_url)
        return await handler(request)

    return middleware


_ROOT_LINK = re.compile(r"""(\s(?:href|src)\s*=\s*["'])/(?![/\\])""", re.IGNORECASE)
_HEAD = re.compile(r"<head\b[^>]*>", re.IGNORECASE)


def page_with_base(page: str, base: str) -> str:
    """An HTML page for a server at ``base`` (``/irc/``): a ``<meta
    name="backchannel-base" content="/irc/">`` right after ``<head>`` that
    scripts read to build their URLs, and root-relative ``href``/``src``
    attributes (``/static/...``) moved under ``base``."""
    meta = f'<meta name="backchannel-base" content="{html.escape(base)}">'
    if base != "/":
        page = _ROOT_LINK.sub(lambda m: m.group(1) + base, page)
    head = _HEAD.search(page)
    if head is None:
        return meta + "\n" + page
    return page[: head.end()] + "\n" + meta + page[head.end() :]


def page_base_middleware(base: str) -> Middleware:
    """Every HTML page answered (the app's shell, the setup page) goes through
    :func:`page_with_base`."""

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        response = await handler(request)
        if (
            isinstance(response, web.Response)
            and response.content_type == "text/html"
            and response.text is not None
            and not response.prepared
        ):
            response.text = page_with_base(response.text, base)
        return response

    return middleware
