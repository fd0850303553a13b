"""Each meter kind parses its own [[meters]] keys (parse_section); agent.config only reads id,
quantity and protocol and dispatches."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from agent.errors import ConfigError
from agent.meters import broute_config, mqtt_config, sunspec_config
from agent.meters.meter_config import ALL_KEYS, MeterProtocol
from eco_protocol.records import Quantity
from eco_runtime.toml_section import Section


def _section(data: dict[str, Any]) -> Section:
    return Section(data, "[[meters]] id='m'", ALL_KEYS, error=ConfigError)


def test_sunspec_section() -> None:
    mc = sunspec_config.parse_section(_section({"port": "/dev/ttyUSB0", "unit": 3}), "m",
                                      Quantity.PV_GENERATION, MeterProtocol.SUNSPEC_MODBUS)
    assert (mc.port, mc.unit, mc.baudrate, mc.timeout_s) == ("/dev/ttyUSB0", 3, 9600, 1.0)
    with pytest.raises(ConfigError, match="topic does not apply to protocol = \"sunspec-modbus\" "
                       r"\(a serial device: set port instead\)"):
        sunspec_config.parse_section(_section({"port": "p", "topic": "t"}), "m",
                                     Quantity.PV_GENERATION, MeterProtocol.SUNSPEC_MODBUS)


def test_broute_section_resolves_the_password_file(tmp_path: Path) -> None:
    mc = broute_config.parse_section(
        _section({"port": "p", "broute_id": "0" * 32, "broute_password_file": "pw"}), "m",
        Quantity.GRID_IMPORT, MeterProtocol.ECHONET_BROUTE, tmp_path)
    assert mc.broute is not None and mc.broute.broute_password_file == tmp_path / "pw"
    assert (mc.baudrate, mc.timeout_s) == (115200, 10.0)
    with pytest.raises(ConfigError, match="cannot be read from echonet_object = 'ev'"):
        broute_config.parse_section(
            _section({"port": "p", "broute_id": "0" * 32, "broute_password": "x",
                     "echonet_object": "ev"}), "m", Quantity.GRID_IMPORT,
            MeterProtocol.ECHONET_BROUTE)


def test_mqtt_section() -> None:
    mc = mqtt_config.parse_section(_section({"topic": "tasmota_1", "field": "ExportActive"}), "m",
                                   Quantity.GRID_EXPORT, MeterProtocol.TASMOTA)
    assert mc.mqtt is not None and mc.mqtt.field == "ExportActive" and mc.port == ""
    assert mc.mqtt.stale_after_s == mqtt_config.DEFAULT_STALE_AFTER_S[MeterProtocol.TASMOTA]
    with pytest.raises(ConfigError, match="port does not apply"):
        mqtt_config.parse_section(_section({"topic": "t", "port": "p"}), "m",
                                  Quantity.GRID_EXPORT, MeterProtocol.SHELLY)
