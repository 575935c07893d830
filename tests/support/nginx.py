"""Debian's nginx as a reverse proxy in front of Backchannel, run as a plain
subprocess: no daemon, no master process, every file it writes (pid, logs,
temporary bodies) in a temporary directory, so it runs as root or not
without touching /etc or /var.

:data:`MAP_TEMPLATE` and :data:`LOCATION_TEMPLATE` are the configuration
docs/reverse-proxy.md documents (a test checks the docs quote them exactly);
the test wraps them in an ``http``/``server`` block of its own.

Also here, for the proxy, TLS and logging tests: :func:`start_serve` (a real
``backchannel serve`` process with its output in a file) and
:func:`self_signed` (a certificate made with the openssl CLI).
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LOCATION_TEMPLATE",
    "MAP_TEMPLATE",
    "Nginx",
    "Served",
    "nginx_binary",
    "render_location",
    "self_signed",
    "start_nginx",
    "start_serve",
]

# http context: a WebSocket upgrade is passed on, other requests close upstream
MAP_TEMPLATE = """\
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
"""

# server context: {base_path} is Backchannel's base_path ("/" or e.g. "/irc/"),
# {upstream} its host:port
LOCATION_TEMPLATE = """\
location {base_path} {
    proxy_pass http://{upstream};
    proxy_http_version 1.1;
    # the WebSocket (/api/ws)
    proxy_set_header Upgrade $http_upgrade;
    proxy_set_header Connection $connection_upgrade;
    # who the client is, and what it asked for (read only from trusted_proxies)
    proxy_set_header Host $http_host;
    proxy_set_header X-Forwarded-Host $http_host;
    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    proxy_set_header X-Forwarded-Proto $scheme;
    # long-poll, Server-Sent Events and WebSocket stay open for a long time
    proxy_read_timeout 3600s;
    proxy_send_timeout 3600s;
    # events go out as they happen
    proxy_buffering off;
    client_max_body_size 1m;
}
"""


def render_location(base_path: str, upstream: str) -> str:
    return LOCATION_TEMPLATE.replace("{base_path}", base_path).replace("{upstream}", upstream)


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).is_file()), None
    )


@dataclass
class Nginx:
    root: Path
    port: int
    tls_port: int | None
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        assert self.tls_port is not None
        return f"https://127.0.0.1:{self.tls_port}"

    def log(self) -> str:
        out = []
        for name in ("error.log", "access.log", "stderr.log"):
            path = self.root / name
            if path.exists():
                out.append(f"--- {name}\n{path.read_text(errors='replace')}")
        return "\n".join(out)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_nginx(
    root: Path,
    *,
    port: int,
    upstream: str,
    base_path: str = "/",
    bind: str | None = None,
    tls_port: int | None = None,
    tls_cert: Path | None = None,
    tls_key: Path | None = None,
) -> Nginx:
    """nginx on 127.0.0.1:``port`` (and HTTPS on ``tls_port`` with the given
    certificate) proxying ``base_path`` to ``upstream``; its upstream
    connections come from ``bind`` when given (``proxy_bind``)."""
    binary = nginx_binary()
    assert binary is not None, "nginx is not installed (scripts/install-test-deps)"
    root.mkdir(parents=True, exist_ok=True)
    location = render_location(base_path, upstream)
    listen = f"listen 127.0.0.1:{port};"
    if tls_port is not None:
        listen += (
            f"\n        listen 127.0.0.1:{tls_port} ssl;"
            f"\n        ssl_certificate {tls_cert};"
            f"\n        ssl_certificate_key {tls_key};"
        )
    conf = f"""\
daemon off;
master_process off;
worker_processes 1;
pid {root}/nginx.pid;
error_log {root}/error.log info;
events {{
    worker_connections 256;
}}
http {{
    access_log {root}/access.log;
    client_body_temp_path {root}/client_body;
    proxy_temp_path {root}/proxy;
    fastcgi_temp_path {root}/fastcgi;
    uwsgi_temp_path {root}/uwsgi;
    scgi_temp_path {root}/scgi;

{MAP_TEMPLATE}
    server {{
        {listen}
        server_name localhost;
        {f"proxy_bind {bind};" if bind else ""}

{location}
    }}
}}
"""
    (root / "nginx.conf").write_text(conf)
    with open(root / "stderr.log", "wb") as err:
        proc = subprocess.Popen(
            [
                binary,
                "-p",
                str(root),
                "-e",
                str(root / "error.log"),
                "-c",
                str(root / "nginx.conf"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    nginx = Nginx(root, port, tls_port, proc)
    deadline = time.monotonic() + 15
    while True:
        try:
            with urllib.request.urlopen(f"{nginx.url}/__nginx_up__", timeout=1):
                break
        except urllib.error.HTTPError:
            break  # nginx answered (whatever the upstream said)
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                nginx.stop()
                raise AssertionError(f"nginx did not start:\n{nginx.log()}") from None
            time.sleep(0.05)
    return nginx


# --- a real ``backchannel serve`` to put behind it ---------------------------------------

BACKCHANNEL = [sys.executable, "-m", "backchannel"]


@dataclass
class Served:
    """A ``backchannel serve`` process; its stdout and stderr go to ``serve.log``."""

    root: Path
    port: int
    base_path: str
    scheme: str
    proc: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        """The base URL, ending in the base path's '/'."""
        return f"{self.scheme}://127.0.0.1:{self.port}{self.base_path}"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def log(self) -> str:
        return (self.root / "serve.log").read_text(errors="replace")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def add_user(self, name: str, password: str) -> None:
        result = subprocess.run(
            [
                *BACKCHANNEL,
                "user",
                "add",
                name,
                "--password-stdin",
                "--data-dir",
                str(self.data_dir),
            ],
            input=password + "\n",
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, result


def start_serve(
    root: Path, port: int, *args: str, base_path: str = "/", tls: bool = False
) -> Served:
    """``backchannel serve --port PORT --data-dir ROOT/data ARGS...``, once
    ``/healthz`` answers (HTTPS certificates are not verified)."""
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "serve.log", "wb") as out:
        proc = subprocess.Popen(
            [*BACKCHANNEL, "serve", "--port", str(port), "--data-dir", str(root / "data"), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    served = Served(root, port, base_path, "https" if tls else "http", proc)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(
                f"{served.url}healthz", timeout=1, context=context if tls else None
            ) as resp:
                if resp.status == 200:
                    return served
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                served.stop()
                raise AssertionError(f"backchannel did not start:\n{served.log()}") from None
            time.sleep(0.05)


def self_signed(directory: Path, name: str, common_name: str = "127.0.0.1") -> tuple[Path, Path]:
    """A new self-signed certificate and key made with the openssl CLI."""
    cert, key = directory / f"{name}.crt", directory / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
            "-subj",
            f"/CN={common_name}",
            "-addext",
            f"subjectAltName=IP:{common_name}",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key
