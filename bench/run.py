"""``python -m bench.run [--quick] [--ingest-only] [--long] [--out FILE] [--readme FILE]``: run
every benchmark, write the results as one flat JSON object and the table in README.md.

``--quick`` scales everything down to run in under a minute (the test suite runs it once to keep
the benchmark working); its numbers are for that purpose only and it never touches README.md
unless ``--readme`` is given explicitly. ``--ingest-only`` runs just the ingest rounds (SQLite
and PostgreSQL, 1 and 2 workers) and prints their figures, for work on the ingest path.

``--long`` (or ``--backlog-devices N``) runs only the long backlog: a day (48 readings) of
100,000 devices (or N) queued in the broker while the aggregator is down, then drained by 2
workers on SQLite and on PostgreSQL; it writes ``bench/results-long.json`` (the per-log figures
``bench/capacity.py`` plans from), never README.md. Neither ``make bench`` nor ``--quick`` runs
it: 4.8 M signed readings take tens of minutes on two cores.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.mosquitto import Mosquitto
from tests.support.postgres_kit import PostgresServer

from . import agent, flood, ingest, machine, proofs, verify
from .harness import AggregatorDir
from .machine import Samples, machine_info
from .readme import render_table, update_readme
from .town import DeviceBatch, make_town, verify_samples

log = logging.getLogger("bench")

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results.json"
DEFAULT_README = HERE.parent / "README.md"
DEFAULT_LONG_OUT = HERE / "results-long.json"
LONG_BACKLOG_DEVICES = 100_000


@dataclass(frozen=True)
class Scale:
    """How big each benchmark is."""

    quick: bool
    ingest_devices: int  # × 64 readings, one message each
    backlog_devices: int  # × 48 readings (one day), one message each
    proof_sizes: tuple[int, ...]
    proof_count: int
    report_devices: int  # × 48 intervals × 2 meters
    agent_speed: float
    agent_window_s: float
    reference_s: float  # each bare-verify measurement around a run
    rounds: int  # ingest rounds (1 worker, 2 workers, PostgreSQL), the median reported
    flood_s: float = 20.0  # flood (and baseline) duration; the native flooder in full runs only


FULL = Scale(False, 600, 10_000, (10_000, 100_000, 1_000_000), 2000, 220, 1800.0, 30.0, 1.0, 3)
QUICK = Scale(True, 24, 60, (10_000, 100_000), 200, 6, 3600.0, 1.5, 0.2, 1, flood_s=1.0)


def _step(name: str, fn: Callable[[], Any]) -> Any:
    log.info("%s …", name)
    started = time.monotonic()
    out = fn()
    log.info("%s done in %.1f s", name, time.monotonic() - started)
    return out


def _median(values: Iterable[float]) -> float:
    return round(statistics.median(values), 3)


def _each(values: Iterable[float]) -> str:
    """Every round's value, for the record (the figure itself is the median)."""
    return " ".join(f"{v:.3f}" for v in values)


@dataclass(frozen=True)
class IngestRound:
    """One round of the ingest benchmark: the same town through four fresh stores."""

    one: ingest.IngestResult  # 1 worker, SQLite
    two: ingest.IngestResult  # 2 workers, SQLite
    pg1: ingest.IngestResult  # 1 worker, PostgreSQL
    pg2: ingest.IngestResult  # 2 workers, PostgreSQL


def _ingest_round(k: int, scale: Scale, tmp: Path, broker: Mosquitto,
                  town: Sequence[DeviceBatch], samples: Samples) -> IngestRound:
    """1 worker on SQLite, 2 workers on SQLite, 1 and 2 workers on PostgreSQL, back to back,
    each on a fresh store with the same town."""
    one = _step(f"round {k + 1}: ingest, 1 worker, SQLite",
                lambda: ingest.ingest(tmp, broker, town, samples, name=f"w1-{k}"))
    two = _step(f"round {k + 1}: ingest, 2 workers, SQLite",
                lambda: ingest.ingest(tmp, broker, town, samples, name=f"w2-{k}", workers=2))
    with PostgresServer() as pg:
        url = pg.create_database(f"bench_{k}")
        pg1 = _step(f"round {k + 1}: ingest, 1 worker, PostgreSQL",
                    lambda: ingest.ingest(tmp, broker, town, samples, name=f"pg1-{k}",
                                          store_url=url))
        url2 = pg.create_database(f"bench_{k}_2w")
        pg2 = _step(f"round {k + 1}: ingest, 2 workers, PostgreSQL",
                    lambda: ingest.ingest(tmp, broker, town, samples, name=f"pg2-{k}",
                                          store_url=url2, workers=2))
    return IngestRound(one, two, pg1, pg2)


def ingest_figures(rounds: Sequence[IngestRound]) -> dict[str, Any]:
    """The ingest figures of the results: each ratio the median over the rounds, numerator and
    reference from one round (other engineers' load moves whole rounds, not single runs)."""
    # rates and sizes shown from the round with the median 1-worker ratio
    mid = sorted(rounds, key=lambda r: r.one.rate / r.one.bare.wall)[len(rounds) // 2]
    one, two, pg1, pg2 = mid.one, mid.two, mid.pg1, mid.pg2
    return {
        "bare_verify_per_s": round(one.bare.wall),
        "bare_verify_per_cpu_s": round(one.bare.cpu),
        "ingest_ratio_1w": _median(r.one.rate / r.one.bare.wall for r in rounds),
        "ingest_ratio_2w": _median(r.two.rate / r.one.rate for r in rounds),
        "ingest_pg_ratio": _median(r.pg1.rate / r.one.rate for r in rounds),
        "ingest_pg_ratio_2w": _median(r.pg2.rate / r.pg1.rate for r in rounds),
        "ingest_rounds": len(rounds),
        "ingest_ratio_1w_rounds": _each(r.one.rate / r.one.bare.wall for r in rounds),
        "ingest_ratio_2w_rounds": _each(r.two.rate / r.one.rate for r in rounds),
        "ingest_pg_ratio_rounds": _each(r.pg1.rate / r.one.rate for r in rounds),
        "ingest_pg_ratio_2w_rounds": _each(r.pg2.rate / r.pg1.rate for r in rounds),
        "ingest_rate_1w": round(one.rate),
        "ingest_rate_2w": round(two.rate),
        "ingest_rate_pg_1w": round(pg1.rate),
        "ingest_rate_pg_2w": round(pg2.rate),
        "ingest_2w_vs_bare": _median(r.two.rate / r.two.bare.wall for r in rounds),
        # CPU view, steadier under load: readings per CPU-second of the serve process(es)
        # ÷ bare verifications per CPU-second of this process
        "ingest_cpu_ratio_1w": _median(r.one.readings / r.one.worker_cpu_s / r.one.bare.cpu
                                       for r in rounds),
        "ingest_cpu_ratio_pg": _median(r.pg1.readings / r.pg1.worker_cpu_s / r.pg1.bare.cpu
                                       for r in rounds),
        "ingest_readings": one.readings,
        "bytes_per_reading_pg": round(pg1.bytes_per_reading),
    }


def _backlog(scale: Scale, tmp: Path,
             broker: Mosquitto) -> tuple[ingest.BacklogResult, ingest.BacklogResult]:
    """A day (48 half-hours) of every device, one 48-reading message per device (the agent
    sends up to 64 readings per message, so a day's backlog of one meter fits one), drained by
    2 workers on SQLite and then on PostgreSQL (issue 16's target, >= 4,000 readings/s, is
    stated for two workers on SQLite, with the PostgreSQL figure beside it)."""
    town = _step("generate backlog town",
                 lambda: make_town(scale.backlog_devices, 48, seed=2, first=100_000))
    sqlite: ingest.BacklogResult = _step(
        "backlog, 2 workers", lambda: ingest.backlog(tmp, broker, town, workers=2))
    with PostgresServer() as pg:
        url = pg.create_database("bench_backlog")
        postgres: ingest.BacklogResult = _step(
            "backlog, 2 workers, PostgreSQL",
            lambda: ingest.backlog(tmp, broker, town, name="backlog-pg", workers=2,
                                   store_url=url))
    return sqlite, postgres


def run_ingest(scale: Scale, tmp: Path) -> dict[str, Any]:
    """Only the ingest rounds (``--ingest-only``): for working on the ingest path, a couple of
    minutes instead of the whole benchmark."""
    machine.REFERENCE_SECONDS = scale.reference_s
    results: dict[str, Any] = {"quick": scale.quick, **machine_info()}
    with Mosquitto(tmp / "broker") as broker:
        results.update(_ingest_rounds(scale, tmp, broker)[1])
    return results


def _ingest_rounds(scale: Scale, tmp: Path,
                   broker: Mosquitto) -> tuple[Samples, dict[str, Any]]:
    """The ingest town, ``scale.rounds`` rounds of it and their figures; the verify samples
    too, the reference the later benchmarks measure against."""
    town = _step("generate ingest town", lambda: make_town(scale.ingest_devices, 64, seed=1))
    samples = verify_samples(town, 4000)
    rounds = [_ingest_round(k, scale, tmp, broker, town, samples) for k in range(scale.rounds)]
    return samples, ingest_figures(rounds)


Checkpoint = Callable[[dict[str, Any]], None]


def run_long(devices: int, workers: int, postgres: bool, tmp: Path,
             checkpoint: Checkpoint | None = None) -> dict[str, Any]:
    """The long backlog (``--long``): one town of ``devices`` × 48 readings, drained by
    ``workers`` workers on SQLite and then, with ``postgres``, on a fresh PostgreSQL database.
    ``checkpoint`` gets the figures so far after each store, so a PostgreSQL drain stopped part
    way (it takes twice SQLite's time) does not take the SQLite figures with it."""
    results: dict[str, Any] = {"long": True, **machine_info()}
    loads: list[float] = []
    done = threading.Event()

    def sample_load() -> None:  # other work on the machine moves the figures: say how much
        while not done.wait(10.0):
            loads.append(os.getloadavg()[0])

    def with_load() -> dict[str, Any]:
        out = {**results, "load_average_at_end": round(os.getloadavg()[0], 2)}
        if loads:
            out["load_average_during"] = (f"median {statistics.median(loads):.2f}, "
                                          f"range {min(loads):.2f}–{max(loads):.2f}, "
                                          f"1-min load average sampled every 10 s")
        return out

    seen = [0]  # samples already credited to an earlier store

    def stored(label: str) -> None:
        part, seen[0] = loads[seen[0]:], len(loads)
        if part:  # this store's enrolment, queueing and drain (the town's generation first)
            results[f"long_{label}_load_median"] = round(statistics.median(part), 2)
        if checkpoint:
            checkpoint(with_load())

    sampler = threading.Thread(target=sample_load, daemon=True)
    sampler.start()
    try:
        _long_stores(devices, workers, postgres, tmp, results, stored)
    finally:
        done.set()
        sampler.join()
    return with_load()


def _long_stores(devices: int, workers: int, postgres: bool, tmp: Path,
                 results: dict[str, Any], stored: Callable[[str], None]) -> None:
    """Generate the town once, then one backlog per store, each on a fresh store and its own
    broker sessions; the figures go into ``results``, and ``stored`` is called after each."""
    with Mosquitto(tmp / "broker") as broker:
        town = _step(f"generate backlog town ({devices:,} devices × 48)",
                     lambda: make_town(devices, 48, seed=2, first=100_000))
        stores = [("sqlite", "sqlite:///ledger.sqlite3")]
        with contextlib.ExitStack() as stack:
            if postgres:
                pg = stack.enter_context(PostgresServer())
                stores.append(("pg", pg.create_database("bench_long")))
            for label, url in stores:
                bl: ingest.BacklogResult = _step(
                    f"long backlog, {workers} workers, {label}",
                    lambda u=url, lb=label: ingest.backlog(tmp, broker, town,  # type: ignore[misc]
                                                           name=f"long-{lb}", workers=workers,
                                                           store_url=u))
                results.update(long_backlog_figures(label, bl))
                stored(label)


def merge_long(previous: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """A long run without PostgreSQL (``--no-postgres``) written over a file that has a
    PostgreSQL figure: keep that figure, and say which run (date, size, load) it came from."""
    if any(k.startswith("long_pg_") for k in new):
        return new
    pg = {k: v for k, v in previous.items() if k.startswith("long_pg_")}
    if not pg:
        return new
    if "long_pg_measured" in pg:  # kept from a run before that one: its label stays true
        return {**new, **pg}
    during = previous.get("load_average_during")
    pg["long_pg_measured"] = (f"{previous.get('date', '?')}, {pg.get('long_pg_devices', '?'):,} "
                              f"devices, load {previous.get('load_average_at_start', '?')} at "
                              f"start" + (f", during: {during}" if during else ""))
    return {**new, **pg}


def long_backlog_figures(label: str, bl: ingest.BacklogResult) -> dict[str, Any]:
    """One store's long-backlog figures, keys prefixed ``long_<label>_``."""
    p = f"long_{label}_"
    return {
        f"{p}devices": bl.devices,
        f"{p}readings": bl.readings,
        f"{p}messages": bl.messages,
        f"{p}workers": bl.workers,
        f"{p}seconds": round(bl.seconds, 1),
        f"{p}readings_per_s": round(bl.readings / bl.seconds),
        f"{p}readings_per_s_per_worker": round(bl.readings / bl.seconds / bl.workers),
        # the workers' CPU per reading: what the load of other work on the machine moves least
        f"{p}worker_cpu_us_per_reading": round(bl.worker_cpu_s / bl.readings * 1e6, 1),
        f"{p}publish_seconds": round(bl.publish_seconds, 1),
        f"{p}bytes_per_reading": round(bl.bytes_per_reading),
        f"{p}store_bytes": bl.store_bytes,
        # the bench's devices share one publisher connection; a deployment has one per device
        f"{p}broker_connections": bl.workers + 2,
    }


def merge_ingest(full: dict[str, Any], ingest_only: dict[str, Any]) -> dict[str, Any]:
    """A full run's results with the ingest figures of a later ``--ingest-only`` run in place
    of its own, and when (and under what load) those were measured: the table's heading
    keeps the full run's date, its ingest rows say theirs."""
    ours = ("ingest_", "bare_verify_", "bytes_per_reading_pg")
    merged = {**full, **{k: v for k, v in ingest_only.items() if k.startswith(ours)}}
    merged["ingest_measured"] = (f"{ingest_only.get('date', '?')}, load "
                                 f"{ingest_only.get('load_average_at_start', '?')} at start")
    return merged


def run(scale: Scale, tmp: Path) -> dict[str, Any]:
    machine.REFERENCE_SECONDS = scale.reference_s
    results: dict[str, Any] = {"quick": scale.quick, **machine_info()}
    with Mosquitto(tmp / "broker") as broker:
        samples, figures = _ingest_rounds(scale, tmp, broker)
        results.update(figures)

        ledger = AggregatorDir(tmp / "w1-0", "w1-0", broker.url).ledger()
        try:
            au = _step("ledger verify", lambda: verify.time_audit(ledger, samples))
        finally:
            ledger.store.close()
        results.update({"audit_ratio": round(au.rate / au.bare.wall, 3),
                        "audit_entries_per_s": round(au.rate), "audit_entries": au.count})

        rep_dir = tmp / "report-world"
        rep_dir.mkdir()
        out, vkey, n, rsamples = _step(
            "report world", lambda: verify.report_world(rep_dir, scale.report_devices, 48))
        rv = _step("eco-verify report with evidence",
                   lambda: verify.time_report(out, vkey, n, rsamples))
        results.update({"report_verify_ratio": round(rv.rate / rv.bare.wall, 3),
                        "report_readings_per_s": round(rv.rate), "report_readings": rv.count})

        results.update(_proof_figures(scale, tmp))

        bl, blpg = _backlog(scale, tmp, broker)
        results.update({
            "backlog_catchup": round(bl.seconds, 1),
            "backlog_devices": bl.devices,
            "backlog_readings": bl.readings,
            "backlog_readings_per_s": round(bl.readings / bl.seconds),
            "backlog_pg_catchup": round(blpg.seconds, 1),
            "backlog_pg_readings_per_s": round(blpg.readings / blpg.seconds),
            "backlog_scaled_down": scale.quick,
            "bytes_per_reading": round(bl.bytes_per_reading),
        })

        results.update(_step("flood", lambda: flood.flood_bench(tmp, broker,
                                                                 seconds=scale.flood_s)))
        if not scale.quick:
            results.update(_step("flood, native flooder", lambda: flood.flood_bench(
                tmp, broker, seconds=scale.flood_s, flooder_kind="c", prefix="flood_c_")))
            # the same flooder where serve can cut it off: a broker with device logins
            results.update(_step("flood, native flooder cut off", lambda: flood.flood_bench(
                tmp, None, seconds=scale.flood_s, prefix="flood_cut_", cutoff=True)))

        results.update(_agent_figures(scale, tmp, broker))
    return results


def _proof_figures(scale: Scale, tmp: Path) -> dict[str, Any]:
    """Inclusion and consistency proof times and reads, smallest and largest tree."""
    pt, built = _step("proofs", lambda: proofs.proof_bench(tmp, list(scale.proof_sizes),
                                                            scale.proof_count))
    small, big = pt[0], pt[-1]
    return {
        "proof_us_1m": round(big.inclusion_us, 1),
        "consistency_us_1m": round(big.consistency_us, 1),
        "proof_tree_size": big.size,
        "proof_us_10k": round(small.inclusion_us, 1),
        "consistency_us_10k": round(small.consistency_us, 1),
        "proof_growth_10k_to_max": round(big.inclusion_us / small.inclusion_us, 2),
        "consistency_growth_10k_to_max": round(big.consistency_us / small.consistency_us,
                                               2),
        "proof_reads_10k": round(small.inclusion_reads, 1),
        "proof_reads_max": round(big.inclusion_reads, 1),
        "proof_tree_build_s": round(built, 1),
    }


def _agent_figures(scale: Scale, tmp: Path, broker: Mosquitto) -> dict[str, Any]:
    """The agent on a Pi's budget: memory, CPU per reading, start-up time."""
    ag = _step("agent", lambda: agent.agent_bench(tmp, broker, speed=scale.agent_speed,
                                                   window_s=scale.agent_window_s))
    results = {
        "agent_rss_mb": round(ag.rss_mb, 1),
        "agent_peak_rss_mb": round(ag.peak_rss_mb, 1),
        "agent_cpu_ms_per_reading": round(ag.cpu_ms_per_reading, 2),
        "agent_start_s": round(ag.start_s, 2),
        "agent_readings_measured": ag.readings,
        "agent_clock_speed": ag.speed,
        "agent_poll_seconds": ag.poll_seconds,
    }
    if not scale.quick:
        ag1 = _step("agent, one poll per interval",
                    lambda: agent.agent_bench(tmp / "agent-1poll", broker,
                                              speed=scale.agent_speed,
                                              window_s=scale.agent_window_s,
                                              poll_seconds=1800))
        results["agent_cpu_ms_per_reading_1poll"] = round(ag1.cpu_ms_per_reading, 2)
    return results


def _timed_in_scratch(prefix: str, keep: bool,
                      body: Callable[[Path], dict[str, Any]]) -> dict[str, Any]:
    """``body`` in a fresh temporary directory (removed after, unless ``keep``), its figures
    with ``bench_seconds`` added."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    started = time.monotonic()
    try:
        results = body(tmp)
    finally:
        if keep:
            log.info("kept %s", tmp)
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    results["bench_seconds"] = round(time.monotonic() - started, 1)
    return results


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="small and fast: keeps the code working")
    p.add_argument("--out", type=Path, default=None,
                   help=f"results file (default {DEFAULT_OUT.relative_to(HERE.parent)})")
    p.add_argument("--readme", type=Path, default=None,
                   help="README to update between the bench markers (default: README.md for a "
                        "full run, none for --quick)")
    p.add_argument("--keep", action="store_true", help="keep the temporary directory")
    p.add_argument("--ingest-only", action="store_true",
                   help="run only the ingest rounds and print their figures; with --out, "
                        "they replace the ingest figures of that results file (the others "
                        "stay, the file says when the ingest was measured), and --readme "
                        "renders the table from the merged file")
    p.add_argument("--long", action="store_true",
                   help=f"run only the long backlog: {LONG_BACKLOG_DEVICES:,} devices × 48 "
                        f"readings, 2 workers, SQLite then PostgreSQL; writes "
                        f"{DEFAULT_LONG_OUT.relative_to(HERE.parent)} (or --out), not README.md")
    p.add_argument("--backlog-devices", type=int, default=None, metavar="N",
                   help="the long backlog with N devices instead (implies --long)")
    p.add_argument("--backlog-workers", type=int, default=2, metavar="N",
                   help="workers draining the long backlog (default 2)")
    p.add_argument("--no-postgres", action="store_true",
                   help="the long backlog on SQLite only")
    args = p.parse_args(argv)
    if args.backlog_devices is not None or args.long:
        return _main_long(args)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s bench: %(message)s")
    logging.getLogger("aggregator").setLevel(logging.WARNING)
    scale = QUICK if args.quick else FULL
    partial = args.ingest_only
    out = args.out or (None if partial else DEFAULT_OUT)
    readme = args.readme or (None if args.quick or partial else DEFAULT_README)
    results = _timed_in_scratch(
        "eco-bench-", args.keep,
        lambda tmp: run_ingest(scale, tmp) if partial else run(scale, tmp))
    if partial:
        print(json.dumps(results, indent=2, sort_keys=True))
        if out is not None and out.exists():
            results = merge_ingest(json.loads(out.read_text()), results)
    text = json.dumps(results, indent=2, sort_keys=True) + "\n"
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(text)
        log.info("wrote %s", out)
    table = render_table(results)
    print(table)
    if readme is not None:
        update_readme(readme, table)
        log.info("updated %s", readme)
    return 0


def _main_long(args: argparse.Namespace) -> int:
    """``--long``: run the long backlog, print and write its figures (README.md untouched)."""
    devices = args.backlog_devices or LONG_BACKLOG_DEVICES
    if devices < 1 or args.backlog_workers < 1:
        raise SystemExit("bench: --backlog-devices and --backlog-workers must be at least 1")
    if args.quick or args.ingest_only or args.readme is not None:
        raise SystemExit("bench: --long runs alone (not with --quick, --ingest-only, --readme)")
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s bench: %(message)s")
    logging.getLogger("aggregator").setLevel(logging.WARNING)
    out = args.out or DEFAULT_LONG_OUT
    previous = json.loads(out.read_text()) if out.exists() else {}

    def write(results: dict[str, Any]) -> None:
        merged = merge_long(previous, results) if previous else results
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(merged, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        log.info("wrote %s", out)

    results = _timed_in_scratch(
        "eco-bench-long-", args.keep,
        lambda tmp: run_long(devices, args.backlog_workers, not args.no_postgres, tmp, write))
    print(json.dumps(results, indent=2, sort_keys=True, ensure_ascii=False))
    write(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
