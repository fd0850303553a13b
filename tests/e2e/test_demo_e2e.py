"""The demo path end to end, as ``make demo`` runs it, checked by independent verifiers.

Real processes throughout (Mosquitto, ``eco-aggregator serve``, ``eco-sim`` meters on ptys and on
the broker, ``eco-agent run``); the whole town for one simulated day (``make demo`` runs two) to
keep the suite fast. The demo is run once per module; each test checks one thing it must show
(issue point 8): a zero-export shop confirmed by its smart meter, an unmetered home zeroed, a
battery home netted per day, an EV batch of its own, an implausible interval that stops nothing,
a demonstration factor table. Every batch report is verified by ``eco-verify`` against the
exported evidence (which recomputes every household-month from the readings), the evidence by
Go's sumdb/note and sumdb/tlog (tests/interop/go/verify) and by our own replay.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.credentials import CredentialVerdict, check_credential
from eco_protocol.encoding import b64decode, format_time
from eco_protocol.errors import CredentialError
from eco_protocol.evidence import verify_evidence
from firmware_sim.demo import JOINED, JUMP_AT, SIM_START
from tests.e2e import cleanroom
from tests.e2e.demo_kit import EVERY_DEVICE, JST, Demo
from tests.support.go_kit import build_go_verify

# solo: `make test` runs it after the parallel phase, alone; the demo's clock runs 3000× faster
# than the wall, so every second other tests take from its processes is readings it never makes
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.solo]



def test_demo_runs_end_to_end_and_the_evidence_verifies_independently(demo: Demo,
                                                                       tmp_path: Path) -> None:
    go = build_go_verify(tmp_path / "go")
    summary = demo.summary
    assert summary["households"] == 6 and summary["devices"] == EVERY_DEVICE
    assert summary["verification"] == "ok"
    assert summary["pending_after_drain"] == 0
    # one simulated day, 48 half-hour intervals per meter (11 meters), minus start-up intervals
    assert summary["readings_accepted"] >= 11 * 36
    assert set(summary["kwh_by_quantity"]) == {"pv_generation", "grid_export", "ev_charge"}
    # besides the readings: seven enrolments, the log key change halfway, two batch seals, the
    # claims (each seal's `sealed` one, docs/protocol.md §4.11, and any certificates') and the
    # revocation of the household that moved to the neighbouring town (issue 18)
    assert summary["log_key_rotated_at_entry"] is not None
    types = Counter(json.loads(b64decode(json.loads(line)["entry_b64"], "entry"))["type"]
                    for line in (demo.out / "evidence" / "entries.jsonl").read_text().splitlines())
    assert types["eco.reading/v1"] == summary["readings_accepted"]
    assert types["eco.enrol/v1"] == EVERY_DEVICE and types["eco.logkey/v1"] == 1
    assert types["eco.batch/v1"] == 2 and types["eco.claim/v1"] >= 2
    assert types["eco.revoke/v1"] == 1
    assert summary["tree_size"] == sum(types.values())
    evidence = demo.out / "evidence"
    # Go's reference packages: the note under log.vkey, the root from entries.jsonl
    g = subprocess.run([str(go), "check-evidence", str(evidence)], capture_output=True,
                       text=True, timeout=120)
    assert g.returncode == 0, g.stdout + g.stderr
    # our replay: signatures against earlier enrolments, seq 1,2,3… and prev per device; the
    # log changed its key halfway: log.vkeys lists both, the replay confirms the change, and
    # either key verifies
    lines = (evidence / "entries.jsonl").read_text().splitlines()
    keys = (evidence / "log.vkeys").read_text().split()
    assert len(keys) == 2 and keys[1] == (evidence / "log.vkey").read_text().strip()
    for pinned in keys:
        s = verify_evidence((evidence / "checkpoint").read_text(), pinned, [], lines,
                            log_history=keys)
        assert s.entries == summary["tree_size"]
        assert s.log_keys.changed_at == (summary["log_key_rotated_at_entry"],)
    seqs: dict[str, list[int]] = defaultdict(list)
    for _, r, _ in demo.readings:
        seqs[r.device_id].append(r.seq)
    assert len(seqs) == EVERY_DEVICE
    assert all(v == list(range(1, len(v) + 1)) for v in seqs.values())
    # nothing left running: every child of the demo was in its own group and is gone
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(demo.out) not in ps


@pytest.mark.parametrize("methodology", ["pv", "ev"])
def test_every_batch_report_verifies_against_the_evidence(demo: Demo, methodology: str) -> None:
    """``eco-verify report --evidence`` re-judges every reading, recomputes every household-
    month from the evidence and compares it with the report to the gram; once with the
    batch's own evidence directory, once with the log's (demo-output/evidence/)."""
    d = demo.out / methodology
    keys = (demo.out / "evidence" / "log.vkeys").read_text().split()
    witness = (demo.out / "witness" / "witness.key.vkey").read_text().strip()
    report = demo.reports[methodology]
    assert report["batch_id"].split(":")[1] == methodology
    for evidence in (d / "evidence", demo.out / "evidence"):
        r = subprocess.run([str(Path(sys.executable).parent / "eco-verify"), "report",
                            str(d / "report.json"), "--log-key", keys[0], "--witness", witness,
                            "--min-witnesses", "1", "--evidence", str(evidence), "--json"],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout.strip().splitlines()[-1])
        assert res["ok"] and res["batch_id"] == report["batch_id"]
        assert res["reduction_g"] == report["totals"]["reduction_g"]
        assert res["evidence_readings"] == sum(h["readings"]["covered"]
                                               for h in report["households"])
        assert "every exclusion and household-month recomputed from readings" in r.stdout
    # an independent recomputation from demo-output/evidence/ under the documented rules alone
    # (tests/e2e/cleanroom.py: stdlib only, written from docs/) agrees to the gram
    ours = cleanroom.recompute(report, cleanroom.load_entries(demo.out / "evidence"))
    assert cleanroom.compare(ours, report) == []
    assert sum(len(h["months"]) for h in ours["households"]) == sum(
        len(h["months"]) for h in report["households"]) > 0
    # the summary says per batch what the report says
    b = demo.summary["batches"][methodology]
    assert b["batch_id"] == report["batch_id"] and b["verification"] == "ok"
    assert b["credits_t"] == report["totals"]["credits_t"]
    assert b["households"] == len(report["households"])
    assert b["exclusions"] == report["exclusions"]
    assert b["zeroed"] == {h["household"]: h["zeroed_by"] for h in report["households"]
                           if h["zeroed_by"]}
    assert f"demo: batch {report['batch_id']}" in demo.stdout


def test_readings_are_dated_after_the_declared_participation_date(demo: Demo) -> None:
    joined = datetime.fromisoformat(JOINED).replace(tzinfo=JST)
    assert joined == SIM_START
    for e in demo.enrolments.values():
        assert e.enrolled_at == "2026-04-30T15:00:00Z"
        if "installed" in e.fit:  # PV within two years of joining: not equipment_too_old
            assert datetime.fromisoformat(e.fit["installed"]).replace(tzinfo=JST) >= \
                joined.replace(year=joined.year - 2)
    rules = {rule for _, _, rule in demo.readings if rule is not None}
    assert rules == {"implausible"}, rules
    for report in demo.reports.values():
        for h in report["households"]:
            assert "before_joining" not in h["readings"]["excluded"]
            assert "equipment_too_old" not in h["readings"]["excluded"]


def test_zero_export_shop_is_confirmed_by_its_smart_meter_and_credited(demo: Demo) -> None:
    [shop] = [hh for hh in demo.households("pv") if demo.fit(hh).get("zero_export")]
    devices = demo.devices_of(shop)
    # the smart meter's export register (E3 over the B-route) is read by a second box
    assert len(devices) == 2
    [meter_box] = [e for e in devices if {m.quantity.value for m in e.meters} == {"grid_export"}]
    assert [m.protocol for m in meter_box.meters] == ["echonet-broute"]
    exports = [r for _, r, rule in demo.readings
               if r.device_id == meter_box.device_id and rule is None]
    assert len(exports) >= 36 and all(r.energy_wh == 0 for r in exports)
    row = demo.households("pv")[shop]
    assert row["zeroed_by"] is None and row["readings"]["excluded"] == {}
    [month] = row["months"]
    assert month["energy_wh"]["grid_export"] == 0
    assert month["energy_wh"]["self_consumed"] > 0
    assert row["reduction_g"] > 0


def test_unmetered_home_is_logged_but_zeroed(demo: Demo) -> None:
    [home] = [hh for hh in demo.households("pv") if demo.quantities(hh) == {"pv_generation"}]
    row = demo.households("pv")[home]
    assert row["zeroed_by"].startswith("export_unmetered:")
    assert row["readings"]["creditable"] == row["readings"]["covered"] > 30
    assert row["months"][0]["energy_wh"]["pv_generation"] > 0
    assert row["months"][0]["energy_wh"]["self_consumed"] == 0 and row["reduction_g"] == 0
    assert demo.summary["batches"]["pv"]["zeroed"] == {home: row["zeroed_by"]}
    assert "zeroed household" in demo.stdout and "export_unmetered" in demo.stdout


def test_battery_home_is_netted_per_day(demo: Demo) -> None:
    [home] = [hh for hh in demo.households("pv") if demo.fit(hh).get("battery") is True]
    devices = {e.device_id for e in demo.devices_of(home)}
    spans: dict[tuple[datetime, datetime], dict[str, int]] = defaultdict(dict)
    for _, r, rule in demo.readings:
        start, end = r.start_dt, r.end_dt
        if r.device_id in devices and rule is None and \
                demo.reports["pv"]["period"]["start"] <= r.start < r.end <= \
                demo.reports["pv"]["period"]["end"]:
            spans[(start, end)][r.quantity.value] = r.energy_wh
    per_span = sum(max(0, s["pv_generation"] - s["grid_export"]) for s in spans.values()
                   if {"pv_generation", "grid_export"} <= set(s))
    days: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (start, _), s in spans.items():
        if "grid_export" in s:
            d = days[f"{start.astimezone(JST):%Y-%m-%d}"]
            d[0] += s.get("pv_generation", 0)
            d[1] += s["grid_export"]
    daily = sum(max(0, pv - exp) for pv, exp in days.values())
    [month] = demo.households("pv")[home]["months"]
    assert month["energy_wh"]["self_consumed"] == daily
    # the battery exported in the evening, when the PV made nothing: per-interval netting
    # would have credited that stored-then-exported energy, the daily netting does not
    # (a span may lack one of its two readings: the simulated clock runs fast, and a loaded
    # machine can miss a meter's read for an interval)
    evening = sum(s.get("grid_export", 0) for (start, _), s in spans.items()
                  if s.get("pv_generation") == 0 and s.get("grid_export", 0) > 0
                  and 17 <= start.astimezone(JST).hour < 21)
    assert evening > 0
    assert per_span > daily


def test_ev_households_are_in_their_own_batch(demo: Demo) -> None:
    ev, pv = demo.households("ev"), demo.households("pv")
    with_ev = {hh for hh in set(ev) | set(pv) if "ev_charge" in demo.quantities(hh)}
    assert set(ev) == with_ev and len(with_ev) == 2
    ev_only = {hh for hh in with_ev if demo.quantities(hh) == {"ev_charge"}}
    assert len(ev_only) == 1 and not ev_only & set(pv)  # an EV-only home has no PV batch row
    for row in ev.values():  # a charger not used that day still reports its 0 Wh intervals
        assert row["zeroed_by"] is None and row["readings"]["creditable"] > 30
        assert row["months"][0]["energy_wh"]["pv_generation"] == 0
    assert sum(r["months"][0]["energy_wh"]["ev_charge"] for r in ev.values()) > 0
    assert demo.reports["ev"]["totals"]["reduction_g"] != 0
    for row in pv.values():
        assert row["months"][0]["energy_wh"]["ev_charge"] == 0
    assert demo.reports["ev"]["totals"]["reduction_g"] == sum(r["reduction_g"]
                                                              for r in ev.values())
    assert (demo.out / "ev" / "report.json").parent != (demo.out / "pv" / "report.json").parent


def test_an_implausible_interval_is_excluded_and_the_device_keeps_delivering(demo: Demo
                                                                           ) -> None:
    assert demo.reports["pv"]["exclusions"] == {"implausible": 1}
    assert demo.reports["ev"]["exclusions"] == {}
    [(index, bad, _)] = [x for x in demo.readings if x[2] == "implausible"]
    enrolment = demo.enrolments[bad.device_id]
    meter = enrolment.meter(bad.meter)
    assert meter is not None
    assert bad.start_dt <= JUMP_AT < bad.end_dt
    assert bad.energy_wh > meter.rated_w * 1800 // 3600
    [row] = [h for h in demo.reports["pv"]["households"] if h["readings"]["excluded"]]
    assert row["household"] == enrolment.household
    assert row["readings"]["excluded"] == {"implausible": 1}
    # the same meter's later readings: continuing from the jumped register, all creditable
    later = [(i, r, rule) for i, r, rule in demo.readings
             if r.device_id == bad.device_id and r.meter == bad.meter and i > index]
    assert len(later) >= 10
    assert all(rule is None for _, _, rule in later)
    assert later[0][1].register_start_wh == bad.register_end_wh
    # and its agent got its receipts: nothing pending, one non-creditable receipt
    assert demo.summary["pending_after_drain"] == 0
    assert demo.summary["non_creditable_receipts"] in ({}, {"hh1": 1})


def test_the_factor_table_is_marked_demonstration(demo: Demo) -> None:
    for report in demo.reports.values():
        assert report["demonstration"] is True
        assert report["methodology"]["rules"]["demonstration"] is True
        assert all(f["illustrative"] for f in report["methodology"]["grid_factors"])
    assert demo.summary["demonstration"] is True
    assert all(b["demonstration"] for b in demo.summary["batches"].values())
    assert "DEMONSTRATION" in demo.stdout


def test_the_credentials_directory_holds_what_a_shop_checks_offline(demo: Demo) -> None:
    """Issue 20: a points statement, the PV batch's summary and an enrolment credential, with
    the DID document and status list the read API served, check offline; the tampered copy and
    the revoked one are refused, by eco-verify (verify.txt) and by check_credential here."""
    d = demo.out / "credentials"
    doc = json.loads((d / "did.json").read_text())
    listed = json.loads((d / "status-list.json").read_text())
    now = format_time(datetime.now(UTC))

    def check(name: str, status_list: dict[str, Any] = listed) -> CredentialVerdict:
        return check_credential(json.loads((d / name).read_text()), {doc["id"]: doc},
                                {listed["id"]: status_list}, now)

    kinds = {"points-statement.json": "points statement",
             "batch-summary.json": "batch summary", "enrolment.json": "enrolment"}
    for name, kind in kinds.items():
        verdict = check(name)
        assert verdict.kind == kind and verdict.issuer == doc["id"] and not verdict.revoked
    summary = json.loads((d / "batch-summary.json").read_text())["credentialSubject"]
    assert summary["reportSha256"] == hashlib.sha256(
        canonical_bytes(demo.reports["pv"])).hexdigest()
    # the log key changed halfway: the document lists both keys, the old one with its end
    assert len(doc["verificationMethod"]) == 2
    assert "expires" in doc["verificationMethod"][0]
    with pytest.raises(CredentialError, match="does not verify"):
        check("tampered/points-statement.json")
    assert check("revoked/enrolment.json",
                 json.loads((d / "revoked" / "status-list.json").read_text())).revoked
    said = (d / "verify.txt").read_text()
    assert said.count("exit 0") == 3 and said.count("exit 1") == 2
    assert "REVOKED" in said and "INVALID" in said


def test_the_demo_is_rerunnable_into_the_same_directory(demo: Demo, tmp_path: Path) -> None:
    """Into a copy of the shared run's output (the other demo test modules read the original):
    the old run's files are replaced, not mixed with the new ones. Named relative to the working
    directory, as `make demo` names it (relative paths once went into the towns' configs)."""
    out = tmp_path / "demo-output"
    shutil.copytree(demo.out, out, symlinks=True)
    r = subprocess.run([sys.executable, "-m", "firmware_sim.demo", "--out", "demo-output",
                        "--days", "0.25", "--speed", "3000", "--households", "1"],
                       capture_output=True, text=True, timeout=300, cwd=tmp_path,
                       env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])})
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary["batches"]) == {"pv"}  # one PV household: no EV batch
    assert not (out / "ev").exists()
