"""Backup and restore with real processes: ``backchannel serve`` on the real
ngIRCd stores a channel's messages while ``backchannel backup`` copies its
database; ``restore`` is refused while that server runs, and the backup,
restored into a second data dir and served there, lets the user log in and
shows the history as it was when the backup was taken."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backchannel.store.backup import check_database
from tests.support.ircd import free_port
from tests.web.transport_helpers import HttpClient, add_network, plain_in, poll_until, said

pytestmark = pytest.mark.ircd

BACKCHANNEL = [sys.executable, "-m", "backchannel"]
PASSWORD = "correct horse battery staple"


def cli(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
    return subprocess.run(
        [*BACKCHANNEL, *args], input=stdin, capture_output=True, text=True, timeout=60, env=env
    )


class Server:
    """``backchannel serve`` on one data dir and port."""

    def __init__(self, root: Path, config: Path, data_dir: Path) -> None:
        self.root, self.config, self.data_dir = root, config, data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = root / f"serve-{data_dir.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def command(self) -> list[str]:
        return [*BACKCHANNEL, "serve", "--config", str(self.config), "--data-dir",
                str(self.data_dir), "--port", str(self.port)]  # fmt: skip

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(self.command(), stdout=out, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                    return
            except OSError:
                if self.proc.poll() is not None or time.monotonic() > deadline:
                    self.kill()
                    raise AssertionError(self.log.read_text(errors="replace")) from None
                time.sleep(0.05)

    def stop(self) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(15)

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def servers(tmp_path: Path, ngircd: Any) -> Iterator[tuple[Server, Server]]:
    config = tmp_path / "backchannel.toml"
    config.write_text(f'allowed_servers = ["{ngircd.host}:{ngircd.port}"]\npoll_timeout = 2\n')
    one = Server(tmp_path, config, tmp_path / "one")
    two = Server(tmp_path, config, tmp_path / "two")
    try:
        yield one, two
    finally:
        one.kill()
        two.kill()


async def _login(server: Server) -> HttpClient:
    client = HttpClient(server.url)
    status, body = await client.post("/api/login", {"username": "alice", "password": PASSWORD})
    assert status == 200, body
    return client


async def _history_texts(client: HttpClient, nid: int, channel: str, nick: str) -> list[str]:
    status, page = await client.get(
        f"/api/networks/{nid}/history", params={"target": channel, "limit": "1000"}
    )
    assert status == 200, page
    return [e["text"] for e in page["events"] if said(channel, nick)(e)]


def _backup_texts(path: Path, nick: str) -> list[str]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT text FROM events WHERE nick = ? AND kind = 'privmsg' "
                            "ORDER BY id", (nick,))  # fmt: skip
        return [str(r[0]) for r in rows]
    finally:
        conn.close()


async def test_backup_while_serving_restore_elsewhere(
    servers: tuple[Server, Server], ngircd: Any, tmp_path: Path
) -> None:
    one, two = servers
    channel, nick, talker = "#backup", "webbak", "sockbak"
    msg = said(channel, talker)
    await asyncio.to_thread(one.start)
    added = cli("user", "add", "alice", "--password-stdin", "--data-dir", str(one.data_dir),
                stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    alice = await _login(one)
    nid, plain = await asyncio.gather(
        add_network(alice, ngircd, nick, channel), plain_in(ngircd, talker, channel)
    )
    try:
        for i in range(1, 21):
            await plain.send(f"PRIVMSG {channel} :before {i}")
        _, cursor = await poll_until(alice, "0", msg, 20)

        # the server goes on storing messages while the backup is taken
        sent = 0

        async def talk() -> None:
            nonlocal sent
            while True:
                sent += 1
                await plain.send(f"PRIVMSG {channel} :live {sent}")
                await asyncio.sleep(0.02)

        talking = asyncio.create_task(talk())
        try:
            seen, _ = await poll_until(alice, cursor, msg, 10)
            stored_before = len([e for e in seen if msg(e)])
            dest = tmp_path / "backup.sqlite3"
            made = await asyncio.to_thread(cli, "backup", str(dest), "--data-dir",
                                           str(one.data_dir))  # fmt: skip
            assert made.returncode == 0, made.stderr
            await asyncio.sleep(0.3)
        finally:
            talking.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await talking
        assert check_database(dest).users == 1
        in_backup = _backup_texts(dest, talker)

        # while the server runs: restore refused, a second server refused, doctor content
        refused = cli("restore", str(dest), "--data-dir", str(one.data_dir))
        assert refused.returncode == 1
        assert f"backchannel serve (pid {one.proc.pid})" in refused.stderr  # type: ignore[union-attr]
        assert "stop the server first" in refused.stderr
        twice = subprocess.run([*one.command()[:-1], str(free_port())], capture_output=True,
                               text=True, timeout=30)  # fmt: skip
        assert twice.returncode == 2 and "is using the data dir" in twice.stderr
        doctor = cli("doctor", "--data-dir", str(one.data_dir), "--config", str(one.config))
        assert f"running: backchannel serve (pid {one.proc.pid})" in doctor.stdout  # type: ignore[union-attr]
        env_doctor = subprocess.run(
            [*BACKCHANNEL, "doctor", "--data-dir", str(one.data_dir)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "BACKCHANNEL_PORT": str(one.port)},
        )
        assert env_doctor.returncode == 0, env_doctor.stdout
        assert "in use by the running backchannel serve" in env_doctor.stdout
        assert await asyncio.to_thread(one.stop) == 0
    finally:
        await alice.close()
        await plain.close()

    # restored into a second data dir and served there
    restored = cli("restore", str(dest), "--data-dir", str(two.data_dir))
    assert restored.returncode == 0, restored.stderr
    await asyncio.to_thread(two.start)
    alice = await _login(two)
    try:
        texts = await _history_texts(alice, nid, channel, talker)
    finally:
        await alice.close()
        assert await asyncio.to_thread(two.stop) == 0
    # a consistent snapshot: every message up to some point, none missing in between, at
    # least all that were stored when the backup began (ngIRCd paces a fast talker, so the
    # second server may still receive later ones: they come after)
    live = in_backup[20:]
    assert in_backup[:20] == [f"before {i}" for i in range(1, 21)]
    assert live == [f"live {i}" for i in range(1, len(live) + 1)]
    assert stored_before <= len(live) <= sent
    assert texts[: len(in_backup)] == in_backup
