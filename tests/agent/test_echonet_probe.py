"""``eco-agent probe`` for serial meters: the config form for echonet-broute, and the
config-free forms ``--protocol echonet-broute`` and ``--protocol sunspec-modbus``; one JSON
object with register_wh, quantity, protocol, serial, model (each once), read_at, the power
in words and the raw values; one-line errors that never show the B-route password."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main
from agent.clock import ManualClock
from firmware_sim.echonet_node import EchonetNode, EnergyState, HomeEnergy, MeterSettings
from firmware_sim.household import Household
from firmware_sim.inverter import PtyInverter
from firmware_sim.solar import JST
from firmware_sim.wisun_dongle import DongleConfig, PtyWisunDongle, SkStackServer

RBID = "0123456789ABCDEF0123456789ABCDEF"
PASSWORD = "S3cretPassW0"
NOON = datetime(2026, 6, 21, 12, 0, tzinfo=JST)

pytestmark = pytest.mark.integration


@pytest.fixture
def dongle() -> Iterator[PtyWisunDongle]:
    energy = HomeEnergy(Household(9), None, None, EnergyState(NOON, 7_654_321.0, 4_321.0))
    srv = SkStackServer(DongleConfig(RBID, PASSWORD), EchonetNode(energy, MeterSettings(
        serial="SN-PROBE")), ManualClock(NOON))
    with PtyWisunDongle(srv) as d:
        yield d


def _truth(d: PtyWisunDongle, export: bool = False) -> int:
    node = d.server.node
    s = node.energy.state
    count = node.meter.count(s.export_wh if export else s.import_wh)
    return math.floor(count * node.meter.wh_per_count)


def _probe(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, Any], str]:
    code = main(["probe", *argv])
    out, err = capsys.readouterr()
    return code, json.loads(out) if code == 0 else {}, err


def _check_common(report: dict[str, Any], protocol: str, quantity: str) -> None:
    assert report["protocol"] == protocol and report["quantity"] == quantity
    assert report["read_at"].endswith("Z") and report["model"] and report["serial"]
    # each identity field once (it was printed twice, as model and meter_model)
    assert not {"meter_model", "meter_serial"} & set(report)
    assert report["power"].startswith(f"{report['power_w']:g} W")
    assert isinstance(report["register_wh"], int) and report["raw"]


def test_probe_config_form(dongle: PtyWisunDongle, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text(f'[device]\nstate_dir = "s"\n\n[[meters]]\nid = "grid"\n'
                    f'quantity = "grid_import"\nprotocol = "echonet-broute"\n'
                    f'port = "{dongle.port}"\nbroute_id = "{RBID}"\n'
                    f'broute_password = "{PASSWORD}"\n')
    code, report, err = _probe(capsys, str(conf), "grid")
    assert code == 0, err
    _check_common(report, "echonet-broute", "grid_import")
    assert report["register_wh"] == _truth(dongle) and report["serial"] == "SN-PROBE"
    assert report["raw"]["E0"] == dongle.server.node.meter.count(7_654_321.0)
    assert report["raw"]["E1"] == 1 and report["wrap_wh"] == 100_000_000


def test_probe_broute_without_config(dongle: PtyWisunDongle,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    code, report, err = _probe(capsys, "--protocol", "echonet-broute", "--port", dongle.port,
                              "--broute-id", RBID, "--broute-password", PASSWORD,
                              "--quantity", "grid_export", "--family", "bp35a1")
    assert code == 0, err
    _check_common(report, "echonet-broute", "grid_export")
    assert report["register_wh"] == _truth(dongle, export=True) and "E3" in report["raw"]
    assert PASSWORD not in err and RBID not in err


def test_probe_sunspec_without_config(capsys: pytest.CaptureFixture[str]) -> None:
    with PtyInverter(4500, 3, ManualClock(NOON), serial="INV-7", initial_wh=99_000) as inv:
        code, report, err = _probe(capsys, "--protocol", "sunspec-modbus", "--port", inv.port,
                                  "--unit", "1", "--baudrate", "9600")
    assert code == 0, err
    _check_common(report, "sunspec-modbus", "pv_generation")
    assert report["register_wh"] == 99_000 and report["serial"] == "INV-7"
    assert report["raw"]["WH"] == 99_000 and report["raw"]["base"] == 40000


@pytest.mark.parametrize(("argv", "code", "message"), [
    (["--protocol", "echonet-broute", "--port", "/dev/null", "--broute-id", RBID,
      "--broute-password", PASSWORD], 2, "quantity is missing"),
    (["--protocol", "echonet-broute", "--broute-id", RBID, "--broute-password", PASSWORD,
      "--quantity", "grid_import"], 2, "needs --port"),
    (["--protocol", "echonet-broute", "--port", "/dev/null", "--broute-id", "short",
      "--broute-password", PASSWORD, "--quantity", "grid_import"], 2, "got 5 characters"),
    (["--protocol", "echonet-broute", "--port", "/nonexistent/tty", "--broute-id", RBID,
      "--broute-password", PASSWORD, "--quantity", "grid_import"], 1,
     "no device at /nonexistent/tty: check [[meters]] port"),
    (["--protocol", "sunspec-modbus", "--port", "/nonexistent/tty"], 1,
     "no device at /nonexistent/tty: check [[meters]] port"),
])
def test_probe_errors_are_one_line(argv: list[str], code: int, message: str,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    got, _, err = _probe(capsys, *argv)
    assert got == code and message in err and len(err.strip().splitlines()) == 1
    assert PASSWORD not in err
