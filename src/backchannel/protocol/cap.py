"""IRCv3 capability negotiation (CAP 302 with cap-notify), sans I/O.

The engine sends the lines of :meth:`CapNegotiator.start` (``CAP LS 302``)
followed by ``NICK`` and ``USER``, then passes every server message to
:meth:`CapNegotiator.feed` and carries out the actions it returns, in order:

* :class:`Send` — write this line;
* :class:`StsUpgrade` — an insecure connection was told to use TLS: close it
  and reconnect with TLS on ``port`` (no ``CAP END`` is sent: registration must
  not complete in the clear);
* :class:`StsPersist` — a secure connection advertised a persistence policy;
  store it (``StsPolicy.from_duration``; duration 0 removes it);
* :class:`~backchannel.protocol.sasl.SaslSuccess` /
  :class:`~backchannel.protocol.sasl.SaslFailure` — the SASL outcome;
* :class:`NegotiationDone` — ``CAP END`` has been sent (exactly once, on every
  path but an STS upgrade): registration proceeds;
* :class:`CapsChanged` — after negotiation, caps were enabled or removed.

SASL runs inside the negotiator: when ``sasl`` is acknowledged and a
:class:`~backchannel.protocol.sasl.SaslConfig` was given, the AUTHENTICATE
exchange happens before ``CAP END``. Call :meth:`CapNegotiator.timeout` if the
server stops answering, so registration can never hang.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Final

from backchannel.protocol.message import Message
from backchannel.protocol.sasl import (
    SaslConfig,
    SaslFailure,
    SaslFailureKind,
    SaslSession,
    SaslSuccess,
    parse_mechanisms,
)
from backchannel.protocol.sts import parse_sts_value

__all__ = [
    "SUPPORTED_CAPS",
    "Action",
    "CapNegotiator",
    "CapsChanged",
    "NegotiationDone",
    "Send",
    "StsPersist",
    "StsUpgrade",
    "parse_cap_list",
]

SUPPORTED_CAPS: Final = frozenset(
    {
        "account-notify",
        "account-tag",
        "away-notify",
        "batch",
        "cap-notify",
        "chghost",
        "draft/chathistory",
        "echo-message",
        "extended-join",
        "invite-notify",
        "labeled-response",
        "message-tags",
        "multi-prefix",
        "sasl",
        "server-time",
        "setname",
        "standard-replies",
        "userhost-in-names",
    }
)

#: a line is at most 512 bytes with its CR LF
_MAX_LINE: Final = 510
_REQ_PREFIX: Final = "CAP REQ :"
_SASL_NUMERICS: Final = frozenset({"900", "901", "902", "903", "904", "905", "906", "907", "908"})


@dataclass(frozen=True, slots=True)
class Send:
    line: str


@dataclass(frozen=True, slots=True)
class StsUpgrade:
    """Reconnect with TLS to ``port`` (a duration seen on an insecure
    connection must be ignored, so none is given)."""

    port: int


@dataclass(frozen=True, slots=True)
class StsPersist:
    duration: int
    preload: bool = False


@dataclass(frozen=True, slots=True)
class NegotiationDone:
    enabled: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CapsChanged:
    added: Mapping[str, str] = field(default_factory=dict)
    removed: frozenset[str] = frozenset()


Action = Send | StsUpgrade | StsPersist | NegotiationDone | CapsChanged | SaslSuccess | SaslFailure


def parse_cap_list(text: str) -> dict[str, str]:
    """``a b=1 c=x=y`` → ``{"a": "", "b": "1", "c": "x=y"}``."""
    caps: dict[str, str] = {}
    for token in text.split():
        name, _, value = token.partition("=")
        if name:
            caps[name] = value
    return caps


def _req_lines(caps: Iterable[str]) -> list[tuple[str, ...]]:
    groups: list[tuple[str, ...]] = []
    current: list[str] = []
    size = len(_REQ_PREFIX)
    for cap in caps:
        extra = len(cap.encode("utf-8")) + (1 if current else 0)
        if current and size + extra > _MAX_LINE:
            groups.append(tuple(current))
            current, size = [], len(_REQ_PREFIX)
            extra -= 1
        current.append(cap)
        size += extra
    if current:
        groups.append(tuple(current))
    return groups


class CapNegotiator:
    """Negotiates caps for one connection; see the module docstring.

    ``wanted`` are the caps to enable when offered (``sasl`` only counts when
    ``sasl`` is configured; ``sts`` is never requested, as its spec demands).
    ``tls`` says whether this connection is secure, for STS."""

    def __init__(
        self,
        wanted: Iterable[str] = SUPPORTED_CAPS,
        *,
        tls: bool,
        sasl: SaslConfig | None = None,
    ) -> None:
        self.wanted = frozenset(wanted) - {"sts"}
        if sasl is None:
            self.wanted -= {"sasl"}
        self.tls = tls
        self.sasl = SaslSession(sasl) if sasl is not None else None
        self.available: dict[str, str] = {}
        self.enabled: dict[str, str] = {}
        self.done = False  # CAP END sent (or the negotiation stopped for STS)
        self.sts_upgrade = False
        self._ls_complete = False
        self._ls_buffer: dict[str, str] = {}
        self._pending: deque[tuple[str, ...]] = deque()
        self._in_sasl = False

    def start(self) -> list[str]:
        return ["CAP LS 302"]

    # --- the terminal path, exactly once -----------------------------------

    def _finish(self) -> list[Action]:
        if self.done:
            return []
        self.done = True
        self._in_sasl = False
        return [Send("CAP END"), NegotiationDone(dict(self.enabled))]

    def timeout(self) -> list[Action]:
        """The server stopped answering during negotiation: abort SASL if it
        is running, then end negotiation."""
        actions: list[Action] = []
        if self.done:
            return actions
        if self._in_sasl and self.sasl is not None:
            actions.extend(Send(line) for line in self.sasl.abort())
            if self.sasl.result is not None:
                actions.append(self.sasl.result)
        return actions + self._finish()

    # --- input --------------------------------------------------------------

    def feed(self, msg: Message) -> list[Action]:
        """Take one server message; returns the actions to carry out."""
        if self.sts_upgrade:
            return []
        command = msg.command
        if command == "CAP":
            return self._on_cap(msg)
        if self.done:
            return []
        if self._in_sasl and (command == "AUTHENTICATE" or command in _SASL_NUMERICS):
            return self._on_sasl(msg)
        if command == "001":
            # registered without us ending negotiation: a server without CAP
            actions: list[Action] = []
            if self._in_sasl and self.sasl is not None and self.sasl.result is None:
                actions.append(
                    SaslFailure(
                        SaslFailureKind.ABORTED,
                        "the server completed registration before SASL finished",
                    )
                )
            return actions + self._finish()
        if command == "410" or (command in {"421", "451"} and msg.param(1).upper() == "CAP"):
            # 410: our CAP subcommand is not understood; 421/451: CAP is not
            return self._finish()
        return []

    def _on_cap(self, msg: Message) -> list[Action]:
        sub = msg.param(1).upper()
        if sub == "LS":
            return self._on_ls(msg)
        if sub == "ACK":
            return self._on_ack(parse_cap_list(msg.param(2)))
        if sub == "NAK":
            return self._on_nak(list(parse_cap_list(msg.param(2))))
        if sub == "NEW":
            return self._on_new(parse_cap_list(msg.param(2)))
        if sub == "DEL":
            return self._on_del(parse_cap_list(msg.param(2)))
        return []

    def _on_ls(self, msg: Message) -> list[Action]:
        if self._ls_complete:
            return []
        more = len(msg.params) >= 4 and msg.param(2) == "*"
        self._ls_buffer.update(parse_cap_list(msg.param(3) if more else msg.param(2)))
        if more:
            return []
        self._ls_complete = True
        self.available = self._ls_buffer
        self._ls_buffer = {}
        actions = self._check_sts(self.available)
        if self.sts_upgrade:
            return actions
        return actions + self._request(self.available) + self._maybe_proceed()

    def _check_sts(self, offered: Mapping[str, str]) -> list[Action]:
        if "sts" not in offered:
            return []
        advert = parse_sts_value(offered["sts"])
        if not self.tls:
            if advert.port is None:
                return []
            self.sts_upgrade = True
            self.done = True
            return [StsUpgrade(advert.port)]
        if advert.duration is None:
            return []
        return [StsPersist(advert.duration, advert.preload)]

    def _request(self, offered: Mapping[str, str]) -> list[Action]:
        in_flight = {cap for group in self._pending for cap in group}
        caps = sorted(
            cap
            for cap in offered
            if cap in self.wanted and cap not in self.enabled and cap not in in_flight
        )
        actions: list[Action] = []
        for group in _req_lines(caps):
            self._pending.append(group)
            actions.append(Send(_REQ_PREFIX + " ".join(group)))
        return actions

    def _maybe_proceed(self) -> list[Action]:
        """After LS and every REQ answered: SASL, then CAP END."""
        if self.done or self._in_sasl or not self._ls_complete or self._pending:
            return []
        if self.sasl is not None and "sasl" in self.enabled and not self.sasl.done:
            self._in_sasl = True
            offered = parse_mechanisms(self.available.get("sasl"))
            lines = self.sasl.start(offered)
            if self.sasl.result is not None:
                return [self.sasl.result, *self._finish()]
            return [Send(line) for line in lines]
        return self._finish()

    def _on_ack(self, acked: Mapping[str, str]) -> list[Action]:
        if self._pending:
            self._pending.popleft()
        added: dict[str, str] = {}
        removed: set[str] = set()
        for name in acked:
            if name.startswith("-"):
                cap = name[1:]
                if self.enabled.pop(cap, None) is not None:
                    removed.add(cap)
            elif name:
                added[name] = self.available.get(name, "")
        self.enabled.update(added)
        actions: list[Action] = []
        if self.done and (added or removed):
            actions.append(CapsChanged(added, frozenset(removed)))
        return actions + self._maybe_proceed()

    def _on_nak(self, refused: list[str]) -> list[Action]:
        group = tuple(self._pending.popleft()) if self._pending else tuple(refused)
        actions: list[Action] = []
        if len(group) > 1:
            # a request is all or nothing: ask again one by one so that one
            # refused cap does not cost us the others
            for cap in group:
                if cap in self.available and cap not in self.enabled:
                    self._pending.append((cap,))
                    actions.append(Send(_REQ_PREFIX + cap))
        return actions + self._maybe_proceed()

    def _on_new(self, offered: Mapping[str, str]) -> list[Action]:
        self.available.update(offered)
        for cap, value in offered.items():
            if cap in self.enabled:
                self.enabled[cap] = value
        actions = self._check_sts(offered)
        if self.sts_upgrade:
            return actions
        return actions + self._request(offered)

    def _on_del(self, gone: Mapping[str, str]) -> list[Action]:
        removed: set[str] = set()
        for cap in gone:
            if cap == "sts":
                continue  # the spec says to ignore this
            self.available.pop(cap, None)
            if self.enabled.pop(cap, None) is not None:
                removed.add(cap)
        if self.done and removed:
            return [CapsChanged({}, frozenset(removed))]
        return []

    def _on_sasl(self, msg: Message) -> list[Action]:
        assert self.sasl is not None
        actions: list[Action] = [Send(line) for line in self.sasl.feed(msg)]
        if self.sasl.result is not None:
            actions.append(self.sasl.result)
            actions.extend(self._finish())
        return actions

    def is_enabled(self, cap: str) -> bool:
        return cap in self.enabled
