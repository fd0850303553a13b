"""The web UI's enrol form carries the equipment identities a consortium's claim tokens are made
of (issue 18 point 4), like ``eco-aggregator enrol --equipment``: in a consortium town a PV
meter without its inverter is refused, the same inverter under a second household is refused
naming where it is enrolled, and the enrolment that passes carries the tokens in the log —
never the identity itself."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from aggregator.webui.app import UiConfig, create_app
from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.consortium_kit import W_BODY, write_claim_secret, write_consortium
from tests.aggregator.ledger_kit import Device
from tests.webui.webui_kit import PROGRAMME, Browser, UiWorld

SERIAL = "3001234567"


@pytest.fixture
def member(world: UiWorld, tmp_path: Path) -> Iterator[Browser]:
    """The world's town as the one member of a consortium (its [consortium] section written
    before the UI starts), logged in as an operator."""
    consortium = write_consortium(tmp_path / "consortium.toml",
                                  [("town-a", world.log_vkey, "http://127.0.0.1:9/", None)],
                                  [W_BODY], quorum=1)
    secret = write_claim_secret(tmp_path / "claim-tokens.key", os.urandom(32))
    (tmp_path / "mirrors").mkdir()
    with world.conf.open("a", encoding="utf-8") as f:
        f.write(f'\n[consortium]\nclaim_secret_file = "{secret}"\nfile = "{consortium}"\n'
                f'member = "town-a"\nmirrors = "{tmp_path / "mirrors"}"\n')
    started = time.time()
    with TestClient(create_app(UiConfig(world.cfg, wall_clock=lambda: started))) as client:
        b = Browser(client)
        b.login()
        yield b


def _form(reference: str, **equipment: str) -> dict[str, str]:
    return {"public_key": b64encode(public_key_raw(Device().key)), "household": reference,
            "programme": PROGRAMME, "meter_id_0": "pv1", "meter_quantity_0": "pv_generation",
            "meter_protocol_0": "sunspec-modbus", "meter_rated_w_0": "4500",
            "installed": "2026-04-01", "fit_status": "post_fit", "battery": "no", **equipment}


def _log(world: UiWorld) -> list[bytes]:
    with world.ledger() as ledger:
        return [data for _, data in ledger.store.entries(0, ledger.store.size())]


def _tokens(world: UiWorld) -> list[list[dict[str, str]]]:
    records = [parse_json(data) for data in _log(world)]
    return [r.get("claim_tokens", []) for r in records if r["type"] == "eco.enrol/v1"]


def test_the_form_offers_equipment_rows_in_japanese(member: Browser) -> None:
    page = member.get("/enrol").text
    assert 'name="equipment_kind_0"' in page and 'name="equipment_id_2"' in page
    assert "パワーコンディショナ" in page and "車台番号" in page


def test_a_pv_meter_without_its_inverter_is_refused_in_a_consortium(member: Browser,
                                                                   world: UiWorld) -> None:
    r = member.post_form("/enrol", "/enrol", _form("Sato, 1-2 Chuo"))
    assert r.status_code == 400
    assert "pv1 (pv_generation)" in r.text and "設備の識別情報" in r.text
    assert _tokens(world) == []


def test_the_same_inverter_twice_is_refused_naming_where_it_is(member: Browser,
                                                               world: UiWorld) -> None:
    ok = member.post_form("/enrol", "/enrol", _form(
        "Sato, 1-2 Chuo", equipment_kind_0="inverter", equipment_id_0=f"SMA:{SERIAL}"))
    assert ok.status_code == 200, ok.text
    (tokens,) = _tokens(world)
    assert [t["kind"] for t in tokens] == ["inverter"]
    assert not any(SERIAL.encode() in data for data in _log(world))
    # the same inverter, typed differently (full-width, another case), by another household
    again = member.post_form("/enrol", "/enrol", _form(
        "Suzuki, 3-4 Minami", equipment_kind_0="inverter",
        equipment_id_0="ｓｍａ:３００１２３４５６７"))
    assert again.status_code == 400
    assert "town-a" in again.text and "すでに" in again.text
    assert len(_tokens(world)) == 1


def test_a_malformed_identity_names_its_row(member: Browser) -> None:
    r = member.post_form("/enrol", "/enrol", _form(
        "Sato, 1-2 Chuo", equipment_kind_1="vin", equipment_id_1="not-a-vin"))
    assert r.status_code == 400 and "2 行目" in r.text
