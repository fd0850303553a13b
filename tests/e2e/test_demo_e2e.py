"""The demo path end to end, as ``make demo`` runs it, checked by an independent verifier.

Real processes throughout (Mosquitto, ``eco-aggregator serve``, ``eco-sim`` inverters on ptys,
``eco-agent run``); a shorter run than ``make demo`` (fewer households, one simulated day) to
keep the suite fast. The exported evidence is then checked by Go's sumdb/note and sumdb/tlog
(tests/interop/go/verify) and replayed by our own verifier.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode
from eco_protocol.evidence import verify_evidence
from tests.gotool import build_go_verify

pytestmark = [pytest.mark.e2e, pytest.mark.integration]


def test_demo_runs_end_to_end_and_verifies_independently(tmp_path: Path) -> None:
    go = build_go_verify(tmp_path / "go")
    out = tmp_path / "demo-output"
    r = subprocess.run([sys.executable, "-m", "firmware_sim.demo", "--out", str(out),
                        "--days", "1", "--speed", "3000", "--households", "2"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert summary["households"] == 2
    assert summary["verification"] == "ok"
    assert summary["pending_after_drain"] == 0
    # one simulated day, 48 half-hour intervals per meter (hh1: PV + export, hh2: PV + export
    # + EV), minus start-up intervals
    assert summary["readings_accepted"] >= 5 * 44
    assert set(summary["kwh_by_quantity"]) == {"pv_generation", "grid_export", "ev_charge"}
    # two enrolments, the log key change halfway and the batch seal besides the readings
    assert summary["log_key_rotated_at_entry"] is not None
    assert summary["tree_size"] == summary["readings_accepted"] + 4
    assert summary["batch_reduction_kg"] > 0
    report = json.loads((out / "report.json").read_text())
    assert report["totals"]["reduction_g"] == round(summary["batch_reduction_kg"] * 1000)
    evidence = out / "evidence"
    # Go's reference packages: the note under log.vkey, the root from entries.jsonl
    g = subprocess.run([str(go), "check-evidence", str(evidence)], capture_output=True,
                       text=True, timeout=120)
    assert g.returncode == 0, g.stdout + g.stderr
    # our replay: signatures against earlier enrolments, seq 1,2,3… and prev per device
    lines = (evidence / "entries.jsonl").read_text().splitlines()
    # the log changed its key halfway: log.vkeys lists both, the replay confirms the change,
    # and either key verifies
    keys = (evidence / "log.vkeys").read_text().split()
    assert len(keys) == 2 and keys[1] == (evidence / "log.vkey").read_text().strip()
    for pinned in keys:
        s = verify_evidence((evidence / "checkpoint").read_text(), pinned, [], lines,
                            log_history=keys)
        assert s.entries == summary["tree_size"]
        assert s.log_keys.changed_at == (summary["log_key_rotated_at_entry"],)
    seqs: dict[str, list[int]] = {}
    for line in lines:
        rec = parse_json(b64decode(parse_json(line)["entry_b64"], "entry"))
        if rec["type"] == "eco.reading/v1":
            seqs.setdefault(rec["device_id"], []).append(rec["seq"])
    assert all(v == list(range(1, len(v) + 1)) for v in seqs.values())
    assert sum(s.energy_wh.values()) > 0
    # nothing left running: every child of the demo was in its own group and is gone
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(out) not in ps
    # and it is rerunnable into the same directory
    r2 = subprocess.run([sys.executable, "-m", "firmware_sim.demo", "--out", str(out),
                         "--days", "0.25", "--speed", "3000", "--households", "1"],
                        capture_output=True, text=True, timeout=300)
    assert r2.returncode == 0, r2.stdout + r2.stderr
