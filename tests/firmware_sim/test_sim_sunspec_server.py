"""firmware_sim.sunspec_server: the register image and request → response, without a wire."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.meters import sunspec_chain as sc
from agent.meters import sunspec_layout as sl
from firmware_sim import modbus_rtu as rtu
from firmware_sim.sunspec_server import ServerConfig, SunSpecServer

VECTORS = json.loads((Path(__file__).parents[1] / "vectors" / "modbus_rtu.json").read_text())
COMMON = sl.CommonModel(manufacturer="EcoSim", model="ES-4.5K-103", serial="SN0001")


def _server(base: int = 40000, unit: int = 1) -> SunSpecServer:
    return SunSpecServer(ServerConfig(common=COMMON, unit=unit, base=base))


def _ask(s: SunSpecServer, address: int, count: int, unit: int = 1) -> rtu.ReadResponse:
    response = s.handle(rtu.build_read_request(unit, address, count))
    assert response is not None
    parsed = rtu.parse_response(response)
    assert isinstance(parsed, rtu.ReadResponse)
    return parsed


def _exception_code(s: SunSpecServer, frame: bytes) -> int:
    response = s.handle(frame)
    assert response is not None
    parsed = rtu.parse_response(response)
    assert isinstance(parsed, rtu.ExceptionResponse)
    return parsed.code


def test_suns_read_matches_the_public_vector() -> None:
    vec = VECTORS["responses"][0]
    assert _server().handle(bytes.fromhex(vec["answers"])) == bytes.fromhex(vec["hex"])


@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_image_layout(base: int) -> None:
    s = _server(base)
    assert _ask(s, base, 2).registers == sl.SUNS_MARKER
    assert _ask(s, base + 2, 2).registers == (1, 66)
    assert s.inverter_address == base + 2 + 68
    assert _ask(s, base + 70, 2).registers == (103, 50)
    assert _ask(s, base + 122, 2).registers == (sl.END_MODEL_ID, 0)
    common = sl.decode_common(_ask(s, base + 2, 68).registers)
    assert (common.manufacturer, common.model, common.serial) == (
        "EcoSim",
        "ES-4.5K-103",
        "SN0001",
    )


def test_measurements_round_trip_through_the_image() -> None:
    s = _server()
    values = sl.InverterValues(model_id=103, w=3120, w_sf=0, wh=70_000_123, wh_sf=0, state=4)
    s.update(values)
    decoded = sl.decode_inverter(_ask(s, s.inverter_address, 52).registers)
    assert decoded.energy_wh() == 70_000_123
    assert decoded.power_w() == 3120
    assert decoded.state == sl.OperatingState.MPPT


def test_chain_discovery_over_the_server() -> None:
    s = _server(50000)

    def read(address: int, count: int) -> Sequence[int] | None:
        response = rtu.parse_response(s.handle(rtu.build_read_request(1, address, count)) or b"")
        return response.registers if isinstance(response, rtu.ReadResponse) else None

    chain = sc.parse_model_chain(read)
    assert chain.base == 50000
    assert [(m.model_id, m.address, m.length) for m in chain.models] == [
        (1, 50002, 66),
        (103, 50070, 50),
    ]


def test_silence_like_a_real_slave() -> None:
    s = _server(unit=3)
    good = rtu.build_read_request(3, 40000, 2)
    assert s.handle(good) is not None
    assert s.handle(rtu.build_read_request(4, 40000, 2)) is None  # another unit
    assert s.handle(rtu.build_read_request(0, 40000, 2)) is None  # broadcast
    assert s.handle(good[:-1] + bytes([good[-1] ^ 1])) is None  # bad CRC
    assert s.handle(b"\x03") is None  # runt


def test_exceptions() -> None:
    s = _server()
    assert _exception_code(s, rtu.build_read_request(1, 30000, 2)) == rtu.ILLEGAL_DATA_ADDRESS
    # a range that starts inside the image but runs past its end
    assert _exception_code(s, rtu.build_read_request(1, 40120, 10)) == rtu.ILLEGAL_DATA_ADDRESS
    zero = rtu.with_crc(bytes.fromhex("01 03 9C 40 00 00"))
    too_many = rtu.with_crc(bytes.fromhex("01 03 9C 40 00 7E"))
    assert _exception_code(s, zero) == rtu.ILLEGAL_DATA_VALUE
    assert _exception_code(s, too_many) == rtu.ILLEGAL_DATA_VALUE
    write_single = rtu.with_crc(bytes.fromhex("01 06 9C 40 00 01"))
    assert _exception_code(s, write_single) == rtu.ILLEGAL_FUNCTION
    input_regs = rtu.build_read_request(1, 40000, 2, function=rtu.READ_INPUT_REGISTERS)
    assert _exception_code(s, input_regs) == rtu.ILLEGAL_FUNCTION


def test_config_validation() -> None:
    with pytest.raises(ValueError):
        ServerConfig(common=COMMON, unit=0)
    with pytest.raises(ValueError):
        ServerConfig(common=COMMON, base=1234)
    with pytest.raises(ValueError):
        ServerConfig(common=COMMON, inverter_model=111)
    with pytest.raises(ValueError, match="701, or both"):
        ServerConfig(common=COMMON, inverter_model=None, der_ac=False)


@pytest.mark.parametrize(
    ("inverter_model", "ids"), [(None, [1, 701]), (102, [1, 102, 701])]
)
def test_maps_with_model_701(inverter_model: int | None, ids: list[int]) -> None:
    config = ServerConfig(common=COMMON, inverter_model=inverter_model, der_ac=True)
    s = SunSpecServer(config, der=sl.DerAcValues(tot_wh_inj=4242, tot_wh_sf=-1))
    assert config.model_ids == tuple(ids)
    chain = sc.parse_model_chain(lambda a, n: s.image.read(a, n))
    assert [m.model_id for m in chain.models] == ids
    der = chain.find((701,))
    assert der is not None and der.address == s.der_address and der.length == 153
    regs = _ask(s, der.address, 2 + sl.DER_AC_READ_LENGTH).registers
    assert sl.decode_der_ac(regs).energy_wh() == 424
    assert list(_ask(s, der.address + 2 + 152, 1).registers) == [0]  # last MnAlrmInfo register
