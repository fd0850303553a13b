"""``eco-verify basket`` (issue 18 point 5) on real batch reports of two towns: each town's log
with PV homes whose enrolments carry claim tokens, readings through the intake, a sealed batch,
the verification body's cosignature, and the report with its evidence. Two honest towns make a
VALID basket; an inverter enrolled in both towns (a race the look-up missed) credited in both
batches of one period, or one report given twice, make it INVALID."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from aggregator.witness import checkpoint_body
from eco_protocol.canonical import canonical_bytes
from eco_protocol.claim_tokens import ClaimSecret, claim_tokens, parse_equipment
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec, Quantity
from eco_protocol.verify_cli import main as eco_verify
from tests.protocol.factories import fixed_key

from .conftest import T0, Device
from .consortium_kit import W_BODY, write_consortium

SECRET = ClaimSecret(bytes(range(32)))
PROG = "basket-prog"
PERIOD = "2026-11-22..2026-11-23"


def town_report(root: Path, name: str, inverters: list[str]) -> Path:
    """A town's log with one PV home per inverter serial, one day of readings, its batch sealed
    and cosigned by the verification body; returns the report's directory."""
    signer = NoteSigner(f"eco-ledger.{name}.test", fixed_key(f"basket/{name}"))
    d = root / name
    d.mkdir()
    ledger = Ledger(SqliteStore(d / "ledger.sqlite3"), signer, d / "cp.latest")
    (d / "programme.toml").write_text(example_programme(PROG))
    programme = load_programme(d / "programme.toml")
    intake = Intake(ledger)
    devices = []
    for i, serial in enumerate(inverters):
        dev = Device()
        meters = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 6000),
                  MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", 6000)]
        tokens = claim_tokens(SECRET, [parse_equipment(f"inverter=SMA:{serial}")])
        enrol(ledger, build_enrolment(public_key_raw(dev.key), f"hh-{name}-{i}", PROG, meters,
                                      {"installed": "2026-04-01", "status": "post_fit",
                                       "battery": False}, format_time(T0), tokens))
        devices.append(dev)
    for k in range(48):
        start = T0 + timedelta(minutes=30 * k)
        times = {"start": format_time(start), "end": format_time(start + timedelta(minutes=30))}
        for dev in devices:
            msg = [dev.reading(energy=300, meter="pv1", **times),
                   dev.reading(energy=100, meter="exp1", quantity="grid_export", **times)]
            (o,) = intake.process([(dev.topic, canonical_bytes(msg))], "2026-11-25T00:00:00Z")
            assert o.accepted == 2, o.receipt
    plan = plan_batch(scan(ledger.store), programme, period_from_dates(PERIOD))
    seal_batch(ledger, plan)
    ledger.checkpoint_now()
    row = ledger.store.latest_checkpoint()
    assert row is not None
    line = W_BODY.cosign(checkpoint_body(row.note), 1_796_000_000).line
    ledger.store.add_cosignature(row.size, W_BODY.verifier.name, line)
    write_report(ledger, programme, plan.batch_id, d / "out", [W_BODY.verifier.vkey],
                 checkpoint=row)
    ledger.store.close()
    return d / "out"


def consortium(root: Path, *towns: str) -> Path:
    members = [(t, NoteSigner(f"eco-ledger.{t}.test", fixed_key(f"basket/{t}")).verifier.vkey,
                f"https://eco-ledger.{t}.test", None) for t in towns]
    return write_consortium(root / "consortium.toml", members, [W_BODY], quorum=1)


def basket(capsys: pytest.CaptureFixture[str], conf: Path, *outs: Path,
           evidence: bool = True) -> tuple[int, str, str]:
    args = ["basket", *(str(o / "report.json") for o in outs), "--consortium", str(conf),
            "--json"]
    if evidence:
        for o in outs:
            args += ["--evidence", str(o / "evidence")]
    rc = eco_verify(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_two_honest_towns_make_a_valid_basket(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "1002"])
    b = town_report(tmp_path, "town-b", ["2001"])
    rc, out, err = basket(capsys, consortium(tmp_path, "town-a", "town-b"), a, b)
    assert rc == 0, err
    assert "VALID basket: 2 batches from 2 members (town-a, town-b)" in out
    summary = json.loads(out.splitlines()[-1])
    assert summary["ok"] and summary["problems"] == []
    assert [b["claim_tokens"] for b in summary["batches"]] == [2, 1]
    assert all("published under the consortium's policy" in b["published"]
               for b in summary["batches"])


def test_an_inverter_credited_in_two_towns_or_a_report_given_twice_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "1002"])
    b = town_report(tmp_path, "town-b", ["2001", "01002"])  # 01002 is 1002: the same inverter
    conf = consortium(tmp_path, "town-a", "town-b")
    rc, out, err = basket(capsys, conf, a, b)
    assert rc == 1
    assert "the same inverter" in err and "town-a's batch" in err and "town-b's batch" in err
    assert "INVALID basket: 1 problems" in err
    rc, out, err = basket(capsys, conf, a, a, evidence=False)
    assert rc == 1 and "is in the basket twice" in err


def test_a_report_outside_the_consortium_fails_the_basket(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001"])
    c = town_report(tmp_path, "town-c", ["3001"])
    rc, out, err = basket(capsys, consortium(tmp_path, "town-a", "town-b"), a, c,
                          evidence=False)
    assert rc == 1 and "is not a member of consortium" in err


def test_one_inverter_credited_through_two_households_of_one_batch_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = town_report(tmp_path, "town-a", ["1001", "001-001"])  # the same inverter, twice
    rc, out, err = basket(capsys, consortium(tmp_path, "town-a"), a, evidence=False)
    assert rc == 1
    assert "is credited twice by town-a's batch" in err and "INVALID basket: 1 problems" in err
