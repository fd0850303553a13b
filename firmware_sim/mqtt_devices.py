"""Simulated MQTT energy devices on a real broker: a Tasmota plug/meter, a Shelly Pro 3EM and an
OpenEVSE charger, publishing what the real firmware publishes, driven by the seeded physical
models (:mod:`firmware_sim.solar`, :mod:`firmware_sim.household`, :mod:`firmware_sim.ev`).

What each one sends (sources in :mod:`agent.meters.mqtt_payloads` and
``tests/vectors/mqtt_devices.json``):

* **Tasmota** (``tasmota``): ``Online`` retained on ``tele/<topic>/LWT`` at connect, will
  ``Offline`` (retained); ``tele/<topic>/SENSOR`` ``{"Time":…,"ENERGY":{"TotalStartTime":…,
  "Total":…,"Yesterday":…,"Today":…,"Period":…,"Power":…,…}}`` every TelePeriod (300 s by
  default), kWh with 3 decimals; with ``channels > 1`` one value per channel (SetOption129 1,
  as a Sonoff Dual R3 sends them). The source is a PV array (``pv``) or a household (``load``).
* **Shelly Pro 3EM** (``shelly-pro3em``, triphase profile): ``true`` retained on
  ``<prefix>/online``, will ``false``; every minute a ``NotifyStatus`` on ``<prefix>/events/rpc``
  with the ``emdata:0`` counters that changed since the last frame (partial, as the docs allow)
  and ``em:0`` powers; the full ``emdata:0`` status on ``<prefix>/status/emdata:0``
  (``status_ntf``) at connect and every ``full_every`` minutes. Counters in Wh with 2 decimals:
  grid import ``total_act`` and export ``total_act_ret`` from household load minus PV (and,
  with a :class:`~firmware_sim.battery.HomeBattery`, minus its discharge plus its charge: PV
  stored by day, partly exported on its evening schedule).
* **OpenEVSE** (``openevse``): retained ``{"state":"connected","id","name","mqtt","http"}`` on
  ``openevse/announce/<last 4 of id>``, will ``"state":"disconnected"``; every 30 s each status
  key as its own topic ``<base>/<key>`` with a plain-text value (``total_energy`` kWh,
  ``session_energy`` Wh, ``state`` 1/2/3, ``amp`` mA, ``voltage``, ``pilot``, ``power``, …),
  from seeded evening sessions at 3–6 kW.

Fault injection, in wall-clock seconds after start: ``offline_after_s`` — the device drops off
(an MQTT v5 DISCONNECT with reason 0x04 makes the broker publish the will, exactly as when a
real device loses power); ``silent_after_s`` — it stays connected but publishes nothing more;
``malformed_fraction`` — that share of readings is replaced by a broken payload (truncated
JSON, NaN, a string for a number, an empty message), chosen by a seeded RNG. Stopping the
simulator is a power-off: the will is published.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.reasoncodes import ReasonCode

from agent.clock import Clock
from eco_runtime.broker_url import BrokerURLError, parse_broker_url
from eco_runtime.mqtt_client import ClientSettings, Will, new_client
from firmware_sim.battery import HomeBattery
from firmware_sim.ev import EvCharger, EvState
from firmware_sim.household import Household
from firmware_sim.solar import JST, PvSystem

log = logging.getLogger(__name__)


class DeviceKind(enum.StrEnum):
    TASMOTA = "tasmota"
    SHELLY_PRO3EM = "shelly-pro3em"
    OPENEVSE = "openevse"


DEFAULT_PERIOD_S = {DeviceKind.TASMOTA: 300.0, DeviceKind.SHELLY_PRO3EM: 60.0,
                    DeviceKind.OPENEVSE: 30.0}


@dataclass(frozen=True, slots=True)
class Faults:
    offline_after_s: float | None = None
    silent_after_s: float | None = None
    malformed_fraction: float = 0.0

    def __post_init__(self) -> None:
        for name in ("offline_after_s", "silent_after_s"):
            v = getattr(self, name)
            if v is not None and not v >= 0:
                raise ValueError(f"{name} must be ≥ 0")
        if not 0.0 <= self.malformed_fraction <= 1.0:
            raise ValueError("malformed fraction must be within 0..1")


def _plain(x: float, decimals: int) -> str:
    """A number as ArduinoJson-style plain text: no exponent, no trailing zeros."""
    text = f"{x:.{decimals}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _fixed(x: float, decimals: int) -> str:
    return f"{x:.{decimals}f}"


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


class _Raw(str):
    """A number already formatted; emitted verbatim by :func:`_dumps`."""


def _dumps(obj: Any) -> bytes:
    """Compact JSON where :class:`_Raw` values are written as bare numbers (exact decimals)."""
    if isinstance(obj, _Raw):
        return str(obj).encode()
    if isinstance(obj, dict):
        return b"{" + b",".join(json.dumps(k).encode() + b":" + _dumps(v)
                                for k, v in obj.items()) + b"}"
    if isinstance(obj, list):
        return b"[" + b",".join(_dumps(v) for v in obj) + b"]"
    return json.dumps(obj).encode()


def malformed(payload: bytes, rng: random.Random) -> bytes:
    """One broken variant of ``payload``."""
    choice = rng.randrange(5)
    if choice == 0:
        return payload[: max(1, len(payload) // 2)]  # truncated
    if choice == 1:
        return b""
    if choice == 2:
        return b"NaN"
    if choice == 3:
        return b"\xff\xfe garbage"
    return b'{"Total":"lots"}'


class SimDevice:
    """Common part: MQTT session, availability, the publishing loop and fault injection."""

    kind: DeviceKind

    def __init__(self, broker_url: str, topic: str, seed: int, clock: Clock, *,
                 period_s: float | None = None, faults: Faults | None = None) -> None:
        try:
            url = parse_broker_url(broker_url)
        except BrokerURLError as e:
            raise ValueError(f"broker {e}") from e
        if url.tls:
            # it used to accept mqtts:// and then connect without TLS; a Tasmota or Shelly on
            # the home network talks plain MQTT to a local broker, and so does the simulator
            raise ValueError(f"broker {broker_url!r}: the simulated devices speak plain MQTT "
                             "(mqtt://HOST:PORT), as the real ones do to a local broker")
        if not topic or any(c in topic for c in "+#") or topic.startswith("/"):
            raise ValueError(f"topic {topic!r} is not a plain topic")
        self.broker_url = broker_url
        self.host = url.host
        self.port = url.port
        self.topic = topic
        self.seed = seed
        self.clock = clock
        self.period_s = period_s if period_s is not None else DEFAULT_PERIOD_S[self.kind]
        if not self.period_s > 0:
            raise ValueError("period must be positive")
        self.faults = faults or Faults()
        self._rng = random.Random(f"eco-sim/mqtt/{self.kind}/{seed}/faults")
        self._stop = threading.Event()
        self._connected = threading.Event()
        self._connect_failed = threading.Event()
        self._thread: threading.Thread | None = None
        self._started_mono = 0.0
        self.state = "stopped"  # running / silent / offline / stopped
        self.last_published: dict[str, bytes] = {}
        self.history: deque[tuple[str, bytes]] = deque(maxlen=2000)  # (topic, payload) sent
        self.publish_count = 0
        self._last_t: datetime | None = None
        topic_, payload = self.will()
        c = new_client(ClientSettings(
            client_id=f"sim-{self.kind}-{topic}"[:64], host=self.host, port=self.port,
            keepalive_s=10, will=Will(topic_, payload, qos=1, retain=True),
            # readings go out at QoS 0 (dropped while offline); only the retained availability
            # messages queue
            max_queued_messages=16, reconnect_delay=(1, 5)))
        c.on_connect = self._on_connect
        c.on_connect_fail = lambda *_a: self._connect_failed.set()
        self._client = c

    # -- to be provided by each device ------------------------------------------------------------

    def will(self) -> tuple[str, bytes]:
        raise NotImplementedError

    def online(self) -> tuple[str, bytes]:
        raise NotImplementedError

    def advance(self, start: datetime, end: datetime) -> None:
        """Move the registers through [start, end) of simulated time."""
        raise NotImplementedError

    def messages(self, now: datetime, first: bool) -> list[tuple[str, bytes, bool]]:
        """(topic, payload, is_reading) to publish at ``now``."""
        raise NotImplementedError

    def serial(self) -> str:
        return self.topic

    @property
    def data_topic(self) -> str:
        raise NotImplementedError

    # -- MQTT ---------------------------------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, *_a: Any) -> None:
        try:
            topic, payload = self.online()
            client.publish(topic, payload, qos=1, retain=True)
            self._connected.set()
        except Exception:  # never kill paho's thread
            log.exception("simulated device: on_connect failed")

    def start(self, timeout: float = 10.0) -> None:
        self._client.connect_in_background()
        deadline = time.monotonic() + timeout
        while not self._connected.wait(0.05):
            if self._connect_failed.is_set() or time.monotonic() > deadline:
                break
        if not self._connected.is_set():
            self._client.loop_stop()
            raise OSError(f"cannot connect to the broker at {self.broker_url}")
        self._started_mono = time.monotonic()
        self.state = "running"
        self._last_t = self.clock.now()
        self._tick(first=True)
        self._thread = threading.Thread(target=self._run, name=f"sim-{self.kind}", daemon=True)
        self._thread.start()

    def _elapsed(self) -> float:
        return time.monotonic() - self._started_mono

    def _tick(self, first: bool = False) -> None:
        now = self.clock.now()
        assert self._last_t is not None
        if now > self._last_t:
            self.advance(self._last_t, now)
            self._last_t = now
        f = self.faults
        if f.offline_after_s is not None and self._elapsed() >= f.offline_after_s:
            self.go_offline()
            return
        if f.silent_after_s is not None and self._elapsed() >= f.silent_after_s:
            self.state = "silent"
            return
        for topic, payload, is_reading in self.messages(now, first):
            if is_reading and f.malformed_fraction and self._rng.random() < f.malformed_fraction:
                payload = malformed(payload, self._rng)
            self._client.publish(topic, payload, qos=0)
            self.last_published[topic] = payload
            self.history.append((topic, payload))
        self.publish_count += 1

    def _run(self) -> None:
        while not self._stop.is_set():
            wait = self.period_s / self.clock.speed()
            if self._stop.wait(wait):
                break
            if self.state != "running":
                continue
            try:
                self._tick()
            except Exception:
                log.exception("simulated device: publishing failed")

    def go_offline(self) -> None:
        """Drop off the broker so that it publishes the will (like losing power)."""
        if self.state in ("offline", "stopped"):
            return
        self.state = "offline"
        with contextlib.suppress(Exception):
            self._client.disconnect(reasoncode=ReasonCode(PacketTypes.DISCONNECT, identifier=4))

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(5)
        self.go_offline()
        self._client.loop_stop()
        self.state = "stopped"

    def announce(self) -> dict[str, Any]:
        will_topic, _ = self.will()
        return {"device": self.kind.value, "topic": self.topic, "broker": self.broker_url,
                "data_topic": self.data_topic, "availability_topic": will_topic,
                "serial": self.serial(), "period_s": self.period_s}


# --- Tasmota -----------------------------------------------------------------------------------


class TasmotaSim(SimDevice):
    kind = DeviceKind.TASMOTA

    def __init__(self, broker_url: str, topic: str, seed: int, clock: Clock, *,
                 source: str = "pv", rated_w: float = 4500.0, channels: int = 1,
                 period_s: float | None = None, faults: Faults | None = None,
                 initial_wh: list[float] | None = None) -> None:
        if source not in ("pv", "load"):
            raise ValueError("source must be pv or load")
        if not 1 <= channels <= 8:
            raise ValueError("channels must be within 1..8")
        self.models: list[Callable[[datetime, datetime], float]] = []
        self.power: list[Callable[[datetime], float]] = []
        for i in range(channels):
            if source == "pv":
                pv = PvSystem(rated_w, seed + i)
                self.models.append(pv.energy_wh)
                self.power.append(pv.power_w)
            else:
                hh = Household(seed + i)
                self.models.append(hh.energy_wh)
                self.power.append(hh.power_w)
        rng = random.Random(f"eco-sim/mqtt/tasmota/{seed}/initial")
        self.total_wh = (list(initial_wh) if initial_wh is not None
                         else [rng.uniform(50_000, 900_000) for _ in range(channels)])
        if len(self.total_wh) != channels:
            raise ValueError("one initial register per channel")
        self.channels = channels
        self.today_wh = [0.0] * channels
        self.yesterday_wh = [0.0] * channels
        self.period_wh = [0.0] * channels
        self._day = clock.now().astimezone(JST).date()
        self.start_time = clock.now().astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S")
        super().__init__(broker_url, topic, seed, clock, period_s=period_s, faults=faults)

    @property
    def data_topic(self) -> str:
        return f"tele/{self.topic}/SENSOR"

    def will(self) -> tuple[str, bytes]:
        return f"tele/{self.topic}/LWT", b"Offline"

    def online(self) -> tuple[str, bytes]:
        return f"tele/{self.topic}/LWT", b"Online"

    def advance(self, start: datetime, end: datetime) -> None:
        for i, energy in enumerate(self.models):
            wh = energy(start, end)
            self.total_wh[i] += wh
            self.period_wh[i] += wh
            day = end.astimezone(JST).date()
            if day != self._day:
                self.yesterday_wh[i], self.today_wh[i] = self.today_wh[i], 0.0
            self.today_wh[i] += wh
        self._day = end.astimezone(JST).date()

    def total_texts(self) -> list[str]:
        return [_fixed(w / 1000, 3) for w in self.total_wh]

    def sensor_payload(self, now: datetime) -> bytes:
        def many(values: list[float], decimals: int, scale: float = 1.0) -> Any:
            texts = [_Raw(_fixed(v * scale, decimals)) for v in values]
            return texts[0] if self.channels == 1 else texts

        power = [self.power[i](now) for i in range(self.channels)]
        energy = {
            "TotalStartTime": self.start_time,
            "Total": many(self.total_wh, 3, 0.001),
            "Yesterday": many(self.yesterday_wh, 3, 0.001),
            "Today": many(self.today_wh, 3, 0.001),
            "Period": many(self.period_wh, 0),
            "Power": many(power, 0),
            "Voltage": 101,  # Japan: 100 V nominal
            "Current": many([p / 101 for p in power], 3),
        }
        self.period_wh = [0.0] * self.channels
        return _dumps({"Time": now.astimezone(JST).strftime("%Y-%m-%dT%H:%M:%S"),
                       "ENERGY": energy})

    def messages(self, now: datetime, first: bool) -> list[tuple[str, bytes, bool]]:
        return [(self.data_topic, self.sensor_payload(now), True)]


# --- Shelly Pro 3EM ---------------------------------------------------------------------------

_PHASE_SHARES = (0.5, 0.3, 0.2)


class ShellyPro3EmSim(SimDevice):
    kind = DeviceKind.SHELLY_PRO3EM

    def __init__(self, broker_url: str, topic: str, seed: int, clock: Clock, *,
                 rated_w: float = 4500.0, period_s: float | None = None,
                 faults: Faults | None = None, full_every: int = 10,
                 step_s: float = 60.0, battery: HomeBattery | None = None) -> None:
        self.pv = PvSystem(rated_w, seed)
        self.household = Household(seed)
        self.battery = battery
        self.battery_w = 0.0  # the battery's power in the last step (+ discharging)
        self.step_s = step_s
        self.full_every = max(1, full_every)
        rng = random.Random(f"eco-sim/mqtt/shelly/{seed}/initial")
        self.import_wh = rng.uniform(1_000_000, 9_000_000)
        self.export_wh = rng.uniform(500_000, 6_000_000)
        self.mac = f"{rng.getrandbits(48):012x}"
        self._sent: dict[str, str] = {}
        self._frames = 0
        self.power_w = 0.0
        super().__init__(broker_url, topic, seed, clock, period_s=period_s, faults=faults)

    def serial(self) -> str:
        return self.src

    @property
    def src(self) -> str:
        return self.topic if self.topic.startswith("shellypro3em-") else f"shellypro3em-{self.mac}"

    @property
    def data_topic(self) -> str:
        return f"{self.topic}/events/rpc"

    def will(self) -> tuple[str, bytes]:
        return f"{self.topic}/online", b"false"

    def online(self) -> tuple[str, bytes]:
        return f"{self.topic}/online", b"true"

    def net_w(self, t: datetime) -> float:
        """Power drawn from the grid (negative: exported), W; the battery's power is the one
        of the last step (it changes only as :meth:`advance` moves time on)."""
        return self.household.power_w(t) - self.pv.power_w(t) - self.battery_w

    def advance(self, start: datetime, end: datetime) -> None:
        span = (end - start).total_seconds()
        steps = max(1, min(20_000, int(span // self.step_s) + 1))
        h = span / steps
        for i in range(steps):
            t = start + timedelta(seconds=(i + 0.5) * h)
            if self.battery is not None:
                self.battery_w = self.battery.step(
                    t, self.pv.power_w(t) - self.household.power_w(t), h)
            p = self.net_w(t)
            if p >= 0:
                self.import_wh += p * h / 3600
            else:
                self.export_wh += -p * h / 3600

    def emdata(self) -> dict[str, _Raw | int]:
        out: dict[str, _Raw | int] = {"id": 0}
        for phase, share in zip("abc", _PHASE_SHARES, strict=True):
            out[f"{phase}_total_act_energy"] = _Raw(_fixed(self.import_wh * share, 2))
            out[f"{phase}_total_act_ret_energy"] = _Raw(_fixed(self.export_wh * share, 2))
        out["total_act"] = _Raw(_fixed(self.import_wh, 2))
        out["total_act_ret"] = _Raw(_fixed(self.export_wh, 2))
        return out

    def messages(self, now: datetime, first: bool) -> list[tuple[str, bytes, bool]]:
        full = self.emdata()
        msgs: list[tuple[str, bytes, bool]] = []
        if first or self._frames % self.full_every == 0:
            msgs.append((f"{self.topic}/status/emdata:0", _dumps(full), True))
            partial: dict[str, Any] = dict(full)
        else:  # only what changed since the last frame (the docs allow leaving the rest out)
            partial = {"id": 0, **{k: v for k, v in full.items()
                                   if k != "id" and self._sent.get(k) != str(v)}}
        self._sent = {k: str(v) for k, v in full.items()}
        self._frames += 1
        p = self.net_w(now)
        ts = _Raw(_fixed(now.timestamp(), 2))
        msgs.append((f"{self.topic}/events/rpc", _dumps({
            "src": self.src, "dst": f"{self.topic}/events", "method": "NotifyStatus",
            "params": {"ts": ts, "emdata:0": partial}}), True))
        msgs.append((f"{self.topic}/events/rpc", _dumps({
            "src": self.src, "dst": f"{self.topic}/events", "method": "NotifyStatus",
            "params": {"ts": ts, "em:0": {
                "id": 0, **{f"{ph}_act_power": _Raw(_fixed(p * s, 1))
                            for ph, s in zip("abc", _PHASE_SHARES, strict=True)},
                "total_act_power": _Raw(_fixed(p, 3))}}}), False))
        return msgs


# --- OpenEVSE ----------------------------------------------------------------------------------


class OpenEvseSim(SimDevice):
    kind = DeviceKind.OPENEVSE
    VOLTAGE = 200  # Japanese 200 V single phase for EV charging

    def __init__(self, broker_url: str, topic: str, seed: int, clock: Clock, *,
                 period_s: float | None = None, faults: Faults | None = None) -> None:
        self.ev = EvCharger(seed)
        rng = random.Random(f"eco-sim/mqtt/openevse/{seed}/initial")
        self.device_id = f"{rng.getrandbits(48):012x}"
        self.total_kwh = rng.uniform(100, 3000)
        self.today_kwh = 0.0
        self._day = clock.now().astimezone(JST).date()
        super().__init__(broker_url, topic, seed, clock, period_s=period_s, faults=faults)

    def serial(self) -> str:
        return self.device_id

    @property
    def announce_topic(self) -> str:
        return f"openevse/announce/{self.device_id[-4:]}"

    @property
    def data_topic(self) -> str:
        return f"{self.topic}/total_energy"

    def _announce(self, state: str) -> bytes:
        doc: dict[str, Any] = {"state": state, "id": self.device_id,
                               "name": self.topic.rsplit("/", 1)[-1]}
        if state == "connected":
            doc.update({"mqtt": self.topic, "http": "http://192.0.2.43/"})
        return _json(doc)

    def will(self) -> tuple[str, bytes]:
        return self.announce_topic, self._announce("disconnected")

    def online(self) -> tuple[str, bytes]:
        return self.announce_topic, self._announce("connected")

    def advance(self, start: datetime, end: datetime) -> None:
        kwh = self.ev.energy_wh(start, end) / 1000
        self.total_kwh += kwh
        day = end.astimezone(JST).date()
        if day != self._day:
            self.today_kwh, self._day = 0.0, day
        self.today_kwh += kwh

    def messages(self, now: datetime, first: bool) -> list[tuple[str, bytes, bool]]:
        power = self.ev.power_w(now)
        state = self.ev.state(now)
        session = self.ev.session_at(now)
        elapsed = 0 if session is None or state is EvState.NOT_CONNECTED else int(
            (min(now, session.charge_end) - session.plugged_in).total_seconds())
        values = {
            "amp": str(int(power / self.VOLTAGE * 1000)),
            "voltage": str(self.VOLTAGE),
            "pilot": "32",
            "state": str(int(state)),
            "power": str(power),
            "temp": "282",
            "session_elapsed": str(elapsed),
            "session_energy": _plain(self.ev.session_energy_wh(now), 2),
            "total_day": _plain(self.today_kwh, 6),
            "total_energy": _plain(self.total_kwh, 6),
        }
        return [(f"{self.topic}/{k}", v.encode(), k in ("total_energy", "session_energy"))
                for k, v in values.items()]


def make_device(kind: DeviceKind, broker_url: str, topic: str, seed: int, clock: Clock, *,
                period_s: float | None = None, faults: Faults | None = None,
                source: str = "pv", rated_w: float = 4500.0, channels: int = 1,
                battery: HomeBattery | None = None) -> SimDevice:
    if battery is not None and kind is not DeviceKind.SHELLY_PRO3EM:
        raise ValueError("a home battery is simulated behind the Shelly Pro 3EM only")
    match kind:
        case DeviceKind.TASMOTA:
            return TasmotaSim(broker_url, topic, seed, clock, source=source, rated_w=rated_w,
                              channels=channels, period_s=period_s, faults=faults)
        case DeviceKind.SHELLY_PRO3EM:
            return ShellyPro3EmSim(broker_url, topic, seed, clock, rated_w=rated_w,
                                   period_s=period_s, faults=faults, battery=battery)
        case DeviceKind.OPENEVSE:
            return OpenEvseSim(broker_url, topic, seed, clock, period_s=period_s, faults=faults)

