"""Polls between interval boundaries read the energy register alone (issue 16), and that costs
no safety: a meter swapped between two identity reads never has energy credited under the old
identity, a register that goes back is asked who it is, and the outbox stores only states whose
identity was read.

The runner is driven with an in-memory meter that has both reads (like
:class:`tests.agent.agent_kit.SimMeter`); the SunSpec reader's ``read_energy`` is tested on
firmware_sim's server behind RTU-over-TCP, in ``test_sunspec_swap``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.clock import ManualClock
from agent.config import load_config
from agent.meters import sunspec_layout as sl
from agent.meters.interface import EnergyRegisterMeter, MeterIdentity, Snapshot
from agent.meters.sunspec import SunSpecModbusMeter
from agent.runner import Agent, build_agent
from eco_protocol.keyfile import load_or_create_private_key
from firmware_sim import sunspec_registers as sr
from tests.agent.agent_kit import T0, write_config

P = 1800
POLL = 60


class _TwoReadMeter:
    """A meter with a full read and an energy-only read; ``serial`` is the device on the wire
    now, ``read_energy`` reports the identity the last full read found (as SunSpec's does)."""

    def __init__(self, meter_id: str) -> None:
        self.meter_id = meter_id
        self.register_wh = 1_000_000
        self.serial = "SN-A"
        self.known: MeterIdentity | None = None
        self.log: list[str] = []

    def _identity(self) -> MeterIdentity:
        return MeterIdentity("sunspec-modbus", "EcoSim", "ES-SIM", self.serial)

    def read(self) -> Snapshot:
        self.log.append("full")
        self.known = self._identity()
        return Snapshot(self.meter_id, self.register_wh, self.known, wrap_wh=2**32)

    def read_energy(self) -> Snapshot:
        if self.known is None:
            return self.read()
        self.log.append("energy")
        return Snapshot(self.meter_id, self.register_wh, self.known, wrap_wh=2**32)

    def close(self) -> None:
        pass


def _agent(tmp_path: Path, meter: _TwoReadMeter) -> tuple[Agent, ManualClock]:
    state_dir = tmp_path / "state"
    conf = write_config(tmp_path / "agent.toml", state_dir=state_dir, port=1,
                        meters=[{"id": "pv1", "quantity": "pv_generation",
                                 "port": "/dev/sim-pv1"}], poll_seconds=POLL)
    load_or_create_private_key(state_dir / "device.key")
    clock = ManualClock(T0)
    clock.advance(-1)  # polls come just before multiples of the poll period
    agent = build_agent(load_config(conf), meter_factory=lambda _mc: meter, clock=clock)
    return agent, clock


def _poll(agent: Agent, clock: ManualClock, meter: _TwoReadMeter, wh: int = 10) -> None:
    clock.advance(POLL)
    meter.register_wh += wh
    agent.poll_once()


def _readings(agent: Agent) -> list[dict[str, object]]:
    import json

    return [json.loads(r.body) for r in agent.outbox.pending(1000)]


def test_the_meter_is_an_energy_register_meter() -> None:
    assert isinstance(_TwoReadMeter("pv1"), EnergyRegisterMeter)
    assert isinstance(SunSpecModbusMeter("pv1", "/dev/null"), EnergyRegisterMeter)


def test_between_boundaries_only_the_energy_register_is_read(tmp_path: Path) -> None:
    meter = _TwoReadMeter("pv1")
    agent, clock = _agent(tmp_path, meter)
    try:
        agent.poll_once()  # start: the identity is read
        for _ in range(2 * P // POLL):
            _poll(agent, clock, meter)
        # the first poll after each boundary reads the identity; the other 29 do not
        assert meter.log.count("full") == 3
        assert meter.log.count("energy") == 2 * P // POLL - 2
        readings = _readings(agent)
        assert [r["energy_wh"] for r in readings] == [300]  # 30 polls × 10 Wh
        assert readings[0]["flags"] == []
    finally:
        agent.shutdown()


def test_a_meter_swapped_between_identity_reads_credits_nothing_under_the_old_serial(
        tmp_path: Path) -> None:
    meter = _TwoReadMeter("pv1")
    agent, clock = _agent(tmp_path, meter)
    try:
        agent.poll_once()
        for _ in range(P // POLL + 5):  # into the second interval
            _poll(agent, clock, meter)
        assert [r["energy_wh"] for r in _readings(agent)] == [300]
        # another inverter with a higher register, between two identity reads: the
        # energy-only polls see a big jump under the old identity
        meter.serial, meter.register_wh = "SN-B", 9_000_000
        for _ in range(3 * P // POLL):
            _poll(agent, clock, meter)
        readings = _readings(agent)
        assert [r["source"]["meter_serial"] for r in readings] == [  # type: ignore[index]
            "SN-A", "SN-A", "SN-B", "SN-B"]
        # the interval the swap happened in closes at the register of the old meter's last
        # identified snapshot (its first poll after the boundary): what the old meter made
        # after it is not claimed, and nothing of the new meter's register is
        second, third, fourth = readings[1:]
        assert second["register_end_wh"] < 9_000_000 and second["energy_wh"] == 10  # type: ignore[operator]
        assert third["flags"] == ["meter_replaced"] and third["energy_wh"] == 0
        assert fourth["flags"] == [] and fourth["energy_wh"] == 300
        assert meter.log.count("energy") > 0
    finally:
        agent.shutdown()


def test_a_register_that_goes_back_is_asked_who_it_is(tmp_path: Path) -> None:
    meter = _TwoReadMeter("pv1")
    agent, clock = _agent(tmp_path, meter)
    try:
        agent.poll_once()
        for _ in range(P // POLL + 5):
            _poll(agent, clock, meter)
        meter.log.clear()
        meter.register_wh = 5  # reset (same device)
        _poll(agent, clock, meter, wh=0)
        assert meter.log == ["energy", "full"]
        for _ in range(P // POLL):
            _poll(agent, clock, meter)
        second = _readings(agent)[1]
        assert second["flags"] == ["meter_reset"] and second["energy_wh"] == 0
    finally:
        agent.shutdown()


def test_the_outbox_stores_only_states_whose_identity_was_read(tmp_path: Path) -> None:
    meter = _TwoReadMeter("pv1")
    agent, clock = _agent(tmp_path, meter)
    try:
        agent.poll_once()
        for _ in range(P // POLL + 1):
            _poll(agent, clock, meter)
        stored = agent.outbox.meter_states()["pv1"]
        slot = agent._slots["pv1"]
        assert slot.verified is not None and stored == slot.verified.to_dict()
        _poll(agent, clock, meter)  # energy-only: in memory, not verified
        assert slot.state is not slot.verified
    finally:
        agent.shutdown()


# --- the SunSpec reader --------------------------------------------------------------------------


@pytest.mark.parametrize("wh, wh_sf", [(1_000_250, 0), (123_456, 1), (0, 0), (5, -1)])
def test_the_energy_only_decoder_agrees_with_the_full_one(wh: int, wh_sf: int) -> None:
    values = sl.InverterValues(model_id=103, w=1500, w_sf=0, wh=wh, wh_sf=wh_sf)
    regs = sr.encode_inverter(values)
    full = sl.decode_inverter(regs)
    energy = sl.decode_inverter_energy(regs[: sl.InverterOffset.WH_SF + 1])
    assert (energy.wh, energy.wh_sf, energy.energy_wh(), energy.energy_wrap_wh()) == (
        full.wh, full.wh_sf, full.energy_wh(), full.energy_wrap_wh())
