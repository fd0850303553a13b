"""The unit files are checked offline with systemd-analyze, which only warns on unknown or
misplaced keys (docs/pitfalls.md §6): any output on stderr fails the test."""

from __future__ import annotations

import configparser
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = sorted((Path(__file__).parents[2] / "systemd").glob("*.service"))
TIMERS = sorted((Path(__file__).parents[2] / "systemd").glob("*.timer"))


def _parse(unit: Path) -> configparser.RawConfigParser:
    cp = configparser.RawConfigParser(strict=False, interpolation=None)
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read(unit)
    return cp


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_verifies_without_warnings(unit: Path, tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    assert analyze, "systemd-analyze is missing: run 'make deps' (Debian package systemd)"
    # ExecStart must name an existing binary on the checking host: point it at this venv's script
    bindir = Path(sys.executable).parent
    text = re.sub(r"/opt/eco-credit/\.venv/bin/", f"{bindir}/", unit.read_text())
    copy = tmp_path / unit.name
    copy.write_text(text)
    r = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True,
                       timeout=60)
    noise = [ln for ln in r.stderr.splitlines()
             if ln.strip() and "Failed to connect to" not in ln and "bus" not in ln.lower()]
    assert r.returncode == 0 and not noise, r.stderr


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_unit_is_hardened(unit: Path) -> None:
    svc = _parse(unit)["Service"]
    assert svc["Restart"] == "on-failure"
    assert svc["NoNewPrivileges"] == "yes"
    assert svc["ProtectSystem"] == "strict"
    assert svc["PrivateTmp"] == "yes"
    assert svc["StateDirectory"].startswith("eco-")
    assert "StartLimitIntervalSec" not in svc, "StartLimitIntervalSec belongs in [Unit]"
    assert _parse(unit)["Unit"]["StartLimitIntervalSec"] == "0"


def test_agent_reaches_serial_ports_only() -> None:
    svc = _parse(next(u for u in UNITS if u.name == "eco-agent.service"))["Service"]
    assert svc["DevicePolicy"] == "closed"
    assert svc["SupplementaryGroups"] == "dialout"
    assert "PrivateDevices" not in svc, "PrivateDevices hides the physical serial ports"


def test_agent_uses_the_watchdog_it_feeds() -> None:
    """agent/runner.py sends READY=1 and WATCHDOG=1; the unit must ask for them."""
    svc = _parse(next(u for u in UNITS if u.name == "eco-agent.service"))["Service"]
    assert svc["Type"] == "notify"
    assert int(svc["WatchdogSec"]) >= 60
    runner = (Path(__file__).parents[2] / "agent" / "runner.py").read_text()
    assert 'sd_notify("READY=1")' in runner and 'sd_notify("WATCHDOG=1")' in runner


@pytest.mark.parametrize("timer", TIMERS, ids=lambda p: p.name)
def test_timer_verifies_and_names_its_service(timer: Path, tmp_path: Path) -> None:
    service = timer.with_suffix(".service")
    assert service.exists(), f"{timer.name} has no {service.name}"
    bindir = Path(sys.executable).parent
    for unit in (timer, service):
        text = re.sub(r"/opt/eco-credit/\.venv/bin/", f"{bindir}/", unit.read_text())
        (tmp_path / unit.name).write_text(text)
    analyze = shutil.which("systemd-analyze")
    assert analyze
    r = subprocess.run([analyze, "verify", str(tmp_path / timer.name)], capture_output=True,
                       text=True, timeout=60)
    noise = [ln for ln in r.stderr.splitlines()
             if ln.strip() and "Failed to connect to" not in ln and "bus" not in ln.lower()]
    assert r.returncode == 0 and not noise, r.stderr
    assert "Persistent=true" in timer.read_text()


def test_units_sharing_a_state_directory_run_as_one_user() -> None:
    """systemd chowns a StateDirectory to the unit's user at each start: two units with their
    own dynamic users on one directory would take it from each other (the batch timer would lock
    the running aggregator out of its own ledger)."""
    users: dict[str, set[str]] = {}
    for unit in UNITS:
        svc = _parse(unit)["Service"]
        assert svc["DynamicUser"] == "yes" and svc["User"] == svc["Group"]
        users.setdefault(svc["StateDirectory"], set()).add(svc["User"])
    assert all(len(u) == 1 for u in users.values()), users
    assert users["eco-aggregator"] == {"eco-aggregator"}
