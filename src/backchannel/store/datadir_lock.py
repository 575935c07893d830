"""Who owns a data dir: ``serve`` holds an exclusive ``flock`` on
``DATA_DIR/serve.lock`` for as long as it runs, and ``restore`` for as long as
it replaces the database; ``doctor`` only probes it.

The kernel drops the lock when the process ends, however it ends (SIGKILL
included), so a stale lock file never blocks anything. The file holds the
holder's pid and what it does, for messages only.
"""

from __future__ import annotations

import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

__all__ = ["LOCK_NAME", "DataDirBusy", "DataDirLock", "lock_holder"]

LOCK_NAME = "serve.lock"


@dataclass(frozen=True, slots=True)
class Holder:
    pid: int | None
    purpose: str

    def __str__(self) -> str:
        pid = "unknown pid" if self.pid is None else f"pid {self.pid}"
        return f"backchannel {self.purpose} ({pid})"


class DataDirBusy(Exception):
    """Another process holds the data dir's lock."""

    def __init__(self, data_dir: Path, holder: Holder) -> None:
        super().__init__(f"{holder} is using the data dir {data_dir}")
        self.data_dir = data_dir
        self.holder = holder


def _read_holder(fd: int) -> Holder:
    try:
        text = os.pread(fd, 200, 0).decode("utf-8", "replace").split()
    except OSError:
        text = []
    pid = int(text[0]) if text and text[0].isdigit() else None
    return Holder(pid, text[1] if len(text) > 1 else "serve")


class DataDirLock:
    """An exclusive lock on a data dir, held until :meth:`release` (or exit)."""

    def __init__(self, fd: int, path: Path) -> None:
        self._fd: int | None = fd
        self.path = path

    @classmethod
    def acquire(cls, data_dir: Path, purpose: str) -> DataDirLock:
        """Take the lock without waiting (creating the data dir, private, if
        needed); raises :class:`DataDirBusy` when another process holds it."""
        data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = data_dir / LOCK_NAME
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            raise DataDirBusy(data_dir, holder) from None
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()} {purpose}\n".encode(), 0)
        return cls(fd, path)

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the last descriptor drops the flock

    def __enter__(self) -> DataDirLock:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def lock_holder(data_dir: Path) -> Holder | None:
    """Who holds ``data_dir``'s lock now, or None (probes; never creates anything)."""
    try:
        fd = os.open(data_dir / LOCK_NAME, os.O_RDONLY)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return _read_holder(fd)
    finally:
        os.close(fd)
    return None
