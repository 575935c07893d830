"""Benchmark 6: the soak test of issue 7.

``--users`` users (private mode, a real ``backchannel serve`` subprocess on a
fresh SQLite data dir), each with one always-on network to a scripted IRC
server (``SoakIrcd``, ``fast_ircd`` with a traffic generator, in a
subprocess) joined to ``--channels-per-user`` of ``--channels`` channels.
For ``--duration`` seconds:

- **traffic**: the IRC server posts numbered messages (``"<seq> soak"``,
  one global sequence) round-robin into the channels, ``--rate`` a second
  in all, and notes which of its connections each one was written to;
- **browsers**: per user one or more clients (``--clients-per-user``, a
  fraction gives some users a second client), each a long-poll
  (``/api/events``) or a WebSocket (``/api/ws``) client that keeps its last
  cursor; at random times (``--drop-every`` seconds on average) a client
  drops its connection (the request cancelled, the socket shut, or a clean
  WebSocket close), maybe pauses, and resumes from its cursor, sometimes
  switching transport; now and then it moves a read marker (WebSocket
  ``read`` command or ``POST /api/networks/{id}/read``), which stores and
  publishes a ``read`` event;
- **restarts**: ``--restarts`` times in the first 60% of the run the server
  is stopped, alternately SIGKILL and SIGTERM, left down 0.5-2 s and started
  again (its networks reconnect and rejoin, the clients resume).

Then the traffic stops, the clients catch up with the store and stop, the
server stops, and the **checker** proves, from the database and the IRC
server's own record:

- every client's cursors strictly increase (no event twice, none out of
  order) and the events it received are exactly its user's stored events up
  to its last cursor (no gap, nothing foreign), with the same message text;
- every client reached its user's latest event;
- per IRC connection, what Backchannel stored is a prefix of what the IRC
  server wrote to it: nothing skipped; only a connection killed with
  SIGKILL may lose the tail it had not stored yet (counted); the connections
  open at the end lost nothing, and SIGTERM lost nothing (QUIT after storing
  what was read);
- no message was stored twice, stored messages are in sending order, and
  a message the IRC server did not write to a user (its network was not in
  the channel) was sent while Backchannel was down or rejoining (counted);
- the server answered ``/healthz`` within 5 s throughout (a stuck event
  loop is reported, not waited for);
- the server's RSS (``/proc/PID/status``), sampled through the run, does not
  grow by more than ``--rss-tolerance-mib`` + ``--rss-tolerance-pct`` in
  any phase between restarts after ``--warmup`` seconds (the mean of the
  last quarter of the phase's samples against the first quarter).

Prints one JSON object on stdout (the figures, ``"ok"``, and the first
failures), progress on stderr; exits 1 when a check failed::

    python bench/soak.py            # 300 users, 30 channels, 600 s (about 11 minutes)
    python bench/soak.py --quick    # 20 users, 5 channels, 30 s (about 35 s)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import re
import socket
import sqlite3
import sys
import time
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    BackchannelServer,
    child_setup,
    emit,
    log,
    machine,
    make_users,
    raise_nofile,
    run_bounded,
    serve_flags,
    temp_dir,
)
from fast_ircd import Client, FastIrcd

MIB = 2**20
POLL_TIMEOUT = 20  # seconds a client's long-poll waits
GEN_TEXT = re.compile(r"(\d+) soak")
MAX_FAILURES_SHOWN = 30


# -- the IRC server, with its traffic generator (a subprocess) ------------------------


class SoakIrcd(FastIrcd):
    """``FastIrcd`` that records, per registered connection, every numbered
    message written to it (``soak_log``), and how the connection ended."""

    def __init__(self) -> None:
        super().__init__(announce_limit=0, names_limit=200)
        self.conns: list[Client] = []
        self.gen_chan = array("i")  # channel index of message seq
        self.gen_time = array("d")  # monotonic time message seq was written
        self.channel_names: list[str] = []
        self._traffic: asyncio.Task[None] | None = None
        self._stop_traffic = False

    # connection bookkeeping (attributes added to fast_ircd's Client)
    def _on_user(self, client: Client, params: list[str]) -> None:
        if not hasattr(client, "soak_log"):
            client.soak_log = array("q")  # type: ignore[attr-defined]
            client.soak_quit = None  # type: ignore[attr-defined]
            client.soak_end = "open"  # type: ignore[attr-defined]
            client.soak_final = False  # type: ignore[attr-defined]
            client.soak_opened = time.monotonic()  # type: ignore[attr-defined]
            client.soak_closed = None  # type: ignore[attr-defined]
            self.conns.append(client)
        super()._on_user(client, params)

    def _on_quit(self, client: Client, params: list[str]) -> None:
        if hasattr(client, "soak_log") and client.soak_quit is None:
            client.soak_quit = len(client.soak_log)
            client.soak_end = "quit"
        super()._on_quit(client, params)

    def forget(self, client: Client) -> None:
        if hasattr(client, "soak_log") and client.soak_closed is None:
            client.soak_closed = time.monotonic()
            if client.soak_end == "open":
                client.soak_end = "lost"  # closed without QUIT (a killed process)
        super().forget(client)

    # traffic
    async def _generate(self, rate: float) -> None:
        start = time.monotonic()
        seq = len(self.gen_chan)
        base = seq
        channels = [self.channel(name) for name in self.channel_names]
        while not self._stop_traffic:
            now = time.monotonic()
            due = base + int((now - start) * rate)
            while seq < due:
                index = seq % len(channels)
                chan = channels[index]
                data = f":gen{index}!gen@soak.example PRIVMSG {chan.name} :{seq} soak\r\n".encode()
                written = time.monotonic()
                for member in chan.members:
                    member.send_bytes(data)
                    member.soak_log.append(seq)  # type: ignore[attr-defined]
                self.gen_chan.append(index)
                self.gen_time.append(written)
                seq += 1
            await asyncio.sleep(0.01)

    async def wait_joined(self, counts: dict[str, int], timeout: float) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while True:
            short = {
                name: len(self.channel(name).members)
                for name, n in counts.items()
                if len(self.channel(name).members) < n
            }
            if not short:
                return {"t": time.monotonic()}
            if time.monotonic() > deadline:
                return {"error": f"channels short of members after {timeout:g} s: {short}"}
            await asyncio.sleep(0.05)

    def dump(self, path: str) -> int:
        conns = [
            {
                "user": c.user,
                "nick": c.nick,
                "opened": c.soak_opened,  # type: ignore[attr-defined]
                "closed": c.soak_closed,  # type: ignore[attr-defined]
                "end": c.soak_end,  # type: ignore[attr-defined]
                "final": c.soak_final,  # type: ignore[attr-defined]
                "quit_index": c.soak_quit,  # type: ignore[attr-defined]
                "seqs": c.soak_log.tolist(),  # type: ignore[attr-defined]
            }
            for c in self.conns
        ]
        with open(path, "w", encoding="utf-8") as out:
            json.dump(
                {
                    "channels": self.channel_names,
                    "gen_chan": self.gen_chan.tolist(),
                    "gen_time": self.gen_time.tolist(),
                    "connections": conns,
                },
                out,
            )
        return len(conns)

    async def soak_command(self, request: dict[str, Any]) -> dict[str, Any]:
        op = request.get("op")
        if op == "wait_joined":
            return await self.wait_joined(request["counts"], float(request["timeout"]))
        if op == "traffic_start":
            self.channel_names = list(request["channels"])
            self._stop_traffic = False
            self._traffic = asyncio.create_task(self._generate(float(request["rate"])))
            return {"t": time.monotonic()}
        if op == "traffic_stop":
            self._stop_traffic = True
            if self._traffic is not None:
                await self._traffic
            for client in self.conns:
                if client.soak_end == "open":  # type: ignore[attr-defined]
                    client.soak_final = True  # type: ignore[attr-defined]
            return {"t": time.monotonic(), "generated": len(self.gen_chan)}
        if op == "dump":
            return {"connections": self.dump(request["path"])}
        return await self.command(request)


async def _ircd_child() -> None:
    """``soak.py --ircd-child``: prints ``{"port": P}``, then answers one JSON
    command a line on stdin (see :meth:`SoakIrcd.soak_command`) until EOF."""
    ircd = SoakIrcd()
    await ircd.start()
    print(json.dumps({"port": ircd.port}), flush=True)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 20)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while line := await reader.readline():
        try:
            answer = await ircd.soak_command(json.loads(line))
        except (KeyError, ValueError, TypeError) as exc:
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    await ircd.stop()


class IrcdChild:
    """The SoakIrcd subprocess, driven over its stdin and stdout."""

    def __init__(self, cpus: set[int] | None = None) -> None:
        self.cpus = cpus
        self.proc: asyncio.subprocess.Process | None = None
        self.port = 0

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            __file__,
            "--ircd-child",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            preexec_fn=child_setup(self.cpus),
            limit=1 << 20,
        )
        assert self.proc.stdout is not None
        self.port = int(json.loads(await asyncio.wait_for(self.proc.stdout.readline(), 30))["port"])

    async def command(self, op: str, **fields: Any) -> dict[str, Any]:
        proc = self.proc
        assert proc is not None and proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps({"op": op, **fields}).encode() + b"\n")
        await proc.stdin.drain()
        line = await proc.stdout.readline()
        if not line:
            raise RuntimeError("the IRC server exited")
        answer: dict[str, Any] = json.loads(line)
        if "error" in answer:
            raise RuntimeError(f"IRC server, {op}: {answer['error']}")
        return answer

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        assert proc.stdin is not None
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


# -- the browsers -------------------------------------------------------------------


@dataclass
class SoakUser:
    index: int
    user_id: int
    name: str  # also the IRC user name of its network
    token: str
    network_id: int
    channels: list[str]


@dataclass
class Shared:
    """What the driver tells every client."""

    base: str
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    draining: bool = False  # the end: no more drops or read markers


class SoakClient:
    """One browser tab: a long-poll or WebSocket client that keeps its cursor.

    Everything it receives is appended to ``cursors`` (and ``seqs``: the
    message number of a generated message, else -1), duplicates included,
    for the checker."""

    def __init__(self, index: int, user: SoakUser, mode: str, args: argparse.Namespace) -> None:
        self.index = index
        self.user = user
        self.mode = mode  # "poll" or "ws"
        self.args = args
        self.rng = random.Random(args.seed * 1_000_003 + index)
        self.cursor = 0  # starts from the beginning: it must see every stored event
        self.cursors = array("q")
        self.seqs = array("q")
        self.out_of_order = 0  # cursors not above the previous one, as received
        self.foreign = 0  # events of another network
        self.problems: list[str] = []
        self.counts = {"poll": 0, "ws": 0, "drops": 0, "switches": 0, "errors": 0}
        self.reads = {"sent": 0, "ok": 0, "failed": 0}
        self.last_target: str | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ws_id = 0
        self._reads: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return f"client {self.index} ({self.user.name})"

    def problem(self, text: str) -> None:
        if len(self.problems) < 10:
            self.problems.append(text)

    # -- receiving ----------------------------------------------------------------
    def record(self, event: dict[str, Any]) -> None:
        cursor = int(event["cursor"])
        if cursor <= self.cursor:
            self.out_of_order += 1
            self.problem(f"cursor {cursor} after {self.cursor} ({self.mode})")
        else:
            self.cursor = cursor
        if event.get("network") != self.user.network_id:
            self.foreign += 1
        seq = -1
        if event.get("kind") == "privmsg" and str(event.get("nick", "")).startswith("gen"):
            found = GEN_TEXT.fullmatch(str(event.get("text", "")))
            seq = int(found.group(1)) if found else -2
        self.cursors.append(cursor)
        self.seqs.append(seq)
        target = event.get("target")
        if isinstance(target, str) and target.startswith("#"):
            self.last_target = target

    # -- one connection ---------------------------------------------------------------
    async def _poll_session(self, http: aiohttp.ClientSession, shared: Shared) -> None:
        headers = {"Cookie": f"bc_auth={self.user.token}"}
        while True:
            url = f"{shared.base}/api/events?after={self.cursor}&timeout={POLL_TIMEOUT}"
            async with http.get(url, headers=headers) as answer:
                body = await answer.read()
                if answer.status != 200:
                    raise ConnectionError(f"HTTP {answer.status}: {body[:200]!r}")
            data = json.loads(body)
            # (nothing awaits between here and the end of the loop body: a drop
            # cancels the request either before the answer is taken or after it)
            for event in data["events"]:
                self.record(event)
            if int(data["cursor"]) != self.cursor:
                self.problem(f"answer cursor {data['cursor']} != last event {self.cursor}")
            self._maybe_read(http, shared)

    async def _ws_session(self, http: aiohttp.ClientSession, shared: Shared) -> None:
        url = f"{shared.base}/api/ws?after={self.cursor}"
        async with http.ws_connect(
            url,
            headers={"Cookie": f"bc_auth={self.user.token}"},
            timeout=aiohttp.ClientWSTimeout(ws_receive=None, ws_close=2.0),
            max_msg_size=4 * MIB,
        ) as ws:
            self._ws = ws
            try:
                hello = await ws.receive_json(timeout=30)
                if hello != {"kind": "hello", "cursor": str(self.cursor)}:
                    self.problem(f"hello {hello!r} after cursor {self.cursor}")
                async for message in ws:
                    if message.type != aiohttp.WSMsgType.TEXT:
                        break
                    data = json.loads(message.data)
                    if "cursor" in data:
                        self.record(data)
                        self._maybe_read(http, shared)
                    elif "reply_to" in data:
                        self.reads["ok" if data.get("ok") else "failed"] += 1
                        if not data.get("ok"):
                            self.problem(f"read marker refused: {data}")
                    else:
                        self.problem(f"unexpected message {data!r}")
            finally:
                self._ws = None
        raise ConnectionError(f"WebSocket closed ({ws.close_code})")

    def _maybe_read(self, http: aiohttp.ClientSession, shared: Shared) -> None:
        """Now and then, mark the conversation of the last message read."""
        if shared.draining or self.last_target is None or self.cursor <= 0:
            return
        if self.rng.random() >= self.args.read_chance:
            return
        body = {"target": self.last_target, "cursor": str(self.cursor)}
        self.reads["sent"] += 1
        ws = self._ws
        if ws is not None and not ws.closed:
            self._ws_id += 1
            command = {"id": self._ws_id, "type": "read", "network": self.user.network_id, **body}
            task = asyncio.create_task(ws.send_json(command))
        else:
            task = asyncio.create_task(self._post_read(http, shared, body))
        self._reads.add(task)
        task.add_done_callback(self._read_done)

    def _read_done(self, task: asyncio.Task[None]) -> None:
        self._reads.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self.counts["errors"] += 1

    async def _post_read(
        self, http: aiohttp.ClientSession, shared: Shared, body: dict[str, str]
    ) -> None:
        url = f"{shared.base}/api/networks/{self.user.network_id}/read"
        headers = {"Cookie": f"bc_auth={self.user.token}"}
        async with http.post(url, json=body, headers=headers) as answer:
            text = await answer.text()
        if answer.status == 200:
            self.reads["ok"] += 1
        else:
            self.reads["failed"] += 1
            if answer.status < 500 and answer.status != 400:
                return  # (e.g. the server was stopping)
            self.problem(f"read marker: HTTP {answer.status} {text[:200]}")

    # -- its life -----------------------------------------------------------------
    def _drop(self, task: asyncio.Task[None]) -> None:
        """End the connection the way a browser might: a closed tab or lost
        network (the socket shut, no WebSocket close), or a clean close."""
        ws = self._ws
        if ws is not None and self.rng.random() < 0.5:
            sock = ws.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        task.cancel()

    async def run(self, http: aiohttp.ClientSession, shared: Shared) -> None:
        rng = self.rng
        args = self.args
        failures = 0
        while not shared.stop.is_set():
            self.counts[self.mode] += 1
            session = self._poll_session if self.mode == "poll" else self._ws_session
            task = asyncio.create_task(session(http, shared))
            stop = asyncio.create_task(shared.stop.wait())
            drop_in = None if shared.draining else rng.expovariate(1.0 / args.drop_every)
            try:
                await asyncio.wait(
                    {task, stop}, timeout=drop_in, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                stop.cancel()
            if not task.done():  # dropped (or the end)
                dropped = not shared.stop.is_set()
                self._drop(task)
                with contextlib.suppress(BaseException):
                    await task
                if not dropped:
                    break
                self.counts["drops"] += 1
                failures = 0
                pause = rng.random()
                if pause < 0.3:
                    await self._sleep(shared, rng.uniform(0.0, 2.0))
                elif pause < 0.4:
                    await self._sleep(shared, rng.uniform(2.0, args.long_pause))
                if rng.random() < 0.25:
                    self.mode = "ws" if self.mode == "poll" else "poll"
                    self.counts["switches"] += 1
                continue
            try:
                task.result()
            except (aiohttp.ClientError, OSError, ConnectionError, TimeoutError):
                pass  # the server is down or stopping: try again
            except Exception as exc:
                self.problem(f"{type(exc).__name__}: {exc}")
            self.counts["errors"] += 1
            failures += 1
            await self._sleep(shared, min(1.0, 0.1 * failures) * rng.uniform(0.5, 1.5))
        for task in list(self._reads):
            task.cancel()

    async def _sleep(self, shared: Shared, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(shared.stop.wait(), seconds)


# -- memory ------------------------------------------------------------------------


def _status_kib(pid: int) -> tuple[int, int] | None:
    """(VmRSS, RssAnon) of a process in KiB, None when it is gone."""
    rss = anon = 0
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("RssAnon:"):
                    anon = int(line.split()[1])
    except OSError:
        return None
    return (rss, anon) if rss else None


@dataclass
class Phase:
    """The life of one server process."""

    index: int
    pid: int
    started: float
    ended: float | None = None
    end: str = "running"  # how it ended: SIGTERM, SIGKILL, end
    samples: list[tuple[float, int, int]] = field(default_factory=list)  # (t, rss KiB, anon KiB)


async def sample_memory(phases: list[Phase], every: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        phase = phases[-1]
        if phase.ended is None:
            found = _status_kib(phase.pid)
            if found is not None:
                phase.samples.append((time.monotonic(), *found))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), every)


async def watch_health(phases: list[Phase], base: str, stop: asyncio.Event) -> list[float]:
    """``GET /healthz`` every 2 s while a server runs; returns the times it
    went unanswered for 5 s (its event loop stuck), restarts aside."""
    stuck: list[float] = []
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while not stop.is_set():
            phase = phases[-1]
            if phase.ended is None:
                asked = time.monotonic()
                try:
                    async with http.get(base + "/healthz") as answer:
                        await answer.read()
                except (aiohttp.ClientError, OSError, TimeoutError):
                    if phases[-1] is phase and phase.ended is None:  # (not a restart)
                        stuck.append(asked)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 2.0)
    return stuck


def memory_verdict(phases: list[Phase], args: argparse.Namespace) -> dict[str, Any]:
    """Per phase after warm-up: start, end and max RSS; growth is the mean
    of the last quarter of the samples minus the mean of the first quarter."""
    out: list[dict[str, Any]] = []
    ok = True
    for phase in phases:
        after = [s for s in phase.samples if s[0] >= phase.started + args.warmup]
        entry: dict[str, Any] = {
            "phase": phase.index,
            "ended_by": phase.end,
            "seconds": round((phase.ended or time.monotonic()) - phase.started, 1),
            "samples_after_warmup": len(after),
        }
        if phase.samples:
            entry["max_mib_whole_phase"] = round(max(s[1] for s in phase.samples) / 1024, 1)
        if len(after) >= 8:
            quarter = max(1, len(after) // 4)

            def mean(rows: list[tuple[float, int, int]], col: int) -> float:
                return sum(r[col] for r in rows) / len(rows) / 1024

            first_rss, last_rss = mean(after[:quarter], 1), mean(after[-quarter:], 1)
            growth = last_rss - first_rss
            tolerance = args.rss_tolerance_mib + first_rss * args.rss_tolerance_pct / 100
            judged = after[-1][0] - after[0][0] >= args.min_judged
            entry.update(
                start_mib=round(after[0][1] / 1024, 1),
                end_mib=round(after[-1][1] / 1024, 1),
                max_mib=round(max(s[1] for s in after) / 1024, 1),
                anon_start_mib=round(after[0][2] / 1024, 1),
                anon_end_mib=round(after[-1][2] / 1024, 1),
                growth_mib=round(growth, 1),
                anon_growth_mib=round(mean(after[-quarter:], 2) - mean(after[:quarter], 2), 1),
                tolerance_mib=round(tolerance, 1),
                judged=judged,
            )
            if judged and growth > tolerance:
                ok = False
                entry["flat"] = False
            elif judged:
                entry["flat"] = True
        out.append(entry)
    return {
        "ok": ok,
        "judged_phases": sum(1 for e in out if e.get("judged")),
        "warmup_s": args.warmup,
        "tolerance": f"{args.rss_tolerance_mib:g} MiB + {args.rss_tolerance_pct:g}%",
        "phases": out,
    }


# -- the run ----------------------------------------------------------------------


def _network_config(i: int, port: int, channels: list[str]) -> dict[str, Any]:
    from backchannel.web.api_models import NetworkCreate

    body = NetworkCreate.model_validate(
        {
            "name": "soak",
            "host": "127.0.0.1",
            "port": port,
            "nick": f"s{i}",
            "username": f"soak{i}",
            "channels": [{"name": c} for c in channels],
        }
    )
    return body.model_dump(mode="json")


def _server_args(port: int) -> list[str]:
    flags = serve_flags()
    out = ["--allow-server", f"127.0.0.1:{port}", "--poll-timeout", "30"]
    if "--connect-rate" in flags:
        out += ["--connect-rate", "0"]  # every network reconnects at once after a restart
    for flag in sorted(flags):  # abuse limits on open streams, where they exist: lifted
        if flag.startswith("--max-streams"):
            out += [flag, "0"]
    return out


def _latest_cursors(db_path: Path) -> dict[int, int]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        rows = conn.execute("SELECT user_id, MAX(id) FROM events GROUP BY user_id").fetchall()
    finally:
        conn.close()
    return {int(u): int(m) for u, m in rows}


@dataclass
class Restart:
    signal: str
    at: float
    stop_s: float = 0.0
    exit_code: int | None = None
    down_s: float = 0.0
    start_s: float = 0.0
    rejoined_at: float = 0.0


class Soak:
    def __init__(self, args: argparse.Namespace, data: Path) -> None:
        self.args = args
        self.data = data
        self.rng = random.Random(args.seed)
        self.ircd = IrcdChild()
        self.users: list[SoakUser] = []
        self.clients: list[SoakClient] = []
        self.channel_names = [f"#soak{c}" for c in range(args.channels)]
        self.phases: list[Phase] = []
        self.restarts: list[Restart] = []
        self.server: BackchannelServer | None = None
        self.timeline: dict[str, float] = {}

    # set-up
    async def setup(self) -> None:
        args = self.args
        await self.ircd.start()
        picks = [
            random.Random(args.seed + i).sample(self.channel_names, args.channels_per_user)
            for i in range(args.users)
        ]
        t = time.monotonic()
        made = await asyncio.to_thread(
            make_users,
            self.data,
            args.users,
            lambda i: _network_config(i, self.ircd.port, picks[i]),
            prefix="soak",
        )
        for i, bench_user in enumerate(made):
            assert bench_user.network_id is not None
            self.users.append(
                SoakUser(i, bench_user.id, bench_user.name, bench_user.token,
                         bench_user.network_id, picks[i])
            )  # fmt: skip
        log(f"{args.users} users created in {time.monotonic() - t:.1f} s")
        self.members = {name: 0 for name in self.channel_names}
        for user in self.users:
            for name in user.channels:
                self.members[name] += 1
        self.server = BackchannelServer(self.data, _server_args(self.ircd.port))
        await self.start_server()
        joined = await self.ircd.command(
            "wait_joined", counts=self.members, timeout=args.join_timeout
        )
        self.timeline["all_joined"] = joined["t"]
        log(f"server up (pid {self.server.pid}), every network joined")

    async def start_server(self) -> None:
        assert self.server is not None
        await asyncio.to_thread(self.server.start, 120)
        self.phases.append(Phase(len(self.phases), self.server.pid, time.monotonic()))

    def make_clients(self) -> None:
        args = self.args
        count = round(args.users * args.clients_per_user)
        for index in range(count):
            user = self.users[index % args.users]
            mode = "ws" if index % 2 else "poll"
            self.clients.append(SoakClient(index, user, mode, args))

    # restarts
    async def restart(self, how: str) -> None:
        assert self.server is not None and self.server.proc is not None
        args = self.args
        record = Restart(how, time.monotonic())
        phase = self.phases[-1]
        phase.ended = record.at  # (no samples of the shutdown)
        phase.end = how
        if how == "SIGKILL":
            self.server.proc.kill()
            record.exit_code = await asyncio.to_thread(self.server.proc.wait)
        else:
            record.exit_code = await asyncio.to_thread(self.server.stop, args.stop_timeout)
        stopped = time.monotonic()
        record.stop_s = round(stopped - record.at, 2)
        down = self.rng.uniform(0.5, 2.0)
        await asyncio.sleep(down)
        t = time.monotonic()
        await self.start_server()
        record.start_s = round(time.monotonic() - t, 2)
        record.down_s = round(time.monotonic() - stopped, 2)
        joined = await self.ircd.command(
            "wait_joined", counts=self.members, timeout=args.join_timeout
        )
        record.rejoined_at = joined["t"]
        self.restarts.append(record)
        log(
            f"restart {len(self.restarts)} ({how}): exit {record.exit_code}, stopped in "
            f"{record.stop_s} s, down {record.down_s} s, everyone rejoined "
            f"{record.rejoined_at - record.at:.1f} s after the signal"
        )

    # the end
    async def drain(self, shared: Shared) -> dict[int, int]:
        """Wait until the store is still, then until every client has its
        user's latest event; returns the latest cursor of each user."""
        assert self.server is not None
        db_path = self.data / "backchannel.sqlite3"
        shared.draining = True
        deadline = time.monotonic() + self.args.drain_timeout
        latest: dict[int, int] = {}
        still_since = time.monotonic()
        while time.monotonic() < deadline:
            now = await asyncio.to_thread(_latest_cursors, db_path)
            if now != latest:
                latest, still_since = now, time.monotonic()
            elif time.monotonic() - still_since >= 1.5:
                break
            await asyncio.sleep(0.25)
        behind: list[SoakClient] = []
        while time.monotonic() < deadline:
            behind = [c for c in self.clients if c.cursor < latest.get(c.user.user_id, 0)]
            if not behind:
                break
            await asyncio.sleep(0.2)
        if behind:
            log(f"{len(behind)} client(s) did not catch up within the drain timeout")
        return latest

    async def run(self) -> dict[str, Any]:
        args = self.args
        started = time.monotonic()
        await self.setup()
        self.make_clients()
        shared = Shared(self.server.base if self.server else "")
        stop_sampling = asyncio.Event()
        sampler = asyncio.create_task(sample_memory(self.phases, args.sample_every, stop_sampling))
        watchdog = asyncio.create_task(watch_health(self.phases, shared.base, stop_sampling))
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0)
        http = aiohttp.ClientSession(
            connector=connector,
            cookie_jar=aiohttp.DummyCookieJar(),
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=POLL_TIMEOUT + 30),
        )
        tasks = [asyncio.create_task(c.run(http, shared)) for c in self.clients]
        final_exit: int | None = None
        try:
            t0 = (await self.ircd.command(
                "traffic_start", rate=args.rate, channels=self.channel_names
            ))["t"]  # fmt: skip
            self.timeline["traffic_start"] = t0
            log(f"traffic started: {args.rate:g} messages/s in {args.channels} channels, "
                f"{len(self.clients)} clients")  # fmt: skip
            kinds = ["SIGKILL", "SIGTERM"]
            for n in range(args.restarts):
                at = t0 + args.duration * 0.6 * (n + 1) / (args.restarts + 0.5)
                await asyncio.sleep(max(0.0, at - time.monotonic()))
                await self.restart(kinds[n % 2])
            await asyncio.sleep(max(0.0, t0 + args.duration - time.monotonic()))
            stopped = await self.ircd.command("traffic_stop")
            self.timeline["traffic_stop"] = stopped["t"]
            generated = int(stopped["generated"])
            log(f"traffic stopped: {generated} messages; draining")
            latest = await self.drain(shared)
        finally:
            shared.stop.set()
            await asyncio.gather(*tasks, return_exceptions=True)
            await http.close()
            stop_sampling.set()
            await sampler
            stuck = await watchdog
            if self.phases and self.phases[-1].ended is None:
                self.phases[-1].ended = time.monotonic()
                self.phases[-1].end = "end"
            if self.server is not None:
                final_exit = await asyncio.to_thread(self.server.stop, args.stop_timeout)
        dump_path = self.data / "ircd.json"
        await self.ircd.command("dump", path=str(dump_path))
        await self.ircd.stop()
        log("checking")
        checked = await asyncio.to_thread(self.check, dump_path, latest, generated)
        result: dict[str, Any] = {
            "benchmark": "soak",
            "quick": args.quick,
            "machine": machine(),
            "config": {
                "users": args.users,
                "channels": args.channels,
                "channels_per_user": args.channels_per_user,
                "rate_per_s": args.rate,
                "duration_s": args.duration,
                "clients": len(self.clients),
                "drop_every_s": args.drop_every,
                "restarts": args.restarts,
                "seed": args.seed,
            },
            **checked,
            "restarts": [
                {
                    "signal": r.signal,
                    "at_s": round(r.at - self.timeline["traffic_start"], 1),
                    "exit_code": r.exit_code,
                    "stop_s": r.stop_s,
                    "down_s": r.down_s,
                    "start_s": r.start_s,
                    "rejoined_s": round(r.rejoined_at - r.at, 2),
                }
                for r in self.restarts
            ],
            "final_exit_code": final_exit,
            "clients": self._client_figures(),
            "rss": memory_verdict(self.phases, args),
            "elapsed_s": round(time.monotonic() - started, 1),
            "load_after": [round(x, 2) for x in os.getloadavg()],
        }
        failures = result.pop("failures")
        if not result["rss"]["ok"]:
            failures.append("server RSS grew beyond the tolerance after warm-up (see rss)")
        if any(r["signal"] == "SIGTERM" and r["exit_code"] != 0 for r in result["restarts"]):
            failures.append("a SIGTERM did not end the server cleanly (exit code)")
        if final_exit != 0:
            failures.append(f"the final SIGTERM did not end the server cleanly ({final_exit})")
        result["server_stuck"] = len(stuck)
        if stuck:
            t0 = self.timeline["traffic_start"]
            failures.append(f"the server left /healthz unanswered for 5 s, {len(stuck)} time(s), "
                            f"first at {stuck[0] - t0:.0f} s of traffic")  # fmt: skip
        result["ok"] = not failures
        result["failure_count"] = len(failures)
        result["failures"] = failures[:MAX_FAILURES_SHOWN]
        return result

    def _client_figures(self) -> dict[str, Any]:
        total = {"poll": 0, "ws": 0, "drops": 0, "switches": 0, "errors": 0}
        reads = {"sent": 0, "ok": 0, "failed": 0}
        for c in self.clients:
            for key in total:
                total[key] += c.counts[key]
            for key in reads:
                reads[key] += c.reads[key]
        return {
            "count": len(self.clients),
            "longpoll_sessions": total["poll"],
            "websocket_sessions": total["ws"],
            "drops": total["drops"],
            "transport_switches": total["switches"],
            "connection_errors": total["errors"],
            "read_markers": reads,
        }

    # -- the checker ----------------------------------------------------------------
    def check(self, dump_path: Path, latest: dict[int, int], generated: int) -> dict[str, Any]:
        failures: list[str] = []
        dump = json.loads(dump_path.read_text())
        gen_chan: list[int] = dump["gen_chan"]
        gen_time: list[float] = dump["gen_time"]
        conns_of: dict[str, list[dict[str, Any]]] = {}
        for conn in dump["connections"]:
            conns_of.setdefault(conn["user"], []).append(conn)
        windows = [(r.at, r.rejoined_at) for r in self.restarts]
        chan_index = {name: i for i, name in enumerate(self.channel_names)}
        by_chan: list[list[int]] = [[] for _ in self.channel_names]
        for seq, index in enumerate(gen_chan):
            by_chan[index].append(seq)

        figures = {
            "messages_generated": generated,
            "irc_lines_written": 0,
            "messages_stored": 0,
            "events_stored": 0,
            "events_delivered": 0,
            "duplicates": 0,
            "out_of_order": 0,
            "gaps": 0,
            "foreign_events": 0,
            "content_mismatches": 0,
            "clients_behind": 0,
            "irc_gaps": 0,
            "stored_twice_or_reordered": 0,
            "lost_on_sigkill": 0,
            "lost_on_sigterm": 0,
            "lost_at_end": 0,
            "not_written_server_down": 0,
            "not_written_server_up": 0,
        }
        db = sqlite3.connect(f"file:{self.data / 'backchannel.sqlite3'}?mode=ro", uri=True)
        try:
            by_user = {u.user_id: u for u in self.users}
            clients_of: dict[int, list[SoakClient]] = {}
            for c in self.clients:
                clients_of.setdefault(c.user.user_id, []).append(c)
            for user_id, user in by_user.items():
                rows = db.execute(
                    "SELECT id, kind, nick, text FROM events WHERE user_id = ? ORDER BY id",
                    (user_id,),
                ).fetchall()
                ids = array("q", (r[0] for r in rows))
                seq_at: dict[int, int] = {}
                stored_seqs: list[int] = []
                for cursor, kind, nick, text in rows:
                    if kind == "privmsg" and nick.startswith("gen"):
                        found = GEN_TEXT.fullmatch(text)
                        seq = int(found.group(1)) if found else -2
                        seq_at[cursor] = seq
                        stored_seqs.append(seq)
                figures["messages_stored"] += len(stored_seqs)
                end = latest.get(user_id, 0)
                figures["events_stored"] += sum(1 for i in ids if i <= end)
                for client in clients_of.get(user_id, []):
                    self._check_client(client, ids, seq_at, end, figures, failures)
                self._check_irc(
                    user, stored_seqs, conns_of.get(user.name, []), by_chan, gen_time,
                    chan_index, windows, figures, failures,
                )  # fmt: skip
        finally:
            db.close()
        figures["failures"] = failures
        return figures

    @staticmethod
    def _check_client(
        client: SoakClient,
        ids: array[int],
        seq_at: dict[int, int],
        end: int,
        figures: dict[str, Any],
        failures: list[str],
    ) -> None:
        got = client.cursors
        figures["events_delivered"] += len(got)
        unique = set(got)
        dups = len(got) - len(unique)
        figures["duplicates"] += dups
        figures["out_of_order"] += client.out_of_order
        figures["foreign_events"] += client.foreign
        last = max(got) if got else 0
        expected = [i for i in ids if i <= last]
        missing = [i for i in expected if i not in unique]
        extra = sorted(unique.difference(expected))
        figures["gaps"] += len(missing)
        wrong = sum(
            1 for cursor, seq in zip(got, client.seqs, strict=True) if seq_at.get(cursor, -1) != seq
        )
        figures["content_mismatches"] += wrong
        name = client.name
        if dups or client.out_of_order:
            failures.append(f"{name}: {dups} duplicate(s), {client.out_of_order} out of order: "
                            f"{client.problems[:3]}")  # fmt: skip
        if missing:
            failures.append(f"{name}: {len(missing)} stored event(s) never received, "
                            f"first cursors {missing[:5]}")  # fmt: skip
        if extra:
            failures.append(f"{name}: {len(extra)} event(s) received that its user does not "
                            f"have, first cursors {extra[:5]}")  # fmt: skip
        if client.foreign:
            failures.append(f"{name}: {client.foreign} event(s) of another network")
        if wrong:
            failures.append(f"{name}: {wrong} event(s) differ from the stored ones")
        if last < end:
            figures["clients_behind"] += 1
            failures.append(f"{name}: stopped at cursor {last}, its user's latest is {end}")
        elif client.problems:
            failures.append(f"{name}: {client.problems[:3]}")

    def _check_irc(
        self,
        user: SoakUser,
        stored_seqs: list[int],
        conns: list[dict[str, Any]],
        by_chan: list[list[int]],
        gen_time: list[float],
        chan_index: dict[str, int],
        windows: list[tuple[float, float]],
        figures: dict[str, Any],
        failures: list[str],
    ) -> None:
        name = user.name
        stored = set(stored_seqs)
        if len(stored) != len(stored_seqs) or any(a >= b for a, b in pairwise(stored_seqs)):
            figures["stored_twice_or_reordered"] += 1
            failures.append(f"{name}: generated messages stored twice or out of sending order")
        written: set[int] = set()
        for n, conn in enumerate(conns):
            seqs: list[int] = conn["seqs"]
            figures["irc_lines_written"] += len(seqs)
            written.update(seqs)
            flags = [s in stored for s in seqs]
            first_missing = flags.index(False) if False in flags else len(flags)
            if any(flags[first_missing:]):
                figures["irc_gaps"] += 1
                skipped = [s for s, f in zip(seqs, flags, strict=True) if not f]
                failures.append(
                    f"{name}: IRC connection {n} ({conn['end']}): message(s) read but not "
                    f"stored before later ones were, first {skipped[:5]}"
                )
            tail = len(seqs) - first_missing
            if not tail:
                continue
            if conn["final"]:
                figures["lost_at_end"] += tail
                failures.append(f"{name}: {tail} message(s) written to the last connection "
                                f"were never stored")  # fmt: skip
            elif conn["end"] == "quit":
                figures["lost_on_sigterm"] += tail
                failures.append(f"{name}: connection {n} ended with QUIT but {tail} message(s) "
                                f"written before the QUIT were not stored")  # fmt: skip
            else:
                figures["lost_on_sigkill"] += tail
        phantom = stored - written
        if phantom:
            failures.append(f"{name}: {len(phantom)} stored message(s) the IRC server never "
                            f"wrote to it, e.g. {sorted(phantom)[:5]}")  # fmt: skip
        for seq in (s for c in user.channels for s in by_chan[chan_index[c]]):
            if seq in written:
                continue
            t = gen_time[seq]
            if any(a <= t <= b for a, b in windows):
                figures["not_written_server_down"] += 1
            else:
                figures["not_written_server_up"] += 1
                if figures["not_written_server_up"] <= 5:
                    failures.append(f"{name}: message {seq} was not written to it although "
                                    f"Backchannel was up")  # fmt: skip


# -- main --------------------------------------------------------------------------


def _defaults(args: argparse.Namespace) -> None:
    quick = args.quick
    for name, full, small in (
        ("users", 300, 20),
        ("channels", 30, 5),
        ("channels_per_user", 6, 3),
        ("rate", 50.0, 30.0),
        # (quick: long enough that the phase after the last restart still has a few
        # seconds past its warm-up on a loaded machine, so its memory is judged)
        ("duration", 600.0, 30.0),
        ("clients_per_user", 1.5, 1.5),
        ("restarts", 4, 2),
        ("drop_every", 30.0, 4.0),
        ("long_pause", 10.0, 3.0),
        ("read_chance", 0.02, 0.2),
        ("warmup", 90.0, 3.0),
        ("min_judged", 60.0, 4.0),
        ("sample_every", 1.0, 0.25),
        ("join_timeout", 120.0, 30.0),
        ("drain_timeout", 120.0, 20.0),
        ("stop_timeout", 60.0, 15.0),
    ):
        if getattr(args, name) is None:
            setattr(args, name, small if quick else full)
    args.channels_per_user = min(args.channels_per_user, args.channels)
    if args.time_limit is None:
        args.time_limit = args.duration + (90.0 if quick else 600.0)


def main() -> int:
    if "--ircd-child" in sys.argv[1:]:
        asyncio.run(_ircd_child())
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 users, 5 channels, 30 s")
    parser.add_argument("--users", type=int)
    parser.add_argument("--channels", type=int)
    parser.add_argument("--channels-per-user", type=int)
    parser.add_argument("--rate", type=float, help="messages a second, in all channels together")
    parser.add_argument("--duration", type=float, help="seconds of traffic")
    parser.add_argument("--clients-per-user", type=float)
    parser.add_argument("--restarts", type=int, help="server restarts (SIGKILL, SIGTERM, ...)")
    parser.add_argument("--drop-every", type=float, help="mean seconds between a client's drops")
    parser.add_argument("--long-pause", type=float, help="longest pause after a drop, seconds")
    parser.add_argument("--read-chance", type=float, help="chance of a read marker per answer")
    parser.add_argument("--warmup", type=float, help="seconds of each phase not judged for RSS")
    parser.add_argument("--min-judged", type=float, help="seconds after warm-up to judge a phase")
    parser.add_argument("--sample-every", type=float, help="seconds between RSS samples")
    parser.add_argument("--rss-tolerance-mib", type=float, default=16.0)
    parser.add_argument("--rss-tolerance-pct", type=float, default=5.0)
    parser.add_argument("--join-timeout", type=float)
    parser.add_argument("--drain-timeout", type=float)
    parser.add_argument("--stop-timeout", type=float, help="seconds a SIGTERM has to end it")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--time-limit", type=float, help="seconds for the whole run")
    parser.add_argument("--keep", metavar="DIR", help="use DIR as the data dir and keep it")
    args = parser.parse_args()
    _defaults(args)
    raise_nofile()

    async def go() -> dict[str, Any]:
        with _data_dir(args.keep) as data:
            log(f"data dir {data}")
            return await Soak(args, data).run()

    try:
        result = run_bounded(go, args.time_limit)
    except TimeoutError:
        log(f"gave up after {args.time_limit:g} s")
        return 2
    except asyncio.CancelledError:
        log("interrupted")
        return 2
    emit(result)
    if not result["ok"]:
        for failure in result["failures"]:
            log("FAILED:", failure)
        return 1
    return 0


@contextlib.contextmanager
def _data_dir(keep: str | None) -> Iterator[Path]:
    if keep:
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        yield path
    else:
        with temp_dir("bench-soak-") as path:
            yield path


if __name__ == "__main__":
    sys.exit(main())
