"""Hourly certificates: what an hour of self-consumed PV proves, from real signed readings.

The readings are replayed by the real :class:`LedgerReplay`, whose claim book holds exactly
what the verifier holds; the proven hours are computed with the same self-consumption
arithmetic as the J-Credit batches.
"""

from __future__ import annotations

import json
from fractions import Fraction

from eco_protocol.certificates import (
    HOUR,
    CertificateBundle,
    IssuerConfig,
    ProductionDevice,
    face_value,
    hour_of,
    proven_hours,
    within_one_hour,
)
from eco_protocol.methodology import household_terms
from eco_protocol.records import Enrolment
from eco_protocol.replay import LedgerReplay
from tests.protocol.claims_kit import FIT, HOUR0, HOUR1, Log, two_hour_log


def _replayed(log: Log) -> LedgerReplay:
    replay = LedgerReplay(log.signer.verifier.public_key)
    for e in log.entries:
        replay.add(e)
    return replay


def _hours(log: Log, household: str = "hh-0001") -> dict[str, tuple[int, dict[int, int]]]:
    replay = _replayed(log)
    book = replay.claims
    held = [h.reading for h in book.held.values() if h.household == household]
    terms = household_terms(book.enrolments[household])
    return {f"{h.hour:%H}": (h.proven_wh, dict(h.shares))
            for h in proven_hours(household, held, terms)}


def test_an_hour_proves_the_self_consumption_of_its_spans() -> None:
    log = two_hour_log()
    hours = _hours(log)
    # hour 0: max(0, 1000-400) + max(0, 800-900) = 600, all from slot 0's PV reading
    assert hours["00"] == (600, {log.at[(1, "pv1", 0)]: 600})
    # hour 1: 1200-200 = 1000; slot 3 has no export reading, so it proves nothing
    assert hours["01"] == (1000, {log.at[(1, "pv1", 2)]: 1000})


def test_proven_energy_never_exceeds_generation_minus_export_per_hour() -> None:
    log = Log()
    log.enrol(1)
    pv = [900, 1500, 40, 2500]
    ex = [1000, 100, 0, 2499]
    for slot, (p, e) in enumerate(zip(pv, ex, strict=True)):
        log.slot(1, slot, p, e)
    hours = _hours(log)
    for h, (proven, shares) in hours.items():
        slots = range(int(h) * 2, int(h) * 2 + 2)
        assert proven == sum(max(0, pv[s] - ex[s]) for s in slots)
        for index, wh in shares.items():
            slot = next(s for s in slots if log.at[(1, "pv1", s)] == index)
            assert wh <= pv[slot]


def test_a_battery_home_or_one_without_export_gets_no_hourly_certificate() -> None:
    log = Log()
    log.enrol(1, {**FIT, "battery": True})
    log.slot(1, 0, 1000, 100)
    assert _hours(log) == {}
    replay = _replayed(log)
    assert replay.claims.held  # its readings are logged and creditable, only not hourly proof


def test_face_value_is_whole_wh_rounded_down_and_never_negative() -> None:
    assert face_value(600) == 600
    assert face_value(Fraction(12349, 10)) == 1234
    assert face_value(Fraction(9999, 10000)) == 0
    assert face_value(600, already_claimed_wh=250) == 350
    assert face_value(600, already_claimed_wh=601) == 0


def test_spans_are_hourly_only_inside_one_utc_hour() -> None:
    assert within_one_hour(HOUR0, HOUR0 + HOUR)
    assert not within_one_hour(HOUR0, HOUR0 + 2 * HOUR)
    assert not within_one_hour(HOUR0 + HOUR / 2, HOUR1 + HOUR / 2)
    assert hour_of(HOUR0 + HOUR / 2) == HOUR0


def test_a_bundle_carries_the_energytag_fields() -> None:
    log = two_hour_log()
    enrol = Enrolment.from_dict(json.loads(log.entries[0]))
    index = log.at[(1, "pv1", 0)]
    b = CertificateBundle("iss-1", 101, 700, HOUR0, ProductionDevice("hh-0001", 5000),
                          IssuerConfig("City of Example", "JP-TK", "JP"),
                          ((index, log.sha(index), 600),), "2026-12-01T00:00:00Z", 9)
    d = b.to_dict()
    assert d["bundle_quantity"] == b.face_value_wh == 600
    assert (d["certificate_bundle_id_range_start"], d["certificate_bundle_id_range_end"]) == \
        (101, 700)
    assert d["production_starting_interval"] == "2026-11-22T00:00:00Z"
    assert d["production_ending_interval"] == "2026-11-22T01:00:00Z"
    assert d["dissemination_level"] == "self_consumed"
    assert (d["issue_market_zone"], d["country_of_issuance"]) == ("JP-TK", "JP")
    assert d["energy_source"] == "solar_pv" and d["emissions_factor_production_device"] == 0
    assert d["hash"]["readings"] == [{"index": index, "entry_sha256": log.sha(index),
                                      "wh": 600}]
    assert enrol.household == d["device_id"]
