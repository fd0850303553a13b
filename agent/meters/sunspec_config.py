"""The ``[[meters]]`` keys of a SunSpec inverter over Modbus RTU (``protocol = "sunspec-modbus"``,
:mod:`agent.meters.sunspec`): the serial port, the unit id, the line speed and the per-request
timeout."""

from __future__ import annotations

from pathlib import Path

from eco_protocol.records import Quantity
from eco_runtime.toml_section import Section

from .meter_config import BROUTE_KEYS, MQTT_METER_KEYS, MeterConfig, MeterProtocol, refuse_keys


def parse_section(s: Section, mid: str, quantity: Quantity, protocol: MeterProtocol,
                  base: Path | None = None) -> MeterConfig:
    """port, unit (1–247), baudrate, timeout_s; the other kinds' keys are refused."""
    refuse_keys(s, BROUTE_KEYS, protocol, "a Wi-SUN B-route key")
    refuse_keys(s, MQTT_METER_KEYS, protocol, "a serial device: set port instead")
    return MeterConfig(
        id=mid,
        quantity=quantity,
        protocol=protocol,
        port=s.req_str("port"),
        unit=s.int_("unit", 1, 1, 247),
        baudrate=s.int_("baudrate", 9600, 1200, 921600),
        timeout_s=s.float_("timeout_s", 1.0, 0.05, 30.0),
    )
