"""The capacity plan (issue 16, "Also"): ingest workers, broker connections and storage for one
municipality, a prefecture and all of Japan, computed from the benchmark's measured figures.

``python -m bench.capacity [--results FILE] [--long FILE] [--out FILE]`` reads
``bench/results.json`` (``make bench``) and ``bench/results-long.json`` (``python -m bench.run
--long``) and writes ``docs/capacity.md``. Everything below :func:`main` is pure: figures and
assumptions in, rows and text out, so the arithmetic is tested on fixed inputs
(``tests/bench/test_capacity.py``) and the document is regenerated, never edited by hand.

What is measured and what is assumed are kept apart: :class:`Measured` holds only figures from
a benchmark run (with where each came from), :class:`Assumptions` every planning choice, each
with its reason in :data:`ASSUMPTION_NOTES`.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_RESULTS = HERE / "results.json"
DEFAULT_LONG = HERE / "results-long.json"
DEFAULT_OUT = HERE.parent / "docs" / "capacity.md"

SECONDS_PER_DAY = 86_400
DAYS_PER_YEAR = 365


@dataclass(frozen=True, slots=True)
class Measured:
    """Figures from benchmark runs, per log (one aggregator, one store)."""

    worker_rate: float  # readings/s one worker drains from a backlog (SQLite)
    worker_rate_pg: float | None  # the same on PostgreSQL, if measured
    bytes_per_reading: float  # SQLite growth per reading: entry, Merkle nodes, indexes
    bytes_per_reading_pg: float | None
    source: str  # which run, how many devices, when, under what load
    devices: int | None = None  # devices in the backlog run: the size of log it verified
    pg_source: str | None = None  # when the PostgreSQL figures come from another run

    def __post_init__(self) -> None:
        if self.worker_rate <= 0 or self.bytes_per_reading <= 0:
            raise ValueError("measured rates and sizes must be positive")


@dataclass(frozen=True, slots=True)
class Assumptions:
    """The planning choices; :data:`ASSUMPTION_NOTES` says why each has its value."""

    readings_per_home_per_day: int = 48
    safety_factor: float = 3.0
    catchup_hours: float = 4.0  # a whole day's backlog absorbed within this, live traffic on
    connections_per_broker_node: int = 50_000
    max_workers_per_sqlite_log: int = 2  # what the long run measured; more → PostgreSQL

    def __post_init__(self) -> None:
        if self.readings_per_home_per_day < 1 or self.safety_factor < 1:
            raise ValueError("readings per day ≥ 1 and safety factor ≥ 1")
        if not 0 < self.catchup_hours < 24:
            raise ValueError("catch-up window must be between 0 and 24 hours")
        if self.connections_per_broker_node < 1 or self.max_workers_per_sqlite_log < 1:
            raise ValueError("broker node limit and workers per log must be ≥ 1")


ASSUMPTION_NOTES: Mapping[str, str] = {
    "readings_per_home_per_day": "one PV meter, a reading per half-hour interval (issue 16); a "
    "home with an export meter too doubles readings, workers and storage",
    "safety_factor": "the bench runs on loopback without TLS on a 2-core machine shared with "
    "other work; a production host also runs the broker, the database, backups and the web UI",
    "catchup_hours": "after a whole day's outage the backlog is absorbed within this window "
    "while live readings keep arriving, so the next day's credits are not late",
    "connections_per_broker_node": "planning limit for one Mosquitto node (one thread serves "
    "every connection; TLS handshakes after a reconnect storm are the cost), not a "
    "measured figure: Mosquitto documents no fixed ceiling (`max_connections`, default -1, "
    "'other limits may be imposed', mosquitto.conf(5)); published single-node tuning "
    "reports reach ~50,000 sensors",
    "max_workers_per_sqlite_log": "SQLite has one writer; 2 workers per log is what the long "
    "run measured; a log needing more goes to PostgreSQL",
}


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    homes: int
    logs: int  # one log per municipality
    note: str = ""

    def __post_init__(self) -> None:
        if self.homes < 1 or not 1 <= self.logs <= self.homes:
            raise ValueError(f"{self.name}: need homes ≥ 1 and 1 ≤ logs ≤ homes")


SCENARIOS: tuple[Scenario, ...] = (
    Scenario("municipality", 10_000, 1, "one log, one broker"),
    Scenario("prefecture", 500_000, 50, "50 municipal logs of 10,000 homes"),
    Scenario("large city (one log)", 100_000, 1,
             "the size `python -m bench.run --long` runs: the biggest single log planned"),
    Scenario("Japan", 3_000_000, 1_741,
             "1,741 municipal logs (average ~1,720 homes; the largest as the row above)"),
)


@dataclass(frozen=True, slots=True)
class Row:
    """One scenario's plan."""

    scenario: Scenario
    readings_per_day: int
    mean_rate: float  # readings/s averaged over the day
    catchup_rate_per_log: float  # readings/s one (average) log needs during a catch-up
    workers_per_log: int
    worker_processes: int  # every log has at least one
    busy_workers: int  # cores busy during a catch-up everywhere at once
    catchup_hours_measured: float  # a day's backlog per log at the measured rate, no margin
    store_per_log: str  # "SQLite" or "PostgreSQL": the backend the per-log rate needs
    broker_connections: int
    broker_nodes: int  # at least one per log (each municipality its own broker)
    storage_bytes_per_year: float
    storage_bytes_per_year_pg: float | None


def catchup_rate(homes: int, a: Assumptions) -> float:
    """Readings/s that absorb a day's backlog of ``homes`` within ``a.catchup_hours`` while the
    live readings of that window keep arriving."""
    day = homes * a.readings_per_home_per_day
    return day * (1 + a.catchup_hours / 24) / (a.catchup_hours * 3600)


def plan(s: Scenario, m: Measured, a: Assumptions) -> Row:
    day = s.homes * a.readings_per_home_per_day
    per_log_homes = math.ceil(s.homes / s.logs)
    need = catchup_rate(per_log_homes, a)
    workers = max(1, math.ceil(a.safety_factor * need / m.worker_rate))
    backend = "SQLite"
    if workers > a.max_workers_per_sqlite_log:
        backend = "PostgreSQL"
        if m.worker_rate_pg:
            workers = max(1, math.ceil(a.safety_factor * need / m.worker_rate_pg))
    rate = m.worker_rate if backend == "SQLite" else (m.worker_rate_pg or m.worker_rate)
    log_day = per_log_homes * a.readings_per_home_per_day
    live = log_day / SECONDS_PER_DAY
    hours = log_day / (workers * rate - live) / 3600
    busy = math.ceil(a.safety_factor * catchup_rate(s.homes, a) / m.worker_rate)
    processes = s.logs * workers
    connections = s.homes + processes  # one persistent session per device, one per worker
    per_log_connections = per_log_homes + workers
    nodes = s.logs * math.ceil(per_log_connections / a.connections_per_broker_node)
    per_year = day * DAYS_PER_YEAR
    return Row(
        scenario=s, readings_per_day=day, mean_rate=day / SECONDS_PER_DAY,
        catchup_rate_per_log=need, workers_per_log=workers, worker_processes=processes,
        busy_workers=min(busy, processes), catchup_hours_measured=hours, store_per_log=backend,
        broker_connections=connections,
        broker_nodes=nodes,
        storage_bytes_per_year=per_year * m.bytes_per_reading,
        storage_bytes_per_year_pg=(per_year * m.bytes_per_reading_pg
                                   if m.bytes_per_reading_pg else None),
    )


def measured_from(results: Mapping[str, Any], long: Mapping[str, Any] | None) -> Measured:
    """The figures the plan uses: the long backlog run's when there is one (its per-worker
    rate and bytes per reading at the largest log planned), else ``make bench``'s backlog."""
    if long and long.get("long_sqlite_readings_per_s_per_worker"):
        pg_rate = long.get("long_pg_readings_per_s_per_worker")
        pg_bytes = long.get("long_pg_bytes_per_reading")
        source = (f"`python -m bench.run --backlog-devices {long['long_sqlite_devices']}` "
                  f"({long['long_sqlite_devices']:,} devices × 48 readings, "
                  f"{long['long_sqlite_workers']} workers), {long.get('date', '?')}, load "
                  f"{long.get('load_average_at_start', '?')} at start and "
                  f"{long.get('load_average_at_end', '?')} at end"
                  + (f" (during the run: {long['load_average_during']})"
                     if long.get("load_average_during") else "")
                  + f", {long.get('machine_cores', '?')} cores")
        return Measured(float(long["long_sqlite_readings_per_s_per_worker"]),
                        float(pg_rate) if pg_rate else None,
                        float(long["long_sqlite_bytes_per_reading"]),
                        float(pg_bytes) if pg_bytes else None, source,
                        int(long["long_sqlite_devices"]), long.get("long_pg_measured"))
    pg = results.get("bytes_per_reading_pg")
    return Measured(
        float(results["backlog_readings_per_s"]), None, float(results["bytes_per_reading"]),
        float(pg) if pg else None,
        f"`make bench` backlog ({results.get('backlog_devices', '?'):,} devices, 1 worker), "
        f"{results.get('date', '?')}, load {results.get('load_average_at_start', '?')} at start",
        int(results["backlog_devices"]) if results.get("backlog_devices") else None)


def _size(b: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if b >= scale:
            return f"{b / scale:,.1f} {unit}"
    return f"{b:,.0f} B"


def render(rows: Sequence[Row], m: Measured, a: Assumptions,
           results: Mapping[str, Any]) -> str:
    """docs/capacity.md: inputs, table, what changes with scale, sources."""
    out = [
        "# Capacity plan",
        "",
        "Generated by `python -m bench.capacity` from the benchmark's measured figures; do not "
        "edit by hand (rerun `python -m bench.run --long`, then `python -m bench.capacity`).",
        "",
        "## Measured inputs",
        "",
        f"- Source: {m.source}.",
        f"- Backlog drained per worker: **{m.worker_rate:,.0f} readings/s** on SQLite"
        + (f", **{m.worker_rate_pg:,.0f}** on PostgreSQL" if m.worker_rate_pg else "")
        + (f" (PostgreSQL from an earlier run: {m.pg_source})" if m.pg_source else "")
        + " (each worker checks, verifies and appends; receipts published). That is the "
        "run's rate divided by its workers, on a machine shared with other work (the load "
        "above): a lower bound for a dedicated core.",
        f"- Store growth per reading: **{m.bytes_per_reading:,.0f} B** on SQLite"
        + (f", **{m.bytes_per_reading_pg:,.0f} B** on PostgreSQL" if m.bytes_per_reading_pg
           else "")
        + " (the entry, the Merkle interior nodes, the reading and cursor rows and their "
        "indexes; SQLite after a WAL checkpoint, PostgreSQL `pg_database_size`).",
    ]
    biggest = max(r.scenario.homes // r.scenario.logs for r in rows)
    if m.devices is None or m.devices < biggest:
        out.append(
            f"- **Not yet measured at the largest log planned**: the run had "
            f"{m.devices or 0:,} devices, the largest log below has {biggest:,}; its "
            f"per-log rows assume the per-worker rate and bytes per reading do not change "
            f"with the log's size. Reproduce at full size with `python -m bench.run --long`.")
    if results:
        out.append(
            f"- For comparison, `make bench` ({results.get('date', '?')}): steady ingest "
            f"{results.get('ingest_rate_1w', '?')} readings/s with 1 worker, "
            f"{results.get('ingest_rate_2w', '?')} with 2 (SQLite); backlog of "
            f"{results.get('backlog_readings', 0):,} readings at "
            f"{results.get('backlog_readings_per_s', '?')}/s; "
            f"{results.get('bytes_per_reading', '?')} B/reading.")
    out += ["", "## Assumptions", ""]
    for name, note in ASSUMPTION_NOTES.items():
        out.append(f"- `{name}` = {getattr(a, name)}: {note}.")
    out += [
        "",
        "## Plan",
        "",
        "| scenario | homes | logs | readings/day | mean /s | catch-up /s per log | "
        "workers per log | worker processes | cores busy if every log catches up at once | "
        "day's backlog drained in (measured rate) | broker connections | broker nodes | "
        "storage/year SQLite | storage/year PostgreSQL |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        s = r.scenario
        pg = _size(r.storage_bytes_per_year_pg) if r.storage_bytes_per_year_pg else "—"
        out.append(
            f"| {s.name} | {s.homes:,} | {s.logs:,} | {r.readings_per_day:,} | "
            f"{r.mean_rate:,.0f} | {r.catchup_rate_per_log:,.0f} | {r.workers_per_log} "
            f"({r.store_per_log}) | {r.worker_processes:,} | {r.busy_workers:,} | "
            f"{r.catchup_hours_measured:.2f} h | {r.broker_connections:,} | "
            f"{r.broker_nodes:,} | {_size(r.storage_bytes_per_year)} | {pg} |")
    out += ["", *[f"- {r.scenario.name}: {r.scenario.note}." for r in rows if r.scenario.note]]
    out += ["", *what_changes(rows), *SOURCES, ""]
    return "\n".join(out)


def what_changes(rows: Sequence[Row]) -> list[str]:
    """The prose under the table, with the table's own figures in it."""
    by = {r.scenario.name: r for r in rows}
    muni, pref, city, japan = (by["municipality"], by["prefecture"],
                               by["large city (one log)"], by["Japan"])
    avg_log_year = japan.storage_bytes_per_year / japan.scenario.logs
    return [
        "## What changes with scale",
        "",
        f"- **Municipality ({muni.scenario.homes:,} homes).** One aggregator, one "
        f"{muni.store_per_log} log, {muni.workers_per_log} worker (a second one for "
        f"availability, not for speed), one Mosquitto. A day's backlog is one message per "
        f"device (an agent sends up to 64 readings per message), {muni.scenario.homes:,} "
        f"messages, inside the broker's `max_queued_messages` 100,000 per session; whatever "
        f"does not fit stays in the agents' outboxes and is resent. The store grows "
        f"{_size(muni.storage_bytes_per_year)} a year: the disk is the thing to watch.",
        f"- **Prefecture ({pref.scenario.homes:,} homes).** Not one log: **one log per "
        f"municipality is the natural shard** (docs/architecture.md §Scale). Each log is small "
        f"and independent, with its own sequencer and store, witnessed by the others, so the "
        f"prefecture is {pref.scenario.logs} municipalities, not one log {pref.scenario.logs} "
        f"times larger. Each municipality's devices connect to its own broker "
        f"({pref.broker_nodes} plain Mosquitto nodes in all).",
        f"- **A log past one broker node (a city of {city.scenario.homes:,} homes).** The "
        f"devices of one log are spread over {city.broker_nodes} Mosquitto nodes, each "
        "**bridged** to the node where that log's workers hold their shared subscription "
        "(`connection` … `topic eco/v1/+/readings out 1`, `topic eco/v1/+/receipts in 1`; "
        "mosquitto.conf(5) §Configuring Bridges). A bridge is one MQTT connection with its own "
        "QoS 1 queue, so the core node sees a few bridges instead of every device, and every "
        "node stays the engine the project already configures, hardens and tests (per-listener "
        "logins, the flood cut-off's password-file SIGHUP). The cost: one more hop, and each "
        "edge node has its own password file, so the cut-off must know which node a device "
        "uses. The log itself is not the limit: at the measured rate "
        f"{city.workers_per_log} worker(s) drain its whole day ({city.readings_per_day:,} "
        f"readings) in {city.catchup_hours_measured:.2f} h.",
        f"- **All of Japan (~{japan.scenario.homes / 1e6:.0f} million homes).** "
        f"{japan.scenario.logs:,} municipal logs; the national load is "
        f"{japan.mean_rate:,.0f} readings/s on average, and a catch-up after a nationwide "
        f"one-day outage keeps {japan.busy_workers} cores busy (with the safety factor) spread "
        f"over the logs. Storage is the real cost: {_size(japan.storage_bytes_per_year)} a year "
        f"in total, {_size(avg_log_year)} for an average municipal log. A single operator "
        f"hosting every log could replace "
        "per-municipality brokers with one **MQTT cluster**: **VerneMQ** (Apache-2.0 source; "
        "its binary packages need a paid subscription for commercial use, so one builds it; "
        "clusters natively, with a `shared_subscription_policy` of "
        "`prefer_local`/`local_only`/`random` that keeps a log's readings on the node its "
        "workers use) or **EMQX** (documented at "
        "10 million connections on a 5-node 4.3 cluster and 100 million on 23 nodes with 5.0, "
        "but its current documentation says clustering needs a commercial licence after the "
        "trial). The plan keeps bridged Mosquitto per shard: logs are already independent, so "
        "nothing needs a broker-wide session store, and a broker outage stays one "
        "municipality's.",
        "",
    ]


SOURCES = (
    "## Sources",
    "",
    "- mosquitto.conf(5), Mosquitto 2.0: `max_connections` (per listener, default -1 "
    "'unlimited', 'other limits may be imposed that are outside the control of mosquitto'), "
    "`max_queued_messages` (per client), §Configuring Bridges. "
    "<https://mosquitto.org/man/mosquitto-conf-5.html>",
    "- M. Amal, 'Tuning Eclipse Mosquitto 2.0 for 50k Industrial Sensors on One Box' (2023), a "
    "single-node tuning report, third-party: "
    "<https://muhammadamal.my.id/blog/tuning-mosquitto-2-at-scale/>",
    "- EMQX, 'EMQX 4.3 ten million connections performance test report' (5 nodes, 32 cores, "
    "64 GB each): <https://www.emqx.com/en/resources/emqx-v-4-3-0-ten-million-connections-"
    "performance-test-report>; 'Reaching 100M MQTT connections with EMQX 5.0' (23 nodes): "
    "<https://www.emqx.com/en/blog/reaching-100m-mqtt-connections-with-emqx-5-0>; EMQX "
    "Clustering (licence note): "
    "<https://docs.emqx.com/en/emqx/latest/develop/cluster/introduction.md>",
    "- VerneMQ, 'Shared subscriptions' (distribution policies): "
    "<https://github.com/vernemq/vmq-docs/blob/1.8.0/configuration/shared_subscriptions.md>",
    "- VerneMQ Docker image README (licence and EULA of the binary packages): "
    "<https://github.com/vernemq/docker-vernemq>",
)


def build(results: Mapping[str, Any], long: Mapping[str, Any] | None,
          a: Assumptions | None = None) -> str:
    a = a or Assumptions()
    m = measured_from(results, long)
    return render([plan(s, m, a) for s in SCENARIOS], m, a, results)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench.capacity", description=__doc__.split("\n\n")[0])
    p.add_argument("--results", type=Path, default=DEFAULT_RESULTS)
    p.add_argument("--long", type=Path, default=DEFAULT_LONG)
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    results = json.loads(args.results.read_text()) if args.results.exists() else {}
    long = json.loads(args.long.read_text()) if args.long.exists() else None
    if not results and not long:
        raise SystemExit(f"bench.capacity: neither {args.results} nor {args.long} exists: "
                         "run `make bench` or `python -m bench.run --long` first")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(build(results, long))
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
