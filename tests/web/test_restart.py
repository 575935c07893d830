"""Restarts, end to end with real processes: a ``backchannel serve`` process
with its own data dir, an account made with ``backchannel user add``, a
network on the real ngIRCd created over HTTP, and a plain socket client
talking in its channel. Stopped with SIGTERM (or killed with SIGKILL) and
started again on the same data dir, Backchannel reconnects and rejoins, and
the long-poll, the SSE stream and the WebSocket resume from a cursor taken
before the restart with exactly the same events: no gap, no duplicate,
cursors still growing; the history keeps what was said before and after."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.ircclient import IRCClient
from tests.support.ircd import free_port
from tests.web.transport_helpers import (
    Event,
    HttpClient,
    add_network,
    assert_increasing,
    cursors,
    open_sse,
    open_ws,
    plain_in,
    poll,
    poll_until,
    said,
    texts,
    wait_joined,
)

pytestmark = pytest.mark.ircd

BACKCHANNEL = [sys.executable, "-m", "backchannel"]
PASSWORD = "correct horse battery staple"


@dataclass
class Served:
    """``backchannel serve`` on one data dir and port, started as often as needed."""

    root: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return "".join(
            p.read_text(errors="replace") for p in sorted(self.root.glob("serve*.log"))
        )

    def start(self) -> None:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        with open(self.root / f"serve{self.starts}.log", "wb") as out:
            self.proc = subprocess.Popen(
                [*BACKCHANNEL, "serve", "--config", str(self.root / "backchannel.toml"),
                 "--data-dir", str(self.data_dir), "--port", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(f"server did not start:\n{self.log()}") from None
                time.sleep(0.05)

    async def stop(self, sig: signal.Signals) -> int:
        assert self.proc is not None
        self.proc.send_signal(sig)
        return await asyncio.to_thread(self.proc.wait, 15)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def add_user(self, name: str) -> None:
        result = subprocess.run(
            [*BACKCHANNEL, "user", "add", name, "--password-stdin", "--data-dir",
             str(self.data_dir)],
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result
        assert f"created user {name}" in result.stdout + result.stderr


@pytest.fixture
def served(tmp_path: Path, ngircd: Any) -> Iterator[Served]:
    (tmp_path / "backchannel.toml").write_text(
        f'allowed_servers = ["{ngircd.host}:{ngircd.port}"]\npoll_timeout = 2\n'
    )
    server = Served(tmp_path, free_port())
    try:
        yield server
    finally:
        server.kill()


async def _login(served: Served, name: str) -> HttpClient:
    client = HttpClient(served.url)
    status, body = await client.post("/api/login", {"username": name, "password": PASSWORD})
    assert status == 200, body
    assert body["user"]["name"] == name
    return client


async def _start_with_network(
    served: Served, ngircd: Any, nick: str, channel: str, plain_nick: str
) -> tuple[HttpClient, int, IRCClient]:
    """Server up, ``alice`` made with the CLI and logged in over HTTP, her
    network in ``channel`` together with a plain socket client."""
    await asyncio.to_thread(served.start)
    await asyncio.to_thread(served.add_user, "alice")  # while the server runs
    alice = await _login(served, "alice")
    nid, plain = await asyncio.gather(
        add_network(alice, ngircd, nick, channel), plain_in(ngircd, plain_nick, channel)
    )
    await wait_joined(alice, nid, channel, nick, plain_nick)
    return alice, nid, plain


async def _history(client: HttpClient, nid: int, target: str) -> list[Event]:
    status, page = await client.get(
        f"/api/networks/{nid}/history", params={"target": target, "limit": "1000"}
    )
    assert status == 200, page
    return list(page["events"])


async def test_sigterm_restart_resumes_every_transport(served: Served, ngircd: Any) -> None:
    channel, nick = "#restart", "webrst"
    alice, nid, plain = await _start_with_network(served, ngircd, nick, channel, "sockrst")
    msg = said(channel, "sockrst")

    async def say(*lines: str) -> None:
        for line in lines:
            await plain.send(f"PRIVMSG {channel} :{line}")

    try:
        await say("before 1", "before 2", "before 3")
        before, _ = await poll_until(alice, "0", msg, 3)
        assert texts(before, msg) == ["before 1", "before 2", "before 3"]
        noted = next(e for e in before if msg(e))["cursor"]  # after "before 1"
        last_before = [e for e in before if msg(e)][-1]["cursor"]

        # SIGTERM: QUIT on IRC, exit code 0
        started = time.monotonic()
        code = await served.stop(signal.SIGTERM)
        assert code == 0, served.log()
        await plain.expect(lambda m: m.command == "QUIT" and m.nick == nick)
        assert time.monotonic() - started < 10
        # said while Backchannel is down: it cannot see these
        await say("down 1", "down 2", "down 3")
        await plain.sync()

        # started again on the same data dir: reconnects, rejoins; the login survives
        await asyncio.to_thread(served.start)
        await plain.expect(lambda m: m.command == "JOIN" and m.nick == nick, timeout=15)
        await wait_joined(alice, nid, channel, nick, "sockrst")
        await say("after 1", "after 2", "after 3")

        expected_texts = ["before 2", "before 3", "after 1", "after 2", "after 3"]
        polled, _ = await poll_until(alice, noted, msg, 5)
        sse = await open_sse(alice, after=noted)
        ws = await open_ws(alice, after=noted)
        try:
            assert ws.hello == {"kind": "hello", "cursor": noted}
            streamed = await sse.read_until(msg, 5)
            pushed = await ws.read_until(msg, 5)
        finally:
            sse.close()
            await ws.close()
        last = [e for e in polled if msg(e)][-1]["cursor"]

        def upto_last(events: list[Event]) -> list[Event]:
            return [e for e in events if int(e["cursor"]) <= int(last)]

        for name, events in [("long-poll", polled), ("SSE", streamed), ("WebSocket", pushed)]:
            events = upto_last(events)
            assert texts(events, msg) == expected_texts, name
            assert_increasing(events)
            assert int(events[0]["cursor"]) > int(noted)
            assert not [e for e in events if "down" in str(e.get("text", ""))], name
            after_restart = [e for e in events if msg(e) and e["text"].startswith("after")]
            assert all(int(e["cursor"]) > int(last_before) for e in after_restart)
            # between the two runs: our own join again, as an event of the stream
            middle = [e for e in events if int(last_before) < int(e["cursor"])
                      < int(after_restart[0]["cursor"])]
            assert any(e["kind"] == "join" and e.get("nick") == nick for e in middle), middle
        assert upto_last(polled) == upto_last(streamed) == upto_last(pushed)
        assert sse.ids == [e["cursor"] for e in sse.events]

        history = [e for e in await _history(alice, nid, channel) if msg(e)]
        assert [e["text"] for e in history] == [
            "before 1", "before 2", "before 3", "after 1", "after 2", "after 3"
        ]
        assert_increasing(history)
        assert cursors(history)[1:] == cursors([e for e in polled if msg(e)])

        code = await served.stop(signal.SIGTERM)
        assert code == 0, served.log()
    finally:
        await alice.close()
        await plain.close()


async def test_sigkill_keeps_what_was_delivered(served: Served, ngircd: Any) -> None:
    channel, nick = "#killed", "webkill"
    alice, nid, plain = await _start_with_network(served, ngircd, nick, channel, "sockkill")
    msg = said(channel, "sockkill")
    try:
        for i in range(1, 4):
            await plain.send(f"PRIVMSG {channel} :kept {i}")
        delivered, _ = await poll_until(alice, "0", msg, 3)

        code = await served.stop(signal.SIGKILL)
        assert code == -signal.SIGKILL
        await plain.expect(lambda m: m.command == "QUIT" and m.nick == nick)

        await asyncio.to_thread(served.start)
        await plain.expect(lambda m: m.command == "JOIN" and m.nick == nick, timeout=15)
        # everything delivered before the kill is still there, unchanged
        again, _ = await poll(alice, "0", timeout=0)
        assert again[: len(delivered)] == delivered
        history = [e for e in await _history(alice, nid, channel) if msg(e)]
        assert history == [e for e in delivered if msg(e)]
        # and new events continue after them
        await wait_joined(alice, nid, channel, nick, "sockkill")
        await plain.send(f"PRIVMSG {channel} :after the kill")
        fresh, _ = await poll_until(alice, delivered[-1]["cursor"], msg, 1)
        assert texts(fresh, msg) == ["after the kill"]
        assert int(fresh[0]["cursor"]) > int(delivered[-1]["cursor"])
        code = await served.stop(signal.SIGTERM)
        assert code == 0, served.log()
    finally:
        await alice.close()
        await plain.close()
