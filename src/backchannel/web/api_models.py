"""The v1 REST API's request and response bodies (pydantic v2), and reading
them from a request: bad JSON is 400 ``bad_json``, a body that does not fit
its model is 422 ``invalid`` (unknown fields included), a bad cursor 400.

Every string that can reach an IRC server is checked here: CR, LF and NUL
are refused (the one exception is a message's ``text``, whose line breaks
make several messages, and ``raw``, checked by the handler: 400)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from aiohttp import web
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from backchannel.irc.targets import TargetError, parse_server
from backchannel.irc.tls import normalize_fingerprint
from backchannel.web.errors import ApiError

__all__ = [
    "ChannelIn",
    "ErrorBody",
    "Handler",
    "JoinBody",
    "NetworkCreate",
    "NetworkPatch",
    "PartBody",
    "QueryBody",
    "ReadBody",
    "Route",
    "SaslIn",
    "SendBody",
    "StrictModel",
    "parse_cursor",
    "parse_limit",
]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
Route = tuple[str, str, Handler]  # method, path, handler
MAX_CURSOR_DIGITS = 19  # SQLite's INTEGER is 64-bit
MAX_CURSOR = 2**63 - 1  # and no larger: one more would fail in the query, not here


def _one_line(value: str) -> str:
    if any(ch in value for ch in "\r\n\0"):
        raise ValueError("must not contain CR, LF or NUL")
    return value


def _word(value: str) -> str:
    _one_line(value)
    if any(ch.isspace() or ord(ch) < 32 or ch == "," for ch in value):
        raise ValueError("must not contain spaces, commas or control characters")
    return value


def _nick(value: str) -> str:
    _word(value)
    if value[0] in ":#&$" or any(ch in value for ch in "!@*?"):
        raise ValueError(f"not a nickname: {value!r}")
    return value


def _no_nul(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain NUL")
    return value


Line = Annotated[str, Field(max_length=512), AfterValidator(_one_line)]
Word = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_word)]
Nick = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_nick)]
Target = Annotated[
    str,
    Field(min_length=1, max_length=200, description="a channel or a nick"),
    AfterValidator(_word),
]
Conversation = Annotated[
    str,
    Field(max_length=200, description='a channel, a nick, or "" for the network\'s own buffer'),
    AfterValidator(lambda v: _word(v) if v else v),
]
RawLine = Annotated[str, Field(min_length=1, max_length=510), AfterValidator(_one_line)]
CursorText = Annotated[
    str,
    # (the pattern is documented; the handler checks it: 400 bad_cursor)
    Field(
        description="a cursor: decimal digits",
        examples=["1234"],
        json_schema_extra={"pattern": "^[0-9]+$"},
    ),
]


class StrictModel(BaseModel):
    """JSON types only (no "6667" for 6667) and no unknown fields."""

    model_config = ConfigDict(strict=True, extra="forbid")


# --- networks ---------------------------------------------------------------------


class ChannelIn(StrictModel):
    name: Word
    key: Word | None = None


class SaslIn(StrictModel):
    mechanism: Literal["PLAIN", "EXTERNAL", "SCRAM-SHA-256"]
    account: Line = ""
    password: Annotated[str, Field(max_length=512), AfterValidator(_one_line)] = ""

    @model_validator(mode="after")
    def _credentials(self) -> SaslIn:
        if self.mechanism != "EXTERNAL" and not (self.account and self.password):
            raise ValueError(f"SASL {self.mechanism} needs an account and a password")
        return self


class NetworkCreate(StrictModel):
    """A network's settings, as created (and as stored)."""

    name: Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_one_line)]
    host: Annotated[
        str,
        Field(min_length=1, max_length=260, description="host name or IP address (HOST[:PORT])"),
        AfterValidator(_word),
    ]
    port: int | None = Field(None, ge=1, le=65535, description="default 6697 with TLS, else 6667")
    tls: bool = False
    tls_verify: bool = True
    fingerprint: str | None = Field(None, description="SHA-256 certificate pin, hex")
    nick: Nick
    alt_nicks: list[Nick] = Field(default_factory=list, max_length=10)
    username: Word | None = None
    realname: Line | None = None
    password: Line | None = Field(None, description="server password (PASS)")
    sasl: SaslIn | None = None
    channels: list[ChannelIn] = Field(default_factory=list, max_length=200)
    auto_commands: list[RawLine] = Field(
        default_factory=list, max_length=50, description="raw lines sent after registration"
    )

    @model_validator(mode="after")
    def _server(self) -> NetworkCreate:
        default = self.port or (6697 if self.tls else 6667)
        try:
            spec = parse_server(self.host, default_port=default)
        except TargetError as exc:
            raise ValueError(str(exc)) from None
        if self.port is not None and spec.port != self.port:
            raise ValueError(f"host gives port {spec.port} but port is {self.port}")
        self.host, self.port = spec.host, spec.port
        if self.fingerprint is not None:
            try:
                self.fingerprint = normalize_fingerprint(self.fingerprint)
            except ValueError as exc:
                raise ValueError(str(exc)) from None
            if not self.tls:
                raise ValueError("a certificate fingerprint needs tls")
        return self


class NetworkPatch(StrictModel):
    """Fields to change; the others keep their value. ``null`` clears an
    optional field. A ``sasl`` without ``password``, or a channel without
    ``key``, keeps the stored secret."""

    name: str | None = None
    host: str | None = None
    port: int | None = None
    tls: bool | None = None
    tls_verify: bool | None = None
    fingerprint: str | None = None
    nick: str | None = None
    alt_nicks: list[str] | None = None
    username: str | None = None
    realname: str | None = None
    password: str | None = None
    sasl: dict[str, Any] | None = None
    channels: list[dict[str, Any]] | None = None
    auto_commands: list[str] | None = None


# --- commands ---------------------------------------------------------------------


class SendBody(StrictModel):
    """Either ``target`` and ``text`` (split to fit; each line of a
    multi-line text is a message; ``/me `` makes an action), or one ``raw``
    IRC line."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{"target": "#backchannel", "text": "hello"}, {"raw": "PING :now"}]
        }
    )

    target: Target | None = None
    text: Annotated[str, Field(min_length=1, max_length=16384), AfterValidator(_no_nul)] | None = (
        None
    )
    notice: bool = False
    raw: Annotated[str, Field(min_length=1, max_length=8191)] | None = None

    @model_validator(mode="after")
    def _one_kind(self) -> SendBody:
        if self.raw is not None:
            if self.target is not None or self.text is not None or self.notice:
                raise ValueError("give either raw, or target and text")
        elif self.target is None or self.text is None:
            raise ValueError("give target and text (or raw)")
        return self


class JoinBody(StrictModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"channel": "#backchannel"}]})

    channel: Word
    key: Word | None = None


class PartBody(StrictModel):
    channel: Word
    reason: Line = ""


class QueryBody(StrictModel):
    nick: Nick


class ReadBody(StrictModel):
    target: Conversation
    cursor: CursorText


class ErrorDetail(BaseModel):
    code: str = Field(examples=["not_found"])
    message: str


class ErrorBody(BaseModel):
    error: ErrorDetail


# --- reading requests -------------------------------------------------------------


def parse_cursor(text: str | None, name: str = "cursor") -> int | None:
    """A cursor from the query string or a body (None when absent or "")."""
    if text is None or text == "":
        return None
    if (
        not text.isascii()
        or not text.isdigit()
        or len(text) > MAX_CURSOR_DIGITS
        or int(text) > MAX_CURSOR
    ):
        raise ApiError(400, "bad_cursor", f"{name} is not a cursor: {text[:40]!r}")
    return int(text)


def parse_limit(text: str | None, default: int = 100, maximum: int = 1000) -> int:
    if text is None or text == "":
        return default
    # no longer than the maximum: int() of thousands of digits is a ValueError
    digits = len(str(maximum))
    if (
        not text.isascii()
        or not text.isdigit()
        or len(text) > digits
        or not 1 <= int(text) <= maximum
    ):
        raise ApiError(400, "bad_limit", f"limit is a number from 1 to {maximum}")
    return int(text)


class LoginBody(StrictModel):
    """``POST /api/login``."""

    username: str = Field(max_length=64)
    password: str = Field(max_length=4096)


class SetupBody(StrictModel):
    """``POST /api/setup``: the console's one-time token and the first account."""

    token: str = Field(max_length=256)
    username: str = Field(max_length=64)
    password: str = Field(max_length=4096)
