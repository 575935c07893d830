"""Benchmark 2: relay throughput.

fast_ircd floods a channel with PRIVMSG lines (200,000 by default), as fast
as the socket takes them, to ONE always-on network of one logged-in user
(private mode): every line is parsed, applied to the state, stored in SQLite
(with its full-text index) and delivered to one WebSocket subscriber on
``/api/ws``. Measured: lines per second from the first byte written to the
last line stored, and to the last line delivered; the server's CPU time per
line; that nothing was lost and everything came in order (the count, and the
sequence numbers in the text, on the socket and in the database). Also the
protocol layer's own rate (``LineFramer`` + ``parse`` on the same bytes, in
this process, one core), to show how much of the budget the rest takes.

With two or more CPUs the server is pinned to one CPU (its SQLite writer
thread included) and fast_ircd and this client to the others.

    python bench/relay_throughput.py [--quick] [--lines N]

Prints one JSON object on stdout; progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import sys
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from common import (
    BackchannelServer,
    cpu_seconds,
    emit,
    log,
    machine,
    make_users,
    network_config,
    pin_to,
    raise_nofile,
    rss_bytes,
    run_bounded,
    temp_dir,
    wait_quiet,
)
from fast_ircd import IrcdProcess

from backchannel.protocol.framing import LineFramer
from backchannel.protocol.message import parse

BUDGET_LINES_PER_S = 50_000
CHANNEL = "#flood"
SENDERS = 50
SYNTHETIC_MEMBERS = 2000  # the channel's NAMES: a big channel
TEXT = "the quick brown fox jumps over the lazy dog, again and again"


def flood_bytes(count: int) -> bytes:
    """The exact lines fast_ircd sends (see ``FastIrcd.flood``)."""
    return "".join(
        f":user{seq % SENDERS}!u{seq % SENDERS}@host{seq % SENDERS}.example "
        f"PRIVMSG {CHANNEL} :{seq} {TEXT}\r\n"
        for seq in range(count)
    ).encode()


def parse_rate(data: bytes, rounds: int = 3) -> dict[str, Any]:
    """LineFramer + parse over ``data`` in 64 KiB reads; the best of ``rounds``
    (CPU time of this thread)."""
    best = float("inf")
    lines = 0
    for _ in range(rounds):
        framer = LineFramer()
        lines = 0
        start = time.thread_time()
        for offset in range(0, len(data), 65536):
            for line in framer.feed(data[offset : offset + 65536]):
                parse(line)
                lines += 1
        best = min(best, time.thread_time() - start)
    return {"lines": lines, "cpu_s": round(best, 3), "lines_per_s": round(lines / best)}


def store_rate(count: int, work: Path, batch: int = 1000) -> dict[str, Any]:
    """The event store alone: ``EventStore.append`` of ``count`` channel
    messages (as the engine hands them over, with full-text indexing and
    unread counts), ``batch`` per transaction, in a fresh database, in this
    process (pinned like the client: one core, the writer thread included)."""
    from backchannel.store.db import Database
    from backchannel.store.events import EventStore, NewEvent

    def event(seq: int) -> NewEvent:
        k = seq % SENDERS
        text = f"{seq} {TEXT}"
        data = {
            "kind": "privmsg",
            "time": "2026-11-24T04:41:22.854Z",
            "batch": None,
            "target": CHANNEL,
            "nick": f"user{k}",
            "user": f"u{k}",
            "host": f"host{k}.example",
            "text": text,
            "self": False,
            "server": False,
            "status": "",
            "msgid": None,
            "account": None,
        }
        return NewEvent(
            1, 1, CHANNEL, CHANNEL, "privmsg", data["time"], f"user{k}", text, data, True
        )

    events = [event(seq) for seq in range(count)]

    async def append_all() -> tuple[float, float]:
        db = Database(work / "store-alone.sqlite3")
        store = EventStore(db)
        try:
            start, cpu = time.monotonic(), time.process_time()
            for first in range(0, count, batch):
                await store.append(events[first : first + batch])
            return time.monotonic() - start, time.process_time() - cpu
        finally:
            db.close()

    wall, cpu = asyncio.run(append_all())
    return {
        "lines": count,
        "batch": batch,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
        "lines_per_s": round(count / wall),
    }


class StoreWatcher(threading.Thread):
    """Polls the database (another connection, read-only, WAL) until the
    line with sequence number ``last`` is stored; ``stored_at`` is the
    monotonic time it was first seen."""

    def __init__(self, path: Path, last: int, interval: float = 0.005) -> None:
        super().__init__(daemon=True)
        self.path = path
        self.needle = f"{last} "
        self.interval = interval
        self.stored_at: float | None = None
        self.stop = threading.Event()

    def run(self) -> None:
        conn = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
        try:
            while not self.stop.is_set():
                row = conn.execute(
                    "SELECT text FROM events WHERE kind = 'privmsg' ORDER BY id DESC LIMIT 1"
                ).fetchone()
                if row is not None and str(row[0]).startswith(self.needle):
                    self.stored_at = time.monotonic()
                    return
                time.sleep(self.interval)
        finally:
            conn.close()


def check_store(path: Path, count: int) -> dict[str, Any]:
    """Every line stored once, in order (by cursor), and in the search index."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        texts = conn.execute(
            "SELECT text FROM events WHERE kind = 'privmsg' ORDER BY id"
        ).fetchall()
        seqs = [int(str(t[0]).split(" ", 1)[0]) for t in texts]
        indexed = conn.execute(
            "SELECT count(*) FROM events_fts WHERE events_fts MATCH 'fox'"
        ).fetchone()[0]
    finally:
        conn.close()
    return {
        "stored": len(seqs),
        "stored_in_order": seqs == list(range(count)),
        "indexed": int(indexed),
    }


async def receive(
    ws: aiohttp.ClientWebSocketResponse, count: int, timeout: float
) -> dict[str, Any]:
    """Read events until ``count`` privmsgs arrived; check their order."""
    expected = 0
    in_order = True
    other = 0
    last_cursor = 0
    cursor_order = True
    async with asyncio.timeout(timeout):
        while expected < count:
            msg = await ws.receive()
            if msg.type != aiohttp.WSMsgType.TEXT:
                raise RuntimeError(f"WebSocket closed: {msg.type} {msg.data!r}")
            event = json.loads(msg.data)
            cursor = int(event["cursor"])
            cursor_order = cursor_order and cursor > last_cursor
            last_cursor = cursor
            if event["kind"] != "privmsg":
                other += 1
                continue
            seq = int(event["text"].split(" ", 1)[0])
            in_order = in_order and seq == expected
            expected += 1
    return {
        "delivered_at": time.monotonic(),
        "delivered": expected,
        "delivered_in_order": in_order and cursor_order,
        "other_events": other,
    }


async def run(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    count = args.lines
    result: dict[str, Any] = {
        "benchmark": "relay_throughput",
        "quick": args.quick,
        "lines": count,
        "machine": machine(),
        "budget_lines_per_s": BUDGET_LINES_PER_S,
        "server_cpus": sorted(args.server_cpus) if args.server_cpus else None,
    }
    ircd = IrcdProcess(
        ["--synthetic", f"{CHANNEL}={SYNTHETIC_MEMBERS}", "--names-limit", "5000"],
        cpus=args.other_cpus,
    )
    await ircd.start()
    server: BackchannelServer | None = None
    try:
        data = work / "data"
        users = await asyncio.to_thread(
            make_users,
            data,
            1,
            lambda i: network_config("fast", "127.0.0.1", ircd.port, "ada", [CHANNEL]),
        )
        server = BackchannelServer(
            data, ["--allow-server", f"127.0.0.1:{ircd.port}"], cpus=args.server_cpus
        )
        server.start()
        await ircd.command("wait_members", channel=CHANNEL, count=1, timeout=60)
        await asyncio.to_thread(wait_quiet, server.pid)
        db_path = data / "backchannel.sqlite3"
        async with (
            aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http,
            http.ws_connect(
                f"{server.base}/api/ws",
                headers={"Cookie": f"bc_auth={users[0].token}"},
                max_msg_size=0,
            ) as ws,
        ):
            hello = await ws.receive_json()
            if hello.get("kind") != "hello":
                raise RuntimeError(f"no hello: {hello}")
            watcher = StoreWatcher(db_path, count - 1)
            watcher.start()
            cpu_before = cpu_seconds(server.pid)
            receiver = asyncio.create_task(receive(ws, count, args.timeout))
            flood = await ircd.command(
                "flood", channel=CHANNEL, count=count, senders=SENDERS, text=TEXT
            )
            got = await receiver
            server_cpu = cpu_seconds(server.pid) - cpu_before
            watcher.join(args.timeout)
            watcher.stop.set()
        first = float(flood["first"])
        delivered_s = got["delivered_at"] - first
        stored_s = (watcher.stored_at or got["delivered_at"]) - first
        result.update(
            bytes=flood["bytes"],
            written_s=round(float(flood["written"]) - first, 3),
            stored_s=round(stored_s, 3),
            delivered_s=round(delivered_s, 3),
            stored_lines_per_s=round(count / stored_s),
            delivered_lines_per_s=round(count / delivered_s),
            server_cpu_s=round(server_cpu, 2),
            lines_per_server_cpu_s=round(count / server_cpu) if server_cpu else None,
            server_rss_mib=round(rss_bytes(server.pid) / 2**20, 1),
            delivered=got["delivered"],
            delivered_in_order=got["delivered_in_order"],
            other_events=got["other_events"],
        )
        log(
            f"{count} lines: stored in {stored_s:.2f} s, delivered in {delivered_s:.2f} s "
            f"({result['delivered_lines_per_s']} lines/s), server CPU {server_cpu:.2f} s"
        )
        server.stop()
        server = None
        result.update(check_store(db_path, count))
        result["parse"] = await asyncio.to_thread(parse_rate, flood_bytes(count))
        log(f"protocol layer alone: {result['parse']}")
        result["store_alone"] = await asyncio.to_thread(store_rate, count, work)
        log(f"event store alone: {result['store_alone']}")
        result["overhead_ratio"] = round(
            result["parse"]["lines_per_s"] / result["delivered_lines_per_s"], 1
        )
        result["lossless"] = (
            result["delivered"] == count
            and result["delivered_in_order"]
            and result["stored"] == count
            and result["stored_in_order"]
            and result["indexed"] == count
        )
        result["met"] = result["delivered_lines_per_s"] >= BUDGET_LINES_PER_S
    finally:
        if server is not None:
            server.stop()
        await ircd.stop()
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small run (for the tests)")
    parser.add_argument("--lines", type=int, help="lines to flood (default 200,000)")
    parser.add_argument("--timeout", type=float, help="give up on the flood after this long")
    parser.add_argument("--no-pin", action="store_true", help="do not pin processes to CPUs")
    args = parser.parse_args()
    raise_nofile()
    args.lines = args.lines or (5_000 if args.quick else 200_000)
    args.timeout = args.timeout or (60 if args.quick else 300)
    cpus = sorted(os.sched_getaffinity(0))
    args.server_cpus = args.other_cpus = None
    if len(cpus) >= 2 and not args.no_pin:
        args.server_cpus, args.other_cpus = {cpus[0]}, set(cpus[1:])
        pin_to(args.other_cpus)
    started = time.monotonic()

    async def in_temp_dir() -> dict[str, Any]:
        with temp_dir("bench-relay-") as work:
            return await run(args, work)

    try:
        result = run_bounded(in_temp_dir, args.timeout + 120)
    except TimeoutError:
        log("gave up: the flood took too long")
        return 1
    except asyncio.CancelledError:
        log("interrupted")
        return 1
    result["elapsed_s"] = round(time.monotonic() - started, 1)
    emit(result)
    return 0 if result["lossless"] else 1


if __name__ == "__main__":
    sys.exit(main())
