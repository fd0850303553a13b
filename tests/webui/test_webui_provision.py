"""Issue 17 point 2: the enrol result hands the installer everything on one printable page — the
device's ``agent.toml`` snippet (log key, the devices' broker URL, the login; the password only
when just created) and a QR code of that very text — and ``eco-agent provision`` turns it into a
config the agent loads. The round trip: enrol in the web UI → the page's snippet → provision →
``agent.config.load_config`` has the right log key, broker and login."""

from __future__ import annotations

import html
import io
import re
import stat
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from agent.cli import main as agent_main
from agent.config import load_config
from aggregator.broker_auth import PasswordFile, password_matches
from aggregator.operator import read_audit
from aggregator.webui.provisioning import devices_broker_url
from aggregator.webui.qr import qr_svg
from eco_protocol.encoding import b64encode
from eco_protocol.keyfile import save_private_key
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import Device
from tests.webui.webui_kit import PROGRAMME, Browser, UiWorld

SATO = "Sato, 1-2 Chuo"


def _enrol_form(d: Device) -> dict[str, str]:
    return {"public_key": b64encode(public_key_raw(d.key)), "household": SATO,
            "programme": PROGRAMME, "meter_id_0": "pv1", "meter_quantity_0": "pv_generation",
            "meter_protocol_0": "sunspec-modbus", "meter_rated_w_0": "4500",
            "installed": "2026-04-01", "fit_status": "post_fit", "battery": "no"}


def _snippet(page: str) -> str:
    m = re.search(r'<pre class="mono panel" id="agent-snippet">(.*?)</pre>', page, re.S)
    assert m is not None, "no snippet on the page"
    return html.unescape(m.group(1))


def _box(tmp_path: Path, d: Device | None) -> Path:
    """An installer's box: the config 'eco-agent init' writes, state_dir set, the device key
    that was enrolled (``d``) in it."""
    conf = tmp_path / "box" / "agent.toml"
    assert agent_main(["init", str(conf)]) == 0
    state = tmp_path / "box" / "state"
    conf.write_text(conf.read_text().replace('state_dir = "/var/lib/eco-agent"',
                                             f'state_dir = "{state}"'))
    if d is not None:
        save_private_key(state / "device.key", d.key)
    return conf


def _provision(conf: Path, snippet: str, *args: str,
               capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    old = sys.stdin
    sys.stdin = io.StringIO(snippet)  # what a QR scanner's text pasted into the terminal gives
    try:
        rc = agent_main(["provision", *args, str(conf)])
    finally:
        sys.stdin = old
    return rc, capsys.readouterr().err


def test_enrol_page_snippet_provision_and_the_agent_loads_it(
        world: UiWorld, browser: Browser, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    browser.login()
    d = Device()
    page = browser.post_form("/enrol", "/enrol", _enrol_form(d))
    assert page.status_code == 200, page.text
    password = re.search(r'id="enrolled-broker-password">([^<]+)<', page.text)
    assert password is not None
    snippet = _snippet(page.text)
    # the QR code holds exactly the snippet's text
    assert qr_svg(snippet, size_px=280, label="x").split("<path", 1)[1] in page.text
    assert 'id="provision-steps"' in page.text and "eco-agent provision" in page.text

    conf = _box(tmp_path, d)
    rc, err = _provision(conf, snippet, capsys=capsys)
    assert rc == 0, err
    assert f"wrote {conf}" in err and "eco-agent status" in err
    cfg = load_config(conf)
    assert cfg.device.log_key == world.log_vkey
    assert cfg.uplink.broker == devices_broker_url(world.cfg) == "mqtt://127.0.0.1:1"
    assert cfg.uplink.username == d.device_id and cfg.uplink.password == password.group(1)
    assert password_matches(PasswordFile(world.cfg.mqtt.broker_passwd_file)
                            .read()[d.device_id], password.group(1))
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600
    assert "# The log's verifier key" in conf.read_text()  # init's comments are kept


def test_the_sheet_again_has_no_password_and_provision_keeps_the_one_set(
        world: UiWorld, browser: Browser, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    browser.login()
    d = Device()
    first = browser.post_form("/enrol", "/enrol", _enrol_form(d))
    conf = _box(tmp_path, d)
    assert _provision(conf, _snippet(first.text), capsys=capsys)[0] == 0
    again = browser.get(f"/devices/{d.device_id}/provisioning")
    assert again.status_code == 200
    assert 'id="enrolled-broker-password"' not in again.text
    assert 'id="provision-no-password"' in again.text
    snippet = _snippet(again.text)
    assert "password" not in snippet and world.log_vkey in snippet
    rc, err = _provision(conf, snippet, capsys=capsys)
    assert rc == 0, err
    assert load_config(conf).uplink.password is not None  # the one set before stays
    # the household page links to the sheet
    hh = browser.get(f"/households/{world.pseudonym(SATO)}").text
    assert f'href="/devices/{d.device_id}/provisioning"' in hh


def test_a_new_broker_password_from_the_sheet_is_audited_and_provisioned(
        world: UiWorld, browser: Browser, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    browser.login()
    d = Device()
    browser.post_form("/enrol", "/enrol", _enrol_form(d))
    r = browser.post_form(f"/devices/{d.device_id}/provisioning",
                          f"/devices/{d.device_id}/broker-password", {})
    assert r.status_code == 200, r.text
    new = re.search(r'id="enrolled-broker-password">([^<]+)<', r.text)
    assert new is not None and new.group(1) in _snippet(r.text)
    assert password_matches(PasswordFile(world.cfg.mqtt.broker_passwd_file)
                            .read()[d.device_id], new.group(1))
    rec = [a for a in read_audit(world.cfg) if a["action"] == "broker-password"]
    assert [(a["actor"], a["via"], a["device_id"], a["outcome"]) for a in rec] == [
        ("alice", "ui", d.device_id, "ok")]
    conf = _box(tmp_path, d)
    assert _provision(conf, _snippet(r.text), capsys=capsys)[0] == 0
    assert load_config(conf).uplink.password == new.group(1)


def test_provision_refuses_another_log_key_unless_forced_and_another_device_always(
        world: UiWorld, browser: Browser, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    browser.login()
    d = Device()
    snippet = _snippet(browser.post_form("/enrol", "/enrol", _enrol_form(d)).text)
    conf = _box(tmp_path, d)
    other_key = "eco-ledger.other.test+00000000+" + b64encode(bytes(range(1, 34)))
    conf.write_text(conf.read_text().replace('log_key = ""', f'log_key = "{other_key}"'))
    before = conf.read_text()
    rc, err = _provision(conf, snippet, capsys=capsys)
    assert rc == 2 and "log_key is already" in err and "--force" in err
    assert conf.read_text() == before
    rc, err = _provision(conf, snippet, "--force", capsys=capsys)
    assert rc == 0, err
    assert load_config(conf).device.log_key == world.log_vkey
    # a box holding another device's key: the sheet is not for it
    stranger = _box(tmp_path / "other", Device())
    rc, err = _provision(stranger, snippet, capsys=capsys)
    assert rc == 2 and f"this snippet is for device {d.device_id}" in err


def test_a_revoked_or_unknown_device_has_no_sheet(world: UiWorld, browser: Browser) -> None:
    browser.login()
    d = Device()
    browser.post_form("/enrol", "/enrol", _enrol_form(d))
    hh = f"/households/{world.pseudonym(SATO)}"
    browser.post_form(hh, f"/devices/{d.device_id}/revoke", {"reason": "moved away"})
    assert browser.get(f"/devices/{d.device_id}/provisioning").status_code == 409
    assert browser.get(f"/devices/{'0' * 32}/provisioning").status_code == 404


def test_the_devices_broker_is_their_own_listener_or_the_configured_url(
        world: UiWorld) -> None:
    cfg = world.cfg
    tls = replace(cfg, mqtt=replace(cfg.mqtt, host="broker.city.lg.jp", tls=True,
                                    device_prefix="dev/"))
    assert devices_broker_url(tls) == "mqtts://broker.city.lg.jp:8883"
    assert devices_broker_url(tls, "mqtts://devices.city.lg.jp:443") == \
        "mqtts://devices.city.lg.jp:443"
