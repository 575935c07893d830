"""Opening the socket to an IRC server: TCP to the checked addresses, then TLS
with the server's name for SNI and host-name checks, then the fingerprint pin."""

from __future__ import annotations

import asyncio

from backchannel.irc.targets import ResolvedTarget
from backchannel.irc.tls import TlsOptions, make_context, verify_pinned

__all__ = ["open_link"]

READ_LIMIT = 65536


async def open_link(
    target: ResolvedTarget, tls: TlsOptions | None, timeout: float
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Connect to the first address that answers. Raises OSError (incl.
    ssl.SSLError and TimeoutError) with the last failure."""
    context = make_context(tls) if tls is not None else None
    last: Exception | None = None
    for _family, address in target.addresses:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(
                    address,
                    target.port,
                    ssl=context,
                    # the name for SNI and the certificate check (ssl sends no SNI for an IP)
                    server_hostname=target.spec.host if context is not None else None,
                    limit=READ_LIMIT,
                ),
                timeout,
            )
        except (OSError, TimeoutError) as exc:
            last = exc
            continue
        if tls is not None and tls.fingerprint:
            try:
                verify_pinned(writer.get_extra_info("ssl_object"), tls.fingerprint)
            except OSError:
                writer.close()
                raise
        return reader, writer
    assert last is not None
    raise last
