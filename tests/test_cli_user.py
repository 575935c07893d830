"""``backchannel user ...`` run as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from backchannel.store.db import Database

BACKCHANNEL = [sys.executable, "-m", "backchannel"]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BACKCHANNEL_")}
    return {**env, **extra}


def user(
    *args: str, data_dir: Path | None, stdin: str = "", **env: str
) -> subprocess.CompletedProcess[str]:
    flags = [] if data_dir is None else ["--data-dir", str(data_dir)]
    return subprocess.run(
        [*BACKCHANNEL, "user", *args, *flags],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=_env(**env),
    )


def _rows(data_dir: Path, sql: str) -> list[tuple[object, ...]]:
    db = Database.in_data_dir(data_dir)
    try:
        return db.read_sync(lambda c: c.execute(sql).fetchall())
    finally:
        db.close()


def test_add_list_passwd_remove(tmp_path: Path) -> None:
    data = tmp_path / "data"
    added = user("add", "alice", "--password-stdin", data_dir=data, stdin="first password\n")
    assert added.returncode == 0, added.stderr
    assert "alice" in added.stdout
    [(first_hash,)] = _rows(data, "SELECT password_hash FROM users")
    assert str(first_hash).startswith("$argon2id$")

    assert (
        user("add", "bob", "--password-stdin", data_dir=data, stdin="bobs password").returncode == 0
    )
    listed = user("list", data_dir=data)
    assert listed.returncode == 0
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["alice", "bob"]

    changed = user("passwd", "ALICE", "--password-stdin", data_dir=data, stdin="second password\n")
    assert changed.returncode == 0, changed.stderr
    [(second_hash,)] = _rows(data, "SELECT password_hash FROM users WHERE name = 'alice'")
    assert second_hash != first_hash and str(second_hash).startswith("$argon2id$")

    removed = user("remove", "alice", "--yes", data_dir=data)
    assert removed.returncode == 0, removed.stderr
    assert [r[0] for r in _rows(data, "SELECT name FROM users")] == ["bob"]


def test_remove_asks_first(tmp_path: Path) -> None:
    data = tmp_path / "data"
    user("add", "alice", "--password-stdin", data_dir=data, stdin="a password\n")
    refused = user("remove", "alice", data_dir=data, stdin="n\n")
    assert refused.returncode == 1 and "Remove user alice" in refused.stdout
    no_answer = user("remove", "alice", data_dir=data, stdin="")
    assert no_answer.returncode == 1
    assert _rows(data, "SELECT name FROM users") == [("alice",)]
    agreed = user("remove", "alice", data_dir=data, stdin="y\n")
    assert agreed.returncode == 0
    assert _rows(data, "SELECT name FROM users") == []


def test_data_dir_from_the_environment(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    result = user(
        "add",
        "carol",
        "--password-stdin",
        data_dir=None,
        stdin="a password\n",
        BACKCHANNEL_DATA_DIR=str(data),
    )
    assert result.returncode == 0, result.stderr
    assert (data / "backchannel.sqlite3").exists()
    listed = user("list", data_dir=None, BACKCHANNEL_DATA_DIR=str(data))
    assert listed.stdout.startswith("carol")
    # the flag wins over the variable
    assert user("list", data_dir=tmp_path / "other", BACKCHANNEL_DATA_DIR=str(data)).stdout == (
        "no users\n"
    )


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (("add", "bad name", "--password-stdin"), "a password\n", "user name"),
        (("add", "alice", "--password-stdin"), "short\n", "8 characters"),
        (("add", "alice", "--password-stdin"), "", "no password"),
        (("add", "ALICE", "--password-stdin"), "a password\n", "exists"),
        (("passwd", "nobody", "--password-stdin"), "a password\n", "no user"),
        (("remove", "nobody", "--yes"), "", "no user"),
    ],
)
def test_errors_are_clear(tmp_path: Path, args: tuple[str, ...], stdin: str, message: str) -> None:
    data = tmp_path / "data"
    user("add", "alice", "--password-stdin", data_dir=data, stdin="a password\n")
    result = user(*args, data_dir=data, stdin=stdin)
    assert result.returncode == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_prompted_passwords_must_match(tmp_path: Path) -> None:
    # without a terminal getpass reads standard input, one line per prompt
    data = tmp_path / "data"
    differ = user("add", "alice", data_dir=data, stdin="one password\nanother one\n")
    assert differ.returncode == 1 and "differ" in differ.stderr
    same = user("add", "alice", data_dir=data, stdin="one password\none password\n")
    assert same.returncode == 0, same.stderr


def test_works_while_the_database_is_open(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db = Database.in_data_dir(data)  # as a running server holds it
    try:
        result = user("add", "alice", "--password-stdin", data_dir=data, stdin="a password\n")
        assert result.returncode == 0, result.stderr
        assert db.read_sync(lambda c: c.execute("SELECT name FROM users").fetchall()) == [
            ("alice",)
        ]
    finally:
        db.close()


def test_help(tmp_path: Path) -> None:
    result = subprocess.run(
        [*BACKCHANNEL, "user", "--help"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    for action in ("add", "passwd", "list", "remove"):
        assert action in result.stdout
    add = subprocess.run(
        [*BACKCHANNEL, "user", "add", "--help"], capture_output=True, text=True, timeout=30
    )
    assert "--password-stdin" in add.stdout and "--data-dir" in add.stdout
