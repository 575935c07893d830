"""HTTPS served directly by a real ``backchannel serve`` with a self-signed
certificate made by the openssl CLI; SIGHUP rereads the certificate (a
renewed one is served without a restart), the log settings, and says which
changed settings need a restart."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.ircd import free_port
from tests.support.nginx import self_signed, start_serve

BACKCHANNEL = [sys.executable, "-m", "backchannel"]


def _unverified() -> ssl.SSLContext:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def served_fingerprint(port: int) -> str:
    """SHA-256 of the certificate the server presents to a new connection."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as sock,
        _unverified().wrap_socket(sock) as tls,
    ):
        der = tls.getpeercert(binary_form=True)
    assert der is not None
    return hashlib.sha256(der).hexdigest()


def file_fingerprint(cert: Path) -> str:
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert.read_text())).hexdigest()


def wait_for(check: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def test_https_and_a_certificate_renewed_on_sighup(tmp_path: Path) -> None:
    certs = tmp_path / "certs"
    certs.mkdir()
    old_cert, old_key = self_signed(certs, "old")
    new_cert, new_key = self_signed(certs, "new")
    cert, key = certs / "live.crt", certs / "live.key"
    os.replace(old_cert, cert)
    os.replace(old_key, key)
    old_print = file_fingerprint(cert)
    config = tmp_path / "backchannel.toml"
    config.write_text('log_level = "warning"\n')
    port = free_port()
    served = start_serve(
        tmp_path / "srv",
        port,
        "--config",
        str(config),
        "--tls-cert",
        str(cert),
        "--tls-key",
        str(key),
        tls=True,
    )
    try:
        assert served.url.startswith("https://")
        with urllib.request.urlopen(
            f"{served.url}healthz", timeout=5, context=_unverified()
        ) as resp:
            assert resp.status == 200 and json.load(resp) == {"status": "ok"}
        assert served_fingerprint(port) == old_print
        # renewed in place (as certbot does), then SIGHUP: new connections get it
        os.replace(new_cert, cert)
        os.replace(new_key, key)
        new_print = file_fingerprint(cert)
        assert new_print != old_print
        assert served_fingerprint(port) == old_print  # nothing reread yet
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: served_fingerprint(port) == new_print, "the new certificate")
        with urllib.request.urlopen(
            f"{served.url}healthz", timeout=5, context=_unverified()
        ) as resp:
            assert resp.status == 200
        assert "settings reloaded" not in served.log()  # log_level warning: no info

        # a broken certificate: the old one stays, the error is logged, it keeps serving
        cert.write_text("not a certificate\n")
        config.write_text('log_level = "info"\nlog_format = "json"\npoll_timeout = 5\n')
        served.proc.send_signal(signal.SIGHUP)
        wait_for(lambda: "settings reloaded" in served.log(), "the reload's log line")
        assert served_fingerprint(port) == new_print
        assert served.proc.poll() is None
        lines = [json.loads(line) for line in served.log().splitlines() if line.startswith("{")]
        by_message = {line["message"]: line for line in lines}
        assert by_message["SIGHUP: settings reloaded"]["level"] == "info"
        errors = [line for line in lines if line["level"] == "error"]
        assert errors and "keeping the old certificate" in errors[0]["message"]
        stale = [line for line in lines if line["level"] == "warning"]
        assert stale and "poll_timeout" in stale[0]["message"]

        # and plain HTTP is not served on the HTTPS port
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    finally:
        served.stop()
    assert served.proc.returncode == 0, served.log()


def test_unusable_certificate_stops_the_start(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path, "one")
    _other_cert, other_key = self_signed(tmp_path, "two")
    cases = [
        (["--tls-cert", str(cert)], "tls_cert and tls_key"),
        (["--tls-cert", str(tmp_path / "missing.crt"), "--tls-key", str(key)], "missing.crt"),
        (["--tls-cert", str(cert), "--tls-key", str(other_key)], "cannot use certificate"),
    ]
    for args, message in cases:
        result = subprocess.run(
            [*BACKCHANNEL, "serve", "--port", str(free_port()), "--data-dir", str(tmp_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 2, result
        assert message in result.stderr and "Traceback" not in result.stderr, result.stderr
