"""SunSpec point codecs: one register value (or a few) in, a number or text out, with the
"not implemented" markers of pysunspec2 (``sunspec2/mb.py``) read as None.

Pure, and apart from :mod:`agent.meters.sunspec_layout` (the models built from these points) so
that each stays small; the layout re-exports every name here.
"""

from __future__ import annotations

from collections.abc import Sequence

from agent.errors import MeterDataError

# "not implemented" values (pysunspec2 sunspec2/mb.py)
UNIMPL_INT16 = 0x8000
UNIMPL_SUNSSF = 0x8000
UNIMPL_UINT16 = 0xFFFF
UNIMPL_ENUM16 = 0xFFFF
UNIMPL_UINT32 = 0xFFFFFFFF
UNIMPL_ACC32 = 0
UNIMPL_UINT64 = 0xFFFF_FFFF_FFFF_FFFF
UNIMPL_ACC64 = 0

SUNSSF_MIN = -10  # SunSpec scale factors are documented as -10..10
SUNSSF_MAX = 10


class SunSpecLayoutError(MeterDataError):
    """The registers do not form the SunSpec layout we expect (bad marker, broken chain,
    missing model, a mandatory point not implemented). The reader wraps this into a
    :class:`agent.errors.MeterError` naming the meter and port."""


# --- scalar codecs ---------------------------------------------------------------------------


def _check_register(value: int) -> int:
    if not 0 <= value <= 0xFFFF:
        raise SunSpecLayoutError(f"register value {value!r} is not a 16-bit unsigned integer")
    return value


def decode_uint16(reg: int) -> int | None:
    """uint16; None when not implemented (0xFFFF)."""
    _check_register(reg)
    return None if reg == UNIMPL_UINT16 else reg


def decode_int16(reg: int) -> int | None:
    """int16 (two's complement); None when not implemented (0x8000)."""
    _check_register(reg)
    if reg == UNIMPL_INT16:
        return None
    return reg - 0x10000 if reg & 0x8000 else reg


def decode_sunssf(reg: int) -> int | None:
    """Scale factor (sunssf, signed int16, value = raw × 10^sf); None if not implemented."""
    sf = decode_int16(reg)
    if sf is None:
        return None
    if not SUNSSF_MIN <= sf <= SUNSSF_MAX:
        raise SunSpecLayoutError(f"scale factor {sf} is outside {SUNSSF_MIN}..{SUNSSF_MAX}")
    return sf


def decode_uint32(high: int, low: int) -> int:
    """Two registers, high word first, to an unsigned 32-bit integer (no unimpl check)."""
    return (_check_register(high) << 16) | _check_register(low)


def decode_acc32(high: int, low: int) -> int | None:
    """acc32 accumulator; None when not implemented (0, per pysunspec2 ``SUNS_UNIMPL_ACC32``).

    The ambiguity is SunSpec's: an accumulator that truly reads 0 is indistinguishable from one
    that is not implemented.
    """
    value = decode_uint32(high, low)
    return None if value == UNIMPL_ACC32 else value


def decode_uint64(regs: Sequence[int]) -> int:
    """Four registers, high word first, to an unsigned 64-bit integer (no unimpl check)."""
    if len(regs) != 4:
        raise SunSpecLayoutError(f"a 64-bit point needs 4 registers, got {len(regs)}")
    value = 0
    for r in regs:
        value = (value << 16) | _check_register(r)
    return value


def decode_energy64(regs: Sequence[int]) -> int | None:
    """A 64-bit lifetime energy point of model 701; None when not implemented.

    model_701.json types TotWhInj/TotWhAbs ``uint64`` (marker all ones) although they are
    accumulators (``acc64``, marker 0); both markers mean "missing", never 0 Wh or 2^64 − 1 Wh.
    """
    value = decode_uint64(regs)
    return None if value in (UNIMPL_UINT64, UNIMPL_ACC64) else value


def decode_string(regs: Sequence[int]) -> str | None:
    """Registers to text, stopping at the first NUL and trimmed; None if not implemented (NUL
    first) or blank."""
    data = b"".join(_check_register(r).to_bytes(2, "big") for r in regs)
    data = data.split(b"\0", 1)[0]
    if not data:
        return None
    try:
        text = data.decode("utf-8").strip()
    except UnicodeDecodeError as e:
        raise SunSpecLayoutError(f"string registers are not UTF-8: {data!r}") from e
    return text or None


def scale_to_int(raw: int, sf: int) -> int:
    """raw × 10^sf as an integer, exact for sf ≥ 0 and truncated toward zero for sf < 0."""
    mul: int = pow(10, abs(sf))
    if sf >= 0:
        return raw * mul
    return raw // mul if raw >= 0 else -((-raw) // mul)


def scaled(raw: int | None, sf: int | None) -> int | None:
    """:func:`scale_to_int`, or None when the point or its scale factor is not implemented."""
    return None if raw is None or sf is None else scale_to_int(raw, sf)


__all__ = [
    "SUNSSF_MAX", "SUNSSF_MIN", "SunSpecLayoutError", "UNIMPL_ACC32", "UNIMPL_ACC64",
    "UNIMPL_ENUM16", "UNIMPL_INT16", "UNIMPL_SUNSSF", "UNIMPL_UINT16", "UNIMPL_UINT32",
    "UNIMPL_UINT64", "decode_acc32", "decode_energy64", "decode_int16", "decode_string",
    "decode_sunssf", "decode_uint16", "decode_uint32", "decode_uint64", "scale_to_int", "scaled"
]
