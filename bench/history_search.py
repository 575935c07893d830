"""Benchmark 4: history pages, full-text search and unread counts on a big store.

Builds a real SQLite file (the project's schema, migrated by ``Database``)
holding ``--messages`` events across ``--targets`` conversations, written
fast with ``executemany`` (and the FTS index rebuilt in one pass), then
measures through :class:`EventStore` and :class:`MarkerStore`:

- the latest page (100 events) of a random conversation;
- an older page by cursor (100 events before a random cursor);
- full-text search for a rare word (a handful of hits in the whole store);
- ``MarkerStore.unread(user)`` for a user with a quarter of the store.

One command, bounded in count and time; prints one JSON object on stdout
(logs go to stderr)::

    python bench/history_search.py            # 5,000,000 messages
    python bench/history_search.py --quick    # 50,000 messages

``--db PATH`` keeps the generated store at PATH and reuses it when it is
already there (an older schema is migrated on open, and that time is shown).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import emit, machine, summary_ms

from backchannel.store.db import SCHEMA_VERSION, Database
from backchannel.store.events import EventStore
from backchannel.store.markers import MarkerStore

log = logging.getLogger("bench.history_search")

RARE_WORD = "quuxolotl"
RARE_HITS = 12  # events carrying the rare word, spread over the whole store
BUDGETS_MS = {"latest_page_p99": 5.0, "older_page_p99": 10.0, "search_rare_p50": 50.0}


def loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


# -- generating the store ---------------------------------------------------------------

_SYLLABLES = [
    "ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "qu", "do", "fi", "gu", "ha",
    "je", "bo", "cy", "wu", "xe", "an", "el", "or", "is", "um",
]  # fmt: skip


def _vocabulary(rng: random.Random, size: int) -> list[str]:
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4))))
    words.discard(RARE_WORD)
    return sorted(words)


def _texts(rng: random.Random, vocab: list[str], count: int) -> list[str]:
    """Message texts with a Zipf-like word frequency."""
    total = 0.0
    cumulative = []
    for rank in range(len(vocab)):
        total += 1.0 / (rank + 1)
        cumulative.append(total)
    texts = []
    for _ in range(count):
        n = rng.randint(3, 14)
        texts.append(" ".join(rng.choices(vocab, cum_weights=cumulative, k=n)))
    return texts


class Layout:
    """Who owns which conversations: ``users`` x ``networks`` x per-network targets."""

    def __init__(self, users: int, targets: int, networks_per_user: int = 5) -> None:
        self.users = users
        self.networks_per_user = networks_per_user
        per_network = max(1, targets // (users * networks_per_user))
        self.targets: list[tuple[int, int, str]] = []  # (user, network, name)
        for user in range(1, users + 1):
            for n in range(networks_per_user):
                network = user * 100 + n
                for t in range(per_network):
                    # one in five conversations is a query with a person
                    name = f"Nick{t}" if t % 5 == 4 else f"#Chan{t}"
                    self.targets.append((user, network, name))


def generate(path: Path, messages: int, layout: Layout, deadline: float, seed: int = 6) -> int:
    """Write ``messages`` events (fewer if ``deadline`` passes); returns how many."""
    rng = random.Random(seed)
    Database(path).close()  # creates the schema at the current version
    vocab = _vocabulary(rng, 20_000)
    texts = _texts(rng, vocab, 50_000)
    nicks = [f"user{i}" for i in range(2000)]
    rare_at = {rng.randrange(1, messages + 1) for _ in range(RARE_HITS)}
    targets = layout.targets
    # conversations are not equally busy: a few channels carry most of the traffic
    cumulative = []
    total = 0.0
    for i in range(len(targets)):
        total += 1.0 / (i % 97 + 1) ** 0.8
        cumulative.append(total)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous = OFF")
    conn.execute("PRAGMA cache_size = -1000000")  # 1 GB page cache while writing
    insert = (
        "INSERT INTO events (id, user_id, network_id, target, target_key, kind, time, nick, text, "
        "counts, highlight, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    )
    base = 1_767_225_600.0  # 2026-01-01
    chunk = 100_000
    written = 0
    while written < messages and time.monotonic() < deadline:
        n = min(chunk, messages - written)
        picks = rng.choices(range(len(targets)), cum_weights=cumulative, k=n)
        rows = []
        for i, ti in enumerate(picks, start=written + 1):
            user, network, name = targets[ti]
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(base + i * 0.5)) + ".000Z"
            nick = nicks[(i * 7919) % len(nicks)]
            if i % 10 == 0:  # joins and parts: shown, not counted, no text
                kind, text, counts, highlight = ("join" if i % 20 else "part"), "", 0, 0
                data = (
                    f'{{"kind":"{kind}","time":"{stamp}","channel":"{name}","nick":"{nick}",'
                    f'"user":"~{nick}","host":"host{i % 500}.example","self":false,'
                    f'"cursor":"{i}","network":{network},"target":"{name}"}}'
                )
            else:
                kind = "privmsg"
                text = texts[(i * 31 + ti) % len(texts)]
                if i in rare_at:
                    text = f"{text} {RARE_WORD}"
                counts, highlight = 1, int(i % 97 == 0)
                data = (
                    f'{{"kind":"privmsg","time":"{stamp}","target":"{name}","nick":"{nick}",'
                    f'"user":"~{nick}","host":"host{i % 500}.example","text":"{text}",'
                    f'"self":false,"server":false,"status":"","msgid":null,"account":null,'
                    f'"cursor":"{i}","network":{network}'
                    + (',"highlight":true}' if highlight else "}")
                )
            rows.append(
                (i, user, network, name, name.lower(), kind, stamp, nick, text, counts, highlight,
                 data)
            )  # fmt: skip
        conn.execute("BEGIN")
        conn.executemany(insert, rows)
        conn.execute("COMMIT")
        written += n
        if written % 1_000_000 < chunk:
            log.info("generated %d events", written)
    log.info("building the full-text index")
    conn.execute("INSERT INTO events_fts (events_fts) VALUES ('rebuild')")
    # read markers: most conversations read up to some point, a few never
    markers = []
    for user, network, name in targets:
        if rng.random() < 0.8:
            row = conn.execute(
                "SELECT MAX(id) FROM events WHERE user_id = ? AND network_id = ? AND "
                "target_key = ?",
                (user, network, name.lower()),
            ).fetchone()
            if row[0]:
                markers.append((user, network, name.lower(), max(0, row[0] - rng.randint(0, 2000))))
    conn.execute("BEGIN")
    conn.executemany(
        "INSERT INTO read_markers (user_id, network_id, target_key, cursor) VALUES (?, ?, ?, ?)",
        markers,
    )
    conn.execute("COMMIT")
    _rebuild_derived(conn)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.execute("ANALYZE")
    conn.close()
    conn = sqlite3.connect(path)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS bench_meta (messages INTEGER, targets INTEGER, users INTEGER)"
    )
    conn.execute("INSERT INTO bench_meta VALUES (?, ?, ?)", (written, len(targets), layout.users))
    conn.commit()
    conn.close()
    return written


def _rebuild_derived(conn: sqlite3.Connection) -> None:
    """Tables the store derives from events (newer schemas), filled in one pass."""
    import backchannel.store.markers as markers_module

    rebuild = getattr(markers_module, "rebuild_unread_counts", None)
    if rebuild is not None:
        conn.execute("BEGIN")
        rebuild(conn)
        conn.execute("COMMIT")


# -- measuring ------------------------------------------------------------------


async def measure(path: Path, samples: int, deadline: float, seed: int = 4) -> dict[str, Any]:
    rng = random.Random(seed)
    found = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    started = time.perf_counter()
    db = Database(path)  # migrates an older store: that time is part of the result
    migrate_s = time.perf_counter() - started
    events, markers = EventStore(db), MarkerStore(db)
    try:
        targets = db.read_sync(
            lambda c: c.execute(
                "SELECT DISTINCT user_id, network_id, target_key FROM events "
                "WHERE user_id = 1 AND kind = 'privmsg'"
            ).fetchall()
        )
        top = db.read_sync(lambda c: c.execute("SELECT MAX(id) FROM events").fetchone()[0])
        out: dict[str, Any] = {
            "schema_found": found,
            "schema": SCHEMA_VERSION,
            "migrate_s": round(migrate_s, 3),
        }

        def drop_cache() -> None:
            """Evict the store's files from the OS page cache (a cold start)."""
            for file in path.parent.glob(path.name + "*"):
                fd = os.open(file, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
                finally:
                    os.close(fd)

        async def timed(label: str, queries: list[Any], run: Any) -> dict[str, Any]:
            """Each query once just after the files left the page cache (cold),
            then the same queries again (warm)."""
            figures: dict[str, Any] = {}
            drop_cache()
            for phase in ("cold", "warm"):
                times: list[float] = []
                for query in queries:
                    if time.monotonic() > deadline:
                        log.warning("%s: time is up after %d samples", label, len(times))
                        break
                    t0 = time.perf_counter()
                    await run(query)
                    times.append(time.perf_counter() - t0)
                if not times:
                    raise TimeoutError(f"{label}: no time left to measure")
                figures[phase] = summary_ms(times)
            return figures

        async def latest(query: tuple[int, int, str]) -> Any:
            return await events.history(*query, limit=100)

        async def older(query: tuple[tuple[int, int, str], int]) -> Any:
            target, before = query
            return await events.history(*target, before=before, limit=100)

        hits: list[int] = []

        async def search(query: str) -> Any:
            found = await events.search(1, query)
            hits.append(len(found))
            return found

        async def unread(query: int) -> Any:
            return await markers.unread(query)

        await events.history(*targets[0], limit=1)  # start the reader threads
        pages = [rng.choice(targets) for _ in range(samples)]
        out["latest_page_ms"] = await timed("latest_page", pages, latest)
        cursors = [(rng.choice(targets), rng.randint(top // 2, top)) for _ in range(samples)]
        out["older_page_ms"] = await timed("older_page", cursors, older)
        out["search_rare_ms"] = await timed("search_rare", [RARE_WORD] * (samples // 5), search)
        out["search_rare_hits"] = hits[-1] if hits else 0
        out["unread_ms"] = await timed("unread", [1] * max(5, samples // 20), unread)
        counts = await markers.unread(1)
        out["unread_targets"] = len(counts)
        out["unread_events"] = sum(u.unread for u in counts)
        out["user_events"] = db.read_sync(
            lambda c: c.execute("SELECT COUNT(*) FROM events WHERE user_id = 1").fetchone()[0]
        )
        out["user_targets"] = len(targets)
        return out
    finally:
        db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="50,000 messages, fewer samples")
    parser.add_argument("--messages", type=int, help="events to store (default 5,000,000)")
    parser.add_argument("--targets", type=int, default=2000, help="conversations (2000)")
    parser.add_argument("--users", type=int, default=4, help="users owning them (4)")
    parser.add_argument("--samples", type=int, help="timed queries per measure (500)")
    parser.add_argument("--db", type=Path, help="keep the store here (reused when present)")
    parser.add_argument("--time-limit", type=float, help="seconds for the whole run")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    messages = args.messages or (50_000 if args.quick else 5_000_000)
    samples = args.samples or (100 if args.quick else 500)
    limit = args.time_limit or (120.0 if args.quick else 1500.0)
    deadline = time.monotonic() + limit
    layout = Layout(args.users, args.targets)
    tmp: str | None = None
    if args.db is not None:
        path = args.db
    else:
        tmp = tempfile.mkdtemp(prefix="bench-history-")
        path = Path(tmp) / "backchannel.sqlite3"
    result: dict[str, Any] = {
        "benchmark": "history_search",
        "quick": args.quick,
        "machine": machine(),
        "load_before": loadavg(),
    }
    try:
        generated = 0.0
        if path.exists():
            conn = sqlite3.connect(path)
            stored, ntargets, nusers = conn.execute("SELECT * FROM bench_meta").fetchone()
            conn.close()
            log.info("reusing %s (%d events)", path, stored)
        else:
            started = time.perf_counter()
            stored = generate(path, messages, layout, deadline)
            generated = time.perf_counter() - started
            ntargets, nusers = len(layout.targets), layout.users
        result.update(
            messages=stored,
            targets=ntargets,
            users=nusers,
            generate_s=round(generated, 1),
        )
        result.update(asyncio.run(measure(path, samples, deadline)))
        result["db_mib"] = round(
            sum(p.stat().st_size for p in path.parent.glob(path.name + "*")) / 2**20, 1
        )
        result["budgets_ms"] = BUDGETS_MS
        result["met"] = {
            f"{name}_{phase}": result[f"{name}_ms"][phase][f"{pct}_ms"]
            <= BUDGETS_MS[f"{name}_{pct}"]
            for name, pct in (("latest_page", "p99"), ("older_page", "p99"), ("search_rare", "p50"))
            for phase in ("cold", "warm")
        }
        result["load_after"] = loadavg()
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
    emit(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
