"""The methodology and household terms the arithmetic tests share: two fiscal years of
(illustrative) grid factors, a metered PV home and a PV home without export metering."""

from __future__ import annotations

from eco_protocol.methodology import GridFactor, HouseholdTerms, Methodology
from eco_protocol.records import Quantity as Q

METHOD = Methodology("EN-R-002", "3.0", (
    GridFactor(2025, 434, "illustrative", "n/a", True),
    GridFactor(2026, 450, "illustrative", "n/a", True)), 2320, "jikosoren.jp")
PV_EXPORT = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT}))
PV_ONLY = HouseholdTerms(frozenset({Q.PV_GENERATION}))
