"""Certificates and J-Credit batches over one real aggregator state (SQLite): whichever comes
first, the other never takes the same Wh, the log proves it (the audit replays every claim),
and the batch report — net of issued energy — still verifies offline with its evidence."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.audit import audit
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.certificates import issue_certificates, issued_bundles, write_bundles
from aggregator.claims import claim_book
from aggregator.errors import Rejected
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.store import SqliteStore
from eco_protocol.certificates import IssuerConfig
from eco_protocol.claims import CLAIM_TYPE, bundle_problems
from eco_protocol.note import NoteSigner
from eco_protocol.report import verify_report
from tests.aggregator.ledger_kit import T0
from tests.methodology.batch_kit import three_homes

PROG = "cert-prog"
DAY1, DAY2, BOTH = "2026-11-22..2026-11-23", "2026-11-23..2026-11-24", "2026-11-22..2026-11-24"
ISSUER = IssuerConfig("Example City", "JP-TK", "JP")
INTERVALS = 96  # two days of half hours from T0 (2026-11-22 00:00 UTC = 09:00 JST)


@pytest.fixture
def world(tmp_path: Path) -> dict[str, Any]:
    signer = NoteSigner("eco-ledger.cert.test", Ed25519PrivateKey.generate())
    ledger = Ledger(SqliteStore(tmp_path / "l.sqlite3"), signer, tmp_path / "cp.latest")
    (tmp_path / "programme.toml").write_text(example_programme(PROG))
    programme = load_programme(tmp_path / "programme.toml")
    three_homes(ledger, PROG, intervals=INTERVALS, battery_home=False)
    ledger.checkpoint_now()
    return {"ledger": ledger, "programme": programme, "tmp": tmp_path}


def _self_consumed(home: int, period: str) -> int:
    """What three_homes' readings prove for a home in a JST period, worked out by hand:
    pv − export per half hour, export = pv // (2 + home)."""
    p = period_from_dates(period)
    total = 0
    for k in range(INTERVALS):
        start = T0 + timedelta(minutes=30 * k)
        if p.contains(start, start + timedelta(minutes=30)):
            pv = 200 + 37 * ((k + home) % 9)
            total += pv - pv // (2 + home)
    return total


def _seal(world: dict[str, Any], period: str) -> str:
    ledger, programme = world["ledger"], world["programme"]
    plan = plan_batch(scan(ledger.store, rules=programme.rules), programme,
                      period_from_dates(period))
    seal_batch(ledger, plan)
    return plan.batch_id


def _report_verifies(world: dict[str, Any], batch_id: str) -> dict[str, Any]:
    ledger = world["ledger"]
    out = world["tmp"] / f"report-{batch_id.replace(':', '_')}"
    report = write_report(ledger, world["programme"], batch_id, out)
    ev = ((out / "evidence" / "checkpoint").read_text(),
          (out / "evidence" / "entries.jsonl").read_text().splitlines())
    verify_report(json.loads((out / "report.json").read_text()),
                  ledger.signer.verifier.vkey, evidence=ev)
    return report


def _row_self_consumed(report: dict[str, Any], household: str) -> int:
    row = next(h for h in report["households"] if h["household"] == household)
    return sum(m["energy_wh"]["self_consumed"] for m in row["months"])


def test_sealing_first_then_issuing_leaves_out_the_sealed_energy(world: dict[str, Any]) -> None:
    ledger, programme = world["ledger"], world["programme"]
    batch = _seal(world, DAY1)
    kinds = [json.loads(ledger.store.entry(i))["type"] for i in range(ledger.store.size())]
    assert kinds[-2:] == ["eco.batch/v1", CLAIM_TYPE]  # the seal, then its sealed claim
    done = issue_certificates(ledger, programme, period_from_dates(BOTH), ISSUER)
    sealed_end = period_from_dates(DAY1).end_dt
    assert done.bundles and all(b.hour >= sealed_end for b in done.bundles)
    for home in range(3):
        issued = sum(b.face_value_wh for b in done.bundles if b.device.device_id == f"hh-{home}")
        assert issued == _self_consumed(home, DAY2)  # all of day 2, none of the sealed day 1
    with pytest.raises(Rejected, match="no certificate to issue"):
        issue_certificates(ledger, programme, period_from_dates(BOTH), ISSUER)
    assert audit(ledger, rules=programme.rules).problems == ()
    report = _report_verifies(world, batch)
    assert _row_self_consumed(report, "hh-1") == _self_consumed(1, DAY1)


def test_issuing_first_then_sealing_credits_only_the_rest(world: dict[str, Any]) -> None:
    ledger, programme = world["ledger"], world["programme"]
    done = issue_certificates(ledger, programme, period_from_dates(DAY1), ISSUER, ["hh-0"])
    assert sum(b.face_value_wh for b in done.bundles) == _self_consumed(0, DAY1)
    assert all(b.device.capacity_w == 6000 for b in done.bundles)
    batch = _seal(world, DAY1)
    report = _report_verifies(world, batch)  # the verifier recomputes the rows net of issued
    assert _row_self_consumed(report, "hh-0") == 0
    assert _row_self_consumed(report, "hh-2") == _self_consumed(2, DAY1)
    assert audit(ledger, rules=programme.rules).problems == ()
    view = scan(ledger.store, rules=programme.rules)
    listed = issued_bundles(view, claim_book(view, ledger.store), ISSUER)
    assert [(b.issuance_id, s) for b, s in listed] == \
        [(b.issuance_id, "issued") for b in done.bundles]
    path = write_bundles(done.bundles, world["tmp"] / "gc")
    first = json.loads(path.read_text())["bundles"][0]
    assert first["certificate_bundle_id_range_start"] == 1
    assert first["hash"]["readings"] and first["issuing_body"] == "Example City"


def test_each_written_bundle_agrees_with_its_claim_and_a_tampered_one_does_not(
        world: dict[str, Any]) -> None:
    ledger, programme = world["ledger"], world["programme"]
    done = issue_certificates(ledger, programme, period_from_dates(DAY2), ISSUER, ["hh-1"])
    written = json.loads(write_bundles(done.bundles, world["tmp"] / "gc").read_text())["bundles"]
    claims = {c.claim_id: c for _, c in scan(ledger.store).claims}
    for bundle in written:
        assert bundle_problems(bundle, claims[bundle["issuance_id"]]) == []
    forged = {**written[0], "bundle_quantity": written[0]["bundle_quantity"] + 1}
    assert [p.split(":")[0] for p in bundle_problems(forged, claims[forged["issuance_id"]])] \
        == ["bundle_quantity"]
    moved = {**written[0], "production_starting_interval": "2026-11-23T20:00:00Z"}
    assert bundle_problems(moved, claims[moved["issuance_id"]])
