"""A device key is also a ``did:key`` (issue 20 point 1): shown where a device id is shown —
``enrol``'s and ``keygen``'s output, the fleet and household pages — and accepted where one is
entered (``revoke``, ``rekey``, ``release``, the broker commands)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.cli import main as agent_main
from aggregator.cli import main as aggregator_main
from eco_protocol.did import did_key
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.webui.webui_kit import PROGRAMME, Browser, UiWorld


def _enrol(world: UiWorld, d: Device, reference: str) -> dict[str, str]:
    out: dict[str, str] = world.cli(
        "enrol", "--public-key", b64encode(public_key_raw(d.key)), "--household", reference,
        "--programme", PROGRAMME, "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    return out


def test_enrol_prints_the_did_key_and_revoke_takes_it(world: UiWorld) -> None:
    d = Device()
    out = _enrol(world, d, "Sato, 1-2 Chuo")
    assert out["did"] == did_key(public_key_raw(d.key)) and out["did"].startswith("did:key:z6Mk")
    revoked = world.cli("revoke", out["did"], "--reason", "moved away")
    assert revoked["device_id"] == out["device_id"]


def test_a_malformed_did_key_is_refused_before_anything_runs(
        world: UiWorld, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        aggregator_main(["--config", str(world.conf), "revoke", "did:key:z6MkNOTAKEY",
                         "--reason", "x"])
    assert e.value.code == 2 and "device_id" in capsys.readouterr().err


def test_the_fleet_and_household_pages_show_the_did_key(world: UiWorld,
                                                        browser: Browser) -> None:
    d = world.enrol_pv("Suzuki, 3-4 Minami")
    did = did_key(public_key_raw(d.key))
    browser.login()
    assert f'title="{did}"' in browser.get("/fleet").text
    household = world.pseudonym("Suzuki, 3-4 Minami")
    assert f">{did}<" in browser.get(f"/households/{household}").text


def test_agent_keygen_prints_its_did_key(tmp_path: Path, world: UiWorld,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text(f"""[device]
state_dir = "."
log_key = "{world.log_vkey}"

[uplink]
broker = "mqtt://127.0.0.1:1883"

[[meters]]
id = "pv1"
quantity = "pv_generation"
protocol = "tasmota"
topic = "pv"
""")
    assert agent_main(["keygen", str(conf)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["did"].startswith("did:key:z6Mk") and len(out["device_id"]) == 32
