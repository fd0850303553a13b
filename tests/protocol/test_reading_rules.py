"""eco_protocol.rules: each rule a reading can break, with its stable violation code."""

from __future__ import annotations

from typing import Any

import pytest

from eco_protocol.errors import InvalidInput
from eco_protocol.records import GENESIS_PREV, Enrolment, Reading
from eco_protocol.rules import RuleViolation, check_chain, check_reading_semantics
from tests.protocol.factories import (
    BASE_TIME,
    ReadingChain,
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
ENROLMENT = Enrolment.from_dict(make_enrolment(KEY, LOG, METERS))


def reading(**kw: Any) -> Reading:
    return Reading.from_dict(make_reading(KEY, **kw))


def violation(r: Reading) -> RuleViolation:
    with pytest.raises(RuleViolation) as exc:
        check_reading_semantics(r, ENROLMENT)
    return exc.value


def test_a_plausible_reading_passes() -> None:
    check_reading_semantics(reading(), ENROLMENT)
    check_reading_semantics(reading(meter="grid", quantity="grid_export", energy_wh=3000),
                            ENROLMENT)


def test_unknown_meter() -> None:
    v = violation(reading(meter="ev1", quantity="ev_charge"))
    assert v.code == "unknown_meter"
    assert str(v).startswith("unknown_meter: meter 'ev1' is not enrolled")


def test_quantity_mismatch() -> None:
    v = violation(reading(meter="pv1", quantity="grid_import"))
    assert v.code == "quantity_mismatch"
    assert "pv_generation" in v.detail and "grid_import" in v.detail


def test_end_equal_to_start() -> None:
    v = violation(reading(start=BASE_TIME, end=BASE_TIME, energy_wh=0))
    assert v.code == "bad_interval"


def test_end_before_start() -> None:
    v = violation(reading(start="2026-11-22T09:30:00Z", end="2026-11-22T09:00:00Z", energy_wh=0))
    assert v.code == "bad_interval"
    assert "2026-11-22T09:00:00Z" in v.detail


def test_energy_must_match_registers_unless_excused() -> None:
    v = violation(reading(energy_wh=500, register_start_wh=1000, register_end_wh=1400))
    assert v.code == "energy_mismatch"
    assert "500" in v.detail and "400" in v.detail
    for flag in ("meter_reset", "meter_replaced", "rollover"):
        check_reading_semantics(
            reading(energy_wh=500, register_start_wh=99_900, register_end_wh=400, flags=[flag]),
            ENROLMENT)


@pytest.mark.parametrize("flag", ["gap_filled", "clock_unsynced"])
def test_other_flags_do_not_excuse_an_energy_mismatch(flag: str) -> None:
    v = violation(reading(energy_wh=500, register_start_wh=1000, register_end_wh=1400,
                          flags=[flag]))
    assert v.code == "energy_mismatch"


def test_implausible_energy_against_rated_power() -> None:
    # 5000 W for 1800 s is exactly 2500 Wh: allowed; one more watt-hour is not
    check_reading_semantics(reading(energy_wh=2500), ENROLMENT)
    v = violation(reading(energy_wh=2501))
    assert v.code == "implausible"
    assert "5000 W" in v.detail and "2500 Wh" in v.detail
    # the limit scales with the interval length
    long = reading(start="2026-11-22T00:00:00Z", end="2026-11-22T01:00:00Z", energy_wh=5000)
    check_reading_semantics(long, ENROLMENT)


def test_implausible_applies_to_excused_readings_too() -> None:
    v = violation(reading(energy_wh=9000, register_start_wh=5, register_end_wh=1,
                          flags=["rollover"]))
    assert v.code == "implausible"


def test_chain_accepts_the_next_reading() -> None:
    chain = ReadingChain(KEY)
    r1 = Reading.from_dict(chain.next())
    check_chain(r1, 1, GENESIS_PREV)
    prev = chain.prev
    r2 = Reading.from_dict(chain.next())
    check_chain(r2, 2, prev)


def test_gap_stale_and_bad_prev() -> None:
    chain = ReadingChain(KEY)
    chain.next()
    r2 = Reading.from_dict(chain.next())
    with pytest.raises(RuleViolation) as gap:
        check_chain(r2, 1, GENESIS_PREV)
    assert gap.value.code == "gap" and gap.value.detail == "expected 1"
    assert str(gap.value) == "gap: expected 1"  # the receipt's "gap: expected <n>" reason
    with pytest.raises(RuleViolation) as stale:
        check_chain(r2, 3, chain.prev)
    assert stale.value.code == "stale_seq"
    with pytest.raises(RuleViolation) as fork:
        check_chain(r2, 2, "ab" * 32)
    assert fork.value.code == "bad_prev"
    assert "seq 1" in fork.value.detail


def test_violations_are_invalid_input() -> None:
    assert issubclass(RuleViolation, InvalidInput)
