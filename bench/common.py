"""Helpers shared by the benchmarks in ``bench/``: free ports, file-descriptor
limits, process memory and CPU from ``/proc``, percentiles, a machine
description, starting and stopping a Backchannel server as a subprocess, and
printing the one JSON object a benchmark answers with.

Generic on purpose: nothing here knows about one benchmark. Linux only
(``/proc``). Benchmarks are run as ``python bench/NAME.py``, so this module is
imported as ``common``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import os
import platform
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Coroutine, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "ROOT",
    "BackchannelServer",
    "child_setup",
    "cpu_seconds",
    "die_with_parent",
    "emit",
    "fd_count",
    "free_port",
    "log",
    "machine",
    "make_users",
    "network_config",
    "nofile_hard_limit",
    "percentile",
    "pin_to",
    "raise_nofile",
    "rss_bytes",
    "run_bounded",
    "serve_flags",
    "summary_ms",
    "temp_dir",
    "wait_quiet",
]

T = TypeVar("T")
ROOT = Path(__file__).resolve().parent.parent
_T0 = time.monotonic()


def log(*parts: object) -> None:
    """Progress for people, on stderr (stdout carries the one JSON object)."""
    print(f"[{time.monotonic() - _T0:7.2f}s]", *parts, file=sys.stderr, flush=True)


def emit(result: dict[str, Any]) -> None:
    """Print the benchmark's figures: one JSON object, one line, on stdout."""
    sys.stdout.write(json.dumps(result, sort_keys=False) + "\n")
    sys.stdout.flush()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def raise_nofile(wanted: int | None = None) -> int:
    """Raise this process's RLIMIT_NOFILE soft limit to ``wanted`` (default:
    the hard limit); returns the soft limit now in force. Children inherit it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if wanted is None else min(wanted, hard)
    if hard == resource.RLIM_INFINITY and wanted is None:
        target = 1 << 20
    if target > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def nofile_hard_limit() -> int:
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def rss_bytes(pid: int) -> int:
    """Resident set size of a process, from /proc/PID/status (VmRSS)."""
    with open(f"/proc/{pid}/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used (all its threads)."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def fd_count(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def wait_quiet(
    pid: int, *, idle_for: float = 0.5, cpu_share: float = 0.02, timeout: float = 120.0
) -> float:
    """Block until process ``pid`` has used at most ``cpu_share`` of a core
    for ``idle_for`` seconds (it has finished what it was given); returns the
    seconds waited. Raises TimeoutError after ``timeout``."""
    start = time.monotonic()
    deadline = start + timeout
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        time.sleep(idle_for)
        if cpu_seconds(pid) - before <= cpu_share * idle_for + 0.011:  # one clock tick of slack
            return time.monotonic() - start
    raise TimeoutError(f"process {pid} still busy after {timeout:g} s")


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0-100) by linear interpolation between ranks."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100.0
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def summary_ms(seconds: Sequence[float]) -> dict[str, float]:
    """p50/p90/p99/max of durations given in seconds, in milliseconds."""
    return {
        "p50_ms": round(percentile(seconds, 50) * 1000, 3),
        "p90_ms": round(percentile(seconds, 90) * 1000, 3),
        "p99_ms": round(percentile(seconds, 99) * 1000, 3),
        "max_ms": round(max(seconds) * 1000, 3),
        "samples": len(seconds),
    }


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    model = ""
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "load_1m": round(os.getloadavg()[0], 2),
        "nofile_hard_limit": nofile_hard_limit(),
    }


def die_with_parent() -> None:
    """In a child before exec: get SIGTERM when the parent dies (Linux
    prctl PR_SET_PDEATHSIG), so a killed benchmark leaves no server behind."""
    with contextlib.suppress(OSError, AttributeError):
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def child_setup(cpus: set[int] | None) -> Callable[[], None]:
    """A ``preexec_fn``: the highest file limit, death with the parent, and
    the given CPUs."""

    def setup() -> None:
        raise_nofile()
        die_with_parent()
        if cpus:
            os.sched_setaffinity(0, cpus)

    return setup


def run_bounded(main: Callable[[], Coroutine[Any, Any, T]], seconds: float) -> T:
    """``asyncio.run(main())`` given at most ``seconds`` (TimeoutError), and
    cancelled, with its clean-up run, on SIGTERM or SIGINT."""

    async def bounded() -> T:
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, task.cancel)
        async with asyncio.timeout(seconds):
            return await main()

    return asyncio.run(bounded())


def pin_to(cpus: set[int]) -> None:
    """Pin this process (and the children it starts afterwards) to ``cpus``."""
    with contextlib.suppress(OSError, AttributeError):
        os.sched_setaffinity(0, cpus)


@functools.cache
def serve_flags() -> frozenset[str]:
    """The flags ``backchannel serve`` accepts (options appear over time)."""
    out = subprocess.run(
        [sys.executable, "-m", "backchannel", "serve", "--help"],
        capture_output=True,
        text=True,
        check=True,
        cwd=str(ROOT),
        env=dict(os.environ, COLUMNS="200"),
    ).stdout
    return frozenset(word.rstrip(",") for word in out.split() if word.startswith("--"))


#: abuse limits lifted for benchmarks (environment variables of ``backchannel serve``)
BENCH_LIMITS = {
    f"BACKCHANNEL_{name.upper()}": "0"
    for name in (
        "max_networks",
        "max_channels",
        "max_lines_per_second",
        "max_public_sessions_per_address",
        "max_streams_per_user",
        "max_streams_per_address",
    )
}

#: ``backchannel`` with SIGUSR1 calling gc.freeze() (see BackchannelServer.freeze_gc)
_FREEZE_LAUNCHER = (
    "import gc, signal, sys; signal.signal(signal.SIGUSR1, lambda *_: gc.freeze()); "
    "from backchannel.cli import main; sys.exit(main(sys.argv[1:]))"
)


class BackchannelServer:
    """``backchannel serve`` in a subprocess of this interpreter, on loopback.

    ``args`` are extra command-line flags (``--public``, ``--allow-server``...).
    ``cpus`` pins the server to those CPUs. Its stderr goes to a log file
    (``log_path``), shown when it fails to start."""

    def __init__(
        self,
        data_dir: Path,
        args: Sequence[str] = (),
        *,
        port: int | None = None,
        cpus: set[int] | None = None,
        log_level: str = "warning",
        env: dict[str, str] | None = None,
        gc_freeze_signal: bool = False,
    ) -> None:
        self.data_dir = data_dir
        self.port = port or free_port()
        self.args = list(args)
        self.cpus = cpus
        self.log_level = log_level
        self.env = env
        self.gc_freeze_signal = gc_freeze_signal
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = data_dir / "server.log"

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self, timeout: float = 60.0) -> None:
        launcher = ["-c", _FREEZE_LAUNCHER] if self.gc_freeze_signal else ["-m", "backchannel"]
        cmd = [
            sys.executable,
            *launcher,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--data-dir",
            str(self.data_dir),
            "--log-level",
            self.log_level,
            *self.args,
        ]
        # a benchmark is one client machine playing thousands of people: the per-user
        # and per-address abuse limits are lifted (0) unless the caller sets them
        env = dict(os.environ, **BENCH_LIMITS, **(self.env or {}))
        env.setdefault("PYTHONUNBUFFERED", "1")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log_file:
            self.proc = subprocess.Popen(
                cmd,
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=log_file,
                preexec_fn=child_setup(self.cpus),
                env=env,
                cwd=str(ROOT),
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited ({self.proc.returncode}):\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(self.base + "/healthz", timeout=1) as answer:
                    if answer.status == 200:
                        return
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise TimeoutError(f"server did not answer within {timeout:g} s:\n{self.log_tail()}")

    def freeze_gc(self) -> None:
        """Ask the server (started with ``gc_freeze_signal``) to ``gc.freeze()``:
        what it holds now is never scanned by the cyclic garbage collector
        again. An experiment, not something Backchannel does by itself."""
        assert self.gc_freeze_signal and self.proc is not None
        self.proc.send_signal(signal.SIGUSR1)

    def log_tail(self, lines: int = 30) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 15.0) -> int | None:
        """SIGTERM (a graceful shutdown), then SIGKILL after ``timeout``."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            return None if proc is None else proc.returncode
        proc.send_signal(signal.SIGTERM)
        try:
            return proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            return proc.wait()

    def __enter__(self) -> BackchannelServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def temp_dir(prefix: str) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


# -- private-mode data ---------------------------------------------------------------

#: argon2id at its cheapest (8 KiB, one pass): creating 10,000 users with the
#: default parameters (64 MiB, ~50 ms each) would take minutes and measure
#: nothing the benchmarks are about. Logins are not benchmarked; sessions are
#: created directly.
CHEAP_ARGON2 = {"time_cost": 1, "memory_cost": 8, "parallelism": 1}
BENCH_PASSWORD = "benchmark password"


@dataclass(frozen=True, slots=True)
class BenchUser:
    id: int
    name: str
    token: str  # the bc_auth cookie of one web session
    network_id: int | None


def make_users(
    data_dir: Path,
    count: int,
    network: Callable[[int], dict[str, Any] | None] | None = None,
    *,
    prefix: str = "u",
) -> list[BenchUser]:
    """Create ``count`` users in the data dir's database through the store
    modules (``Accounts`` with a cheap argon2id hasher, ``WebSessions``,
    ``NetworkStore``), each with one web session and, when ``network(i)``
    gives a config (the stored shape of ``POST /api/networks``), one enabled
    network. Run before the server starts. Users are named ``<prefix><i>``."""
    import asyncio

    from argon2 import PasswordHasher

    from backchannel.store.accounts import Accounts
    from backchannel.store.db import Database
    from backchannel.store.networks import NetworkStore
    from backchannel.store.web_sessions import WebSessions

    async def create() -> list[BenchUser]:
        db = Database.in_data_dir(data_dir)
        try:
            accounts = Accounts(db, hasher=PasswordHasher(**CHEAP_ARGON2))
            sessions = WebSessions(db)
            networks = NetworkStore(db)

            async def one(i: int) -> BenchUser:
                user = await accounts.create_user(f"{prefix}{i}", BENCH_PASSWORD)
                token = await sessions.create(user.id, "127.0.0.1", "bench")
                config = network(i) if network is not None else None
                network_id = None
                if config is not None:
                    network_id = (await networks.create(user.id, str(config["name"]), config)).id
                return BenchUser(user.id, user.name, token, network_id)

            users: list[BenchUser] = []
            for start in range(0, count, 200):
                users += await asyncio.gather(
                    *(one(i) for i in range(start, min(count, start + 200)))
                )
            return users
        finally:
            db.close()

    return asyncio.run(create())


def network_config(
    name: str, host: str, port: int, nick: str, channels: Sequence[str]
) -> dict[str, Any]:
    """A network as ``POST /api/networks`` stores it (validated by its model)."""
    from backchannel.web.api_models import NetworkCreate

    body = NetworkCreate.model_validate(
        {
            "name": name,
            "host": host,
            "port": port,
            "nick": nick,
            "channels": [{"name": c} for c in channels],
        }
    )
    return body.model_dump(mode="json")
