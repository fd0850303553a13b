"""Reports that say why (issue: sound credits, points 3–5): exclusions per household and per
batch, one methodology per batch, the demonstration mark, and what ``eco-verify`` refuses when a
dishonest aggregator (who holds the log key and can re-sign) hides an exclusion."""

from __future__ import annotations

import copy
import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.errors import Rejected
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
from eco_protocol.report import ReportProblem, verify_report
from eco_protocol.signing import sign_record
from eco_protocol.verify_cli import main as verify_main
from tests.aggregator.conftest import T0, Device

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


def evidence(out: Path) -> tuple[str, list[str]]:
    return ((out / "evidence" / "checkpoint").read_text(),
            (out / "evidence" / "entries.jsonl").read_text().splitlines())


def household(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The row of the home enrolled under pseudonym ``name`` (the test enrols pseudonyms)."""
    (row,) = [h for h in report["households"] if h["household"] == name]
    return row


def test_pv_report_says_why(world: dict[str, Any]) -> None:
    report, out = report_of(world, "pv")
    vkey = world["ledger"].signer.verifier.vkey
    res = verify_report(report, vkey, evidence=evidence(out))
    assert report["demonstration"] is True and res.demonstration
    assert report["batch_id"].startswith(f"{PROG}:pv:")
    assert report["exclusions"] == {"implausible": 1, "overlap": 1} == res.excluded
    metered = household(report, "metered")
    assert metered["readings"] == {"covered": 49, "creditable": 47,
                                   "excluded": {"implausible": 1, "overlap": 1}}
    assert metered["zeroed_by"] is None
    # 23 creditable spans of (900 − 100) Wh; the implausible span has no PV, so it nets 0
    assert metered["months"][0]["energy_wh"]["self_consumed"] == 23 * 800
    unmetered = household(report, "unmetered")
    assert unmetered["zeroed_by"] is not None
    assert unmetered["zeroed_by"].startswith("export_unmetered")
    assert unmetered["reduction_g"] == 0 and unmetered["readings"]["creditable"] == 24
    battery = household(report, "battery")
    # per day: 24 kWh of PV − 2 kWh exported at night = 22 kWh; per interval it would be 24
    assert battery["months"][0]["energy_wh"]["self_consumed"] == 22_000
    assert any(f.startswith("battery") for f in battery["flags"])
    # 22 kWh × 434 g/kWh × 0.994 (project emissions) = 9490.952 → 9490 g
    assert battery["reduction_g"] == 9490
    assert "ev" not in {h["household"] for h in report["households"]}
    csv_rows = (out / "households.csv").read_text().splitlines()
    assert any(r.startswith("metered,") and "implausible=1; overlap=1" in r for r in csv_rows)
    results = (out / "results.csv").read_text()
    assert "N_EXCL_implausible" in results and "DEMONSTRATION" in results


def test_ev_is_its_own_batch(world: dict[str, Any]) -> None:
    pv, _ = report_of(world, "pv")
    ev, out = report_of(world, "ev")  # the same period: another methodology does not overlap
    res = verify_report(ev, world["ledger"].signer.verifier.vkey, evidence=evidence(out))
    assert [h["household"] for h in ev["households"]] == ["ev"]
    assert ev["totals"]["carry_in_g"] == 0  # the PV batch's carry-over is not the EV's
    assert pv["previous_seals"] == [] and ev["previous_seals"] == []
    (month,) = ev["households"][0]["months"]
    # 6 × 1500 Wh = 9 kWh charged → 60 km at 150 Wh/km → 4 L at 15 km/L × 2320 g/L = 9280 g,
    # minus 9 kWh × 434 g/kWh = 3906 g → 5374 g
    assert month["energy_wh"]["ev_charge"] == 9000 and month["reduction_g"] == 5374
    assert res.reduction_g == 5374
    with pytest.raises(Rejected, match="overlaps"):
        plan_batch(scan(world["ledger"].store), world["programme"],
                   period_from_dates(PERIOD), "ev")


def test_a_non_demonstration_programme_refuses_illustrative_factors(
        world: dict[str, Any]) -> None:
    path = world["tmp"] / "programme.toml"
    path.write_text(path.read_text().replace("demonstration = true", "demonstration = false"))
    programme = load_programme(path)
    with pytest.raises(Rejected, match="illustrative"):
        plan_batch(scan(world["ledger"].store), programme, period_from_dates(PERIOD))


def resign(report: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    """What a dishonest aggregator can do: it holds the log key."""
    body = {k: v for k, v in report.items() if k != "sig"}
    return sign_record(body, world["ledger"].signer.private_key)


def test_hidden_exclusions_are_refused(world: dict[str, Any]) -> None:
    report, out = report_of(world, "pv")
    vkey = world["ledger"].signer.verifier.vkey

    def tampered(fn: Any) -> dict[str, Any]:
        r = copy.deepcopy(report)
        fn(r)
        return resign(r, world)

    def hide(r: dict[str, Any]) -> None:  # self-consistent, but not what the log says
        row = household(r, "metered")
        row["readings"] = {"covered": 49, "creditable": 49, "excluded": {}}
        r["exclusions"] = {}

    hidden = tampered(hide)
    verify_report(hidden, vkey)  # the counts add up, so only the evidence can tell
    with pytest.raises(ReportProblem, match="household metered's readings recomputed"):
        verify_report(hidden, vkey, evidence=evidence(out))

    def dropped(r: dict[str, Any]) -> None:
        r["exclusions"] = {}

    with pytest.raises(ReportProblem, match="exclusions: the report says"):
        verify_report(tampered(dropped), vkey)

    def unzeroed(r: dict[str, Any]) -> None:
        household(r, "unmetered")["zeroed_by"] = None

    with pytest.raises(ReportProblem, match="zeroed_by"):
        verify_report(tampered(unzeroed), vkey)

    def unflagged(r: dict[str, Any]) -> None:
        household(r, "battery")["flags"] = []

    with pytest.raises(ReportProblem, match="flags"):
        verify_report(tampered(unflagged), vkey)

    def undemonstrated(r: dict[str, Any]) -> None:
        del r["demonstration"]

    with pytest.raises(ReportProblem, match="demonstration"):
        verify_report(tampered(undemonstrated), vkey)

    def laxer(r: dict[str, Any]) -> None:  # other rules than those the seal was computed under
        r["methodology"]["rules"]["battery"] = "exclude"

    with pytest.raises(ReportProblem):
        verify_report(tampered(laxer), vkey)


def test_eco_verify_refuses_edited_tables(world: dict[str, Any],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    _, out = report_of(world, "pv")
    vkey = world["ledger"].signer.verifier.vkey
    args = ["report", str(out / "report.json"), "--log-key", vkey, "--evidence",
            str(out / "evidence")]
    assert verify_main(args) == 0
    printed = capsys.readouterr().out
    assert "households.csv recomputed from the report and identical" in printed
    assert "not creditable: implausible 1, overlap 1" in printed
    assert "DEMONSTRATION" in printed
    table = out / "households.csv"
    table.write_text(table.read_text().replace("implausible=1; overlap=1", ""))
    assert verify_main(args) == 1
    assert "households.csv: differs" in capsys.readouterr().err


def test_report_json_on_disk_is_what_was_verified(world: dict[str, Any]) -> None:
    report, out = report_of(world, "pv")
    assert json.loads((out / "report.json").read_text()) == report
