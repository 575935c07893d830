"""Benchmark 5: a reconnect storm, paced by ``connect_rate``.

``--users`` users with ``--networks`` always-on networks each (private mode,
a real ``backchannel serve`` in a subprocess) against the scripted IRC
server (``fast_ircd``, one per network, in this process), twice for each
rate in ``--rates`` (``--connect-rate``; 0 = unlimited):

- cold start: the server starts with every network enabled (a restart or an
  upgrade of Backchannel): every engine connects, registers and joins its
  ``--channels`` channels;
- IRC server restart: the scripted servers drop every connection, stay down
  ``--down`` seconds and come back: every engine reconnects (backoff, then
  the pacer) and rejoins.

Measured: the time until every connection is registered and every channel
rejoined, and the most connection attempts the IRC servers saw in any one
second (what a real network would see). One command, bounded in count and
time; prints one JSON object on stdout::

    python bench/reconnect_storm.py            # 500 users x 2 networks, rates 0 and 10
    python bench/reconnect_storm.py --quick    # 20 users x 2 networks, rates 0 and 20
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import random
import sys
import time
from pathlib import Path
from typing import Any

from common import (
    BackchannelServer,
    emit,
    log,
    machine,
    make_users,
    network_config,
    raise_nofile,
    temp_dir,
)
from fast_ircd import FastIrcd


class StormIrcd(FastIrcd):
    """The scripted server, noting when each connection starts talking."""

    def __init__(self) -> None:
        super().__init__(announce_limit=0)  # joins are not announced: the storm is the point
        self.attempts: list[float] = []

    def handle(self, client: Any, line: str) -> None:
        if not getattr(client, "seen", False):
            client.seen = True
            self.attempts.append(time.monotonic())
        super().handle(client, line)

    def stats(self) -> tuple[int, int]:
        registered = sum(1 for c in self.clients if c.registered)
        joined = sum(len(c.channels) for c in self.clients)
        return registered, joined


def max_per_second(times: list[float]) -> int:
    """The most events in any one-second window."""
    ordered = sorted(times)
    best = 0
    for i, t in enumerate(ordered):
        best = max(best, bisect.bisect_right(ordered, t + 1.0) - i)
    return best


async def _all_back(
    servers: list[StormIrcd], connections: int, joins: int, since: float, deadline: float
) -> dict[str, Any]:
    """Wait until every connection is registered and every channel joined."""
    registered_s: float | None = None
    while True:
        reg = sum(s.stats()[0] for s in servers)
        joined = sum(s.stats()[1] for s in servers)
        now = time.monotonic()
        if registered_s is None and reg >= connections:
            registered_s = now - since
        if reg >= connections and joined >= joins:
            return {"all_registered_s": round(registered_s or 0.0, 2),
                    "all_joined_s": round(now - since, 2)}  # fmt: skip
        if now > deadline:
            return {"timeout": True, "registered": reg, "joined": joined}
        await asyncio.sleep(0.05)


async def run_rate(
    rate: float, data_dir: Path, servers: list[StormIrcd], args: argparse.Namespace,
    deadline: float,
) -> dict[str, Any]:  # fmt: skip
    connections = args.users * args.networks
    joins = connections * args.channels
    allow = [a for s in servers for a in ("--allow-server", f"127.0.0.1:{s.port}")]
    server = BackchannelServer(data_dir, [*allow, "--connect-rate", str(rate)])
    out: dict[str, Any] = {"connect_rate": rate}
    if rate:
        out["lower_bound_s"] = round((connections - 1) / rate, 1)
    for s in servers:
        s.attempts.clear()
    started = time.monotonic()
    await asyncio.to_thread(server.start, max(60.0, deadline - started))
    try:
        cold = await _all_back(servers, connections, joins, started, deadline)
        cold["max_attempts_per_s"] = max_per_second([t for s in servers for t in s.attempts])
        cold["load_1m"] = round(os.getloadavg()[0], 2)
        out["cold_start"] = cold
        log(f"rate {rate}: cold start {cold}")
        # the IRC servers restart: every connection drops at once
        for s in servers:
            s.attempts.clear()
        dropped = time.monotonic()
        for s in servers:
            await s.stop()
        await asyncio.sleep(args.down)
        for s in servers:
            await s.start()
        storm = await _all_back(servers, connections, joins, dropped, deadline)
        storm["max_attempts_per_s"] = max_per_second([t for s in servers for t in s.attempts])
        storm["down_s"] = args.down
        storm["load_1m"] = round(os.getloadavg()[0], 2)
        out["ircd_restart"] = storm
        log(f"rate {rate}: IRC server restart {storm}")
    finally:
        await asyncio.to_thread(server.stop)
        for s in servers:  # the next run starts from an empty server
            for client in list(s.clients):
                if client.transport is not None:
                    client.transport.abort()
        await asyncio.sleep(0.5)
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.time_limit
    raise_nofile()
    result: dict[str, Any] = {
        "benchmark": "reconnect_storm",
        "quick": args.quick,
        "machine": machine(),
        "users": args.users,
        "networks_per_user": args.networks,
        "connections": args.users * args.networks,
        "channels_per_network": args.channels,
        "runs": [],
    }
    servers = [StormIrcd() for _ in range(args.networks)]
    for s in servers:
        await s.start()
    try:
        with temp_dir("bench-storm-") as data_dir:
            await asyncio.to_thread(make_users, data_dir, args.users)
            await _add_networks(data_dir, servers, args)
            for rate in args.rates:
                if time.monotonic() > deadline:
                    log("time is up: skipping the remaining rates")
                    break
                result["runs"].append(await run_rate(rate, data_dir, servers, args, deadline))
    finally:
        for s in servers:
            await s.stop()
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


async def _add_networks(data_dir: Path, servers: list[StormIrcd], args: argparse.Namespace) -> None:
    from backchannel.store.db import Database
    from backchannel.store.networks import NetworkStore

    db = Database.in_data_dir(data_dir)
    try:
        store = NetworkStore(db)
        users = db.read_sync(lambda c: [r[0] for r in c.execute("SELECT id FROM users")])
        for i, user_id in enumerate(users):
            rng = random.Random(i)
            for n, ircd in enumerate(servers):
                channels = [f"#n{n}c{c}" for c in rng.sample(range(50), args.channels)]
                config = network_config(f"net{n}", "127.0.0.1", ircd.port, f"s{i}x{n}", channels)
                await store.create(user_id, f"net{n}", config)
    finally:
        db.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="20 users, rates 0 and 20")
    parser.add_argument("--users", type=int)
    parser.add_argument("--networks", type=int, default=2)
    parser.add_argument("--channels", type=int, default=5, help="channels per network")
    parser.add_argument("--rates", help="connect rates to compare, e.g. '0,10' (0: unlimited)")
    parser.add_argument("--down", type=float, default=1.0, help="seconds the IRC server is down")
    parser.add_argument("--time-limit", type=float, help="seconds for the whole run")
    args = parser.parse_args()
    if args.users is None:
        args.users = 20 if args.quick else 500
    rates = args.rates or ("0,20" if args.quick else "0,10")
    args.rates = [float(r) for r in rates.split(",") if r.strip()]
    if args.time_limit is None:
        args.time_limit = 150.0 if args.quick else 1200.0
    emit(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
