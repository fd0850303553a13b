"""bench/capacity.py: the capacity plan's arithmetic on fixed inputs (no benchmark is run)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from bench.capacity import (
    Assumptions,
    Measured,
    Scenario,
    build,
    catchup_rate,
    main,
    measured_from,
    plan,
)

M = Measured(worker_rate=2000.0, worker_rate_pg=1500.0, bytes_per_reading=1000.0,
             bytes_per_reading_pg=1200.0, source="fixed")
A = Assumptions(readings_per_home_per_day=48, safety_factor=3.0, catchup_hours=4.0,
                connections_per_broker_node=50_000, max_workers_per_sqlite_log=2)


def test_catchup_rate_is_a_day_plus_the_window_within_the_window() -> None:
    # 10,000 homes × 48 = 480,000 backlog + 80,000 live in 4 h, over 14,400 s
    assert catchup_rate(10_000, A) == pytest.approx(560_000 / 14_400)


def test_one_municipality() -> None:
    r = plan(Scenario("m", 10_000, 1), M, A)
    assert r.readings_per_day == 480_000
    assert r.mean_rate == pytest.approx(480_000 / 86_400)
    # 3 × 38.9/s ÷ 2,000/s → 1 worker, on SQLite
    assert (r.workers_per_log, r.worker_processes, r.store_per_log) == (1, 1, "SQLite")
    # the day's 480,000 at 2,000/s, less the live 5.56/s
    assert r.catchup_hours_measured == pytest.approx(480_000 / (2000 - 480_000 / 86_400) / 3600)
    assert (r.broker_connections, r.broker_nodes) == (10_001, 1)
    assert r.storage_bytes_per_year == 480_000 * 365 * 1000.0
    assert r.storage_bytes_per_year_pg == 480_000 * 365 * 1200.0


def test_sharded_scenario_counts_per_log() -> None:
    r = plan(Scenario("p", 500_000, 50), M, A)
    assert r.catchup_rate_per_log == pytest.approx(catchup_rate(10_000, A))
    assert r.worker_processes == 50  # at least one per log
    assert r.busy_workers == math.ceil(3 * catchup_rate(500_000, A) / 2000)
    assert r.broker_connections == 500_050
    assert r.broker_nodes == 50  # one per municipality, each under the node limit
    assert r.storage_bytes_per_year == 500_000 * 48 * 365 * 1000.0


def test_a_big_log_spans_broker_nodes_and_moves_to_postgresql() -> None:
    # 1,000,000 homes in one log: 3 × 38,889/s ÷ 2,000 = 59 workers > 2 → PostgreSQL at 1,500/s
    r = plan(Scenario("big", 1_000_000, 1), M, A)
    assert r.store_per_log == "PostgreSQL"
    assert r.workers_per_log == math.ceil(3 * catchup_rate(1_000_000, A) / 1500)
    assert r.broker_nodes == math.ceil((1_000_000 + r.workers_per_log) / 50_000)


def test_measured_prefers_the_long_run() -> None:
    results = {"backlog_readings_per_s": 5000, "bytes_per_reading": 865,
               "bytes_per_reading_pg": 1057, "backlog_devices": 10_000}
    long = {"long_sqlite_readings_per_s_per_worker": 2100, "long_sqlite_bytes_per_reading": 870,
            "long_pg_readings_per_s_per_worker": 1600, "long_pg_bytes_per_reading": 1100,
            "long_sqlite_devices": 100_000, "long_sqlite_workers": 2, "date": "d",
            "load_average_at_start": 1.0, "load_average_at_end": 1.5, "machine_cores": 2}
    m = measured_from(results, long)
    assert (m.worker_rate, m.worker_rate_pg, m.bytes_per_reading, m.bytes_per_reading_pg) == (
        2100, 1600, 870, 1100)
    assert "100,000 devices" in m.source
    fallback = measured_from(results, None)
    assert (fallback.worker_rate, fallback.bytes_per_reading) == (5000, 865)
    assert fallback.worker_rate_pg is None


def test_invalid_inputs_are_refused() -> None:
    with pytest.raises(ValueError):
        Assumptions(catchup_hours=0)
    with pytest.raises(ValueError):
        Assumptions(safety_factor=0.5)
    with pytest.raises(ValueError):
        Scenario("x", 10, 11)
    with pytest.raises(ValueError):
        Measured(0, None, 1, None, "x")


def test_document_is_generated_from_the_files(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    results.write_text(json.dumps({"backlog_readings_per_s": 4000, "bytes_per_reading": 900,
                                   "backlog_devices": 10_000, "backlog_readings": 480_000,
                                   "date": "2026-01-01T00:00:00Z"}))
    out = tmp_path / "capacity.md"
    assert main(["--results", str(results), "--long", str(tmp_path / "none.json"),
                 "--out", str(out)]) == 0
    text = out.read_text()
    assert text == build(json.loads(results.read_text()), None)
    assert text.startswith("# Capacity plan\n")
    assert "| municipality | 10,000 | 1 | 480,000 |" in text
    assert "| Japan | 3,000,000 | 1,741 |" in text
    # 3,000,000 × 48 × 365 × 900 B
    assert f"{3_000_000 * 48 * 365 * 900 / 1e12:,.1f} TB" in text
    # the run had 10,000 devices, the plan's largest log 100,000: the document says so
    assert "Not yet measured at the largest log planned" in text


def test_a_sqlite_only_long_run_keeps_the_earlier_postgresql_figures() -> None:
    from bench.run import merge_long

    earlier = {"date": "d1", "load_average_at_start": 8.0, "long_pg_devices": 20_000,
               "long_pg_readings_per_s_per_worker": 1867, "long_sqlite_devices": 20_000}
    new = {"date": "d2", "long_sqlite_devices": 100_000,
           "long_sqlite_readings_per_s_per_worker": 3000, "long_sqlite_bytes_per_reading": 865,
           "long_sqlite_workers": 2}
    merged = merge_long(earlier, new)
    assert merged["long_sqlite_devices"] == 100_000 and merged["date"] == "d2"
    assert merged["long_pg_readings_per_s_per_worker"] == 1867
    assert merged["long_pg_measured"] == "d1, 20,000 devices, load 8.0 at start"
    with_pg = {**new, "long_pg_devices": 100_000}
    assert merge_long(earlier, with_pg) == with_pg  # a run with its own figure keeps it
    # a third run keeps the first one's label: the figures are still that run's
    later = merge_long({**merged, "date": "d2", "load_average_at_start": 1.0},
                       {**new, "date": "d3"})
    assert later["long_pg_measured"] == "d1, 20,000 devices, load 8.0 at start"
    m = measured_from({}, merged)
    assert m.worker_rate_pg == 1867 and m.pg_source == merged["long_pg_measured"]
