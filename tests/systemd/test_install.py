"""`make install-agent install-aggregator DESTDIR=…` stages units, a config and the code, and
never copies keys or databases."""

from __future__ import annotations

import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]


def test_staged_install(tmp_path: Path) -> None:
    stage = tmp_path / "root"
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "install-agent", "install-aggregator",
                        f"DESTDIR={stage}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    units = {p.name for p in (stage / "etc/systemd/system").iterdir()}
    assert units == {"eco-agent.service", "eco-aggregator.service",
                     "eco-aggregator-batch.service", "eco-aggregator-batch.timer"}
    assert "[device]" in (stage / "etc/eco-agent/agent.toml").read_text()
    code = stage / "opt/eco-credit"
    assert (code / "agent" / "runner.py").exists()
    leaked = [p for p in code.rglob("*") if p.suffix in (".key", ".sqlite3")]
    assert leaked == [] and not (code / ".venv").exists()
