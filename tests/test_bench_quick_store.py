"""Benchmarks 3-5 of bench/ (memory per user, history and search, reconnect
storm) run small (``--quick``) and answer with one well-formed JSON object.
How fast or small is not checked here: that is for docs/performance.md."""

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
    assert result["quick"] is True
    machine = result["machine"]
    assert machine["nproc"] > 0 and isinstance(machine["cpu"], str)
    assert isinstance(machine["python"], str)
    return result


def number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


@pytest.mark.timeout(400)
def test_memory_per_user_quick() -> None:
    result = run_bench("memory_per_user.py", 380)
    assert result["benchmark"] == "memory_per_user"
    assert result["users"] > 0 and result["networks_per_user"] > 0
    for key in ("rss_base_mib", "rss_idle_mib", "per_user_mib", "budget_mib_per_user", "join_s"):
        assert number(result[key]), key
    assert result["rss_idle_mib"] > result["rss_base_mib"] > 0
    assert isinstance(result["met"], bool)
    history = result["history"]
    assert history["stored"] >= history["target"] > 0
    for key in ("rss_before_mib", "rss_half_mib", "rss_after_mib", "growth_second_half_mib"):
        assert number(history[key]), key


@pytest.mark.timeout(300)
def test_history_search_quick() -> None:
    result = run_bench("history_search.py", 280)
    assert result["benchmark"] == "history_search"
    assert result["messages"] > 0 and result["targets"] > 0
    for key in ("latest_page_ms", "older_page_ms", "search_rare_ms", "unread_ms"):
        for phase in ("cold", "warm"):  # just after the file left the page cache, and again
            figures = result[key][phase]
            assert figures["samples"] > 0, (key, phase)
            assert 0 < figures["p50_ms"] <= figures["p99_ms"] <= figures["max_ms"], (key, phase)
    assert result["search_rare_hits"] >= 0
    assert result["unread_targets"] > 0
    assert len(result["met"]) == 2 * len(result["budgets_ms"])
    assert all(isinstance(v, bool) for v in result["met"].values())


@pytest.mark.timeout(300)
def test_reconnect_storm_quick() -> None:
    result = run_bench("reconnect_storm.py", 280)
    assert result["benchmark"] == "reconnect_storm"
    assert result["connections"] == result["users"] * result["networks_per_user"] > 0
    runs = result["runs"]
    assert [run["connect_rate"] for run in runs] == [0, 20]
    for run in runs:
        for phase in ("cold_start", "ircd_restart"):
            figures = run[phase]
            assert "timeout" not in figures, (run["connect_rate"], phase, figures)
            assert 0 < figures["all_registered_s"] <= figures["all_joined_s"]
            assert figures["max_attempts_per_s"] > 0
    paced = runs[1]["cold_start"]
    # about the rate in any second (a loaded machine can bunch a few late ones)
    assert paced["max_attempts_per_s"] <= 30
