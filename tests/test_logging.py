"""Logs: readable text by default, one JSON object per line with
``--log-format json``, and never what people say or their passwords at info
level (a real ``backchannel serve`` through a login, a network on ngIRCd and
messages both ways, its whole output searched)."""

from __future__ import annotations

import io
import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from backchannel.logging_setup import JsonFormatter, configure_logging
from tests.support.ircd import free_port
from tests.support.nginx import start_serve
from tests.web.transport_helpers import HttpClient, add_network, plain_in, poll_until, said


def test_json_formatter_writes_one_object_per_line() -> None:
    record = logging.LogRecord(
        "backchannel.x", logging.WARNING, __file__, 1, "two\nlines: %s", ("é",), None
    )
    line = JsonFormatter().format(record)
    assert "\n" not in line
    data = json.loads(line)
    assert data["level"] == "warning" and data["logger"] == "backchannel.x"
    assert data["message"] == "two\nlines: é"
    assert data["time"].endswith("Z")
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    data = json.loads(JsonFormatter().format(record))
    assert "ValueError: boom" in data["exception"]


def test_configure_logging_can_be_called_again(monkeypatch: pytest.MonkeyPatch) -> None:
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    err = io.StringIO()
    monkeypatch.setattr(sys, "stderr", err)
    try:
        configure_logging("info", "text")
        configure_logging("warning", "json")  # a reload: the same handler, changed
        ours = [h for h in root.handlers if h.get_name() == "backchannel"]
        assert len(ours) == 1 and root.level == logging.WARNING
        logging.getLogger("backchannel.test").info("hidden")
        logging.getLogger("backchannel.test").warning("shown")
        configure_logging("info", "text")
        logging.getLogger("backchannel.test").info("as text")
    finally:
        for handler in root.handlers[:]:
            if handler not in saved[1]:
                root.removeHandler(handler)
        root.setLevel(saved[0])
    lines = err.getvalue().splitlines()
    assert len(lines) == 2, lines
    assert json.loads(lines[0])["message"] == "shown"
    assert lines[1].endswith("INFO backchannel.test: as text")


TEXT_RECORD = re.compile(r"\d{4}-\d\d-\d\d \S+ (DEBUG|INFO|WARNING|ERROR|CRITICAL) ")
PASSWORD = "hunter2-Sesame-42"
SAID_BY_USER = "the secret word is xyzzy-from-web"
SAID_TO_USER = "psst, plugh-from-irc"


@pytest.mark.ircd
@pytest.mark.parametrize("log_format", ["text", "json"])
async def test_no_message_text_or_password_in_the_logs(
    tmp_path: Path, ngircd: Any, log_format: str
) -> None:
    config = tmp_path / "backchannel.toml"
    config.write_text(f'allowed_servers = ["{ngircd.host}:{ngircd.port}"]\npoll_timeout = 2\n')
    served = start_serve(
        tmp_path / "srv", free_port(), "--config", str(config), "--log-format", log_format
    )
    tag = log_format[:2]
    channel = f"#log{tag}"
    try:
        served.add_user("alice", PASSWORD)
        client = HttpClient(served.url)
        try:
            # a wrong password (logged as a failure) and the right one
            status, _ = await client.post(
                "/api/login", {"username": "alice", "password": PASSWORD + "x"}
            )
            assert status == 401
            status, _ = await client.post("/api/login", {"username": "alice", "password": PASSWORD})
            assert status == 200
            nid = await add_network(client, ngircd, f"weblog{tag}", channel)
            plain = await plain_in(ngircd, f"socklog{tag}", channel)
            try:
                status, body = await client.post(
                    f"/api/networks/{nid}/send", {"target": channel, "text": SAID_BY_USER}
                )
                assert status in (200, 202), body
                await plain.expect(lambda m: m.command == "PRIVMSG" and SAID_BY_USER in m.params)
                await plain.send(f"PRIVMSG {channel} :{SAID_TO_USER}")
                await plain.send(f"PRIVMSG weblog{tag} :{SAID_TO_USER} (private)")
                await poll_until(client, "0", said(channel, f"socklog{tag}"), 1)
            finally:
                await plain.close()
        finally:
            await client.session.close()
    finally:
        served.stop()
    log = served.log()
    assert "failed login to 'alice'" in log  # something was logged at info level
    for secret in (PASSWORD, SAID_BY_USER, SAID_TO_USER, "xyzzy", "plugh"):
        assert secret not in log, f"{secret!r} is in the log:\n{log}"
    lines = [line for line in log.splitlines() if line.strip()]
    if log_format == "json":
        # every log record is one JSON object a line (the banner and the setup link
        # are printed on the console, not logged)
        records = [json.loads(line) for line in lines if line.startswith("{")]
        assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
        assert not [line for line in lines if TEXT_RECORD.match(line)]
    else:
        assert any(
            TEXT_RECORD.match(line) and " INFO backchannel.web.auth: failed login" in line
            for line in lines
        )
