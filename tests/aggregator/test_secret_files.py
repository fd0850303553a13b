"""Key files and broker passwords (issue 6 point 4): every private key and password the
aggregator creates is a 0600 file in its 0700 state directory, none of them ever reaches a log
line, even at DEBUG, and a device's broker password appears exactly once — in the JSON ``enrol``
(or ``broker-password``) prints — and is stored only as a hash."""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

import pytest

from aggregator.broker_auth import PasswordFile, password_matches
from aggregator.cli import main
from aggregator.config import load_config
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device


class _Run:
    """``eco-aggregator -v …`` in-process; keeps every stdout and all of stderr (the log)."""

    def __init__(self, capsys: pytest.CaptureFixture[str], conf: Path) -> None:
        self.capsys = capsys
        self.conf = conf
        self.log = ""
        self.outputs: list[str] = []

    def __call__(self, *args: str) -> Any:
        rc = main(["-v", "--config", str(self.conf), *args])
        out, err = self.capsys.readouterr()
        self.log += err
        self.outputs.append(out)
        assert rc == 0, err
        return json.loads(out)


def _file_secrets(state: Path) -> dict[str, str]:
    """Every secret in the state dir, in each form it could leak in (text, hex, base64)."""
    found: dict[str, str] = {}
    seed_b64 = (state / "log.key").read_text().strip()
    seed = base64.b64decode(seed_b64)
    found.update({"log key (base64)": seed_b64, "log key (hex)": seed.hex()})
    found["pseudonym key"] = (state / "pseudonym.key").read_text().strip()
    found["aggregator broker password"] = (state / "broker" / "aggregator.password"
                                           ).read_text().strip()
    for pem in [state / "ca" / "ca.key", state / "ca" / "server.key",
                *sorted((state / "ca" / "clients").glob("*.key"))]:
        body = "".join(pem.read_text().splitlines()[1:-1])
        found[f"{pem.name} (PEM body)"] = body
        found[f"{pem.name} (PEM line)"] = pem.read_text().splitlines()[1]
    return found


def test_aggregator_secrets_are_0600_and_never_logged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    run = _Run(capsys, state / "aggregator.toml")
    run("init", str(state), "--origin", "eco-ledger.secrets.test")
    run("ca", "init")
    run("ca", "server-cert", "--host", "broker.example-city.lg.jp")
    device = Device()
    enrolled = run("enrol", "--public-key", b64encode(public_key_raw(device.key)), "--household",
                   "Sato, 1-2-3", "--programme", "p", "--meter",
                   "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    run("ca", "client-cert", device.device_id)
    out_dir = tmp_path / "broker-etc"
    run("broker-config", "--out", str(out_dir), "--persistence-dir", str(tmp_path / "p"))
    reissued = run("broker-password", device.device_id)
    run("status")
    run("revoke", device.device_id, "--reason", "replaced")
    assert "DEBUG" in run.log or "INFO" in run.log, "logging was not on"
    assert "login for" in run.log  # the password file changes are logged, by username only

    # no secret in any log line, in any encoding
    for what, secret in _file_secrets(state).items():
        assert secret and secret not in run.log, f"{what} appears in the log"
    for password in (enrolled["broker_password"], reissued["broker_password"]):
        assert password not in run.log
        # printed once: in the output of the command that issued it, nowhere else
        assert sum(out.count(password) for out in run.outputs) == 1
        # stored nowhere in clear: not in the state dir, not in the broker's files
        for f in [*state.rglob("*"), *out_dir.rglob("*")]:
            if f.is_file():
                assert password.encode() not in f.read_bytes(), f"{f} holds a password"
    passwd_text = (state / "broker" / "passwd").read_text()
    assert passwd_text and passwd_text not in run.log

    # 0600 keys and secrets in a 0700 state dir
    assert state.stat().st_mode & 0o777 == 0o700
    secret_files = [state / "log.key", state / "pseudonym.key", state / "aggregator.toml",
                    state / "broker" / "aggregator.password", state / "broker" / "passwd",
                    state / "ca" / "ca.key", state / "ca" / "server.key",
                    state / "ca" / "clients" / f"{device.device_id}.key"]
    if os.geteuid() != 0:  # as root, broker-config gives the broker's group read access (0640)
        secret_files += [out_dir / "passwd", out_dir / "server.key"]
    for f in secret_files:
        assert f.stat().st_mode & 0o777 == 0o600, f"{f} is {f.stat().st_mode & 0o777:o}"
    assert (state / "ca").stat().st_mode & 0o777 == 0o700


def test_device_password_is_kept_only_as_a_mosquitto_hash(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    run = _Run(capsys, state / "aggregator.toml")
    run("init", str(state), "--origin", "eco-ledger.hash.test")
    device = Device()
    out = run("enrol", "--public-key", b64encode(public_key_raw(device.key)), "--household",
              "h", "--programme", "p", "--meter", "pv1:pv_generation:sunspec-modbus:4500",
              *PV_TERMS)
    cfg = load_config(state / "aggregator.toml")
    entries = PasswordFile(cfg.mqtt.broker_passwd_file).read()
    assert set(entries) == {"eco-aggregator", device.device_id}
    encoded = entries[device.device_id]
    assert encoded.startswith("$7$101$")
    assert password_matches(encoded, out["broker_password"])
    assert not password_matches(encoded, out["broker_password"] + "x")
    assert "not signalled" in out["broker_reload"]  # no broker_pid_file: says how to reload


def test_inline_aggregator_password_is_not_in_the_config_repr(tmp_path: Path) -> None:
    conf = tmp_path / "aggregator.toml"
    from aggregator.config import example_config

    text = example_config("o.test", tmp_path, "mqtt://127.0.0.1:1883").replace(
        'password_file = "broker/aggregator.password"', 'password = "s3cret-inline"')
    conf.write_text(text)
    cfg = load_config(conf)
    assert cfg.mqtt.password == "s3cret-inline"
    assert "s3cret-inline" not in repr(cfg)
