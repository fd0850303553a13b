"""J-Credit batches: plan a monitoring period, seal it in the log, write the signed report.

A batch is sealed (``eco.batch/v1``) before its report exists, so what it covers is fixed in the
log; the report's sample is then drawn from the root of a checkpoint that includes the seal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from eco_protocol.canonical import canonical_bytes
from eco_protocol.coverage import EV, PV, exclusion_totals, household_rows
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import msg
from eco_protocol.methodology import JST, credits, fiscal_years_between, seal_problems
from eco_protocol.note import Checkpoint
from eco_protocol.programme_records import (
    BatchSeal,
    Certification,
    Period,
    Totals,
)
from eco_protocol.results import households_table, results_table
from eco_protocol.sample import sample_positions
from eco_protocol.signing import sign_record
from eco_protocol.verdict import period_jst

from .accounting import CoveredReading, LedgerView, covered_digest, covered_readings, scan
from .claims import net_covered, sealed_claim_entry
from .credentials import report_credential_beside
from .did_web import Issuer
from .errors import Rejected
from .export import export_evidence
from .ledger import Ledger
from .programme import Programme
from .progress import ProgressCallback
from .store.interface import CheckpointRow


def period_from_dates(text: str, today: datetime | None = None) -> Period:
    """``2026-04-01..2026-10-01``: JST dates, end exclusive; or ``previous-month`` (JST)."""
    if text == "previous-month":
        now = (today or datetime.now(UTC)).astimezone(JST)
        first = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        prev = (first - timedelta(days=1)).replace(day=1)
        text = f"{prev:%Y-%m-%d}..{first:%Y-%m-%d}"
    try:
        a, b = text.split("..")
        start = datetime.combine(datetime.strptime(a, "%Y-%m-%d").date(), time(), JST)
        end = datetime.combine(datetime.strptime(b, "%Y-%m-%d").date(), time(), JST)
        return Period(format_time(start), format_time(end))
    except (ValueError, InvalidInput) as e:
        raise Rejected(msg("aggregator.batch.period_format", text=repr(text), error=str(e))) \
            from e


@dataclass(frozen=True)
class BatchPlan:
    batch_id: str
    programme: Programme
    period: Period
    covered: list[CoveredReading]
    households: list[dict[str, Any]]
    totals: Totals
    size_at_plan: int
    methodology: str = PV

    def seal_record(self) -> BatchSeal:
        return BatchSeal(self.batch_id, self.programme.id, self.period, len(self.covered),
                         covered_digest(self.covered), self.totals,
                         methodology=self.methodology)

    def preview(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "programme": self.programme.id,
                "methodology": self.methodology,
                "period": self.period.to_dict(), "covered_count": len(self.covered),
                "households": len(self.households), "totals": self.totals.to_dict(),
                "exclusions": exclusion_totals(self.covered)}


def plan_batch(view: LedgerView, programme: Programme, period: Period,
               methodology: str = PV) -> BatchPlan:
    """One batch = one period of one methodology (``pv`` or ``ev``): the J-Credit methodologies
    are different, so their reductions are never summed, and each has its own carry-over."""
    if methodology not in (PV, EV):
        raise Rejected(msg("aggregator.batch.methodology", methodology=repr(methodology)))
    probe = BatchSeal("probe", programme.id, period, 0, "0" * 64, Totals(0, 0, 0, 0),
                      methodology=methodology)
    seals = view.programme_seals(programme.id)
    for _, seal in seals:
        if seal.competes_with(probe) and seal.period.overlaps(period):
            raise Rejected(msg("aggregator.batch.overlap",
                               period=period_jst(period.start, period.end), batch=seal.batch_id,
                               other=period_jst(seal.period.start, seal.period.end)))
    problems = seal_problems(programme.methodology, programme.rules,
                             fiscal_years_between(period.start_dt, period.end_dt))
    if problems:
        raise Rejected(msg("aggregator.batch.factors", problems="; ".join(problems)))
    previous = [s for _, s in seals if s.methodology == methodology]
    carry_in = previous[-1].totals.carry_over_g if previous else 0
    covered = covered_readings(view, programme.id, period, view.size, methodology)
    households = household_rows(net_covered(view, covered, view.size), view.terms,
                                programme.methodology, programme.rules, methodology)
    total = sum(h["reduction_g"] for h in households)
    credits_t, carry_over = credits(total, carry_in)
    batch_id = (f"{programme.id}:{methodology}:{period.start_dt.astimezone(JST):%Y-%m-%d}.."
                f"{period.end_dt.astimezone(JST):%Y-%m-%d}")
    return BatchPlan(batch_id, programme, period, covered, households,
                     Totals(total, carry_in, credits_t, carry_over), view.size, methodology)


def seal_batch(ledger: Ledger, plan: BatchPlan) -> int:
    """Append the seal; refuses if the log moved on in a way that changes the plan."""
    with ledger.store.transaction():
        view = scan(ledger.store, rules=plan.programme.rules)
        again = plan_batch(view, plan.programme, plan.period, plan.methodology)
        if again.seal_record() != plan.seal_record():
            raise Rejected(msg("aggregator.batch.moved"))
        entry = canonical_bytes(sign_record(plan.seal_record().to_dict(),
                                            ledger.signer.private_key))
        index = ledger.append([entry, sealed_claim_entry(ledger, plan.seal_record())])[0]
    ledger.checkpoint_now()
    return index


def certify_batch(ledger: Ledger, programme: Programme, batch_id: str, first: str,
                  last: str) -> int:
    with ledger.store.transaction():
        view = scan(ledger.store)
        if not any(s.batch_id == batch_id for _, s in view.programme_seals(programme.id)):
            raise Rejected(msg("aggregator.batch.not_sealed", batch=batch_id,
                               programme=programme.id))
        if any(c.batch_id == batch_id for _, c in view.certifications):
            raise Rejected(msg("aggregator.batch.certified", batch=batch_id))
        rec = Certification(batch_id, programme.id, first, last,
                            format_time(datetime.now(UTC).replace(microsecond=0)))
        entry = canonical_bytes(sign_record(rec.to_dict(), ledger.signer.private_key))
        (index,) = ledger.append([entry])
    ledger.checkpoint_now()
    return index


# --- the report --------------------------------------------------------------------------------


def proved(ledger: Ledger, index: int, size: int) -> dict[str, Any]:
    return {"index": index, "entry_b64": b64encode(ledger.store.entry(index)),
            "proof_b64": [b64encode(h) for h in ledger.inclusion_proof(index, size)]}


def build_report(ledger: Ledger, programme: Programme, batch_id: str,
                 checkpoint_note: str,
                 progress: ProgressCallback | None = None) -> dict[str, Any]:
    """The signed ``report.json`` of docs/protocol.md §5 for a sealed batch."""
    cp = Checkpoint.from_text(checkpoint_note.split("\n\n", 1)[0] + "\n")
    view = scan(ledger.store, cp.size, progress, programme.rules)
    seals = view.programme_seals(programme.id)
    found = [(i, s) for i, s in seals if s.batch_id == batch_id]
    if not found:
        raise Rejected(msg("aggregator.batch.not_sealed_below", batch=batch_id, size=cp.size))
    seal_index, seal = found[0]
    covered = covered_readings(view, programme.id, seal.period, seal_index, seal.methodology)
    if len(covered) != seal.covered_count or covered_digest(covered) != seal.covered_digest:
        raise Rejected(msg("aggregator.batch.store_differs", batch=batch_id))
    households = household_rows(net_covered(view, covered, seal_index), view.terms,
                                programme.methodology, programme.rules, seal.methodology)
    positions = sample_positions(cp.root_hash, [r.household for r in covered])
    in_batch = {r.household for r in covered}
    devices = sorted(d for d, (i, e) in view.enrolments.items()
                     if e.household in in_batch and i < seal_index)
    certified = next(({"first": c.first, "last": c.last} for _, c in view.certifications
                      if c.batch_id == batch_id), None)
    report: dict[str, Any] = {
        "type": "eco.batch-report/v1", "batch_id": batch_id, "programme": programme.id,
        "period": seal.period.to_dict(),
        "methodology": {**programme.methodology.to_dict(), "programme": programme.info(),
                        "rules": programme.rules.to_dict()},
        "households": households,
        "exclusions": exclusion_totals(covered),
        "totals": seal.totals.to_dict(),
        "certified_serials": certified,
        "seal": proved(ledger, seal_index, cp.size),
        "previous_seals": [proved(ledger, i, cp.size) for i, s in seals
                           if i < seal_index and s.competes_with(seal)],
        "sample": [proved(ledger, covered[p].index, cp.size) for p in positions],
        "enrolments": [proved(ledger, view.enrolments[d][0], cp.size) for d in devices],
        "checkpoint": checkpoint_note,
        "log_key": ledger.signer.verifier.vkey,
    }
    if programme.rules.demonstration:
        report["demonstration"] = True
    chain = ledger.key_chain()
    if chain.key_at(cp.size).vkey != ledger.signer.verifier.vkey:
        raise Rejected(f"the checkpoint of size {cp.size} predates the log's current key; "
                       "sign a new checkpoint and build the report on it")
    if chain.changed_at:  # the buyer may have pinned any earlier key: show the way to this one
        report["log_key_changes"] = [proved(ledger, i, cp.size) for i in chain.changed_at]
    return sign_record(report, ledger.signer.private_key)


def write_report(ledger: Ledger, programme: Programme, batch_id: str, out: Path,
                 witness_vkeys: list[str] | None = None,
                 progress: ProgressCallback | None = None,
                 checkpoint: CheckpointRow | None = None,
                 issuer: Issuer | None = None) -> dict[str, Any]:
    """report.json, results.csv, households.csv and evidence/ for a sealed batch, into
    ``out``: on a new checkpoint, or on ``checkpoint`` (one a witness cosigned, so the report
    carries the cosignature); with the municipality's did:web ``issuer``, also the buyer's
    summary credential beside report.json (aggregator/credentials.py)."""
    if checkpoint is None:
        ledger.checkpoint_now()
        checkpoint = ledger.latest_checkpoint()
    assert checkpoint is not None
    out.mkdir(parents=True, exist_ok=True)
    export_evidence(ledger, out / "evidence", witness_vkeys, progress, checkpoint)
    note = (out / "evidence" / "checkpoint").read_text("utf-8")
    report = build_report(ledger, programme, batch_id, note, progress)
    (out / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n",
                                     "utf-8")
    (out / "results.csv").write_text(results_table(report), "utf-8")
    (out / "households.csv").write_text(households_table(report), "utf-8")
    report_credential_beside(issuer, ledger, report, out)
    return report


def report_anchor(view: LedgerView, programme: str, batch_id: str) -> int | None:
    """The log index a report must hold: the batch's seal or its latest certification (None:
    no such sealed batch)."""
    seal_at = [i for i, s in view.programme_seals(programme) if s.batch_id == batch_id]
    if not seal_at:
        return None
    return max([seal_at[0], *(i for i, c in view.certifications if c.batch_id == batch_id)])


def next_period_start(view: LedgerView, programme: str) -> datetime | None:
    seals = view.programme_seals(programme)
    return seals[-1][1].period.end_dt if seals else None


__all__ = ["BatchPlan", "build_report", "certify_batch", "period_from_dates", "plan_batch",
           "report_anchor", "results_table", "seal_batch", "write_report", "next_period_start"]
