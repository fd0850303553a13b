"""Which readings a batch covers and what they add up to (PROTOCOL.md §5), as pure functions.

The aggregator uses these to seal and report a batch; the buyer's verifier uses the very same
functions to recompute the seal's count and digest and every household-month from the evidence.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from .methodology import HouseholdTerms, Methodology, ReadingFacts, household_months
from .programme_records import Period
from .records import Quantity


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

    @property
    def facts(self) -> ReadingFacts:
        return ReadingFacts(self.quantity, self.start, self.energy_wh)


def select_covered(readings: Iterable[LedgerReading], programme_of: Mapping[str, str],
                   programme: str, period: Period, before: int) -> list[LedgerReading]:
    """Readings before leaf ``before`` with their interval inside ``period``, from devices
    enrolled in ``programme``, in leaf-index order."""
    return sorted((r for r in readings
                   if r.index < before and programme_of.get(r.device_id) == programme
                   and period.contains(r.start, r.end)), key=lambda r: r.index)


def covered_digest(covered: Iterable[LedgerReading]) -> str:
    return hashlib.sha256(b"".join(r.leaf for r in covered)).hexdigest()


def household_rows(covered: Iterable[LedgerReading], terms_of: Callable[[str], HouseholdTerms],
                   method: Methodology) -> list[dict[str, Any]]:
    """The report's ``households`` list: per pseudonym, devices, monthly figures, total."""
    by_hh: dict[str, list[LedgerReading]] = {}
    for r in covered:
        by_hh.setdefault(r.household, []).append(r)
    rows = []
    for hh in sorted(by_hh):
        rs = by_hh[hh]
        months = household_months([r.facts for r in rs], terms_of(hh), method)
        rows.append({"household": hh, "devices": sorted({r.device_id for r in rs}),
                     "months": months, "reduction_g": sum(m["reduction_g"] for m in months)})
    return rows
