"""The fault suite's report: after the session, print the Reliability table (what ``make faults``
shows and README "Reliability" quotes) and write the figures as JSON to a temporary file."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import pytest

from tests.faults.faults_kit import RESULTS

COLUMNS = (("scenario", "scenario"), ("kills_survived", "kills"), ("restarts", "restarts"),
           ("readings_in_ledger", "readings"), ("readings_lost", "lost"),
           ("duplicates_in_ledger", "duplicates"), ("seconds", "s"), ("ok", "ok"))


def table(rows: list[dict[str, object]]) -> list[str]:
    head = [h for _, h in COLUMNS]
    body = [[str(r.get(k, "")) for k, _ in COLUMNS] for r in rows]
    widths = [max(len(x) for x in col) for col in zip(head, *body, strict=False)]
    fmt = " | ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    out = [fmt.format(*head), "-+-".join("-" * w for w in widths)]
    out += [fmt.format(*b) for b in body]
    for r in rows:
        extra = {k: v for k, v in r.items() if k not in dict(COLUMNS)}
        if extra:
            out.append(f"  {r['scenario']}: {json.dumps(extra, sort_keys=True)}")
    return out


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    path = Path(tempfile.gettempdir()) / "eco-faults-last-run.json"
    totals = {"scenarios": len(RESULTS),
              "kills_survived": sum(int(r["kills_survived"]) for r in RESULTS),
              "readings_in_ledger": sum(int(r["readings_in_ledger"]) for r in RESULTS),
              "readings_lost": sum(int(r["readings_lost"]) for r in RESULTS),
              "duplicates_in_ledger": sum(int(r["duplicates_in_ledger"]) for r in RESULTS)}
    path.write_text(json.dumps({"scenarios": RESULTS, "totals": totals}, indent=2) + "\n")
    tr = terminalreporter
    tr.write_sep("=", "fault injection: reliability figures")
    for line in table(RESULTS):
        tr.write_line(line)
    tr.write_line(f"totals: {json.dumps(totals)}")
    tr.write_line(f"figures written to {path}")
