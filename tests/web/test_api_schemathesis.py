"""Schemathesis against ``/api/openapi.json``: every documented operation,
called with generated requests (valid and invalid ones) on a real running app,
logged in and anonymous. No answer may be a 5xx; every answer must have a
documented status code, the documented content type and a body that fits the
documented schema; without a session, the operations that need one say 401.

The app runs on its own event loop in a thread (schemathesis calls it
synchronously with ``requests``), with a SQLite data dir in a temporary folder,
one user, one login session and one network on a fake IRC server that
welcomes every client, so that commands reach a registered connection. The
run is bounded (a few examples per operation, no shrinking; a deeper one with
``BACKCHANNEL_FUZZ_EXAMPLES=100``) and deterministic (a fixed seed,
derandomized generation, no example database).

No generated request may make the app connect anywhere but this machine. The
app keeps its real target (SSRF) policy, with the fake server's port on
127.0.0.1 as its one allowed server, but its event loop knows no other host: a
look-up of any other name fails as unknown before a resolver is asked (so the
policy refuses it: 403), and a connection elsewhere would be refused, recorded
and fail the test.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import schemathesis
from aiohttp import web
from aiohttp.test_utils import TestServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from backchannel.store.accounts import Accounts
from backchannel.web.api_models import NetworkCreate
from backchannel.web.api_networks import runner_of
from backchannel.web.auth import AUTH
from backchannel.web.keys import DATABASE, NETWORKS, RUNTIMES
from backchannel.web.openapi import openapi_document
from tests.support.fakeircd import FakeClient, FakeIrcServer
from tests.web.api_helpers import FAST_HASHER, PASSWORD, build_app

T = TypeVar("T")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
# examples per operation (valid and invalid ones together)
MAX_EXAMPLES = int(os.environ.get("BACKCHANNEL_FUZZ_EXAMPLES", "8"))
SEED = 20240611
POLL_TIMEOUT = 0.2  # seconds a long-poll waits (the app's poll_timeout)
STREAM_SECONDS = 0.3  # how long an event stream is read before it is cut
LOOPBACK = "127.0.0.1"
NETWORK_PATH = "/api/networks/{id}"

CONFIG = {
    "seed": SEED,
    "generation": {
        "mode": "all",  # valid requests, and invalid ones (which must be a 4xx)
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
        "no-shrink": True,
    },
    # the schema's examples and the fuzzing phase; the coverage phase's
    # boundary cases are not bounded by max-examples (a minute more here)
    "phases": {"coverage": {"enabled": False}, "stateful": {"enabled": False}},
}


def _on_this_machine(host: object) -> bool:
    if host is None:  # a listening socket on every address of this machine
        return True
    name = host.decode() if isinstance(host, bytes) else str(host)
    try:
        return name == "localhost" or ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class LoopbackLoop(asyncio.SelectorEventLoop):
    """An event loop that reaches this machine only: a look-up of any other
    name fails as an unknown name, before any resolver is asked, and a
    connection anywhere else is refused. Both are recorded."""

    def __init__(self) -> None:
        super().__init__()
        self.looked_up: list[str] = []
        self.refused: list[str] = []

    async def getaddrinfo(self, host: Any, *args: Any, **kw: Any) -> Any:
        if not _on_this_machine(host):
            self.looked_up.append(str(host))
            raise socket.gaierror(socket.EAI_NONAME, "not on this machine (test)")
        return await super().getaddrinfo(host, *args, **kw)

    async def create_connection(self, *args: Any, **kw: Any) -> Any:
        host = kw.get("host", args[1] if len(args) > 1 else None)
        if not _on_this_machine(host):
            self.refused.append(str(host))
            raise ConnectionRefusedError(f"{host}: not on this machine (test)")
        return await super().create_connection(*args, **kw)


def _engine_part(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in config.items() if k not in ("name", "channels")}


class LiveApp:
    """A real Backchannel app on a loopback port, served by its own event
    loop in a thread, with one user, a login session, and a network on a
    fake IRC server (on 127.0.0.1) that welcomes every client."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.loop = LoopbackLoop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="app", daemon=True)
        self.ircd = FakeIrcServer()
        self.server: TestServer | None = None
        self.user_id = 0
        self.token = ""
        self.network_id = 0
        self._tasks: set[asyncio.Task[Any]] = set()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 30.0) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def app(self) -> web.Application:
        assert self.server is not None
        return self.server.app  # type: ignore[return-value]

    @property
    def origin(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/")).rstrip("/")

    @property
    def network_config(self) -> dict[str, Any]:
        settings = NetworkCreate(name="fuzz", host=LOOPBACK, port=self.ircd.port, nick="fuzzer")
        return settings.model_dump(mode="json")

    def start(self) -> None:
        self.thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        await self.ircd.__aenter__()
        self._spawn(self._welcome_everyone())
        app = build_app(
            self.data_dir,
            poll_timeout=POLL_TIMEOUT,
            # the one server allowed on a private address: any other port on
            # this machine is refused (403) like any other host
            allowed_servers=(f"{LOOPBACK}:{self.ircd.port}",),
            # commands reach the connection instead of the line budget's 429
            max_lines_per_second=1000.0,
        )
        self.server = TestServer(app, host=LOOPBACK)
        await self.server.start_server()
        user = await Accounts(app[DATABASE], hasher=FAST_HASHER).create_user("fuzzer", PASSWORD)
        self.user_id = user.id
        self.token = await self._new_session()

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _welcome_everyone(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                client = await self.ircd.accept(timeout=3600)
                self._spawn(self._welcome(client))

    @staticmethod
    async def _welcome(client: FakeClient) -> None:
        with contextlib.suppress(TimeoutError, EOFError, ConnectionError):
            await client.register()

    async def _stop(self) -> None:
        if self.server is not None:
            await self.server.close()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.ircd.__aexit__(None, None, None)

    def stop(self) -> None:
        self.run(self._stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()

    async def _new_session(self) -> str:
        return await self.app[AUTH].sessions(self.app).create(self.user_id, LOOPBACK, "fuzzer")

    def new_session(self) -> str:
        """A new login session's token (the ``bc_auth`` cookie)."""
        return self.run(self._new_session())

    def network(self, *, connected: bool) -> int:
        """The id of the user's network: made again when a test deleted it,
        and (``connected``) set back and reconnected when a test changed,
        disabled or disconnected it."""
        return self.run(self._network(connected))

    async def _network(self, connected: bool) -> int:
        app, networks, config = self.app, self.app[NETWORKS], self.network_config
        record = await networks.get(self.user_id, self.network_id)
        if record is None:
            record = await networks.create(self.user_id, "fuzz", config)
            self.network_id = record.id
        if not connected:
            return record.id
        runner = runner_of(app, self.user_id, record.id)
        if (
            runner is not None
            and runner.client.registered.is_set()
            and record.enabled
            and _engine_part(record.config) == _engine_part(config)
        ):
            return record.id
        updated = await networks.update(self.user_id, record.id, config=config, enabled=True)
        assert updated is not None
        await app[RUNTIMES].start(updated)
        runner = runner_of(app, self.user_id, record.id)
        assert runner is not None
        await asyncio.wait_for(runner.client.registered.wait(), 10)
        return record.id


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveApp]:
    app = LiveApp(tmp_path_factory.mktemp("schemathesis") / "data")
    app.start()
    try:
        yield app
    finally:
        app.stop()
    # nothing tried to connect anywhere but this machine
    assert not app.loop.refused, sorted(set(app.loop.refused))[:10]


# the document the app serves (the first test checks that they are the same),
# loaded at import so that pytest collects one test per operation
schema = schemathesis.openapi.from_dict(
    openapi_document(), config=schemathesis.Config.from_dict(CONFIG)
)


def test_the_served_document_is_the_one_fuzzed(live: LiveApp) -> None:
    with urllib.request.urlopen(f"{live.origin}/api/openapi.json", timeout=10) as resp:
        assert json.load(resp) == json.loads(json.dumps(openapi_document()))


def _request_kwargs(case: schemathesis.Case, live: LiveApp) -> dict[str, Any]:
    """Same-site ``Origin`` (state-changing requests need it), and a short
    read of event streams, which never end by themselves."""
    timeout = STREAM_SECONDS if case.path == "/api/events/stream" else 10.0
    return {"base_url": live.origin, "headers": {"Origin": live.origin}, "timeout": timeout}


@schema.parametrize()
def test_logged_in(case: schemathesis.Case, live: LiveApp) -> None:
    if case.path.startswith(NETWORK_PATH) and case.path_parameters:
        # mostly the user's own network, connected (else every call is a 404
        # or a 409); some generated ids stay, for the 404 and bad-id paths
        generated = str(case.path_parameters.get("id"))
        if not generated.endswith("7"):
            connected = not case.path.endswith(("/connect", "/disconnect"))
            case.path_parameters["id"] = live.network(connected=connected)
    if case.path == "/api/networks" and case.method == "POST":
        body = case.body
        if isinstance(body, dict) and isinstance(body.get("host"), str) and len(body) % 2:
            # some new networks on the fake server (generated hosts are refused)
            body.update(host=LOOPBACK, port=live.ircd.port)
    # logging out ends the session it is sent with: give it one of its own
    token = live.new_session() if case.path == "/api/logout" else live.token
    case.call_and_validate(
        cookies={"bc_auth": token}, checks=CHECKS, **_request_kwargs(case, live)
    )


@schema.parametrize()
def test_anonymous(case: schemathesis.Case, live: LiveApp) -> None:
    response = case.call_and_validate(checks=CHECKS, **_request_kwargs(case, live))
    same_method = case.method.upper() == case.operation.method.upper()
    if same_method and case.operation.definition.raw.get("security"):
        # 401 before anything else; 404 only where the router found no route
        # (a network id that is not digits)
        network_id = str((case.path_parameters or {}).get("id", ""))
        routed = not case.path.startswith(NETWORK_PATH) or network_id.isdigit()
        expected = {401} if routed else {401, 404}
        assert response.status_code in expected, response.text[:200]


# --- what the fuzzing (or reading its handlers) found, pinned ---------------------------


def _call(live: LiveApp, method: str, path: str, body: object = None) -> tuple[int, Any]:
    request = urllib.request.Request(
        live.origin + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Cookie": f"bc_auth={live.token}",
            "Origin": live.origin,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.load(exc) if exc.code < 500 else exc.read()


BIG = str(2**63)  # one past SQLite's largest integer
LONG = "1" * 5000  # more digits than int() converts


@pytest.mark.parametrize(
    ("path", "status", "code"),
    [
        # were 500s: NUL in a search (FTS5: "unterminated string"; found by the
        # fuzzing), a cursor past 2**63 - 1 (in the SQLite query), a limit of
        # thousands of digits and a non-ASCII digit as a network id (in int())
        ("/api/search?q=%00&after=1", 200, None),
        ("/api/search?q=hello%00world", 200, None),
        ("/api/networks/{id}/history?before=" + BIG, 400, "bad_cursor"),
        ("/api/networks/{id}/history?after=" + BIG, 400, "bad_cursor"),
        ("/api/search?q=hello&before=" + BIG, 400, "bad_cursor"),
        ("/api/events?timeout=0&after=" + BIG, 400, "bad_cursor"),
        ("/api/events/stream?after=" + BIG, 400, "bad_cursor"),
        ("/api/networks/{id}/history?limit=" + LONG, 400, "bad_limit"),
        ("/api/search?q=hello&limit=" + LONG, 400, "bad_limit"),
        ("/api/search?q=hello&network=%C2%B2", 404, "not_found"),
        # the largest cursor is still one
        ("/api/networks/{id}/history?before=" + str(2**63 - 1), 200, None),
    ],
)
def test_odd_values_are_answered(live: LiveApp, path: str, status: int, code: str | None) -> None:
    network = live.network(connected=True)
    # a message, so that the search has an index to look in
    body = {"target": "#x", "text": "hello"}
    assert _call(live, "POST", f"/api/networks/{network}/send", body)[0] == 200
    got, answer = _call(live, "GET", path.replace("{id}", str(network)))
    assert got == status, answer
    if code is not None:
        assert answer["error"]["code"] == code


@pytest.mark.parametrize("host", ["irc.example.org", "1.1"])  # 1.1 is 1.0.0.1, public
def test_generated_servers_are_refused_without_leaving_this_machine(
    live: LiveApp, host: str
) -> None:
    body = {"name": "elsewhere", "host": host, "port": 6667, "nick": "fuzzer"}
    status, answer = _call(live, "POST", "/api/networks", body)
    assert (status, answer["error"]["code"]) == (403, "target_refused")
    assert host in live.loop.looked_up  # the policy asked; nobody answered
    assert not live.loop.refused
