"""MQTT energy devices as meters: which topics one configured device uses, and the pure tracker
that turns its messages into the reading to sign.

Messages in (topic, payload, retained flag, when heard), state out; no sockets, clocks or
globals. The payload decoders are :mod:`agent.meters.mqtt_payloads`; the MQTT client that
subscribes and feeds the tracker is :mod:`agent.meters.mqtt_meter`.

Retained messages say what the device said at some unknown time: a retained *reading* is kept
but never counts as fresh; retained *availability* messages (LWT, ``online``, announce) are the
current availability by construction and are used as they are.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Final

from agent.errors import MeterUnavailable
from eco_protocol.messages import Msg

from .interface import MeterIdentity
from .mqtt_payloads import (
    MAX_CHANNEL,
    MAX_TOPIC_CHARS,
    OPENEVSE_ANNOUNCE_PREFIX,
    OPENEVSE_KEYS,
    SHELLY_FIELDS,
    TASMOTA_FIELDS,
    EnergyReading,
    JsonValue,
    NoEnergyObject,
    PayloadError,
    decode_openevse_announce,
    decode_openevse_total,
    decode_shelly_energy,
    decode_shelly_online,
    decode_tasmota_lwt,
    decode_tasmota_sensor,
    openevse_announce_matches,
    overlay,
    parse_plain_number,
    parse_shelly_frame,
    parse_shelly_status,
    shelly_components,
    to_power_w,
)


class Device(enum.StrEnum):
    TASMOTA = "tasmota"
    SHELLY = "shelly"
    OPENEVSE = "openevse"


class DeviceUnavailable(MeterUnavailable):
    """No usable, fresh reading: the device is offline, silent, or never heard."""


# --- which device, which register ------------------------------------------------------------


def _check_topic(topic: str) -> None:
    if not topic or len(topic) > MAX_TOPIC_CHARS:
        raise ValueError(f"topic must be 1–{MAX_TOPIC_CHARS} characters")
    if any(c in topic for c in "+#\0") or topic.startswith("$"):
        raise ValueError(f"topic {topic!r} must not contain + # or NUL nor start with $")
    if topic.startswith("/") or topic.endswith("/") or "//" in topic:
        raise ValueError(f"topic {topic!r} has an empty level")


_DEFAULT_FIELD: Final = {Device.TASMOTA: "Total", Device.SHELLY: "aenergy",
                         Device.OPENEVSE: "total_energy"}
_MANUFACTURER: Final = {Device.TASMOTA: "Tasmota", Device.SHELLY: "Shelly",
                        Device.OPENEVSE: "OpenEVSE"}


@dataclass(frozen=True, slots=True)
class DeviceSpec:
    """Which device and which of its registers one meter reads.

    ``topic`` is Tasmota's ``%topic%`` (or a full ``…/SENSOR`` topic for a custom FullTopic),
    Shelly's topic prefix (by default the device id, e.g. ``shellypro3em-8813bfe14804``), or
    OpenEVSE's base topic (by default its hostname, e.g. ``openevse-55ad``). ``channel`` is the
    Tasmota channel index (None: a single value) or the Shelly component id (default 0).
    ``field_name`` selects the counter: Tasmota ``Total``/``ExportActive``, a key of
    :data:`SHELLY_FIELDS`, OpenEVSE ``total_energy``.
    """

    device: Device
    topic: str
    channel: int | None = None
    field_name: str = ""

    def __post_init__(self) -> None:
        _check_topic(self.topic)
        if not self.field_name:
            object.__setattr__(self, "field_name", _DEFAULT_FIELD[self.device])
        if self.device is Device.SHELLY and self.channel is None:
            object.__setattr__(self, "channel", 0)
        if self.channel is not None and not 0 <= self.channel <= MAX_CHANNEL:
            raise ValueError(f"channel {self.channel} not in 0…{MAX_CHANNEL}")
        allowed: tuple[str, ...]
        match self.device:
            case Device.TASMOTA:
                allowed = TASMOTA_FIELDS
            case Device.SHELLY:
                allowed = tuple(SHELLY_FIELDS)
            case Device.OPENEVSE:
                allowed = ("total_energy",)
                if self.channel is not None:
                    raise ValueError("an OpenEVSE charger has no channels")
        if self.field_name not in allowed:
            raise ValueError(f"field {self.field_name!r} is not one of {', '.join(allowed)}")

    # topics

    @property
    def data_topics(self) -> tuple[str, ...]:
        match self.device:
            case Device.TASMOTA:
                return (self.topic if self.topic.endswith("/SENSOR")
                        else f"tele/{self.topic}/SENSOR",)
            case Device.SHELLY:
                assert self.channel is not None
                return (*(f"{self.topic}/status/{c}"
                          for c in shelly_components(self.field_name, self.channel)),
                        f"{self.topic}/events/rpc")
            case Device.OPENEVSE:
                return tuple(f"{self.topic}/{k}" for k in OPENEVSE_KEYS)

    @property
    def register_topic(self) -> str:
        """The topic an installer should watch for this meter's register."""
        match self.device:
            case Device.TASMOTA:
                return self.data_topics[0]
            case Device.SHELLY:
                return f"{self.topic}/events/rpc (or {self.topic}/status/…)"
            case Device.OPENEVSE:
                return f"{self.topic}/total_energy"

    @property
    def availability_topic(self) -> str:
        match self.device:
            case Device.TASMOTA:
                sensor = self.data_topics[0]
                return sensor[: -len("SENSOR")] + "LWT"
            case Device.SHELLY:
                return f"{self.topic}/online"
            case Device.OPENEVSE:
                return OPENEVSE_ANNOUNCE_PREFIX + "+"

    @property
    def subscriptions(self) -> tuple[str, ...]:
        return (*self.data_topics, self.availability_topic)

    def describe(self) -> str:
        where = {Device.TASMOTA: "Tasmota", Device.SHELLY: "Shelly",
                 Device.OPENEVSE: "OpenEVSE"}[self.device]
        return f"{where} {self.topic} {self.model}"

    @property
    def model(self) -> str:
        """The register this meter reads; part of its identity, so that pointing a meter at
        another register is seen as a meter replacement, not as a jump of the register."""
        match self.device:
            case Device.TASMOTA:
                ch = "" if self.channel is None else f"[{self.channel}]"
                return f"ENERGY.{self.field_name}{ch}"
            case Device.SHELLY:
                kinds = "|".join(SHELLY_FIELDS[self.field_name])
                return f"{kinds}:{self.channel}.{self.field_name}"
            case Device.OPENEVSE:
                return "total_energy"

    def identity(self) -> MeterIdentity:
        """Derived from the configuration only, so it is the same from the first message on
        (a Shelly ``src`` or an OpenEVSE id seen later must not look like a new meter)."""
        return MeterIdentity(protocol=self.device.value, manufacturer=_MANUFACTURER[self.device],
                             model=self.model, serial=self.topic)

    @property
    def hint(self) -> Msg:
        """What to check on the device when nothing usable is heard from it."""
        match self.device:
            case Device.TASMOTA:
                return Msg("agent.mqtt.hint.tasmota")
            case Device.SHELLY:
                return Msg("agent.mqtt.hint.shelly")
            case Device.OPENEVSE:
                return Msg("agent.mqtt.hint.openevse")


# --- the pure tracker: messages in, state out ------------------------------------------------


@dataclass(frozen=True, slots=True)
class Heard:
    """A decoded reading and when it arrived (``at`` monotonic, ``wall`` POSIX seconds)."""

    reading: EnergyReading
    topic: str
    at: float
    wall: float
    retained: bool = False


@dataclass(frozen=True, slots=True)
class DeviceState:
    """Everything known about one device; replaced, never mutated (one writer: the MQTT
    thread; readers take the current reference)."""

    latest: Heard | None = None
    online: bool | None = None  # None: the device has said nothing about its availability
    availability_text: str | None = None
    availability_at: float | None = None
    availability_wall: float | None = None
    problem: str | None = None  # why the last unusable payload was unusable
    problem_topic: str | None = None
    problem_wall: float | None = None
    messages: int = 0
    shelly_status: Mapping[str, Mapping[str, JsonValue]] = field(default_factory=dict)
    shelly_src: str | None = None
    openevse_values: Mapping[str, str] = field(default_factory=dict)
    openevse_id: str | None = None


def _problem(state: DeviceState, topic: str, why: str, wall: float) -> DeviceState:
    return replace(state, problem=why, problem_topic=topic, problem_wall=wall)


def _availability(state: DeviceState, online: bool | None, text: str, at: float,
                  wall: float) -> DeviceState:
    return replace(state, online=online, availability_text=text, availability_at=at,
                   availability_wall=wall)


def apply_message(spec: DeviceSpec, state: DeviceState, topic: str, payload: bytes,
                  retained: bool, at: float, wall: float) -> DeviceState:
    """The state after one message. Never raises: an unusable payload is recorded as the
    state's ``problem`` and the last good reading is kept."""
    state = replace(state, messages=state.messages + 1)
    try:
        match spec.device:
            case Device.TASMOTA:
                return _apply_tasmota(spec, state, topic, payload, retained, at, wall)
            case Device.SHELLY:
                return _apply_shelly(spec, state, topic, payload, retained, at, wall)
            case Device.OPENEVSE:
                return _apply_openevse(spec, state, topic, payload, retained, at, wall)
    except PayloadError as e:
        return _problem(state, topic, str(e), wall)


def _apply_tasmota(spec: DeviceSpec, state: DeviceState, topic: str, payload: bytes,
                   retained: bool, at: float, wall: float) -> DeviceState:
    if topic == spec.availability_topic:
        online = decode_tasmota_lwt(payload)
        return _availability(state, online, payload.decode("utf-8", "replace").strip(), at, wall)
    if topic in spec.data_topics:
        try:
            reading = decode_tasmota_sensor(payload, channel=spec.channel,
                                            field_name=spec.field_name)
        except NoEnergyObject:
            # other sensors and Teleinfo raw frames share the topic: not an energy message,
            # and only worth a word while no energy message has been seen at all
            if state.latest is None:
                raise
            return state
        return replace(state, latest=Heard(reading, topic, at, wall, retained))
    return state


def _apply_shelly(spec: DeviceSpec, state: DeviceState, topic: str, payload: bytes,
                  retained: bool, at: float, wall: float) -> DeviceState:
    if topic == spec.availability_topic:
        online = decode_shelly_online(payload)
        return _availability(state, online, payload.decode("utf-8", "replace").strip(), at, wall)
    assert spec.channel is not None
    wanted = shelly_components(spec.field_name, spec.channel)
    known = dict(state.shelly_status)
    touched: list[str] = []
    src = state.shelly_src
    ts: str | None = None
    if topic == f"{spec.topic}/events/rpc":
        frame = parse_shelly_frame(payload)
        if frame is None:
            return state
        src = frame.src or src
        ts = frame.ts
        for comp in wanted:
            if comp in frame.components:
                part = frame.components[comp]
                known[comp] = dict(part) if frame.full else overlay(known.get(comp, {}), part)
                touched.append(comp)
    else:
        comp = topic.rsplit("/", 1)[-1]
        if comp not in wanted or topic != f"{spec.topic}/status/{comp}":
            return state
        known[comp] = parse_shelly_status(payload)
        touched.append(comp)
    state = replace(state, shelly_status=known, shelly_src=src)
    for comp in touched:
        reading = decode_shelly_energy(comp, known[comp], spec.field_name)
        if reading is not None:
            raw = dict(reading.raw)
            if src:
                raw["src"] = src
            if ts is not None:
                raw["ts"] = ts
            reading = replace(reading, raw=raw)
            state = replace(state, latest=Heard(reading, topic, at, wall, retained))
    return state


def _apply_openevse(spec: DeviceSpec, state: DeviceState, topic: str, payload: bytes,
                    retained: bool, at: float, wall: float) -> DeviceState:
    if topic.startswith(OPENEVSE_ANNOUNCE_PREFIX):
        ann = decode_openevse_announce(payload)
        if not openevse_announce_matches(ann, spec.topic, state.openevse_id):
            return state
        known_id = ann.device_id or state.openevse_id
        online = {"connected": True, "disconnected": False}.get(ann.state)
        state = replace(state, openevse_id=known_id)
        return _availability(state, online, f'"state":"{ann.state}"', at, wall)
    base = spec.topic + "/"
    if not topic.startswith(base):
        return state
    key = topic[len(base):]
    if key not in OPENEVSE_KEYS:
        return state
    if key == "total_energy":
        reading = decode_openevse_total(payload)
        raw = {**state.openevse_values, **reading.raw}
        power = state.openevse_values.get("power")
        power_w = None
        if power is not None:
            try:
                power_w = to_power_w(parse_plain_number(power.encode(), "power"))
            except PayloadError:
                power_w = None
        reading = replace(reading, raw=raw, power_w=power_w)
        return replace(state, latest=Heard(reading, topic, at, wall, retained))
    text = payload[:64].decode("utf-8", "replace").strip()
    if key == "session_energy":  # Wh; checked so that a broken value is reported, not kept
        parse_plain_number(payload, "session_energy")
    values = {**state.openevse_values, key: text}
    latest = state.latest
    if latest is not None:  # keep the companions current; the register's age stays its own
        reading = replace(latest.reading, raw={**latest.reading.raw, key: text})
        latest = replace(latest, reading=reading)
    return replace(state, openevse_values=values, latest=latest)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def current_reading(spec: DeviceSpec, state: DeviceState, *, now: float, stale_after_s: float,
                    listening_since: float | None = None,
                    link_problem: str | Msg | None = None) -> Heard:
    """The reading to use now, or DeviceUnavailable saying why there is none.

    ``now`` and ``listening_since`` are monotonic seconds; ``link_problem`` is the shell's
    word on the broker connection (None when connected)."""
    latest = state.latest
    if state.online is False and (latest is None or state.availability_at is None
                                  or latest.at <= state.availability_at):
        assert state.availability_wall is not None
        before = ("" if latest is None or state.availability_at is None else
                  Msg("agent.mqtt.offline_last", {
                      "s": f"{max(0.0, state.availability_at - latest.at):.0f}"}))
        raise DeviceUnavailable(Msg("agent.mqtt.offline", {
            "text": state.availability_text, "topic": spec.availability_topic,
            "at": _iso(state.availability_wall), "before": before}))
    if latest is None or latest.retained:
        if link_problem is not None:
            raise DeviceUnavailable(Msg("agent.cli.message", {"message": link_problem}))
        if state.problem is not None:
            raise DeviceUnavailable(Msg("agent.mqtt.unusable_yet", {
                "topic": state.problem_topic, "problem": state.problem}))
        if latest is not None:
            raise DeviceUnavailable(Msg("agent.mqtt.retained_only", {
                "topic": latest.topic, "hint": spec.hint}))
        since = "" if listening_since is None else Msg(
            "agent.mqtt.in_seconds", {"s": f"{max(0.0, now - listening_since):.0f}"})
        raise DeviceUnavailable(Msg("agent.mqtt.nothing_heard", {
            "topic": spec.register_topic, "since": since, "hint": spec.hint}))
    age = now - latest.at
    if age > stale_after_s:
        unusable = ("" if state.problem is None or (state.problem_wall or 0.0) < latest.wall
                    else Msg("agent.mqtt.unusable_since", {"topic": state.problem_topic,
                                                           "problem": state.problem}))
        link = "" if link_problem is None else Msg("agent.mqtt.link", {"problem": link_problem})
        raise DeviceUnavailable(Msg("agent.mqtt.stale", {
            "age": f"{age:.0f}", "topic": latest.topic, "at": _iso(latest.wall),
            "stale": f"{stale_after_s:g}", "unusable": unusable, "link": link}))
    return latest
