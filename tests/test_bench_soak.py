"""The soak test of bench/ (issue 7) runs small (``--quick``: 20 users, 5
channels, 30 s, a SIGKILL and a SIGTERM restart, clients dropping every few
seconds) and its checker finds nothing wrong: every client saw every stored
event of its user exactly once and in order, everything the IRC server wrote
was stored (but the unstored tail of a killed process), and the server's
memory stayed within the tolerance."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


@pytest.mark.timeout(150)
def test_soak_quick() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "soak.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=140,
        cwd=BENCH.parent,
    )
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1, f"soak.py printed {len(lines)} lines:\n{done.stdout}\n{done.stderr}"
    result = json.loads(lines[0])
    assert done.returncode == 0, (result.get("failures"), done.stderr[-4000:])
    assert result["benchmark"] == "soak" and result["quick"] is True
    assert result["ok"] is True and result["failures"] == []
    # the checker ran over real traffic
    assert result["messages_generated"] > 100
    assert result["messages_stored"] > result["messages_generated"]  # several users a channel
    assert result["events_delivered"] >= result["events_stored"] > 0
    for key in ("duplicates", "out_of_order", "gaps", "foreign_events", "content_mismatches",
                "clients_behind", "irc_gaps", "stored_twice_or_reordered", "lost_on_sigterm",
                "lost_at_end", "not_written_server_up"):  # fmt: skip
        assert result[key] == 0, key
    # the clients dropped and resumed, on both transports
    clients = result["clients"]
    assert clients["drops"] > 0 and clients["transport_switches"] > 0
    assert clients["longpoll_sessions"] > clients["count"] // 2
    assert clients["websocket_sessions"] > clients["count"] // 2
    assert clients["read_markers"]["ok"] > 0
    # the server was killed and stopped, and came back each time
    signals = [r["signal"] for r in result["restarts"]]
    assert "SIGKILL" in signals and "SIGTERM" in signals
    assert all(r["exit_code"] == 0 for r in result["restarts"] if r["signal"] == "SIGTERM")
    assert result["rss"]["ok"] is True and result["rss"]["judged_phases"] >= 1
