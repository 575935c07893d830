"""Atomic file replacement (backchannel.atomic) and its users."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from backchannel.atomic import atomic_replace, write_atomic
from backchannel.irc.sts_store import StsStore
from backchannel.protocol.sts import StsPolicy


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_creates_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "file.json"
    write_atomic(target, b"first")
    assert target.read_bytes() == b"first"
    assert _mode(target) == 0o600
    inode = target.stat().st_ino
    write_atomic(target, b"second", mode=0o640)
    assert target.read_bytes() == b"second"
    assert _mode(target) == 0o640
    assert target.stat().st_ino != inode  # a new file renamed over, not rewritten in place
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.json"]


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "keep.txt"
    write_atomic(target, b"old contents")
    with pytest.raises(RuntimeError), atomic_replace(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("crash while writing")
    assert target.read_bytes() == b"old contents"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keep.txt"]


def test_readers_never_see_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "big"
    write_atomic(target, b"a" * 1_000_000)
    with atomic_replace(target) as tmp:
        tmp.write_bytes(b"b" * 10)
        # until the block ends the old contents are all there is under the name
        assert target.read_bytes() == b"a" * 1_000_000
    assert target.read_bytes() == b"b" * 10


def test_missing_directory_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "nope" / "file", b"x")


def test_sts_store_writes_through_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Path] = []
    import backchannel.irc.sts_store as sts_store

    def spy(path: Path, data: bytes, mode: int = 0o600) -> None:
        calls.append(path)
        write_atomic(path, data, mode)

    monkeypatch.setattr(sts_store, "write_atomic", spy)
    path = tmp_path / "data" / "sts.json"
    store = StsStore(path)
    store.put(StsPolicy("irc.example.org", 6697, 3600, 4600.0))
    assert calls == [path]
    assert _mode(path) == 0o600
    [saved] = json.loads(path.read_text())["policies"]
    assert saved["host"] == "irc.example.org"
    assert StsStore(path).get("IRC.example.org", 1001.0) is not None
    store.remove("irc.example.org")
    assert json.loads(path.read_text()) == {"policies": []}
    assert sorted(os.listdir(path.parent)) == ["sts.json"]
