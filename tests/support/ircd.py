"""Real, packaged IRC servers (inspircd, atheme-services, ngircd) run on loopback for tests.

Each server runs as a subprocess in its own temporary directory with a generated config.
``start()`` returns only once the process is alive, owns its listening ports (checked in
``/proc``: inspircd merely warns when a port is taken, so a probe could otherwise reach a
foreign process) and a plain TCP client has registered on it. ``stop()`` signals only the
PID it started (SIGTERM, wait, SIGKILL) and removes the temporary directory.

See /work/shared/IRC-SERVERS.md for the facts these configs rely on.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import hashlib
import os
import resource
import shutil
import signal
import socket
import ssl
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Self

__all__ = [
    "Atheme",
    "IRCServerError",
    "InspIRCd",
    "NgIRCd",
    "ServerBinaryMissing",
    "free_port",
    "free_ports",
]

HOST = "127.0.0.1"
INSTALL_HINT = (
    "Install the real IRC servers the tests need with `scripts/install-test-deps` "
    "(or as root: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
    "--no-install-recommends inspircd ngircd atheme-services openssl)."
)
_SBIN_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/local/sbin", "/usr/sbin", "/sbin"])


class IRCServerError(RuntimeError):
    """A server did not start or did not become ready."""


class ServerBinaryMissing(IRCServerError):
    """The server's executable is not installed."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports (all held open together, so never the same twice)."""
    socks: list[socket.socket] = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((HOST, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def find_binary(name: str) -> str:
    path = shutil.which(name, path=_SBIN_PATH)
    if path is None:
        raise ServerBinaryMissing(f"`{name}` is not installed. {INSTALL_HINT}")
    return path


def _no_core_dumps() -> None:  # runs in the child between fork and exec
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _load_prctl() -> Callable[..., int] | None:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None


_PRCTL = _load_prctl()  # resolved in the parent: nothing is imported after fork
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Best effort (Linux): SIGTERM the child if the test runner dies without teardown.

    Only used when started from the main thread (the signal fires when the forking *thread*
    exits); a server that changes its uid (ngircd as root) loses it, as the kernel clears it.
    """
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, int(signal.SIGTERM))


def _listening_inodes(port: int) -> set[str] | None:
    """Inodes of sockets listening on 127.0.0.1:port or 0.0.0.0:port (None without /proc)."""
    try:
        text = Path("/proc/net/tcp").read_text()
    except OSError:
        return None
    wanted = {f"0100007F:{port:04X}", f"00000000:{port:04X}"}
    inodes = set()
    for row in text.splitlines()[1:]:
        fields = row.split()
        if len(fields) > 9 and fields[1] in wanted and fields[3] == "0A":  # 0A = LISTEN
            inodes.add(fields[9])
    return inodes


def _port_owner(pid: int, port: int) -> str:
    """Who listens on 127.0.0.1:``port``: "ours" (process ``pid``), "foreign" or "none"."""
    inodes = _listening_inodes(port)
    if inodes is None:  # no /proc: fall back to "something answers on the port"
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1):
            return "ours"
        return "none"
    if not inodes:
        return "none"
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return "none"  # not readable yet (or the process is gone: the caller checks)
    for fd in fds:
        with contextlib.suppress(OSError):
            link = os.readlink(fd)
            if link.startswith("socket:[") and link[8:-1] in inodes:
                return "ours"
    # Without SO_REUSEPORT only one socket can listen on the port: it is not ours and
    # cannot become ours, so the server lost the race for the port (inspircd only warns).
    return "foreign"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        content = path.read_text(errors="replace").splitlines()
    except OSError:
        return "(no log)"
    return "\n".join(content[-lines:]) or "(empty log)"


def probe_register(
    host: str,
    port: int,
    nick: str,
    *,
    expect_server: str | None = None,
    timeout: float = 15.0,
) -> str:
    """Register ``nick`` with a blocking socket client, return the 001 line and quit.

    With ``expect_server``, the 001 must come from that server name (proves we reached the
    server we started, not some other process on the port).
    """
    deadline = time.monotonic() + timeout
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :probe\r\n".encode())
        buf = b""
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise IRCServerError(f"no 001 from {host}:{port} within {timeout:.0f} s")
            sock.settimeout(remaining)
            chunk = sock.recv(4096)
            if not chunk:
                raise IRCServerError(f"{host}:{port} closed the connection: {buf!r}")
            buf += chunk
            while b"\n" in buf:
                raw, buf = buf.split(b"\n", 1)
                line = raw.rstrip(b"\r").decode(errors="replace")
                parts = line.split(" ")
                if parts[0] == "PING":
                    sock.sendall(("PONG " + " ".join(parts[1:]) + "\r\n").encode())
                elif len(parts) > 1 and parts[1] == "001":
                    if expect_server is not None and parts[0] != f":{expect_server}":
                        raise IRCServerError(
                            f"{host}:{port} is answered by {parts[0]!r}, not {expect_server!r}"
                        )
                    with contextlib.suppress(OSError):
                        sock.sendall(b"QUIT :probe done\r\n")
                    return line
                elif len(parts) > 1 and parts[0] == "ERROR":
                    raise IRCServerError(f"{host}:{port} refused the probe: {line}")


class _Daemon:
    """A server subprocess in its own temp dir: start by config, stop by PID."""

    binary_name = ""
    label = ""

    def __init__(self, *, startup_timeout: float = 20.0) -> None:
        self.host = HOST
        self.startup_timeout = startup_timeout
        self.workdir: Path | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.binary = ""
        self._main_thread_start = False

    # -- subclass hooks ---------------------------------------------------------------
    def _prepare(self, workdir: Path) -> None:
        """Choose ports and write the config into ``workdir``."""
        raise NotImplementedError

    def _command(self, workdir: Path) -> list[str]:
        raise NotImplementedError

    def _ports(self) -> list[int]:
        """Ports the process must be listening on before it counts as started."""
        return []

    def _ready(self) -> None:
        """Further readiness checks once the ports are listening (e.g. a registration)."""

    def _log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "output.log"

    def _preexec(self) -> None:
        _no_core_dumps()
        if self._main_thread_start:
            _die_with_parent()

    # -- lifecycle --------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def start(self, attempts: int = 3) -> Self:
        """Start the server; retries with fresh ports if a port was taken meanwhile."""
        self.binary = find_binary(self.binary_name)
        last_error: IRCServerError | None = None
        for _ in range(attempts):
            try:
                self._start_once()
                return self
            except ServerBinaryMissing:
                self.stop()
                raise
            except IRCServerError as exc:
                last_error = exc
                self.stop()
        assert last_error is not None
        raise last_error

    def _start_once(self) -> None:
        self._main_thread_start = threading.current_thread() is threading.main_thread()
        self.workdir = Path(tempfile.mkdtemp(prefix=f"backchannel-{self.binary_name}-"))
        self.workdir.chmod(0o755)  # ngircd drops to `nobody` when started as root
        self._prepare(self.workdir)
        output = self._log_path().parent / "output.log"
        with output.open("ab") as out:
            self.proc = subprocess.Popen(
                self._command(self.workdir),
                cwd=self.workdir,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                preexec_fn=self._preexec,
            )
        deadline = time.monotonic() + self.startup_timeout
        pending = list(self._ports())
        while pending:
            if not self.alive():
                raise self._error(f"exited with status {self.proc.returncode} during start-up")
            assert self.proc is not None
            owners = {p: _port_owner(self.proc.pid, p) for p in pending}
            taken = [p for p, owner in owners.items() if owner == "foreign"]
            if taken:
                raise self._error(f"cannot listen on port(s) {taken}: taken by another process")
            pending = [p for p, owner in owners.items() if owner != "ours"]
            if not pending:
                break
            if time.monotonic() > deadline:
                raise self._error(f"is not listening on port(s) {pending} (taken?)")
            time.sleep(0.05)
        self._ready()
        if not self.alive():
            raise self._error("died right after start-up")

    def _error(self, what: str) -> IRCServerError:
        log = self._log_path()
        output = log.parent / "output.log"
        details = f"--- {log.name} ---\n{_tail(log)}"
        if output != log:
            details += f"\n--- output.log ---\n{_tail(output)}"
        return IRCServerError(f"{self.label} (pid {self.pid}) {what}\n{details}")

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM the PID we started, wait, then SIGKILL; remove the temp dir."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait(timeout)
        if self.workdir is not None and not os.environ.get("BACKCHANNEL_KEEP_IRCD_DIRS"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


class Atheme(_Daemon):
    """atheme-services linked to an inspircd as ``services.test.local`` (SASL accounts)."""

    binary_name = "atheme-services"
    label = "atheme-services"

    def __init__(
        self,
        *,
        uplink_name: str,
        link_port: int,
        link_password: str,
        name: str = "services.test.local",
        network: str = "TestNet",
        startup_timeout: float = 30.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.uplink_name = uplink_name
        self.link_port = link_port
        self.link_password = link_password
        self.name = name
        self.network = network

    def _log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "atheme.log"

    def _prepare(self, workdir: Path) -> None:
        (workdir / "data").mkdir()
        modules = [
            "protocol/inspircd",
            "backend/opensex",
            "crypto/pbkdf2v2",
            "nickserv/main",
            "nickserv/register",
            "nickserv/identify",
            "nickserv/cert",
            "saslserv/main",
            "saslserv/plain",
            "saslserv/external",
        ]
        loads = "\n".join(f'loadmodule "modules/{m}";' for m in modules)
        (workdir / "atheme.conf").write_text(
            f"""{loads}
serverinfo {{
    name = "{self.name}";
    desc = "Test services";
    numeric = "00A";
    recontime = 1;
    netname = "{self.network}";
    hidehostsuffix = "users.test";
    adminname = "t";
    adminemail = "t@localhost";
    registeremail = "noreply@localhost";
    loglevel = {{ error; info; admin; network; register; }};
    maxlogins = 10;
    maxusers = 1000;
    auth = none;
    casemapping = rfc1459;
}};
uplink "{self.uplink_name}" {{
    host = "127.0.0.1";
    port = {self.link_port};
    send_password = "{self.link_password}";
    receive_password = "{self.link_password}";
}};
nickserv {{
    nick = "NickServ";
    user = "NickServ";
    host = "services.test";
    real = "Nickname Services";
}};
saslserv {{
    nick = "SaslServ";
    user = "SaslServ";
    host = "services.test";
    real = "SASL Authentication Agent";
}};
general {{
    commit_interval = 5;
    maxlogins = 10;
    flood_msgs = 1000;
    flood_time = 1;
    ratelimit_uses = 1000;
    ratelimit_period = 1;
}};
"""
        )

    def _command(self, workdir: Path) -> list[str]:
        return [
            *(self.binary, "-n", "-c", str(workdir / "atheme.conf")),
            *("-D", str(workdir / "data"), "-l", str(workdir / "atheme.log")),
            *("-p", str(workdir / "atheme.pid")),
        ]

    def _ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while "finished synching with uplink" not in self._log_text():
            if not self.alive():
                raise self._error("exited before synching with its uplink")
            if time.monotonic() > deadline:
                raise self._error("did not finish synching with its uplink")
            time.sleep(0.05)

    def _log_text(self) -> str:
        try:
            return self._log_path().read_text(errors="replace")
        except OSError:
            return ""


class InspIRCd(_Daemon):
    """InspIRCd 3 with the IRCv3 modules, a plain and a TLS port, optionally atheme.

    Attributes once started: ``host``, ``port``, ``tls_port`` (None with ``tls=False``),
    ``cert_path``/``key_path`` (self-signed, CN=localhost, SAN DNS:localhost,IP:127.0.0.1),
    ``cert_sha256`` (hex SHA-256 of the DER certificate), ``server_name``, ``network``,
    ``services`` (the :class:`Atheme` instance or None), ``log_path``.
    """

    binary_name = "inspircd"
    label = "inspircd"

    MODULES = (
        "cap",
        "ircv3",
        "ircv3_accounttag",
        "ircv3_batch",
        "ircv3_capnotify",
        "ircv3_chghost",
        "ircv3_ctctags",
        "ircv3_echomessage",
        "ircv3_invitenotify",
        "ircv3_labeledresponse",
        "ircv3_msgid",
        "ircv3_servertime",
        "monitor",
        "namesx",
        "uhnames",
        "setname",
        "chanhistory",
        "services_account",
    )

    def __init__(
        self,
        *,
        tls: bool = True,
        with_services: bool = False,
        server_name: str = "irc.test.local",
        network: str = "TestNet",
        startup_timeout: float = 20.0,
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.tls = tls
        self.with_services = with_services
        self.server_name = server_name
        self.network = network
        self.port = 0
        self.tls_port: int | None = None
        self.link_port: int | None = None
        self.link_password = "linkpass"
        self.cert_path: Path | None = None
        self.key_path: Path | None = None
        self.cert_sha256: str | None = None
        self.services: Atheme | None = None

    @property
    def log_path(self) -> Path:
        return self._log_path()

    def _log_path(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "inspircd.log"

    def _ports(self) -> list[int]:
        return [p for p in (self.port, self.tls_port, self.link_port) if p]

    def start(self, attempts: int = 3) -> Self:
        if self.with_services:
            find_binary(Atheme.binary_name)  # fail early and clearly
        return super().start(attempts)

    def _prepare(self, workdir: Path) -> None:
        ports = free_ports(3)
        self.port = ports[0]
        self.tls_port = ports[1] if self.tls else None
        self.link_port = ports[2] if self.with_services else None
        conf = [
            f'<server name="{self.server_name}" description="test" network="{self.network}"'
            ' id="42X">',
            '<admin name="t" nick="t" email="t@localhost">',
            f'<bind address="{self.host}" port="{self.port}" type="clients">',
            '<connect allow="*" resolvehostnames="no" useident="no" timeout="20"'
            ' pingfreq="120" recvq="16384" softsendq="65536" hardsendq="1048576"'
            ' localmax="1000" globalmax="1000" threshold="1000" commandrate="100000"'
            ' fakelag="no">',
            f'<pid file="{workdir / "inspircd.pid"}">',
            f'<log method="file" type="* -USERINPUT -USEROUTPUT" level="default"'
            f' target="{workdir / "inspircd.log"}">',
            '<options casemapping="rfc1459">',
        ]
        conf += [f'<module name="{m}">' for m in self.MODULES]
        if self.tls:
            self.cert_path, self.key_path = workdir / "cert.pem", workdir / "key.pem"
            self._make_certificate(self.cert_path, self.key_path)
            conf += [
                '<module name="ssl_gnutls">',
                f'<sslprofile name="t" provider="gnutls" certfile="{self.cert_path}"'
                f' keyfile="{self.key_path}" hash="sha256">',
                f'<bind address="{self.host}" port="{self.tls_port}" type="clients"'
                ' sslprofile="t">',
            ]
        if self.with_services:
            conf += [
                '<module name="spanningtree">',
                '<module name="sasl">',
                '<sasl target="services.test.local" requiressl="no">',
                f'<bind address="{self.host}" port="{self.link_port}" type="servers">',
                f'<link name="services.test.local" ipaddr="127.0.0.1" port="{self.link_port}"'
                ' allowmask="127.0.0.0/8" sendpass="{0}" recvpass="{0}" timeout="10">'.replace(
                    "{0}", self.link_password
                ),
                '<uline server="services.test.local" silent="yes">',
            ]
        (workdir / "inspircd.conf").write_text("\n".join(conf) + "\n")

    @staticmethod
    def _make_certificate(cert: Path, key: Path) -> None:
        openssl = shutil.which("openssl")
        if openssl is None:
            raise ServerBinaryMissing(f"`openssl` is not installed. {INSTALL_HINT}")
        args = [
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "3650",
            "-subj",
            "/CN=localhost",
        ]
        san = "subjectAltName=DNS:localhost,IP:127.0.0.1"
        result = subprocess.run(
            [openssl, *args, "-addext", san, "-keyout", str(key), "-out", str(cert)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise IRCServerError(f"openssl could not make a test certificate:\n{result.stderr}")
        key.chmod(0o644)  # readable if a server drops privileges

    def _command(self, workdir: Path) -> list[str]:
        cmd = [self.binary, "--config", str(workdir / "inspircd.conf"), "--nofork"]
        if os.geteuid() == 0:
            cmd.append("--runasroot")
        return cmd

    def _ready(self) -> None:
        probe_register(
            self.host,
            self.port,
            "probe",
            expect_server=self.server_name,
            timeout=self.startup_timeout,
        )
        if self.cert_path is not None:
            der = ssl.PEM_cert_to_DER_cert(self.cert_path.read_text())
            self.cert_sha256 = hashlib.sha256(der).hexdigest()
        if self.with_services:
            assert self.link_port is not None
            self.services = Atheme(
                uplink_name=self.server_name,
                link_port=self.link_port,
                link_password=self.link_password,
                network=self.network,
            )
            self.services.start(attempts=1)

    def stop(self, timeout: float = 5.0) -> None:
        services, self.services = self.services, None
        if services is not None:
            services.stop(timeout)
        super().stop(timeout)

    def ssl_context(self) -> ssl.SSLContext:
        """A client context trusting this server's self-signed certificate."""
        if self.cert_path is None:
            raise IRCServerError("this inspircd was started without TLS")
        return ssl.create_default_context(cafile=str(self.cert_path))

    def register_account(
        self, name: str, password: str, email: str | None = None, timeout: float = 15.0
    ) -> None:
        """Register NickServ account ``name`` (connects as nick ``name``, then quits).

        Raises :class:`IRCServerError` with NickServ's reply unless it confirms.
        """
        if self.services is None:
            raise IRCServerError("register_account needs InspIRCd(with_services=True)")
        email = email or f"{name}@example.org"
        deadline = time.monotonic() + timeout
        notices: list[str] = []
        with socket.create_connection((self.host, self.port), timeout=timeout) as sock:
            sock.sendall(f"NICK {name}\r\nUSER {name} 0 * :{name}\r\n".encode())
            buf = b""
            registered = False
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise IRCServerError(
                        f"no answer from NickServ registering {name!r}: {notices!r}"
                    )
                sock.settimeout(remaining)
                chunk = sock.recv(4096)
                if not chunk:
                    raise IRCServerError(f"connection closed registering {name!r}: {buf!r}")
                buf += chunk
                while b"\n" in buf:
                    raw, buf = buf.split(b"\n", 1)
                    line = raw.rstrip(b"\r").decode(errors="replace")
                    parts = line.split(" ", 3)
                    if parts[0] == "PING":
                        sock.sendall(("PONG " + line[5:] + "\r\n").encode())
                        continue
                    if len(parts) < 2:
                        continue
                    if parts[1] == "433":
                        raise IRCServerError(f"nick {name!r} is in use: {line}")
                    if parts[1] in ("376", "422") and not registered:  # end of MOTD
                        registered = True
                        sock.sendall(f"PRIVMSG NickServ :REGISTER {password} {email}\r\n".encode())
                    elif (
                        parts[1] == "NOTICE"
                        and parts[0].lower().startswith(":nickserv!")
                        and len(parts) == 4
                    ):
                        text = _strip_formatting(parts[3].removeprefix(":"))
                        notices.append(text)
                        if " is now registered to " in text:
                            with contextlib.suppress(OSError):
                                sock.sendall(b"QUIT :registered\r\n")
                            return
                        if registered and not text.startswith("This nickname is registered"):
                            raise IRCServerError(f"NickServ refused {name!r}: {text}")

    async def register_account_async(
        self, name: str, password: str, email: str | None = None, timeout: float = 15.0
    ) -> None:
        """:meth:`register_account` in a worker thread, for async tests."""
        await asyncio.to_thread(self.register_account, name, password, email, timeout)


def _strip_formatting(text: str) -> str:
    return "".join(ch for ch in text if ch not in "\x02\x1d\x1f\x16\x0f\x11\x1e")


class NgIRCd(_Daemon):
    """ngIRCd 26, the minimal server: one plain port (no IRCv3 beyond multi-prefix)."""

    binary_name = "ngircd"
    label = "ngircd"

    def __init__(
        self, *, server_name: str = "ngircd.test.local", startup_timeout: float = 20.0
    ) -> None:
        super().__init__(startup_timeout=startup_timeout)
        self.server_name = server_name
        self.port = 0

    def _ports(self) -> list[int]:
        return [self.port]

    def _prepare(self, workdir: Path) -> None:
        self.port = free_port()
        (workdir / "ngircd.conf").write_text(
            f"""[Global]
Name = {self.server_name}
Info = Backchannel test server
AdminInfo1 = test
AdminInfo2 = test
AdminEMail = t@localhost
Listen = {self.host}
Ports = {self.port}
MotdPhrase = Backchannel test server

[Limits]
MaxConnections = 0
MaxConnectionsIP = 0
MaxJoins = 0
MaxPenaltyTime = 0
PingTimeout = 120
PongTimeout = 20

[Options]
PAM = no
DNS = no
Ident = no
"""
        )
        (workdir / "ngircd.conf").chmod(0o644)

    def _command(self, workdir: Path) -> list[str]:
        return [self.binary, "-n", "-f", str(workdir / "ngircd.conf")]

    def _ready(self) -> None:
        probe_register(
            self.host,
            self.port,
            "probe",
            expect_server=self.server_name,
            timeout=self.startup_timeout,
        )
