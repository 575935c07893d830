"""``backchannel connect`` run as a real process against real IRC servers.

Standard output must carry only JSON objects, one per line (logs go to standard
error); standard input is the command line a person would type.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from tests.support.ircclient import IRCClient
from tests.support.ircd import InspIRCd, NgIRCd, free_port

pytestmark = pytest.mark.ircd

Event = dict[str, Any]


def _tag() -> str:
    return secrets.token_hex(2)


class Cli:
    """One ``backchannel connect`` process: write lines to it, read its events."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.events: list[Event] = []
        self.bad_lines: list[str] = []
        self.stderr = bytearray()
        self._cursor = 0
        self._changed = asyncio.Event()
        self._eof = False
        self._readers = [
            asyncio.create_task(self._read_stdout()),
            asyncio.create_task(self._read_stderr()),
        ]

    @classmethod
    async def start(cls, *args: str, env: dict[str, str] | None = None) -> Cli:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "backchannel",
            "connect",
            *args,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, **(env or {})},
        )
        return cls(proc)

    async def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        async for raw in self.proc.stdout:
            line = raw.decode(errors="replace").rstrip("\n")
            try:
                value = json.loads(line)
            except ValueError:
                value = None
            if isinstance(value, dict):
                self.events.append(value)
            else:
                self.bad_lines.append(line)
            self._changed.set()
        self._eof = True
        self._changed.set()

    async def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        async for raw in self.proc.stderr:
            self.stderr += raw

    @property
    def err(self) -> str:
        return self.stderr.decode(errors="replace")

    async def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def close_stdin(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        with contextlib.suppress(ConnectionError):
            await self.proc.stdin.wait_closed()

    async def expect(self, predicate: Callable[[Event], object], timeout: float = 10.0) -> Event:
        """The next event (after those already matched) that satisfies ``predicate``."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            while self._cursor < len(self.events):
                event = self.events[self._cursor]
                self._cursor += 1
                if predicate(event):
                    return event
            if self._eof:
                raise AssertionError(self._describe("stdout ended", timeout))
            self._changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(self._describe("timed out", timeout))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    async def registered(self, timeout: float = 15.0) -> Event:
        return await self.expect(
            lambda e: e["kind"] == "status" and e["state"] == "registered", timeout
        )

    def _describe(self, why: str, timeout: float) -> str:
        recent = "\n".join(f"  {json.dumps(e)}" for e in self.events[-15:]) or "  (none)"
        return f"{why} after {timeout} s; last events:\n{recent}\nstderr:\n{self.err}"

    async def wait(self, timeout: float = 15.0) -> int:
        """Wait for the exit; return the exit code once all output is read."""
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.wait_for(asyncio.gather(*self._readers), 5)
        return code

    def check_output(self) -> None:
        """Every stdout line was a JSON object; no traceback on stderr."""
        assert not self.bad_lines, f"non-JSON lines on stdout: {self.bad_lines!r}"
        assert "Traceback" not in self.err, self.err

    async def kill(self) -> None:
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
            await self.proc.wait()
        for task in self._readers:
            task.cancel()


@pytest.fixture
async def cli() -> AsyncIterator[Callable[..., Any]]:
    """Starts ``backchannel connect`` processes and kills any left at the end."""
    started: list[Cli] = []

    async def start(*args: str, env: dict[str, str] | None = None) -> Cli:
        process = await Cli.start(*args, env=env)
        started.append(process)
        return process

    yield start
    for process in started:
        await process.kill()


async def _user(host: str, port: int, nick: str, channel: str | None = None) -> IRCClient:
    client = await IRCClient.connect(host, port)
    await client.register(nick)
    if channel is not None:
        await client.send(f"JOIN {channel}")
        await client.expect(lambda m: m.command == "366" and m.param(1).lower() == channel.lower())
    return client


# -- ngircd: plain text, /msg, /me, incoming messages, /quit, end of input -----


async def test_chat_and_quit_on_ngircd(ngircd: NgIRCd, cli: Callable[..., Any]) -> None:
    tag = _tag()
    channel, me, peer = f"#t{tag}", f"bc{tag}", f"pr{tag}"
    bob = await _user(ngircd.host, ngircd.port, peer, channel)
    try:
        # -v: debug logs, which must all go to stderr
        proc: Cli = await cli(f"{ngircd.host}:{ngircd.port}", "-v", "--nick", me, "--join", channel)
        await proc.registered()
        joined = await proc.expect(lambda e: e["kind"] == "join" and e["self"])
        assert joined["channel"].lower() == channel.lower() and joined["nick"] == me
        await bob.expect(lambda m: m.command == "JOIN" and m.nick == me)

        await proc.send("hello everyone")
        msg = await bob.expect(lambda m: m.command == "PRIVMSG" and m.nick == me)
        assert msg.params == [channel, "hello everyone"]
        # ngircd has no echo-message: the engine echoes the line itself, once
        echo = await proc.expect(lambda e: e["kind"] == "privmsg" and e["self"])
        assert (echo["target"], echo["nick"], echo["text"]) == (channel, me, "hello everyone")

        await proc.send(f"/msg {peer} just for you")
        msg = await bob.expect(lambda m: m.command == "PRIVMSG" and m.nick == me)
        assert msg.params == [peer, "just for you"]

        await proc.send("/me waves")
        msg = await bob.expect(lambda m: m.command == "PRIVMSG" and m.nick == me)
        assert msg.params == [channel, "\x01ACTION waves\x01"]

        await bob.send(f"PRIVMSG {channel} :hi from {peer}")
        got = await proc.expect(lambda e: e["kind"] == "privmsg" and not e["self"])
        assert (got["target"], got["nick"], got["text"]) == (channel, peer, f"hi from {peer}")
        await bob.send(f"PRIVMSG {me} :psst")
        got = await proc.expect(lambda e: e["kind"] == "privmsg" and not e["self"])
        assert (got["target"], got["nick"], got["text"]) == (peer, peer, "psst")

        await proc.send("/quit see you")
        quit_line = await bob.expect(lambda m: m.command == "QUIT" and m.nick == me)
        assert "see you" in quit_line.param(-1)
        assert await proc.wait() == 0
        proc.check_output()
        assert "DEBUG" in proc.err  # the logs were there, on stderr
        texts = [e["text"] for e in proc.events if e["kind"] == "privmsg" and e["self"]]
        assert texts.count("hello everyone") == 1
    finally:
        await bob.close()


async def test_end_of_input_quits_with_status_0(ngircd: NgIRCd, cli: Callable[..., Any]) -> None:
    tag = _tag()
    channel, me, peer = f"#e{tag}", f"bc{tag}", f"pr{tag}"
    bob = await _user(ngircd.host, ngircd.port, peer, channel)
    try:
        proc: Cli = await cli(f"{ngircd.host}:{ngircd.port}", "--nick", me, "--join", channel)
        await proc.registered()
        await bob.expect(lambda m: m.command == "JOIN" and m.nick == me)
        await proc.close_stdin()
        await bob.expect(lambda m: m.command == "QUIT" and m.nick == me)
        assert await proc.wait() == 0
        proc.check_output()
    finally:
        await bob.close()


async def test_bad_input_is_reported_and_ignored(ngircd: NgIRCd, cli: Callable[..., Any]) -> None:
    proc: Cli = await cli(f"{ngircd.host}:{ngircd.port}", "--nick", f"bc{_tag()}")
    await proc.registered()
    await proc.send("no channel yet")
    await proc.send("/frobnicate")
    await proc.send("/quit")
    assert await proc.wait() == 0, bytes(proc.stderr).decode()
    proc.check_output()
    assert "no conversation yet" in proc.err
    assert "unknown command /frobnicate" in proc.err


# -- inspircd: TLS -------------------------------------------------------------


def _colon_upper(fingerprint: str) -> str:
    return ":".join(fingerprint[i : i + 2] for i in range(0, len(fingerprint), 2)).upper()


async def test_tls_with_pinned_fingerprint(inspircd: InspIRCd, cli: Callable[..., Any]) -> None:
    assert inspircd.cert_sha256 is not None
    proc: Cli = await cli(
        f"{inspircd.host}:{inspircd.tls_port}",
        "--tls",
        "--fingerprint",
        _colon_upper(inspircd.cert_sha256),
        "--nick",
        f"pin{_tag()}",
    )
    status = await proc.registered()
    assert status["tls"] is True and status["port"] == inspircd.tls_port
    await proc.send("/quit")
    assert await proc.wait() == 0, bytes(proc.stderr).decode()
    proc.check_output()


async def test_tls_wrong_pin_fails(inspircd: InspIRCd, cli: Callable[..., Any]) -> None:
    proc: Cli = await cli(
        f"{inspircd.host}:{inspircd.tls_port}", "--tls", "--fingerprint", "ab" * 32, "--nick", "x"
    )
    assert await proc.wait() != 0
    proc.check_output()
    assert "TLS verification failed" in proc.err
    assert "does not match" in proc.err


async def test_tls_self_signed_without_pin_fails(
    inspircd: InspIRCd, cli: Callable[..., Any]
) -> None:
    proc: Cli = await cli(f"{inspircd.host}:{inspircd.tls_port}", "--tls", "--nick", "x")
    assert await proc.wait() != 0
    proc.check_output()
    assert "TLS verification failed" in proc.err
    assert not any(e["kind"] == "status" and e["state"] == "registered" for e in proc.events)


async def test_tls_insecure(inspircd: InspIRCd, cli: Callable[..., Any]) -> None:
    proc: Cli = await cli(
        f"{inspircd.host}:{inspircd.tls_port}", "--tls", "--insecure", "--nick", f"ins{_tag()}"
    )
    await proc.registered()
    await proc.close_stdin()
    assert await proc.wait() == 0, bytes(proc.stderr).decode()
    proc.check_output()


# -- inspircd + atheme: SASL ---------------------------------------------------


async def test_sasl_plain(inspircd_services: InspIRCd, cli: Callable[..., Any]) -> None:
    server = inspircd_services
    account, password = f"acct{_tag()}", secrets.token_hex(8)
    await server.register_account_async(account, password)

    ok: Cli = await cli(
        f"{server.host}:{server.port}",
        "--nick",
        f"sa{_tag()}",
        *("--sasl", "PLAIN", "--sasl-user", account, "--sasl-password-env", "BC_TEST_PW"),
        env={"BC_TEST_PW": password},
    )
    outcome = await ok.expect(lambda e: e["kind"] == "sasl", timeout=15)
    assert outcome["success"] is True
    assert outcome["mechanism"] == "PLAIN"
    assert (outcome["account"] or "").lower() == account.lower()
    await ok.registered()
    await ok.send("/quit")
    assert await ok.wait() == 0
    ok.check_output()

    bad: Cli = await cli(
        f"{server.host}:{server.port}",
        "--nick",
        f"sb{_tag()}",
        *("--sasl", "PLAIN", "--sasl-user", account, "--sasl-password-env", "BC_TEST_PW"),
        env={"BC_TEST_PW": password + "-wrong"},
    )
    assert await bad.wait(timeout=20) != 0
    bad.check_output()
    assert "SASL authentication failed" in bad.err
    failed = [e for e in bad.events if e["kind"] == "sasl"]
    assert len(failed) == 1 and failed[0]["success"] is False
    assert not any(e["kind"] == "status" and e["state"] == "registered" for e in bad.events)


# -- no server -----------------------------------------------------------------


async def test_connection_refused(cli: Callable[..., Any]) -> None:
    port = free_port()
    proc: Cli = await cli(f"127.0.0.1:{port}", "--nick", "nobody")
    assert await proc.wait() != 0
    proc.check_output()
    assert f"Cannot connect to 127.0.0.1:{port}" in proc.err
    failed = [e for e in proc.events if e["kind"] == "status" and e["state"] == "failed"]
    assert len(failed) == 1


# -- inspircd: echo-message ----------------------------------------------------


async def test_echo_message_shows_own_text_once(
    inspircd: InspIRCd, cli: Callable[..., Any]
) -> None:
    tag = _tag()
    channel, me, peer = f"#echo{tag}", f"bc{tag}", f"peer{tag}"
    bob = await _user(inspircd.host, inspircd.port, peer, channel)
    try:
        proc: Cli = await cli(f"{inspircd.host}:{inspircd.port}", "--nick", me, "--join", channel)
        await proc.registered()
        caps = [e for e in proc.events if e["kind"] == "caps"]
        assert any("echo-message" in e["enabled"] for e in caps), caps
        await proc.expect(lambda e: e["kind"] == "join" and e["self"])
        await proc.send("said once")
        await bob.expect(lambda m: m.command == "PRIVMSG" and m.param(-1) == "said once")
        # bob answers only after our line went out; once his answer is on stdout,
        # the echo (sent to us before it) has been printed too
        await bob.send(f"PRIVMSG {channel} :ack")
        await proc.expect(lambda e: e["kind"] == "privmsg" and e["text"] == "ack")
        mine = [e for e in proc.events if e["kind"] == "privmsg" and e["text"] == "said once"]
        assert len(mine) == 1, mine
        assert mine[0]["self"] is True and mine[0]["nick"] == me
        assert mine[0]["msgid"], "the server's echo carries a msgid; a local echo would not"
        await proc.send("/quit")
        assert await proc.wait() == 0
        proc.check_output()
    finally:
        await bob.close()


# -- standard output closed by its reader (`backchannel connect ... | head`) ----


def test_closed_stdout_ends_quietly(ngircd: NgIRCd) -> None:
    server = f"{ngircd.host}:{ngircd.port}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "backchannel", "connect", server, "--nick", f"hd{_tag()}"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline())
        assert first["kind"] == "status"
        proc.stdout.close()  # like `head -1` exiting
        proc.stdin.write(f"/join #hd{_tag()}\n".encode())  # more output to come
        proc.stdin.flush()
        assert proc.wait(timeout=20) == 1  # stdin still open: it stopped by itself
        assert proc.stderr is not None
        err = proc.stderr.read().decode()
        assert "Traceback" not in err, err
        assert "standard output closed" in err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
