"""SASL authentication over IRC (IRCv3 sasl-3.1 and 3.2), sans I/O.

A :class:`SaslSession` runs one exchange: :meth:`SaslSession.start` gives the
``AUTHENTICATE <mechanism>`` line (or nothing when the server does not offer
our mechanism), :meth:`SaslSession.feed` takes every server message and gives
the lines to send, and :attr:`SaslSession.result` becomes a
:class:`SaslSuccess` or :class:`SaslFailure` when the exchange is over.

Payloads travel base64-encoded in chunks of at most 400 bytes; a payload whose
encoding is a multiple of 400 bytes (or empty) ends with ``AUTHENTICATE +``.

Mechanisms: PLAIN (authzid = authcid = account), EXTERNAL (the TLS client
certificate; empty authzid) and SCRAM-SHA-256, whose computation comes from
the ``scramp`` package. A SCRAM exchange only succeeds once the server has
proved it knows the password (its signature checked by scramp): a 903 without
that proof is a failure.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Final

from scramp import ScramClient, ScramException  # type: ignore[import-untyped]

from backchannel.protocol.message import Message

__all__ = [
    "MECHANISMS",
    "SaslConfig",
    "SaslFailure",
    "SaslFailureKind",
    "SaslResult",
    "SaslSession",
    "SaslSuccess",
    "encode_authenticate",
    "parse_mechanisms",
]

CHUNK: Final = 400
#: more than this much base64 from the server in one payload is an attack
MAX_SERVER_PAYLOAD: Final = 16 * 1024
#: RFC 7677 asks for at least 4096; a huge count would stall the event loop
SCRAM_MIN_ITERATIONS: Final = 4096
SCRAM_MAX_ITERATIONS: Final = 200_000

PLAIN: Final = "PLAIN"
EXTERNAL: Final = "EXTERNAL"
SCRAM_SHA_256: Final = "SCRAM-SHA-256"
MECHANISMS: Final = frozenset({PLAIN, EXTERNAL, SCRAM_SHA_256})


@dataclass(frozen=True, slots=True)
class SaslConfig:
    """What to authenticate with. ``account`` and ``password`` are needed by
    PLAIN and SCRAM-SHA-256; EXTERNAL uses neither."""

    mechanism: str
    account: str = ""
    password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.mechanism not in MECHANISMS:
            raise ValueError(f"unsupported SASL mechanism {self.mechanism!r}")
        if self.mechanism != EXTERNAL and not (self.account and self.password):
            raise ValueError(f"{self.mechanism} needs an account and a password")


class SaslFailureKind(enum.Enum):
    BAD_CREDENTIALS = "bad-credentials"  # 904, or the server rejected our proof
    TOO_LONG = "too-long"  # 905
    NICK_LOCKED = "nick-locked"  # 902
    ABORTED = "aborted"  # 906, or we aborted (timeout)
    ALREADY_AUTHENTICATED = "already-authenticated"  # 907
    MECHANISM_UNAVAILABLE = "mechanism-unavailable"  # not offered, or 908 then 904
    SERVER_NOT_VERIFIED = "server-not-verified"  # SCRAM: bad or missing server proof
    PROTOCOL_ERROR = "protocol-error"  # a malformed exchange


@dataclass(frozen=True, slots=True)
class SaslSuccess:
    mechanism: str
    account: str | None  # from 900 RPL_LOGGEDIN, when the server sent it


@dataclass(frozen=True, slots=True)
class SaslFailure:
    kind: SaslFailureKind
    reason: str  # human-readable
    server_mechanisms: tuple[str, ...] | None = None  # from 908 or the cap value


SaslResult = SaslSuccess | SaslFailure


def parse_mechanisms(value: str | None) -> frozenset[str] | None:
    """``PLAIN,EXTERNAL`` → the set of names (upper-cased); None or "" → None,
    meaning the server did not say (sasl-3.1), so we just try."""
    if not value:
        return None
    return frozenset(name.strip().upper() for name in value.split(",") if name.strip())


def encode_authenticate(payload: bytes) -> list[str]:
    """The ``AUTHENTICATE`` lines carrying ``payload``."""
    encoded = base64.b64encode(payload).decode("ascii")
    lines = [f"AUTHENTICATE {encoded[i : i + CHUNK]}" for i in range(0, len(encoded), CHUNK)]
    if len(encoded) % CHUNK == 0:
        lines.append("AUTHENTICATE +")
    return lines


class _Failed(Exception):
    """A mechanism step failed; the exchange must be aborted."""

    def __init__(self, kind: SaslFailureKind, reason: str) -> None:
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


class _Mechanism:
    name: str = ""
    #: whether a 903 may be believed (SCRAM: only after the server's proof)
    verified: bool = True

    def respond(self, challenge: bytes) -> bytes:
        raise NotImplementedError


class _Plain(_Mechanism):
    name = PLAIN

    def __init__(self, account: str, password: str) -> None:
        self._payload = b"\0".join(s.encode("utf-8") for s in (account, account, password))
        self._sent = False

    def respond(self, challenge: bytes) -> bytes:
        if self._sent or challenge:
            raise _Failed(SaslFailureKind.PROTOCOL_ERROR, "unexpected PLAIN challenge")
        self._sent = True
        return self._payload


class _External(_Mechanism):
    name = EXTERNAL

    def __init__(self) -> None:
        self._sent = False

    def respond(self, challenge: bytes) -> bytes:
        if self._sent or challenge:
            raise _Failed(SaslFailureKind.PROTOCOL_ERROR, "unexpected EXTERNAL challenge")
        self._sent = True
        return b""


def _iterations(server_first: str) -> int | None:
    for attr in server_first.split(","):
        if attr.startswith("i="):
            digits = attr[2:]
            return int(digits) if digits.isascii() and digits.isdigit() else None
    return None


class _ScramSha256(_Mechanism):
    name = SCRAM_SHA_256

    def __init__(self, account: str, password: str) -> None:
        self._client = ScramClient([SCRAM_SHA_256], account, password)
        self._step = 0
        self.verified = False

    def respond(self, challenge: bytes) -> bytes:
        step = self._step
        self._step += 1
        try:
            text = challenge.decode("utf-8")
            if step == 0:
                if challenge:
                    raise _Failed(SaslFailureKind.PROTOCOL_ERROR, "unexpected SCRAM challenge")
                return str(self._client.get_client_first()).encode("utf-8")
            if step == 1:
                if text.startswith("e="):
                    raise _Failed(SaslFailureKind.BAD_CREDENTIALS, f"server error: {text[2:]}")
                count = _iterations(text)
                if count is not None and not (
                    SCRAM_MIN_ITERATIONS <= count <= SCRAM_MAX_ITERATIONS
                ):
                    raise _Failed(
                        SaslFailureKind.PROTOCOL_ERROR,
                        f"refusing SCRAM iteration count {count}",
                    )
                self._client.set_server_first(text)
                return str(self._client.get_client_final()).encode("utf-8")
            if step == 2:
                if text.startswith("e="):
                    raise _Failed(
                        SaslFailureKind.BAD_CREDENTIALS, f"server rejected our proof: {text[2:]}"
                    )
                try:
                    self._client.set_server_final(text)
                except ScramException as exc:
                    raise _Failed(
                        SaslFailureKind.SERVER_NOT_VERIFIED,
                        f"the server's SCRAM signature is wrong: {exc}",
                    ) from exc
                self.verified = True
                return b""
        except (ScramException, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise _Failed(SaslFailureKind.PROTOCOL_ERROR, f"bad SCRAM message: {exc}") from exc
        raise _Failed(SaslFailureKind.PROTOCOL_ERROR, "unexpected SCRAM challenge")


def _make_mechanism(config: SaslConfig) -> _Mechanism:
    if config.mechanism == PLAIN:
        return _Plain(config.account, config.password)
    if config.mechanism == EXTERNAL:
        return _External()
    return _ScramSha256(config.account, config.password)


_FAILURE_NUMERICS: Final = {
    "902": (SaslFailureKind.NICK_LOCKED, "the account is locked or the nick is held (902)"),
    "904": (SaslFailureKind.BAD_CREDENTIALS, "authentication failed: bad credentials (904)"),
    "905": (SaslFailureKind.TOO_LONG, "the SASL message was too long (905)"),
    "906": (SaslFailureKind.ABORTED, "authentication was aborted (906)"),
    "907": (SaslFailureKind.ALREADY_AUTHENTICATED, "already authenticated (907)"),
}


class SaslSession:
    """One SASL exchange for ``config``; see the module docstring."""

    def __init__(self, config: SaslConfig) -> None:
        self.config = config
        self._mechanism = _make_mechanism(config)
        self._started = False
        self._buffer: list[str] = []
        self._buffered = 0
        self.account: str | None = None
        self.server_mechanisms: frozenset[str] | None = None
        self.result: SaslResult | None = None

    @property
    def mechanism(self) -> str:
        return self.config.mechanism

    @property
    def done(self) -> bool:
        return self.result is not None

    def _listed(self) -> tuple[str, ...] | None:
        return None if self.server_mechanisms is None else tuple(sorted(self.server_mechanisms))

    def _fail(self, kind: SaslFailureKind, reason: str) -> None:
        if self.result is None:
            self.result = SaslFailure(kind, reason, self._listed())

    def start(self, offered: Iterable[str] | None = None) -> list[str]:
        """Begin: ``offered`` is the server's mechanism list (from the ``sasl``
        cap value), None when unknown. Returns the lines to send; none when
        our mechanism is not offered (:attr:`result` then says so)."""
        if self._started:
            return []
        self._started = True
        if offered is not None:
            self.server_mechanisms = frozenset(m.upper() for m in offered)
            if self.mechanism not in self.server_mechanisms:
                self._fail(
                    SaslFailureKind.MECHANISM_UNAVAILABLE,
                    f"the server does not offer {self.mechanism} "
                    f"(it offers {', '.join(self._listed() or ()) or 'nothing'})",
                )
                return []
        return [f"AUTHENTICATE {self.mechanism}"]

    def abort(self, reason: str = "authentication timed out") -> list[str]:
        """Give up (e.g. on a timeout): ``AUTHENTICATE *``, result ABORTED."""
        if self.result is not None or not self._started:
            return []
        self._fail(SaslFailureKind.ABORTED, reason)
        return ["AUTHENTICATE *"]

    def _abort_with(self, kind: SaslFailureKind, reason: str) -> list[str]:
        self._fail(kind, reason)
        return ["AUTHENTICATE *"]

    def feed(self, msg: Message) -> list[str]:
        """Take one server message; returns the lines to send."""
        if self.result is not None or not self._started:
            return []
        command = msg.command
        if command == "AUTHENTICATE":
            return self._challenge(msg.param(0))
        if command == "900":
            self.account = msg.param(2) or None
        elif command == "903":
            if not self._mechanism.verified:
                self._fail(
                    SaslFailureKind.SERVER_NOT_VERIFIED,
                    "the server claimed success without proving it knows the password",
                )
            else:
                self.result = SaslSuccess(self.mechanism, self.account)
        elif command == "908":
            self.server_mechanisms = parse_mechanisms(msg.param(1))
        elif command in _FAILURE_NUMERICS:
            kind, reason = _FAILURE_NUMERICS[command]
            listed = self.server_mechanisms
            if command == "904" and listed is not None and self.mechanism not in listed:
                kind = SaslFailureKind.MECHANISM_UNAVAILABLE
                reason = (
                    f"the server does not support {self.mechanism} "
                    f"(it offers {', '.join(sorted(listed))})"
                )
            self._fail(kind, reason)
        return []

    def _challenge(self, chunk: str) -> list[str]:
        if chunk != "+":
            if not chunk or len(chunk) > CHUNK:
                return self._abort_with(SaslFailureKind.PROTOCOL_ERROR, "malformed AUTHENTICATE")
            self._buffer.append(chunk)
            self._buffered += len(chunk)
            if self._buffered > MAX_SERVER_PAYLOAD:
                return self._abort_with(
                    SaslFailureKind.PROTOCOL_ERROR, "the server's SASL message is too long"
                )
            if len(chunk) == CHUNK:
                return []  # more to come
        encoded = "".join(self._buffer)
        self._buffer.clear()
        self._buffered = 0
        try:
            challenge = base64.b64decode(encoded, validate=True)
        except (binascii.Error, ValueError):
            return self._abort_with(SaslFailureKind.PROTOCOL_ERROR, "invalid base64 from server")
        try:
            response = self._mechanism.respond(challenge)
        except _Failed as exc:
            return self._abort_with(exc.kind, exc.reason)
        return encode_authenticate(response)
