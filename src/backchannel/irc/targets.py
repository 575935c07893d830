"""Which IRC servers may be reached: parsing ``HOST[:PORT]`` and refusing
targets that would let a visitor reach the operator's own network (SSRF).

The check runs on the addresses a name resolves to, and the connection is then
made to exactly those addresses, so a DNS answer that changes between the check
and the connection (DNS rebinding) cannot slip through.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

__all__ = [
    "ResolvedTarget",
    "ServerSpec",
    "TargetError",
    "TargetPolicy",
    "is_public_address",
    "parse_port_ranges",
    "parse_server",
]

_HOSTNAME = re.compile(r"^(?=.{1,253}$)[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?\.?$")


class TargetError(ValueError):
    """A target that is malformed or not allowed; the message is shown to the user."""


@dataclass(frozen=True, slots=True)
class ServerSpec:
    host: str  # lower-cased; IPv6 without brackets
    port: int | None  # None: any port (only in allow-lists)

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port is None else f"{host}:{self.port}"


def _parse_port(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise TargetError(f"invalid port {text!r}")
    return int(text)


def parse_server(spec: str, default_port: int | None = 6667) -> ServerSpec:
    """Parse ``host``, ``host:port``, ``[v6]`` or ``[v6]:port``."""
    spec = spec.strip()
    port: int | None = default_port
    if spec.startswith("["):
        host, sep, rest = spec[1:].partition("]")
        if not sep:
            raise TargetError(f"invalid server {spec!r}: missing ']'")
        if rest:
            if not rest.startswith(":"):
                raise TargetError(f"invalid server {spec!r}")
            port = _parse_port(rest[1:])
        try:
            host = str(ipaddress.IPv6Address(host))
        except ValueError:
            raise TargetError(f"invalid IPv6 address in {spec!r}") from None
        return ServerSpec(host, port)
    if spec.count(":") > 1:  # a bare IPv6 address
        try:
            return ServerSpec(str(ipaddress.IPv6Address(spec)), port)
        except ValueError:
            raise TargetError(f"invalid server {spec!r}") from None
    host, sep, port_text = spec.partition(":")
    if sep:
        port = _parse_port(port_text)
    if not _HOSTNAME.match(host):
        raise TargetError(f"invalid host name {host!r}")
    return ServerSpec(host.lower().rstrip("."), port)


def parse_port_ranges(text: str) -> frozenset[int] | None:
    """``"6660-6669,6697"`` → the set of ports; ``"*"`` → None (any port)."""
    text = text.strip()
    if text == "*":
        return None
    ports: set[int] = set()
    for item in filter(None, (part.strip() for part in text.split(","))):
        low, sep, high = item.partition("-")
        first = _parse_port(low.strip())
        last = _parse_port(high.strip()) if sep else first
        if last < first:
            raise TargetError(f"invalid port range {item!r}")
        ports.update(range(first, last + 1))
    return frozenset(ports)


def is_public_address(address: str) -> bool:
    """True for globally routable unicast addresses only: not loopback,
    private (RFC 1918, unique-local), link-local, shared, multicast,
    unspecified or reserved — IPv4-mapped IPv6 judged as its IPv4 address."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


@dataclass(frozen=True, slots=True)
class ResolvedTarget:
    """A server that passed the policy, with the addresses to connect to."""

    spec: ServerSpec
    addresses: tuple[tuple[int, str], ...]  # (address family, address)

    @property
    def port(self) -> int:
        assert self.spec.port is not None
        return self.spec.port


class TargetPolicy:
    """Decides whether a ``connect`` may go ahead.

    Listed servers (``allowed``) may be reached on any address, on the listed
    port or any port when none is listed. Others must resolve only to public
    addresses and use an allowed port; in ``public_only_listed`` mode (public
    mode with a list configured) nothing else is allowed."""

    def __init__(
        self,
        allowed: Iterable[str] = (),
        allowed_ports: str = "*",
        only_listed: bool = False,
        unrestricted: bool = False,
    ) -> None:
        self.allowed = tuple(parse_server(spec, default_port=None) for spec in allowed)
        self.ports = parse_port_ranges(allowed_ports)
        self.only_listed = only_listed and bool(self.allowed)
        #: every server allowed: for the operator's own command-line tools only
        self.unrestricted = unrestricted

    def is_listed(self, spec: ServerSpec) -> bool:
        if self.unrestricted:
            return True
        return any(
            entry.host == spec.host and entry.port in (None, spec.port) for entry in self.allowed
        )

    async def resolve(self, spec: ServerSpec) -> ResolvedTarget:
        """Resolve ``spec`` and check it; raises :class:`TargetError` with the reason."""
        assert spec.port is not None
        listed = self.is_listed(spec)
        if not listed:
            if self.only_listed:
                raise TargetError(f"{spec} is not one of this gateway's allowed servers")
            if self.ports is not None and spec.port not in self.ports:
                raise TargetError(f"port {spec.port} is not an allowed IRC port")
        loop = asyncio.get_running_loop()
        try:
            infos = await loop.getaddrinfo(
                spec.host, spec.port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
            )
        except (socket.gaierror, UnicodeError) as exc:
            raise TargetError(f"cannot resolve {spec.host}: {exc}") from None
        addresses: list[tuple[int, str]] = []
        for family, _type, _proto, _name, sockaddr in infos:
            address = str(sockaddr[0])
            if (family, address) in addresses:
                continue
            if not listed and not is_public_address(address):
                raise TargetError(
                    f"{spec.host} resolves to {address}, a non-public address "
                    "that this server will not connect to"
                )
            addresses.append((family, address))
        if not addresses:
            raise TargetError(f"cannot resolve {spec.host}: no addresses")
        return ResolvedTarget(spec, tuple(addresses))
