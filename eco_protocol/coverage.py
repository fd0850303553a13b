"""Which readings a batch covers and what they add up to (docs/protocol.md §5), as pure functions.

The aggregator uses these to seal and report a batch; the buyer's verifier uses the very same
functions to recompute the seal's count and digest and every household-month from the evidence.
A batch is of one methodology (household PV or EV: different J-Credit methodologies are never
summed). Non-creditable readings are covered — counted and digested, so nothing the device said
is hidden — but only creditable ones enter the arithmetic, and each household row says how many
were excluded and why.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .creditability import DEFAULT_RULES, CreditRules
from .methodology import HouseholdTerms, Methodology, ReadingFacts, household_months, zero_reason
from .programme_records import Period
from .records import Quantity

PV: Final = "pv"
EV: Final = "ev"
METHODOLOGY_QUANTITIES: Final[Mapping[str, frozenset[Quantity]]] = {
    PV: frozenset({Quantity.PV_GENERATION, Quantity.GRID_EXPORT, Quantity.GRID_IMPORT}),
    EV: frozenset({Quantity.EV_CHARGE}),
}
"""What a batch of each methodology covers; a seal without one (a v1 log) covers everything."""


def covers(methodology: str | None, quantity: Quantity) -> bool:
    return methodology is None or quantity in METHODOLOGY_QUANTITIES[methodology]


@dataclass(frozen=True, slots=True)
class LedgerReading:
    index: int
    device_id: str
    household: str
    quantity: Quantity
    start: datetime
    end: datetime
    energy_wh: int
    leaf: bytes
    excluded: str | None = None  # the creditability rule it breaks (a Rule value), if any

    @property
    def facts(self) -> ReadingFacts:
        return ReadingFacts(self.quantity, self.start, self.end, self.energy_wh)


def select_covered(readings: Iterable[LedgerReading], programme_of: Mapping[str, str],
                   programme: str, period: Period, before: int,
                   methodology: str | None = None) -> list[LedgerReading]:
    """Readings before leaf ``before`` with their interval inside ``period``, from devices
    enrolled in ``programme``, of the methodology's quantities, in leaf-index order."""
    return sorted((r for r in readings
                   if r.index < before and programme_of.get(r.device_id) == programme
                   and covers(methodology, r.quantity)
                   and period.contains(r.start, r.end)), key=lambda r: r.index)


def covered_digest(covered: Iterable[LedgerReading]) -> str:
    return hashlib.sha256(b"".join(r.leaf for r in covered)).hexdigest()


def reading_counts(readings: Iterable[LedgerReading]) -> dict[str, Any]:
    """``{"covered", "creditable", "excluded": {rule: count}}`` of some covered readings."""
    excluded: dict[str, int] = {}
    n = 0
    for r in readings:
        n += 1
        if r.excluded is not None:
            excluded[r.excluded] = excluded.get(r.excluded, 0) + 1
    return {"covered": n, "creditable": n - sum(excluded.values()),
            "excluded": dict(sorted(excluded.items()))}


def household_rows(covered: Iterable[LedgerReading], terms_of: Callable[[str], HouseholdTerms],
                   method: Methodology, rules: CreditRules = DEFAULT_RULES,
                   methodology: str | None = None) -> list[dict[str, Any]]:
    """The report's ``households`` list: per pseudonym, devices, what was covered and excluded
    (and the household rule that zeroed it, if one did), its flags (a battery is always
    flagged), monthly figures from the creditable readings only, total."""
    by_hh: dict[str, list[LedgerReading]] = {}
    for r in covered:
        by_hh.setdefault(r.household, []).append(r)
    rows = []
    for hh in sorted(by_hh):
        rs = by_hh[hh]
        terms = terms_of(hh)
        months = household_months([r.facts for r in rs if r.excluded is None], terms, method,
                                  rules)
        pv = methodology != EV
        rows.append({"household": hh, "devices": sorted({r.device_id for r in rs}),
                     "readings": reading_counts(rs),
                     "zeroed_by": zero_reason(terms, rules) if pv else None,
                     "flags": terms.flags(rules) if pv else [],
                     "months": months, "reduction_g": sum(m["reduction_g"] for m in months)})
    return rows


def exclusion_totals(covered: Iterable[LedgerReading]) -> dict[str, int]:
    """The batch's excluded readings by rule (the report's ``exclusions``)."""
    return dict(reading_counts(covered)["excluded"])
