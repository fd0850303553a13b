"""A ``[[meters]]`` entry as every meter kind shares it: the protocols, the entry's record, and
which keys belong to which kind.

``agent.config`` reads ``id``, ``quantity`` and ``protocol`` and hands the rest of the entry to
the kind's own ``parse_section`` (:mod:`agent.meters.sunspec_config`,
:mod:`agent.meters.broute_config`, :mod:`agent.meters.mqtt_config`), which checks its keys, with
its own enums, and refuses the other kinds' keys naming why. The key names of every kind are here
because each kind refuses the others'.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final

from eco_protocol.records import Quantity
from eco_runtime.toml_section import Section

from ..errors import ConfigError

if TYPE_CHECKING:
    # imported where used: the MQTT decoders (and decimal) cost RAM on a box with no MQTT meter
    from .mqtt_devices import DeviceSpec


class MeterProtocol(enum.StrEnum):
    SUNSPEC_MODBUS = "sunspec-modbus"
    ECHONET_BROUTE = "echonet-broute"  # ECHONET Lite over a Wi-SUN SKSTACK-IP dongle
    TASMOTA = "tasmota"  # MQTT: tele/<topic>/SENSOR ENERGY (agent.meters.mqtt_payloads)
    SHELLY = "shelly"  # MQTT: Shelly Gen2+ <prefix>/status/… and <prefix>/events/rpc
    OPENEVSE = "openevse"  # MQTT: <base>/total_energy


MQTT_METER_PROTOCOLS: Final = frozenset({MeterProtocol.TASMOTA, MeterProtocol.SHELLY,
                                         MeterProtocol.OPENEVSE})

# the keys of each kind, besides id, quantity and protocol
SERIAL_KEYS: Final = ("port", "unit", "baudrate", "timeout_s")
MQTT_METER_KEYS: Final = ("broker", "topic", "channel", "field", "stale_after_s", "username",
                          "password")
BROUTE_KEYS: Final = ("broute_id", "broute_password", "broute_password_file", "family",
                      "echonet_object", "wisun_channel", "pan_id", "meter_mac")
ALL_KEYS: Final = frozenset({"id", "quantity", "protocol", *SERIAL_KEYS, *MQTT_METER_KEYS,
                             *BROUTE_KEYS})


@dataclass(frozen=True, slots=True)
class BRouteConfig:
    """The echonet-broute keys of a ``[[meters]]`` entry (agent.meters.broute). The B-route ID
    and password never appear in ``repr``."""

    broute_id: str = dataclasses.field(repr=False)
    broute_password: str | None = dataclasses.field(default=None, repr=False)
    broute_password_file: Path | None = None
    family: str = "auto"  # one of BROUTE_FAMILIES
    echonet_object: str = "smart_meter"  # one of ECHONET_OBJECTS
    wisun_channel: int | None = None  # a cached scan result: all three or none
    pan_id: int | None = None
    meter_mac: str | None = None


@dataclass(frozen=True, slots=True)
class MqttSourceConfig:
    """Where an MQTT device (tasmota, shelly, openevse) publishes and which register to read.

    ``broker`` None means the ``[uplink]`` broker with the uplink's username, password, TLS and
    CA file (resolved by :func:`agent.config.parse_config`); an explicit broker gets its own
    username and password and the uplink's CA file when it is ``mqtts://``."""

    topic: str
    stale_after_s: float
    broker: str | None = None
    channel: int | None = None
    field: str | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None

    def spec(self, protocol: MeterProtocol) -> DeviceSpec:
        from .mqtt_devices import Device, DeviceSpec

        return DeviceSpec(Device(protocol.value), self.topic, self.channel, self.field or "")


@dataclass(frozen=True, slots=True)
class MeterConfig:
    """One ``[[meters]]`` entry."""

    id: str
    quantity: Quantity
    protocol: MeterProtocol
    port: str
    unit: int = 1
    baudrate: int = 9600
    timeout_s: float = 1.0
    mqtt: MqttSourceConfig | None = None  # tasmota, shelly, openevse
    broute: BRouteConfig | None = None  # echonet-broute
    config_path: Path | None = None  # the file it came from, named in error advice


def refuse_keys(s: Section, keys: tuple[str, ...], protocol: MeterProtocol, why: str) -> None:
    """A ConfigError for the first of ``keys`` the entry sets: it belongs to another kind."""
    for key in keys:
        if key in s.data:
            raise ConfigError.coded("agent.config.key_not_for_protocol", where=s.name, key=key,
                                    protocol=str(protocol), why=why)
