"""The demo's consortium (issue 18 point 6), read from the session's one demo run: the home town
and a neighbouring town, each its own ``serve`` and Mosquitto, mirroring and witnessing each
other with the verification body's witness beside them (firmware_sim/demo/consortium.py).

Checked as a buyer and an auditor would: the home town's final checkpoint published under the
consortium's policy by cosignatures that verify under the keys the exported evidence lists; the
neighbour's attempt to enrol a home-town inverter refused, naming the home town and the date;
the household that moved revoked in one log and accepted in the other, the revocation cosigned
first; the basket of both towns' batches valid, and the same report given twice refused.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import parse_json
from eco_protocol.consortium import parse_consortium
from eco_protocol.encoding import b64decode
from eco_protocol.witness_policy import quorum_of
from firmware_sim.demo.second_town import BODY_WITNESS, HOME, SECOND, SECOND_WITNESS
from tests.e2e.demo_kit import Demo

# solo, like test_demo_e2e: the demo's clock runs 3000× faster than the wall
pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.solo]

ECO_VERIFY = str(Path(sys.executable).parent / "eco-verify")


def _records(evidence: Path) -> list[tuple[int, dict[str, Any]]]:
    out = []
    for line in (evidence / "entries.jsonl").read_text().splitlines():
        item = parse_json(line)
        out.append((item["index"], parse_json(b64decode(item["entry_b64"], "entry"))))
    return out


def _eco_verify(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ECO_VERIFY, *args], capture_output=True, text=True, timeout=180)


def test_the_home_towns_final_checkpoint_is_published_under_the_policy(demo: Demo) -> None:
    c = demo.out / "consortium"
    consortium = parse_consortium((c / "consortium.toml").read_text())
    evidence = demo.out / "evidence"
    # consortium.toml names the home town's current key (rotated halfway in the demo)
    assert consortium.member(HOME).log_key.vkey == (evidence / "log.vkey").read_text().strip()
    listed = set((evidence / "witnesses.vkeys").read_text().split())
    for d in (evidence, c / HOME / "evidence", c / HOME / "pv" / "evidence"):
        q = quorum_of(consortium, (d / "checkpoint").read_text())
        assert q.member.name == HOME and q.reached
        assert {SECOND_WITNESS, BODY_WITNESS} <= set(q.cosigned) and len(q.cosigned) >= 2
        # every witness that counted is one the exported evidence lists
        assert {w.key.vkey for w in consortium.witnesses if w.name in q.cosigned} <= listed
    day1 = (evidence / "log.vkeys").read_text().split()[0]
    r = _eco_verify("evidence", str(evidence), "--log-key", day1, "--consortium",
                    str(c / "consortium.toml"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "published under the consortium's policy: 2 of 2" in r.stdout
    # the neighbour's log too, cosigned by the home town's witness and the body
    q = quorum_of(consortium, (c / SECOND / "evidence" / "checkpoint").read_text())
    assert q.reached and q.member.name == SECOND


def test_the_neighbours_enrolment_of_a_home_inverter_is_refused_naming_where(demo: Demo) -> None:
    refused = json.loads((demo.out / "consortium" / "duplicate-refused.json").read_text())
    assert refused["refused"] and refused["exit_code"] != 0
    assert refused["equipment"] == ["inverter=EcoSim:SIM-PV-0011"]  # Sato's, hh1 at home
    reason = refused["reason"]
    assert f"already enrolled at {HOME}" in reason and "enrolled 2026-05-01 00:00 JST" in reason
    assert reason in demo.stdout  # printed as well as saved
    # nothing of the attempt reached the neighbour's log: one enrolment per household there
    second = _records(demo.out / "consortium" / SECOND / "evidence")
    enrolments = [r for _, r in second if r["type"] == "eco.enrol/v1"]
    assert len(enrolments) == 2  # its own household, and the one that moved in


def _claim_tokens(record: dict[str, Any]) -> set[str]:
    return {json.dumps(t, sort_keys=True) for t in record.get("claim_tokens", [])}


def test_a_household_moves_revoked_at_home_then_accepted_next_door(demo: Demo) -> None:
    c = demo.out / "consortium"
    move = json.loads((c / "move.json").read_text())
    assert move["from"] == HOME and move["to"] == SECOND and move["accepted"]
    (revoked,) = move["revoked"]
    home = _records(demo.out / "evidence")
    revocation = [i for i, r in home if r["type"] == "eco.revoke/v1"
                  and r["device_id"] == revoked["device_id"]]
    assert revocation == [revoked["index"]]
    old = next(r for _, r in home if r["type"] == "eco.enrol/v1"
               and r["device_id"] == revoked["device_id"])
    new = next(r for _, r in _records(c / SECOND / "evidence") if r["type"] == "eco.enrol/v1"
               and r["device_id"] == move["enrolled"]["device_id"])
    # the same equipment: one claim token, held by the revoked enrolment and by the new one
    assert _claim_tokens(old) and _claim_tokens(old) == _claim_tokens(new)
    # ordered by witnessed checkpoints: the revocation was inside a home checkpoint both of
    # its witnesses cosigned in the round before the neighbour enrolled
    sizes = {w: v["size"] for w, v in move["revocation_witnessed"].items()}
    assert set(sizes) == {SECOND_WITNESS, BODY_WITNESS}
    assert all(s > revoked["index"] for s in sizes.values())
    audit = json.loads((c / "audit.json").read_text())
    assert audit["double_claims"] == [] and audit["unresolved"] == 0


def test_the_basket_of_both_towns_is_valid_and_a_report_given_twice_is_not(demo: Demo) -> None:
    c = demo.out / "consortium"
    verdict = json.loads((c / "basket.json").read_text())
    assert verdict["ok"] is True, verdict
    assert "VALID basket: 3 batches from 2 members" in (c / "basket.txt").read_text()
    pv = c / HOME / "pv" / "report.json"
    r = _eco_verify("basket", str(pv), str(c / SECOND / "pv" / "report.json"), str(pv),
                    "--consortium", str(c / "consortium.toml"))
    assert r.returncode == 1 and "INVALID basket" in r.stdout + r.stderr
    assert "twice" in r.stdout + r.stderr


def test_demo_output_consortium_holds_what_the_issue_lists_and_no_secret(demo: Demo) -> None:
    c = demo.out / "consortium"
    for p in ("consortium.toml", "basket.json", "basket.txt", "duplicate-refused.json",
              "move.json", "audit.json", f"{HOME}/pv/report.json", f"{HOME}/ev/report.json",
              f"{HOME}/evidence/checkpoint", f"{SECOND}/pv/report.json",
              f"{SECOND}/pv/evidence/checkpoint", f"{SECOND}/evidence/checkpoint"):
        assert (c / p).is_file(), p
    secret = (demo.out / "aggregator" / "claim-tokens.key").read_text().split()[-1]
    assert len(secret) == 64
    assert (demo.out / "aggregator" / "claim-tokens.key").stat().st_mode & 0o077 == 0
    for f in c.rglob("*"):
        assert not f.is_file() or secret not in f.read_text(errors="replace"), f
    # the second town ran as its own processes: its serve's and its agent's logs
    assert (demo.out / "logs" / "nt-aggregator.log").exists()
    assert (demo.out / "logs" / "nt-agent-hh1.log").exists()
    neighbour = json.loads((c / SECOND / "pv" / "report.json").read_text())
    assert sum(h["readings"]["covered"] for h in neighbour["households"]) > 0
