"""A consistent copy of a live SQLite database, written atomically to one file.

SQLite's online backup API copies every page in one step, inside one read
transaction: in WAL mode that is a consistent snapshot taken while other
connections (a running server) go on writing. The copy is switched out of WAL
mode so it is a single self-contained file, checked, fsynced, then renamed
into place (see :mod:`backchannel.atomic`): a crash leaves no half backup.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from backchannel.atomic import atomic_replace

__all__ = ["snapshot"]


def snapshot(
    source: sqlite3.Connection,
    dest: Path,
    *,
    prepare: Callable[[sqlite3.Connection], None] | None = None,
    mode: int = 0o600,
) -> None:
    """Copy ``source``'s database to ``dest`` (replaced atomically). ``prepare``
    may change the copy before it is checked and moved into place; raises
    :class:`sqlite3.DatabaseError` when the copy fails its check."""
    with atomic_replace(dest, mode) as tmp:
        copy = sqlite3.connect(tmp, isolation_level=None)
        try:
            source.backup(copy)  # pages=-1: everything in one step, one snapshot
            copy.execute("PRAGMA journal_mode = DELETE")  # one file, no -wal beside it
            if prepare is not None:
                prepare(copy)
            result = copy.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise sqlite3.DatabaseError(f"the copy of the database is damaged: {result}")
        finally:
            copy.close()
