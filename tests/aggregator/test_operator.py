"""aggregator/operator.py: every enrol/revoke/rekey leaves one audit record (a line on the
``eco.audit`` logger and one in ``operator-audit.jsonl``) — refused and half-done ones too —,
an unwritable trail stops the action before anything changes, and no personal name is recorded."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main
from aggregator.config import Config, load_config
from aggregator.operator import AUDIT_FILE, Actor, AuditTrail, _scrubbed, read_audit
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device

SATO = "Sato, 1-2-3 Chuo"


class _Cli:
    def __init__(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        self.state = tmp_path / "agg"
        self.conf = str(self.state / "aggregator.toml")
        self.capsys = capsys
        self.run("init", str(self.state), "--origin", "eco-ledger.operator.test")

    @property
    def cfg(self) -> Config:
        return load_config(Path(self.conf))

    def run(self, *args: str, rc: int = 0) -> Any:
        got = main(["--config", self.conf, *args])
        out, err = self.capsys.readouterr()
        assert got == rc, err
        return json.loads(out) if rc == 0 else err

    def enrol(self, d: Device, reference: str = SATO, rc: int = 0) -> Any:
        return self.run("enrol", "--public-key", b64encode(public_key_raw(d.key)),
                        "--household", reference, "--programme", "p",
                        "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS, rc=rc)


@pytest.fixture
def cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> _Cli:
    return _Cli(tmp_path, capsys)


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, Any]] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(json.loads(record.getMessage()))


def test_each_action_logs_one_eco_audit_line_and_appends_one_record(cli: _Cli) -> None:
    d = Device()
    handler = _Lines()  # on the logger itself: the CLI resets the root logger's handlers
    logging.getLogger("eco.audit").addHandler(handler)
    try:
        out = cli.enrol(d)
        cli.run("revoke", d.device_id, "--reason", "stolen")
    finally:
        logging.getLogger("eco.audit").removeHandler(handler)
    lines = handler.lines
    records = read_audit(cli.cfg)
    assert records == lines and len(records) == 2
    enrol, revoke = records
    assert enrol["device_id"] == revoke["device_id"] == d.device_id
    assert enrol["household"] == revoke["household"] == out["household"]
    assert (enrol["actor"], enrol["via"]) == ("cli", "cli")
    assert enrol["index"] == out["index"] and enrol["broker_login"] == "issued"
    assert revoke["broker_login"] == "removed" and revoke["outcome"] == "ok"
    assert enrol["os_user"] == Actor.cli().os_user
    assert out["broker_password"] not in (cli.state / AUDIT_FILE).read_text()


def test_refused_and_half_done_actions_are_recorded(cli: _Cli) -> None:
    d = Device()
    cli.enrol(d)
    assert "already enrolled" in cli.enrol(d, rc=1)
    assert "not enrolled" in cli.run("revoke", Device().device_id, "--reason", "x", rc=1)
    # the broker's password file cannot be written: the log changed, the login did not
    passwd = cli.cfg.mqtt.broker_passwd_file
    passwd.unlink()
    passwd.mkdir()
    err = cli.enrol(Device(), "Suzuki, 4-5-6", rc=1)
    assert "is enrolled, but its broker login could not be stored" in err
    outcomes = [(r["action"], r["outcome"]) for r in read_audit(cli.cfg)]
    assert outcomes == [("enrol", "ok"), ("enrol", "refused"), ("revoke", "refused"),
                        ("enrol", "partial")]
    partial = read_audit(cli.cfg)[-1]
    assert partial["index"] is not None and "broker login" in partial["error"]


def test_an_unwritable_audit_trail_stops_the_action_before_anything_changes(cli: _Cli) -> None:
    (cli.state / AUDIT_FILE).mkdir()
    d = Device()
    err = cli.enrol(d, rc=1)
    assert "operator audit file" in err and "nothing was done" in err
    assert d.device_id not in cli.cfg.mqtt.broker_passwd_file.read_text()
    assert cli.run("status")["size"] == 0


def test_the_trail_is_owner_only_and_append_only(tmp_path: Path) -> None:
    path = tmp_path / AUDIT_FILE
    path.write_text('{"old": 1}\n')
    os.chmod(path, 0o644)
    trail = AuditTrail(path)
    try:
        trail.write({"new": 2})
    finally:
        trail.close()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text() == '{"old": 1}\n{"new": 2}\n'


def test_error_texts_lose_the_household_reference() -> None:
    assert _scrubbed(f"bad row for {SATO}", f" {SATO} ") == "bad row for <household reference>"
    assert _scrubbed("no reference here", None) == "no reference here"


def test_input_that_is_not_a_device_id_is_refused_and_recorded_without_an_id(cli: _Cli) -> None:
    for action in ("broker-password", "broker-restore"):
        err = cli.run(action, "Sato's meter; rm -rf /", rc=1)
        assert "is not a device id" in err
        rec = read_audit(cli.cfg)[-1]
        assert (rec["action"], rec["outcome"], rec["device_id"]) == (action, "refused", None)
