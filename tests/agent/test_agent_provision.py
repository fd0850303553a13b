"""``eco-agent provision`` (agent/provision.py): the enrolment page's snippet, checked, merged
into the config file without losing its comments; malformed snippets refused with the key named,
never a ValueError/KeyError."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from agent.config import example_config, load_config
from agent.errors import ConfigError
from agent.provision import Provisioning, merge, parse_snippet, provision
from eco_protocol.keys import private_key_from_raw
from eco_protocol.note import NoteSigner

LOG_KEY = NoteSigner("eco-ledger.city.test", private_key_from_raw(bytes(32))).verifier.vkey
DEVICE = "ab" * 16
GOOD = f"""# eco-agent provision: device {DEVICE}
[device]
log_key = "{LOG_KEY}"
[uplink]
broker = "mqtts://broker.city.lg.jp:8883"
username = "{DEVICE}"
password = "s3cret \\"quoted\\""
"""


def test_a_good_snippet_parses() -> None:
    p = parse_snippet(GOOD)
    assert (p.log_key, p.broker, p.username, p.password) == (
        LOG_KEY, "mqtts://broker.city.lg.jp:8883", DEVICE, 's3cret "quoted"')
    assert "s3cret" not in repr(p)


@pytest.mark.parametrize(("snippet", "message"), [
    ("not toml [", "not valid TOML"),
    (GOOD + "[meters]\nid = 1\n", "unknown section(s) meters"),
    (GOOD.replace("[uplink]", "[uplink]\ntls = true"), "unknown key(s) in [uplink]: tls"),
    (GOOD.replace(f'log_key = "{LOG_KEY}"', ""), "[device] log_key is missing"),
    (GOOD.replace(LOG_KEY, "not-a-key"), "log_key is not a log verifier key"),
    (GOOD.replace("mqtts://broker.city.lg.jp:8883", "http://x"), "[uplink] broker"),
    (GOOD.replace(f'username = "{DEVICE}"', 'username = "bob"'), "username must be the device"),
    (GOOD.replace('password = "s3cret \\"quoted\\""', "password = 5"), "password must be a str"),
    ("x" * 5000, "longer than"),
])
def test_a_bad_snippet_is_refused_naming_what_is_wrong(snippet: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_snippet(snippet)
    assert message in str(e.value)


def test_merge_keeps_every_other_line_and_replaces_the_commented_examples() -> None:
    text = example_config()
    merged = merge(text, parse_snippet(GOOD))
    assert merged.count("log_key = ") == 1 and f'log_key = "{LOG_KEY}"' in merged
    assert "# username = " not in merged and f'username = "{DEVICE}"' in merged
    kept = [line for line in text.splitlines()
            if not any(k in line for k in ("log_key", "broker =", "username", "password ="))]
    assert all(line in merged.splitlines() for line in kept)


def test_merge_adds_a_missing_section() -> None:
    merged = merge('[device]\nstate_dir = "s"\n', Provisioning(LOG_KEY, "mqtt://127.0.0.1:1",
                                                              DEVICE))
    assert merged.splitlines()[-3:] == [
        "[uplink]", f'username = "{DEVICE}"', 'broker = "mqtt://127.0.0.1:1"']
    assert "password" not in merged


def test_a_missing_config_starts_from_inits_example_mode_0600(tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    done = provision(conf, GOOD)
    assert done.created and done.has_password and not done.key_exists
    cfg = load_config(conf)
    assert cfg.uplink.password == 's3cret "quoted"' and cfg.device.log_key == LOG_KEY
    assert stat.S_IMODE(conf.stat().st_mode) == 0o600


def test_a_config_the_merge_cannot_fix_is_left_alone(tmp_path: Path) -> None:
    conf = tmp_path / "agent.toml"
    conf.write_text("this is = not toml [\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        provision(conf, GOOD)
    assert conf.read_text() == "this is = not toml [\n"
