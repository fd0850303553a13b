"""The seeded household load and EV session models, the simulated MQTT devices' payloads (decoded
by the agent's own decoders), and ``eco-sim mqtt`` as a process on the real broker."""

from __future__ import annotations

import json
import random
import select
import signal
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.clock import ManualClock
from agent.meters.mqtt_payloads import (
    PayloadError,
    decode_shelly_energy,
    decode_tasmota_sensor,
    overlay,
    parse_plain_number,
    parse_shelly_frame,
    parse_shelly_status,
)
from aggregator.mosquitto import Mosquitto, free_port
from firmware_sim.battery import HomeBattery
from firmware_sim.ev import EvCharger, EvState, session_on
from firmware_sim.household import Household
from firmware_sim.mqtt_devices import (
    DeviceKind,
    Faults,
    OpenEvseSim,
    ShellyPro3EmSim,
    TasmotaSim,
    make_device,
    malformed,
)
from firmware_sim.solar import JST

T0 = datetime(2026, 6, 21, 3, 0, tzinfo=UTC)  # 12:00 JST


# --- household load ------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [1, 2])
def test_household_year_is_4000_to_5000_kwh(seed: int) -> None:
    h = Household(seed)
    start = datetime(2025, 12, 31, 15, tzinfo=UTC)  # 2026-01-01 00:00 JST
    kwh = sum(h.energy_wh(start + timedelta(days=d), start + timedelta(days=d + 1), step_s=900)
              for d in range(365)) / 1000
    assert 4000 <= kwh <= 5000


def test_household_has_morning_and_evening_peaks_and_is_deterministic() -> None:
    h = Household(5)
    day = datetime(2026, 3, 10, tzinfo=JST)  # a Tuesday

    def at(hour: float) -> float:
        return h.power_w(day + timedelta(hours=hour))

    assert at(7) > at(3) and at(19.5) > at(14) and at(19.5) > at(7)
    assert Household(5).power_w(day) == h.power_w(day)
    with pytest.raises(ValueError, match="timezone-aware"):
        h.power_w(datetime(2026, 3, 10))


# --- EV sessions ---------------------------------------------------------------------------------


def test_ev_sessions_are_evening_3_to_6_kw_and_energy_is_exact() -> None:
    ev = EvCharger(7)
    sessions = [s for d in range(120) if (s := session_on(7, date(2026, 1, 1) + timedelta(d)))]
    assert 40 <= len(sessions) <= 90
    for s in sessions:
        local = s.plugged_in.astimezone(JST)
        assert 17.5 <= local.hour + local.minute / 60 < 22
        assert 3000 <= s.power_w <= 6000
        assert ev.energy_wh(s.plugged_in - timedelta(hours=1),
                            s.charge_end + timedelta(hours=1)) == pytest.approx(s.energy_wh)
        assert ev.state(s.plugged_in + timedelta(seconds=1)) is EvState.CHARGING
        assert ev.power_w(s.plugged_in + timedelta(seconds=1)) == s.power_w
        assert ev.state(s.charge_end + timedelta(seconds=1)) in (EvState.CONNECTED,
                                                                  EvState.NOT_CONNECTED)
        assert ev.session_energy_wh(s.charge_end) == pytest.approx(s.energy_wh)
    noon = datetime(2026, 2, 1, 3, tzinfo=UTC)
    assert ev.power_w(noon) == 0 and ev.state(noon) is EvState.NOT_CONNECTED


def test_ev_year_matches_8000_to_10000_km() -> None:
    ev = EvCharger(3)
    start = datetime(2025, 12, 31, 15, tzinfo=UTC)
    kwh = ev.energy_wh(start, start + timedelta(days=365)) / 1000
    assert 1100 <= kwh <= 1800  # 8,000–10,000 km at 6–7 km/kWh


# --- payloads as the agent decodes them ----------------------------------------------------------


def test_tasmota_sim_payloads_decode() -> None:
    clock = ManualClock(T0)
    sim = TasmotaSim("mqtt://127.0.0.1:1", "plug", 4, clock, channels=2, source="pv",
                     initial_wh=[1000.0, 2500.5])
    sim.advance(T0, T0 + timedelta(minutes=5))
    payload = sim.sensor_payload(T0 + timedelta(minutes=5))
    texts = sim.total_texts()
    for ch in (0, 1):
        r = decode_tasmota_sensor(payload, channel=ch)
        assert r.register_wh == int(Decimal(texts[ch]) * 1000)
        assert r.power_w is not None and r.power_w > 0
    with pytest.raises(PayloadError, match="list of 2"):
        decode_tasmota_sensor(payload)
    doc = json.loads(payload)
    assert doc["Time"] == "2026-06-21T12:05:00" and len(doc["ENERGY"]["Today"]) == 2
    single = TasmotaSim("mqtt://127.0.0.1:1", "p1", 4, clock, initial_wh=[5.0])
    assert decode_tasmota_sensor(single.sensor_payload(T0)).register_wh == 5


def test_shelly_sim_sends_partial_frames_that_overlay_to_the_full_status() -> None:
    clock = ManualClock(T0)
    sim = ShellyPro3EmSim("mqtt://127.0.0.1:1", "shellypro3em-abc", 6, clock, full_every=3)
    t = T0
    known: dict[str, Any] = {}
    for i in range(6):
        sim.advance(t, t + timedelta(minutes=1))
        t += timedelta(minutes=1)
        for topic, payload, _ in sim.messages(t, first=i == 0):
            if topic.endswith("/status/emdata:0"):
                known = parse_shelly_status(payload)
            elif topic.endswith("/events/rpc"):
                frame = parse_shelly_frame(payload)
                assert frame is not None and frame.src == "shellypro3em-abc"
                if "emdata:0" in frame.components:
                    known = overlay(known, frame.components["emdata:0"])
        assert Decimal(str(known["total_act"])) == Decimal(f"{sim.import_wh:.2f}")
        assert Decimal(str(known["total_act_ret"])) == Decimal(f"{sim.export_wh:.2f}")
        r = decode_shelly_energy("emdata:0", known, "total_act_ret")
        assert r is not None and r.register_wh == int(sim.export_wh * 100) // 100
    # at noon in June the array exports: import does not move, so frames leave it out
    assert sim.net_w(t) < 0


def test_home_battery_stores_the_surplus_and_exports_in_the_evening() -> None:
    """Behind the Shelly: by day the battery takes the PV surplus (less is exported), from
    17:00 JST it discharges at full power, so the meter counts export after sunset."""
    day = datetime(2026, 5, 1, tzinfo=JST)
    plain = ShellyPro3EmSim("mqtt://127.0.0.1:1", "shellypro3em-a", 13, ManualClock(day),
                            rated_w=6000)
    battery = HomeBattery(7000, 2000)
    stored = ShellyPro3EmSim("mqtt://127.0.0.1:1", "shellypro3em-b", 13, ManualClock(day),
                             rated_w=6000, battery=battery)
    exports: dict[str, list[float]] = {"plain": [], "battery": []}
    for h in range(24):
        t = day + timedelta(hours=h)
        for name, sim in (("plain", plain), ("battery", stored)):
            before = sim.export_wh
            sim.advance(t, t + timedelta(hours=1))
            exports[name].append(sim.export_wh - before)
        if h == 16:
            assert battery.soc_wh == pytest.approx(7000)  # full by the evening
    assert sum(exports["battery"][6:17]) < sum(exports["plain"][6:17]) - 6000
    assert sum(exports["plain"][19:24]) == 0  # no sun, no export without a battery
    assert sum(exports["battery"][19:21]) > 1000  # the battery's evening export
    assert battery.soc_wh == 0  # emptied by 21:00
    with pytest.raises(ValueError):
        HomeBattery(0, 2000)
    with pytest.raises(ValueError, match="Shelly"):
        make_device(DeviceKind.TASMOTA, "mqtt://127.0.0.1:1", "p", 1, ManualClock(day),
                    battery=HomeBattery(1000, 500))


def test_openevse_sim_topics() -> None:
    clock = ManualClock(T0)
    sim = OpenEvseSim("mqtt://127.0.0.1:1", "openevse-55ad", 9, clock)
    msgs = {t: p for t, p, _ in sim.messages(T0, first=True)}
    assert set(msgs) >= {"openevse-55ad/total_energy", "openevse-55ad/session_energy",
                         "openevse-55ad/state", "openevse-55ad/amp"}
    assert parse_plain_number(msgs["openevse-55ad/total_energy"], "t") == Decimal(
        msgs["openevse-55ad/total_energy"].decode())
    topic, will = sim.will()
    assert topic == f"openevse/announce/{sim.device_id[-4:]}"
    assert json.loads(will) == {"state": "disconnected", "id": sim.device_id,
                                "name": "openevse-55ad"}
    assert json.loads(sim.online()[1])["mqtt"] == "openevse-55ad"


def test_malformed_variants_are_refused() -> None:
    rng = random.Random(1)
    good = b'{"Time":"x","ENERGY":{"Total":1.5}}'
    for _ in range(30):
        with pytest.raises(PayloadError):
            decode_tasmota_sensor(malformed(good, rng))


def test_fault_validation() -> None:
    with pytest.raises(ValueError):
        Faults(malformed_fraction=1.5)
    with pytest.raises(ValueError):
        Faults(offline_after_s=-1)
    with pytest.raises(ValueError, match="is not a broker URL: use mqtt://"):
        TasmotaSim("http://x", "p", 1, ManualClock(T0))
    # it used to accept mqtts:// and connect without TLS
    with pytest.raises(ValueError, match="speak plain MQTT"):
        TasmotaSim("mqtts://broker.example", "p", 1, ManualClock(T0))


# --- eco-sim mqtt as a process -------------------------------------------------------------------


def _eco_sim(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "firmware_sim.cli", "mqtt", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _retained(port: int, topic: str, timeout: float = 5.0) -> bytes | None:
    got: list[bytes] = []
    done = threading.Event()

    def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        if msg.retain:
            got.append(bytes(msg.payload))
            done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_message = on_message
    c.on_connect = lambda cl, *_a: cl.subscribe(topic, qos=1)
    c.connect("127.0.0.1", port)
    c.loop_start()
    try:
        done.wait(timeout)
    finally:
        c.disconnect()
        c.loop_stop()
    return got[-1] if got else None


@pytest.mark.integration
@pytest.mark.parametrize("device", ["tasmota", "shelly-pro3em", "openevse"])
def test_eco_sim_mqtt_announces_publishes_and_leaves_its_will(broker: Mosquitto,
                                                              device: str) -> None:
    t = f"sim-{uuid.uuid4().hex[:8]}"
    proc = _eco_sim("--broker", broker.url, "--device", device, "--topic", t, "--seed", "3",
                   "--speed", "600", "--origin-sim", "2026-06-21T12:00+09:00", "--period", "60")
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 10)
        assert ready, "eco-sim printed nothing"
        info = json.loads(proc.stdout.readline())
        assert info["device"] == device and info["topic"] == t
        availability = info["availability_topic"]
        # retained, as a late-joining agent sees it: a subscription made before the simulator
        # announced gets the announcement live (not retained) and looks again
        online = None
        deadline = time.monotonic() + 10
        while online is None and time.monotonic() < deadline:
            online = _retained(broker.port, availability, timeout=1.0)
        assert online in (b"Online", b"true") or json.loads(online or b"{}")["state"] == \
            "connected"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        gone = _retained(broker.port, availability)
        assert gone in (b"Offline", b"false") or json.loads(gone or b"{}")["state"] == \
            "disconnected"
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(5)
        for f in (proc.stdout, proc.stderr):
            if f is not None:
                f.close()


@pytest.mark.integration
def test_eco_sim_mqtt_errors() -> None:
    proc = _eco_sim("--broker", f"mqtt://127.0.0.1:{free_port()}", "--device", "tasmota",
                   "--topic", "p")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 1 and "cannot connect to the broker" in err
    proc = _eco_sim("--broker", "mqtt://127.0.0.1:1883", "--device", "tasmota", "--topic", "p",
                   "--malformed", "2")
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 2 and "malformed fraction" in err
