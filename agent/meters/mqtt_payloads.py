"""Pure payload decoders for MQTT energy devices: Tasmota, Shelly Gen2+ and OpenEVSE.

Payload bytes in, an exact integer register in Wh out, or a :class:`PayloadError` saying what
is wrong. No sockets, clocks or globals. Which topics a configured device uses, and the state
kept from its messages, are :mod:`agent.meters.mqtt_devices`; :mod:`agent.meters.mqtt_meter`
is the MQTT client around both.

Numbers are parsed as :class:`decimal.Decimal` straight from the JSON text and scaled to Wh by
digit arithmetic (floor), so ``514.153`` kWh is exactly 514 153 Wh: no binary float ever sits
between the device's decimal text and the signed integer. Floor because a register must never
claim energy the device has not counted yet. Registers are bounded to ±(2^53 − 1) Wh like every
integer in a signed record (docs/protocol.md §1); payloads to 64 KiB.

What the devices publish (sources and example payloads: ``tests/vectors/mqtt_devices.json``):

* **Tasmota** — ``tele/<topic>/SENSOR`` every TelePeriod (default 300 s: ``TELE_PERIOD`` in
  ``tasmota/my_user_config.h``; docs ``MQTT.md``). ``EnergyShow()`` in
  ``tasmota/tasmota_xdrv_driver/xdrv_03_energy.ino`` writes the ``ENERGY`` object: ``Total``,
  ``Today``, ``Yesterday`` in kWh with EnergyRes decimals (3 by default), ``Power`` in W.
  ``Total`` is the sum of the channels unless SetOption129 is on, then one value per channel
  (``"Total":[2.813,0.254]``); ``Power`` is a list whenever there are several channels.
  ``ExportActive`` (kWh) exists on meters that measure export. Availability: ``MqttConnected()``
  in ``xdrv_02_9_mqtt.ino`` publishes ``Online`` retained on ``tele/<topic>/LWT``; the will is
  ``Offline`` (``MQTT_LWT_OFFLINE``), also retained.
* **Shelly Gen2+** — ``<prefix>/status/<component>`` carries a component's full status when
  "Generic status update over MQTT" (``status_ntf``) is on; ``<prefix>/events/rpc`` carries
  JSON-RPC notifications (``rpc_ntf``): ``NotifyStatus`` whose ``params`` hold *partial*
  statuses "to overlay over a known status" (shelly-api-docs, General/Notifications), and
  ``NotifyFullStatus``. ``<prefix>/online`` is ``true``/``false``. Energy counters are in **Wh**:
  ``switch:N`` / ``pm1:N`` / ``cover:N`` ``aenergy.total`` (and ``ret_aenergy.total``);
  ``em1data:N`` ``total_act_energy`` / ``total_act_ret_energy``; the Pro 3EM's ``emdata:0``
  ``total_act`` / ``total_act_ret`` and per phase ``a_total_act_energy`` … (shelly-api-docs
  EMData/EM1Data; home-assistant/core ``shelly/sensor.py`` declares them in Wh).
* **OpenEVSE** (ESP32 WiFi firmware) — ``mqtt_publish()`` in ``src/mqtt.cpp`` publishes every
  key of its status document as its own topic ``<base>/<key>`` with a plain-text value, every
  30 s (``docs/mqtt.md``). ``createEnergyMeterJsonDoc()`` in ``src/energy_meter.cpp``:
  ``total_energy`` in **kWh**, ``session_energy`` in **Wh**. On connect it publishes, retained,
  ``{"state":"connected","id":…,"name":…,"mqtt":<base>,"http":…}`` on
  ``openevse/announce/<last 4 of id>``; its will on the same topic has
  ``"state":"disconnected"`` with the same ``id`` and ``name``.

Retained messages say what the device said at some unknown time: a retained *reading* is kept
but never counts as fresh; retained *availability* messages (LWT, ``online``, announce) are the
current availability by construction and are used as they are.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Final, TypeAlias

from agent.errors import MeterDataError
from eco_protocol.canonical import MAX_SAFE_INTEGER

JsonValue: TypeAlias = (None | bool | int | Decimal | str | list["JsonValue"]
                        | dict[str, "JsonValue"])

MAX_PAYLOAD_BYTES: Final = 64 * 1024
MAX_REGISTER_WH: Final = MAX_SAFE_INTEGER
MAX_POWER_W: Final = 10**9
MAX_TOPIC_CHARS: Final = 200
MAX_CHANNEL: Final = 255

TASMOTA_FIELDS: Final = ("Total", "ExportActive")
# Shelly counter field → the component types that carry it (all values in Wh)
SHELLY_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "aenergy": ("switch", "pm1", "cover"),
    "ret_aenergy": ("switch", "pm1", "cover"),
    "total_act_energy": ("em1data",),
    "total_act_ret_energy": ("em1data",),
    "total_act": ("emdata",),
    "total_act_ret": ("emdata",),
    **{f"{p}_total_act{r}_energy": ("emdata",) for p in "abc" for r in ("", "_ret")},
}
# OpenEVSE keys we keep (each is its own topic <base>/<key>); total_energy is the register
OPENEVSE_KEYS: Final = ("total_energy", "session_energy", "state", "amp", "voltage", "pilot",
                        "power", "session_elapsed", "temp", "total_day")
OPENEVSE_ANNOUNCE_PREFIX: Final = "openevse/announce/"

_NUMBER_RE: Final = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")


class PayloadError(MeterDataError):
    """A payload that cannot be used; ``str()`` says why, in words an installer understands."""


class NoEnergyObject(PayloadError):
    """A Tasmota SENSOR message without ``ENERGY`` (another sensor's, or a Teleinfo frame)."""


# --- exact numbers ---------------------------------------------------------------------------


def _preview(payload: bytes, limit: int = 60) -> str:
    text = payload[:limit].decode("utf-8", "replace")
    return repr(text) + ("…" if len(payload) > limit else "")


def _render(value: JsonValue) -> str:
    """JSON text of a parsed value, numbers exactly as the device wrote them."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, list):
        return "[" + ",".join(_render(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_render(v)}" for k, v in value.items()) + "}"
    return json.dumps(value, ensure_ascii=False)


def _show(value: JsonValue) -> str:
    text = _render(value)
    return text if len(text) <= 60 else text[:60] + "…"


def _refuse_constant(name: str) -> JsonValue:
    raise PayloadError(f"{name} is not a number a meter can report")


def _object(pairs: list[tuple[str, JsonValue]]) -> dict[str, JsonValue]:
    out: dict[str, JsonValue] = {}
    for k, v in pairs:
        if k in out:
            raise PayloadError(f"key {k!r} appears twice in one JSON object")
        out[k] = v
    return out


def load_json(payload: bytes) -> JsonValue:
    """Parse a JSON payload with exact (Decimal) numbers; PayloadError on anything else."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"{len(payload)} bytes is larger than any device payload "
                           f"({MAX_PAYLOAD_BYTES} bytes)")
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as e:
        raise PayloadError(f"not UTF-8 text ({e.reason} at byte {e.start}): "
                           f"{_preview(payload)}") from e
    try:
        doc: JsonValue = json.loads(text, parse_float=Decimal, parse_constant=_refuse_constant,
                                    object_pairs_hook=_object)
    except PayloadError:
        raise
    except (ValueError, RecursionError) as e:  # JSONDecodeError, huge integers, deep nesting
        raise PayloadError(f"not valid JSON ({e}): {_preview(payload)}") from e
    return doc


def _number(value: JsonValue, what: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise PayloadError(f"{what} is {_show(value)}, not a number")
    return Decimal(value) if isinstance(value, int) else value


def parse_plain_number(payload: bytes, what: str) -> Decimal:
    """A plain-text number (OpenEVSE's one-value topics), exactly."""
    if len(payload) > 64:
        raise PayloadError(f"{what}: {len(payload)} bytes is not a plain number")
    try:
        text = payload.decode("ascii").strip()
    except UnicodeDecodeError as e:
        raise PayloadError(f"{what} is not ASCII text: {_preview(payload)}") from e
    if not _NUMBER_RE.fullmatch(text):
        raise PayloadError(f"{what} is {text!r}, not a number")
    return Decimal(text)


def _floor_scaled(value: Decimal, exp10: int) -> int:
    """floor(value × 10^exp10), exactly, for |value × 10^exp10| < 10^18 (callers bound it).

    Digit arithmetic on the decimal's own digits: no context precision, no rounding, and no
    giant powers of ten for exponents like 1E-999999."""
    sign, digits, exponent = value.as_tuple()
    if not isinstance(exponent, int):
        raise PayloadError(f"{value} is not a finite number")
    if not any(digits):
        return 0
    e = exponent + exp10
    if e >= 0:
        if len(digits) + e > 19:
            raise PayloadError(f"{value} is out of range")
        magnitude = int("".join(map(str, digits)) + "0" * e)
        exact = True
    else:
        keep = len(digits) + e
        if keep > 19:
            raise PayloadError(f"{value} is out of range")
        magnitude = int("".join(map(str, digits[:keep]))) if keep > 0 else 0
        exact = not any(digits[max(keep, 0):])
    if not sign:
        return magnitude
    return -magnitude if exact else -(magnitude + 1)


# the smallest value whose floor in Wh is out of range, per unit (exact: 16 digits)
_REGISTER_LIMIT: Final[Mapping[int, Decimal]] = {
    0: Decimal(MAX_REGISTER_WH + 1),  # Wh
    3: Decimal(MAX_REGISTER_WH + 1).scaleb(-3),  # kWh: 9007199254740.992
}


def to_register_wh(value: Decimal, exp10: int, what: str) -> int:
    """A lifetime register in units of 10^exp10 Wh → integer Wh (floor), or PayloadError."""
    if not value.is_finite():
        raise PayloadError(f"{what} = {value} is not a finite number")
    if value < 0:
        raise PayloadError(f"{what} = {value} is negative; an energy register never is")
    if value >= _REGISTER_LIMIT[exp10]:
        raise PayloadError(f"{what} = {value} is larger than any plausible register "
                           f"(at most {MAX_REGISTER_WH} Wh)")
    return _floor_scaled(value, exp10)


def to_power_w(value: JsonValue) -> int | None:
    """Instantaneous power rounded half away from zero to whole W; None if unusable."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        return None
    d = Decimal(value) if isinstance(value, int) else value
    if not d.is_finite() or abs(d) > MAX_POWER_W:
        return None
    tenths = _floor_scaled(abs(d), 1)
    watts = (tenths + 5) // 10
    return -watts if d < 0 else watts


# --- what a decoder gives --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnergyReading:
    """One decoded register. ``raw`` holds the values as the device wrote them (for probe)."""

    register_wh: int
    label: str  # where the register came from, e.g. "ENERGY.Total[1]"
    raw: Mapping[str, str] = field(default_factory=dict)
    power_w: int | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.register_wh <= MAX_REGISTER_WH:
            raise ValueError(f"register {self.register_wh} Wh out of range")


def _text(value: JsonValue) -> str:
    return value if isinstance(value, str) else _show(value)


# --- Tasmota ---------------------------------------------------------------------------------


def _pick_channel(value: JsonValue, channel: int | None, label: str) -> tuple[JsonValue, str]:
    if isinstance(value, list):
        n = len(value)
        if channel is None:
            if n == 1:
                return value[0], f"{label}[0]"
            raise PayloadError(f"{label} is a list of {n} channel values {_show(value)}; set "
                               f"channel = 0…{n - 1} to choose one")
        if not 0 <= channel < n:
            raise PayloadError(f"{label} has {n} channel value(s) {_show(value)}; channel = "
                               f"{channel} is not one of them (use 0…{n - 1})")
        return value[channel], f"{label}[{channel}]"
    if channel is not None:
        raise PayloadError(f"{label} is a single value ({_show(value)}), not one per channel: "
                           "remove channel (with SetOption129 0 Tasmota sums its channels into "
                           "one value; SetOption129 1 sends one value per channel)")
    return value, label


def decode_tasmota_sensor(payload: bytes, *, channel: int | None = None,
                          field_name: str = "Total") -> EnergyReading:
    """``tele/<topic>/SENSOR`` → the ``ENERGY.<field_name>`` register (kWh → Wh)."""
    if field_name not in TASMOTA_FIELDS:
        raise ValueError(f"unknown Tasmota field {field_name!r}")
    doc = load_json(payload)
    if not isinstance(doc, dict):
        raise PayloadError(f"expected a JSON object like {{\"Time\":…,\"ENERGY\":{{…}}}}, got "
                           f"{_show(doc)}")
    energy = doc.get("ENERGY")
    if energy is None:
        keys = ", ".join(sorted(doc)) or "none"
        raise NoEnergyObject("no ENERGY object in the message: is energy monitoring "
                             f"configured on this device? (keys: {keys})")
    if not isinstance(energy, dict):
        raise PayloadError(f"ENERGY is {_show(energy)}, not an object")
    if field_name not in energy:
        raise PayloadError(f"ENERGY has no {field_name} (keys: {', '.join(sorted(energy))})")
    value, label = _pick_channel(energy[field_name], channel, f"ENERGY.{field_name}")
    wh = to_register_wh(_number(value, label), 3, label)
    raw: dict[str, str] = {label: _text(value)}
    power_w = None
    for key in ("Power", "Today", "Yesterday", "TotalStartTime"):
        if key in energy:
            v, lab = energy[key], f"ENERGY.{key}"
            if isinstance(v, list):  # companions never spoil the register: no strict checks
                if channel is None and len(v) == 1:
                    v, lab = v[0], f"{lab}[0]"
                elif channel is not None and 0 <= channel < len(v):
                    v, lab = v[channel], f"{lab}[{channel}]"
                else:
                    continue
            raw[lab] = _text(v)
            if key == "Power":
                power_w = to_power_w(v)
    if isinstance(doc.get("Time"), str):
        raw["Time"] = str(doc["Time"])
    return EnergyReading(wh, label, raw, power_w)


def decode_tasmota_lwt(payload: bytes) -> bool | None:
    """``tele/<topic>/LWT``: True for Online, False for Offline, None for an empty payload
    (SetOption10 sends an empty message instead of Offline)."""
    text = payload.decode("utf-8", "replace").strip()
    if not text:
        return None
    if text.lower() == "online":
        return True
    if text.lower() == "offline":
        return False
    raise PayloadError(f"LWT payload {text[:40]!r} is neither Online nor Offline")


# --- Shelly Gen2+ ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ShellyNotification:
    """A ``NotifyStatus`` (partial) or ``NotifyFullStatus`` frame from ``<prefix>/events/rpc``."""

    full: bool
    components: Mapping[str, Mapping[str, JsonValue]]
    src: str | None = None
    ts: str | None = None


def parse_shelly_frame(payload: bytes) -> ShellyNotification | None:
    """A frame from ``<prefix>/events/rpc``; None for frames that carry no status
    (NotifyEvent, responses)."""
    doc = load_json(payload)
    if not isinstance(doc, dict):
        raise PayloadError(f"expected a JSON-RPC frame (an object), got {_show(doc)}")
    method = doc.get("method")
    if method not in ("NotifyStatus", "NotifyFullStatus"):
        return None
    params = doc.get("params")
    if not isinstance(params, dict):
        raise PayloadError(f"{method} without a params object: {_show(params)}")
    components = {k: v for k, v in params.items() if isinstance(v, dict)}
    src = doc.get("src")
    ts = params.get("ts")
    return ShellyNotification(
        full=method == "NotifyFullStatus", components=components,
        src=src if isinstance(src, str) else None,
        ts=None if ts is None or isinstance(ts, bool | dict | list) else _text(ts))


def parse_shelly_status(payload: bytes) -> dict[str, JsonValue]:
    """A component's full status from ``<prefix>/status/<component>``."""
    doc = load_json(payload)
    if not isinstance(doc, dict):
        raise PayloadError(f"expected a component status object, got {_show(doc)}")
    return doc


def decode_shelly_online(payload: bytes) -> bool:
    text = payload.decode("utf-8", "replace").strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise PayloadError(f"online payload {text[:40]!r} is neither true nor false")


def overlay(base: Mapping[str, JsonValue], patch: Mapping[str, JsonValue]) -> dict[str, JsonValue]:
    """``patch`` laid over ``base``: nested objects merged key by key, anything else replaced.

    This is how shelly-api-docs (General/Notifications) says NotifyStatus is meant to be used:
    overlaying it over a known status yields what a fresh GetStatus would return."""
    out = dict(base)
    for k, v in patch.items():
        old = out.get(k)
        out[k] = overlay(old, v) if isinstance(v, dict) and isinstance(old, dict) else v
    return out


def shelly_components(field_name: str, channel: int) -> tuple[str, ...]:
    """The component keys that may carry ``field_name`` for ``channel`` (e.g. switch:0)."""
    return tuple(f"{kind}:{channel}" for kind in SHELLY_FIELDS[field_name])


_SHELLY_POWER: Final = {"switch": "apower", "pm1": "apower", "cover": "apower"}


def decode_shelly_energy(component: str, status: Mapping[str, JsonValue],
                         field_name: str) -> EnergyReading | None:
    """The ``field_name`` counter (Wh) of one component's status; None if the status does
    not carry it (yet), PayloadError if it carries something unusable."""
    if field_name not in SHELLY_FIELDS:
        raise ValueError(f"unknown Shelly field {field_name!r}")
    if field_name not in status:
        return None
    value = status[field_name]
    label = f"{component}.{field_name}"
    if field_name in ("aenergy", "ret_aenergy"):
        if not isinstance(value, dict):
            raise PayloadError(f"{label} is {_show(value)}, not an object with total")
        if "total" not in value:
            return None
        value, label = value["total"], f"{label}.total"
    wh = to_register_wh(_number(value, label), 0, label)
    raw = {label: _text(value)}
    power_key = _SHELLY_POWER.get(component.split(":")[0])
    power_w = None
    if power_key is not None and power_key in status:
        raw[f"{component}.{power_key}"] = _text(status[power_key])
        power_w = to_power_w(status[power_key])
    return EnergyReading(wh, label, raw, power_w)


# --- OpenEVSE --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenEvseAnnounce:
    state: str
    device_id: str | None = None
    name: str | None = None
    mqtt: str | None = None


def decode_openevse_announce(payload: bytes) -> OpenEvseAnnounce:
    doc = load_json(payload)
    if not isinstance(doc, dict) or not isinstance(doc.get("state"), str):
        raise PayloadError(f"announce is {_preview(payload)}, not an object with a state")

    def opt(key: str) -> str | None:
        v = doc.get(key)
        return v if isinstance(v, str) else None

    return OpenEvseAnnounce(str(doc["state"]), opt("id"), opt("name"), opt("mqtt"))


def decode_openevse_total(payload: bytes) -> EnergyReading:
    """``<base>/total_energy`` (kWh, plain text) → Wh."""
    value = parse_plain_number(payload, "total_energy")
    wh = to_register_wh(value, 3, "total_energy")
    return EnergyReading(wh, "total_energy", {"total_energy": str(value)})


def openevse_announce_matches(ann: OpenEvseAnnounce, base: str, known_id: str | None) -> bool:
    """Is this announcement about the charger publishing under ``base``? The connected message
    names the base topic (``mqtt``); the will does not, so it is matched by the device id seen
    before or by the hostname, which is also the default base topic (``openevse-xxxx``)."""
    if ann.mqtt is not None:
        return ann.mqtt == base
    if known_id is not None and ann.device_id == known_id:
        return True
    return ann.name is not None and ann.name == base.rsplit("/", 1)[-1]
