"""Enrolment and revocation through the web UI have the CLI's side effects (aggregator/operator.py):
the broker login is issued on enrol and withdrawn on revoke — the broker's password file changes
exactly as with ``eco-aggregator revoke``, and a real Mosquitto then refuses the device — and
both leave audit records of one shape in ``operator-audit.jsonl``."""

from __future__ import annotations

import re
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from aggregator.broker_auth import PasswordFile, password_matches
from aggregator.config import load_config
from aggregator.operator import AUDIT_FILE, read_audit
from aggregator.registry import revoke
from aggregator.webui.app import UiConfig, create_app
from aggregator.webui.auth import Role, UserStore, ui_dir
from eco_protocol.encoding import b64encode, format_time
from eco_protocol.keys import DeviceId, public_key_raw
from tests.aggregator.broker_kit import V5, Site, make_site, refused_when_reloaded
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.webui.webui_kit import OPERATOR, PROGRAMME, Browser, UiWorld

SATO = "Sato, 1-2 Chuo"
SUZUKI = "Suzuki, 3-4 Minami"


def _passwd(world: UiWorld) -> Path:
    return world.cfg.mqtt.broker_passwd_file


def _enrol_cli(world: UiWorld, d: Device, reference: str) -> dict[str, Any]:
    out: dict[str, Any] = world.cli(
        "enrol", "--public-key", b64encode(public_key_raw(d.key)), "--household", reference,
        "--programme", PROGRAMME, "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    return out


def _enrol_form(d: Device, reference: str) -> dict[str, str]:
    return {"public_key": b64encode(public_key_raw(d.key)), "household": reference,
            "programme": PROGRAMME, "meter_id_0": "pv1", "meter_quantity_0": "pv_generation",
            "meter_protocol_0": "sunspec-modbus", "meter_rated_w_0": "4500",
            "installed": "2026-04-01", "fit_status": "post_fit", "battery": "no"}


def test_enrol_via_the_ui_issues_a_broker_login_shown_once(world: UiWorld,
                                                           browser: Browser) -> None:
    browser.login()
    d = Device()
    assert d.device_id not in PasswordFile(_passwd(world)).users()
    r = browser.post_form("/enrol", "/enrol", _enrol_form(d, SATO))
    assert r.status_code == 200, r.text
    m = re.search(r'id="enrolled-broker-password">([^<]+)<', r.text)
    assert m is not None and f'id="enrolled-broker-username">{d.device_id}<' in r.text
    entries = PasswordFile(_passwd(world)).read()
    assert d.device_id in entries and password_matches(entries[d.device_id], m.group(1))
    assert m.group(1) not in _passwd(world).read_text()  # only the hash is kept
    (rec,) = read_audit(world.cfg)
    assert rec["action"] == "enrol" and rec["outcome"] == "ok" and rec["actor"] == "alice"
    assert rec["via"] == "ui" and rec["broker_login"] == "issued"
    assert rec["household"] == world.pseudonym(SATO) and rec["device_id"] == d.device_id


def test_revoke_via_the_ui_removes_the_broker_login_exactly_as_the_cli_does(
        world: UiWorld, browser: Browser) -> None:
    a, b = Device(), Device()
    _enrol_cli(world, a, SATO)
    _enrol_cli(world, b, SUZUKI)
    passwd = _passwd(world)
    before = passwd.read_text()
    lines = {line.split(":", 1)[0]: line + "\n" for line in before.splitlines()}
    assert a.device_id in lines and b.device_id in lines

    out = world.cli("revoke", a.device_id, "--reason", "stolen")
    assert out["broker_login_removed"] is True
    after_cli = passwd.read_text()
    assert after_cli == before.replace(lines[a.device_id], "")

    browser.login()
    page = f"/households/{world.pseudonym(SUZUKI)}"
    r = browser.post_form(page, f"/devices/{b.device_id}/revoke", {"reason": "stolen"})
    assert r.url.path == page and "失効させました" in r.text
    assert "ブローカーのログインを削除しました" in r.text
    after_ui = passwd.read_text()
    assert after_ui == after_cli.replace(lines[b.device_id], "")
    assert b.device_id not in after_ui and a.device_id not in after_ui


def test_cli_and_ui_leave_audit_records_of_one_shape_without_personal_names(
        world: UiWorld, browser: Browser) -> None:
    a, b, c = Device(), Device(), Device()
    _enrol_cli(world, a, SATO)
    browser.login()
    browser.post_form("/enrol", "/enrol", _enrol_form(b, SUZUKI))
    _enrol_cli(world, c, "Tanaka, 5-6 Kita")
    world.cli("revoke", a.device_id, "--reason", "Mr Sato moved out")
    browser.post_form("/fleet", f"/devices/{b.device_id}/revoke",
                      {"reason": "Ms Suzuki moved out"})
    world.cli("rekey", c.device_id, "--public-key", b64encode(public_key_raw(Device().key)))
    # the household page the revoke returns to is a view of personal data, audited on its own
    records = [r for r in read_audit(world.cfg) if r["action"] != "household-view"]
    assert [(r["action"], r["via"], r["outcome"]) for r in records] == [
        ("enrol", "cli", "ok"), ("enrol", "ui", "ok"), ("enrol", "cli", "ok"),
        ("revoke", "cli", "ok"), ("revoke", "ui", "ok"), ("rekey", "cli", "ok")]
    assert len({frozenset(r) for r in records}) == 1, "CLI and UI records differ in shape"
    cli_revoke, ui_revoke = records[3], records[4]
    assert cli_revoke["actor"] == "cli" and ui_revoke["actor"] == OPERATOR[0]
    assert cli_revoke["os_user"] and ui_revoke["os_user"]
    assert ui_revoke["household"] == world.pseudonym(SUZUKI)
    assert cli_revoke["broker_login"] == ui_revoke["broker_login"] == "removed"
    assert all(r["at"].endswith("Z") for r in records)
    path = world.state / AUDIT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    text = path.read_text()
    for name in ("Sato", "Suzuki", "Tanaka", "moved out"):
        assert name not in text


def test_a_device_revoked_without_its_login_has_it_removed_on_a_second_revoke(
        world: UiWorld, browser: Browser) -> None:
    """What the UI did before aggregator/operator.py: eco.revoke/v1 in the log, login kept."""
    a = Device()
    _enrol_cli(world, a, SATO)
    with world.ledger() as ledger:
        revoke(ledger, DeviceId(a.device_id), "lost", format_time(datetime.now(UTC)))
    assert a.device_id in PasswordFile(_passwd(world)).users()
    browser.login()
    r = browser.post_form("/fleet", f"/devices/{a.device_id}/revoke", {"reason": "lost"})
    assert "すでに失効しています" in r.text and "いま削除しました" in r.text
    assert a.device_id not in PasswordFile(_passwd(world)).users()
    rec = [r for r in read_audit(world.cfg) if r["action"] != "household-view"][-1]
    assert rec["outcome"] == "refused" and rec["broker_login"] == "removed"


# --- against a real Mosquitto (the broker of tests/aggregator/test_broker_acl.py) ----------


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    yield from make_site(tmp_path, capsys)


@pytest.mark.integration
def test_a_device_revoked_in_the_ui_is_refused_by_the_real_broker(site: Site) -> None:
    a = Device()
    login = site.enrol(a)
    site.device_client(a.device_id, login["broker_password"]).close()  # it can log in
    UserStore(ui_dir(site.state) / "users.json").add(*OPERATOR, Role.OPERATOR)
    with TestClient(create_app(UiConfig(load_config(Path(site.conf))))) as client:
        browser = Browser(client)
        browser.login()
        r = browser.post_form("/fleet", f"/devices/{a.device_id}/revoke", {"reason": "stolen"})
        assert "SIGHUP を送信" in r.text, r.text  # the broker reloaded (said in Japanese)
    rc = refused_when_reloaded(lambda: V5(site.port, a.device_id, login["broker_password"]))
    assert rc.is_failure, "a device revoked in the web UI can still log in to the broker"
