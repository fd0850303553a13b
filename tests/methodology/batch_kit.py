"""A signed log of three homes for a batch: the readings, enrolments and programme every batch and
report test starts from."""

from __future__ import annotations

from datetime import timedelta

from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.registry import build_enrolment, enrol
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import T0, Device


def three_homes(ledger: Ledger, programme: str, intervals: int,
                battery_home: bool) -> list[Device]:
    """Three PV homes with export meters (the third with a battery, if ``battery_home``) and
    ``intervals`` half hours of readings from T0, through the intake."""
    intake = Intake(ledger)
    devices = []
    for i in range(3):
        d = Device()
        meters = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 6000),
                  MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", 6000)]
        fit = {"installed": "2026-04-01", "status": "post_fit",
               "battery": battery_home and i == 2}
        enrol(ledger, build_enrolment(public_key_raw(d.key), f"hh-{i}", programme, meters, fit,
                                      format_time(T0)))
        devices.append(d)
    for k in range(intervals):
        start = T0 + timedelta(minutes=30 * k)
        times = {"start": format_time(start), "end": format_time(start + timedelta(minutes=30))}
        for i, d in enumerate(devices):
            pv = 200 + 37 * ((k + i) % 9)
            msg = [d.reading(energy=pv, meter="pv1", **times),
                   d.reading(energy=pv // (2 + i), meter="exp1", quantity="grid_export",
                             **times)]
            (o,) = intake.process([(d.topic, canonical_bytes(msg))], "2026-11-25T00:00:00Z")
            assert o.accepted == 2, o.receipt
    return devices
