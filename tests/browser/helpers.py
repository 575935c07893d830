"""Helpers for the real-browser tests: a ``backchannel serve`` subprocess, logging in
through the page, IRC users on plain sockets, and small waits.

The server is the real command (``python -m backchannel serve``) in its own data dir on a
free loopback port; accounts are created with ``python -m backchannel user add``.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from playwright.async_api import Locator, Page, expect

from tests.support.ircclient import IRCClient
from tests.support.ircd import NgIRCd, free_port

__all__ = [
    "PASSWORD",
    "USERNAME",
    "BackchannelServer",
    "PinnedNgIRCd",
    "add_network_api",
    "conversation",
    "count_in_log",
    "eventually",
    "irc_user",
    "log_in",
    "member",
    "member_list",
    "message_input",
    "message_log",
    "nav",
    "open_conversation",
    "tag",
    "wait_joined",
]

BACKCHANNEL = [sys.executable, "-m", "backchannel"]
USERNAME = "alice"
PASSWORD = "correct horse battery"


def tag() -> str:
    """A short random suffix for nicks and channels (the ircds are shared by the session)."""
    return secrets.token_hex(3)


class BackchannelServer:
    """``backchannel serve`` as a subprocess; stop/kill and start again on the same port
    and data dir (a restart keeps accounts, networks and scrollback)."""

    def __init__(self, root: Path, *, extra_args: tuple[str, ...] = ()) -> None:
        self.root = root
        self.data_dir = root / "data"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = root / "serve.log"
        self.port = free_port()
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, name: str = USERNAME, password: str = PASSWORD) -> None:
        result = subprocess.run(
            [
                *BACKCHANNEL,
                "user",
                "add",
                name,
                "--password-stdin",
                "--data-dir",
                str(self.data_dir),
            ],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, f"user add failed: {result.stdout}{result.stderr}"

    def start(self, timeout: float = 20.0) -> None:
        assert self.proc is None or self.proc.poll() is not None, "already running"
        cmd = [
            *BACKCHANNEL,
            "serve",
            "--host", "127.0.0.1",
            "--port", str(self.port),
            "--data-dir", str(self.data_dir),
            # listed without a port: any port on loopback, so every ircd fixture is reachable
            "--allow-server", "127.0.0.1",
            "--poll-timeout", "5",
            *self.extra_args,
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
        with self.log_path.open("ab") as log:
            log.write(f"\n--- start {time.strftime('%H:%M:%S')} ---\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env
            )
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"backchannel serve did not start:\n{self.log_tail()}")
            time.sleep(0.05)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the PID we started, then SIGKILL if it lingers."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)

    def kill(self) -> None:
        """SIGKILL: a crash, no goodbye to the browsers or the IRC servers."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


class PinnedNgIRCd(NgIRCd):
    """ngircd on a chosen port, so a restarted server keeps its address
    (:class:`NgIRCd` picks a fresh port on every start)."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__()
        self.pinned = port

    def _prepare(self, workdir: Path) -> None:
        super()._prepare(workdir)
        if self.pinned is not None:
            conf = workdir / "ngircd.conf"
            text = conf.read_text()
            assert f"\nPorts = {self.port}\n" in text
            conf.write_text(text.replace(f"\nPorts = {self.port}\n", f"\nPorts = {self.pinned}\n"))
            self.port = self.pinned


async def log_in(page: Page, server: BackchannelServer, password: str = PASSWORD) -> None:
    """Open the page, log in through the form, wait for the chat (the Networks nav)."""
    await page.goto(server.url + "/")
    await page.get_by_label("Username").fill(USERNAME)
    await page.get_by_label("Password").fill(password)
    await page.get_by_role("button", name="Log in").click()
    # the Networks nav, or on a phone the button that opens it
    chat = nav(page).or_(page.get_by_role("button", name="Menu"))
    await expect(chat.first).to_be_visible(timeout=10_000)


async def add_network_api(
    page: Page,
    server: BackchannelServer,
    host: str,
    port: int,
    nick: str,
    channels: list[str],
    name: str = "Test",
) -> dict[str, Any]:
    """Create a network through the REST API with the page's cookies (for tests whose
    subject is not the network form)."""
    resp = await page.request.post(
        server.url + "/api/networks",
        data={
            "name": name,
            "host": host,
            "port": port,
            "nick": nick,
            "channels": [{"name": c} for c in channels],
        },
    )
    assert resp.status == 201, await resp.text()
    network: dict[str, Any] = await resp.json()
    return network


async def wait_joined(
    page: Page, server: BackchannelServer, network_id: int, channel: str, timeout: float = 20
) -> None:
    """Wait until the server says the network is in ``channel`` (per /api/state)."""

    async def joined() -> bool:
        resp = await page.request.get(server.url + "/api/state")
        state = await resp.json()
        for net in state["networks"]:
            if net["id"] == network_id:
                for target in net["targets"]:
                    if target["name"].lower() == channel.lower() and target["joined"]:
                        return True
        return False

    await eventually(joined, timeout)


async def irc_user(host: str, port: int, nick: str, *channels: str) -> IRCClient:
    """A plain-socket IRC user, registered and in ``channels``."""
    client = await IRCClient.connect(host, port)
    await client.register(nick)
    for channel in channels:
        await client.send(f"JOIN {channel}")
        await client.expect(
            lambda m, c=channel: m.command == "366" and m.param(1).lower() == c.lower(), 10
        )
    return client


# -- the page's landmarks, by the accessible names the issue fixes ----------------------


def nav(page: Page) -> Locator:
    """The sidebar: navigation "Networks"."""
    return page.get_by_role("navigation", name="Networks")


def message_log(page: Page) -> Locator:
    """The open conversation's messages: role log."""
    return page.get_by_role("log")


def message_input(page: Page) -> Locator:
    return page.get_by_label("Message", exact=True)


def conversation(page: Page, name: str) -> Locator:
    """A conversation's entry (button or link named like it) in the Networks nav."""
    return (
        nav(page)
        .get_by_role("button", name=name, exact=True)
        .or_(nav(page).get_by_role("link", name=name, exact=True))
    )


async def open_conversation(page: Page, name: str) -> None:
    """Click a conversation (channel or query) in the Networks nav."""
    await conversation(page, name).first.click()


def member_list(page: Page) -> Locator:
    """The open channel's nick list."""
    names = re.compile(r"members|nicks|users|people", re.I)
    return page.get_by_role("complementary", name=names).or_(page.get_by_role("list", name=names))


def member(page: Page, nick: str) -> Locator:
    """A nick in the nick list (maybe shown with its rank prefix, like @ada)."""
    return member_list(page).get_by_text(re.compile(rf"^[~&@%+]?{re.escape(nick)}$"))


async def count_in_log(page: Page, text: str) -> int:
    """How many times ``text`` occurs in the log's text."""
    return int(
        await message_log(page).evaluate(
            "(log, text) => log.textContent.split(text).length - 1", text
        )
    )


async def eventually(
    check: Callable[[], Awaitable[Any]], timeout: float = 15.0, interval: float = 0.1
) -> Any:
    """Poll ``check`` until it returns something truthy; its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met in {timeout} s (last: {value!r})")
        await asyncio.sleep(interval)


async def network_with(
    page: Page,
    server: BackchannelServer,
    irc: NgIRCd,
    people: list[IRCClient],
    *channels: str,
) -> tuple[int, str, IRCClient]:
    """alice's own network (a fresh nick) in ``channels``, where a socket user (the
    friend, op of each) already is: (network id, alice's nick, the friend)."""
    t = tag()
    me = f"me{t}"
    friend = await irc_user(irc.host, irc.port, f"fr{t}", *channels)
    people.append(friend)
    net = await add_network_api(
        page, server, irc.host, irc.port, me, list(channels), name=f"Net {t}"
    )
    for channel in channels:
        await wait_joined(page, server, net["id"], channel)
    return net["id"], me, friend


async def viewing(page: Page, name: str) -> None:
    """The conversation ``name`` is the current one, and its log is on screen."""
    await expect(conversation(page, name)).to_have_attribute("aria-current", "page")
    await expect(page.get_by_role("log", name=f"Conversation in {name}")).to_be_visible()
