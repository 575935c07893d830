"""HTTPS served directly: the server's SSL context, and reloading its
certificate in place.

:func:`server_context` makes the context ``backchannel serve`` listens with;
:func:`reload_certificate` loads a renewed certificate and key into that same
context (on SIGHUP), so connections made from then on get the new one without
a restart while open ones carry on.
"""

from __future__ import annotations

import ssl
from pathlib import Path

__all__ = ["TlsError", "reload_certificate", "server_context"]


class TlsError(ValueError):
    """The certificate or key cannot be used; the message says which and why."""


def _load(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    try:
        context.load_cert_chain(certfile=str(cert), keyfile=str(key))
    except FileNotFoundError as exc:
        raise TlsError(f"cannot read {exc.filename or cert}: no such file") from None
    except PermissionError as exc:
        raise TlsError(f"cannot read {exc.filename or cert}: permission denied") from None
    except (ssl.SSLError, OSError) as exc:
        raise TlsError(f"cannot use certificate {cert} with key {key}: {exc}") from None


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context with Python's secure defaults (TLS 1.2 and later)
    and the certificate chain ``cert`` (PEM, leaf first) with ``key``."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    _load(context, cert, key)
    return context


def reload_certificate(context: ssl.SSLContext, cert: Path, key: Path) -> None:
    """Load ``cert`` and ``key`` into ``context`` again. They are tried on a
    scratch context first: on an error ``context`` keeps the certificate it
    had (OpenSSL would otherwise be left with a new certificate and no
    matching key) and :class:`TlsError` says why."""
    _load(ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER), cert, key)
    _load(context, cert, key)
