"""eco_protocol.creditability: every rule a logged reading can break, with its stable code, and
the per-(device, meter) cursor that makes overlaps and register jumps visible."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from eco_protocol.creditability import (
    DEFAULT_RULES,
    CreditRules,
    CreditTracker,
    Exclusion,
    MeterCursor,
    Rule,
    joined_at,
    judge_reading,
    next_cursor,
)
from eco_protocol.errors import MalformedRecord
from eco_protocol.records import Enrolment, Reading
from tests.protocol.records_kit import (
    BASE_TIME,
    make_device_key,
    make_enrolment,
    make_log_signer,
    make_reading,
)

KEY = make_device_key(1)
LOG = make_log_signer()
METERS = [
    {"id": "pv1", "quantity": "pv_generation", "protocol": "sunspec-modbus", "rated_w": 5000},
    {"id": "grid", "quantity": "grid_export", "protocol": "echonet-lite", "rated_w": 8000},
]
FIT = {"installed": "2026-06-01", "status": "none", "battery": False}
ENROLMENT = Enrolment.from_dict(make_enrolment(KEY, LOG, METERS, fit=FIT))


def _enrolment(**kw: Any) -> Enrolment:
    return Enrolment.from_dict(make_enrolment(KEY, LOG, METERS, **kw))


def _reading(**kw: Any) -> Reading:
    return Reading.from_dict(make_reading(KEY, **kw))


def _excluded(r: Reading, cursor: MeterCursor | None = None, en: Enrolment = ENROLMENT,
             rules: CreditRules = DEFAULT_RULES) -> Exclusion:
    verdict = judge_reading(r, en, cursor, rules)
    assert verdict is not None, "expected the reading to be excluded"
    return verdict


def test_a_plausible_reading_is_creditable() -> None:
    assert judge_reading(_reading(), ENROLMENT, None) is None
    assert judge_reading(_reading(meter="grid", quantity="grid_export", energy_wh=3000),
                         ENROLMENT, None) is None


def test_unknown_meter_and_quantity_mismatch() -> None:
    v = _excluded(_reading(meter="ev1", quantity="ev_charge"))
    assert v.rule is Rule.UNKNOWN_METER
    assert v.reason.startswith("unknown_meter: meter 'ev1' is not enrolled")
    v = _excluded(_reading(meter="pv1", quantity="grid_import"))
    assert v.rule is Rule.QUANTITY_MISMATCH
    assert "pv_generation" in v.detail and "grid_import" in v.detail


def test_bad_interval() -> None:
    assert _excluded(_reading(start=BASE_TIME, end=BASE_TIME, energy_wh=0)).rule \
        is Rule.BAD_INTERVAL
    v = _excluded(_reading(start="2026-11-22T09:30:00Z", end="2026-11-22T09:00:00Z", energy_wh=0))
    assert v.rule is Rule.BAD_INTERVAL and "2026-11-22T09:00:00Z" in v.detail


def test_alignment_to_the_programme_interval() -> None:
    assert _excluded(_reading(start=BASE_TIME + timedelta(minutes=10))).rule is Rule.MISALIGNED
    # 45 minutes is not a whole number of 30-minute intervals
    v = _excluded(_reading(start=BASE_TIME, end=BASE_TIME + timedelta(minutes=45), energy_wh=10))
    assert v.rule is Rule.MISALIGNED
    # under a 15-minute programme both are fine
    quarter = CreditRules(interval_s=900)
    assert judge_reading(_reading(start=BASE_TIME + timedelta(minutes=15),
                                 end=BASE_TIME + timedelta(minutes=30)),
                         ENROLMENT, None, quarter) is None


def test_several_intervals_only_gap_filled_and_bounded() -> None:
    two = {"start": BASE_TIME, "end": BASE_TIME + timedelta(hours=1), "energy_wh": 600}
    v = _excluded(_reading(**two))
    assert v.rule is Rule.OVER_LONG and "gap_filled" in v.detail
    assert judge_reading(_reading(**two, flags=["gap_filled"]), ENROLMENT, None) is None
    # 48 intervals (one day) is the default longest gap; 49 is over it
    day = _reading(start=BASE_TIME, end=BASE_TIME + timedelta(hours=24), energy_wh=100,
                  flags=["gap_filled"])
    assert judge_reading(day, ENROLMENT, None) is None
    v = _excluded(_reading(start=BASE_TIME, end=BASE_TIME + timedelta(hours=24, minutes=30),
                         energy_wh=100, flags=["gap_filled"]))
    assert v.rule is Rule.OVER_LONG and "49 intervals" in v.detail
    # the 300-day claim of the issue: over-long however it is flagged
    v = _excluded(_reading(start=BASE_TIME - timedelta(days=300), end=BASE_TIME,
                         energy_wh=100, flags=["gap_filled"]))
    assert v.rule is Rule.OVER_LONG


def test_overlap_with_the_same_meters_previous_reading() -> None:
    first = _reading()
    cursor = next_cursor(None, first)
    again = _excluded(_reading(register_start_wh=first.register_end_wh), cursor)
    assert again.rule is Rule.OVERLAP and "before the end" in again.detail
    # the next interval is fine; a later one too (a gap is not an overlap)
    assert judge_reading(_reading(start=BASE_TIME + timedelta(minutes=30),
                                 register_start_wh=first.register_end_wh),
                         ENROLMENT, cursor) is None
    assert judge_reading(_reading(start=BASE_TIME + timedelta(hours=5),
                                 register_start_wh=first.register_end_wh),
                         ENROLMENT, cursor) is None


def test_register_continuity_unless_flagged() -> None:
    first = _reading()
    cursor = next_cursor(None, first)
    later = {"start": BASE_TIME + timedelta(minutes=30)}
    v = _excluded(_reading(**later, register_start_wh=first.register_end_wh + 7), cursor)
    assert v.rule is Rule.REGISTER_DISCONTINUITY
    assert str(first.register_end_wh) in v.detail
    for flag in ("meter_reset", "meter_replaced", "rollover"):
        assert judge_reading(_reading(**later, register_start_wh=5, register_end_wh=5,
                                     energy_wh=0, flags=[flag]), ENROLMENT, cursor) is None


def test_energy_must_match_registers_unless_excused() -> None:
    v = _excluded(_reading(energy_wh=500, register_start_wh=1000, register_end_wh=1400))
    assert v.rule is Rule.ENERGY_MISMATCH
    assert "500" in v.detail and "400" in v.detail
    for flag in ("meter_reset", "meter_replaced", "rollover"):
        assert judge_reading(_reading(energy_wh=500, register_start_wh=99_900,
                                     register_end_wh=400, flags=[flag]), ENROLMENT, None) is None
    for flag in ("gap_filled", "clock_unsynced"):
        assert _excluded(_reading(energy_wh=500, register_start_wh=1000, register_end_wh=1400,
                                flags=[flag])).rule is Rule.ENERGY_MISMATCH


def test_implausible_energy_against_rated_power_and_actual_duration() -> None:
    # 5000 W for 1800 s is exactly 2500 Wh: allowed; one more watt-hour is not
    assert judge_reading(_reading(energy_wh=2500), ENROLMENT, None) is None
    v = _excluded(_reading(energy_wh=2501))
    assert v.rule is Rule.IMPLAUSIBLE and "5000 W" in v.detail and "2500 Wh" in v.detail
    # a two-interval gap_filled reading may carry twice as much, not more
    two = {"start": BASE_TIME, "end": BASE_TIME + timedelta(hours=1), "flags": ["gap_filled"]}
    assert judge_reading(_reading(**two, energy_wh=5000), ENROLMENT, None) is None
    assert _excluded(_reading(**two, energy_wh=5001)).rule is Rule.IMPLAUSIBLE
    # flags excuse the register difference, never the rated power
    assert _excluded(_reading(energy_wh=9000, register_start_wh=5, register_end_wh=1,
                            flags=["rollover"])).rule is Rule.IMPLAUSIBLE


def test_clock_unsynced_is_not_creditable() -> None:
    assert _excluded(_reading(flags=["clock_unsynced"])).rule is Rule.CLOCK_UNSYNCED


def test_nothing_before_joining() -> None:
    # enrolled 2026-11-01T00:00Z: a reading of 2026-10-31 23:30Z is before; 00:00 is not
    en = _enrolment(fit=FIT, enrolled_at="2026-11-01T00:00:00Z")
    late_oct = datetime(2026, 10, 31, 23, 30, tzinfo=UTC)
    v = _excluded(_reading(start=late_oct), en=en)
    assert v.rule is Rule.BEFORE_JOINING and "2026-11-01T00:00:00Z" in v.detail
    assert judge_reading(_reading(start=late_oct + timedelta(minutes=30)), en, None) is None
    # a later participation date in fit.joined (JST day) moves the start: 2026-11-22 JST
    # begins 2026-11-21T15:00Z
    en = _enrolment(fit={**FIT, "joined": "2026-11-22"}, enrolled_at="2026-11-01T00:00:00Z")
    assert joined_at(en) == datetime(2026, 11, 21, 15, 0, tzinfo=UTC)
    assert _excluded(_reading(start=datetime(2026, 11, 21, 14, 30, tzinfo=UTC)),
                    en=en).rule is Rule.BEFORE_JOINING
    assert judge_reading(_reading(start=datetime(2026, 11, 21, 15, 0, tzinfo=UTC)), en,
                         None) is None
    # an earlier "joined" never back-dates crediting
    en = _enrolment(fit={**FIT, "joined": "2020-01-01"}, enrolled_at="2026-11-01T00:00:00Z")
    assert joined_at(en) == datetime(2026, 11, 1, tzinfo=UTC)
    # a malformed joined date excludes, never guesses
    en = _enrolment(fit={**FIT, "joined": "22/11/2026"})
    assert _excluded(_reading(), en=en).rule is Rule.BAD_ENROLMENT


def test_crediting_period() -> None:
    # registered 2024-04-01 (JST), 8 years → would run to 2032-04-01, but never past 2031-03-31
    rules = CreditRules(registered="2024-04-01")
    assert rules.crediting_end == datetime(2031, 3, 31, 15, 0, tzinfo=UTC)  # 2031-04-01 JST
    en = _enrolment(fit=FIT, enrolled_at="2026-01-01T00:00:00Z")
    last = datetime(2031, 3, 31, 14, 30, tzinfo=UTC)
    assert judge_reading(_reading(start=last), en, None, rules) is None
    v = _excluded(_reading(start=last + timedelta(minutes=30)), en=en, rules=rules)
    assert v.rule is Rule.OUTSIDE_CREDITING_PERIOD
    # registered 2020-06-10: 8 years end 2028-06-10 JST (2028-06-09T15:00Z)
    rules = CreditRules(registered="2020-06-10")
    assert rules.crediting_end == datetime(2028, 6, 9, 15, 0, tzinfo=UTC)
    assert _excluded(_reading(start=datetime(2028, 6, 9, 15, 0, tzinfo=UTC)), en=en,
                    rules=rules).rule is Rule.OUTSIDE_CREDITING_PERIOD
    # before registration: not yet creditable
    rules = CreditRules(registered="2026-12-01")
    assert _excluded(_reading(), rules=rules).rule is Rule.OUTSIDE_CREDITING_PERIOD


def test_equipment_installed_at_most_n_years_before_joining() -> None:
    # joined 2026-11-01 (JST 09:00): installed 2024-11-01 is exactly 2 years before: eligible;
    # 2024-10-31 is not
    ok = _enrolment(fit={**FIT, "installed": "2024-11-01"})
    assert judge_reading(_reading(), ok, None) is None
    old = _enrolment(fit={**FIT, "installed": "2024-10-31"})
    v = _excluded(_reading(), en=old)
    assert v.rule is Rule.EQUIPMENT_TOO_OLD and "2024-10-31" in v.detail
    # the rule is about the PV installation: the export meter's readings are not affected
    assert judge_reading(_reading(meter="grid", quantity="grid_export"), old, None) is None
    # configurable: with 3 years the old installation is eligible
    assert judge_reading(_reading(), old, None, CreditRules(max_equipment_age_years=3)) is None
    # a PV enrolment without an installation date cannot be checked: excluded
    assert _excluded(_reading(), en=_enrolment(fit={"status": "none"})).rule \
        is Rule.BAD_ENROLMENT


def test_tracker_advances_cursor_for_every_reading_of_an_enrolled_meter() -> None:
    """The issue's attack: the same interval claimed five times at rated maximum, then one
    reading spanning 300 days. Only the first claim credits."""
    t = CreditTracker()
    verdicts = []
    reg = 1_000_000
    for _ in range(5):
        verdicts.append(t.add(_reading(energy_wh=2500, register_start_wh=reg), ENROLMENT))
        reg += 2500
    verdicts.append(t.add(_reading(start=BASE_TIME + timedelta(minutes=30),
                                  end=BASE_TIME + timedelta(days=300), energy_wh=2500,
                                  register_start_wh=reg, flags=["gap_filled"]), ENROLMENT))
    assert verdicts[0] is None
    assert [v.rule for v in verdicts[1:] if v] == [Rule.OVERLAP] * 4 + [Rule.OVER_LONG]
    assert t.excluded == {Rule.OVERLAP: 4, Rule.OVER_LONG: 1}
    # time only moves forward: after the 300-day claim, an honest next interval overlaps it
    # (the device's own doing), so the cursor's end is the latest end ever claimed
    assert t.cursors[(ENROLMENT.device_id, "pv1")].end == BASE_TIME + timedelta(days=300)
    # an unknown meter gets no cursor
    t.add(_reading(meter="ev1", quantity="ev_charge"), ENROLMENT)
    assert (ENROLMENT.device_id, "ev1") not in t.cursors


def test_cursor_end_never_moves_backwards() -> None:
    late = _reading(start=BASE_TIME + timedelta(hours=2))
    c = next_cursor(None, late)
    c2 = next_cursor(c, _reading())  # an earlier interval (itself an overlap)
    assert c2.end == c.end and c2.register_end_wh == _reading().register_end_wh


def test_rules_round_trip_and_strictness() -> None:
    r = CreditRules(registered="2024-04-01", battery="exclude", ev_real_wh_per_km=180,
                    demonstration=True)
    assert CreditRules.from_dict(r.to_dict()) == r
    assert CreditRules.from_dict({}) == CreditRules()
    with pytest.raises(MalformedRecord, match="unknown field"):
        CreditRules.from_dict({"interval": 1800})
    with pytest.raises(MalformedRecord, match="wrong type"):
        CreditRules.from_dict({"interval_s": "1800"})
    with pytest.raises(MalformedRecord, match="wrong type"):
        CreditRules.from_dict({"max_gap_intervals": True})
    with pytest.raises(MalformedRecord, match="divide a day"):
        CreditRules(interval_s=7000)
    with pytest.raises(MalformedRecord, match="battery"):
        CreditRules(battery="sometimes")
    with pytest.raises(MalformedRecord, match="registered"):
        CreditRules(registered="2024-4-1")
