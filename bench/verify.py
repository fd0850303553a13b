"""Re-verification rates: the operator's ``ledger verify`` and the buyer's ``eco-verify`` of a
batch report with its full evidence, each against bare Ed25519 verifications of the same
readings."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.audit import audit
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.store.sqlite import SqliteStore
from eco_protocol.canonical import parse_json
from eco_protocol.encoding import format_time
from eco_protocol.methodology import JST
from eco_protocol.note import NoteSigner
from eco_protocol.report import verify_report

from .machine import Reference, Samples, bracketed
from .town import PROGRAMME, enrol_town, make_town, verify_samples


@dataclass(frozen=True)
class VerifyResult:
    rate: float  # entries (audit) or readings (report) per second
    bare: Reference
    count: int
    seconds: float


def time_audit(ledger: Ledger, samples: Samples) -> VerifyResult:
    """``eco-aggregator ledger verify`` (:func:`aggregator.audit.audit`) over a whole ledger."""

    def work() -> tuple[int, float]:
        started = time.perf_counter()
        report = audit(ledger)
        return report.size, time.perf_counter() - started

    (size, seconds), bare = bracketed(samples, work)
    return VerifyResult(size / seconds, bare, size, seconds)


def report_world(tmp: Path, devices: int, intervals: int) -> tuple[Path, str, int, Samples]:
    """A ledger with PV and export readings of ``devices`` households over ``intervals``
    half-hours, a sealed batch covering all of them and its report with evidence. Returns the
    report directory, the log's verifier key, the number of readings and verify samples."""
    signer = NoteSigner("eco-ledger.report.bench", Ed25519PrivateKey.generate())
    ledger = Ledger(SqliteStore(tmp / "report.sqlite3"), signer, tmp / "checkpoint.latest")
    (tmp / "programme.toml").write_text(example_programme(PROGRAMME))
    programme = load_programme(tmp / "programme.toml")
    now = datetime.now(UTC)
    town = make_town(devices, intervals, seed=3, meters=2, now=now)
    enrol_town(ledger, town, meters=2)
    intake = Intake(ledger)
    at = format_time(now)
    batch: list[tuple[str, bytes]] = []
    for d in town:
        batch.extend((d.topic, m) for m in d.messages)
        if len(batch) >= 64:
            _ingest(intake, batch, at)
            batch = []
    if batch:
        _ingest(intake, batch, at)
    first = (now - timedelta(minutes=30 * (intervals + 1))).astimezone(JST).date()
    last = now.astimezone(JST).date() + timedelta(days=1)
    plan = plan_batch(scan(ledger.store), programme, period_from_dates(f"{first}..{last}"))
    seal_batch(ledger, plan)
    out = tmp / "report"
    write_report(ledger, programme, plan.batch_id, out)
    vkey = signer.verifier.vkey
    readings = sum(d.readings for d in town)
    if len(plan.covered) != readings:
        raise RuntimeError(f"the batch covers {len(plan.covered)} of {readings} readings")
    ledger.store.close()
    return out, vkey, readings, verify_samples(town, 4000)


def _ingest(intake: Intake, batch: list[tuple[str, bytes]], at: str) -> None:
    for o in intake.process(batch, at):
        if o.rejected or o.problem:
            raise RuntimeError(f"report world: {o.problem or o.receipt}")


def time_report(out: Path, vkey: str, readings: int, samples: Samples) -> VerifyResult:
    """What ``eco-verify report.json --log-key K --evidence DIR`` does, timed from reading the
    files to the verdict."""

    def work() -> tuple[int, float]:
        started = time.perf_counter()
        report = parse_json((out / "report.json").read_text("utf-8"))
        with (out / "evidence" / "entries.jsonl").open(encoding="utf-8") as f:
            lines = (line.rstrip("\n") for line in f)
            res = verify_report(report, vkey, [], 0,
                                ((out / "evidence" / "checkpoint").read_text("utf-8"), lines))
        seconds = time.perf_counter() - started
        if res.evidence_readings != readings:
            raise RuntimeError(f"eco-verify checked {res.evidence_readings} of {readings}")
        return res.evidence_readings, seconds

    (n, seconds), bare = bracketed(samples, work)
    return VerifyResult(n / seconds, bare, n, seconds)
