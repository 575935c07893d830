"""The benchmarks of bench/ run (small, ``--quick``) and answer with one
well-formed JSON object. How fast is not checked here: that is for people
reading docs/performance.md, on a quiet machine."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def run_bench(name: str, timeout: float) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, str(BENCH / name), "--quick"],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BENCH.parent,
    )
    assert done.returncode == 0, f"{name} failed ({done.returncode}):\n{done.stderr[-4000:]}"
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"{name} printed {len(lines)} lines on stdout:\n{done.stdout}"
    result = json.loads(lines[0])
    assert isinstance(result, dict)
    return result


def positive(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def assert_positive(obj: dict[str, Any], *keys: str) -> None:
    for key in keys:
        assert positive(obj.get(key)), f"{key} = {obj.get(key)!r} in {obj}"


def assert_machine(result: dict[str, Any]) -> None:
    machine = result["machine"]
    assert_positive(machine, "nproc")
    assert isinstance(machine["cpu"], str)
    assert isinstance(machine["python"], str)


@pytest.mark.timeout(300)
def test_longpoll_capacity_quick() -> None:
    result = run_bench("longpoll_capacity.py", 280)
    assert result["benchmark"] == "longpoll_capacity"
    assert result["quick"] is True
    assert_machine(result)
    assert_positive(result, "n", "elapsed_s")
    for mode in ("seed", "v1"):
        figures = result[mode]
        assert figures["n"] == result["n"]
        assert_positive(figures, "rss_idle_mib", "rss_polls_mib", "setup_s")
        assert isinstance(figures["per_poll_kib"], int | float)  # RSS may not grow at all
        assert_positive(figures["wake_one"], "p50_ms", "p99_ms", "max_ms", "samples")
        assert_positive(figures["wake_all"], "all_ms", "p50_ms")
        assert figures["wake_all"]["n"] == result["n"]
        assert set(figures["met"]) == {"per_poll", "wake_one_p99", "wake_all"}


@pytest.mark.timeout(200)
def test_relay_throughput_quick() -> None:
    result = run_bench("relay_throughput.py", 180)
    assert result["benchmark"] == "relay_throughput"
    assert result["quick"] is True
    assert_machine(result)
    assert_positive(
        result,
        "lines",
        "stored_lines_per_s",
        "delivered_lines_per_s",
        "server_cpu_s",
        "lines_per_server_cpu_s",
        "overhead_ratio",
    )
    assert_positive(result["parse"], "lines_per_s", "lines")
    # nothing lost, nothing out of order: on the socket, in the store, in the index
    assert result["delivered"] == result["lines"]
    assert result["stored"] == result["lines"]
    assert result["indexed"] == result["lines"]
    assert result["delivered_in_order"] is True
    assert result["stored_in_order"] is True
    assert result["lossless"] is True
    assert isinstance(result["met"], bool)
