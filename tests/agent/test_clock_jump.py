"""Clock-jump fault injection: a Raspberry Pi without RTC boots with a wrong clock and is set later.

Pure parts: :class:`agent.clock.JumpingClock`, the ``[clock]`` fault keys, and the interval
builder's rules for snapshots around the step. Integration: the real agent process loop
(:meth:`agent.runner.Agent.run`, its scheduler, the SunSpec reader) against a simulated inverter
on a real pty, a fake systemd-timesyncd directory, a real broker and a verifying responder; the
clock boots two days behind (fake-hwclock) or in 2019 (no RTC at all), then jumps.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from agent import interval
from agent.clock import AcceleratedClock, JumpingClock, ManualClock
from agent.config import ClockConfig, load_config
from agent.errors import ConfigError
from agent.meters.interface import MeterIdentity
from agent.runner import build_agent, clock_from_config
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import parse_json
from eco_protocol.keyfile import load_or_create_private_key
from eco_protocol.records import Flag
from firmware_sim.inverter import PtyInverter
from firmware_sim.timesync import FakeTimesyncd
from tests.agent.agent_kit import Responder, SimMeter, wait_for, write_config

ID = MeterIdentity("sunspec-modbus", "EcoSim", "ES-4.5K", "SN1")
P = 300
T_TRUE = 1_778_720_400  # 2026-05-14T01:00:00Z, 10:00 in Japan: the sun is up
DAY = 86400


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


# --- the clock ------------------------------------------------------------------------------------


def test_jumping_clock_reads_the_boot_time_until_it_is_set() -> None:
    true = ManualClock(datetime.fromtimestamp(T_TRUE, UTC))
    clock = JumpingClock(true, offset_s=-2 * DAY, jump_at=T_TRUE + 600)
    assert clock.timestamp() == T_TRUE - 2 * DAY and not clock.jumped()
    true.advance(599)
    assert clock.timestamp() == T_TRUE - 2 * DAY + 599  # runs at the true rate meanwhile
    true.advance(1)
    assert clock.timestamp() == T_TRUE + 600 and clock.jumped()


def test_clock_config_builds_a_jumping_clock_and_checks_its_keys(tmp_path: Path) -> None:
    def conf(**clock: Any) -> Path:
        return write_config(tmp_path / "a.toml", state_dir=tmp_path / "s", port=1,
                            meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/x"}],
                            clock=clock)

    accel = {"mode": "accelerated", "origin_sim": _iso(T_TRUE), "origin_wall": time.time(),
             "speed": 60.0}
    config = load_config(conf(**accel, boot_at=_iso(T_TRUE - 2 * DAY), jump_after_s=600.0,
                              timesync_dir="ts"))
    assert config.clock.timesync_dir == tmp_path / "ts"  # relative to the config file
    clock = clock_from_config(config)
    assert isinstance(clock, JumpingClock) and isinstance(clock.true, AcceleratedClock)
    assert (clock.offset_s, clock.jump_at) == (-2 * DAY, T_TRUE + 600)
    plain = load_config(conf(**accel))
    assert plain.clock.boot_at is None and isinstance(clock_from_config(plain), AcceleratedClock)
    assert plain.clock.timesync_dir == ClockConfig().timesync_dir == Path("/run/systemd/timesync")
    with pytest.raises(ConfigError, match="boot_at and jump_after_s go together"):
        load_config(conf(**accel, boot_at=_iso(T_TRUE)))
    with pytest.raises(ConfigError, match="only apply to mode"):
        load_config(conf(mode="system", boot_at=_iso(T_TRUE), jump_after_s=1.0))
    assert load_config(conf(mode="system", timesync_dir="/t")).clock.timesync_dir == Path("/t")


def test_fake_timesyncd_creates_the_file_only_after_the_jump(tmp_path: Path) -> None:
    true = ManualClock(datetime.fromtimestamp(T_TRUE, UTC))
    sync = FakeTimesyncd(tmp_path / "timesync",
                         JumpingClock(true, offset_s=-DAY, jump_at=T_TRUE + 10)).start()
    try:
        assert sync.directory.is_dir()
        time.sleep(0.05)
        assert not sync.flag.exists()
        true.advance(10)
        assert wait_for(sync.flag.exists, timeout=2)
        assert sync.synchronized_at == T_TRUE + 10
    finally:
        sync.stop()


# --- the interval builder around the step ---------------------------------------------------------

PARAMS = interval.BuilderParams(interval_s=P, max_gap_intervals=10_000)


def _feed(obs: list[tuple[int, int, bool]]) -> tuple[interval.MeterState | None,
                                                    list[interval.IntervalReading]]:
    state: interval.MeterState | None = None
    out: list[interval.IntervalReading] = []
    for t, wh, synced in obs:
        res = interval.step(state, interval.Observation(t, wh, ID, None, synced), PARAMS)
        state = res.state
        out += res.readings
    return state, out


def test_a_forward_jump_after_unsynced_snapshots_is_not_interpolated() -> None:
    boot = T_TRUE - 2 * DAY
    _, readings = _feed([(boot, 1000, False), (boot + 290, 1010, False), (boot + 590, 1020, False),
                        (T_TRUE + 20, 1025, True), (T_TRUE + 290, 1040, True),
                        (T_TRUE + 590, 1060, True), (T_TRUE + 900, 1070, True)])
    unsynced = [r for r in readings if r.start < T_TRUE]
    synced = [r for r in readings if r.start >= T_TRUE]
    # two days of boundaries lie between boot+590 and T_TRUE+20: none of them is filled
    assert [(r.start - boot, r.end - boot) for r in unsynced] == [(0, 300), (300, 600)]
    assert all(Flag.CLOCK_UNSYNCED in r.flags for r in unsynced)
    assert all(Flag.GAP_FILLED not in r.flags for r in readings)
    # the interval holding the first synchronised snapshot bridges the register (docs/protocol.md
    # §2: it continues from the last reading, claims nothing, says why); then normal readings
    assert [(r.start - T_TRUE, r.end - T_TRUE, r.energy_wh, r.flags) for r in synced] == [
        (0, 300, 0, (Flag.METER_RESET, Flag.CLOCK_UNSYNCED)), (300, 600, 20, ()),
        (600, 900, 10, ())]
    assert synced[0].register_start_wh == unsynced[-1].register_end_wh
    # the energy between the last unsynced and the first two synced boundaries is not claimed
    assert sum(r.energy_wh for r in readings) == 1070 - 1000 - (1040 - 1020) - (1070 - 1070)


def test_a_reading_closed_after_an_unsynced_snapshot_is_flagged() -> None:
    # the clock was known unsynchronised at boot+280 although it was already right: the boundary
    # at +300 takes that snapshot's register, so the reading ending there carries the flag
    _, readings = _feed([(T_TRUE, 1000, True), (T_TRUE + 280, 1010, False),
                        (T_TRUE + 310, 1011, True), (T_TRUE + 610, 1020, True),
                        (T_TRUE + 900, 1030, True)])
    assert [(r.end - T_TRUE, r.flags) for r in readings] == [
        (300, (Flag.CLOCK_UNSYNCED,)), (600, (Flag.CLOCK_UNSYNCED,)), (900, ())]


def test_state_remembers_the_sync_of_its_last_snapshot() -> None:
    state, _ = _feed([(T_TRUE, 1000, True), (T_TRUE + 30, 1001, False)])
    assert state is not None and not state.last_synced
    assert interval.MeterState.from_dict(state.to_dict()) == state
    older = {k: v for k, v in state.to_dict().items() if k != "last_synced"}
    assert interval.MeterState.from_dict(older).last_synced is True  # states written before


class _SteppedRightAfterRead(ManualClock):
    """timesyncd steps the clock (here: only marks it set) just after the agent read the time."""

    def __init__(self, start: datetime, flag: Path) -> None:
        super().__init__(start)
        self.flag = flag

    def timestamp(self) -> float:
        t = super().timestamp()
        self.flag.touch()  # too late for the time just read
        return t


def test_the_sync_file_must_predate_the_time_it_vouches_for(tmp_path: Path) -> None:
    """The file is checked *before* the time is read: seen only afterwards, it may belong to a
    step that came after the read, and must not make the old reading look synchronised."""
    timesync = tmp_path / "timesync"
    timesync.mkdir()
    conf = write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1,
                        interval_minutes=5, poll_seconds=60,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": "/dev/x"}],
                        clock={"mode": "system", "timesync_dir": str(timesync)})
    load_or_create_private_key(tmp_path / "state" / "device.key")
    meter = SimMeter("pv1")
    clock = _SteppedRightAfterRead(datetime.fromtimestamp(T_TRUE, UTC), timesync / "synchronized")
    agent = build_agent(load_config(conf), meter_factory=lambda mc: meter, clock=clock)
    try:
        assert agent.poll_once().readings == 0  # anchors at T_TRUE, read before the file
        clock.advance(P)
        meter.register_wh += 50
        assert agent.poll_once().readings == 1
        body = parse_json(agent.outbox.pending(10)[0].body)
        assert isinstance(body, dict) and body["flags"] == ["clock_unsynced"]
        clock.advance(P)
        meter.register_wh += 50
        assert agent.poll_once().readings == 1  # from here on the file predates every read
        body = parse_json(agent.outbox.pending(10)[1].body)
        assert isinstance(body, dict) and body["flags"] == [] and body["energy_wh"] == 50
    finally:
        agent.shutdown()


# --- the real agent, a pty inverter, a fake timesyncd, a broker -----------------------------------

SPEED = 600.0  # ten simulated minutes per wall second
JUMP_AFTER_S = 1500.0  # set 2.5 wall seconds after the start


@pytest.mark.integration
@pytest.mark.timeout(60)
@pytest.mark.parametrize("boot_offset", [-2 * DAY, None], ids=["fake-hwclock", "no-rtc-2019"])
def test_agent_flags_unsynced_readings_and_resumes_after_the_jump(
        tmp_path: Path, broker: Mosquitto, boot_offset: int | None) -> None:
    origin_wall = time.time()
    true = AcceleratedClock(origin_sim=T_TRUE, origin_wall=origin_wall, rate=SPEED)
    inverter = PtyInverter(4500, 7, true, serial="SN-JUMP", initial_wh=1_000_000).start()
    boot_at = T_TRUE + boot_offset if boot_offset is not None else 1_546_300_800  # 2019-01-01
    conf = write_config(
        tmp_path / "agent.toml", state_dir=tmp_path / "state", port=broker.port,
        interval_minutes=5, poll_seconds=60,
        meters=[{"id": "pv1", "quantity": "pv_generation", "port": inverter.port,
                 "timeout_s": 0.5}],
        clock={"mode": "accelerated", "origin_sim": _iso(T_TRUE), "origin_wall": origin_wall,
               "speed": SPEED, "boot_at": _iso(boot_at), "jump_after_s": JUMP_AFTER_S,
               "timesync_dir": str(tmp_path / "timesync")})
    config = load_config(conf)
    clock = clock_from_config(config)
    assert isinstance(clock, JumpingClock)
    sync = FakeTimesyncd(config.clock.timesync_dir, clock).start()
    key, _ = load_or_create_private_key(tmp_path / "state" / "device.key")
    agent = build_agent(config)
    jump_at = T_TRUE + JUMP_AFTER_S
    status: list[int] = []
    try:
        with Responder(broker.port) as agg:
            agg.add_device(agent.device_id, key)
            t = threading.Thread(target=lambda: status.append(agent.run(install_signals=False)))
            t.start()
            try:
                def synced_readings() -> int:
                    return sum(1 for r in agg.records if r["start"] >= _iso(jump_at))
                assert wait_for(lambda: synced_readings() >= 3, timeout=20)
            finally:
                agent.request_stop()
                t.join(10)
            records = list(agg.records)
            assert not agg.errors
        register_now = inverter.register_wh()
    finally:
        sync.stop()
        inverter.stop()
    assert status == [0]
    assert sync.synchronized_at is not None and sync.synchronized_at >= jump_at

    before = [r for r in records if r["end"] <= _iso(jump_at)]
    after = [r for r in records if r["start"] >= _iso(jump_at)]
    assert len(before) + len(after) == len(records)  # no reading spans the step
    # 1. every reading dated from the unsynchronised clock carries the flag, and only those
    #    (with a 2019 clock there are none: snapshots before 2020 are ignored)
    assert all("clock_unsynced" in r["flags"] for r in before)
    assert all(r["end"] <= _iso(boot_at + JUMP_AFTER_S + P) for r in before)
    if boot_offset is None:
        assert before == []
    else:
        assert len(before) >= 3  # 1500 s of unsynchronised polling at 300 s intervals
    # 2. after the jump the agent reads normally: unflagged, contiguous, no gap filling; with
    #    readings before the step, the first one after it is the bridge that keeps the register
    #    continuous (docs/protocol.md §2): meter_reset (+ clock_unsynced), energy 0
    if before:
        bridge, after = after[0], after[1:]
        assert bridge["flags"] == ["meter_reset", "clock_unsynced"]
        assert bridge["energy_wh"] == 0
        assert bridge["register_start_wh"] == before[-1]["register_end_wh"]
        assert bridge["start"] >= before[-1]["end"]
        assert after[0]["register_start_wh"] == bridge["register_end_wh"]
        assert after[0]["start"] == bridge["end"]
    assert len(after) >= 2
    assert all(r["flags"] == [] for r in after)
    for a, b in zip(after, after[1:], strict=False):
        assert b["start"] == a["end"] and b["register_start_wh"] == a["register_end_wh"]
    # 3. no invented energy: every reading is its register difference, within what the array
    #    can make in 5 minutes (+ one poll period of boundary slack), and all of them together
    #    are at most what the inverter's register advanced since the agent's first reading
    per_interval_max = 4500 * (P + 60) // 3600
    for r in records:
        if "meter_reset" not in r["flags"]:
            assert 0 <= r["energy_wh"] == r["register_end_wh"] - r["register_start_wh"]
        assert r["energy_wh"] <= per_interval_max
    first_register = records[0]["register_start_wh"]
    assert sum(r["energy_wh"] for r in records) <= register_now - first_register
    if before:
        # the energy across the step is not claimed: the first synced reading starts at or
        # above the last unsynced one's end, never below (which would count energy twice)
        assert bridge["energy_wh"] == 0 and after[0]["register_start_wh"] >= \
            before[-1]["register_end_wh"]
