"""The J-Credit arithmetic, rule by rule, with hand-worked examples (docs/methodology.md)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.creditability import CreditRules
from eco_protocol.methodology import (
    HouseholdTerms,
    MethodologyError,
    ReadingFacts,
    credits,
    daily_reduction_g,
    fiscal_year,
    household_months,
    month_reduction_g,
    reduction_exact,
    terms_problems,
)
from eco_protocol.records import Quantity as Q
from eco_protocol.sample import sample_positions
from tests.methodology.terms_kit import METHOD, PV_EXPORT, PV_ONLY

EV = HouseholdTerms(frozenset({Q.EV_CHARGE}), ev_wh_per_km=150, ev_petrol_m_per_l=15000)
T = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 10:00 JST, FY2026


def _at(k: int) -> datetime:
    return T + timedelta(minutes=30 * k)


def test_self_consumption_is_computed_per_interval_before_summing() -> None:
    # interval 1: 544 Wh generated, 300 exported → 244 self-consumed
    # interval 2: 100 generated, 200 exported (the home exported more than the PV made: 0)
    rows = household_months([ReadingFacts(Q.PV_GENERATION, _at(0), _at(1), 544),
                             ReadingFacts(Q.GRID_EXPORT, _at(0), _at(1), 300),
                             ReadingFacts(Q.PV_GENERATION, _at(1), _at(2), 100),
                             ReadingFacts(Q.GRID_EXPORT, _at(1), _at(2), 200)],
                            PV_EXPORT, METHOD)
    (may,) = rows
    assert may["month"] == "2026-05"
    assert may["energy_wh"]["self_consumed"] == 244  # not 644 - 500 = 144
    # 244 Wh × 450 g/kWh (FY2026) = 109.8 g, less the default project emissions (6000 ppm):
    # 109.8 × 0.994 = 109.1412 → 109 g, truncated once per household-month
    assert may["reduction_g"] == 109


def test_unmetered_export_earns_no_pv_credit_even_declared_zero_export() -> None:
    # Changed with the programme rules v1.1 ("Declarations need evidence"): a zero-export
    # declaration used to credit all generation unmetered (450 g here); now, without a metered
    # export register, it earns nothing, like any home without export metering.
    facts = [ReadingFacts(Q.PV_GENERATION, _at(0), _at(1), 1000)]
    assert household_months(facts, PV_ONLY, METHOD)[0]["reduction_g"] == 0
    assert PV_ONLY.flags()[0].startswith("export_unmetered: ")
    zero = HouseholdTerms(frozenset({Q.PV_GENERATION}), zero_export=True)
    assert household_months(facts, zero, METHOD)[0]["reduction_g"] == 0
    assert zero.flags()[0].startswith("export_unmetered: ")


def test_missing_export_interval_counts_nothing_never_invented() -> None:
    facts = [ReadingFacts(Q.PV_GENERATION, _at(0), _at(1), 1000),
             ReadingFacts(Q.PV_GENERATION, _at(1), _at(2), 1000),
             ReadingFacts(Q.GRID_EXPORT, _at(1), _at(2), 0)]
    (m,) = household_months(facts, PV_EXPORT, METHOD)
    assert m["energy_wh"]["self_consumed"] == 1000  # only the interval with an export reading


def test_ev_worked_example() -> None:
    # 10 kWh charged at 150 Wh/km = 66.67 km; a 15 km/L petrol car burns 4.444 L × 2320 g/L
    # = 10311.1 g; charging from the grid emits 10 kWh × 450 g/kWh = 4500 g → 5811.1 → 5811 g
    facts = [ReadingFacts(Q.EV_CHARGE, _at(0), _at(1), 10_000)]
    assert household_months(facts, EV, METHOD)[0]["reduction_g"] == 5811


def test_pv_charging_the_ev_counts_exactly_the_gasoline_avoided() -> None:
    """docs/methodology.md: PV into the car counts as self-consumption, and all charged kWh carry
    the grid factor in the EV's project emissions: the sum is the avoided gasoline, nothing
    twice."""
    home = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT, Q.EV_CHARGE}),
                          ev_wh_per_km=150, ev_petrol_m_per_l=15000)
    energy = {"self_consumed": 10_000, "ev_charge": 10_000}
    gasoline_g = Fraction(10_000 * 1000, 150 * 15000) * 2320
    # without project emissions the identity is exact
    assert reduction_exact(energy, home, 450, 2320,
                           CreditRules(project_emission_ppm=0)) == gasoline_g
    # the default rules (v1.1) take the inverter's 0.6 % off the PV part only:
    # 10 kWh × 450 g/kWh × 0.006 = 27 g less than the gasoline avoided
    assert reduction_exact(energy, home, 450, 2320) == gasoline_g - 27


def test_fiscal_years_and_missing_factor() -> None:
    assert fiscal_year(datetime(2026, 3, 31, 14, 59, tzinfo=UTC)) == 2025  # 23:59 JST 31 March
    assert fiscal_year(datetime(2026, 3, 31, 15, 0, tzinfo=UTC)) == 2026   # 00:00 JST 1 April
    # 1 kWh × 434 (FY2025) × 0.994 (default project emissions, v1.1) = 431.396 → 431;
    # 1 kWh × 450 (FY2026) × 0.994 = 447.3 → 447
    assert month_reduction_g("2026-03", {"self_consumed": 1000}, PV_EXPORT, METHOD) == 431
    assert month_reduction_g("2026-04", {"self_consumed": 1000}, PV_EXPORT, METHOD) == 447
    with pytest.raises(MethodologyError, match="fiscal year 2027"):
        month_reduction_g("2027-04", {"self_consumed": 1}, PV_EXPORT, METHOD)


def test_credits_truncate_and_carry() -> None:
    assert credits(1_234_567, 900_000) == (2, 134_567)
    assert credits(999_999, 0) == (0, 999_999)
    # v1.1: a negative sum issues nothing and carries the deficit (EV months are not clipped)
    assert credits(-300, 100) == (0, -200)


def test_enrolment_attributes_the_rules_need() -> None:
    assert terms_problems([Q.PV_GENERATION], {}) == [
        "fit.installed (PV installation date YYYY-MM-DD) is missing",
        "fit.status must be none, fit or post_fit", "fit.battery (true/false) is missing"]
    assert terms_problems([Q.PV_GENERATION], {"installed": "2020-04-01", "status": "fit",
                                              "battery": False}) == []
    assert "fit.ev" in terms_problems([Q.EV_CHARGE], {"ev": {"wh_per_km": 150}})[0]


energies = st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000)), min_size=1,
                    max_size=96)


@settings(max_examples=200, deadline=None)
@given(energies)
def test_credit_never_exceeds_what_the_readings_support(pairs: list[tuple[int, int]]) -> None:
    facts = [f for k, (pv, ex) in enumerate(pairs)
             for f in (ReadingFacts(Q.PV_GENERATION, _at(k), _at(k + 1), pv),
                       ReadingFacts(Q.GRID_EXPORT, _at(k), _at(k + 1), ex))]
    months = household_months(facts, PV_EXPORT, METHOD)
    total_pv = sum(pv for pv, _ in pairs)
    got = sum(m["reduction_g"] for m in months)
    assert 0 <= got <= math.floor(Fraction(total_pv * 450, 1000))
    assert sum(m["energy_wh"]["self_consumed"] for m in months) == sum(
        max(0, pv - ex) for pv, ex in pairs)
    # points by day never exceed the monthly figure (truncation per day only loses grams)
    assert sum(daily_reduction_g(facts, PV_EXPORT, METHOD).values()) <= got


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", "c", "d", "e"]), min_size=0, max_size=200),
       st.binary(min_size=32, max_size=32))
def test_sample_is_deterministic_distinct_and_covers_every_household(
        households: list[str], root: bytes) -> None:
    pos = sample_positions(root, households)
    assert pos == sample_positions(root, households)
    assert len(set(pos)) == len(pos) and all(0 <= p < len(households) for p in pos)
    n, h = len(households), len(set(households))
    s = min(n, max(30, h))
    assert s <= len(pos) <= s + h
    assert {households[p] for p in pos} == set(households)
