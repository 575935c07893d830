"""``backchannel doctor`` on good and broken data dirs (without a server; with
one, see test_ops_serve.py)."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from backchannel.store.db import SCHEMA_VERSION, Database
from tests.support.ircd import free_port

BACKCHANNEL = [sys.executable, "-m", "backchannel"]


def doctor(data_dir: Path, *extra: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
    clean.setdefault("BACKCHANNEL_PORT", str(free_port()))
    return subprocess.run(
        [*BACKCHANNEL, "doctor", "--data-dir", str(data_dir), *extra],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **env},
    )


def lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """``what`` → the whole line, for every check printed."""
    out = {}
    for line in result.stdout.splitlines():
        status, rest = line.split(" ", 1)
        assert status in {"OK", "WARN", "FAIL"}, line
        out[rest.strip().split(": ", 1)[0]] = line
    return out


def good_data_dir(path: Path) -> Path:
    Database.in_data_dir(path).close()
    return path


def test_a_good_data_dir(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    config = tmp_path / "backchannel.toml"
    config.write_text('allowed_servers = ["127.0.0.1:6667", "localhost"]\n')
    result = doctor(data, "--config", str(config))
    assert result.returncode == 0, result.stdout + result.stderr
    checks = lines(result)
    for what in ("data dir", "server", "database", "integrity", "schema", "disk space",
                 "listen address", "python", "sqlite", "dependencies"):  # fmt: skip
        assert checks[what].startswith("OK "), checks[what]
    assert f"version {SCHEMA_VERSION} (current)" in checks["schema"]
    assert "is free" in checks["listen address"]
    assert "not running" in checks["server"]
    server = checks["server 127.0.0.1:6667"]
    assert server.startswith("OK ") and "private address" in server
    assert "aiohttp" in checks["dependencies"]
    assert "FAIL" not in result.stdout


def test_a_corrupt_database_fails(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    (data / "backchannel.sqlite3").write_bytes(b"garbage" * 1000)
    os.chmod(data / "backchannel.sqlite3", 0o600)
    result = doctor(data)
    assert result.returncode == 1
    line = lines(result)["database"]
    assert line.startswith("FAIL ") and "fix: restore the latest backup" in line


def test_damaged_pages_fail_the_integrity_check(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    db = Database.in_data_dir(data)
    for i in range(400):
        db.write_sync(lambda c, i=i: c.execute(
            "INSERT INTO users (name, password_hash, created_at) VALUES (?, 'x', 0)",
            (f"user{i}",),
        ))  # fmt: skip
    db.close()
    path = data / "backchannel.sqlite3"
    raw = bytearray(path.read_bytes())
    for offset in range(4 * 4096, len(raw), 4096):
        raw[offset + 8 : offset + 24] = b"\x7f" * 16
    path.write_bytes(bytes(raw))
    result = doctor(data)
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and all("fix: restore" in line for line in failed), result.stdout


def test_a_newer_schema_fails_and_an_older_one_warns(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    conn = sqlite3.connect(data / "backchannel.sqlite3")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    result = doctor(data)
    assert result.returncode == 1
    assert "newer than this Backchannel" in lines(result)["schema"]
    assert "fix: install the newer Backchannel" in lines(result)["schema"]

    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION - 1}")
    conn.commit()
    conn.close()
    result = doctor(data)
    assert result.returncode == 0, result.stdout
    schema = lines(result)["schema"]
    assert schema.startswith("WARN ") and "migration to" in schema and ".bak" in schema


def test_open_permissions_warn(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    os.chmod(data, 0o755)
    result = doctor(data)
    assert result.returncode == 0
    assert lines(result)["data dir"].startswith("WARN ")
    assert f"fix: chmod 700 {data}" in lines(result)["data dir"]


def test_a_missing_data_dir_warns(tmp_path: Path) -> None:
    result = doctor(tmp_path / "nowhere")
    assert result.returncode == 0
    assert lines(result)["data dir"].startswith("WARN ")
    assert "does not exist yet" in result.stdout
    assert not (tmp_path / "nowhere").exists()  # doctor changes nothing


def test_a_port_held_by_another_program_fails(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = other.getsockname()[1]
        result = doctor(data, BACKCHANNEL_PORT=str(port))
    assert result.returncode == 1
    line = lines(result)["listen address"]
    assert line.startswith("FAIL ") and "in use by another program" in line and "fix:" in line


def test_an_unresolvable_server_warns(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    result = doctor(data, BACKCHANNEL_ALLOWED_SERVERS="no-such-host.invalid:6697")
    line = lines(result)["server no-such-host.invalid:6697"]
    assert line.startswith("WARN ") and "does not resolve" in line


def test_a_bad_config_fails(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("port = 'not a number'\n")
    result = doctor(tmp_path, "--config", str(config))
    assert result.returncode == 1
    assert result.stdout.startswith("FAIL config:")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_data_dir_fails(tmp_path: Path) -> None:
    data = good_data_dir(tmp_path / "data")
    os.chmod(data, 0o500)
    try:
        result = doctor(data)
    finally:
        os.chmod(data, 0o700)
    assert result.returncode == 1
    assert "not writable" in lines(result)["data dir"]
