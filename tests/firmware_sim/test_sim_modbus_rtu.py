"""firmware_sim.modbus_rtu against the public vectors in tests/vectors/modbus_rtu.json."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from firmware_sim import modbus_rtu as rtu

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "modbus_rtu.json").read_text()
)


def test_crc_check_value() -> None:
    check = VECTORS["crc_check"]
    assert rtu.crc16(check["input_ascii"].encode()) == int(check["crc"], 16)


@pytest.mark.parametrize("vec", VECTORS["requests"], ids=lambda v: v["hex"])
def test_request_vectors(vec: dict[str, Any]) -> None:
    frame = bytes.fromhex(vec["hex"])
    assert rtu.crc_ok(frame)
    assert rtu.build_read_request(vec["unit"], vec["address"], vec["count"]) == frame
    assert rtu.parse_request(frame) == rtu.ReadRequest(
        unit=vec["unit"], function=vec["function"], address=vec["address"], count=vec["count"]
    )
    assert rtu.request_frame_length(frame) == len(frame)


@pytest.mark.parametrize("vec", VECTORS["responses"], ids=lambda v: v["hex"])
def test_response_vectors(vec: dict[str, Any]) -> None:
    frame = bytes.fromhex(vec["hex"])
    assert rtu.build_read_response(vec["unit"], vec["registers"]) == frame
    assert rtu.parse_response(frame) == rtu.ReadResponse(
        unit=vec["unit"], function=vec["function"], registers=tuple(vec["registers"])
    )
    assert rtu.response_frame_length(frame[:3]) == len(frame)


def test_every_single_bit_flip_is_detected() -> None:
    frame = bytes.fromhex(VECTORS["responses"][0]["hex"])
    for i in range(len(frame)):
        for bit in range(8):
            damaged = bytearray(frame)
            damaged[i] ^= 1 << bit
            assert not rtu.crc_ok(bytes(damaged))
            with pytest.raises(rtu.FrameError):
                rtu.parse_response(bytes(damaged))


def test_exception_response_round_trip() -> None:
    frame = rtu.build_exception_response(1, 3, rtu.ILLEGAL_DATA_ADDRESS)
    assert len(frame) == 5 and frame[1] == 0x83
    assert rtu.response_frame_length(frame[:2]) == 5
    parsed = rtu.parse_response(frame)
    assert parsed == rtu.ExceptionResponse(unit=1, function=3, code=2)
    assert isinstance(parsed, rtu.ExceptionResponse)
    assert parsed.name == "ILLEGAL DATA ADDRESS"


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (b"\x01\x03", "too short"),
        (bytes.fromhex("01 03 9C 40 00 02 EB 8E"), "CRC"),
        (rtu.with_crc(bytes.fromhex("01 03 9C 40 00")), "must be 8 bytes"),
    ],
)
def test_malformed_requests(frame: bytes, message: str) -> None:
    with pytest.raises(rtu.FrameError, match=message):
        rtu.parse_request(frame)


def test_unknown_function_is_other_request() -> None:
    frame = rtu.with_crc(bytes([1, 0x2B, 0x0E, 0x01, 0x00]))  # read device identification
    assert rtu.parse_request(frame) == rtu.OtherRequest(unit=1, function=0x2B)
    assert rtu.request_frame_length(frame) is None


def test_write_multiple_length_comes_from_byte_count() -> None:
    body = bytes([1, 0x10, 0x9C, 0x40, 0x00, 0x01, 0x02, 0x12, 0x34])
    assert rtu.request_frame_length(rtu.with_crc(body)) == len(body) + 2


@pytest.mark.parametrize(("address", "count"), [(0, 0), (0, 126), (-1, 1), (0x10000, 1)])
def test_build_rejects_out_of_range_reads(address: int, count: int) -> None:
    with pytest.raises(rtu.FrameError):
        rtu.build_read_request(1, address, count)


@given(st.binary(max_size=300))
def test_parsers_raise_only_frame_error(data: bytes) -> None:
    for parse in (rtu.parse_request, rtu.parse_response):
        with contextlib.suppress(rtu.FrameError):
            parse(data)
