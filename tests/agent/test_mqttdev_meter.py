"""MqttMeter against the simulated devices (firmware_sim.mqtt_devices) over the real Mosquitto
broker: registers read exactly, multi-channel Tasmota, Shelly partial NotifyStatus overlaid on
the full status, offline / silent / malformed / retained / unreachable reported as MeterError,
``eco-agent probe`` both ways, and ``eco-agent run`` delivering readings from a Tasmota plug."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from agent.cli import main
from agent.clock import AcceleratedClock
from agent.config import load_config
from agent.errors import MeterError
from agent.meters.mqtt_devices import Device, DeviceSpec
from agent.meters.mqtt_meter import BrokerEndpoint, MqttMeter, Observation
from agent.runner import build_agent
from aggregator.mosquitto import Mosquitto, free_port
from eco_protocol.keyfile import load_or_create_private_key
from firmware_sim.mqtt_devices import (
    Faults,
    OpenEvseSim,
    ShellyPro3EmSim,
    SimDevice,
    TasmotaSim,
)
from tests.agent.agent_kit import Responder, wait_for, write_config

pytestmark = pytest.mark.integration

ORIGIN_SIM = 1_782_000_000.0  # 2026-06-21 09:00 JST: the sun is up


def _fast_clock(rate: float = 600.0) -> AcceleratedClock:
    return AcceleratedClock(origin_sim=ORIGIN_SIM, origin_wall=time.time(), rate=rate)


def _topic(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _floor_wh(text: str, scale: int) -> int:
    return int((Decimal(text) * scale).to_integral_value(rounding=ROUND_FLOOR))


@contextmanager
def _running(*devices: SimDevice) -> Iterator[None]:
    for d in devices:
        d.start()
    try:
        yield
    finally:
        for d in devices:
            d.stop()


@contextmanager
def _meter(broker: Mosquitto, spec: DeviceSpec, stale_after_s: float = 5.0,
          url: str | None = None) -> Iterator[MqttMeter]:
    m = MqttMeter("m1", spec, BrokerEndpoint(url or broker.url), stale_after_s=stale_after_s,
                  warmup_s=0.0)
    try:
        yield m
    finally:
        m.close()


def _observe_when(m: MqttMeter, cond: Callable[[Observation], bool],
                 timeout: float = 10.0) -> Observation:
    last: list[Observation] = []

    def ok() -> bool:
        try:
            obs = m.observe()
        except MeterError:
            return False
        last[:] = [obs]
        return cond(obs)

    assert wait_for(ok, timeout=timeout), f"condition never met (last: {last})"
    return last[0]


def _error_when(m: MqttMeter, needle: str, timeout: float = 10.0) -> str:
    seen: list[str] = []

    def failing() -> bool:
        try:
            m.observe()
        except MeterError as e:
            seen[:] = [str(e)]
            return needle in str(e)
        return False

    assert wait_for(failing, timeout=timeout), f"no MeterError with {needle!r} (last: {seen})"
    return seen[0]


class _Publisher:
    """A bare MQTT client standing in for a device whose every payload the test chooses."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def send(self, t: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(t, payload, qos=1, retain=retain).wait_for_publish(5)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def publisher(broker: Mosquitto) -> Iterator[_Publisher]:
    p = _Publisher(broker.port)
    yield p
    p.close()


# --- readings ------------------------------------------------------------------------------------


def test_tasmota_plug_register_is_the_published_total_exactly(broker: Mosquitto) -> None:
    t = _topic("plug")
    sim = TasmotaSim(broker.url, t, 7, _fast_clock(), period_s=60)
    with _running(sim), _meter(broker, DeviceSpec(Device.TASMOTA, t)) as m:
        obs = _observe_when(m, lambda o: o.snapshot.register_wh > 0)
        text = obs.raw["ENERGY.Total"]
        assert obs.snapshot.register_wh == _floor_wh(text, 1000)
        sent = [json.loads(p)["ENERGY"]["Total"] for tp, p in list(sim.history)
                if tp == f"tele/{t}/SENSOR"]
        assert Decimal(text) in [Decimal(str(x)) for x in sent]
        ident = obs.snapshot.identity
        assert (ident.protocol, ident.manufacturer, ident.model, ident.serial) == (
            "tasmota", "Tasmota", "ENERGY.Total", t)
        assert obs.topic == f"tele/{t}/SENSOR" and obs.age_s < 5
        assert obs.snapshot.power_w is not None and obs.snapshot.power_w > 0  # June morning
        later = _observe_when(m, lambda o: o.snapshot.register_wh > obs.snapshot.register_wh)
        assert later.snapshot.register_wh > obs.snapshot.register_wh


def test_tasmota_multichannel_needs_a_channel(broker: Mosquitto) -> None:
    t = _topic("dual")
    sim = TasmotaSim(broker.url, t, 3, _fast_clock(), period_s=60, channels=2, source="load")
    with _running(sim), _meter(broker, DeviceSpec(Device.TASMOTA, t, 1)) as m1, \
            _meter(broker, DeviceSpec(Device.TASMOTA, t)) as m_none:
        obs = _observe_when(m1, lambda o: True)
        assert obs.snapshot.identity.model == "ENERGY.Total[1]"
        assert obs.snapshot.register_wh == _floor_wh(obs.raw["ENERGY.Total[1]"], 1000)
        _error_when(m_none, "is a list of 2 channel values")


def test_shelly_partial_notifystatus_is_overlaid_on_the_full_status(
        broker: Mosquitto, publisher: _Publisher) -> None:
    prefix = _topic("shellypro3em")
    exp = DeviceSpec(Device.SHELLY, prefix, 0, "total_act_ret")
    imp = DeviceSpec(Device.SHELLY, prefix, 0, "total_act")
    with _meter(broker, exp) as m_exp, _meter(broker, imp) as m_imp:
        for m in (m_exp, m_imp):
            _error_when(m, "nothing heard on")  # subscribed, nothing yet
        publisher.send(f"{prefix}/online", b"true", retain=True)
        publisher.send(f"{prefix}/status/emdata:0",
                       b'{"id":0,"a_total_act_energy":500.27,"total_act":1000.55,'
                       b'"total_act_ret":2000.99}')
        assert _observe_when(m_exp, lambda o: True).snapshot.register_wh == 2000
        assert _observe_when(m_imp, lambda o: True).snapshot.register_wh == 1000
        publisher.send(f"{prefix}/events/rpc",
                       b'{"src":"shellypro3em-x","dst":"x/events","method":"NotifyStatus",'
                       b'"params":{"ts":1782000060.00,"emdata:0":{"id":0,"total_act":1003.01}}}')
        obs = _observe_when(m_imp, lambda o: o.snapshot.register_wh == 1003)
        assert obs.raw["src"] == "shellypro3em-x" and obs.raw["ts"] == "1782000060.00"
        # the counter the partial frame left out still comes from the full status
        assert _observe_when(m_exp, lambda o: o.topic.endswith("/events/rpc")) \
            .snapshot.register_wh == 2000
        publisher.send(f"{prefix}/online", b"false", retain=True)
        _error_when(m_exp, "announced it is offline (false)")
        publisher.send(f"{prefix}/online", b"", retain=True)  # clear the retained message


def test_shelly_pro3em_sim_import_and_export(broker: Mosquitto) -> None:
    prefix = _topic("shellypro3em")
    sim = ShellyPro3EmSim(broker.url, prefix, 5, _fast_clock(), period_s=60, full_every=5)
    with _running(sim), \
            _meter(broker, DeviceSpec(Device.SHELLY, prefix, 0, "total_act")) as m_imp, \
            _meter(broker, DeviceSpec(Device.SHELLY, prefix, 0, "total_act_ret")) as m_exp:
        first = _observe_when(m_exp, lambda o: True).snapshot.register_wh
        assert _observe_when(m_imp, lambda o: True).snapshot.register_wh > 0
        # a sunny June morning in Tokyo: PV exceeds the household, export grows
        obs = _observe_when(m_exp, lambda o: o.snapshot.register_wh > first, timeout=15)
        assert obs.snapshot.identity.model == "emdata:0.total_act_ret"
        partial_frames = [p for tp, p in list(sim.history) if tp.endswith("/events/rpc")
                          and b'"emdata:0"' in p and b'"total_act_ret"' not in p]
        full_frames = [p for tp, p in list(sim.history) if tp.endswith("/status/emdata:0")]
        assert full_frames  # the overlay base…
        assert partial_frames or all(b'"total_act_ret"' in p for p in full_frames)


def test_openevse_total_energy(broker: Mosquitto) -> None:
    base = _topic("openevse")
    sim = OpenEvseSim(broker.url, base, 11, _fast_clock(), period_s=30)
    with _running(sim), _meter(broker, DeviceSpec(Device.OPENEVSE, base)) as m:
        obs = _observe_when(m, lambda o: "state" in o.raw)
        assert obs.snapshot.register_wh == _floor_wh(obs.raw["total_energy"], 1000)
        assert obs.snapshot.identity.protocol == "openevse"
        assert obs.raw["state"] in ("1", "2", "3")


# --- failures reported, never read as zero -------------------------------------------------------


def test_tasmota_that_goes_offline_is_reported(broker: Mosquitto) -> None:
    t = _topic("plug")
    sim = TasmotaSim(broker.url, t, 1, _fast_clock(), period_s=60,
                     faults=Faults(offline_after_s=1.0))
    with _running(sim), _meter(broker, DeviceSpec(Device.TASMOTA, t), stale_after_s=600) as m:
        _observe_when(m, lambda o: True)
        msg = _error_when(m, "announced it is offline (Offline)")
        assert f"tele/{t}/LWT" in msg and "its last reading was heard" in msg


def test_openevse_that_goes_silent_is_reported(broker: Mosquitto) -> None:
    base = _topic("openevse")
    sim = OpenEvseSim(broker.url, base, 2, _fast_clock(), period_s=30,
                      faults=Faults(silent_after_s=1.0))
    with _running(sim), _meter(broker, DeviceSpec(Device.OPENEVSE, base), stale_after_s=1.5) as m:
        _observe_when(m, lambda o: True)
        msg = _error_when(m, "last heard")
        assert f"on {base}/total_energy" in msg and "more than stale_after_s = 1.5" in msg


def test_openevse_will_announces_offline(broker: Mosquitto) -> None:
    base = _topic("openevse")
    sim = OpenEvseSim(broker.url, base, 4, _fast_clock(), period_s=30)
    with _meter(broker, DeviceSpec(Device.OPENEVSE, base), stale_after_s=600) as m:
        with _running(sim):
            _observe_when(m, lambda o: True)
        _error_when(m, 'announced it is offline ("state":"disconnected")')


def test_malformed_payloads_only(broker: Mosquitto) -> None:
    t = _topic("plug")
    sim = TasmotaSim(broker.url, t, 1, _fast_clock(), period_s=60,
                     faults=Faults(malformed_fraction=1.0))
    with _running(sim), _meter(broker, DeviceSpec(Device.TASMOTA, t)) as m:
        msg = _error_when(m, "nothing usable heard yet")
        assert f"the last payload on tele/{t}/SENSOR was unusable" in msg


def test_some_malformed_payloads_do_not_interrupt_readings(broker: Mosquitto) -> None:
    t = _topic("plug")
    sim = TasmotaSim(broker.url, t, 1, _fast_clock(), period_s=60,
                     faults=Faults(malformed_fraction=0.5))
    with _running(sim), _meter(broker, DeviceSpec(Device.TASMOTA, t), stale_after_s=3) as m:
        _observe_when(m, lambda o: True)
        regs = set()
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            regs.add(m.read().register_wh)  # never raises: good readings keep coming
            time.sleep(0.05)
        assert len(regs) >= 2


def test_a_retained_old_reading_is_not_taken_as_fresh(broker: Mosquitto,
                                                      publisher: _Publisher) -> None:
    t = _topic("plug")
    publisher.send(f"tele/{t}/SENSOR", b'{"ENERGY":{"Total":1.000}}', retain=True)
    try:
        with _meter(broker, DeviceSpec(Device.TASMOTA, t)) as m:
            _error_when(m, "only a retained value of unknown age")
            publisher.send(f"tele/{t}/SENSOR", b'{"ENERGY":{"Total":1.001}}')
            assert _observe_when(m, lambda o: True).snapshot.register_wh == 1001
    finally:
        publisher.send(f"tele/{t}/SENSOR", b"", retain=True)


def test_unreachable_broker(broker: Mosquitto) -> None:
    url = f"mqtt://127.0.0.1:{free_port()}"
    with _meter(broker, DeviceSpec(Device.TASMOTA, "plug1"), url=url) as m:
        msg = _error_when(m, "cannot reach the broker")
        assert url in msg


# --- eco-agent probe -----------------------------------------------------------------------------


def _run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_probe_without_config(broker: Mosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    t = _topic("dual")
    sim = TasmotaSim(broker.url, t, 9, _fast_clock(), period_s=60, channels=2)
    with _running(sim):
        code, out, err = _run_cli(capsys, "probe", "--protocol", "tasmota", "--broker", broker.url,
                                 "--topic", t, "--quantity", "pv_generation", "--channel", "1",
                                 "--wait", "5")
        assert code == 0, err
        report = json.loads(out)
        assert report["register_wh"] == _floor_wh(report["raw"]["ENERGY.Total[1]"], 1000)
        assert report["quantity"] == "pv_generation" and report["protocol"] == "tasmota"
        assert report["meter_serial"] == t and report["meter_model"] == "ENERGY.Total[1]"
        assert report["read_at"].endswith("Z") and isinstance(report["register_wh"], int)
        code, out, err = _run_cli(capsys, "probe", "--protocol", "tasmota", "--broker",
                                 broker.url, "--topic", t, "--quantity", "pv_generation",
                                 "--wait", "1")
        assert code == 1 and out == ""
        assert len(err.strip().splitlines()) == 1 and "set channel = 0…1" in err
    code, out, err = _run_cli(capsys, "probe", "--protocol", "shelly", "--broker", broker.url,
                             "--topic", "nobody-here", "--quantity", "grid_import",
                             "--field", "total_act", "--wait", "0.5")
    assert code == 1 and len(err.strip().splitlines()) == 1
    assert "nothing heard on nobody-here/events/rpc" in err and "rpc_ntf" in err
    code, _, err = _run_cli(capsys, "probe", "--protocol", "openevse", "--broker", broker.url,
                           "--quantity", "ev_charge")
    assert code == 2 and "needs --topic" in err
    code, _, err = _run_cli(capsys, "probe", "--protocol", "tasmota", "--broker", broker.url,
                           "--topic", "a/#", "--quantity", "pv_generation")
    assert code == 2 and "must not contain" in err


def test_probe_with_config(broker: Mosquitto, tmp_path: Path,
                           capsys: pytest.CaptureFixture[str]) -> None:
    t = _topic("ev")
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=broker.port,
                        meters=[{"id": "ev1", "quantity": "ev_charge", "protocol": "openevse",
                                 "topic": t}])
    sim = OpenEvseSim(broker.url, t, 8, _fast_clock(), period_s=30)
    with _running(sim):
        code, out, err = _run_cli(capsys, "probe", str(conf), "ev1", "--wait", "5")
    assert code == 0, err
    report = json.loads(out)
    assert report["meter_id"] == "ev1" and report["quantity"] == "ev_charge"
    assert report["register_wh"] == _floor_wh(report["raw"]["total_energy"], 1000)
    assert report["broker"] == broker.url  # the uplink's broker by default


# --- eco-agent run with an MQTT meter ------------------------------------------------------------


@pytest.mark.timeout(60)
def test_agent_run_delivers_readings_from_a_tasmota_plug(tmp_path: Path,
                                                         broker: Mosquitto) -> None:
    t = _topic("plug")
    clock = _fast_clock(600.0)
    sim = TasmotaSim(broker.url, t, 21, clock, period_s=30)
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=broker.port,
                        interval_minutes=5, poll_seconds=60,
                        meters=[{"id": "pv1", "quantity": "pv_generation",
                                 "protocol": "tasmota", "topic": t}])
    key, _ = load_or_create_private_key(tmp_path / "state" / "device.key")
    agent = build_agent(load_config(conf), clock=clock)
    status: list[int] = []
    with _running(sim), Responder(broker.port) as agg:
        agg.add_device(agent.device_id, key)
        th = threading.Thread(target=lambda: status.append(agent.run(install_signals=False)))
        th.start()
        try:
            assert wait_for(lambda: len(agg.seqs(agent.device_id)) >= 3, timeout=30)
        finally:
            agent.request_stop()
            th.join(10)
    assert status == [0]
    published = {_floor_wh(str(json.loads(p)["ENERGY"]["Total"]), 1000)
                 for tp, p in list(sim.history) if tp == f"tele/{t}/SENSOR"}
    records: list[dict[str, Any]] = agg.records
    for a, b in zip(records, records[1:], strict=False):
        assert b["start"] == a["end"] and b["register_start_wh"] == a["register_end_wh"]
    for rec in records:
        assert rec["meter"] == "pv1" and rec["quantity"] == "pv_generation"
        assert rec["source"] == {"protocol": "tasmota", "meter_serial": t,
                                 "meter_model": "ENERGY.Total"}
        assert rec["energy_wh"] == rec["register_end_wh"] - rec["register_start_wh"] >= 0
        if not rec["flags"]:  # a register the plug really published, to the Wh
            assert rec["register_end_wh"] in published
    assert any(rec["energy_wh"] > 0 for rec in records)  # 5 sunny minutes of a 4.5 kW array
    assert sum(not rec["flags"] for rec in records) >= 1
