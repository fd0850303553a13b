"""firmware_sim.inverter.PtyInverter on a real pty, talked to with pyserial and pymodbus."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import serial

from agent.clock import ManualClock
from agent.meters import sunspec_layout as sl
from firmware_sim import modbus_rtu as rtu
from firmware_sim.inverter import Faults, PtyInverter
from firmware_sim.solar import JST

pytestmark = pytest.mark.integration

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "modbus_rtu.json").read_text())
NOON = datetime(2024, 5, 14, 12, 0, tzinfo=JST)
REPLY_WAIT_S = 0.12  # the simulator answers within a few ms; also how long we wait for silence


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(NOON)


@pytest.fixture
def inverter(clock: ManualClock) -> Iterator[PtyInverter]:
    with PtyInverter(4500, 7, clock, serial="SN-TEST-1", initial_wh=1_000_000) as inv:
        yield inv


@pytest.fixture
def line(inverter: PtyInverter) -> Iterator[serial.Serial]:
    with serial.Serial(inverter.port, 9600, timeout=REPLY_WAIT_S) as s:
        yield s


def _transact(line: serial.Serial, request: bytes, count: int) -> bytes:
    line.reset_input_buffer()
    line.write(request)
    return bytes(line.read(5 + 2 * count))


def _read_regs(line: serial.Serial, address: int, count: int, unit: int = 1) -> tuple[int, ...]:
    request = rtu.build_read_request(unit, address, count)
    parsed = rtu.parse_response(_transact(line, request, count))
    assert isinstance(parsed, rtu.ReadResponse)
    return parsed.registers


def test_public_vector_over_a_real_pty(inverter: PtyInverter, line: serial.Serial) -> None:
    # the agent gets a link of the simulator's own, to the pty's slave side
    assert os.path.realpath(inverter.port) == inverter.device
    assert inverter.device.startswith("/dev/pts/")
    vec = VECTORS["responses"][0]
    assert _transact(line, bytes.fromhex(vec["answers"]), 2) == bytes.fromhex(vec["hex"])


def test_ignores_other_units_and_bad_crc_then_answers(
    inverter: PtyInverter, line: serial.Serial
) -> None:
    assert _transact(line, rtu.build_read_request(2, 40000, 2), 2) == b""
    good = rtu.build_read_request(1, 40000, 2)
    assert _transact(line, good[:-1] + bytes([good[-1] ^ 0x55]), 2) == b""
    assert _transact(line, b"\x00\xff\x13garbage", 2) == b""
    assert _read_regs(line, 40000, 2) == sl.SUNS_MARKER
    assert inverter.stats.ignored == 3
    assert inverter.stats.answered == 1


def test_register_advances_with_the_clock(
    inverter: PtyInverter, line: serial.Serial, clock: ManualClock
) -> None:
    wh_address = inverter.base + 70 + sl.InverterOffset.WH
    first = _read_regs(line, wh_address, 2)
    assert sl.decode_acc32(*first) == 1_000_000
    clock.advance(3600)
    expected = 1_000_000 + inverter.pv.energy_wh(NOON, NOON + timedelta(hours=1))
    assert sl.decode_acc32(*_read_regs(line, wh_address, 2)) == int(expected)
    assert inverter.register_wh() == int(expected)
    w = sl.decode_int16(_read_regs(line, inverter.base + 70 + sl.InverterOffset.W, 1)[0])
    assert w == round(inverter.pv.power_w(clock.now()))
    clock.advance(-7200)  # the clock steps back: the register never decreases
    assert inverter.register_wh() == int(expected)


def test_reset_and_silence_faults(
    inverter: PtyInverter, line: serial.Serial, clock: ManualClock
) -> None:
    reset = NOON + timedelta(minutes=30)
    inverter.set_faults(
        Faults(silent=((NOON + timedelta(hours=2), NOON + timedelta(hours=3)),), reset_at=(reset,))
    )
    clock.advance(3600)
    after = inverter.register_wh()
    assert after == int(inverter.pv.energy_wh(reset, NOON + timedelta(hours=1)))
    clock.advance(3600 + 60)  # inside the silent window
    assert _transact(line, rtu.build_read_request(1, 40000, 2), 2) == b""
    clock.advance(3600)  # after it
    assert _read_regs(line, 40000, 2) == sl.SUNS_MARKER
    inverter.reset_register()
    assert inverter.register_wh() == 0


def test_register_jump_fault(inverter: PtyInverter, line: serial.Serial,
                             clock: ManualClock) -> None:
    """A forward jump of the energy register at one instant: the interval around it holds
    more than the rated power allows, and the register counts on from the new value."""
    jump = NOON + timedelta(minutes=10)
    inverter.set_faults(Faults(jumps=((jump, 20_000),)))
    wh_address = inverter.base + 70 + sl.InverterOffset.WH
    clock.advance(5 * 60)
    assert inverter.register_wh() == int(1_000_000 + inverter.pv.energy_wh(
        NOON, NOON + timedelta(minutes=5)))
    clock.advance(25 * 60)
    half_hour = inverter.pv.energy_wh(NOON, NOON + timedelta(minutes=30))
    assert sl.decode_acc32(*_read_regs(line, wh_address, 2)) == int(1_000_000 + half_hour
                                                                    + 20_000)
    assert 1_000_000 + half_hour + 20_000 - 1_000_000 > 4500 / 2  # implausible for 30 min
    clock.advance(30 * 60)
    hour = inverter.pv.energy_wh(NOON, NOON + timedelta(hours=1))
    assert inverter.register_wh() == int(1_000_000 + hour + 20_000)  # once, not again
    assert inverter.stats.jumps == 1
    with pytest.raises(ValueError, match="positive Wh"):
        Faults(jumps=((jump, 0),))
    with pytest.raises(ValueError, match="aware"):
        Faults(jumps=((jump.replace(tzinfo=None), 10),))


def test_drop_and_corrupt_fractions(inverter: PtyInverter, line: serial.Serial) -> None:
    inverter.set_faults(Faults(drop_fraction=0.5))
    replies = [_transact(line, rtu.build_read_request(1, 40000, 1), 1) for _ in range(8)]
    assert 0 < replies.count(b"") < 8
    inverter.set_faults(Faults(corrupt_crc_fraction=1.0))
    damaged = _transact(line, rtu.build_read_request(1, 40000, 1), 1)
    assert len(damaged) == 7 and not rtu.crc_ok(damaged)
    inverter.set_faults(Faults())
    assert _read_regs(line, 40000, 1) == (0x5375,)


def test_pymodbus_reads_the_simulator(inverter: PtyInverter) -> None:
    """A third, independent Modbus implementation agrees with the simulator's framing."""
    from pymodbus.client import ModbusSerialClient

    client = ModbusSerialClient(inverter.port, baudrate=9600, timeout=0.5, retries=0)
    assert client.connect()
    try:
        suns = client.read_holding_registers(40000, count=2, device_id=1)
        assert not suns.isError() and suns.registers == list(sl.SUNS_MARKER)
        model = client.read_holding_registers(40070, count=52, device_id=1)
        assert sl.decode_inverter(model.registers).energy_wh() == 1_000_000
        missing = client.read_holding_registers(30000, count=2, device_id=1)
        assert missing.isError() and missing.exception_code == rtu.ILLEGAL_DATA_ADDRESS
    finally:
        client.close()  # type: ignore[no-untyped-call]


def test_stop_removes_the_pty(clock: ManualClock) -> None:
    inv = PtyInverter(3000, 1, clock).start()
    port = inv.port
    assert os.path.exists(port)
    inv.stop()
    inv.stop()  # idempotent
    with pytest.raises(serial.SerialException):
        serial.Serial(port, 9600, timeout=0.1).close()


def test_default_identity_is_seeded(clock: ManualClock) -> None:
    a, b = PtyInverter(4500, 7, clock), PtyInverter(4500, 7, clock)
    assert (a.serial, a.register_wh()) == (b.serial, b.register_wh())
    assert a.register_wh() > 0
    assert a.serial != PtyInverter(4500, 8, clock).serial
