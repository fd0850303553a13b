"""``python -m bench.run --backlog-devices N`` (the long mode, tiny here) runs end to end.

No timing thresholds: this proves the long mode's wiring (2 workers draining a backlog queued
while the aggregator was down, nothing lost, every figure written) so that the real 100,000-
device run keeps working; its numbers mean nothing at this size.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]


def test_long_backlog_mode_reports_its_figures(tmp_path: Path) -> None:
    out = tmp_path / "long.json"
    r = subprocess.run([sys.executable, "-m", "bench.run", "--backlog-devices", "6",
                        "--no-postgres", "--out", str(out)], cwd=REPO, capture_output=True,
                       text=True, timeout=600, check=False)
    assert r.returncode == 0, r.stderr[-3000:]
    results = json.loads(out.read_text())
    assert results["long"] is True
    assert results["long_sqlite_devices"] == 6
    assert results["long_sqlite_readings"] == 6 * 48
    assert results["long_sqlite_workers"] == 2
    for key in ("long_sqlite_readings_per_s", "long_sqlite_seconds",
                "long_sqlite_bytes_per_reading", "long_sqlite_store_bytes",
                "long_sqlite_worker_cpu_us_per_reading"):
        value = results[key]
        assert isinstance(value, int | float) and value > 0, (key, value)
    assert not any(k.startswith("long_pg_") for k in results)  # --no-postgres
    assert json.loads(r.stdout) == results  # printed as well


def test_long_mode_runs_alone() -> None:
    r = subprocess.run([sys.executable, "-m", "bench.run", "--long", "--quick"], cwd=REPO,
                       capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode != 0 and "runs alone" in r.stderr


def test_each_store_s_figures_are_handed_over_as_soon_as_it_is_drained(tmp_path: Path) -> None:
    """run_long's checkpoint gets the SQLite figures (with the load at that moment) before any
    PostgreSQL drain starts, so a PostgreSQL run stopped part way keeps them."""
    from bench.run import run_long

    seen: list[dict[str, object]] = []
    results = run_long(4, 2, False, tmp_path, seen.append)
    assert len(seen) == 1  # one store, one checkpoint
    assert seen[0]["long_sqlite_readings"] == 4 * 48
    assert "load_average_at_end" in seen[0] and "load_average_at_start" in seen[0]
    assert {k: v for k, v in seen[0].items() if k.startswith("long_")} == {
        k: v for k, v in results.items() if k.startswith("long_")}
