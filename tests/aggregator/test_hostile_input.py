"""The hostile input catalogue (issue 6): each attack, the exact error it gets, and proof that
nothing else was affected — an honest device in the same group commit is still accepted and the
ledger grows only by the honest reading."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aggregator.intake import IngestLimits, Intake, Outcome
from aggregator.ledger import Ledger
from aggregator.registry import revoke
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.keys import DeviceId
from eco_protocol.signing import sign_record
from tests.aggregator.ledger_kit import Device, enrol_device

NOW = "2026-11-23T00:00:00Z"


def _run_with_honest(ledger: Ledger, device: Device, topic: str, payload: bytes,
                    intake: Intake | None = None) -> Outcome:
    """Process the hostile message in one group with an honest device's reading."""
    honest = Device()
    enrol_device(ledger, honest)
    size0 = ledger.size()
    intake = intake or Intake(ledger)
    hostile, good = intake.process([(topic, payload),
                                    (honest.topic, canonical_bytes([honest.reading()]))], NOW)
    assert good.receipt is not None and good.receipt["items"][0]["status"] == "accepted"
    grown = ledger.size() - size0
    assert grown == 1 + hostile.accepted, "only the honest reading (and nothing hostile) landed"
    return hostile


def _reason(o: Outcome) -> str:
    if o.receipt is None:
        assert o.problem is not None
        return o.problem
    (item,) = o.receipt["items"]
    assert item["status"] == "rejected" and item["leaf_index"] is None
    return str(item["reason"])


def _signed(device: Device, **override: Any) -> list[dict[str, Any]]:
    return [device.reading(**override)]


CASES: list[tuple[str, Callable[[Device], tuple[str | None, bytes]], str]] = [
    ("malformed JSON", lambda d: (None, b'[{"type": "eco.reading/v1",'),
     "malformed: payload is not JSON"),
    ("not a list", lambda d: (None, b'{"type": "eco.reading/v1"}'),
     "malformed: payload must be a JSON array"),
    ("too many readings", lambda d: (None, canonical_bytes([d.reading() for _ in range(65)])),
     "malformed: payload must be a JSON array of 1–64 readings"),
    ("oversize payload", lambda d: (None, b"[" + b" " * 200_000 + b"]"),
     "malformed: payload of 200002 bytes exceeds 131072"),
    ("wrong type of a field", lambda d: (None, canonical_bytes(
        [sign_record({**{k: v for k, v in d.reading().items() if k != "sig"}, "seq": "1"},
                     d.key)])), "malformed: reading.seq: expected an integer"),
    ("float energy", lambda d: (None, json.dumps([{**d.reading(), "energy_wh": 1.5}]).encode()),
     "malformed: payload is not JSON: non-integer number '1.5'"),
    ("unknown version", lambda d: (None, canonical_bytes([{**d.reading(),
                                                           "type": "eco.reading/v2"}])),
     "malformed: reading: expected type 'eco.reading/v1', got 'eco.reading/v2'"),
    ("bad signature", lambda d: (None, canonical_bytes([{**d.reading(), "co2_g_estimate": 1}])),
     "bad_signature:"),
    ("seq far in the future", lambda d: (None, canonical_bytes(_signed(d, seq=10**9,
                                                                prev="ab" * 32))),
     "gap: expected 1"),
    ("interval in the future", lambda d: (None, canonical_bytes(_signed(
        d, start="2026-11-24T00:00:00Z", end="2026-11-24T00:30:00Z"))), "future: interval ends"),
]

# Correctly signed and chained readings that break a rule about what they *claim*: they enter
# the log (so the device's chain never stalls) and credit nothing; the receipt says why
# (docs/protocol.md §3).
NOT_CREDITABLE: list[tuple[str, Callable[[Device], list[dict[str, Any]]], str]] = [
    ("years in the past, before joining", lambda d: _signed(
        d, start="2020-01-01T00:00:00Z", end="2020-01-01T00:30:00Z"),
     "before_joining: starts 2020-01-01T00:00:00Z"),
    ("energy above rated power", lambda d: _signed(d, energy=2251),
     "implausible: 2251 Wh in 1800 s exceeds the meter's rated 4500 W (2250 Wh)"),
    ("energy disagreeing with registers", lambda d: _signed(d, energy_wh=10),
     "energy_mismatch:"),
    ("end before start", lambda d: _signed(
        d, start="2026-11-22T01:00:00Z", end="2026-11-22T00:30:00Z"), "bad_interval:"),
    ("unknown meter", lambda d: _signed(d, meter="ev9"),
     "unknown_meter: meter 'ev9' is not enrolled"),
    ("misaligned interval", lambda d: _signed(
        d, start="2026-11-22T00:10:00Z", end="2026-11-22T00:40:00Z"), "misaligned:"),
    ("300 days in one reading", lambda d: _signed(
        d, start="2026-01-22T00:00:00Z", end="2026-11-18T00:00:00Z", flags=["gap_filled"]),
     "over_long:"),
    ("clock not synchronised", lambda d: _signed(d, flags=["clock_unsynced"]),
     "clock_unsynced:"),
]


@pytest.mark.parametrize(("name", "make", "expected"), CASES, ids=[c[0] for c in CASES])
def test_hostile_message_gets_its_error_and_harms_nobody(
        ledger: Ledger, device: Device, name: str,
        make: Callable[[Device], tuple[str | None, bytes]], expected: str) -> None:
    topic, payload = make(device)
    out = _run_with_honest(ledger, device, topic or device.topic, payload)
    assert _reason(out).split(f"{device.device_id}: ", 1)[-1].startswith(expected), _reason(out)
    assert ledger.store.reading(device.device_id, 1) is None


@pytest.mark.parametrize(("name", "make", "expected"), NOT_CREDITABLE,
                         ids=[c[0] for c in NOT_CREDITABLE])
def test_claim_breaking_a_rule_is_logged_not_creditable_and_chain_flows(
        ledger: Ledger, device: Device, name: str,
        make: Callable[[Device], list[dict[str, Any]]], expected: str) -> None:
    intake = Intake(ledger)
    out = _run_with_honest(ledger, device, device.topic, canonical_bytes(make(device)), intake)
    assert out.receipt is not None
    (item,) = out.receipt["items"]
    assert item["status"] == "accepted" and item["creditable"] is False, item
    assert str(item["reason"]).startswith(expected), item["reason"]
    assert ledger.store.reading(device.device_id, 1) is not None  # in the log
    # the next honest interval is accepted and creditable: nothing stalled
    (nxt,) = intake.process([(device.topic, canonical_bytes(
        [device.reading(start="2026-11-22T12:00:00Z", end="2026-11-22T12:30:00Z",
                        register_start_wh=device.register, register_end_wh=device.register + 400,
                        energy_wh=400)]))], NOW)
    assert nxt.receipt is not None
    (item2,) = nxt.receipt["items"]
    assert item2["status"] == "accepted" and item2["creditable"] is True, item2


def test_replayed_reading_is_a_duplicate_not_a_second_entry(ledger: Ledger,
                                                            device: Device) -> None:
    msg = canonical_bytes([device.reading()])
    Intake(ledger).process([(device.topic, msg)], NOW)
    out = _run_with_honest(ledger, device, device.topic, msg)
    assert out.receipt is not None and out.receipt["items"][0]["status"] == "duplicate"


def test_reading_published_on_another_devices_topic(ledger: Ledger, device: Device) -> None:
    victim = Device()
    enrol_device(ledger, victim)
    out = _run_with_honest(ledger, device, victim.topic, canonical_bytes([device.reading()]))
    assert _reason(out).startswith(f"wrong_topic: reading of device {device.device_id} "
                                  f"published under {victim.device_id}")


def test_fork_is_rejected_and_flagged(ledger: Ledger, device: Device) -> None:
    Intake(ledger).process([(device.topic, canonical_bytes([device.reading(energy=5)]))], NOW)
    device.seq, device.prev = 0, "0" * 64
    size = ledger.size()
    (out,) = Intake(ledger).process([(device.topic,
                                      canonical_bytes([device.reading(energy=6)]))], NOW)
    assert _reason(out).startswith("fork: seq 1 is already in the ledger at leaf")
    # the forked reading stays out; the device's quarantine (with it as evidence) goes in
    assert ledger.size() == size + 1
    assert parse_json(ledger.store.entry(size))["type"] == "eco.quarantine/v1"
    row = ledger.store.device(device.device_id)
    assert row is not None and row.flag == f"quarantined by entry {size}"


def test_revoked_device(ledger: Ledger, device: Device) -> None:
    revoke(ledger, DeviceId(device.device_id), "reported stolen", NOW)
    out = _run_with_honest(ledger, device, device.topic, canonical_bytes([device.reading()]))
    assert _reason(out) == f"revoked: device {device.device_id} was revoked"


def test_a_flooding_device_is_rate_limited_and_others_are_not(ledger: Ledger,
                                                              device: Device) -> None:
    t = [0.0]
    intake = Intake(ledger, IngestLimits(rate_per_device=1.0, burst_per_device=5),
                    clock=lambda: t[0])
    flood = [(device.topic, canonical_bytes([device.reading()])) for _ in range(50)]
    outs = intake.process(flood, NOW)
    assert sum(o.accepted for o in outs) == 5
    limited = [o for o in outs if o.problem and "rate_limited" in o.problem]
    assert len(limited) == 45
    assert len([r for r in ledger.store.rejections() if r[2].startswith("rate_limited")]) == 1
    out = _run_with_honest(ledger, Device(), device.topic, b"[]", intake)  # others unaffected
    assert out.problem is not None and "rate_limited" in out.problem
    t[0] += 10.0  # tokens come back with time
    device.seq, device.prev = 5, ledger.store.device(device.device_id).last_hash  # type: ignore
    ok = intake.process([(device.topic, canonical_bytes([device.reading()]))], NOW)
    assert ok[0].accepted == 1


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(payload=st.one_of(
    st.binary(max_size=300),
    st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=20),
                 lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=12), c,
                                                                     max_size=6),
                 max_leaves=20).map(lambda o: json.dumps(o).encode())))
def test_arbitrary_payloads_never_crash_and_never_reach_the_ledger(
        ledger: Ledger, device: Device, payload: bytes) -> None:
    size0 = ledger.size()
    (out,) = Intake(ledger).process([(device.topic, payload)], NOW)
    assert out.accepted == 0 and ledger.size() == size0
