"""agent.runner: scheduling helpers, the poll cycle, the main loop, sd_notify, log-key pinning."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from agent import runner
from agent.clock import AcceleratedClock
from agent.config import load_config
from agent.errors import ConfigError
from agent.meters.interface import MeterIdentity
from agent.runner import (
    JumpDetector,
    build_agent,
    clock_known_unsynced,
    next_aligned_poll,
    poll_lead_s,
    sd_notify,
)
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import parse_json
from eco_protocol.keyfile import load_or_create_private_key
from eco_protocol.records import Flag
from tests.agent.agent_kit import (
    LOG_VKEY,
    WRONG_SIGNER,
    P,
    Responder,
    SimMeter,
    make_rig,
    wait_for,
    write_config,
)


def test_next_aligned_poll_is_just_before_a_multiple() -> None:
    assert next_aligned_poll(1000.0, 60, 1) == 1019.0
    assert next_aligned_poll(1019.0, 60, 1) == 1079.0
    assert next_aligned_poll(1018.9, 60, 1) == 1019.0
    for now in (0.0, 59.5, 12345.678):
        t = next_aligned_poll(now, 60, 2)
        assert now < t <= now + 60 and (t + 2) % 60 == 0


def test_poll_lead() -> None:
    assert poll_lead_s(60, 1.0) == 1.0
    assert poll_lead_s(60, 600.0) == 15.0  # a quarter of the period at most
    assert poll_lead_s(60, 60.0) == 3.0  # 50 ms of wall time at 60×


def test_clock_known_unsynced() -> None:
    now = 1_795_305_600.0
    assert not clock_known_unsynced(now, False, False)  # no timesyncd: unknown counts as synced
    assert clock_known_unsynced(now, True, False)
    assert not clock_known_unsynced(now, True, True)
    assert clock_known_unsynced(86400.0, False, False)  # 1970: the RTC was never set


def test_jump_detector() -> None:
    j = JumpDetector(wall=1000.0, mono=10.0, threshold_s=5)
    assert j.check(1001.0, 11.0) is None
    assert j.check(1004.0, 11.5) is None  # 2.5 s of drift: below the threshold
    assert j.check(4600.0, 12.0) == pytest.approx(3598.0)  # NTP stepped the clock
    assert j.check(4601.0, 13.0) is None  # re-based
    assert j.check(4500.0, 14.0) == pytest.approx(-102.0)


def test_sd_notify_sends_datagrams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert not sd_notify("READY=1")  # not under systemd: nothing to do
    sock_path = tmp_path / "notify.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(str(sock_path))
        srv.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
        assert sd_notify("READY=1")
        assert srv.recv(100) == b"READY=1"
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone.sock"))
    assert not sd_notify("WATCHDOG=1")


def test_poll_cycle_with_failing_meter_and_gap(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1, meter_ids=("pv1", "ev1"))
    try:
        rig.meters["ev1"].fail = "no answer within 1.0 s"
        rig.clock.advance(P)
        res = rig.agent.poll_once()
        assert res.readings == 1 and res.meters_read == 1 and "ev1" in res.errors
        # ev1 answers again three intervals later: its missed intervals are filled and flagged
        rig.meters["ev1"].fail = None
        rig.meters["ev1"].register_wh += 3000
        rig.clock.advance(3 * P)
        assert rig.agent.poll_once().readings == 3 + 4
        ev = [parse_json(r.body) for r in rig.agent.outbox.pending(100)]
        ev = [r for r in ev if r["meter"] == "ev1"]
        assert len(ev) == 4
        assert [Flag.GAP_FILLED.value in r["flags"] for r in ev] == [False, True, True, True]
        assert sum(r["energy_wh"] for r in ev) == 3000
        assert rig.agent.state.meter_identity("ev1") == rig.meters["ev1"].identity
    finally:
        rig.agent.shutdown()


def test_state_survives_restart_without_losing_the_open_interval(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)
    rig.cycle(wh=100)  # seq 1 committed with the meter's state
    rig.clock.advance(600)
    rig.meters["pv1"].register_wh += 40  # only in memory: no interval completed
    rig.agent.poll_once()
    rig.agent.shutdown()
    config = load_config(rig.config.path or Path())
    again = build_agent(config, meter_factory=lambda mc: rig.meters[mc.id], clock=rig.clock)
    try:
        rig.clock.advance(P - 600)
        rig.meters["pv1"].register_wh += 60
        assert again.poll_once().readings == 1
        last = parse_json(again.outbox.pending(10)[-1].body)
        assert last["seq"] == 2 and last["energy_wh"] == 100  # 40 + 60, nothing lost
    finally:
        again.shutdown()


def test_log_key_is_pinned(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)
    rig.agent.shutdown()
    assert rig.config.path is not None
    other = WRONG_SIGNER.verifier.vkey
    text = rig.config.path.read_text().replace(LOG_VKEY, other)
    rig.config.path.write_text(text)
    config = load_config(rig.config.path)
    with pytest.raises(ConfigError, match="accept-new-log-key"):
        build_agent(config, meter_factory=lambda mc: rig.meters[mc.id], clock=rig.clock)
    agent = build_agent(config, accept_new_log_key=True,
                        meter_factory=lambda mc: rig.meters[mc.id], clock=rig.clock)
    try:
        assert agent.state.pinned_log_key() == other
    finally:
        agent.shutdown()


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_run_loop_in_a_thread_with_accelerated_clock(tmp_path: Path, broker: Mosquitto,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    sock_path = tmp_path / "notify.sock"
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    srv.bind(str(sock_path))
    srv.settimeout(0.01)
    monkeypatch.setenv("NOTIFY_SOCKET", str(sock_path))
    monkeypatch.setenv("WATCHDOG_USEC", "200000")
    origin_sim = 1_795_305_600.0
    clock = AcceleratedClock(origin_sim=origin_sim, origin_wall=time.time(), rate=600.0)
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=broker.port,
                        interval_minutes=5, poll_seconds=60,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/dev/x"}])
    key, _ = load_or_create_private_key(tmp_path / "state" / "device.key")
    meter = SimMeter("pv1")
    # the register follows simulated time: 1 Wh per simulated second
    meter_read = meter.read

    def read() -> Any:
        meter.register_wh = 1_000_000 + int(clock.timestamp() - origin_sim)
        return meter_read()

    meter.read = read  # type: ignore[method-assign]
    agent = build_agent(load_config(conf), meter_factory=lambda mc: meter, clock=clock)
    status: list[int] = []
    with Responder(broker.port) as agg:
        agg.add_device(agent.device_id, key)
        t = threading.Thread(target=lambda: status.append(agent.run(install_signals=False)))
        t.start()
        try:
            assert wait_for(lambda: len(agg.seqs(agent.device_id)) >= 2, timeout=15)
        finally:
            agent.request_stop()
            t.join(10)
    assert status == [0]
    messages = []
    while True:
        try:
            messages.append(srv.recv(100))
        except OSError:
            break
    srv.close()
    assert messages[0] == b"READY=1" and b"WATCHDOG=1" in messages
    assert messages[-1] == b"STOPPING=1"
    for a, b in zip(agg.records, agg.records[1:], strict=False):
        assert b["start"] == a["end"] and b["register_start_wh"] == a["register_end_wh"]
    for rec in agg.records:
        # 5 simulated minutes at 1 Wh/s; polls are aligned just before each boundary, so the
        # boundary register is at most one poll period (60 Wh) off
        assert rec["energy_wh"] == rec["register_end_wh"] - rec["register_start_wh"]
        assert 300 - 60 <= rec["energy_wh"] <= 300 + 60


def test_meter_swaps_are_recorded_each_time(tmp_path: Path, caplog: pytest.LogCaptureFixture
                                            ) -> None:
    """The poll cycle skips the state file while a meter reports the identity it recorded last;
    every change, including a swap back to an earlier meter, is still recorded and flagged."""
    rig = make_rig(tmp_path, port=1)
    pv = rig.meters["pv1"]
    first = pv.identity
    second = MeterIdentity(first.protocol, first.manufacturer, first.model, "SIM-2")
    try:
        rig.cycle(wh=100)
        rig.cycle(wh=100)
        assert rig.agent.state.meter_identity("pv1") == first
        for now, before in ((second, first), (first, second)):
            pv.identity = now
            caplog.clear()
            with caplog.at_level("WARNING", logger="agent.runner"):
                rig.cycle(wh=100)  # on a boundary: the interval it closes is replaced
            assert rig.agent.state.meter_identity("pv1") == now
            assert f"serial {now.serial} (was" in caplog.text
            assert f"serial {before.serial})" in caplog.text
            last = parse_json(rig.agent.outbox.pending(100)[-1].body)
            assert last["flags"] == [Flag.METER_REPLACED.value] and last["energy_wh"] == 0
            assert last["source"]["meter_serial"] == now.serial
    finally:
        rig.agent.shutdown()


def test_a_stop_that_hangs_dumps_every_threads_stack(
        tmp_path: Path, capfd: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM sets a timer: if the stop has not ended by then, the stacks of all threads go to
    stderr (the journal), so an agent the service manager has to SIGKILL says where it hung."""
    monkeypatch.setattr(runner, "STOP_STACKS_AFTER_S", 0.2)
    rig = make_rig(tmp_path, port=1)
    meter = rig.meters["pv1"]
    meter.close = lambda: time.sleep(1.0)  # type: ignore[method-assign]
    before = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        rig.agent.run(loop_s=0.05)
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, before[0])
        signal.signal(signal.SIGINT, before[1])
    err = capfd.readouterr().err
    assert "most recent call first" in err and "in <lambda>" in err and "in shutdown" in err

