"""TLS for IRC connections: verification against the system store by default,
or pinning one certificate by its SHA-256 fingerprint (self-signed servers), and
an optional client certificate (SASL EXTERNAL / CertFP)."""

from __future__ import annotations

import hashlib
import hmac
import re
import ssl
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "FingerprintMismatch",
    "TlsOptions",
    "certificate_fingerprint",
    "make_context",
    "normalize_fingerprint",
    "verify_pinned",
]

_HEX = re.compile(r"^[0-9a-f]{64}$")


class FingerprintMismatch(ssl.SSLError):
    """The server's certificate is not the pinned one."""


def normalize_fingerprint(text: str) -> str:
    """``AB:CD:…`` or ``abcd…`` → 64 lower-case hex digits; ValueError otherwise."""
    cleaned = text.strip().replace(":", "").replace(" ", "").lower()
    if not _HEX.match(cleaned):
        raise ValueError("a SHA-256 fingerprint is 64 hex digits (colons optional)")
    return cleaned


def certificate_fingerprint(der: bytes) -> str:
    return hashlib.sha256(der).hexdigest()


@dataclass(frozen=True, slots=True)
class TlsOptions:
    verify: bool = True  # check the chain and host name against the system store
    fingerprint: str | None = None  # pin: accept exactly this certificate
    client_cert: Path | None = None  # PEM with the certificate (and key, unless client_key)
    client_key: Path | None = None


def make_context(options: TlsOptions) -> ssl.SSLContext:
    """A client context. With a pinned fingerprint the chain is not checked
    (the pin is stronger); call :func:`verify_pinned` after the handshake."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if options.fingerprint or not options.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if options.client_cert is not None:
        context.load_cert_chain(options.client_cert, options.client_key)
    return context


def verify_pinned(ssl_object: ssl.SSLObject | ssl.SSLSocket | None, fingerprint: str) -> None:
    """Raise :class:`FingerprintMismatch` unless the peer's certificate has
    ``fingerprint`` (compared in constant time)."""
    der = ssl_object.getpeercert(binary_form=True) if ssl_object is not None else None
    if not der:
        raise FingerprintMismatch("the server sent no certificate")
    actual = certificate_fingerprint(der)
    if not hmac.compare_digest(actual, normalize_fingerprint(fingerprint)):
        raise FingerprintMismatch(
            f"certificate fingerprint {actual} does not match the pinned {fingerprint}"
        )
