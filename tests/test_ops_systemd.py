"""contrib/backchannel.service: the keys a safe service needs (and, where
systemd-analyze exists, what systemd itself says of the unit)."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "contrib" / "backchannel.service"

EXPECTED = {
    "User": "backchannel",
    "ExecStart": (
        "/opt/backchannel/bin/backchannel serve --config /etc/backchannel/backchannel.toml"
    ),
    "StateDirectory": "backchannel",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "NoNewPrivileges": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectControlGroups": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "RestrictNamespaces": "yes",
    "LockPersonality": "yes",
    "MemoryDenyWriteExecute": "yes",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "KillSignal": "SIGTERM",
    "TimeoutStopSec": "20",
    "ExecReload": "/bin/kill -HUP $MAINPID",
    "Restart": "on-failure",
    "Environment": "BACKCHANNEL_DATA_DIR=/var/lib/backchannel",
}


def _unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True, delimiters=("=",))
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text(encoding="utf-8"))
    return parser


def test_unit_parses_and_has_the_keys() -> None:
    unit = _unit()
    assert unit.sections() == ["Unit", "Service", "Install"]
    service = unit["Service"]
    for key, value in EXPECTED.items():
        assert key in service, key
        assert service[key] == value, key
    assert unit["Install"]["WantedBy"] == "multi-user.target"
    assert "network-online.target" in unit["Unit"]["After"]


def test_the_server_answers_sighup_as_the_unit_expects() -> None:
    """ExecReload sends SIGHUP: serve must handle it, or a reload would kill it."""
    cli = Path(__file__).resolve().parents[1] / "src" / "backchannel" / "cli.py"
    assert "SIGHUP" in cli.read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_analyze_verify(tmp_path: Path) -> None:
    # verify checks that ExecStart's program exists: point it at one that does
    text = UNIT.read_text(encoding="utf-8").replace(
        "/opt/backchannel/bin/backchannel", sys.executable
    )
    unit = tmp_path / "backchannel.service"
    unit.write_text(text, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(unit)], capture_output=True, text=True, timeout=60
    )
    problems = [
        line
        for line in (result.stdout + result.stderr).splitlines()
        if "backchannel.service" in line
    ]
    assert result.returncode == 0 and not problems, result.stdout + result.stderr
