"""Modbus RTU framing for the simulated slaves: CRC-16/MODBUS, function 03 and exception frames.

Pure functions over bytes, no I/O. Implements the parts of the Modbus over Serial Line
Specification V1.02 (§2.5.1 RTU frame: address, function, data, CRC; §6.2.2 CRC: init 0xFFFF,
reflected polynomial 0xA001, sent low byte first) and of the Modbus Application Protocol V1.1b3
(§6.3 Read Holding Registers, quantity 1..125; §7 exception responses, function | 0x80) that a
SunSpec inverter needs. Test vectors: ``tests/vectors/modbus_rtu.json`` (from
docs/meters.md §3, checked there against running code; CRC check value 0x4B37 for
"123456789" is the CRC-16/MODBUS entry of the CRC catalogue).

The agent has its own client-side codec (:mod:`agent.meters.modbus_rtu_codec`); the two are
independent implementations checked against the same vectors, and the simulator is also
exercised with a third one (pymodbus) in the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

from firmware_sim.errors import FrameError

READ_HOLDING_REGISTERS = 0x03
READ_INPUT_REGISTERS = 0x04
EXCEPTION_FLAG = 0x80
MAX_READ_COUNT = 125

ILLEGAL_FUNCTION = 0x01
ILLEGAL_DATA_ADDRESS = 0x02
ILLEGAL_DATA_VALUE = 0x03
SERVER_DEVICE_FAILURE = 0x04

EXCEPTION_NAMES: dict[int, str] = {
    ILLEGAL_FUNCTION: "ILLEGAL FUNCTION",
    ILLEGAL_DATA_ADDRESS: "ILLEGAL DATA ADDRESS",
    ILLEGAL_DATA_VALUE: "ILLEGAL DATA VALUE",
    SERVER_DEVICE_FAILURE: "SERVER DEVICE FAILURE",
    0x05: "ACKNOWLEDGE",
    0x06: "SERVER DEVICE BUSY",
    0x08: "MEMORY PARITY ERROR",
    0x0A: "GATEWAY PATH UNAVAILABLE",
    0x0B: "GATEWAY TARGET DEVICE FAILED TO RESPOND",
}

# requests whose length is fixed: 01..06 are addr fc + 4 bytes + crc (Application Protocol §6)
_FIXED_REQUEST_FUNCTIONS = frozenset({0x01, 0x02, 0x03, 0x04, 0x05, 0x06})
_BYTE_COUNT_REQUEST_FUNCTIONS = frozenset({0x0F, 0x10})  # addr fc a a q q n data crc


def _crc_table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc16(data: bytes) -> int:
    """CRC-16/MODBUS of ``data`` as a number (``crc16(b"123456789") == 0x4B37``)."""
    crc = 0xFFFF
    for b in data:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ b) & 0xFF]
    return crc


def with_crc(body: bytes) -> bytes:
    """``body`` followed by its CRC, low byte first."""
    return body + crc16(body).to_bytes(2, "little")


def crc_ok(frame: bytes) -> bool:
    """True if the last two bytes are the CRC of the rest."""
    return len(frame) >= 4 and crc16(frame[:-2]) == int.from_bytes(frame[-2:], "little")


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """Function 03/04: read ``count`` registers from ``address`` of slave ``unit``."""

    unit: int
    function: int
    address: int
    count: int


@dataclass(frozen=True, slots=True)
class OtherRequest:
    """A well-formed frame with a function code we do not implement."""

    unit: int
    function: int


@dataclass(frozen=True, slots=True)
class ReadResponse:
    unit: int
    function: int
    registers: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class ExceptionResponse:
    unit: int
    function: int  # the request's function code (without the 0x80 flag)
    code: int

    @property
    def name(self) -> str:
        return EXCEPTION_NAMES.get(self.code, f"exception {self.code:#04x}")


def _check_unit(unit: int) -> None:
    if not 0 <= unit <= 247:
        raise FrameError(f"unit {unit} not in 0..247")


def build_read_request(
    unit: int, address: int, count: int, function: int = READ_HOLDING_REGISTERS
) -> bytes:
    """``unit fc addr_hi addr_lo cnt_hi cnt_lo crc_lo crc_hi``."""
    _check_unit(unit)
    if not 0 <= address <= 0xFFFF or not 1 <= count <= MAX_READ_COUNT:
        raise FrameError(f"read of {count} registers at {address} is out of range")
    return with_crc(bytes([unit, function]) + address.to_bytes(2, "big") + count.to_bytes(2, "big"))


def request_frame_length(buf: bytes) -> int | None:
    """How long the request starting at ``buf[0]`` is, if its function code tells us; None if
    the code is unknown (the caller then waits for the inter-frame silence) or ``buf`` is too
    short to know yet."""
    if len(buf) < 2:
        return None
    fc = buf[1]
    if fc in _FIXED_REQUEST_FUNCTIONS:
        return 8
    if fc in _BYTE_COUNT_REQUEST_FUNCTIONS:
        return 9 + buf[6] if len(buf) >= 7 else None
    return None


def parse_request(frame: bytes) -> ReadRequest | OtherRequest:
    """A complete request frame (CRC included). Raises :class:`FrameError`."""
    if len(frame) < 4:
        raise FrameError(f"frame of {len(frame)} bytes is too short")
    if not crc_ok(frame):
        raise FrameError("CRC mismatch")
    unit, fc = frame[0], frame[1]
    if fc in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
        if len(frame) != 8:
            raise FrameError(f"function {fc} request must be 8 bytes, got {len(frame)}")
        return ReadRequest(
            unit=unit,
            function=fc,
            address=int.from_bytes(frame[2:4], "big"),
            count=int.from_bytes(frame[4:6], "big"),
        )
    return OtherRequest(unit=unit, function=fc)


def build_read_response(
    unit: int, registers: tuple[int, ...] | list[int], function: int = READ_HOLDING_REGISTERS
) -> bytes:
    """``unit fc byte_count data… crc``; registers big-endian."""
    _check_unit(unit)
    if not 1 <= len(registers) <= MAX_READ_COUNT:
        raise FrameError(f"{len(registers)} registers cannot be returned in one response")
    data = bytearray()
    for r in registers:
        if not 0 <= r <= 0xFFFF:
            raise FrameError(f"register value {r} out of range")
        data += r.to_bytes(2, "big")
    return with_crc(bytes([unit, function, len(data)]) + bytes(data))


def build_exception_response(unit: int, function: int, code: int) -> bytes:
    """``unit fc|0x80 code crc``."""
    _check_unit(unit)
    return with_crc(bytes([unit, (function | EXCEPTION_FLAG) & 0xFF, code & 0xFF]))


def response_frame_length(buf: bytes) -> int | None:
    """Length of the response to a read starting at ``buf[0]``, once enough bytes are known."""
    if len(buf) < 2:
        return None
    if buf[1] & EXCEPTION_FLAG:
        return 5
    return 5 + buf[2] if len(buf) >= 3 else None


def parse_response(frame: bytes) -> ReadResponse | ExceptionResponse:
    """A complete read response or exception response. Raises :class:`FrameError`."""
    if len(frame) < 5:
        raise FrameError(f"response of {len(frame)} bytes is too short")
    if not crc_ok(frame):
        raise FrameError("CRC mismatch")
    unit, fc = frame[0], frame[1]
    if fc & EXCEPTION_FLAG:
        if len(frame) != 5:
            raise FrameError(f"exception response must be 5 bytes, got {len(frame)}")
        return ExceptionResponse(unit=unit, function=fc & 0x7F, code=frame[2])
    n = frame[2]
    if n % 2 or len(frame) != 5 + n:
        raise FrameError(f"byte count {n} does not match a frame of {len(frame)} bytes")
    regs = tuple(int.from_bytes(frame[3 + i : 5 + i], "big") for i in range(0, n, 2))
    return ReadResponse(unit=unit, function=fc, registers=regs)
