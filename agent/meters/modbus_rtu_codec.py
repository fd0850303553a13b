"""Modbus RTU, the client side of function 03 (read holding registers): the pure codec.

Requests out, registers in, no port and no clock: :mod:`agent.meters.sunspec` is the serial
client that sends and waits. Framing per Modbus over Serial Line V1.02 §2.5.1 and §6.2.2 (CRC-16,
init 0xFFFF, reflected polynomial 0xA001, low byte first) and the Application Protocol V1.1b3 §6.3
(function 03) and §7 (exception responses).

Errors: a bad CRC or a frame that is not the answer asked for is a
:class:`agent.errors.MeterDataError`; an exception response or a timeout a
:class:`agent.errors.MeterUnavailable`. All are :class:`RtuError`.
"""

from __future__ import annotations

import struct
from typing import Final

from agent.errors import MeterDataError, MeterError, MeterUnavailable
from eco_protocol.messages import Msg, msg

MAX_READ_REGISTERS: Final = 125  # Modbus function 03 limit (Modbus Application Protocol 6.3)
READ_HOLDING_REGISTERS = 0x03
_EXCEPTION_FLAG = 0x80
_EXCEPTION_NAMES = {
    1: "ILLEGAL FUNCTION",
    2: "ILLEGAL DATA ADDRESS",
    3: "ILLEGAL DATA VALUE",
    4: "SERVER DEVICE FAILURE",
    5: "ACKNOWLEDGE",
    6: "SERVER DEVICE BUSY",
}


class RtuError(MeterError):
    """A response could not be used; ``str()`` is the cause in words."""


class RtuTimeout(RtuError, MeterUnavailable):
    """No complete response in time (raised by the client, :mod:`agent.meters.sunspec`)."""

    def __init__(self, message: str | Msg, *, silent: bool = False) -> None:
        super().__init__(message)  # a Msg: the installer reads it in their language
        self.silent = silent  # not a byte came back: the device did not answer at all


class RtuCrcError(RtuError, MeterDataError):
    """The response's CRC does not match its bytes."""


class RtuUnexpectedFrame(RtuError, MeterDataError):
    """A frame that is not the response asked for (runt, other unit, other function, length)."""


class RtuExceptionResponse(RtuError, MeterUnavailable):
    """The device answered with a Modbus exception (it refuses the request)."""

    def __init__(self, code: int, message: str | Msg) -> None:
        super().__init__(message)
        self.code = code


def hex_preview(data: bytes, limit: int = 16) -> str:
    """Bytes for a message: hex, cut after ``limit`` bytes."""
    head = data[:limit].hex(" ")
    return head if len(data) <= limit else f"{head} … ({len(data)} bytes)"


def _crc16_byte(value: int) -> int:
    """The bitwise CRC-16/MODBUS step for one byte value (the specification's loop)."""
    crc = value
    for _ in range(8):
        crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


# one table lookup per byte instead of eight shifts: the CRC of every request and response is
# computed on each poll, and the bitwise loop was the poll's largest CPU cost on a Pi-class box
_CRC16_TABLE: tuple[int, ...] = tuple(_crc16_byte(b) for b in range(256))


def crc16_modbus(data: bytes) -> int:
    """CRC-16/MODBUS: init 0xFFFF, reflected polynomial 0xA001, no final XOR (table-driven)."""
    crc = 0xFFFF
    table = _CRC16_TABLE
    for byte in data:
        crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
    return crc


def encode_read_request(unit: int, address: int, count: int) -> bytes:
    """Function 03 request: unit, 03, address, quantity (big-endian), CRC (low byte first)."""
    if not 1 <= unit <= 247:
        raise ValueError(f"unit {unit} not in 1..247")
    if not 0 <= address <= 0xFFFF or not 1 <= count <= MAX_READ_REGISTERS:
        raise ValueError(f"cannot read {count} registers at {address}")
    body = bytes([unit, READ_HOLDING_REGISTERS]) + address.to_bytes(2, "big")
    body += count.to_bytes(2, "big")
    return body + crc16_modbus(body).to_bytes(2, "little")


def expected_response_length(head: bytes, count: int) -> int | None:
    """How many bytes the response to a read of ``count`` registers has, once its first two
    bytes are known: 5 for an exception response, 5 + 2 × count otherwise."""
    if len(head) < 2:
        return None
    return 5 if head[1] & _EXCEPTION_FLAG else 5 + 2 * count


def decode_read_response(frame: bytes, unit: int, count: int) -> list[int]:
    """The registers of a function 03 response to ``unit`` for ``count`` registers.

    Raises :class:`RtuCrcError`, :class:`RtuExceptionResponse` or :class:`RtuUnexpectedFrame`.
    """
    if len(frame) < 5:
        raise RtuUnexpectedFrame.coded("agent.rtu.runt", n=len(frame), frame=hex_preview(frame))
    if crc16_modbus(frame[:-2]) != int.from_bytes(frame[-2:], "little"):
        raise RtuCrcError.coded("agent.rtu.crc", n=len(frame), frame=hex_preview(frame))
    if frame[0] != unit:
        raise RtuUnexpectedFrame.coded("agent.rtu.other_unit", got=frame[0], unit=unit)
    fc = frame[1]
    if fc == READ_HOLDING_REGISTERS | _EXCEPTION_FLAG and len(frame) == 5:
        code = frame[2]
        name = msg(f"agent.rtu.name.{code}" if code in _EXCEPTION_NAMES else
                   "agent.rtu.name.unknown")
        raise RtuExceptionResponse(code, msg("agent.rtu.exception", code=f"{code:#04x}",
                                             name=name))
    if fc != READ_HOLDING_REGISTERS:
        raise RtuUnexpectedFrame.coded("agent.rtu.function", fc=f"{fc:#04x}")
    if frame[2] != 2 * count or len(frame) != 5 + 2 * count:
        raise RtuUnexpectedFrame.coded("agent.rtu.length", got=frame[2], n=len(frame),
                                       want=2 * count, count=count)
    return list(struct.unpack(f">{count}H", frame[3 : 3 + 2 * count]))
