"""Reading the ledger as the programme's books: households, readings, seals, redemptions.

Everything the municipality reports (points balances, batches) is derived from the log itself,
never from a separate counter that could drift: :func:`scan` reads the entries once and the pure
functions below compute from that view.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.claims import CLAIM_TYPE, Claim
from eco_protocol.coverage import LedgerReading, covered_digest, covers, select_covered
from eco_protocol.creditability import DEFAULT_RULES, CreditRules, CreditTracker
from eco_protocol.encoding import parse_time
from eco_protocol.merkle import leaf_hash
from eco_protocol.methodology import (
    HouseholdTerms,
    ReadingFacts,
    daily_reduction_g,
    day_of,
    household_terms,
)
from eco_protocol.programme_records import BatchSeal, Certification, Period, Redemption
from eco_protocol.records import QUARANTINE_TYPE, RELEASE_TYPE, Enrolment, Reading

__all__ = ["covered_digest"]

from .programme import Programme
from .progress import ProgressCallback, every
from .store.interface import LedgerStore

CoveredReading = LedgerReading


@dataclass
class LedgerView:
    """The log read as books. ``rules`` are the programme's crediting rules: each reading is
    judged against them as it is read, in log order, exactly as the buyer's verifier will."""

    rules: CreditRules = DEFAULT_RULES
    size: int = 0
    enrolments: dict[str, tuple[int, Enrolment]] = field(default_factory=dict)
    readings: list[CoveredReading] = field(default_factory=list)
    seals: list[tuple[int, BatchSeal]] = field(default_factory=list)
    redemptions: list[tuple[int, Redemption]] = field(default_factory=list)
    certifications: list[tuple[int, Certification]] = field(default_factory=list)
    claims: list[tuple[int, Claim]] = field(default_factory=list)  # eco.claim/v1 (issue 19)
    credit: CreditTracker = field(init=False)

    def __post_init__(self) -> None:
        self.credit = CreditTracker(self.rules)

    def household_devices(self, programme: str) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for dev, (_, e) in self.enrolments.items():
            if e.programme == programme:
                out.setdefault(e.household, []).append(dev)
        return out

    def creditable_facts(self, household: str) -> list[ReadingFacts]:
        """The household's readings that may earn credit: the only ones points, charts and
        credits are made of."""
        return [r.facts for r in self.readings
                if r.household == household and r.excluded is None]

    def terms(self, household: str) -> HouseholdTerms:
        return household_terms(e for _, e in self.enrolments.values() if e.household == household)

    def programme_seals(self, programme: str) -> list[tuple[int, BatchSeal]]:
        return [(i, s) for i, s in self.seals if s.programme == programme]


def scan(store: LedgerStore, upto: int | None = None,
         progress: ProgressCallback | None = None,
         rules: CreditRules = DEFAULT_RULES) -> LedgerView:
    """One pass over the entries below ``upto`` (default: all), judging readings under
    ``rules``."""
    size = store.size() if upto is None else upto
    return extend_view(LedgerView(rules), store, size, progress)


def extend_view(view: LedgerView, store: LedgerStore, upto: int,
                progress: ProgressCallback | None = None) -> LedgerView:
    """Read entries ``view.size`` … ``upto - 1`` into ``view``. The log is append-only, so a
    view kept by a long-running reader (the web UI) grows by reading only the new entries."""
    start = view.size
    for index, data in store.entries(start, upto):
        obj = parse_json(data)
        t = obj["type"]
        if t == "eco.reading/v1":
            reading = Reading.from_dict(obj)
            enrolled = view.enrolments.get(reading.device_id)
            hh = enrolled[1].household if enrolled else ""
            # a logged reading always has its enrolment before it (the intake and the audit
            # refuse anything else); without one it could never be creditable
            excluded = (view.credit.add(reading, enrolled[1]) if enrolled else None)
            view.readings.append(CoveredReading(
                index, reading.device_id, hh, reading.quantity, reading.start_dt,
                reading.end_dt, reading.energy_wh, leaf_hash(data),
                None if excluded is None else excluded.rule.value))
        elif t == "eco.enrol/v1":
            view.enrolments[obj["device_id"]] = (index, Enrolment.from_dict(obj))
        elif t == QUARANTINE_TYPE:
            view.credit.quarantine(obj["device_id"], index)
        elif t == RELEASE_TYPE:
            view.credit.release(obj["device_id"])
        elif t == "eco.batch/v1":
            view.seals.append((index, BatchSeal.from_dict(obj)))
        elif t == "eco.redeem/v1":
            view.redemptions.append((index, Redemption.from_dict(obj)))
        elif t == "eco.certify/v1":
            view.certifications.append((index, Certification.from_dict(obj)))
        elif t == CLAIM_TYPE:
            view.claims.append((index, Claim.from_dict(obj)))
        every(progress, "scan", index + 1 - start, upto - start)
    view.size = max(view.size, upto)
    return view


def covered_readings(view: LedgerView, programme: str, period: Period, before: int,
                     methodology: str | None = None) -> list[CoveredReading]:
    """docs/protocol.md §5: readings before ``before`` inside the period, from the programme's
    devices, of the methodology's quantities, in leaf-index order."""
    programme_of = {d: e.programme for d, (_, e) in view.enrolments.items()}
    return select_covered(view.readings, programme_of, programme, period, before, methodology)


def late_readings(view: LedgerView, programme: str) -> list[tuple[str, CoveredReading]]:
    """Readings appended after the seal of the period they fall in: logged, never credited."""
    out = []
    for seal_index, seal in view.programme_seals(programme):
        for r in view.readings:
            if r.index > seal_index and seal.period.contains(r.start, r.end) and \
                    covers(seal.methodology, r.quantity) and \
                    r.device_id in view.enrolments and \
                    view.enrolments[r.device_id][1].programme == programme:
                out.append((seal.batch_id, r))
    return out


# --- eco-points ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PointsStatement:
    household: str
    reduction_g: int
    earned: int
    redeemed: int
    days: tuple[tuple[str, int], ...]

    expired: int = 0

    @property
    def balance(self) -> int:
        return self.earned - self.redeemed - self.expired


def remaining_after_expiry(lots: Sequence[tuple[str, Fraction]],
                           spends: Sequence[tuple[str, int]], expiry_days: int,
                           today: str) -> Fraction:
    """Points still valid on ``today``: each day's points (a lot) expire ``expiry_days`` after
    that day; a redemption spends the oldest valid lots first. Days are ``YYYY-MM-DD`` (JST).
    Pure; exact fractions, so no remainder is lost before the final floor."""
    def cutoff(day: str) -> str:
        return (date.fromisoformat(day) - timedelta(days=expiry_days)).isoformat()

    queue: deque[list[Any]] = deque()
    events = sorted([(d, 0, p) for d, p in lots] + [(d, 1, p) for d, p in spends])
    for day, kind, amount in events:
        while queue and queue[0][0] <= cutoff(day):
            queue.popleft()  # expired before this event
        if kind == 0:
            queue.append([day, Fraction(amount)])
            continue
        need = Fraction(amount)
        while need > 0 and queue:
            take = min(need, queue[0][1])
            queue[0][1] -= take
            need -= take
            if queue[0][1] == 0:
                queue.popleft()
    while queue and queue[0][0] <= cutoff(today):
        queue.popleft()
    return sum((lot[1] for lot in queue), Fraction(0))


def points_statement(view: LedgerView, programme: Programme, household: str,
                     today: str | None = None) -> PointsStatement:
    """Daily accrual from the household's creditable readings; fractions stay in grams: points
    are floor(total grams × rate / 1000), so no day's remainder is lost. With an expiry
    configured, points older than ``expiry_days`` (oldest spent first) lapse."""
    days = daily_reduction_g(view.creditable_facts(household), view.terms(household),
                             programme.methodology, programme.rules)
    total = sum(days.values())
    # an EV day may be negative (it lowers the total); a balance never goes below zero earned
    earned = max(0, total) * programme.points_per_kg // 1000
    mine = [r for _, r in view.redemptions
            if r.household == household and r.programme == programme.id]
    redeemed = sum(r.points for r in mine)
    expired = 0
    if programme.points_expiry_days > 0:
        lots = [(d, Fraction(g * programme.points_per_kg, 1000)) for d, g in days.items()]
        spends = [(day_of(parse_time(r.redeemed_at, "redeemed_at")), r.points) for r in mine]
        left = remaining_after_expiry(lots, spends, programme.points_expiry_days,
                                      today or day_of(datetime.now(UTC)))
        expired = max(0, earned - redeemed - math.floor(left))
    return PointsStatement(household, total, earned, redeemed, tuple(days.items()), expired)
