"""Pytest fixtures running real packaged IRC servers (load with ``pytest_plugins``).

    pytest_plugins = ["tests.support.ircd_fixtures"]

Fixtures (session-scoped; each is a started server object from :mod:`tests.support.ircd`):

- ``inspircd``: :class:`InspIRCd` with the IRCv3 modules, ``.host``, ``.port``,
  ``.tls_port``, ``.cert_path``, ``.cert_sha256``, ``.server_name``, ``.ssl_context()``.
- ``inspircd_services``: a separate :class:`InspIRCd` linked to atheme-services (SASL
  PLAIN), same attributes plus ``.register_account(name, password)`` and ``.services``.
- ``ngircd``: :class:`NgIRCd` with ``.host``, ``.port``, ``.server_name``.

A missing server binary makes the fixture FAIL (never skip) with install instructions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from tests.support.ircd import InspIRCd, IRCServerError, NgIRCd, ServerBinaryMissing

S = TypeVar("S", InspIRCd, NgIRCd)


def _run(factory: Callable[[], S]) -> Iterator[S]:
    server = factory()
    failure = ""
    try:
        server.start()
    except ServerBinaryMissing as exc:
        failure = f"real IRC server missing: {exc}"
    except IRCServerError as exc:
        failure = f"real IRC server did not start: {exc}"
    if failure:  # outside the except block, so the report shows the message once
        pytest.fail(failure, pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def inspircd() -> Iterator[InspIRCd]:
    """InspIRCd 3 on a plain and a TLS port, no services."""
    yield from _run(lambda: InspIRCd(tls=True))


@pytest.fixture(scope="session")
def inspircd_services() -> Iterator[InspIRCd]:
    """A separate InspIRCd linked to atheme-services: `sasl` cap, register_account()."""
    yield from _run(lambda: InspIRCd(tls=True, with_services=True))


@pytest.fixture(scope="session")
def ngircd() -> Iterator[NgIRCd]:
    """ngIRCd on a plain port."""
    yield from _run(NgIRCd)
