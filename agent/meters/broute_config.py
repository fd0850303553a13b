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
        raise ConfigError(f"{s.name} broute_id must be the 32-character B-route ID from your "
                          f"power company (got {len(rbid)} characters)")
    password, pw_file = s.str_("broute_password"), s.str_("broute_password_file")
    if (password is None) == (pw_file is None):
        raise ConfigError(f"{s.name}: set exactly one of broute_password and "
                          "broute_password_file (a file only the agent can read is better)")
    if password is not None and (not 1 <= len(password) <= 32 or not password.isascii()
                                 or not password.isprintable() or " " in password):
        raise ConfigError(f"{s.name} broute_password must be 1–32 printable ASCII characters "
                          f"without spaces (got {len(password)} characters)")
    if pw_file is not None and not pw_file.strip():
        raise ConfigError(f"{s.name} broute_password_file must not be empty")
    family = s.str_("family", "auto") or ""
    if family not in BROUTE_FAMILIES:
        raise ConfigError(f"{s.name} family = {family!r}: use one of "
                          f"{', '.join(BROUTE_FAMILIES)} (auto detects it)")
    obj = s.str_("echonet_object", "smart_meter") or ""
    if obj not in ECHONET_OBJECTS:
        raise ConfigError(f"{s.name} echonet_object = {obj!r}: use one of "
                          f"{', '.join(ECHONET_OBJECTS)}")
    if quantity not in ECHONET_OBJECTS[obj]:
        allowed = ", ".join(q.value for q in ECHONET_OBJECTS[obj])
        raise ConfigError(f"{s.name} quantity = {quantity.value!r} cannot be read from "
                          f"echonet_object = {obj!r}: use {allowed}")
    cached = [k for k in ("wisun_channel", "pan_id", "meter_mac") if k in s.data]
    if cached and len(cached) != 3:
        raise ConfigError(f"{s.name}: wisun_channel, pan_id and meter_mac are a cached scan "
                          "result; give all three or none")
    mac = s.str_("meter_mac")
    if mac is not None and (len(mac) != 16 or any(c not in "0123456789abcdefABCDEF"
                                                   for c in mac)):
        raise ConfigError(f"{s.name} meter_mac = {mac!r}: use the 16 hex digits of the "
                          "EPANDESC Addr line")
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
