"""Atomic file replacement: a reader (or a crash) sees the old file or the new
one, never a half-written one.

The data goes to a temporary file in the destination's directory (so the
rename stays on one file system), which is fsynced, renamed over the
destination, and then the directory is fsynced so the rename itself survives
a power cut. Used for every file Backchannel rewrites: STS policies, backups.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["atomic_replace", "fsync_dir", "fsync_file", "write_atomic"]


def fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(directory: Path) -> None:
    """Make a rename or a new file in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def atomic_replace(path: Path, mode: int = 0o600) -> Iterator[Path]:
    """Yield a temporary path next to ``path`` to write; when the block ends
    without an exception it is fsynced and renamed over ``path`` (else removed)."""
    path = Path(path)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    tmp = Path(name)
    try:
        os.fchmod(fd, mode)
        os.close(fd)
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


def write_atomic(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Replace ``path`` with ``data`` atomically and durably (file mode ``mode``)."""
    with atomic_replace(path, mode) as tmp, open(tmp, "wb") as fh:
        fh.write(data)
