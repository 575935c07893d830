"""Stored bytes per user (``max_stored_bytes``): counted as events are stored
and deleted, and the oldest trimmed past the limit, on a real SQLite file."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent
from backchannel.store.retention import RetentionPolicy, prune


def _event(user: int, n: int, size: int = 100) -> NewEvent:
    when = f"2026-01-01T12:00:{n % 60:02d}.000Z"
    text = f"word{n} " + "x" * size
    return NewEvent(user, 1, "#a", "#a", "privmsg", when, "n", text,
                    {"kind": "privmsg", "time": when, "text": text}, counts=True)


def _scan(path: Path, user: int) -> int:
    """What the counter should say, the slow way."""
    with sqlite3.connect(path) as conn:
        row = conn.execute(
            "SELECT COALESCE(SUM(length(CAST(data AS BLOB))), 0) FROM events WHERE user_id = ?",
            (user,),
        ).fetchone()
    return int(row[0])


async def test_usage_follows_stores_and_deletions(tmp_path: Path) -> None:
    path = tmp_path / "bc.sqlite3"
    db = Database(path)
    store = EventStore(db)
    stored = await store.append([_event(1, n) for n in range(50)] + [_event(2, 0, 10)])
    assert await store.usage(1) == _scan(path, 1) > 50 * 100
    assert await store.usage(1) == sum(len(e.data_json.encode()) for e in stored[:50])
    await prune(db, RetentionPolicy(max_events=10))
    assert await store.usage(1) == _scan(path, 1)
    assert await store.usage(2) == _scan(path, 2) > 0
    await store.delete_user(2)
    assert await store.usage(2) == 0
    db.close()


async def test_past_the_limit_the_oldest_events_go_and_the_newest_stay(tmp_path: Path) -> None:
    path = tmp_path / "bc.sqlite3"
    db = Database(path)
    limit = 20_000
    store = EventStore(db, max_bytes_per_user=limit)
    for batch in range(10):
        await store.append([_event(1, batch * 50 + n) for n in range(50)])
        await store.append([_event(2, batch)])  # a small user is left alone
        assert await store.usage(1) <= limit
    assert await store.usage(1) == _scan(path, 1)
    kept = [e.to_dict()["text"].split()[0] for e in await store.after(1, 0)]
    assert kept[-1] == "word499"  # the newest is always kept, in order, without gaps
    first = int(kept[0].removeprefix("word"))
    assert kept == [f"word{n}" for n in range(first, 500)]
    assert first > 0 and store.trimmed == first
    assert await store.search(1, "word0") == []  # the search index forgot them too
    assert len(await store.after(2, 0)) == 10
    with sqlite3.connect(path) as conn:  # unread counts followed the deletions
        unread = conn.execute(
            "SELECT unread FROM unread_counts WHERE user_id = 1"
        ).fetchone()[0]
    assert unread == len(kept)
    db.close()


async def test_no_limit_keeps_everything(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    await store.append([_event(1, n, 1000) for n in range(100)])
    assert len(await store.after(1, 0)) == 100
    assert store.trimmed == 0
    db.close()
