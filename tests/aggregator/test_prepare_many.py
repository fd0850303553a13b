"""``aggregator.checks.prepare_many``: a message's readings prepared phase by phase (speed)
must be exactly what each reading prepared alone gives — same verdicts, same reasons, same
bytes — whatever else is in the message and wherever it stands."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from aggregator.checks import TimeWindow, prepare, prepare_many
from aggregator.registry import build_enrolment
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.records import Enrolment, MeterSpec, Quantity
from tests.aggregator.ledger_kit import PV_FIT, T0, Device

WINDOW = TimeWindow(datetime(2026, 11, 23, tzinfo=UTC), timedelta(minutes=5))


def _enrolment(device: Device) -> Enrolment:
    return build_enrolment(public_key_raw(device.key), "hh-test", "prog-1",
                           [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 4500)],
                           dict(PV_FIT), format_time(T0))


def _mixed(device: Device) -> list[Any]:
    """Good readings and one of each refusal prepare can make, interleaved."""
    forged = device.reading()
    forged["energy_wh"] += 1
    missing = device.reading()
    del missing["meter"]
    future = device.reading(end="2026-12-01T00:00:00Z")
    long_source = device.reading(source={"protocol": "x" * 64, "meter_serial": "y" * 64,
                                  "meter_model": "z" * 64})
    return [device.reading(), forged, device.reading(), missing, Device().reading(), future,
            "not a reading", {"seq": -1}, long_source, device.reading(), [1, 2]]


def test_each_reading_prepared_as_alone() -> None:
    device = Device()
    enrolment = _enrolment(device)
    objs = _mixed(device)
    for args in ((None, None), (enrolment, None), (enrolment, device.key.public_key())):
        together = prepare_many(objs, device.device_id, WINDOW, *args)
        alone = [prepare(o, device.device_id, WINDOW, *args) for o in objs]
        assert together == alone
        # and independent of the other readings' order
        assert prepare_many(objs[::-1], device.device_id, WINDOW, *args) == alone[::-1]
    together = prepare_many(objs, device.device_id, WINDOW, enrolment)
    codes = [None if p.early is None else p.early.code for p in together]
    assert codes == [None, None, None, "malformed", "wrong_topic", "future", "malformed",
                     "malformed", None, None, "malformed"]
    bad = [p.bad_signature is not None for p in together]
    assert bad == [False, True, False, False, False, False, False, False, False, False, False]
    assert all(p.entry == canonical_bytes(o) for p, o in zip(together, objs, strict=True)
               if p.reading is not None)
    assert prepare_many([], device.device_id, WINDOW, enrolment) == []
