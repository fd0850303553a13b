"""agent.config: the TOML config, its defaults, and error messages that name the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agent.config import (
    ClockMode,
    MeterProtocol,
    example_config,
    load_config,
    parse_config,
    parse_config_text,
)
from agent.errors import ConfigError
from eco_protocol.keys import private_key_from_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import Quantity

VKEY = NoteSigner("eco-ledger.example-city.lg.jp", private_key_from_raw(b"\x07" * 32)).verifier.vkey

MINIMAL = f"""
[device]
state_dir = "state"
log_key = "{VKEY}"

[[meters]]
id = "pv1"
quantity = "pv_generation"
port = "/dev/ttyUSB0"
"""


def test_example_config_parses_and_is_commented(tmp_path: Path) -> None:
    text = example_config()
    cfg = parse_config_text(text, tmp_path / "agent.toml")
    assert cfg.device.interval_minutes == 30 and cfg.device.poll_seconds == 60
    assert cfg.device.log_key is None  # to be pasted from the enrolment letter
    assert cfg.uplink.batch_max == 64 and cfg.clock.mode is ClockMode.SYSTEM
    assert cfg.meters[0].protocol is MeterProtocol.SUNSPEC_MODBUS
    # every setting is explained by a comment line
    assert sum(1 for line in text.splitlines() if line.startswith("#")) > 30
    with pytest.raises(ConfigError, match="log_key is empty"):
        cfg.device.log_verifier()


def test_minimal_config_defaults_and_relative_state_dir(tmp_path: Path) -> None:
    path = tmp_path / "conf" / "agent.toml"
    path.parent.mkdir()
    path.write_text(MINIMAL)
    cfg = load_config(path)
    assert cfg.device.state_dir == path.parent.resolve() / "state"
    assert cfg.device.key_path.name == "device.key"
    assert cfg.device.interval_seconds == 1800
    assert cfg.device.log_verifier().vkey == VKEY
    assert (cfg.uplink.host, cfg.uplink.port, cfg.uplink.tls) == ("127.0.0.1", 1883, False)
    m = cfg.meter("pv1")
    assert (m.quantity, m.unit, m.baudrate, m.timeout_s) == (Quantity.PV_GENERATION, 1, 9600, 1.0)


def test_accelerated_clock() -> None:
    cfg = parse_config_text(MINIMAL + """
[clock]
mode = "accelerated"
origin_sim = "2026-06-21T00:00:00Z"
origin_wall = 1700000000.5
speed = 600
""")
    assert cfg.clock.mode is ClockMode.ACCELERATED
    assert cfg.clock.origin_sim == datetime(2026, 6, 21, tzinfo=UTC).timestamp()
    assert (cfg.clock.origin_wall, cfg.clock.speed) == (1700000000.5, 600.0)


def _config_text(device: str = "", tables: str = "") -> str:
    """The minimal config with extra [device] lines (replacing keys of the same name)."""
    keys = {ln.split("=")[0].strip() for ln in device.splitlines() if "=" in ln}
    lines = [ln for ln in MINIMAL.splitlines() if ln.split("=")[0].strip() not in keys]
    text = "\n".join(lines).replace("[device]", "[device]\n" + device, 1)
    return text + "\n" + tables + "\n"


BAD = [
    ("interval_minutes = 7", "", "interval_minutes = 7 does not divide a day"),
    ("interval_minutes = 0", "", "interval_minutes = 0 is out of range"),
    ("poll_seconds = 7200", "", "poll_seconds = 7200 is out of range"),
    ('log_key = "nope"', "", "log_key is not a valid verifier key"),
    ('state_dirr = "x"', "", "unknown key(s) state_dirr"),
    ('interval_minutes = "30"', "", "interval_minutes must be a whole number"),
    ("", "[uplink]\nbatch_max = 65", "batch_max = 65 is out of range: use 1–64"),
    ("", '[uplink]\nbroker = "http://x"', "not a broker URL"),
    ("", '[uplink]\nbroker = "mqtt://broker.example.jp:1883"', "TLS is required"),
    ("", '[uplink]\nbroker = "mqtts://b.example.jp"\ntls = false', "contradicts"),
    ("", '[clock]\nmode = "fast"', 'use "system" or "accelerated"'),
    ("", '[clock]\nmode = "accelerated"', "needs origin_sim, origin_wall, speed"),
    ("", '[clock]\nmode = "accelerated"\norigin_sim = "2026-06-21 00:00"\norigin_wall = 1.0\n'
     "speed = 2", "origin_sim = '2026-06-21 00:00'"),
    ("", "[clock]\nspeed = 3", 'only apply to mode = "accelerated"'),
    ("", "[extra]\na = 1", "unknown section(s) extra"),
]


@pytest.mark.parametrize(("device", "tables", "message"), BAD, ids=[m for *_, m in BAD])
def test_bad_values_name_the_key(device: str, tables: str, message: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_config_text(_config_text(device, tables))
    assert message in str(e.value)


METER_BAD = [
    ('id = "pv 1"', "id = 'pv 1'"),
    ('quantity = "solar"', "quantity = 'solar': use one of pv_generation"),
    ('protocol = "echonet"', "this agent supports sunspec-modbus"),
    ("unit = 0", "unit = 0 is out of range"),
    ("timeout_s = 0", "timeout_s = 0 is out of range"),
]


@pytest.mark.parametrize(("line", "message"), METER_BAD, ids=[m for _, m in METER_BAD])
def test_bad_meter_values(line: str, message: str) -> None:
    key = line.split("=")[0].strip()
    text = "\n".join(ln for ln in MINIMAL.splitlines() if not ln.startswith(key + " "))
    with pytest.raises(ConfigError) as e:
        parse_config_text(text + "\n" + line + "\n")
    assert message in str(e.value)


def test_duplicate_and_missing_meters() -> None:
    meter = MINIMAL[MINIMAL.index("[[meters]]"):]
    with pytest.raises(ConfigError, match="used twice"):
        parse_config_text(MINIMAL + meter)
    with pytest.raises(ConfigError, match=r"no \[\[meters\]\]"):
        parse_config_text(MINIMAL[:MINIMAL.index("[[meters]]")])
    with pytest.raises(ConfigError, match="no meter 'ev1'"):
        parse_config_text(MINIMAL).meter("ev1")


def test_unreadable_and_invalid_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="eco-agent init"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[device\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(bad)


# any document tomllib can produce gives a config or a ConfigError, never another exception
_scalars = st.one_of(st.integers(-2**63, 2**63 - 1), st.floats(allow_nan=True), st.booleans(),
                     st.text(max_size=40), st.sampled_from(["system", "accelerated",
                                                            "pv_generation", "mqtt://h:1",
                                                            "2026-06-21T00:00:00Z", VKEY]))
_values = st.recursive(_scalars, lambda inner: st.lists(inner, max_size=3), max_leaves=6)
_keys = st.sampled_from(["state_dir", "interval_minutes", "poll_seconds", "log_key", "broker",
                         "batch_max", "tls", "mode", "origin_sim", "origin_wall", "speed", "id",
                         "quantity", "protocol", "port", "unit", "timeout_s", "x"])
_tables = st.dictionaries(_keys, _values, max_size=6)


@settings(max_examples=300, deadline=None)
@given(doc=st.fixed_dictionaries({}, optional={
    "device": st.one_of(_tables, _scalars), "uplink": _tables, "clock": _tables,
    "meters": st.one_of(st.lists(st.one_of(_tables, _scalars), max_size=3), _scalars)}))
def test_arbitrary_documents_raise_only_config_error(doc: dict[str, Any]) -> None:
    try:
        parse_config(doc)
    except ConfigError as e:
        assert str(e)
