"""Benchmark 3: memory per always-on user, and memory vs stored history.

``backchannel serve`` (private mode) in a subprocess holds ``--users`` users,
each with ``--networks`` always-on networks of ``--channels`` channels with
``--members`` members each (NAMES from the scripted server, ``fast_ircd``,
run in this process: one server per network). Members are drawn from a
per-network population of ``--nick-pool`` nicks, so channels overlap as on a
real network; user ``i`` joins ``--channels`` of the network's
``--channel-pool`` channels.

Measured: the server's RSS with the users but no networks (base), then with
every network registered, joined and idle; per user = (idle - base) / users.
Then ``--history`` messages are stored (the scripted server floods the
channels; each line is stored once per Backchannel user in the channel), in
two halves, with the RSS after each: memory must not grow with the amount of
stored history (only the hub's bounded window of recent events fills). The
history is sent in rounds of ``ROUND`` events, each stored before the next
(``--burst``: each half at once, which measures the peak of events in flight).

One command, bounded in count and time; prints one JSON object on stdout::

    python bench/memory_per_user.py            # 200 users x 3 networks x 30 x 200
    python bench/memory_per_user.py --quick    # 10 users, 20,000 messages
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sqlite3
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
    rss_bytes,
    temp_dir,
    wait_quiet,
)
from fast_ircd import FastIrcd

MIB = 1024 * 1024
ROUND = 20_000  # history events sent at a time (--burst: all at once)
BUDGET_MIB = 2.0


def _nick_pool(rng: random.Random, size: int) -> list[str]:
    """Plausible nicks: mixed case, digits and the odd ``_`` or ``|``."""
    parts = [
        "al", "Bo", "chr", "Da", "ev", "Fr", "gu", "He", "iv", "Ja", "ka", "Le", "mo",
        "Ne", "ol", "Pa", "qu", "Ro", "st", "Ty", "ur", "Vi", "wa", "Xe", "yo", "Zz",
    ]  # fmt: skip
    nicks: set[str] = set()
    while len(nicks) < size:
        nick = "".join(rng.choice(parts) for _ in range(rng.randint(2, 4)))
        if rng.random() < 0.4:
            nick += str(rng.randint(0, 999))
        if rng.random() < 0.1:
            nick += rng.choice(["_", "|away", "`", "^"])
        nicks.add(nick[:16])
    return sorted(nicks)


class Networks:
    """``count`` scripted servers, each with ``channel_pool`` channels whose
    NAMES list ``members`` nicks drawn from ``nick_pool`` nicks."""

    def __init__(self, count: int, channel_pool: int, members: int, nick_pool: int) -> None:
        self.count = count
        self.channel_pool = channel_pool
        self.members = members
        self.nick_pool = nick_pool
        self.servers: list[FastIrcd] = []

    def channel(self, network: int, index: int) -> str:
        return f"#{'abcdefgh'[network]}net-chan{index}"

    async def start(self) -> None:
        for n in range(self.count):
            rng = random.Random(1000 + n)
            pool = _nick_pool(rng, self.nick_pool)
            # NAMES lists the real members first, then synthetic ones, up to ``members``
            ircd = FastIrcd(names_limit=self.members, announce_limit=50)
            await ircd.start()
            for c in range(self.channel_pool):
                ircd.channel(self.channel(n, c)).synthetic = rng.sample(pool, self.members)
            self.servers.append(ircd)

    async def stop(self) -> None:
        for ircd in self.servers:
            await ircd.stop()

    def stats(self) -> tuple[int, int]:
        """(registered clients, real channel memberships) over all servers."""
        registered = memberships = 0
        for ircd in self.servers:
            registered += sum(1 for c in ircd.clients if c.registered)
            memberships += sum(len(c.members) for c in ircd.channels.values())
        return registered, memberships


def _stored(db_path: Path) -> int:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM events").fetchone()[0])
    finally:
        conn.close()


async def _until(what: str, check: Any, deadline: float, every: float = 0.5) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not done in time")
        await asyncio.sleep(every)
    return time.monotonic() - started


async def _quiet_rss(server: BackchannelServer, deadline: float) -> int:
    """RSS once the server has been idle for a second (what it was given is done)."""
    await asyncio.to_thread(
        wait_quiet, server.pid, idle_for=1.0, timeout=max(5.0, deadline - time.monotonic())
    )
    return rss_bytes(server.pid)


async def run(args: argparse.Namespace) -> dict[str, Any]:
    deadline = time.monotonic() + args.time_limit
    raise_nofile()
    result: dict[str, Any] = {
        "benchmark": "memory_per_user",
        "quick": args.quick,
        "machine": machine(),
        "users": args.users,
        "networks_per_user": args.networks,
        "channels_per_network": args.channels,
        "members_per_channel": args.members,
        "channel_pool": args.channel_pool,
        "nick_pool": args.nick_pool,
        "budget_mib_per_user": BUDGET_MIB,
    }
    nets = Networks(args.networks, args.channel_pool, args.members, args.nick_pool)
    await nets.start()
    with temp_dir("bench-memory-") as data_dir:
        try:
            await asyncio.to_thread(make_users, data_dir, args.users)
            allow = [
                a for ircd in nets.servers for a in ("--allow-server", f"127.0.0.1:{ircd.port}")
            ]
            # the base: the same users, no networks
            server = BackchannelServer(data_dir, allow)
            await asyncio.to_thread(server.start)
            try:
                base = await _quiet_rss(server, deadline)
            finally:
                await asyncio.to_thread(server.stop)
            result["rss_base_mib"] = round(base / MIB, 1)
            log(f"base RSS {base / MIB:.1f} MiB")
            await _add_networks(data_dir, args, nets)

            server = BackchannelServer(data_dir, allow)
            started = time.monotonic()
            # (it answers HTTP once every network has been started)
            await asyncio.to_thread(server.start, max(60.0, deadline - time.monotonic()))
            try:
                want = (args.users * args.networks, args.users * args.networks * args.channels)
                await _until("registering and joining", lambda: nets.stats() == want, deadline)
                idle = await _quiet_rss(server, deadline)
                result["join_s"] = round(time.monotonic() - started, 1)
                result["events_after_join"] = _stored(data_dir / "backchannel.sqlite3")
                result["rss_idle_mib"] = round(idle / MIB, 1)
                per_user = (idle - base) / args.users / MIB
                result["per_user_mib"] = round(per_user, 3)
                result["met"] = per_user <= BUDGET_MIB
                result["load_at_idle"] = [round(x, 2) for x in os.getloadavg()]
                log(f"idle RSS {idle / MIB:.1f} MiB: {per_user:.3f} MiB per user")
                if args.history:
                    result["history"] = await _history(server, data_dir, nets, args, deadline)
                    result["history"]["rss_before_mib"] = result["rss_idle_mib"]
            finally:
                await asyncio.to_thread(server.stop)
        finally:
            await nets.stop()
    result["load_after"] = [round(x, 2) for x in os.getloadavg()]
    return result


async def _add_networks(data_dir: Path, args: argparse.Namespace, nets: Networks) -> None:
    from backchannel.store.db import Database
    from backchannel.store.networks import NetworkStore

    db = Database.in_data_dir(data_dir)
    try:
        store = NetworkStore(db)
        users = db.read_sync(lambda c: [r[0] for r in c.execute("SELECT id FROM users")])
        for i, user_id in enumerate(users):
            rng = random.Random(i)
            for n, ircd in enumerate(nets.servers):
                picks = rng.sample(range(args.channel_pool), args.channels)
                channels = [nets.channel(n, c) for c in picks]
                config = network_config(f"net{n}", "127.0.0.1", ircd.port, f"bc{i}x{n}", channels)
                await store.create(user_id, f"net{n}", config)
    finally:
        db.close()


async def _history(
    server: BackchannelServer,
    data_dir: Path,
    nets: Networks,
    args: argparse.Namespace,
    deadline: float,
) -> dict[str, Any]:
    """Store ``args.history`` messages in two halves; RSS after each."""
    db_path = data_dir / "backchannel.sqlite3"
    # every channel with real members, with how many Backchannel users are in it
    channels = [
        (ircd, chan.name, len(chan.members))
        for ircd in nets.servers
        for chan in ircd.channels.values()
        if chan.members
    ]
    out: dict[str, Any] = {
        "target": args.history,
        "channels_flooded": len(channels),
        "round": None if args.burst else ROUND,
    }
    start_events = _stored(db_path)
    started = time.monotonic()
    seq = 0
    members_total = sum(m for _, _, m in channels)
    members_of = {name: members for _, name, members in channels}
    round_size = float("inf") if args.burst else ROUND
    for half in ("half", "after"):
        # each line is stored once per member: spread the lines over all channels
        per_channel = max(1, -(-args.history // 2 // members_total))
        plan: list[tuple[FastIrcd, str, int]] = []
        planned = 0
        for ircd, name, members in channels:
            if planned >= args.history // 2:
                break
            plan.append((ircd, name, per_channel))
            planned += per_channel * members
        goal = _stored(db_path) + planned
        # in rounds of about ROUND events, each stored before the next is sent: this
        # measures what stays in memory, not the peak of one huge burst in flight
        round_goal = _stored(db_path)
        for i, (ircd, name, count) in enumerate(plan):
            await ircd.flood(name, count, senders=50, text="some history text", start=seq)
            seq += count
            round_goal += count * members_of[name]
            if round_goal - _stored(db_path) >= round_size or i == len(plan) - 1:
                await _until(
                    f"storing history ({half})",
                    lambda g=round_goal: _stored(db_path) >= g,
                    deadline,
                    every=0.1,
                )
        await _until(f"storing history ({half})", lambda g=goal: _stored(db_path) >= g, deadline)
        rss = await _quiet_rss(server, deadline)
        out[f"rss_{half}_mib"] = round(rss / MIB, 1)
        log(f"history {half}: {_stored(db_path) - start_events} events, RSS {rss / MIB:.1f} MiB")
    out["stored"] = _stored(db_path) - start_events
    out["store_s"] = round(time.monotonic() - started, 1)
    out["growth_second_half_mib"] = round(out["rss_after_mib"] - out["rss_half_mib"], 1)
    out["db_mib"] = round(
        sum(p.stat().st_size for p in data_dir.glob("backchannel.sqlite3*")) / MIB, 1
    )
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="10 users, 20,000 messages")
    parser.add_argument("--users", type=int)
    parser.add_argument("--networks", type=int, default=3)
    parser.add_argument("--channels", type=int, default=30, help="channels per network")
    parser.add_argument("--members", type=int, default=200, help="members per channel")
    parser.add_argument("--channel-pool", type=int, default=300, help="channels per network")
    parser.add_argument("--nick-pool", type=int, default=20_000, help="nicks per network")
    parser.add_argument("--history", type=int, help="messages to store (1,000,000; 0: none)")
    parser.add_argument(
        "--burst", action="store_true", help="send each half of the history at once, not in rounds"
    )
    parser.add_argument("--time-limit", type=float, help="seconds for the whole run")
    args = parser.parse_args()
    if args.users is None:
        args.users = 10 if args.quick else 200
    if args.history is None:
        args.history = 20_000 if args.quick else 1_000_000
    if args.time_limit is None:
        args.time_limit = 150.0 if args.quick else 1800.0
    args.networks = max(1, min(args.networks, 8))
    emit(asyncio.run(run(args)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
