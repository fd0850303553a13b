"""eco-agent's command line, and ``eco-agent run`` as a real process against a simulated inverter
on a pty and a real broker (readings arrive, status retained online/offline, LWT on SIGKILL)."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agent.cli import main
from agent.clock import AcceleratedClock
from agent.config import load_config
from aggregator.mosquitto import Mosquitto
from eco_protocol.encoding import b64decode
from eco_protocol.keys import device_id_of, public_key_from_raw
from firmware_sim.inverter import PtyInverter
from tests.agent.agent_kit import Responder, StatusWatcher, wait_for, write_config

ROOT = Path(__file__).parents[2]


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def conf(tmp_path: Path) -> Path:
    return write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1883,
                        meters=[{"id": "pv1", "quantity": "pv_generation",
                                 "port": str(tmp_path / "no-such-tty")}])


def test_init_writes_a_parsing_example_and_never_overwrites(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "etc" / "agent.toml"
    code, _, err = _run_cli(capsys, "init", str(path))
    assert code == 0 and "keygen" in err
    load_config(path)
    path.write_text("# mine\n")
    code, _, err = _run_cli(capsys, "init", str(path))
    assert code == 1 and "already exists" in err and len(err.strip().splitlines()) == 1
    assert path.read_text() == "# mine\n"


def test_keygen_creates_a_private_key_once(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run_cli(capsys, "keygen", str(conf))
    first = json.loads(out)
    assert code == 0 and first["created"] is True
    key_file = Path(first["key_file"])
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    raw = b64decode(first["public_key"], "public_key")
    assert device_id_of(raw) == first["device_id"] and len(first["device_id"]) == 32
    public_key_from_raw(raw)
    code, out, _ = _run_cli(capsys, "keygen", str(conf))
    again = json.loads(out)
    assert code == 0 and again["created"] is False
    assert (again["device_id"], again["public_key"]) == (first["device_id"], first["public_key"])


def test_status_before_any_reading(conf: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _run_cli(capsys, "keygen", str(conf))
    code, out, _ = _run_cli(capsys, "status", "--json", str(conf))
    report = json.loads(out)
    assert code == 0
    assert report["next_seq"] == 1 and report["pending"] == 0 and report["rejected"] == []
    assert report["last_receipt"] is None and len(report["device_id"]) == 32
    assert [m["id"] for m in report["meters"]] == ["pv1"]
    assert set(report["clock"]) == {"now", "known_unsynced"}


def test_errors_are_one_line_with_exit_codes(conf: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run_cli(capsys, "status", str(conf))  # no key yet
    assert code == 2 and "eco-agent keygen" in err and len(err.strip().splitlines()) == 1
    code, _, err = _run_cli(capsys, "run", str(conf))
    assert code == 2 and "eco-agent keygen" in err
    bad = tmp_path / "bad.toml"
    bad.write_text('[device]\nstate_dir = "s"\ninterval_minutes = 7\n')
    code, _, err = _run_cli(capsys, "status", str(bad))
    assert code == 2 and "interval_minutes = 7" in err and len(err.strip().splitlines()) == 1
    _run_cli(capsys, "keygen", str(conf))
    code, _, err = _run_cli(capsys, "probe", str(conf), "ev9")
    assert code == 2 and "no meter 'ev9'" in err
    code, _, err = _run_cli(capsys, "probe", str(conf), "pv1")  # the port does not exist
    assert code == 1 and "pv1" in err and len(err.strip().splitlines()) == 1
    empty = write_config(tmp_path / "nokey.toml", state_dir=tmp_path / "state", port=1883,
                         log_key="", meters=[{"id": "pv1", "quantity": "pv_generation",
                                              "port": "/dev/null"}])
    code, _, err = _run_cli(capsys, "run", str(empty))
    assert code == 2 and "log_key is empty" in err


# --- with the simulated inverter --------------------------------------------------------------

SPEED = 300.0  # a 5-minute interval passes in one wall second
ORIGIN_SIM = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)  # 11:00 JST, the sun is up


@pytest.fixture
def sim_clock() -> AcceleratedClock:
    return AcceleratedClock(origin_sim=ORIGIN_SIM.timestamp(), origin_wall=time.time(),
                            rate=SPEED)


@pytest.fixture
def inverter(sim_clock: AcceleratedClock) -> Iterator[PtyInverter]:
    with PtyInverter(4500, 11, sim_clock, serial="SN-CLI-1", initial_wh=2_000_000) as inv:
        yield inv


def _sim_config(tmp_path: Path, port: int, inverter: PtyInverter,
                clock: AcceleratedClock) -> Path:
    return write_config(
        tmp_path / "agent.toml", state_dir=tmp_path / "state", port=port, interval_minutes=5,
        poll_seconds=30, resend_timeout_s=2.0,
        meters=[{"id": "pv1", "quantity": "pv_generation", "port": inverter.port,
                 "timeout_s": 0.5}],
        clock={"mode": "accelerated", "origin_sim": ORIGIN_SIM.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "origin_wall": clock.origin_wall, "speed": SPEED})


@pytest.mark.integration
def test_probe_reads_the_simulated_inverter(tmp_path: Path, inverter: PtyInverter,
                                            sim_clock: AcceleratedClock,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    conf = _sim_config(tmp_path, 1883, inverter, sim_clock)
    code, out, err = _run_cli(capsys, "probe", str(conf), "pv1")
    assert code == 0, err
    snap = json.loads(out)
    assert snap["meter_id"] == "pv1" and snap["protocol"] == "sunspec-modbus"
    assert snap["serial"] == "SN-CLI-1" and snap["manufacturer"] == "EcoSim"
    assert snap["register_wh"] >= 2_000_000 and snap["power_w"] >= 0 and snap["model"]


def _start_agent(conf: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("NOTIFY_SOCKET", None)
    return subprocess.Popen([sys.executable, "-m", "agent.cli", "run", str(conf)], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_run_process_delivers_readings_and_keeps_status(
        tmp_path: Path, broker: Mosquitto, inverter: PtyInverter, sim_clock: AcceleratedClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    conf = _sim_config(tmp_path, broker.port, inverter, sim_clock)
    _run_cli(capsys, "keygen", str(conf))
    device_id, public_b64 = (json.loads(_run_cli(capsys, "keygen", str(conf))[1])[k]
                             for k in ("device_id", "public_key"))
    with Responder(broker.port) as agg:
        agg.add_device(device_id, public_key_from_raw(b64decode(public_b64, "pk")))
        proc = _start_agent(conf)
        try:
            assert wait_for(lambda: len(agg.seqs(device_id)) >= 3, timeout=20), (
                proc.poll(), agg.errors)
            assert StatusWatcher.retained(broker.port, device_id) == "online"
            proc.send_signal(signal.SIGKILL)
            proc.wait(5)
        finally:
            if proc.poll() is None:
                proc.kill()
        _, err = proc.communicate()
        assert b"committed" in err
        # the broker publishes the last will: retained offline
        assert wait_for(lambda: StatusWatcher.retained(broker.port, device_id, 1.0) == "offline",
                        timeout=10)
        before = agg.seqs(device_id)
        assert before == list(range(1, len(before) + 1))
        assert not agg.errors

        # restart: pending readings go out, new ones follow; then a clean SIGTERM
        proc = _start_agent(conf)
        try:
            assert wait_for(lambda: len(agg.seqs(device_id)) >= len(before) + 2, timeout=20)
            assert wait_for(lambda: StatusWatcher.retained(broker.port, device_id, 1.0)
                            == "online", timeout=5)
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
        proc.communicate()
        assert StatusWatcher.retained(broker.port, device_id) == "offline"
        seqs = agg.seqs(device_id)
        assert seqs == list(range(1, len(seqs) + 1))  # in order, none lost, none twice
        report = json.loads(_run_cli(capsys, "status", "--json", str(conf))[1])
        assert report["next_seq"] >= len(seqs) + 1 and report["rejected"] == []
        (pv1,) = report["meters"]
        assert pv1["last_committed"] is not None  # the boundary and register it last signed
        today = report["today"]  # the device's own tally of what it signed per JST day
        assert today["points_estimate"] == today["co2_g_estimate"] // 1000
        assert set(today["energy_wh"]) <= {"pv_generation"}
        # each reading's energy is plausible for a 4.5 kW inverter over 5 minutes
        for rec in agg.records:
            assert rec["meter"] == "pv1" and rec["source"]["meter_serial"] == "SN-CLI-1"
            assert 0 <= rec["energy_wh"] <= 4500 * 5 // 60 + 1
        assert sum(rec["energy_wh"] for rec in agg.records) > 0
