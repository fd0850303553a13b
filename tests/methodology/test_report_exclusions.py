"""Reports that say why (issue: sound credits, points 3–5): exclusions per household and per
batch, one methodology per batch, the demonstration mark, and what ``eco-verify`` refuses when a
dishonest aggregator (who holds the log key and can re-sign) hides an exclusion."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch
from aggregator.errors import Rejected
from aggregator.programme import load_programme
from eco_protocol.report import ReportProblem, verify_report
from eco_protocol.signing import sign_record
from eco_protocol.verify_cli import main as verify_main
from tests.methodology.exclusions_kit import PERIOD, PROG, report_of
from tests.methodology.exclusions_kit import world as world  # noqa: F401 (a fixture)


def _evidence(out: Path) -> tuple[str, list[str]]:
    return ((out / "evidence" / "checkpoint").read_text(),
            (out / "evidence" / "entries.jsonl").read_text().splitlines())


def _household(report: dict[str, Any], name: str) -> dict[str, Any]:
    """The row of the home enrolled under pseudonym ``name`` (the test enrols pseudonyms)."""
    (row,) = [h for h in report["households"] if h["household"] == name]
    return row


def test_pv_report_says_why(world: dict[str, Any]) -> None:
    report, out = report_of(world, "pv")
    vkey = world["ledger"].signer.verifier.vkey
    res = verify_report(report, vkey, evidence=_evidence(out))
    assert report["demonstration"] is True and res.demonstration
    assert report["batch_id"].startswith(f"{PROG}:pv:")
    assert report["exclusions"] == {"implausible": 1, "overlap": 1} == res.excluded
    metered = _household(report, "metered")
    assert metered["readings"] == {"covered": 49, "creditable": 47,
                                   "excluded": {"implausible": 1, "overlap": 1}}
    assert metered["zeroed_by"] is None
    # 23 creditable spans of (900 − 100) Wh; the implausible span has no PV, so it nets 0
    assert metered["months"][0]["energy_wh"]["self_consumed"] == 23 * 800
    unmetered = _household(report, "unmetered")
    assert unmetered["zeroed_by"] is not None
    assert unmetered["zeroed_by"].startswith("export_unmetered")
    assert unmetered["reduction_g"] == 0 and unmetered["readings"]["creditable"] == 24
    battery = _household(report, "battery")
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
    res = verify_report(ev, world["ledger"].signer.verifier.vkey, evidence=_evidence(out))
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


def _resign(report: dict[str, Any], world: dict[str, Any]) -> dict[str, Any]:
    """What a dishonest aggregator can do: it holds the log key."""
    body = {k: v for k, v in report.items() if k != "sig"}
    return sign_record(body, world["ledger"].signer.private_key)


def test_hidden_exclusions_are_refused(world: dict[str, Any]) -> None:
    report, out = report_of(world, "pv")
    vkey = world["ledger"].signer.verifier.vkey

    def tampered(fn: Any) -> dict[str, Any]:
        r = copy.deepcopy(report)
        fn(r)
        return _resign(r, world)

    def hide(r: dict[str, Any]) -> None:  # self-consistent, but not what the log says
        row = _household(r, "metered")
        row["readings"] = {"covered": 49, "creditable": 49, "excluded": {}}
        r["exclusions"] = {}

    hidden = tampered(hide)
    verify_report(hidden, vkey)  # the counts add up, so only the evidence can tell
    with pytest.raises(ReportProblem, match="household metered's readings recomputed"):
        verify_report(hidden, vkey, evidence=_evidence(out))

    def dropped(r: dict[str, Any]) -> None:
        r["exclusions"] = {}

    with pytest.raises(ReportProblem, match="exclusions: the report says"):
        verify_report(tampered(dropped), vkey)

    def unzeroed(r: dict[str, Any]) -> None:
        _household(r, "unmetered")["zeroed_by"] = None

    with pytest.raises(ReportProblem, match="zeroed_by"):
        verify_report(tampered(unzeroed), vkey)

    def unflagged(r: dict[str, Any]) -> None:
        _household(r, "battery")["flags"] = []

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
