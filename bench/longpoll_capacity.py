"""Benchmark 1: long-poll capacity.

N waiting polls in one Backchannel process, in two modes, each with its own
server subprocess and IRC connections to ``fast_ircd`` (a subprocess too):

- ``seed``: public mode, N browser sessions, each with one relay connection
  (registered and joined to ``#bench``) and one ``GET /irc/pull`` waiting;
- ``v1``: private mode, N users (created through the store modules with a
  cheap argon2id hash), each with one always-on network (joined to ``#v1``)
  and one ``GET /api/events`` waiting.

For each mode: (a) the server's RSS per waiting poll beyond the idle baseline
(and per session/user before any poll); (b) the latency from an IRC line
written by fast_ircd to one client to the matching poll's answer arriving,
p50/p99, with the N polls waiting (one wake among N); (c) the time from the
first write of one channel line to all N members until all N polls answered.

The load generator (this process, aiohttp client) runs apart from the server;
with two or more CPUs the server is pinned to CPU 0 and the rest to the others.

    python bench/longpoll_capacity.py [--quick] [--n N] [--mode seed|v1|both]

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    BackchannelServer,
    cpu_seconds,
    emit,
    fd_count,
    log,
    machine,
    make_users,
    network_config,
    nofile_hard_limit,
    pin_to,
    raise_nofile,
    rss_bytes,
    run_bounded,
    serve_flags,
    summary_ms,
    temp_dir,
    wait_quiet,
)
from fast_ircd import IrcdProcess

TARGET_N = 10_000
BUDGET = {"per_poll_kib": 16.0, "wake_one_p99_ms": 5.0, "wake_all_ms": 500.0}
WAVE = 250  # polls opened at once (the server's listen backlog is 128)
POLL_TIMEOUT = 600  # seconds: no poll times out during a run


def default_n() -> int:
    """10,000, unless the file-descriptor hard limit cannot hold it: the
    server needs one descriptor per poll and one per IRC connection."""
    return max(10, min(TARGET_N, (nofile_hard_limit() - 200) // 2))


class Polls:
    """One long-poll per index (aiohttp client), re-armed by the driver; each
    answer is ``(monotonic arrival time, JSON body)``."""

    def __init__(
        self, http: aiohttp.ClientSession, base: str, path_of: Any, cookie_of: Any
    ) -> None:
        self.http = http
        self.base = base
        self.path_of = path_of  # (index, after) -> path
        self.cookie_of = cookie_of  # index -> Cookie header
        self.tasks: dict[int, asyncio.Task[tuple[float, Any]]] = {}

    async def _one(self, i: int, after: str | None) -> tuple[float, Any]:
        url = self.base + self.path_of(i, after)
        async with self.http.get(url, headers={"Cookie": self.cookie_of(i)}) as r:
            body = await r.json(content_type=None)
            arrived = time.monotonic()
            if r.status != 200:
                raise RuntimeError(f"poll {i}: HTTP {r.status} {body}")
        return arrived, body

    def arm(self, i: int, after: str | None = None) -> None:
        self.tasks[i] = asyncio.create_task(self._one(i, after))

    async def cancel_all(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)


class _HttpConnection(asyncio.Protocol):
    """A minimal HTTP/1.1 keep-alive client connection: one request at a
    time, answers with a Content-Length (as Backchannel's are)."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.waiter: asyncio.Future[tuple[float, int, bytes]] | None = None
        self.status = 0
        self.need: int | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError(f"connection lost: {exc}"))

    def data_received(self, data: bytes) -> None:
        arrived = time.monotonic()
        self.buf += data
        if self.need is None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                return
            head = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            self.status = int(head[0].split(" ", 2)[1])
            lengths = [
                v
                for k, _, v in (h.partition(":") for h in head[1:])
                if k.lower() == "content-length"
            ]
            if not lengths:
                raise RuntimeError(f"no Content-Length in {head}")
            self.need = int(lengths[0])
            del self.buf[: end + 4]
        if len(self.buf) >= self.need:
            body = bytes(self.buf[: self.need])
            del self.buf[: self.need]
            self.need = None
            waiter, self.waiter = self.waiter, None
            if waiter is not None and not waiter.done():
                waiter.set_result((arrived, self.status, body))

    async def request(self, raw: bytes) -> tuple[float, int, bytes]:
        assert self.transport is not None
        self.waiter = asyncio.get_running_loop().create_future()
        self.transport.write(raw)
        return await self.waiter


class RawPolls(Polls):
    """The same polls over raw keep-alive sockets: a response costs this
    process ~10 µs instead of aiohttp's ~60 µs, so that 10,000 answers
    measure the server rather than the load generator."""

    def __init__(self, base: str, path_of: Any, cookie_of: Any) -> None:
        host, _, port = base.removeprefix("http://").partition(":")
        self.host, self.port = host, int(port)
        self.path_of = path_of
        self.cookie_of = cookie_of
        self.conns: dict[int, _HttpConnection] = {}
        self.tasks = {}

    async def _one(self, i: int, after: str | None) -> tuple[float, Any]:
        conn = self.conns.get(i)
        if conn is None or conn.transport is None or conn.transport.is_closing():
            _, conn = await asyncio.get_running_loop().create_connection(
                _HttpConnection, self.host, self.port
            )
            self.conns[i] = conn
        raw = (
            f"GET {self.path_of(i, after)} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
            f"Cookie: {self.cookie_of(i)}\r\n\r\n"
        ).encode()
        arrived, status, body = await conn.request(raw)
        if status != 200:
            raise RuntimeError(f"poll {i}: HTTP {status} {body[:200]!r}")
        return arrived, json.loads(body)

    async def cancel_all(self) -> None:
        await super().cancel_all()
        for conn in self.conns.values():
            if conn.transport is not None:
                conn.transport.close()


def _polls(
    args: argparse.Namespace, http: aiohttp.ClientSession, base: str, path_of: Any, cookie_of: Any
) -> Polls:
    if args.client == "aiohttp":
        return Polls(http, base, path_of, cookie_of)
    return RawPolls(base, path_of, cookie_of)


def _client(limit: int = 0) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=limit, limit_per_host=0),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=None, sock_read=POLL_TIMEOUT + 60),
    )


async def _open_polls(polls: Polls, n: int, server_pid: int, fd_base: int) -> float:
    """Arm N polls in waves, waiting for the server to accept each wave;
    returns the seconds it took until the server was quiet."""
    start = time.monotonic()
    for first in range(0, n, WAVE):
        last = min(n, first + WAVE)
        for i in range(first, last):
            polls.arm(i)
        deadline = time.monotonic() + 30
        while fd_count(server_pid) < fd_base + last and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        for task in polls.tasks.values():
            if task.done():  # a poll answered early: something is wrong
                task.result()
                raise RuntimeError("a poll answered before it was woken")
    await asyncio.to_thread(wait_quiet, server_pid, idle_for=0.5)
    return time.monotonic() - start


async def _wake_one(
    polls: Polls,
    ircd: IrcdProcess,
    n: int,
    samples: int,
    nick_of: Any,
    line_of: Any,
    cursor_of: Any,
    check: Any,
) -> list[float]:
    """(b): one line to one client at a time; its poll's answer time."""
    rng = random.Random(1)
    chosen = rng.sample(range(n), min(samples, n))
    latencies: list[float] = []
    for k, i in enumerate(chosen):
        sent = await ircd.command("send", nick=nick_of(i), line=line_of(k))
        arrived, body = await asyncio.wait_for(polls.tasks[i], 10)
        check(body, f"sample {k}")
        latencies.append(arrived - float(sent["sent_at"]))
        polls.arm(i, cursor_of(body))
        await asyncio.sleep(0.004)  # let the server park the new poll before the next line
    return latencies


async def _wake_all(
    polls: Polls,
    ircd: IrcdProcess,
    channel: str,
    n: int,
    members: int,
    check: Any,
    server_pid: int,
) -> dict[str, Any]:
    """(c): one channel line written to all N members; all N answers. Also
    the CPU time each process used meanwhile (who was the bottleneck)."""
    await asyncio.sleep(0.5)
    assert ircd.proc is not None
    pids = {"server": server_pid, "ircd": ircd.proc.pid, "client": os.getpid()}
    cpu_before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    sent = await ircd.command(
        "broadcast", channel=channel, line=f":bot!bot@bench.example PRIVMSG {channel} :to all"
    )
    if sent["members"] != members:
        raise RuntimeError(f"{channel} has {sent['members']} members, expected {members}")
    results = await asyncio.wait_for(asyncio.gather(*(polls.tasks[i] for i in range(n))), 60)
    cpu_ms = {
        f"{name}_cpu_ms": round((cpu_seconds(pid) - cpu_before[name]) * 1000)
        for name, pid in pids.items()
    }
    first = float(sent["first"])
    arrivals = sorted(arrived - first for arrived, _ in results)
    for _, body in results:
        check(body, "broadcast")
    return {
        "n": n,
        "all_ms": round(arrivals[-1] * 1000, 1),
        "p50_ms": round(arrivals[len(arrivals) // 2] * 1000, 1),
        "first_ms": round(arrivals[0] * 1000, 2),
        "ircd_write_ms": round((float(sent["last"]) - first) * 1000, 1),
        **cpu_ms,
    }


def _check_seed(body: Any, what: str) -> None:
    if not (body and body[0][1] == "PRIVMSG"):
        raise RuntimeError(f"{what}: unexpected answer {body!r}")


def _check_v1(body: Any, what: str) -> None:
    if "privmsg" not in [e["kind"] for e in body["events"]]:
        raise RuntimeError(f"{what}: unexpected answer {body!r}")


async def _measure_wakes(
    out: dict[str, Any],
    mode: str,
    polls: Polls,
    ircd: IrcdProcess,
    n: int,
    samples: int,
    nick_prefix: str,
    channel: str,
    extra_members: int,
    server_pid: int,
) -> None:
    """(b) and (c) into ``out``."""
    check = _check_seed if mode == "seed" else _check_v1
    latencies = await _wake_one(
        polls,
        ircd,
        n,
        samples,
        nick_of=lambda i: f"{nick_prefix}{i}",
        line_of=lambda k: f":bot!bot@bench.example PRIVMSG {channel} :sample {k}",
        cursor_of=lambda body: None if mode == "seed" else body["cursor"],
        check=check,
    )
    out["wake_one"] = summary_ms(latencies)
    log(f"{mode}: one wake among {n}: {out['wake_one']}")
    out["wake_all"] = await _wake_all(polls, ircd, channel, n, n + extra_members, check, server_pid)
    log(f"{mode}: all {n} woken: {out['wake_all']}")


def _maybe_freeze(args: argparse.Namespace, server: BackchannelServer) -> None:
    """With --gc-freeze: the server's heap so far leaves the garbage
    collector's scans (what an app-level gc.freeze() after start-up would do)."""
    if args.gc_freeze:
        server.freeze_gc()
        time.sleep(0.3)


def _mib(value: int) -> float:
    return round(value / 2**20, 1)


# -- seed mode ------------------------------------------------------------------------


async def _seed_session(
    http: aiohttp.ClientSession, base: str, irc: str, i: int
) -> tuple[str, str]:
    """connect, wait for CONNECTED, register as s<i>, join #bench, read the
    answers until the end of NAMES; returns (cookie, connection id)."""
    async with http.get(f"{base}/irc/connect/{irc}") as r:
        conn_id = await r.text()
        if r.status != 200:
            raise RuntimeError(f"connect: {r.status} {conn_id}")
        cookie = f"bc_session={r.cookies['bc_session'].value}"
    headers = {"Cookie": cookie}

    async def pull_until(command: str) -> None:
        for _ in range(50):
            async with http.get(f"{base}/irc/pull/{conn_id}", headers=headers) as r:
                events = await r.json(content_type=None)
            if any(e[1] == command for e in events):
                return
            if any(e[1] == "ERROR" for e in events):
                raise RuntimeError(f"session {i}: {events}")
        raise RuntimeError(f"session {i}: no {command}")

    await pull_until("CONNECTED")
    for line in (f"NICK s{i}", f"USER s{i} 0 * :bench", "JOIN #bench"):
        async with http.post(f"{base}/irc/push/{conn_id}", data=line, headers=headers) as r:
            answer = await r.json(content_type=None)
            if answer[1] != "PUSH_OK":
                raise RuntimeError(f"push {line!r}: {answer}")
    await pull_until("366")
    return cookie, conn_id


async def run_seed(args: argparse.Namespace, ircd: IrcdProcess, work: Path) -> dict[str, Any]:
    n = args.n
    irc = f"127.0.0.1:{ircd.port}"
    server = BackchannelServer(
        work / "seed",
        [
            "--public",
            "--allow-server",
            irc,
            "--poll-timeout",
            str(POLL_TIMEOUT),
            "--idle-timeout",
            "3600",
            "--max-connections-per-session",
            "1",
        ],
        cpus=args.server_cpus,
        gc_freeze_signal=args.gc_freeze,
    )
    out: dict[str, Any] = {"n": n}
    server.start()
    try:
        base = server.base
        async with _client(limit=100) as http:
            await _seed_session(http, base, irc, n)  # warm-up (imports, first allocations)
        await asyncio.to_thread(wait_quiet, server.pid)
        rss_idle = rss_bytes(server.pid)
        t = time.monotonic()
        sessions: list[tuple[str, str]] = []
        async with _client(limit=200) as http:
            for first in range(0, n, 500):
                sessions += await asyncio.gather(
                    *(_seed_session(http, base, irc, i) for i in range(first, min(n, first + 500)))
                )
        await ircd.command("wait_members", channel="#bench", count=n + 1, timeout=60)
        out["setup_s"] = round(time.monotonic() - t, 1)
        log(f"seed: {n} sessions registered and joined in {out['setup_s']} s")
        await asyncio.to_thread(wait_quiet, server.pid)
        _maybe_freeze(args, server)
        rss_sessions = rss_bytes(server.pid)
        fd_base = fd_count(server.pid)
        async with _client() as http:
            polls = _polls(
                args,
                http,
                base,
                lambda i, after: f"/irc/pull/{sessions[i][1]}",
                lambda i: sessions[i][0],
            )
            try:
                out["open_polls_s"] = round(await _open_polls(polls, n, server.pid, fd_base), 1)
                rss_polls = rss_bytes(server.pid)
                log(f"seed: {n} pulls waiting; RSS {_mib(rss_polls)} MiB")
                _maybe_freeze(args, server)
                await _measure_wakes(
                    out, "seed", polls, ircd, n, args.samples, "s", "#bench", 1, server.pid
                )
            finally:
                await polls.cancel_all()

        out.update(
            rss_idle_mib=_mib(rss_idle),
            rss_sessions_mib=_mib(rss_sessions),
            rss_polls_mib=_mib(rss_polls),
            per_session_kib=round((rss_sessions - rss_idle) / n / 1024, 2),
            per_poll_kib=round((rss_polls - rss_sessions) / n / 1024, 2),
        )
    finally:
        server.stop(timeout=60)
    return out


# -- v1 mode --------------------------------------------------------------------------


async def run_v1(args: argparse.Namespace, ircd: IrcdProcess, work: Path) -> dict[str, Any]:
    n = args.n
    data = work / "v1"
    t = time.monotonic()
    users = await asyncio.to_thread(
        make_users,
        data,
        n,
        lambda i: network_config("fast", "127.0.0.1", ircd.port, f"u{i}", ["#v1"]),
    )
    out: dict[str, Any] = {"n": n, "create_users_s": round(time.monotonic() - t, 1)}
    log(f"v1: {n} users created in {out['create_users_s']} s")
    server = BackchannelServer(
        data,
        [
            "--allow-server",
            f"127.0.0.1:{ircd.port}",
            "--poll-timeout",
            str(POLL_TIMEOUT),
            # all networks connect at once (the default paces restarts at 10 a second)
            *(["--connect-rate", "0"] if "--connect-rate" in serve_flags() else []),
        ],
        cpus=args.server_cpus,
        gc_freeze_signal=args.gc_freeze,
    )
    t = time.monotonic()
    server.start(timeout=120)
    try:
        base = server.base
        await ircd.command("wait_members", channel="#v1", count=n, timeout=600)
        await asyncio.to_thread(wait_quiet, server.pid, timeout=600)
        _maybe_freeze(args, server)
        out["setup_s"] = round(time.monotonic() - t, 1)
        rss_idle = rss_bytes(server.pid)
        log(f"v1: {n} networks registered and joined in {out['setup_s']} s; RSS {_mib(rss_idle)}")
        fd_base = fd_count(server.pid)
        async with _client() as http:
            polls = _polls(
                args,
                http,
                base,
                lambda i, after: (
                    f"/api/events?timeout={POLL_TIMEOUT}" + (f"&after={after}" if after else "")
                ),
                lambda i: f"bc_auth={users[i].token}",
            )
            try:
                out["open_polls_s"] = round(await _open_polls(polls, n, server.pid, fd_base), 1)
                rss_polls = rss_bytes(server.pid)
                log(f"v1: {n} polls waiting; RSS {_mib(rss_polls)} MiB")
                _maybe_freeze(args, server)
                await _measure_wakes(
                    out, "v1", polls, ircd, n, args.samples, "u", "#v1", 0, server.pid
                )
            finally:
                await polls.cancel_all()
        out.update(
            rss_idle_mib=_mib(rss_idle),
            rss_polls_mib=_mib(rss_polls),
            per_poll_kib=round((rss_polls - rss_idle) / n / 1024, 2),
        )
    finally:
        server.stop(timeout=120)
    return out


# -- the benchmark ------------------------------------------------------------------------


def _verdict(mode: dict[str, Any]) -> dict[str, bool]:
    return {
        "per_poll": mode["per_poll_kib"] <= BUDGET["per_poll_kib"],
        "wake_one_p99": mode["wake_one"]["p99_ms"] <= BUDGET["wake_one_p99_ms"],
        "wake_all": mode["wake_all"]["all_ms"] <= BUDGET["wake_all_ms"],
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    result: dict[str, Any] = {
        "benchmark": "longpoll_capacity",
        "quick": args.quick,
        "n": args.n,
        "n_target": TARGET_N,
        "machine": machine(),
        "budget": BUDGET,
        "poll_client": args.client,
        "gc_freeze": args.gc_freeze,
    }
    ircd = IrcdProcess(["--names-limit", "200", "--announce-limit", "0"], cpus=args.other_cpus)
    await ircd.start()
    try:
        with temp_dir("bench-longpoll-") as work:
            for mode, runner in (("seed", run_seed), ("v1", run_v1)):
                if args.mode in (mode, "both"):
                    result[mode] = await runner(args, ircd, work)
                    result[mode]["met"] = _verdict(result[mode])
    finally:
        await ircd.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (for the tests)")
    parser.add_argument("--n", type=int, help="waiting polls (default 10,000, fd limit allowing)")
    parser.add_argument("--samples", type=int, help="single wake-ups measured (default 500)")
    parser.add_argument("--mode", choices=["seed", "v1", "both"], default="both")
    parser.add_argument(
        "--client",
        choices=["raw", "aiohttp"],
        default="raw",
        help="HTTP client of the waiting polls (setup always uses aiohttp)",
    )
    parser.add_argument("--max-seconds", type=float, help="give up after this long")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="experiment: gc.freeze() in the server after set-up and after the polls opened",
    )
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    args = parser.parse_args()
    raise_nofile()
    args.n = args.n or (40 if args.quick else default_n())
    args.samples = args.samples or (30 if args.quick else 500)
    args.max_seconds = args.max_seconds or (120 if args.quick else 1800)
    cpus = sorted(os.sched_getaffinity(0))
    args.server_cpus = args.other_cpus = None
    if len(cpus) >= 2 and not args.no_pin:
        args.server_cpus, args.other_cpus = {cpus[0]}, set(cpus[1:])
        pin_to(args.other_cpus)
    started = time.monotonic()

    try:
        result = run_bounded(lambda: run(args), args.max_seconds)
    except TimeoutError:
        log(f"gave up after {args.max_seconds:g} s")
        return 1
    except asyncio.CancelledError:
        log("interrupted")
        return 1
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
