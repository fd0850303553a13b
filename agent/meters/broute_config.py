"""The ``[[meters]]`` keys of a meter read over the Wi-SUN B-route (``protocol =
"echonet-broute"``, :mod:`agent.meters.broute`): the dongle's port, the B-route ID and password,
the SKSTACK-IP family, the ECHONET object, and an optional cached scan result.

Secrets are checked for shape only: messages give their length, never them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Final

from eco_protocol.records import Quantity
from eco_runtime.toml_section import Section, config_path

from ..errors import ConfigError
from .meter_config import (
    BROUTE_KEYS,
    MQTT_METER_KEYS,
    BRouteConfig,
    MeterConfig,
    MeterProtocol,
    refuse_keys,
)

#: SKSTACK-IP command families (agent.meters.skstack_codec.Family) and the ECHONET objects with
#: the quantities each can meter (agent.meters.broute.TARGETS).
BROUTE_FAMILIES: Final = ("auto", "bp35a1", "bp35c0")
ECHONET_OBJECTS: Final[Mapping[str, tuple[Quantity, ...]]] = {
    "smart_meter": (Quantity.GRID_IMPORT, Quantity.GRID_EXPORT),
    "solar": (Quantity.PV_GENERATION, Quantity.GRID_EXPORT),
    "ev": (Quantity.EV_CHARGE,),
}


def parse_section(s: Section, mid: str, quantity: Quantity, protocol: MeterProtocol,
                  base: Path | None = None) -> MeterConfig:
    """echonet-broute: port, broute_id, broute_password(_file), family, echonet_object, cached
    scan result. Secrets are checked for shape only: messages give their length, not them."""
    refuse_keys(s, ("unit", *(k for k in MQTT_METER_KEYS if k not in BROUTE_KEYS)),
                 protocol, "a Wi-SUN dongle on a serial port")
    rbid = s.req_str("broute_id").strip()
    if len(rbid) != 32 or not rbid.isascii() or not rbid.isalnum():
        raise ConfigError.coded("agent.config.broute_id", where=s.name, n=len(rbid))
    password, pw_file = s.str_("broute_password"), s.str_("broute_password_file")
    if (password is None) == (pw_file is None):
        raise ConfigError.coded("agent.config.broute_password_one", where=s.name)
    if password is not None and (not 1 <= len(password) <= 32 or not password.isascii()
                                 or not password.isprintable() or " " in password):
        raise ConfigError.coded("agent.config.broute_password", where=s.name, n=len(password))
    if pw_file is not None and not pw_file.strip():
        raise ConfigError.coded("eco_runtime.section.empty", where=f"{s.name} broute_password_file")
    family = s.str_("family", "auto") or ""
    if family not in BROUTE_FAMILIES:
        raise ConfigError.coded("agent.config.broute_family", where=s.name, value=repr(family),
                                allowed=", ".join(BROUTE_FAMILIES))
    obj = s.str_("echonet_object", "smart_meter") or ""
    if obj not in ECHONET_OBJECTS:
        raise ConfigError.coded("agent.config.echonet_object", where=s.name, value=repr(obj),
                                allowed=", ".join(ECHONET_OBJECTS))
    if quantity not in ECHONET_OBJECTS[obj]:
        allowed = ", ".join(q.value for q in ECHONET_OBJECTS[obj])
        raise ConfigError.coded("agent.config.echonet_quantity", where=s.name,
                                value=repr(quantity.value), obj=repr(obj), allowed=allowed)
    cached = [k for k in ("wisun_channel", "pan_id", "meter_mac") if k in s.data]
    if cached and len(cached) != 3:
        raise ConfigError.coded("agent.config.broute_cached", where=s.name)
    mac = s.str_("meter_mac")
    if mac is not None and (len(mac) != 16 or any(c not in "0123456789abcdefABCDEF"
                                                   for c in mac)):
        raise ConfigError.coded("agent.config.meter_mac", where=s.name, value=repr(mac))
    broute = BRouteConfig(
        broute_id=rbid,
        broute_password=password,
        broute_password_file=None if pw_file is None else config_path(pw_file, base),
        family=family,
        echonet_object=obj,
        wisun_channel=s.int_("wisun_channel", 33, 33, 60) if cached else None,
        pan_id=s.int_("pan_id", 0, 0, 0xFFFF) if cached else None,
        meter_mac=None if mac is None else mac.upper(),
    )
    return MeterConfig(id=mid, quantity=quantity, protocol=protocol,
                       port=s.req_str("port"), baudrate=s.int_("baudrate", 115200, 1200, 921600),
                       timeout_s=s.float_("timeout_s", 10.0, 0.5, 120.0), broute=broute)
