"""The ``[[meters]]`` keys of an MQTT energy device (``protocol = "tasmota"``, ``"shelly"`` or
``"openevse"``, :mod:`agent.meters.mqtt_meter`): the broker and login, the topic, the channel
and counter field, and how long silence is tolerated.

``broker`` left out means the ``[uplink]`` broker with the uplink's login, TLS and CA file;
:mod:`agent.config` fills that in once ``[uplink]`` is read.
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

from eco_protocol.records import Quantity
from eco_runtime.broker_url import BrokerURLError, parse_broker_url
from eco_runtime.toml_section import Section

from ..errors import ConfigError
from .meter_config import (
    BROUTE_KEYS,
    SERIAL_KEYS,
    MeterConfig,
    MeterProtocol,
    MqttSourceConfig,
    refuse_keys,
)

# a device that says nothing for this long (wall seconds) is reported: 3 × Tasmota's default
# TelePeriod (300 s), 5 × Shelly's once-a-minute energy notifications, 4 × OpenEVSE's 30 s
DEFAULT_STALE_AFTER_S: Final = {MeterProtocol.TASMOTA: 900.0, MeterProtocol.SHELLY: 300.0,
                                MeterProtocol.OPENEVSE: 120.0}


def _broker_url(s: Section, key: str) -> str | None:
    url = s.str_(key)
    if url is None:
        return None
    try:
        parse_broker_url(url)
    except BrokerURLError as e:
        raise ConfigError.coded("agent.config.mqtt_broker", where=s.name, key=key,
                                error=str(e)) from e
    return url


def parse_section(s: Section, mid: str, quantity: Quantity, protocol: MeterProtocol,
                  base: Path | None = None) -> MeterConfig:
    """tasmota / shelly / openevse: broker, topic, channel, field, stale_after_s, login."""
    refuse_keys(s, (*SERIAL_KEYS, *BROUTE_KEYS), protocol,
                 "an MQTT device: set broker and topic instead")
    topic = s.req_str("topic")
    channel: int | None = None
    field: str | None = None
    if protocol is MeterProtocol.OPENEVSE:
        refuse_keys(s, ("channel", "field"), protocol, "a charger has one register, "
                     "total_energy")
    else:
        if "channel" in s.data:
            channel = s.int_("channel", 0, 0, 255)
        from .mqtt_payloads import SHELLY_FIELDS, TASMOTA_FIELDS

        allowed = TASMOTA_FIELDS if protocol is MeterProtocol.TASMOTA else tuple(SHELLY_FIELDS)
        field = s.str_("field")
        if field is not None and field not in allowed:
            raise ConfigError.coded("agent.config.mqtt_field", where=s.name, value=repr(field),
                                    allowed=", ".join(allowed))
    mqtt = MqttSourceConfig(
        topic=topic,
        stale_after_s=s.float_("stale_after_s", DEFAULT_STALE_AFTER_S[protocol], 1.0, 604800.0),
        broker=_broker_url(s, "broker"),
        channel=channel,
        field=field,
        username=s.str_("username"),
        password=s.str_("password"),
    )
    try:
        mqtt.spec(protocol)
    except ValueError as e:
        raise ConfigError.coded("agent.config.mqtt_topic", where=s.name, value=repr(topic),
                                error=str(e)) from e
    return MeterConfig(id=mid, quantity=quantity, protocol=protocol, port="", mqtt=mqtt)
