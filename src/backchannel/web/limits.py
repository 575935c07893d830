"""The abuse limits as the web layer applies them: built from the settings,
answered with 429 and the limit's code and reason (see
:mod:`backchannel.session.limits`)."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from contextlib import contextmanager

from aiohttp import web

from backchannel.session.limits import (
    AddressQuota,
    LimitExceeded,
    Limits,
    LineBudget,
    StreamCounter,
)
from backchannel.settings import Settings
from backchannel.web.auth import CLIENT_ADDRESS
from backchannel.web.errors import ApiError
from backchannel.web.keys import LIMITS

__all__ = ["build_limits", "charge_lines", "check_lines", "limit_error", "stream_slot"]


def build_limits(settings: Settings) -> Limits:
    rate = settings.max_lines_per_second
    return Limits(
        streams=StreamCounter(settings.max_streams_per_user, settings.max_streams_per_address),
        lines=LineBudget(rate, max(10.0, 4 * rate)),
        public_sessions=AddressQuota(
            settings.max_public_sessions_per_address if settings.public else 0
        ),
        max_networks=settings.max_networks,
        max_channels=settings.max_channels,
    )


def limit_error(exc: LimitExceeded) -> ApiError:
    return ApiError(429, exc.code, exc.message)


def client_address(request: web.Request) -> str:
    return request.app[CLIENT_ADDRESS](request)


@contextmanager
def stream_slot(request: web.Request, user: Hashable) -> Iterator[None]:
    """Hold one of ``user``'s (and the client address's) event streams: 429
    ``too_many_streams`` when none is free."""
    streams = request.app[LIMITS].streams
    address = client_address(request)
    try:
        streams.check(user, address)
    except LimitExceeded as exc:
        raise limit_error(exc) from None
    with streams.hold(user, address):
        yield


def check_lines(app: web.Application, user: Hashable) -> None:
    """429 ``rate_limited`` when ``user`` has used up their lines for now."""
    try:
        app[LIMITS].lines.check(user)
    except LimitExceeded as exc:
        raise limit_error(exc) from None


def charge_lines(app: web.Application, user: Hashable, lines: int) -> None:
    app[LIMITS].lines.charge(user, lines)
