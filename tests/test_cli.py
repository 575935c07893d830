"""The ``backchannel`` command, run as a real process."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.ircclient import IRCClient
from tests.support.ircd import free_port
from tests.support.seed_client import SeedClient

BACKCHANNEL = [sys.executable, "-m", "backchannel"]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*BACKCHANNEL, *args], capture_output=True, text=True, timeout=30)


def test_help_explains_every_flag() -> None:
    top = run("--help")
    assert top.returncode == 0 and "serve" in top.stdout
    serve = run("serve", "--help")
    assert serve.returncode == 0
    for flag in (
        "--host",
        "--port",
        "--data-dir",
        "--public",
        "--allow-server",
        "--poll-timeout",
        "--config",
        "--buffer-events",
        "--buffer-bytes",
        "--idle-timeout",
    ):
        assert flag in serve.stdout, flag
    assert run("--version").stdout.startswith("backchannel ")


def test_bad_setting_exits_with_a_clear_message(tmp_path: Path) -> None:
    result = run("serve", "--port", "nope", "--data-dir", str(tmp_path))
    assert result.returncode == 2
    assert "port" in result.stderr and "Traceback" not in result.stderr


@pytest.fixture
def served(tmp_path: Path, ngircd) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    port = free_port()
    config = tmp_path / "backchannel.toml"
    config.write_text(
        f'public = true\nallowed_servers = ["{ngircd.host}:{ngircd.port}"]\npoll_timeout = 2\n'
    )
    env = {**os.environ, "BACKCHANNEL_PORT": str(port)}
    proc = subprocess.Popen(
        [*BACKCHANNEL, "serve", "--config", str(config), "--data-dir", str(tmp_path / "data")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as resp:
                if resp.status == 200:
                    break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"server did not start: {proc.communicate()}") from None
            time.sleep(0.1)
    try:
        yield url, proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


async def test_serve_relays_and_stops_cleanly(served, ngircd) -> None:
    url, proc = served
    async with SeedClient(url) as web:
        conn_id = await web.connect(f"{ngircd.host}:{ngircd.port}")
        await web.register(conn_id, "cliweb")
        watcher = await IRCClient.connect(ngircd.host, ngircd.port)
        try:
            await watcher.register("cliwatch")
            await watcher.send("JOIN #cli")
            await watcher.expect(lambda m: m.command == "366")
            await web.push(conn_id, "JOIN #cli")
            await watcher.expect(lambda m: m.command == "JOIN" and m.nick == "cliweb")
            # SIGTERM: the server says QUIT for its connections and exits 0 promptly
            started = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            quit_msg = await watcher.expect(lambda m: m.command == "QUIT" and m.nick == "cliweb")
            assert quit_msg.params
            code = await asyncio.to_thread(proc.wait, 15)
            assert code == 0
            assert time.monotonic() - started < 15
        finally:
            await watcher.close()


def test_a_trickled_request_head_is_cut_off(tmp_path: Path) -> None:
    """Slow loris: one byte at a time never completes a head; the server closes
    the connection after head_timeout whatever the trickle, and keeps serving."""
    import socket

    port = free_port()
    proc = subprocess.Popen(
        [
            *BACKCHANNEL,
            "serve",
            "--port",
            str(port),
            "--head-timeout",
            "1",
            "--data-dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            started = time.monotonic()
            closed_after = None
            for byte in b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200:
                try:
                    sock.sendall(bytes([byte]))
                except OSError:
                    closed_after = time.monotonic() - started
                    break
                time.sleep(0.05)
                sock.setblocking(False)
                try:
                    if sock.recv(1) == b"":
                        closed_after = time.monotonic() - started
                        break
                except BlockingIOError:
                    pass
                finally:
                    sock.setblocking(True)
            assert closed_after is not None, "the server kept a trickling connection open"
            assert closed_after < 5
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
            assert resp.status == 200
    finally:
        proc.terminate()
        proc.wait(10)
