"""Answers to CTCP queries (VERSION, PING, TIME, CLIENTINFO), rate-limited so
a CTCP flood cannot make us flood the server in turn."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from backchannel import __version__
from backchannel.irc.pacing import TokenBucket
from backchannel.protocol.ctcp import build_ctcp
from backchannel.state.events.messages import CtcpRequest

__all__ = ["CtcpResponder"]

SUPPORTED = ("ACTION", "CLIENTINFO", "PING", "TIME", "VERSION")


class CtcpResponder:
    def __init__(
        self,
        version: str | None = None,
        *,
        enabled: bool = True,
        burst: int = 3,
        rate: float = 0.2,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.version = version or f"Backchannel {__version__}"
        self.enabled = enabled
        self.bucket = TokenBucket(burst, rate)
        self.clock = clock
        self.dropped = 0

    def answer(self, command: str, params: str) -> str | None:
        """The reply text for one query, or None for queries we do not answer."""
        if command == "VERSION":
            return build_ctcp("VERSION", self.version)
        if command == "PING":
            return build_ctcp("PING", params[:100])
        if command == "TIME":
            return build_ctcp("TIME", datetime.now(UTC).strftime("%a, %d %b %Y %H:%M:%S %z"))
        if command == "CLIENTINFO":
            return build_ctcp("CLIENTINFO", " ".join(SUPPORTED))
        return None

    def reply(self, request: CtcpRequest) -> str | None:
        """The NOTICE line answering ``request`` (sent to its sender), or None:
        not a query we answer, sent by ourselves, or over the rate limit."""
        if not self.enabled or request.self or request.server:
            return None
        text = self.answer(request.command, request.text)
        if text is None:
            return None
        if self.bucket.take(self.clock()) > 0:
            self.dropped += 1
            return None
        return f"NOTICE {request.nick} :{text}"
