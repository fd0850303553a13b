"""agent.meters.sunspec and agent.meters.sunspec_layout.

The pure parts (codecs, chain discovery) are tested over register lists; the reader is tested
against a real :class:`firmware_sim.inverter.PtyInverter` over a real pty — no mocked serial line.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.clock import AcceleratedClock, ManualClock
from agent.errors import MeterError
from agent.meters import sunspec_chain as sc
from agent.meters import sunspec_layout as sl
from agent.meters.interface import Meter
from agent.meters.modbus_rtu_codec import (
    RtuCrcError,
    RtuError,
    RtuExceptionResponse,
    RtuUnexpectedFrame,
    crc16_modbus,
    decode_read_response,
    encode_read_request,
)
from agent.meters.sunspec import PROTOCOL, SunSpecModbusMeter
from firmware_sim import sunspec_registers as sr
from firmware_sim.inverter import Faults, PtyInverter
from tests.agent.sunspec_kit import MIDNIGHT, NOON

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "modbus_rtu.json").read_text()
)
COMMON = sl.CommonModel(manufacturer="Acme Solar", model="AS-5000TL", serial="A1B2C3")

# --- RTU client codec --------------------------------------------------------------------------


def test_crc_check_value() -> None:
    assert crc16_modbus(VECTORS["crc_check"]["input_ascii"].encode()) == 0x4B37


def _crc16_bitwise(data: bytes) -> int:
    """The specification's bit-at-a-time loop (Modbus over Serial Line §6.2.2)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


@given(st.binary(max_size=300))
def test_table_crc_equals_the_bitwise_loop(data: bytes) -> None:
    assert crc16_modbus(data) == _crc16_bitwise(data)


@pytest.mark.parametrize("vec", VECTORS["requests"], ids=lambda v: v["hex"])
def test_request_vectors(vec: dict[str, Any]) -> None:
    assert encode_read_request(vec["unit"], vec["address"], vec["count"]) == bytes.fromhex(
        vec["hex"]
    )


def test_response_vector() -> None:
    vec = VECTORS["responses"][0]
    frame = bytes.fromhex(vec["hex"])
    assert decode_read_response(frame, 1, 2) == vec["registers"]


def test_response_errors_name_the_cause() -> None:
    frame = bytes.fromhex(VECTORS["responses"][0]["hex"])
    with pytest.raises(RtuCrcError, match="CRC error"):
        decode_read_response(frame[:-1] + b"\x00", 1, 2)
    with pytest.raises(RtuUnexpectedFrame, match="from unit 1, expected 2"):
        decode_read_response(frame, 2, 2)
    with pytest.raises(RtuUnexpectedFrame, match="expected 2 for 1 registers"):
        decode_read_response(frame, 1, 1)
    exc = bytes([1, 0x83, 0x02])
    exc += crc16_modbus(exc).to_bytes(2, "little")
    with pytest.raises(RtuExceptionResponse, match="ILLEGAL DATA ADDRESS") as info:
        decode_read_response(exc, 1, 2)
    assert info.value.code == 2


@given(st.binary(max_size=64), st.integers(1, 125))
def test_decoder_raises_only_rtu_errors(data: bytes, count: int) -> None:
    with contextlib.suppress(RtuError):
        decode_read_response(data, 1, count)


# --- layout codecs -----------------------------------------------------------------------------


def test_scalar_codecs_and_not_implemented_values() -> None:
    assert sl.decode_int16(0xFFFF) == -1 and sl.decode_int16(0x8000) is None
    assert sr.encode_int16(-1) == 0xFFFF and sr.encode_int16(None) == 0x8000
    assert sl.decode_uint16(0xFFFF) is None and sl.decode_uint16(7) == 7
    assert sl.decode_sunssf(0xFFFE) == -2 and sl.decode_sunssf(0x8000) is None
    with pytest.raises(sl.SunSpecLayoutError):
        sl.decode_sunssf(11)
    assert sl.decode_acc32(0x0001, 0x0002) == 65538
    assert sl.decode_acc32(0, 0) is None  # acc32 0 = not implemented (pysunspec2 mb.py)
    assert sr.encode_acc32(2**32 + 5) == (0, 5)  # wraps like the device's counter
    with pytest.raises(sl.SunSpecLayoutError):
        sl.decode_int16(0x10000)


def test_strings() -> None:
    regs = sr.encode_string("SunS", 2)
    assert regs == sl.SUNS_MARKER
    assert sr.encode_string("abc", 3) == (0x6162, 0x6300, 0x0000)
    assert sl.decode_string(sr.encode_string("東芝 PV", 16)) == "東芝 PV"
    assert sl.decode_string((0, 0x4142)) is None  # NUL first: not implemented
    with pytest.raises(sr.EncodeError, match="longer than 4 bytes"):
        sr.encode_string("abcde", 2)
    with pytest.raises(sl.SunSpecLayoutError, match="UTF-8"):
        sl.decode_string((0xFFFE,))


@pytest.mark.parametrize(
    ("raw", "sf", "wh", "wrap"),
    [(12345, 0, 12345, 2**32), (12345, 1, 123450, 2**32 * 10), (12345, -1, 1234, 2**32 // 10)],
)
def test_energy_scaling(raw: int, sf: int, wh: int, wrap: int) -> None:
    values = sl.InverterValues(model_id=101, wh=raw, wh_sf=sf, w=-5, w_sf=2)
    assert values.energy_wh() == wh
    assert values.energy_wrap_wh() == wrap
    assert values.power_w() == -500


def test_models_round_trip() -> None:
    regs = sr.encode_common(COMMON)
    assert len(regs) == 68 and regs[:2] == [1, 66]
    assert sl.decode_common(regs) == COMMON
    solaredge = [1, 65, *regs[2:67]]  # L=65: no Pad (docs/meters.md)
    assert sl.decode_common(solaredge) == COMMON
    values = sl.InverterValues(model_id=102, w=1500, w_sf=0, wh=987654, wh_sf=0, state=4)
    inv = sr.encode_inverter(values)
    assert len(inv) == 52 and inv[:2] == [102, 50]
    assert inv[sl.InverterOffset.WH : sl.InverterOffset.WH + 2] == [0x000F, 0x1206]
    decoded = sl.decode_inverter(inv)
    assert (decoded.energy_wh(), decoded.power_w(), decoded.state) == (987654, 1500, 4)
    unimplemented = sl.decode_inverter(sr.encode_inverter(sl.InverterValues(model_id=103)))
    assert unimplemented.energy_wh() is None and unimplemented.power_w() is None


def test_common_model_rejects_unencodable_identity() -> None:
    with pytest.raises(sl.SunSpecLayoutError):
        sl.CommonModel(manufacturer="x" * 33, model="m", serial="s")
    with pytest.raises(sl.SunSpecLayoutError, match="not implemented"):
        sl.decode_common([1, 66] + [0] * 66)


@given(st.lists(st.integers(0, 0xFFFF), max_size=80))
def test_model_decoders_raise_only_layout_errors(regs: list[int]) -> None:
    for decode in (sl.decode_common, sl.decode_inverter):
        with contextlib.suppress(sl.SunSpecLayoutError):
            decode(regs)


# --- chain discovery over register maps --------------------------------------------------------


def _reader(image: dict[int, int]) -> Callable[[int, int], Sequence[int] | None]:
    def read(address: int, count: int) -> Sequence[int] | None:
        if all(a in image for a in range(address, address + count)):
            return [image[a] for a in range(address, address + count)]
        return None

    return read


def _image_at(base: int, models: Sequence[Sequence[int]],
              end: Sequence[int] = ()) -> dict[int, int]:
    regs = list(sl.SUNS_MARKER) + [r for m in models for r in m] + list(end)
    return {base + i: r for i, r in enumerate(regs)}


INVERTER = sr.encode_inverter(sl.InverterValues(model_id=103, wh=5, wh_sf=0))
NAMEPLATE = [120, 3, 0, 0, 0]  # a model we do not read, between 1 and 103


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_parse_model_chain_at_each_base(base: int) -> None:
    image = _image_at(base, [sr.encode_common(COMMON), NAMEPLATE, INVERTER], [0xFFFF, 0])
    chain = sc.parse_model_chain(_reader(image))
    assert chain.base == base
    assert [m.model_id for m in chain.models] == [1, 120, 103]
    inverter = chain.find(sl.INVERTER_MODEL_IDS)
    assert inverter == sc.ModelHeader(model_id=103, address=base + 2 + 68 + 5, length=50)
    assert inverter.end == inverter.address + 52


def test_end_marker_without_length_and_missing_end_marker() -> None:
    models = [sr.encode_common(COMMON), INVERTER]
    no_l = sc.parse_model_chain(_reader(_image_at(40000, models, [0xFFFF])))
    no_end = sc.parse_model_chain(_reader(_image_at(40000, models)))
    assert [m.model_id for m in no_l.models] == [m.model_id for m in no_end.models] == [1, 103]


def test_chain_errors() -> None:
    with pytest.raises(
        sl.SunSpecLayoutError,
        match=r"no SunS marker \(40000: 0007 0007; 0: 0001 0002; 50000: no such address\)",
    ):
        sc.parse_model_chain(_reader({40000: 7, 40001: 7, 0: 1, 1: 2}))
    with pytest.raises(sl.SunSpecLayoutError, match="not 1"):
        sc.parse_model_chain(_reader(_image_at(40000, [INVERTER], [0xFFFF, 0])))
    looping = _image_at(0, [sr.encode_common(COMMON)] + [[9, 0]] * 70, [0xFFFF, 0])
    with pytest.raises(sl.SunSpecLayoutError, match="more than 64 models"):
        sc.parse_model_chain(_reader(looping))
    with pytest.raises(sl.SunSpecLayoutError, match="overflows"):
        sc.parse_model_chain(_reader(_image_at(50000, [[1, 60000]])))


def test_transport_errors_propagate_from_discovery() -> None:
    def read(address: int, count: int) -> Sequence[int] | None:
        raise TimeoutError("silent")

    with pytest.raises(TimeoutError):
        sc.parse_model_chain(read)


# --- the reader against a simulated inverter on a real pty -------------------------------------


@pytest.mark.integration
def test_reads_identity_energy_and_power(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    clock = ManualClock(NOON)
    inv = make_inverter(clock, manufacturer="EcoSim", model="ES-4.5K")
    meter: Meter = meters(inv.port)
    snap = meter.read()
    assert snap.meter_id == "roof-pv"
    assert snap.identity.protocol == PROTOCOL == "sunspec-modbus"
    assert (snap.identity.manufacturer, snap.identity.model, snap.identity.serial) == (
        "EcoSim",
        "ES-4.5K",
        "SN-4500-7",
    )
    assert snap.register_wh == 1_000_000
    assert snap.power_w == round(inv.pv.power_w(NOON)) and snap.power_w > 1000
    assert snap.wrap_wh == 2**32
    clock.advance(1800)
    expected = 1_000_000 + int(inv.pv.energy_wh(NOON, NOON + timedelta(minutes=30)))
    assert meter.read().register_wh == expected == inv.register_wh()


@pytest.mark.integration
def test_register_grows_under_an_accelerated_clock(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    clock = AcceleratedClock(origin_sim=NOON.timestamp(), origin_wall=time.time(), rate=3600)
    meter = meters(make_inverter(clock).port)
    t0 = time.monotonic()
    first = meter.read().register_wh
    time.sleep(0.25)  # a quarter of an hour of simulated sun around noon
    second = meter.read().register_wh
    sim_hours = (time.monotonic() - t0) * 3600 / 3600
    assert 0 < second - first <= 4500 * sim_hours


@pytest.mark.integration
@pytest.mark.parametrize("base", [0, 50000])
def test_discovery_at_other_bases(
    base: int,
    make_inverter: Callable[..., PtyInverter],
    meters: Callable[..., SunSpecModbusMeter],
) -> None:
    meter = meters(make_inverter(base=base).port)
    assert meter.read().register_wh == 1_000_000
    assert meter.chain is not None and meter.chain.base == base
    assert [m.model_id for m in meter.chain.models] == [1, 103]


@pytest.mark.integration
def test_timeout_raises_and_next_read_recovers(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    inv = make_inverter()
    meter = meters(inv.port)
    meter.read()
    inv.set_faults(Faults(drop_fraction=1.0))
    started = time.monotonic()
    with pytest.raises(MeterError) as info:
        meter.read()
    assert time.monotonic() - started < 0.6
    message = str(info.value)
    assert "'roof-pv'" in message and inv.port in message and "no response within" in message
    assert meter.chain is None  # rediscovers next time
    inv.set_faults(Faults())
    assert meter.read().register_wh == 1_000_000
    assert meter.chain is not None


@pytest.mark.integration
def test_crc_error_raises_and_next_read_recovers(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    inv = make_inverter(faults=Faults(corrupt_crc_fraction=1.0))
    meter = meters(inv.port)
    with pytest.raises(MeterError, match=r"roof-pv.*eco-sim-pty-.*/tty.*CRC error"):
        meter.read()
    inv.set_faults(Faults())
    assert meter.read().identity.serial == "SN-4500-7"


@pytest.mark.integration
def test_wrong_unit_times_out_with_a_hint(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    meter = meters(make_inverter(unit=2).port, unit=1)
    with pytest.raises(MeterError, match=r"unit 1 .*no response.*unit id 1\); the meter did "
                       r"not answer at 9600 baud .*baudrate/address"):
        meter.read()


@pytest.mark.integration
def test_wh_not_implemented_is_an_error(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    inv = make_inverter(ManualClock(MIDNIGHT), initial_wh=0)  # nothing produced yet, at night
    with pytest.raises(MeterError, match="WH .* not implemented"):
        meters(inv.port).read()


@pytest.mark.integration
def test_register_reset_is_reported_as_read(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    """The reader reports what the register says; spotting the reset is the interval builder's."""
    clock = ManualClock(NOON)
    inv = make_inverter(clock)
    meter = meters(inv.port)
    assert meter.read().register_wh == 1_000_000
    inv.reset_register()
    clock.advance(600)
    assert 0 < meter.read().register_wh < 1_000


@pytest.mark.parametrize(("port", "advice"), [
    ("/dev/does-not-exist", "no device at /dev/does-not-exist: check \\[\\[meters\\]\\] port"),
    ("bogus://nowhere", "bogus://nowhere.*serial port error")])
def test_unopenable_port_is_a_meter_error(
    port: str, advice: str, meters: Callable[..., SunSpecModbusMeter]
) -> None:
    with pytest.raises(MeterError, match=f"{port}.*{advice}"):
        meters(port).read()


@pytest.mark.integration
def test_port_held_by_another_reader_is_a_meter_error(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    """Another *process* holding the line (a second agent, a forgotten probe) is refused by
    pyserial's exclusive lock; meters of one agent share the line (next test)."""
    import subprocess
    import sys

    inv = make_inverter()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import serial, sys, time; "
         f"p = serial.Serial({inv.port!r}, exclusive=True); print('held', flush=True); "
         "time.sleep(30)"], stdout=subprocess.PIPE)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"held\n"
        with pytest.raises(MeterError, match=f"another program holds {inv.port} "
                                             r"\(ModemManager\? another agent\?\)"):
            meters(inv.port).read()
    finally:
        holder.kill()
        holder.wait()
    assert meters(inv.port).read().register_wh == 1_000_000


@pytest.mark.integration
def test_several_inverters_on_one_bus_by_unit_id(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    bus = make_inverter(unit=1, serial="SN-UNIT-1")
    second = PtyInverter(4500, 8, ManualClock(NOON), unit=2, serial="SN-UNIT-2",
                         initial_wh=2_000_000)
    bus.attach(second)
    one, two = meters(bus.port, unit=1), meters(bus.port, unit=2)
    assert one.read().identity.serial == "SN-UNIT-1"
    snap = two.read()
    assert (snap.identity.serial, snap.register_wh) == ("SN-UNIT-2", 2_000_000)
    one.close()  # the other meter keeps the shared line open
    assert two.read().register_wh == 2_000_000
    with pytest.raises(ValueError, match="unit 2"):
        bus.attach(PtyInverter(4500, 9, ManualClock(NOON), unit=2))


@pytest.mark.parametrize(
    "kwargs", [{"unit": 0}, {"unit": 248}, {"timeout_s": 0}, {"baudrate": 0}, {"bases": ()}]
)
def test_constructor_validation(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        SunSpecModbusMeter("m", "/dev/null", **kwargs)
