"""The agent's configuration: one TOML file (``eco-agent init`` writes a commented example).

Parsed with :mod:`tomllib` into frozen dataclasses. Every check names the offending key and says
what to put there instead, as a :class:`~agent.errors.ConfigError`; unknown keys are refused too,
because a misspelt key that is silently ignored is a setting that silently does not apply.
Relative paths (``state_dir``, ``ca_file``) are resolved against the config file's directory.
"""

from __future__ import annotations

import dataclasses
import enum
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from eco_protocol.errors import NoteError
from eco_protocol.note import NoteVerifier, parse_verifier_key
from eco_protocol.os_messages import os_reason, toml_error
from eco_protocol.records import MAX_READINGS_PER_MESSAGE, Quantity
from eco_runtime import toml_section
from eco_runtime.broker_url import BrokerURLError, parse_broker_url

from .errors import ConfigError
from .meters import broute_config, mqtt_config, sunspec_config
from .meters.meter_config import ALL_KEYS

# each [[meters]] entry's record and protocols live with the meters; the CLI and runner read
# them from here
from .meters.meter_config import MQTT_METER_PROTOCOLS as MQTT_METER_PROTOCOLS
from .meters.meter_config import MeterConfig as MeterConfig
from .meters.meter_config import MeterProtocol as MeterProtocol

MAX_METERS: Final = 16  # an enrolment binds at most 16 meters (eco.enrol/v1)
_METER_ID_RE: Final = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$")
_TIME_RE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


class ClockMode(enum.StrEnum):
    SYSTEM = "system"
    ACCELERATED = "accelerated"


@dataclass(frozen=True, slots=True)
class DeviceConfig:
    """``[device]``."""

    state_dir: Path
    log_key: str | None  # the pinned verifier key; None until the municipality hands it out
    interval_minutes: int = 30
    poll_seconds: int = 60
    co2_display_g_per_kwh: int = 434  # display-only estimate; the aggregator computes CO2
    max_gap_fill_hours: int = 744  # longer outages are not interpolated (31 days)

    @property
    def interval_seconds(self) -> int:
        return self.interval_minutes * 60

    @property
    def key_path(self) -> Path:
        return self.state_dir / "device.key"

    @property
    def outbox_path(self) -> Path:
        return self.state_dir / "outbox.sqlite3"

    @property
    def state_path(self) -> Path:
        return self.state_dir / "state.json"

    def log_verifier(self) -> NoteVerifier:
        """The pinned log key, or a ConfigError saying how to set it."""
        if not self.log_key:
            raise ConfigError.coded("agent.config.log_key_empty")
        return parse_verifier_key(self.log_key)


@dataclass(frozen=True, slots=True)
class UplinkConfig:
    """``[uplink]``: the MQTT connection to the aggregator's broker."""

    broker: str = "mqtt://127.0.0.1:1883"
    batch_max: int = MAX_READINGS_PER_MESSAGE
    keepalive_s: int = 60
    username: str | None = None  # default: the device id
    password: str | None = dataclasses.field(default=None, repr=False)  # never in a log line
    tls: bool = False
    ca_file: Path | None = None
    max_in_flight: int = 4  # readings messages awaiting a receipt at once
    resend_timeout_s: float = 60.0  # resend a message that got no receipt within this time
    cert_file: Path | None = None  # TLS client certificate (CN = device id), with key_file
    key_file: Path | None = None

    @property
    def host(self) -> str:
        return parse_broker_url(self.broker).host

    @property
    def port(self) -> int:
        return parse_broker_url(self.broker).port_for(self.tls)


@dataclass(frozen=True, slots=True)
class ClockConfig:
    """``[clock]``: the system clock, or an accelerated one for simulations and the demo."""

    mode: ClockMode = ClockMode.SYSTEM
    origin_sim: float = 0.0  # POSIX seconds of simulated time at the anchor
    origin_wall: float = 0.0  # POSIX seconds of wall time at the anchor
    speed: float = 1.0
    # fault injection (accelerated mode only): the clock reads ``boot_at`` at origin_sim, as a Pi
    # without RTC does at boot, and is set to the true time ``jump_after_s`` clock seconds later
    # (agent.clock.JumpingClock)
    boot_at: float | None = None
    jump_after_s: float = 0.0
    # where systemd-timesyncd says the clock is synchronised (its ``synchronized`` file)
    timesync_dir: Path = Path("/run/systemd/timesync")


@dataclass(frozen=True, slots=True)
class AgentConfig:
    device: DeviceConfig
    uplink: UplinkConfig
    clock: ClockConfig
    meters: tuple[MeterConfig, ...]
    path: Path | None = None

    def meter(self, meter_id: str) -> MeterConfig:
        for m in self.meters:
            if m.id == meter_id:
                return m
        known = ", ".join(m.id for m in self.meters)
        raise ConfigError.coded("agent.config.no_such_meter", meter=meter_id, known=known)


def _section(data: Mapping[str, Any], name: str, allowed: set[str]) -> toml_section.Section:
    return toml_section.Section(data, name, allowed, error=ConfigError)


def _table(doc: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    return toml_section.table(doc, key, error=ConfigError)


_path = toml_section.config_path


def _parse_device(t: Mapping[str, Any], base: Path | None) -> DeviceConfig:
    s = _section(t, "[device]", {"state_dir", "interval_minutes", "poll_seconds", "log_key",
                                 "co2_display_g_per_kwh", "max_gap_fill_hours"})
    state_dir = _path(s.req_str("state_dir"), base)
    interval = s.int_("interval_minutes", 30, 1, 1440)
    if 1440 % interval:
        divisors = [d for d in (1, 2, 5, 10, 15, 30, 60, 120, 240) if 1440 % d == 0]
        raise ConfigError.coded("agent.config.interval", interval=interval,
                                divisors=", ".join(map(str, divisors)))
    poll = s.int_("poll_seconds", 60, 1, interval * 60)
    log_key = s.str_("log_key", None)
    if log_key is not None:
        log_key = log_key.strip() or None
    if log_key is not None:
        try:
            parse_verifier_key(log_key)
        except NoteError as e:
            raise ConfigError.coded("agent.config.log_key_invalid", error=e) from e
    return DeviceConfig(
        state_dir=state_dir,
        log_key=log_key,
        interval_minutes=interval,
        poll_seconds=poll,
        co2_display_g_per_kwh=s.int_("co2_display_g_per_kwh", 434, 0, 5000),
        max_gap_fill_hours=s.int_("max_gap_fill_hours", 744, 0, 24 * 366),
    )


def _parse_uplink(t: Mapping[str, Any], base: Path | None) -> UplinkConfig:
    s = _section(t, "[uplink]", {"broker", "batch_max", "keepalive_s", "username", "password",
                                 "tls", "ca_file", "max_in_flight", "resend_timeout_s",
                                 "cert_file", "key_file"})
    broker = s.str_("broker", "mqtt://127.0.0.1:1883") or ""
    try:
        url = parse_broker_url(broker)
    except BrokerURLError as e:
        raise ConfigError.coded("agent.config.broker", error=str(e)) from e
    tls = s.bool_("tls", url.tls)
    if url.tls and not tls:
        raise ConfigError.coded("agent.config.tls_contradiction")
    if tls is False and not url.on_loopback:
        raise ConfigError.coded("agent.config.tls_required", host=url.host)
    ca = s.str_("ca_file")
    cert, key = s.str_("cert_file"), s.str_("key_file")
    if (cert is None) != (key is None):
        raise ConfigError.coded("agent.config.cert_and_key")
    if cert is not None and not tls:
        raise ConfigError.coded("agent.config.cert_needs_tls")
    return UplinkConfig(
        broker=broker,
        batch_max=s.int_("batch_max", MAX_READINGS_PER_MESSAGE, 1, MAX_READINGS_PER_MESSAGE),
        keepalive_s=s.int_("keepalive_s", 60, 5, 3600),
        username=s.str_("username"),
        password=s.str_("password"),
        tls=tls,
        ca_file=None if ca is None else _path(ca, base),
        cert_file=None if cert is None else _path(cert, base),
        key_file=None if key is None else _path(key, base),
        max_in_flight=s.int_("max_in_flight", 4, 1, 16),
        resend_timeout_s=s.float_("resend_timeout_s", 60.0, 0.1, 86400.0),
    )


def _clock_time(s: toml_section.Section, key: str) -> float:
    raw = s.req_str(key)
    if not _TIME_RE.match(raw):
        raise ConfigError.coded("agent.config.clock_time", key=key, value=repr(raw))
    try:
        return datetime.strptime(raw, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError as e:
        raise ConfigError.coded("agent.config.clock_invalid", key=key, value=repr(raw)) from e


def _parse_clock(t: Mapping[str, Any], base: Path | None = None) -> ClockConfig:
    s = _section(t, "[clock]", {"mode", "origin_sim", "origin_wall", "speed", "boot_at",
                                "jump_after_s", "timesync_dir"})
    mode_raw = s.str_("mode", "system") or ""
    try:
        mode = ClockMode(mode_raw)
    except ValueError as e:
        raise ConfigError.coded("agent.config.clock_mode", value=repr(mode_raw)) from e
    timesync_raw = s.str_("timesync_dir")
    timesync = ClockConfig().timesync_dir if timesync_raw is None else _path(timesync_raw, base)
    if mode is ClockMode.SYSTEM:
        extra = sorted(set(t) - {"mode", "timesync_dir"})
        if extra:
            raise ConfigError.coded("agent.config.clock_extra", keys=extra)
        return ClockConfig(timesync_dir=timesync)
    missing = [k for k in ("origin_sim", "origin_wall", "speed") if k not in t]
    if missing:
        raise ConfigError.coded("agent.config.clock_missing", keys=missing)
    if ("boot_at" in t) != ("jump_after_s" in t):
        raise ConfigError.coded("agent.config.clock_jump")
    return ClockConfig(
        mode=mode,
        origin_sim=_clock_time(s, "origin_sim"),
        origin_wall=s.float_("origin_wall", 0.0, 0.0, 1e11),
        speed=s.float_("speed", 1.0, 0.001, 100000.0),
        boot_at=_clock_time(s, "boot_at") if "boot_at" in t else None,
        jump_after_s=s.float_("jump_after_s", 0.0, 0.0, 1e9),
        timesync_dir=timesync,
    )


_SectionParser = Callable[[toml_section.Section, str, Quantity, MeterProtocol, Path | None],
                         MeterConfig]
#: each meter kind parses the rest of its [[meters]] entry
_SECTION_PARSERS: Final[Mapping[MeterProtocol, _SectionParser]] = {
    MeterProtocol.SUNSPEC_MODBUS: sunspec_config.parse_section,
    MeterProtocol.ECHONET_BROUTE: broute_config.parse_section,
    MeterProtocol.TASMOTA: mqtt_config.parse_section,
    MeterProtocol.SHELLY: mqtt_config.parse_section,
    MeterProtocol.OPENEVSE: mqtt_config.parse_section,
}


def _parse_meter(t: object, i: int, base: Path | None = None) -> MeterConfig:
    where = f"[[meters]] #{i + 1}"
    if not isinstance(t, Mapping):
        raise ConfigError.coded("agent.config.meter_table", where=where)
    s = _section(t, where, set(ALL_KEYS))
    mid = s.req_str("id")
    if not _METER_ID_RE.match(mid):
        raise ConfigError.coded("agent.config.meter_id", where=where, value=repr(mid))
    s.name = f"[[meters]] id={mid!r}"
    q = s.req_str("quantity")
    try:
        quantity = Quantity(q)
    except ValueError as e:
        allowed = ", ".join(x.value for x in Quantity)
        raise ConfigError.coded("agent.config.meter_quantity", where=s.name, value=repr(q),
                                allowed=allowed) from e
    p = s.str_("protocol", "sunspec-modbus") or ""
    try:
        protocol = MeterProtocol(p)
    except ValueError as e:
        allowed = ", ".join(x.value for x in MeterProtocol)
        raise ConfigError.coded("agent.config.meter_protocol", where=s.name, value=repr(p),
                                allowed=allowed) from e
    return _SECTION_PARSERS[protocol](s, mid, quantity, protocol, base)


def _with_uplink_broker(m: MeterConfig, uplink: UplinkConfig) -> MeterConfig:
    """An MQTT meter without its own broker reads from the uplink's, with its settings."""
    src = m.mqtt
    if src is None:
        return m
    if src.broker is None:
        src = replace(src, broker=uplink.broker, username=uplink.username,
                      password=uplink.password, tls=uplink.tls, ca_file=uplink.ca_file)
    else:
        tls = parse_broker_url(src.broker).tls
        src = replace(src, tls=tls, ca_file=uplink.ca_file if tls else None)
    return replace(m, mqtt=src)


def parse_config(doc: Mapping[str, Any], path: Path | None = None) -> AgentConfig:
    """Validate a parsed TOML document. Pure apart from resolving relative paths."""
    unknown = sorted(set(doc) - {"device", "uplink", "clock", "meters"})
    if unknown:
        raise ConfigError.coded("agent.config.unknown_sections", sections=unknown)
    if "device" not in doc:
        raise ConfigError.coded("agent.config.no_device")
    base = path.parent if path is not None else None
    device = _parse_device(_table(doc, "device"), base)
    uplink = _parse_uplink(_table(doc, "uplink"), base)
    clock = _parse_clock(_table(doc, "clock"), base)
    raw_meters = doc.get("meters", [])
    if not isinstance(raw_meters, list) or not raw_meters:
        raise ConfigError.coded("agent.config.no_meters")
    if len(raw_meters) > MAX_METERS:
        raise ConfigError(f"{len(raw_meters)} [[meters]] configured: at most {MAX_METERS}")
    meters = tuple(_parse_meter(m, i, base) for i, m in enumerate(raw_meters))
    meters = tuple(replace(_with_uplink_broker(m, uplink), config_path=path) for m in meters)
    seen: set[str] = set()
    for m in meters:
        if m.id in seen:
            raise ConfigError.coded("agent.config.duplicate_meter", meter=m.id)
        seen.add(m.id)
    return AgentConfig(device=device, uplink=uplink, clock=clock, meters=meters, path=path)


def parse_config_text(text: str, path: Path | None = None) -> AgentConfig:
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        if path:
            raise ConfigError.coded("agent.config.file_not_toml", path=path,
                                    error=toml_error(e)) from e
        raise ConfigError.coded("agent.config.not_toml", error=toml_error(e)) from e
    return parse_config(doc, path)


def load_config(path: Path) -> AgentConfig:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError as e:
        raise ConfigError.coded("agent.config.missing", path=path) from e
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError.coded("agent.config.cannot_read", path=path, reason=os_reason(e)) from e
    try:
        return parse_config_text(text, path.resolve())
    except ConfigError as e:
        if not str(e).startswith(str(path)):  # name the file, in the reader's language too
            raise ConfigError.coded("agent.config.in_file", path=path, error=e) from e
        raise


def example_config() -> str:
    """A fully commented example; ``eco-agent init`` writes it. It parses as is."""
    return _EXAMPLE


_EXAMPLE = """\
# eco-agent configuration (TOML). Written by `eco-agent init`; edit, then run
#   eco-agent keygen THIS_FILE      # once: creates the device key, prints the device id
#   eco-agent probe THIS_FILE pv1   # check that a meter answers
#   eco-agent run THIS_FILE         # the service (systemd runs this)
# Relative paths are relative to this file's directory.

[device]
# Where the device key, the outbox (signed readings not yet receipted) and the small state file
# live. Must survive reboots and power cuts: not /tmp, not tmpfs.
state_dir = "/var/lib/eco-agent"

# Length of one reading interval in minutes. Must divide a day (1440). Readings are aligned to
# multiples of it in UTC (09:00, 09:30, …). The municipality tells you if it is not 30.
interval_minutes = 30

# How often the meters are read, in seconds (at most one interval). The register at an interval
# boundary is the last read at or before it, so shorter polls place energy more precisely.
poll_seconds = 60

# The log's verifier key (name+keyid+base64), from your enrolment letter. Receipts must be signed
# by it, and `run` refuses to start without it. It is pinned on first run: a different key later
# is refused unless you run `eco-agent run --accept-new-log-key`.
log_key = ""

# Display-only CO2 factor in g-CO2 per kWh for co2_g_estimate in each reading. The aggregator
# computes the authoritative figure under the methodology; this one is never trusted.
co2_display_g_per_kwh = 434

# Outages longer than this many hours are not filled with interpolated (gap_filled) readings:
# the readings resume after it instead (the interval holding the first new snapshot claims
# nothing and is flagged meter_reset, so the register stays continuous).
max_gap_fill_hours = 744

[uplink]
# The aggregator's MQTT broker. mqtts:// (TLS) is required for any broker not on loopback.
broker = "mqtt://127.0.0.1:1883"
# Readings per MQTT message (1–64); full messages drain a backlog quickly.
batch_max = 64
# MQTT keepalive in seconds.
keepalive_s = 60
# Broker login. The username defaults to the device id; set a password only if the broker uses
# passwords (client certificates are the usual way with TLS).
# username = ""
# password = ""
# CA certificate for TLS (with mqtts://).
# ca_file = "/etc/eco-agent/ca.crt"
# Or log in with a client certificate (CN = the device id; 'eco-aggregator ca client-cert'),
# when the broker asks for one. The key file must be readable by the agent only (0600).
# cert_file = "/etc/eco-agent/device.crt"
# key_file = "/etc/eco-agent/device.key"
# At most this many readings messages wait for their receipt at once.
max_in_flight = 4
# A message without a receipt after this many seconds is sent again (the aggregator drops
# duplicates). A reading leaves the outbox only on a verified receipt.
resend_timeout_s = 60

[clock]
# "system" for a real device. "accelerated" runs simulated time (demo, tests):
#   sim_now = origin_sim + (wall_now - origin_wall) * speed
mode = "system"
# origin_sim = "2026-06-21T00:00:00Z"
# origin_wall = 1782000000.0
# speed = 60.0
# Fault injection (tests, demo): the clock reads boot_at at origin_sim, like a Raspberry Pi
# without RTC at boot, and steps to the true time jump_after_s clock seconds later.
# boot_at = "2026-06-19T00:00:00Z"
# jump_after_s = 600
# Where systemd-timesyncd marks the clock synchronised; readings taken while this directory
# exists without its "synchronized" file carry the clock_unsynced flag.
# timesync_dir = "/run/systemd/timesync"

# One [[meters]] table per meter, as enrolled.
[[meters]]
# Meter id from the enrolment (1–32 letters, digits, _ . -).
id = "pv1"
# What it measures: pv_generation, grid_export, grid_import or ev_charge.
quantity = "pv_generation"
# How it is read. Supported: "sunspec-modbus" (SunSpec inverter over Modbus RTU),
# "echonet-broute" (the smart meter over a Wi-SUN B-route dongle, see the example below),
# "tasmota", "shelly", "openevse" (MQTT energy devices, see the examples at the end).
protocol = "sunspec-modbus"
# Serial port; prefer the stable /dev/serial/by-id/… name.
port = "/dev/ttyUSB0"
# Modbus unit id, line speed and per-request timeout (seconds).
unit = 1
baudrate = 9600
timeout_s = 1.0

# The electricity company's smart meter over the Wi-SUN B-route (ECHONET Lite through a ROHM
# BP35A1 / BP35C0 / BP35C2 or Tessera RL7023 dongle). Apply for the B-route service to get the
# 32-character ID and the password. One table per direction:
# [[meters]]
# id = "grid-in"
# quantity = "grid_import"          # grid_import (E0) or grid_export (E3)
# protocol = "echonet-broute"
# port = "/dev/serial/by-id/usb-ROHM_BP35C2-if00"
# broute_id = "00112233445566778899AABBCCDDEEFF"
# # The password, or better a file only the agent can read (its first line is used):
# broute_password_file = "/etc/eco-agent/broute-password"
# # broute_password = "0123456789AB"
# # Dongle command family: "auto" (detect), "bp35a1", or "bp35c0" (BP35C0/C2, RL7023).
# family = "auto"
# # The ECHONET object: "smart_meter" (0x0288; grid_import/grid_export), "solar" (0x0279;
# # pv_generation/grid_export) or "ev" (0x027E charger/discharger; ev_charge).
# echonet_object = "smart_meter"
# baudrate = 115200
# # Seconds to wait for the meter's answer (the radio is slow; answers take 1–5 s).
# timeout_s = 10.0
# # Optional cached scan result (from the log line "joined … on channel 21 PAN 8888" and
# # the meter's MAC): skips the active scan. Give all three or none.
# # wisun_channel = 0x21
# # pan_id = 0x8888
# # meter_mac = "001C6400030C12A4"

# MQTT energy devices. They publish to a broker; the agent subscribes and uses the newest
# reading. A device that announces it is offline, or says nothing for stale_after_s (wall
# seconds), is reported as failing — never read as zero. Keys:
#   broker         mqtt://HOST:PORT or mqtts://HOST:PORT (default: the [uplink] broker, with
#                  the uplink's username, password and CA file)
#   username, password   login on that broker (only with an explicit broker)
#   topic          Tasmota: its Topic (tele/<topic>/SENSOR; or a full topic ending in /SENSOR);
#                  Shelly: its MQTT topic prefix (default: the device id, shellypro3em-…);
#                  OpenEVSE: its base topic (default: its hostname, openevse-xxxx)
#   channel        Tasmota: which value of a multi-channel device (0, 1, …; leave out for one
#                  value); Shelly: the component id (switch:<channel>, em1data:<channel>, …)
#   field          the counter: Tasmota "Total" (default) or "ExportActive";
#                  Shelly "aenergy" (default, switch/pm1/cover), "ret_aenergy",
#                  "total_act_energy"/"total_act_ret_energy" (em1data, Pro EM),
#                  "total_act"/"total_act_ret" (emdata, Pro 3EM), "a_total_act_energy", …
#                  OpenEVSE has one register, total_energy (kWh): no channel or field.
#   stale_after_s  default 900 (Tasmota: 3 × its 300 s TelePeriod), 300 (Shelly), 120
#                  (OpenEVSE, which publishes every 30 s)
# Which way a CT clamp or plug counts depends on how it is wired: check with
#   eco-agent probe THIS_FILE METER_ID   (or without a config:
#   eco-agent probe --protocol tasmota --broker mqtt://HOST:1883 --topic T --quantity Q)
# [[meters]]
# id = "pv-plug"
# quantity = "pv_generation"
# protocol = "tasmota"
# topic = "tasmota_5A9AE8"
# [[meters]]
# id = "grid-out"
# quantity = "grid_export"
# protocol = "shelly"
# broker = "mqtt://192.168.1.10:1883"
# topic = "shellypro3em-8813bfe14804"
# field = "total_act_ret"
# [[meters]]
# id = "ev1"
# quantity = "ev_charge"
# protocol = "openevse"
# topic = "openevse-55ad"
"""
