"""Reads an MQTT energy device (Tasmota, Shelly Gen2+, OpenEVSE) from a broker: the I/O shell
around the pure tracker of :mod:`agent.meters.mqtt_devices`.

A device publishes when it likes; the agent polls when it likes. So a meter subscribes once,
keeps the newest decoded reading, and :meth:`MqttMeter.read` returns that reading if it is
fresh — or raises :class:`~agent.errors.MeterError` saying when the device was last heard, that
it announced it is offline, or that nothing usable ever arrived (and which topic to check). A
silent or offline device is reported, never read as zero or as its last value forever.

**One paho client per meter, not one per agent.** An agent has at most 16 meters
(``MAX_METERS``), usually one to three, so the cost is a handful of loopback or LAN connections
and threads. In exchange each meter is self-contained: the runner's factory builds it from its
``[[meters]]`` entry alone (no shared registry, no global), and the runner's "close the reader
and start afresh" after an unexpected error touches only that meter's connection and
subscriptions. A shared client would need reference counting and a subscription router whose
failure would take every MQTT meter down at once.

Threads: paho's network thread runs the callbacks. Per docs/pitfalls.md §1 they never raise (each is
wrapped) and take no lock: a callback runs the pure decoder and publishes the result by
replacing one reference to an immutable :class:`_Shared` value (a single writer; CPython
assigns references atomically), then sets an :class:`threading.Event` to wake a waiting
reader. :meth:`MqttMeter.read`, on the poll thread, only reads that reference.

The age of a reading is measured on the monotonic clock in wall seconds — also under an
accelerated agent clock, because staleness is about a device that stopped talking.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from agent.errors import MeterError
from agent.meters.meter_config import MeterConfig, MeterProtocol
from agent.meters.mqtt_config import DEFAULT_STALE_AFTER_S
from eco_protocol.encoding import format_time
from eco_protocol.messages import Msg
from eco_protocol.records import Quantity
from eco_runtime.broker_url import parse_broker_url
from eco_runtime.mqtt_client import ClientSettings, new_client

from .interface import Snapshot
from .mqtt_devices import (
    Device,
    DeviceSpec,
    DeviceState,
    DeviceUnavailable,
    apply_message,
    current_reading,
)

log = logging.getLogger(__name__)

DEFAULT_WARMUP_S: Final = 2.0  # the first read waits this long for the first message


@dataclass(frozen=True, slots=True)
class BrokerEndpoint:
    """Where the device publishes: ``mqtt://HOST:PORT`` or ``mqtts://HOST:PORT``."""

    url: str
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None

    def __post_init__(self) -> None:
        # BrokerURLError (a ValueError) names what to write instead
        if parse_broker_url(self.url).tls:
            object.__setattr__(self, "tls", True)

    @property
    def host(self) -> str:
        return parse_broker_url(self.url).host

    @property
    def port(self) -> int:
        return parse_broker_url(self.url).port_for(self.tls)


@dataclass(frozen=True, slots=True)
class Observation:
    """A fresh reading as :meth:`MqttMeter.observe` returns it: the snapshot plus its age."""

    snapshot: Snapshot
    age_s: float
    heard_at: float  # POSIX seconds when the message arrived
    topic: str
    raw: Mapping[str, str]


@dataclass(frozen=True, slots=True)
class _Shared:
    """What the MQTT thread hands to readers, replaced as a whole."""

    state: DeviceState
    link_problem: str | Msg | None = Msg("agent.mqtt.link.not_yet")
    listening_since: float | None = None  # monotonic time of the last SUBACK
    connected: bool = False


class MqttMeter:
    """One device register over MQTT; implements :class:`agent.meters.interface.Meter`."""

    def __init__(self, meter_id: str, spec: DeviceSpec, endpoint: BrokerEndpoint, *,
                 stale_after_s: float, warmup_s: float = DEFAULT_WARMUP_S,
                 keepalive_s: int = 30, reconnect_delay: tuple[int, int] = (1, 30),
                 monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time, start: bool = True) -> None:
        if not meter_id:
            raise ValueError("meter_id must not be empty")
        if not 0 < stale_after_s <= 7 * 86400:
            raise ValueError(f"stale_after_s {stale_after_s} not in (0, 604800]")
        self.meter_id = meter_id
        self.spec = spec
        self.endpoint = endpoint
        self.stale_after_s = stale_after_s
        self._monotonic = monotonic
        self._wall = wall
        self._shared = _Shared(DeviceState())
        self._changed = threading.Event()
        self._problem_logged = False
        self.quiet = False  # probe: the error line says it all
        self._created = monotonic()
        self._warmup_until = self._created + warmup_s
        self._started = False
        if endpoint.tls:
            from agent.uplink import check_tls_files

            check_tls_files(endpoint.ca_file)  # names [uplink] ca_file and the path
        c = new_client(ClientSettings(
            client_id=f"eco-meter-{meter_id}-{secrets.token_hex(4)}",
            host=endpoint.host, port=endpoint.port, keepalive_s=keepalive_s,
            # a password without a username logs in as nobody, as it always did
            username=endpoint.username,
            password=endpoint.password if endpoint.username is not None else None,
            tls=endpoint.tls, ca_file=endpoint.ca_file if endpoint.tls else None,
            reconnect_delay=reconnect_delay,
            max_queued_messages=16,  # we never publish; a bound all the same (pitfalls §1)
        ))
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        self._client = c
        if start:
            self.start()

    def describe(self) -> str:
        return f"meter {self.meter_id!r} ({self.spec.describe()} on {self.endpoint.url})"

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (the box must boot without a network; docs/pitfalls.md §1)."""
        if self._started:
            return
        self._client.connect_in_background()  # clean start: the device's state is not kept
        self._started = True

    def close(self) -> None:
        if not self._started:
            return
        self._started = False
        with contextlib.suppress(Exception):
            self._client.disconnect()
        self._client.loop_stop()

    # -- paho callbacks (paho's thread): never raise, never lock ----------------------------

    def _publish(self, make: Callable[[_Shared], _Shared]) -> None:
        try:
            self._shared = make(self._shared)
            self._changed.set()
        except Exception:  # a raise here would kill paho's network thread
            log.exception("%s: MQTT callback failed", self.describe())

    def _on_connect(self, client: mqtt.Client, _u: Any, _f: mqtt.ConnectFlags, rc: ReasonCode,
                    _p: Properties | None) -> None:
        if rc.is_failure:
            self._publish(lambda s: replace(
                s, connected=False,
                link_problem=Msg("agent.mqtt.link.refused", {"url": self.endpoint.url,
                                                             "rc": str(rc)})))
            return
        try:
            client.subscribe([(t, 1) for t in self.spec.subscriptions])
        except Exception:
            log.exception("%s: subscribing failed", self.describe())
        self._publish(lambda s: replace(s, connected=True, link_problem=Msg(
            "agent.mqtt.link.not_subscribed", {"url": self.endpoint.url})))

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._publish(lambda s: replace(
            s, connected=False,
            link_problem=Msg("agent.mqtt.link.unreachable", {"url": self.endpoint.url})))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: mqtt.DisconnectFlags,
                       rc: ReasonCode, _p: Properties | None) -> None:
        self._publish(lambda s: replace(
            s, connected=False, listening_since=None,
            link_problem=Msg("agent.mqtt.link.disconnected", {"url": self.endpoint.url,
                                                              "rc": str(rc)})))

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, rcs: list[ReasonCode],
                      _p: Properties | None) -> None:
        failed = [str(r) for r in rcs if r.is_failure]
        now = self._monotonic()
        if failed:
            self._publish(lambda s: replace(
                s, link_problem=Msg("agent.mqtt.link.subscription", {
                    "url": self.endpoint.url, "topics": ", ".join(self.spec.subscriptions),
                    "rc": failed[0]})))
        else:
            self._publish(lambda s: replace(s, link_problem=None, listening_since=now))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        at, wall = self._monotonic(), self._wall()
        topic, payload, retained = msg.topic, bytes(msg.payload), bool(msg.retain)
        self._publish(lambda s: replace(s, state=apply_message(
            self.spec, s.state, topic, payload, retained, at, wall)))

    # -- the reader's side -------------------------------------------------------------------------

    def observe(self, wait_s: float = 0.0) -> Observation:
        """The current reading with its age; MeterError if there is no fresh one.

        While nothing fresh has been heard, waits up to ``wait_s`` seconds (and on the first
        reads up to the warm-up time after construction) for the device to publish."""
        deadline = max(self._monotonic() + wait_s, self._warmup_until)
        while True:
            self._changed.clear()
            shared = self._shared
            now = self._monotonic()
            self._log_problem(shared.state)
            try:
                heard = current_reading(self.spec, shared.state, now=now,
                                        stale_after_s=self.stale_after_s,
                                        listening_since=shared.listening_since,
                                        link_problem=shared.link_problem)
                break
            except DeviceUnavailable as e:
                offline = shared.state.online is False
                latest = shared.state.latest
                first_pending = latest is None or latest.retained  # nothing fresh ever heard
                if offline or not first_pending or now >= deadline:
                    raise MeterError(Msg("agent.mqtt.meter", {
                        "meter": self.meter_id, "device": self.spec.describe(),
                        "url": self.endpoint.url, "error": e})) from e
                self._changed.wait(min(deadline - now, 1.0))
        reading = heard.reading
        snapshot = Snapshot(meter_id=self.meter_id, register_wh=reading.register_wh,
                            identity=self.spec.identity(), power_w=reading.power_w, wrap_wh=None,
                            raw=tuple(reading.raw.items()))
        return Observation(snapshot, max(0.0, now - heard.at), heard.wall, heard.topic,
                           dict(reading.raw))

    def read(self) -> Snapshot:
        return self.observe().snapshot

    def _log_problem(self, state: DeviceState) -> None:
        """Log an unusable payload once, until a good reading arrives again (the reading's
        MeterError repeats the cause when it matters)."""
        good_since = state.latest.wall if state.latest is not None else float("-inf")
        active = state.problem is not None and (state.problem_wall or 0.0) >= good_since
        if active and not self._problem_logged and not self.quiet:
            log.warning("%s: unusable payload on %s: %s", self.describe(), state.problem_topic,
                        state.problem)
        self._problem_logged = active


def meter_from_config(mc: MeterConfig) -> MqttMeter:
    """The runner's constructor for a tasmota/shelly/openevse ``[[meters]]`` entry. Connects in
    the background at once, so that the device's availability and first reading are in by the
    time the poll cycle reads it (the first read waits up to :data:`DEFAULT_WARMUP_S`)."""
    src = mc.mqtt
    if src is None or src.broker is None:
        raise MeterError(f"meter {mc.id!r}: protocol {mc.protocol} needs a broker and a topic")
    endpoint = BrokerEndpoint(src.broker, username=src.username, password=src.password,
                              tls=src.tls, ca_file=src.ca_file)
    return MqttMeter(mc.id, src.spec(mc.protocol), endpoint, stale_after_s=src.stale_after_s)


# -- eco-agent probe ------------------------------------------------------------------------------


def probe_report(meter: MqttMeter, quantity: Quantity, wait_s: float,
                 meter_id: str | None = None) -> dict[str, Any]:
    """What ``eco-agent probe`` prints for an MQTT meter: waits up to ``wait_s`` for a fresh
    reading (MeterError naming the topic to check if none comes)."""
    meter.quiet = True
    obs = meter.observe(wait_s)
    ident = obs.snapshot.identity
    return {"meter_id": meter_id, "quantity": quantity.value, "protocol": ident.protocol,
            "meter_manufacturer": ident.manufacturer, "meter_model": ident.model,
            "meter_serial": ident.serial, "register_wh": obs.snapshot.register_wh,
            "power_w": obs.snapshot.power_w,
            "read_at": format_time(datetime.fromtimestamp(obs.heard_at, UTC)),
            "age_s": round(obs.age_s, 1), "topic": obs.topic, "broker": meter.endpoint.url,
            "raw": dict(obs.raw)}


def probe_without_config(protocol: MeterProtocol, broker: str, topic: str, quantity: Quantity,
                         *, channel: int | None, field_name: str | None,
                         wait_s: float) -> dict[str, Any]:
    """``eco-agent probe --protocol tasmota|shelly|openevse --broker … --topic …``.

    ValueError for arguments that cannot name a device register, MeterError when the device
    does not deliver one."""
    spec = DeviceSpec(Device(protocol.value), topic, channel, field_name or "")
    endpoint = BrokerEndpoint(broker)
    stale = max(DEFAULT_STALE_AFTER_S[protocol], wait_s + 1.0)
    meter = MqttMeter("probe", spec, endpoint, stale_after_s=stale, warmup_s=0.0)
    try:
        return probe_report(meter, quantity, wait_s)
    finally:
        meter.close()
