"""`make install-agent install-aggregator DESTDIR=…` stages units, a config and the code, and
never copies keys or databases."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


def test_staged_install(tmp_path: Path) -> None:
    stage = tmp_path / "root"
    r = subprocess.run(["make", "-s", "-C", str(ROOT), "install-agent", "install-aggregator",
                        f"DESTDIR={stage}"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    units = {p.name for p in (stage / "etc/systemd/system").iterdir()}
    # a consortium member's mirror and witness are installed too, enabled only by those in one
    assert units == {"eco-agent.service", "eco-aggregator.service",
                     "eco-aggregator-batch.service", "eco-aggregator-batch.timer",
                     "eco-aggregator-mirror.service",
                     "eco-aggregator-consortium-witness.service"}
    assert "[device]" in (stage / "etc/eco-agent/agent.toml").read_text()
    code = stage / "opt/eco-credit"
    assert (code / "agent" / "runner.py").exists()
    leaked = [p for p in code.rglob("*") if p.suffix in (".key", ".sqlite3")]
    assert leaked == [] and not (code / ".venv").exists()


def test_init_writes_the_config_where_the_unit_reads_it(tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]
                                                        ) -> None:
    """The unit reads /etc/eco-aggregator/aggregator.toml and keeps its state in
    /var/lib/eco-aggregator: `init --config ETC STATE` must write the config to ETC (readable by
    the service's dynamic user, no secret in it) and every key into STATE (0600)."""
    import json
    import stat

    from aggregator.cli import main

    etc, state = tmp_path / "etc" / "aggregator.toml", tmp_path / "var-lib"
    assert main(["--config", str(etc), "init", str(state), "--origin", "o.example"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["config"] == str(etc.resolve())
    assert stat.S_IMODE(etc.stat().st_mode) == 0o644
    assert not (state / "aggregator.toml").exists()
    assert stat.S_IMODE((state / "log.key").stat().st_mode) == 0o600
    assert "log.key" not in {p.name for p in etc.parent.iterdir()}
    assert main(["--config", str(etc), "log-key"]) == 0
    assert capsys.readouterr().out.strip() == out["log_vkey"]
