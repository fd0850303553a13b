"""The programme rules a verification body applies (docs/methodology.md, v1.1), rule by rule,
with the arithmetic worked by hand in the comments. Factors: FY2025 434 g/kWh, FY2026 450 g/kWh;
gasoline 2320 g/L; default project emissions 6000 ppm (× 0.994 on the PV part)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import ConfigError
from aggregator.programme import example_programme, load_programme
from aggregator.registry import build_enrolment
from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.errors import MalformedRecord
from eco_protocol.keys import public_key_raw
from eco_protocol.methodology import (
    GridFactor,
    HouseholdTerms,
    Methodology,
    MethodologyError,
    ReadingFacts,
    credits,
    daily_reduction_g,
    fiscal_years_between,
    household_months,
    household_terms,
    month_reduction_g,
    reduction_exact,
    seal_problems,
    zero_reason,
)
from eco_protocol.programme_records import Totals
from eco_protocol.records import MeterSpec
from eco_protocol.records import Quantity as Q
from tests.methodology.terms_kit import METHOD, PV_EXPORT, PV_ONLY

BATTERY = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT}), battery=True)
EV = HouseholdTerms(frozenset({Q.EV_CHARGE}), ev_wh_per_km=150, ev_petrol_m_per_l=15000)
T = datetime(2026, 5, 10, 1, 0, tzinfo=UTC)  # 10:00 JST, FY2026 (450 g/kWh)
T25 = datetime(2025, 10, 10, 1, 0, tzinfo=UTC)  # 10:00 JST, FY2025 (434 g/kWh)
EXCLUDE = CreditRules(battery="exclude")


def _at(k: int, base: datetime = T) -> datetime:
    return base + timedelta(minutes=30 * k)


def _rf(q: Q, k: int, wh: int, n: int = 1, base: datetime = T) -> ReadingFacts:
    """A reading of ``n`` 30-minute intervals starting at interval ``k``."""
    return ReadingFacts(q, _at(k, base), _at(k + n, base), wh)


def _total(rows: list[dict[str, object]]) -> int:
    return sum(int(str(r["reduction_g"])) for r in rows)


# --- 1. a reading is a span ----------------------------------------------------------------


def test_reading_facts_need_an_end_after_the_start() -> None:
    with pytest.raises(MethodologyError, match="not after its start"):
        ReadingFacts(Q.PV_GENERATION, _at(1), _at(1), 10)
    with pytest.raises(MethodologyError, match="not after its start"):
        ReadingFacts(Q.PV_GENERATION, _at(1), _at(0), 10)


# --- 2. self-consumption over exactly the same span -----------------------------------------


def test_gap_filled_pv_does_not_net_against_a_shorter_export_reading() -> None:
    # PV gap-filled over 4 intervals (2 h, 4000 Wh); export read for the first 30 min only (0 Wh):
    # the spans differ, so nothing is netted and nothing credited
    rows = household_months([_rf(Q.PV_GENERATION, 0, 4000, n=4), _rf(Q.GRID_EXPORT, 0, 0)],
                            PV_EXPORT, METHOD)
    assert rows[0]["energy_wh"]["pv_generation"] == 4000
    assert rows[0]["energy_wh"]["self_consumed"] == 0 and rows[0]["reduction_g"] == 0
    # same start, different end: still no match
    rows = household_months([_rf(Q.PV_GENERATION, 0, 2000, n=2), _rf(Q.GRID_EXPORT, 0, 0, n=1),
                             _rf(Q.GRID_EXPORT, 1, 0, n=1)], PV_EXPORT, METHOD)
    assert rows[0]["energy_wh"]["self_consumed"] == 0


def test_gap_filled_pv_nets_against_export_over_the_same_span() -> None:
    # both gap-filled over the same 2 h: 4000 − 1000 = 3000 Wh self-consumed
    # 3000 × 450/1000 × 0.994 = 1341.9 → 1341 g
    rows = household_months([_rf(Q.PV_GENERATION, 0, 4000, n=4),
                             _rf(Q.GRID_EXPORT, 0, 1000, n=4)], PV_EXPORT, METHOD)
    assert rows[0]["energy_wh"]["self_consumed"] == 3000
    assert rows[0]["reduction_g"] == 1341


def test_two_pv_devices_on_one_span_add_before_netting() -> None:
    # two inverters 500 + 500 Wh, export 200 Wh on the same span: 800 Wh self-consumed
    # 800 × 0.45 × 0.994 = 357.84 → 357 g
    rows = household_months([_rf(Q.PV_GENERATION, 0, 500), _rf(Q.PV_GENERATION, 0, 500),
                             _rf(Q.GRID_EXPORT, 0, 200)], PV_EXPORT, METHOD)
    assert rows[0]["energy_wh"]["self_consumed"] == 800 and rows[0]["reduction_g"] == 357


def test_zero_export_declaration_without_a_meter_earns_nothing() -> None:
    declared = HouseholdTerms(frozenset({Q.PV_GENERATION}), zero_export=True)
    assert not declared.pv_creditable
    rows = household_months([_rf(Q.PV_GENERATION, 0, 1000)], declared, METHOD)
    assert rows[0]["energy_wh"]["self_consumed"] == 0 and rows[0]["reduction_g"] == 0
    reason = zero_reason(declared, DEFAULT_RULES)
    assert reason == ("export_unmetered: PV without a metered export register (a zero-export "
                      "declaration alone is not evidence)")
    assert declared.flags() == [reason]
    # a verifier recomputing a row that claims self-consumption for it still gets 0
    assert month_reduction_g("2026-05", {"self_consumed": 1000}, declared, METHOD) == 0


def test_zero_export_home_with_a_metered_export_register_is_credited_normally() -> None:
    declared = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT}), zero_export=True)
    assert zero_reason(declared, DEFAULT_RULES) is None
    # export register shows 0: all 1000 Wh generated are self-consumed
    # 1000 × 0.45 × 0.994 = 447.3 → 447 g
    rows = household_months([_rf(Q.PV_GENERATION, 0, 1000), _rf(Q.GRID_EXPORT, 0, 0)],
                            declared, METHOD)
    assert rows[0]["reduction_g"] == 447
    # the register shows 300 Wh exported despite the declaration: netted like any home
    # 700 × 0.45 × 0.994 = 313.11 → 313 g
    rows = household_months([_rf(Q.PV_GENERATION, 0, 1000), _rf(Q.GRID_EXPORT, 0, 300)],
                            declared, METHOD)
    assert rows[0]["reduction_g"] == 313


def test_export_register_may_come_from_another_device_of_the_household() -> None:
    inverter_key, smart_meter_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    pv_fit = {"installed": "2025-01-01", "status": "post_fit", "battery": False,
              "zero_export": True}
    inverter = build_enrolment(public_key_raw(inverter_key), "hh-1", "p",
                               [MeterSpec("pv1", Q.PV_GENERATION, "sunspec-modbus", 6000)],
                               pv_fit, "2026-04-01T00:00:00Z")
    alone = household_terms([inverter])
    assert not alone.pv_creditable and zero_reason(alone, DEFAULT_RULES) is not None
    b_route = build_enrolment(public_key_raw(smart_meter_key), "hh-1", "p",
                              [MeterSpec("e3", Q.GRID_EXPORT, "echonet-broute", 6000)], {},
                              "2026-04-01T00:00:00Z")
    both = household_terms([inverter, b_route])
    assert both.pv_creditable and both.zero_export and zero_reason(both, DEFAULT_RULES) is None


# --- 3. batteries ----------------------------------------------------------------------------

# One day: 10:00 JST the PV makes 3000 Wh and exports nothing (it charges the battery); 20:00
# JST the PV makes 0 and the battery pushes 2000 Wh into the grid.
BATTERY_DAY = [_rf(Q.PV_GENERATION, 0, 3000), _rf(Q.GRID_EXPORT, 0, 0),
               _rf(Q.PV_GENERATION, 20, 0), _rf(Q.GRID_EXPORT, 20, 2000)]


def test_battery_daily_netting_versus_per_interval() -> None:
    # per interval (a home without a battery): 3000 + max(0, 0 − 2000) = 3000 Wh
    # 3000 × 0.45 × 0.994 = 1341.9 → 1341 g
    (plain,) = household_months(BATTERY_DAY, PV_EXPORT, METHOD)
    assert plain["energy_wh"]["self_consumed"] == 3000 and plain["reduction_g"] == 1341
    # per day (battery, default): max(0, 3000 − 2000) = 1000 Wh → 447.3 → 447 g
    (daily,) = household_months(BATTERY_DAY, BATTERY, METHOD)
    assert daily["energy_wh"]["self_consumed"] == 1000 and daily["reduction_g"] == 447
    assert daily_reduction_g(BATTERY_DAY, BATTERY, METHOD) == {"2026-05-10": 447}
    assert BATTERY.flags() == ["battery: PV self-consumption netted per JST day"]
    # the row's figures alone recompute the stated reduction
    assert month_reduction_g("2026-05", daily["energy_wh"], BATTERY, METHOD) == 447


def test_battery_netting_is_per_day_not_per_month() -> None:
    # day 1: PV 1000 at 10:00, export 3000 at 20:00 → max(0, 1000 − 3000) = 0
    # day 2: PV 2000, export 0 → 2000; the month is 2000 Wh, not max(0, 3000 − 3000) = 0
    # 2000 × 0.45 × 0.994 = 894.6 → 894 g
    facts = [_rf(Q.PV_GENERATION, 0, 1000), _rf(Q.GRID_EXPORT, 0, 0),
             _rf(Q.PV_GENERATION, 20, 0), _rf(Q.GRID_EXPORT, 20, 3000),
             _rf(Q.PV_GENERATION, 48, 2000), _rf(Q.GRID_EXPORT, 48, 0)]
    (month,) = household_months(facts, BATTERY, METHOD)
    assert month["energy_wh"]["self_consumed"] == 2000 and month["reduction_g"] == 894
    assert daily_reduction_g(facts, BATTERY, METHOD) == {"2026-05-10": 0, "2026-05-11": 894}


def test_battery_day_is_the_jst_day() -> None:
    # 23:30 JST (14:30 UTC): PV 1000, export 0; 00:00 JST next day (15:00 UTC): PV 0, export
    # 1000. Same UTC day, different JST days: 1000 + max(0, −1000) = 1000 Wh, not 0
    base = datetime(2026, 5, 10, 14, 30, tzinfo=UTC)
    facts = [_rf(Q.PV_GENERATION, 0, 1000, base=base), _rf(Q.GRID_EXPORT, 0, 0, base=base),
             _rf(Q.PV_GENERATION, 1, 0, base=base), _rf(Q.GRID_EXPORT, 1, 1000, base=base)]
    (month,) = household_months(facts, BATTERY, METHOD)
    assert month["energy_wh"]["self_consumed"] == 1000


def test_battery_daily_netting_subtracts_every_export_of_the_day() -> None:
    # the battery exports 2 kWh at night (span 20) when the inverter sends no PV reading: that
    # export still came from the day's PV, so it is subtracted: 3000 − (0 + 2000) = 1000 Wh
    facts = [_rf(Q.PV_GENERATION, 0, 3000), _rf(Q.GRID_EXPORT, 0, 0), _rf(Q.GRID_EXPORT, 20, 2000)]
    (month,) = household_months(facts, BATTERY, METHOD)
    assert month["energy_wh"]["self_consumed"] == 1000
    assert month["energy_wh"]["grid_export"] == 2000  # still reported
    # a PV reading without an export reading on its span still counts for nothing
    facts = [_rf(Q.PV_GENERATION, 0, 3000), _rf(Q.PV_GENERATION, 1, 800),
             _rf(Q.GRID_EXPORT, 0, 500)]
    (month,) = household_months(facts, BATTERY, METHOD)
    assert month["energy_wh"]["self_consumed"] == 2500


def test_battery_exclusion_zeroes_pv_only() -> None:
    (month,) = household_months(BATTERY_DAY, BATTERY, METHOD, EXCLUDE)
    assert month["energy_wh"]["pv_generation"] == 3000
    assert month["energy_wh"]["self_consumed"] == 0 and month["reduction_g"] == 0
    reason = zero_reason(BATTERY, EXCLUDE)
    assert reason is not None and reason.startswith("battery_excluded: ")
    assert BATTERY.flags(EXCLUDE) == [reason]
    assert month_reduction_g("2026-05", {"self_consumed": 1000}, BATTERY, METHOD, EXCLUDE) == 0
    # a battery home's EV still counts (10 kWh: 5811.1 g × 1, no project emissions on EV)
    ev_battery = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT, Q.EV_CHARGE}),
                                battery=True, ev_wh_per_km=150, ev_petrol_m_per_l=15000)
    assert household_months(BATTERY_DAY + [_rf(Q.EV_CHARGE, 2, 10_000)], ev_battery, METHOD,
                            EXCLUDE)[0]["reduction_g"] == 5811
    # without a battery the same rules change nothing
    assert zero_reason(PV_EXPORT, EXCLUDE) is None


def test_zero_reason_is_for_pv_only() -> None:
    assert zero_reason(EV, EXCLUDE) is None
    assert zero_reason(HouseholdTerms(frozenset({Q.EV_CHARGE}), battery=True), EXCLUDE) is None
    assert zero_reason(PV_EXPORT, DEFAULT_RULES) is None
    assert zero_reason(BATTERY, DEFAULT_RULES) is None
    assert zero_reason(PV_ONLY, DEFAULT_RULES) == zero_reason(PV_ONLY, EXCLUDE)


# --- 4. project emissions ------------------------------------------------------------------


def test_project_emissions_take_their_share_of_pv_before_the_single_floor() -> None:
    # PV 3 kWh, export 1 kWh, factor 434 g/kWh (FY2025), project 6000 ppm:
    # 2000 × 434/1000 × 0.994 = 862.792 → 862 g
    facts = [_rf(Q.PV_GENERATION, 0, 3000, base=T25), _rf(Q.GRID_EXPORT, 0, 1000, base=T25)]
    assert household_months(facts, PV_EXPORT, METHOD)[0]["reduction_g"] == 862
    assert daily_reduction_g(facts, PV_EXPORT, METHOD) == {"2025-10-10": 862}
    # without project emissions: 2000 × 0.434 = 868 g exactly
    none = CreditRules(project_emission_ppm=0)
    assert household_months(facts, PV_EXPORT, METHOD, none)[0]["reduction_g"] == 868
    # 1 % (10000 ppm): 868 × 0.99 = 859.32 → 859 g
    one_pct = CreditRules(project_emission_ppm=10_000)
    assert household_months(facts, PV_EXPORT, METHOD, one_pct)[0]["reduction_g"] == 859


def test_one_floor_per_household_month_not_per_interval() -> None:
    # ten intervals of 1 Wh self-consumed: each 1 × 0.45 × 0.994 = 0.4473 g (0 if floored
    # one by one); summed exactly 4.473 → 4 g
    facts = [f for k in range(10)
             for f in (_rf(Q.PV_GENERATION, k, 1), _rf(Q.GRID_EXPORT, k, 0))]
    assert household_months(facts, PV_EXPORT, METHOD)[0]["reduction_g"] == 4


# --- 5. EV ------------------------------------------------------------------------------------


def test_ev_distance_uses_the_worse_consumption() -> None:
    facts = [_rf(Q.EV_CHARGE, 0, 10_000)]
    # type-approved 150 Wh/km, configured real-world 200 Wh/km → 200:
    # 10 000 Wh / 200 = 50 km; / 15 km/L = 3.333 L × 2320 = 7733.33 g; − 10 kWh × 450 = 4500
    # → 3233.33 → 3233 g
    real = CreditRules(ev_real_wh_per_km=200)
    assert household_months(facts, EV, METHOD, real)[0]["reduction_g"] == 3233
    # configured 120 Wh/km is better than type-approved: 150 stays → 5811 g (worked example)
    better = CreditRules(ev_real_wh_per_km=120)
    assert household_months(facts, EV, METHOD, better)[0]["reduction_g"] == 5811
    assert household_months(facts, EV, METHOD)[0]["reduction_g"] == 5811


def test_negative_ev_month_is_not_clipped() -> None:
    # a thirsty EV (300 Wh/km) replacing a frugal petrol car (20 km/L):
    # 10 000 Wh / 300 = 33.33 km; / 20 = 5/3 L × 2320 = 3866.67 g; − 4500 g = −633.33 g
    # floored toward −∞ (never rounded up): −634 g
    thirsty = HouseholdTerms(frozenset({Q.EV_CHARGE}), ev_wh_per_km=300,
                             ev_petrol_m_per_l=20000)
    facts = [_rf(Q.EV_CHARGE, 0, 10_000)]
    (month,) = household_months(facts, thirsty, METHOD)
    assert month["reduction_g"] == -634
    assert month_reduction_g("2026-05", month["energy_wh"], thirsty, METHOD) == -634
    assert daily_reduction_g(facts, thirsty, METHOD) == {"2026-05-10": -634}


def test_negative_ev_lowers_a_pv_household_with_one_floor() -> None:
    # PV 2000 Wh self-consumed: 2000 × 0.45 × 0.994 = 894.6 g; EV as above −633.33 g
    # 894.6 − 633.333 = 261.267 → 261 g (flooring each part would give 894 − 634 = 260)
    home = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT, Q.EV_CHARGE}),
                          ev_wh_per_km=300, ev_petrol_m_per_l=20000)
    facts = [_rf(Q.PV_GENERATION, 0, 2000), _rf(Q.GRID_EXPORT, 0, 0), _rf(Q.EV_CHARGE, 0, 10_000)]
    assert household_months(facts, home, METHOD)[0]["reduction_g"] == 261
    assert reduction_exact({"ev_charge": 10_000}, home, 450, 2320) < 0


# --- Totals and credits with deficits --------------------------------------------------------


def test_credits_carry_a_deficit_forward() -> None:
    assert credits(-634, 0) == (0, -634)
    # the next batch pays the deficit back before issuing: 1 000 000 − 634 → 0 t, 999 366 g
    assert credits(1_000_000, -634) == (0, 999_366)
    assert credits(2_000_000, -634) == (1, 999_366)
    assert credits(-10, -5) == (0, -15)
    assert credits(0, 0) == (0, 0)


def test_totals_accept_deficits_and_stay_strict() -> None:
    Totals(-634, 0, 0, -634)
    Totals(1_000_000, -634, 0, 999_366)
    Totals(-200, 100, 0, -100)
    with pytest.raises(MalformedRecord, match=r"expected 0 t and -634 g"):
        Totals(-634, 0, 0, 0)  # a deficit must not vanish
    with pytest.raises(MalformedRecord, match=r"totals.credits_t: -1 is outside"):
        Totals(-1_000_000, 0, -1, 0)  # … nor become negative tonnes (floor division would)
    with pytest.raises(MalformedRecord, match=r"expected 1 t and 999366 g"):
        Totals(2_000_000, -634, 2, 0)  # the deficit is paid back before a tonne is issued
    t = Totals(-634, 100, 0, -534)
    assert Totals.from_dict(t.to_dict()) == t
    with pytest.raises(MalformedRecord, match="totals.carry_in_g: expected an integer"):
        Totals.from_dict({**t.to_dict(), "carry_in_g": "-1"})
    with pytest.raises(MalformedRecord, match="totals.credits_t: -1 is outside"):
        Totals.from_dict({**t.to_dict(), "credits_t": -1})


@settings(max_examples=300, deadline=None)
@given(st.integers(-5_000_000, 5_000_000), st.integers(-5_000_000, 5_000_000))
def test_totals_follow_credits(reduction: int, carry_in: int) -> None:
    t, carry = credits(reduction, carry_in)
    assert Totals(reduction, carry_in, t, carry).credits_t == t
    assert t >= 0 and t * 1_000_000 + carry == reduction + carry_in
    assert (0 <= carry < 1_000_000) if reduction + carry_in >= 0 else (t == 0 and carry < 0)


# --- properties -------------------------------------------------------------------------------


pairs = st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 3000), st.integers(0, 95)),
                 min_size=1, max_size=60)


@settings(max_examples=150, deadline=None)
@given(pairs, st.integers(0, 1_000_000), st.sampled_from(["daily", "exclude"]),
       st.sampled_from([None, 100, 300]))
def test_rows_recompute_and_daily_never_beats_per_interval(
        data: list[tuple[int, int, int]], ppm: int, battery: str, real: int | None) -> None:
    rules = CreditRules(battery=battery, project_emission_ppm=ppm, ev_real_wh_per_km=real)
    slots = sorted({k * 5 for _, _, k in data})  # distinct spans over up to ~10 days
    facts = [f for (pv, ex, _), k in zip(data, slots, strict=False)
             for f in (_rf(Q.PV_GENERATION, k, pv), _rf(Q.GRID_EXPORT, k, ex),
                       _rf(Q.EV_CHARGE, k, ex))]
    home = HouseholdTerms(frozenset({Q.PV_GENERATION, Q.GRID_EXPORT, Q.EV_CHARGE}),
                          battery=True, ev_wh_per_km=150, ev_petrol_m_per_l=15000)
    plain = HouseholdTerms(home.quantities, ev_wh_per_km=150, ev_petrol_m_per_l=15000)
    for terms in (home, plain):
        for row in household_months(facts, terms, METHOD, rules):
            assert month_reduction_g(str(row["month"]), row["energy_wh"], terms, METHOD,
                                     rules) == row["reduction_g"]
    sc_battery = sum(r["energy_wh"]["self_consumed"]
                     for r in household_months(facts, home, METHOD, rules))
    sc_plain = sum(r["energy_wh"]["self_consumed"]
                   for r in household_months(facts, plain, METHOD, rules))
    assert sc_battery <= sc_plain  # max(0, Σ(p − e)) ≤ Σ max(0, p − e)
    if battery == "exclude":
        assert sc_battery == 0


# --- 7. seal_problems --------------------------------------------------------------------------


def test_seal_refuses_illustrative_and_undated_factors() -> None:
    problems = seal_problems(METHOD, DEFAULT_RULES, [2025])
    assert len(problems) == 2
    assert problems[0].startswith("FY2025 (April 2025 – March 2026): the grid factor 434 g/kWh "
                                  "is marked illustrative")
    assert "demonstration = true" in problems[0]
    assert "no publication date (published = 'n/a')" in problems[1]
    assert "YYYY-MM-DD" in problems[1]


def test_seal_problems_per_year_missing_and_dated() -> None:
    real = Methodology("EN-R-002", "3.0", (
        GridFactor(2025, 434, "MoE, all-source, FY2025", "2025-01-15"),
        GridFactor(2026, 450, "MoE, all-source, FY2026", ""),
        GridFactor(2027, 450, "MoE, all-source, FY2027", "2027/01/15")), 2320, "x")
    assert seal_problems(real, DEFAULT_RULES, [2025, 2025]) == []
    got = seal_problems(real, DEFAULT_RULES, [2028, 2026, 2025, 2027])
    assert [p[:6] for p in got] == ["FY2026", "FY2027", "FY2028"]
    assert "no publication date (published = '')" in got[0]
    assert "no publication date (published = '2027/01/15')" in got[1]
    assert "no grid emission factor" in got[2] and "[[methodology.grid_factors]]" in got[2]


def test_a_demonstration_may_seal_anything() -> None:
    demo = CreditRules(demonstration=True)
    assert seal_problems(METHOD, demo, [2025, 2026, 2099]) == []
    assert seal_problems(METHOD, DEFAULT_RULES, [2025, 2026, 2099]) != []


def test_fiscal_years_a_period_touches() -> None:
    jst = timedelta(hours=9)
    # 2026-03-01 .. 2026-05-01 JST crosses 1 April: FY2025 and FY2026
    assert fiscal_years_between(datetime(2026, 3, 1, tzinfo=UTC) - jst,
                                datetime(2026, 5, 1, tzinfo=UTC) - jst) == [2025, 2026]
    # ending exactly at 2026-04-01 00:00 JST: FY2025 only (the end is exclusive)
    assert fiscal_years_between(datetime(2026, 3, 1, tzinfo=UTC) - jst,
                                datetime(2026, 4, 1, tzinfo=UTC) - jst) == [2025]


# --- 9. [rules] in the programme TOML ----------------------------------------------------------


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "programme.toml"
    p.write_text(text)
    return p


def test_example_programme_is_a_demonstration_with_default_rules(tmp_path: Path) -> None:
    prog = load_programme(_write(tmp_path, example_programme("x")))
    assert prog.rules == CreditRules(demonstration=True)
    assert seal_problems(prog.methodology, prog.rules, [2025, 2026]) == []
    real = example_programme("x").replace("demonstration = true", "demonstration = false")
    prog = load_programme(_write(tmp_path, real))
    assert prog.rules == DEFAULT_RULES
    assert len(seal_problems(prog.methodology, prog.rules, [2025])) == 2


def test_rules_table_is_parsed(tmp_path: Path) -> None:
    text = example_programme("x").replace("\n[rules]\n", (
        "\n[rules]\nbattery = \"exclude\"\nproject_emission_ppm = 0\n"
        "registered = 2026-04-01\nev_real_wh_per_km = 180\n"))
    rules = load_programme(_write(tmp_path, text)).rules
    assert rules == CreditRules(battery="exclude", project_emission_ppm=0,
                                registered="2026-04-01", ev_real_wh_per_km=180,
                                demonstration=True)


@pytest.mark.parametrize(("line", "message"), [
    ("batery = \"exclude\"", r"\[rules\]: unknown key 'batery'"),
    ("demonstration = true", r"\[rules\]: 'demonstration' belongs under \[programme\]"),
    ("project_emission_ppm = \"6000\"", r"\[rules\]: rules.project_emission_ppm: '6000' has "
                                        "the wrong type"),
    ("battery = \"sometimes\"", r"\[rules\]: rules.battery: 'sometimes' is not one of"),
    ("project_emission_ppm = 2000000", r"\[rules\]: rules.project_emission_ppm: 2000000"),
])
def test_bad_rules_are_refused_naming_file_and_key(tmp_path: Path, line: str,
                                                   message: str) -> None:
    path = _write(tmp_path, example_programme("x").replace("\n[rules]\n", f"\n[rules]\n{line}\n"))
    with pytest.raises(ConfigError, match=message) as e:
        load_programme(path)
    assert str(path) in str(e.value)


def test_demonstration_must_be_a_boolean(tmp_path: Path) -> None:
    path = _write(tmp_path, example_programme("x").replace("demonstration = true",
                                                           "demonstration = \"yes\""))
    with pytest.raises(ConfigError, match=r"\[programme\]: 'demonstration' must be true or"):
        load_programme(path)
