"""``eco-aggregator certificates issue`` and ``list`` as the operator runs them: a real
initialised state, readings through the real intake, the installed command in its own process;
the bundles' file holds the EnergyTag fields and ``ledger verify`` replays the claims."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main
from aggregator.cli.common import open_ledger
from aggregator.config import load_config
from tests.methodology.batch_kit import three_homes

pytestmark = pytest.mark.integration  # the installed command in its own process

PROG = "cli-cert-prog"


def _run(conf: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "aggregator.cli", "--config", str(conf), *args],
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def conf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    state = tmp_path / "state"
    assert main(["init", str(state), "--origin", "cert-cli.example"]) == 0
    conf = state / "aggregator.toml"
    assert main(["--config", str(conf), "programme", "init", "--id", PROG]) == 0
    capsys.readouterr()
    ledger = open_ledger(load_config(conf))
    three_homes(ledger, PROG, intervals=16, battery_home=True)
    ledger.checkpoint_now()
    ledger.store.close()
    return conf


def test_issue_then_list_then_nothing_left(conf: Path, tmp_path: Path) -> None:
    out = tmp_path / "gc"
    proc = _run(conf, "certificates", "issue", "--period", "2026-11-22..2026-11-23",
                "--out", str(out), "--issuing-body", "Example City", "--market-zone", "JP-TK")
    assert proc.returncode == 0, proc.stderr
    issued: dict[str, Any] = json.loads(proc.stdout)
    assert issued["issued"] > 0 and issued["total_wh"] > 0
    bundles = json.loads(Path(issued["file"]).read_text())["bundles"]
    assert len(bundles) == issued["issued"]
    # hh-2 has a battery: its self-consumption is proven per day only, never per hour
    assert {b["device_id"] for b in bundles} == {"hh-0", "hh-1"}
    assert all(b["issuing_body"] == "Example City" and b["issue_market_zone"] == "JP-TK"
               and b["dissemination_level"] == "self_consumed" for b in bundles)
    listed = json.loads(_run(conf, "certificates", "list").stdout)
    assert listed["total_wh"] == issued["total_wh"]
    assert {r["status"] for r in listed["bundles"]} == {"issued"}
    again = _run(conf, "certificates", "issue", "--period", "2026-11-22..2026-11-23")
    # one line for the operator, and the audit trail's record of the refused issuance
    audit, said = again.stderr.splitlines()
    assert again.returncode == 1 and "no certificate to issue" in said
    assert '"action": "certificates-issue"' in audit and '"outcome": "refused"' in audit
    assert '"target": "2026-11-21T15:00:00Z..2026-11-22T15:00:00Z"' in audit  # JST days
    verify = _run(conf, "ledger", "verify")
    assert verify.returncode == 0, verify.stderr
