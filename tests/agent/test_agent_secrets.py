"""The device key and the broker login (issue 6 point 4): ``eco-agent keygen`` creates the key
0600 in the state directory and no key material reaches a log line, even with ``-v`` (DEBUG);
the ``[uplink]`` password never shows in a config's repr; a client certificate login is
configured as a pair of files over TLS."""

from __future__ import annotations

import base64
import json
import logging
from pathlib import Path

import pytest

from agent.cli import main
from agent.config import load_config, parse_config_text
from agent.errors import ConfigError
from tests.agent.agent_kit import write_config


def test_keygen_writes_a_0600_key_and_logs_no_key_material(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1883,
                        meters=[{"id": "pv1", "quantity": "pv_generation",
                                 "port": str(tmp_path / "no-such-tty")}])
    logs = ""
    for _ in range(2):  # create, then load the existing key
        assert main(["-v", "keygen", str(conf)]) == 0
        out, err = capsys.readouterr()
        logs += err + caplog.text
        printed = json.loads(out)
    key_file = Path(printed["key_file"])
    assert key_file.parent == tmp_path / "state"
    assert key_file.stat().st_mode & 0o777 == 0o600
    seed_b64 = key_file.read_text().strip()
    seed = base64.b64decode(seed_b64)
    for leak in (seed_b64, seed.hex(), seed_b64[:16]):
        assert leak not in logs and leak not in out
    assert printed["created"] is False


def test_uplink_password_is_not_in_the_config_repr(tmp_path: Path) -> None:
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1883,
                        meters=[{"id": "pv1", "quantity": "pv_generation",
                                 "port": str(tmp_path / "tty")}])
    text = conf.read_text().replace("[uplink]\n", '[uplink]\npassword = "pw-from-enrol"\n')
    conf.write_text(text)
    config = load_config(conf)
    assert config.uplink.password == "pw-from-enrol"
    assert "pw-from-enrol" not in repr(config)


BASE = """\
[device]
state_dir = "/var/lib/eco-agent"
[uplink]
broker = "{broker}"
{extra}
[[meters]]
id = "pv1"
quantity = "pv_generation"
protocol = "sunspec-modbus"
port = "/dev/ttyUSB0"
"""


def test_client_certificate_login_is_a_pair_of_files_over_tls() -> None:
    config = parse_config_text(BASE.format(
        broker="mqtts://broker.example-city.lg.jp:8883",
        extra='ca_file = "/etc/eco-agent/ca.crt"\ncert_file = "/etc/eco-agent/d.crt"\n'
              'key_file = "/etc/eco-agent/d.key"'), Path("/etc/eco-agent/agent.toml"))
    assert config.uplink.cert_file == Path("/etc/eco-agent/d.crt")
    assert config.uplink.key_file == Path("/etc/eco-agent/d.key")
    with pytest.raises(ConfigError, match="cert_file and key_file go together"):
        parse_config_text(BASE.format(broker="mqtts://b.example:8883",
                                      extra='cert_file = "d.crt"'))
    with pytest.raises(ConfigError, match="cert_file needs TLS"):
        parse_config_text(BASE.format(broker="mqtt://127.0.0.1:1883",
                                      extra='cert_file = "d.crt"\nkey_file = "d.key"'))
