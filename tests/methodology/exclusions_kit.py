"""A world of households whose readings a batch must exclude for a reason, and the report of one
period over it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import T0, Device

PROG = "excl-prog"


NOW = "2026-11-25T00:00:00Z"


PERIOD = "2026-11-22..2026-11-23"


def at(k: int) -> str:
    return format_time(T0 + timedelta(minutes=30 * k))


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    """Four homes over one JST day: a metered PV home whose inverter sends one implausible
    interval and one repeated interval; a PV home without export metering; a battery home
    exporting at night; an EV home."""
    signer = NoteSigner("eco-ledger.excl.test", Ed25519PrivateKey.generate())
    ledger = Ledger(SqliteStore(tmp_path / "l.sqlite3"), signer, tmp_path / "cp.latest")
    (tmp_path / "programme.toml").write_text(example_programme(PROG))
    programme = load_programme(tmp_path / "programme.toml")
    intake = Intake(ledger, rules=programme.rules)
    pv = MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 5000)
    exp = MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", 8000)
    ev = MeterSpec("ev1", Quantity.EV_CHARGE, "openevse", 7000)
    fit = {"installed": "2026-04-01", "status": "post_fit", "battery": False}
    homes = {"metered": ([pv, exp], fit), "unmetered": ([pv], {**fit, "zero_export": True}),
             "battery": ([pv, exp], {**fit, "battery": True}),
             "ev": ([ev], {"ev": {"wh_per_km": 150, "petrol_m_per_l": 15000}})}
    devices = {}
    for name, (meters, f) in homes.items():
        d = Device()
        enrol(ledger, build_enrolment(public_key_raw(d.key), name, PROG, meters, f,
                                      format_time(T0)))
        devices[name] = d

    def send(name: str, readings: list[dict[str, Any]]) -> list[dict[str, Any]]:
        d = devices[name]
        (o,) = intake.process([(d.topic, canonical_bytes(readings))], NOW)
        assert o.receipt is not None
        items: list[dict[str, Any]] = o.receipt["items"]
        return items

    for k in range(0, 24):  # 09:00–21:00 JST on 2026-11-22
        t = {"start": at(k), "end": at(k + 1)}
        m = devices["metered"]
        energy = 6000 if k == 5 else 900  # interval 5: more than 5 kW allows (2500 Wh)
        send("metered", [m.reading(energy=energy, meter="pv1", **t),
                         m.reading(energy=100, meter="exp1", quantity="grid_export", **t)])
        if k == 6:  # the same half hour claimed again
            send("metered", [m.reading(energy=900, meter="pv1", **t)])
        u = devices["unmetered"]
        send("unmetered", [u.reading(energy=700, meter="pv1", **t)])
        b = devices["battery"]
        send("battery", [b.reading(energy=1000, meter="pv1", **t),
                         b.reading(energy=0, meter="exp1", quantity="grid_export", **t)])
        e = devices["ev"]
        send("ev", [e.reading(energy=1500 if k % 4 == 0 else 0, meter="ev1",
                              quantity="ev_charge", **t)])
    for k in range(24, 28):  # the battery exports 2 kWh at night, the inverter is off
        b = devices["battery"]
        send("battery", [b.reading(energy=500, meter="exp1", quantity="grid_export",
                                   start=at(k), end=at(k + 1))])
    ledger.checkpoint_now()
    return {"ledger": ledger, "programme": programme, "tmp": tmp_path}


def report_of(world: dict[str, Any], methodology: str) -> tuple[dict[str, Any], Path]:
    ledger, programme = world["ledger"], world["programme"]
    plan = plan_batch(scan(ledger.store, rules=programme.rules), programme,
                      period_from_dates(PERIOD), methodology)
    seal_batch(ledger, plan)
    out = world["tmp"] / f"report-{methodology}"
    return write_report(ledger, programme, plan.batch_id, out), out
