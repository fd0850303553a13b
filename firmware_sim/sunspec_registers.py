"""SunSpec register encoders: the simulator's side of :mod:`agent.meters.sunspec_layout`.

The agent only decodes; these functions turn model values into the registers a SunSpec device
serves (model 1, 101/102/103, 701, the whole image from ``SunS`` to the end model), with the
offsets, types and "not implemented" markers of the agent's layout module, so the simulator and
the reader cannot disagree about an offset. Pure functions over integers; no I/O. Sources are
named in :mod:`agent.meters.sunspec_layout`.

An encoder refuses a value its point cannot hold with :class:`EncodeError` (a ``ValueError``):
that is a mistake in the simulation's set-up, not bad data from a device.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from agent.meters.sunspec_layout import (
    ACC32_MODULUS,
    COMMON_LENGTH,
    COMMON_MODEL_ID,
    DER_AC_LENGTH,
    DER_AC_MODEL_ID,
    END_MODEL_ID,
    INVERTER_LENGTH,
    REGISTER_SPACE,
    SUNS_MARKER,
    SUNSSF_MAX,
    SUNSSF_MIN,
    UINT64_MODULUS,
    UNIMPL_ACC32,
    UNIMPL_INT16,
    UNIMPL_UINT16,
    UNIMPL_UINT64,
    CommonModel,
    DerAcOffset,
    DerAcValues,
    InverterOffset,
    InverterValues,
)
from firmware_sim.errors import SimulatorError


class EncodeError(SimulatorError, ValueError):
    """A value does not fit the SunSpec point it is meant for."""


# int16 points of model 701 (their "not implemented" is 0x8000, not 0xFFFF): W, VA, Var, A, the
# temperatures, and per phase W, VA, Var, A, the two voltages (offsets 0, 1, 2, 4, 5, 6 of a group)
_DER_AC_INT16: tuple[int, ...] = (
    DerAcOffset.W, DerAcOffset.VA, DerAcOffset.VAR, DerAcOffset.A,
    *range(DerAcOffset.TMP_AMB, DerAcOffset.TMP_AMB + 6),
    *(g + o for g in DerAcOffset.PHASES for o in (0, 1, 2, 4, 5, 6)),
    *range(DerAcOffset.A_SF, DerAcOffset.TMP_SF + 1),
)


def encode_int16(value: int | None) -> int:
    """int16 to a register; None encodes as not implemented."""
    if value is None:
        return UNIMPL_INT16
    if not -0x7FFF <= value <= 0x7FFF:  # -32768 is reserved for "not implemented"
        raise EncodeError(f"{value} does not fit an implemented int16")
    return value & 0xFFFF


def encode_uint16(value: int | None) -> int:
    if value is None:
        return UNIMPL_UINT16
    if not 0 <= value < UNIMPL_UINT16:
        raise EncodeError(f"{value} does not fit an implemented uint16")
    return value


def encode_sunssf(sf: int | None) -> int:
    if sf is not None and not SUNSSF_MIN <= sf <= SUNSSF_MAX:
        raise EncodeError(f"scale factor {sf} is outside {SUNSSF_MIN}..{SUNSSF_MAX}")
    return encode_int16(sf)


def encode_acc32(value: int) -> tuple[int, int]:
    """Accumulator to two registers; it wraps modulo 2^32 like the device's counter does."""
    if value < 0:
        raise EncodeError(f"accumulator {value} is negative")
    value %= ACC32_MODULUS
    return (value >> 16) & 0xFFFF, value & 0xFFFF


def encode_uint64(value: int | None) -> tuple[int, int, int, int]:
    """uint64 to four registers; None encodes as not implemented (all ones)."""
    if value is None:
        value = UNIMPL_UINT64
    if not 0 <= value < UINT64_MODULUS:
        raise EncodeError(f"{value} does not fit a uint64")
    return (value >> 48 & 0xFFFF, value >> 32 & 0xFFFF, value >> 16 & 0xFFFF, value & 0xFFFF)


def encode_string(text: str, n_registers: int) -> tuple[int, ...]:
    """UTF-8 text, NUL-padded to ``n_registers`` × 2 bytes, two bytes per register."""
    data = text.encode("utf-8")
    size = 2 * n_registers
    if len(data) > size:
        raise EncodeError(f"{text!r} is longer than {size} bytes")
    data = data.ljust(size, b"\0")
    return tuple((data[i] << 8) | data[i + 1] for i in range(0, size, 2))


def encode_common(common: CommonModel) -> list[int]:
    """Model 1 as 2 + 66 registers (ID, L, points, Pad)."""
    regs = [COMMON_MODEL_ID, COMMON_LENGTH]
    regs += encode_string(common.manufacturer, 16)
    regs += encode_string(common.model, 16)
    regs += encode_string(common.options, 8)
    regs += encode_string(common.version, 8)
    regs += encode_string(common.serial, 16)
    regs.append(encode_uint16(common.device_address))
    regs.append(0)  # Pad
    assert len(regs) == COMMON_LENGTH + 2
    return regs


def encode_inverter(values: InverterValues) -> list[int]:
    """Model 101/102/103 as 2 + 50 registers; points we do not model are "not implemented"."""
    regs = [UNIMPL_UINT16] * (INVERTER_LENGTH + 2)
    regs[InverterOffset.ID] = values.model_id
    regs[InverterOffset.L] = INVERTER_LENGTH
    # int16 and sunssf points default to 0x8000, not 0xFFFF
    for off in (
        InverterOffset.A_SF,
        InverterOffset.V_SF,
        InverterOffset.W,
        InverterOffset.W_SF,
        InverterOffset.HZ_SF,
        InverterOffset.VA,
        InverterOffset.VA_SF,
        InverterOffset.VAR,
        InverterOffset.VAR_SF,
        InverterOffset.PF,
        InverterOffset.PF_SF,
        InverterOffset.WH_SF,
        InverterOffset.DCA_SF,
        InverterOffset.DCV_SF,
        InverterOffset.DCW,
        InverterOffset.DCW_SF,
        InverterOffset.TMP_CAB,
        InverterOffset.TMP_SNK,
        InverterOffset.TMP_TRNS,
        InverterOffset.TMP_OT,
        InverterOffset.TMP_SF,
    ):
        regs[off] = UNIMPL_INT16
    regs[InverterOffset.A] = encode_uint16(values.amps)
    regs[InverterOffset.APH_A] = encode_uint16(values.amps)
    regs[InverterOffset.A_SF] = encode_sunssf(values.a_sf)
    for off in (InverterOffset.PHV_A, InverterOffset.PHV_B, InverterOffset.PHV_C):
        regs[off] = encode_uint16(values.phase_volts)
    regs[InverterOffset.V_SF] = encode_sunssf(values.v_sf)
    regs[InverterOffset.W] = encode_int16(values.w)
    regs[InverterOffset.W_SF] = encode_sunssf(values.w_sf)
    regs[InverterOffset.HZ] = encode_uint16(values.hz)
    regs[InverterOffset.HZ_SF] = encode_sunssf(values.hz_sf)
    wh_hi, wh_lo = encode_acc32(values.wh if values.wh is not None else UNIMPL_ACC32)
    regs[InverterOffset.WH] = wh_hi
    regs[InverterOffset.WH + 1] = wh_lo
    regs[InverterOffset.WH_SF] = encode_sunssf(values.wh_sf)
    regs[InverterOffset.TMP_CAB] = encode_int16(values.cabinet_temp)
    regs[InverterOffset.TMP_SF] = encode_sunssf(values.tmp_sf)
    regs[InverterOffset.ST] = encode_uint16(values.state)
    for off in range(InverterOffset.EVT1, InverterOffset.EVT1 + 4):  # Evt1, Evt2: no events
        regs[off] = 0
    return regs


def encode_der_ac(values: DerAcValues) -> list[int]:
    """Model 701 as 2 + 153 registers; points we do not model are "not implemented" by type
    (0x8000 for int16/sunssf, all ones for unsigned, enum and bitfield points, NUL strings)."""
    regs = [UNIMPL_UINT16] * (DER_AC_LENGTH + 2)
    for off in _DER_AC_INT16:
        regs[off] = UNIMPL_INT16
    regs[DerAcOffset.MN_ALRM_INFO :] = [0] * 32
    regs[DerAcOffset.ID] = DER_AC_MODEL_ID
    regs[DerAcOffset.L] = DER_AC_LENGTH
    regs[DerAcOffset.ST] = encode_uint16(values.st)
    regs[DerAcOffset.INV_ST] = encode_uint16(values.inv_st)
    regs[DerAcOffset.CONN_ST] = encode_uint16(values.conn_st)
    regs[DerAcOffset.ALRM : DerAcOffset.ALRM + 2] = [0, 0]  # no alarms
    regs[DerAcOffset.W] = encode_int16(values.w)
    regs[DerAcOffset.W_SF] = encode_sunssf(values.w_sf)
    regs[DerAcOffset.TOT_WH_INJ : DerAcOffset.TOT_WH_INJ + 4] = encode_uint64(values.tot_wh_inj)
    regs[DerAcOffset.TOT_WH_ABS : DerAcOffset.TOT_WH_ABS + 4] = encode_uint64(values.tot_wh_abs)
    regs[DerAcOffset.TOT_WH_SF] = encode_sunssf(values.tot_wh_sf)
    assert len(regs) == DER_AC_LENGTH + 2
    return regs


@dataclass(frozen=True, slots=True)
class RegisterImage:
    """A contiguous block of holding registers starting at protocol address ``start``."""

    start: int
    registers: tuple[int, ...]

    def __post_init__(self) -> None:
        if self.start < 0 or self.start + len(self.registers) > REGISTER_SPACE:
            raise EncodeError("register image does not fit the 16-bit address space")
        for r in self.registers:
            if not 0 <= r <= 0xFFFF:
                raise EncodeError(f"register value {r!r} is not a 16-bit unsigned integer")

    def read(self, address: int, count: int) -> tuple[int, ...] | None:
        """Registers ``address .. address+count-1``, or None if any lies outside the image."""
        lo = address - self.start
        if count < 1 or lo < 0 or lo + count > len(self.registers):
            return None
        return self.registers[lo : lo + count]


def build_image(base: int, models: Sequence[Sequence[int]]) -> RegisterImage:
    """``SunS`` at ``base``, then each model's registers (ID and L included), then the end
    model (0xFFFF, 0)."""
    regs: list[int] = list(SUNS_MARKER)
    for m in models:
        if len(m) < 2 or m[1] != len(m) - 2:
            raise EncodeError("a model's L register does not match its length")
        regs.extend(m)
    regs += [END_MODEL_ID, 0]
    return RegisterImage(start=base, registers=tuple(regs))
