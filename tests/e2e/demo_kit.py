"""One run of the demo that every demo test module reads (tests/e2e/conftest.py runs it once per
session): the demo's outputs, its summary, its reports and its log replayed from the evidence."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.creditability import CreditRules
from eco_protocol.encoding import b64decode
from eco_protocol.evidence import verify_evidence
from eco_protocol.records import Enrolment, Reading

JST = timezone(timedelta(hours=9))
EVERY_DEVICE = 7  # six households, the bakery with a second box for its smart meter


@dataclass
class Demo:
    out: Path
    stdout: str
    summary: dict[str, Any]
    reports: dict[str, dict[str, Any]]  # methodology → report.json
    enrolments: dict[str, Enrolment]  # device id → enrolment
    readings: list[tuple[int, Reading, str | None]]  # (index, reading, exclusion rule)

    def households(self, report: str) -> dict[str, dict[str, Any]]:
        return {h["household"]: h for h in self.reports[report]["households"]}

    def devices_of(self, household: str) -> list[Enrolment]:
        return [e for e in self.enrolments.values() if e.household == household]

    def fit(self, household: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for e in self.devices_of(household):
            out.update(e.fit)
        return out

    def quantities(self, household: str) -> set[str]:
        return {m.quantity.value for e in self.devices_of(household) for m in e.meters}


def run_demo(out: Path) -> Demo:
    """``python -m firmware_sim.demo`` for one simulated day at 3000x into ``out``."""
    r = subprocess.run([sys.executable, "-m", "firmware_sim.demo", "--out", str(out),
                        "--days", "1", "--speed", "3000"],
                       capture_output=True, text=True, timeout=400)
    assert r.returncode == 0, r.stdout + r.stderr
    summary = json.loads((out / "summary.json").read_text())
    reports = {m: json.loads((out / m / "report.json").read_text()) for m in ("pv", "ev")}
    evidence = out / "evidence"
    keys = (evidence / "log.vkeys").read_text().split()
    enrolments: dict[str, Enrolment] = {}
    readings: list[tuple[int, Reading, str | None]] = []

    def keep(_index: int, _entry: bytes, record: Any) -> None:
        if isinstance(record, Enrolment):
            enrolments[record.device_id] = record

    lines = (evidence / "entries.jsonl").read_text().splitlines()
    s = verify_evidence((evidence / "checkpoint").read_text(), keys[0], [], lines,
                        on_entry=keep, log_history=keys,
                        rules=CreditRules.from_dict(reports["pv"]["methodology"]["rules"]))
    for line in lines:
        item = parse_json(line)
        rec = parse_json(b64decode(item["entry_b64"], "entry"))
        if rec["type"] == "eco.reading/v1":
            readings.append((item["index"], Reading.from_dict(rec),
                             s.exclusions.get(item["index"])))
    return Demo(out, r.stdout, summary, reports, enrolments, readings)


