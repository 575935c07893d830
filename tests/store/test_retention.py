"""Retention limits by age and by count, on a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from backchannel.store.db import Database
from backchannel.store.events import EventStore, NewEvent
from backchannel.store.retention import RetentionPolicy, prune


def _event(user: int, day: int, text: str) -> NewEvent:
    when = f"2026-01-{day:02d}T12:00:00.000Z"
    return NewEvent(user, 1, "#a", "#a", "privmsg", when, "n", text,
                    {"kind": "privmsg", "time": when, "text": text})


async def test_nothing_is_pruned_by_default(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    await store.append([_event(1, 1, "old")])
    assert await prune(db, RetentionPolicy()) == 0
    assert len(await store.after(1, 0)) == 1
    db.close()


async def test_age_and_count_limits_remove_the_oldest_with_their_index(tmp_path: Path) -> None:
    db = Database(tmp_path / "bc.sqlite3")
    store = EventStore(db)
    stored = await store.append(
        [_event(1, day, f"user1 word{day}") for day in range(1, 11)]
        + [_event(2, day, f"user2 word{day}") for day in range(1, 4)]
    )
    now = datetime(2026, 1, 11, tzinfo=UTC)
    removed = await prune(db, RetentionPolicy(max_age_days=5), now=now)
    assert removed == 5 + 3  # days 1-5 of user 1, all of user 2 (days 1-3)
    left = [e.to_dict()["text"] for e in await store.after(1, 0)]
    assert left == [f"user1 word{day}" for day in range(6, 11)]
    assert await store.search(1, "word3") == []  # the index forgot them too
    assert [e.to_dict()["text"] for e in await store.search(1, "word7")] == ["user1 word7"]
    assert await prune(db, RetentionPolicy(max_events=2), now=now) == 3
    assert [e.to_dict()["text"] for e in await store.after(1, 0)] == [
        "user1 word9", "user1 word10"
    ]
    # cursors keep growing after a prune
    newer = await store.append([_event(1, 11, "after")])
    assert newer[0].cursor > stored[-1].cursor
    db.close()
