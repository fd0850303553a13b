"""The demo's granular certificates (issue 19 point 6), from what it left in
``demo-output/certificates/`` and its evidence: the certificates and the J-Credit PV batch never
take the same Wh (per reading, issued ≤ what its span proves; the batch's row is net of the
issued Wh); the buyer's cancellations are in the proof, signed by the buyer, and the export
verifies with the key pinned on day 1 — across the log key change halfway; each tampered copy is
refused; the hourly matching report's numbers are recomputed here from the consumption CSV and
the verified bundles."""

from __future__ import annotations

import csv
import json
import stat
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import parse_json
from eco_protocol.certificate_proofs import (
    CertificateCheck,
    CertificateProblem,
    verify_certificate_proofs,
)
from eco_protocol.encoding import b64decode
from tests.e2e.demo_kit import JST, Demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.solo]


def _dir(demo: Demo) -> Path:
    return demo.out / "certificates"


def _keys(demo: Demo) -> tuple[str, str]:
    """The log key the buyers pinned on day 1, and the witness's key."""
    day1 = (demo.out / "evidence" / "log.vkeys").read_text().split()[0]
    return day1, (demo.out / "witness" / "witness.key.vkey").read_text().strip()


def _check(demo: Demo, where: Path) -> CertificateCheck:
    day1, witness = _keys(demo)
    return verify_certificate_proofs(json.loads((where / "bundles.json").read_text()),
                                     json.loads((where / "proofs.json").read_text()),
                                     day1, [witness], 1)


def _log(demo: Demo) -> list[tuple[int, dict[str, Any]]]:
    lines = (demo.out / "evidence" / "entries.jsonl").read_text().splitlines()
    out = []
    for line in lines:
        item = parse_json(line)
        out.append((item["index"], parse_json(b64decode(item["entry_b64"], "entry"))))
    return out


def test_certificates_and_the_batch_never_take_the_same_wh(demo: Demo) -> None:
    c = demo.summary["certificates"]
    assert c["verification"] == "ok" and c["issued_wh"] > 0 and c["bundles"] > 0
    log = _log(demo)
    issued: dict[int, int] = defaultdict(int)
    claim_at = []
    for index, rec in log:
        if rec["type"] == "eco.claim/v1" and rec["action"] == "issued":
            claim_at.append(index)
            for p in rec["parts"]:
                issued[p["index"]] += p["wh"]
    seal_at = [i for i, rec in log if rec["type"] == "eco.batch/v1"]
    actions = Counter(rec["action"] for _, rec in log if rec["type"] == "eco.claim/v1")
    assert actions == {"sealed": 2, "issued": c["bundles"], "transferred": c["received"],
                       "cancelled": c["cancelled"]}
    assert sum(issued.values()) == c["issued_wh"]
    assert max(claim_at) < min(seal_at)  # issued first: the batch is sealed net of them
    # per span of the certificates' home: the PV and export readings, the Wh issued
    devices = {e.device_id for e in demo.devices_of(c["household"])}
    period = demo.reports["pv"]["period"]
    spans: dict[tuple[datetime, datetime], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for index, r, rule in demo.readings:
        if r.device_id in devices and rule is None and \
                period["start"] <= r.start < r.end <= period["end"]:
            s = spans[(r.start_dt, r.end_dt)]
            s[r.quantity.value] += r.energy_wh
            s["issued"] += issued.get(index, 0)
    for s in spans.values():  # no reading gives more than its span's self-consumption
        assert s["issued"] <= max(0, s.get("pv_generation", 0) - s.get("grid_export", 0))
    assert sum(s["issued"] for s in spans.values()) == c["issued_wh"]
    proven = [s for s in spans.values() if {"pv_generation", "grid_export"} <= set(s)]
    before = sum(max(0, s["pv_generation"] - s["grid_export"]) for s in proven)
    [month] = demo.households("pv")[c["household"]]["months"]
    # the batch credits the rest: the span's self-consumption less what was issued
    assert month["energy_wh"]["self_consumed"] == before - c["issued_wh"]
    assert c["pv_batch_self_consumed_wh"] == sum(
        m["energy_wh"]["self_consumed"] for h in demo.reports["pv"]["households"]
        for m in h["months"])
    assert "Wh in" in demo.stdout and "no Wh in both" in demo.stdout


def test_the_buyers_cancellations_are_in_the_proof_and_verify(demo: Demo) -> None:
    c = demo.summary["certificates"]
    res = _check(demo, _dir(demo) / "export")
    assert res.witnesses_signed and res.total_wh == c["issued_wh"]
    cancelled = [(b.issuance_id, n) for b in res.bundles for who, _, n in b.cancelled
                 if who.startswith(c["buyer"])]
    assert len(cancelled) == c["cancelled"] and sum(n for _, n in cancelled) == c["cancelled_wh"]
    held = [b for b in res.bundles if b.holder == c["buyer"]]
    assert len(held) == c["received"]  # transferred to the buyer; one kept, not cancelled
    # each cancellation carries the buyer's own signed request (checked by the replay above)
    requests = [rec["request"] for _, rec in _log(demo)
                if rec["type"] == "eco.claim/v1" and rec["action"] == "cancelled"]
    assert len(requests) == c["cancelled"] and all(r["holder"] == c["buyer"] for r in requests)
    text = (_dir(demo) / "verify.txt").read_text()
    assert text.startswith("VALID certificates:")
    # the buyer's key was made at run time, readable by the buyer alone (demo-output/ is
    # never committed)
    assert stat.S_IMODE((_dir(demo) / "buyer" / "buyer.key").stat().st_mode) == 0o600


@pytest.mark.parametrize(("copy", "kind"), [("face-value", "bundle"), ("holder", "inclusion"),
                                            ("proof", "inclusion")])
def test_each_tampered_copy_is_refused(demo: Demo, copy: str, kind: str) -> None:
    with pytest.raises(CertificateProblem) as e:
        _check(demo, _dir(demo) / "tampered" / copy)
    assert e.value.kind == kind
    text = (_dir(demo) / "tampered" / f"verify-{copy}.txt").read_text()
    assert text.startswith("INVALID certificates:")
    assert demo.summary["certificates"]["tampered_refused"] == 3


def _utc(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _consumption(path: Path) -> dict[datetime, int]:
    out = {}
    for row in csv.DictReader(path.read_text().splitlines()):
        at = datetime.fromisoformat(row["hour_start"])
        out[at] = round(float(row["consumption_kwh"]) * 1000)
    return out


def test_the_matching_report_is_recomputed_from_the_csv_and_the_bundles(demo: Demo) -> None:
    c = demo.summary["certificates"]
    use = _consumption(_dir(demo) / "consumption.csv")
    res = _check(demo, _dir(demo) / "export")
    per_hour: dict[datetime, int] = defaultdict(int)
    for b in res.bundles:
        hour = _utc(b.hour)
        for who, period, n in b.cancelled:
            start, end = (_utc(t) for t in period.split(".."))
            if who.startswith(c["buyer"]) and start <= hour and hour + timedelta(hours=1) <= end:
                per_hour[hour] += n
    doc = json.loads((_dir(demo) / "matching" / "matching.json").read_text())
    rows = {_utc(h["hour_start_utc"]): h for h in doc["hours"]}
    assert set(rows) == set(use) and len(rows) == 24
    for at, wh in use.items():
        got = rows[at]
        assert got["hour_start_jst"] == f"{at.astimezone(JST):%Y-%m-%d %H:%M}"
        assert (got["consumption_wh"], got["certificates_wh"], got["matched_wh"]) == \
            (wh, per_hour.get(at, 0), min(wh, per_hour.get(at, 0)))
    matched = sum(min(wh, per_hour.get(at, 0)) for at, wh in use.items())
    total = sum(use.values())
    assert doc["totals"]["matched_wh"] == matched > 0
    assert doc["totals"]["hourly_share"] == round(matched / total, 6) == c["hourly_share"]
    assert doc["totals"]["volumetric_share"] == round(min(1, c["cancelled_wh"] / total), 6)
    # certificates beyond an hour's use (the office's lunch hour) match nothing
    excess = sum(max(0, wh - use.get(at, 0)) for at, wh in per_hour.items())
    assert matched == c["cancelled_wh"] - excess
    lines = (_dir(demo) / "matching" / "matching.csv").read_text().splitlines()
    assert len(lines) == 25 and lines[0].startswith("hour_start_jst,")
    en = (_dir(demo) / "matching" / "matching.html").read_text()
    ja = (_dir(demo) / "matching" / "ja" / "matching.html").read_text()
    assert "Hourly matching report" in en and "毎時マッチング報告書" in ja
    assert "<svg" in en and "<svg" in ja
