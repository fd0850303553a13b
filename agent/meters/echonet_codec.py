"""ECHONET Lite frames and the property values a metering agent needs — a pure codec.

Bytes in, values out; no serial port, socket or clock is touched here (the Wi-SUN dongle driver
is :mod:`agent.meters.skstack`, the reader :mod:`agent.meters.broute`). Every decoder either
returns a value, returns :class:`Missing` for a value the device marks as "no data", or raises
:class:`EchonetError` whose message says what was wrong — never ``ValueError``, ``KeyError`` or
``IndexError`` (a hypothesis test feeds arbitrary bytes to each of them).

What is implemented, and from where:

* **Frame, format 1** (ECHONET Lite Specification Ver.1.13 Part 2 §3.2): EHD1 0x10, EHD2 0x81,
  TID u16 big-endian, SEOJ, DEOJ (3 bytes each), ESV, OPC, then OPC × (EPC, PDC, EDT). The
  SetGet services carry two lists (OPCSet …, OPCGet …). Format 2 (EHD2 0x82, arbitrary
  message) is refused.
* **ESV codes** (Part 2 §3.2.5): requests 0x60–0x63, 0x6E; responses 0x71–0x74, 0x7A, 0x7E; the
  "not possible" responses 0x50–0x53, 0x5E. In a Get_SNA the properties the device could not
  read come back with PDC 0 and the others with their values.
* **Property maps** (0x9D/0x9E/0x9F; Appendix, "property map description format"): a count,
  then either that many EPCs (count < 16) or a 16-byte bitmap in which bit *b* of byte *i*
  stands for EPC 0x80 + 0x10·b + i. Vectors: smdn/Smdn.Net.EchonetLite
  ``PropertyMapSerializer`` tests.
* **0x0288 low-voltage smart electric energy meter** (Appendix Release R §3.3.25, the "lvsm"
  AIF spec 1.01; cross-read against smdn ``LowVoltageSmartElectricEnergyMeter.cs`` and pychonet
  ``LowVoltageSmartElectricEnergyMeter.py``): D3 coefficient (u32 1–999,999, 1 when absent),
  D7 effective digits (u8 1–8), E1 unit code, E0 / E3 cumulative energy (u32 0–99,999,999),
  E7 instantaneous power (s32 W), E8 currents (2 × s16, 0.1 A), EA / EB energy at the last fixed
  30-minute time (YYYY u16, MM, DD, hh, mm, ss, u32).
  ``kWh = raw × D3 × unit(E1)``; the register wraps to 0 at 10^D7 raw counts.
* **0x0279 household solar power generation** (SonyCSL OpenECHO
  ``HouseholdSolarPowerGeneration.java``, generated from the Appendix): E0 instantaneous
  generation u16 W (0–65,533), E1 cumulative generated and E3 cumulative sold, u32 in 0.001 kWh
  (0–999,999.999 kWh).
* **0x027E electric vehicle charger/discharger** (pychonet
  ``ElectricVehicleChargerDischarger.py``; a V2H power-conditioner firmware found by its
  Japanese comments, ``v2hTtlChargePower [0.001kWh] (0xD8)``): D3 instantaneous charge/discharge
  s32 W, D6 cumulative discharged and D8 cumulative charged, u32 in 0.001 kWh.
* **0x02A1 electric vehicle charger**: D8 cumulative charged energy (4 bytes; an ECHONET device
  emulator resets it with D9). Its unit is *not confirmed* from a public source, so this codec
  knows the class but the agent does not offer it as a meter (see :data:`EV_CHARGER`).

"No data" never becomes zero: the documented markers (0xFFFFFFFE "no measurement", 0xFFFFFFFF
overflow, 0x80000000 / 0x7FFFFFFF / 0x7FFFFFFE for signed values) and every value outside the
documented range decode to :class:`Missing` with the reason.

All energy arithmetic is exact (integers and :class:`fractions.Fraction`); a register is turned
into whole Wh by rounding *down*, so an interval's energy is never overstated.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from fractions import Fraction
from typing import Final

from agent.errors import MeterDataError
from eco_protocol.messages import Msg, msg

EHD1: Final = 0x10
EHD2_FORMAT1: Final = 0x81
EHD2_FORMAT2: Final = 0x82
HEADER_LENGTH: Final = 12  # EHD1 EHD2 TID(2) SEOJ(3) DEOJ(3) ESV OPC
ECHONET_UDP_PORT: Final = 3610


class EchonetError(MeterDataError):
    """Bytes that are not a usable ECHONET Lite frame or property value; ``str()`` says why."""


class ESV(enum.IntEnum):
    """ECHONET Lite service codes (Part 2 §3.2.5)."""

    SETI = 0x60
    SETC = 0x61
    GET = 0x62
    INF_REQ = 0x63
    SETGET = 0x6E
    SET_RES = 0x71
    GET_RES = 0x72
    INF = 0x73
    INFC = 0x74
    INFC_RES = 0x7A
    SETGET_RES = 0x7E
    SETI_SNA = 0x50
    SETC_SNA = 0x51
    GET_SNA = 0x52
    INF_SNA = 0x53
    SETGET_SNA = 0x5E


_SETGET_ESVS: Final = frozenset({ESV.SETGET, ESV.SETGET_RES, ESV.SETGET_SNA})


def _hex(data: bytes, limit: int = 24) -> str:
    head = data[:limit].hex(" ").upper()
    return head if len(data) <= limit else f"{head} … ({len(data)} bytes)"


@dataclass(frozen=True, slots=True)
class EOJ:
    """An ECHONET object: class group code, class code, instance code."""

    class_group: int
    class_code: int
    instance: int = 1

    def __post_init__(self) -> None:
        for name in ("class_group", "class_code", "instance"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 0xFF:
                raise EchonetError(f"EOJ {name} must be a byte, got {v!r}")

    @classmethod
    def from_bytes(cls, data: bytes) -> EOJ:
        if len(data) != 3:
            raise EchonetError(f"an EOJ is 3 bytes, got {len(data)}")
        return cls(data[0], data[1], data[2])

    def to_bytes(self) -> bytes:
        return bytes((self.class_group, self.class_code, self.instance))

    @property
    def class_id(self) -> int:
        """Class group and class as one number, e.g. 0x0288."""
        return self.class_group << 8 | self.class_code

    def same_class(self, other: EOJ) -> bool:
        return self.class_id == other.class_id

    def __str__(self) -> str:
        return f"{self.class_group:02X}{self.class_code:02X}{self.instance:02X}"


CONTROLLER: Final = EOJ(0x05, 0xFF, 0x01)
NODE_PROFILE: Final = EOJ(0x0E, 0xF0, 0x01)
LV_SMART_METER: Final = EOJ(0x02, 0x88, 0x01)
SOLAR: Final = EOJ(0x02, 0x79, 0x01)
EV_CHARGER_DISCHARGER: Final = EOJ(0x02, 0x7E, 0x01)
EV_CHARGER: Final = EOJ(0x02, 0xA1, 0x01)  # D8 unit unconfirmed: decoded, never metered

CLASS_NAMES: Final[Mapping[int, str]] = {
    0x0288: "low-voltage smart electric energy meter",
    0x0279: "household solar power generation",
    0x027E: "electric vehicle charger/discharger",
    0x02A1: "electric vehicle charger",
    0x0EF0: "node profile",
    0x05FF: "controller",
}


def class_name(class_id: int) -> Msg | None:
    """The class's name as a person reads it inside a sentence, in their language
    (``agent.el.class.0288`` → 低圧スマート電力量メータ); None for a class we do not name.
    :data:`CLASS_NAMES` stays the English, for the reading's ``model`` and the logs."""
    return msg(f"agent.el.class.{class_id:04x}") if class_id in CLASS_NAMES else None


@dataclass(frozen=True, slots=True)
class Property:
    """One (EPC, EDT) pair; a Get request and an unavailable property in Get_SNA have EDT b""."""

    epc: int
    edt: bytes = b""

    def __post_init__(self) -> None:
        if not isinstance(self.epc, int) or not 0 <= self.epc <= 0xFF:
            raise EchonetError(f"EPC must be a byte, got {self.epc!r}")
        if len(self.edt) > 0xFF:
            raise EchonetError(f"EDT of EPC {self.epc:02X} has {len(self.edt)} bytes; PDC is one "
                               "byte")

    def encode(self) -> bytes:
        return bytes((self.epc, len(self.edt))) + self.edt


@dataclass(frozen=True, slots=True)
class Frame:
    """A format-1 ECHONET Lite frame. ``get_properties`` is used by the SetGet services only."""

    tid: int
    seoj: EOJ
    deoj: EOJ
    esv: int
    properties: tuple[Property, ...]
    get_properties: tuple[Property, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.tid, int) or not 0 <= self.tid <= 0xFFFF:
            raise EchonetError(f"TID must be within 0..0xFFFF, got {self.tid!r}")
        if not isinstance(self.esv, int) or not 0 <= self.esv <= 0xFF:
            raise EchonetError(f"ESV must be a byte, got {self.esv!r}")
        if len(self.properties) > 0xFF or len(self.get_properties) > 0xFF:
            raise EchonetError("at most 255 properties per list (OPC is one byte)")
        if self.get_properties and self.esv not in _SETGET_ESVS:
            raise EchonetError("only SetGet services carry a second property list")

    def encode(self) -> bytes:
        out = bytearray((EHD1, EHD2_FORMAT1))
        out += self.tid.to_bytes(2, "big") + self.seoj.to_bytes() + self.deoj.to_bytes()
        out += bytes((self.esv, len(self.properties)))
        for p in self.properties:
            out += p.encode()
        if self.esv in _SETGET_ESVS:
            out.append(len(self.get_properties))
            for p in self.get_properties:
                out += p.encode()
        return bytes(out)

    def get(self, epc: int) -> Property | None:
        """The first property with this EPC, if present."""
        for p in self.properties:
            if p.epc == epc:
                return p
        return None

    @property
    def esv_name(self) -> str:
        try:
            return ESV(self.esv).name
        except ValueError:
            return f"ESV 0x{self.esv:02X}"


def _decode_properties(data: bytes, pos: int, count: int, what: str) -> tuple[
        tuple[Property, ...], int]:
    props: list[Property] = []
    for i in range(count):
        if pos + 2 > len(data):
            raise EchonetError.coded("agent.el.cut_off", what=what, i=i + 1, count=count, pos=pos,
                                     n=len(data))
        epc, pdc = data[pos], data[pos + 1]
        pos += 2
        if pos + pdc > len(data):
            raise EchonetError.coded("agent.el.pdc", what=what, epc=f"{epc:02X}", pdc=pdc,
                                     left=len(data) - pos)
        props.append(Property(epc, bytes(data[pos:pos + pdc])))
        pos += pdc
    return tuple(props), pos


def decode_frame(data: bytes) -> Frame:
    """Parse one frame; raises :class:`EchonetError` saying which byte is wrong."""
    if len(data) < HEADER_LENGTH:
        raise EchonetError.coded("agent.el.short", min=HEADER_LENGTH, n=len(data), frame=_hex(data))
    if data[0] != EHD1:
        raise EchonetError.coded("agent.el.ehd1", got=f"{data[0]:02X}", frame=_hex(data))
    if data[1] == EHD2_FORMAT2:
        raise EchonetError.coded("agent.el.ehd2_arbitrary")
    if data[1] != EHD2_FORMAT1:
        raise EchonetError.coded("agent.el.ehd2", got=f"{data[1]:02X}")
    tid = int.from_bytes(data[2:4], "big")
    seoj, deoj = EOJ.from_bytes(data[4:7]), EOJ.from_bytes(data[7:10])
    esv, opc = data[10], data[11]
    props, pos = _decode_properties(data, HEADER_LENGTH, opc, f"TID {tid}")
    get_props: tuple[Property, ...] = ()
    if esv in _SETGET_ESVS:
        if pos >= len(data):
            raise EchonetError.coded("agent.el.no_opcget", tid=tid)
        get_props, pos = _decode_properties(data, pos + 1, data[pos], f"TID {tid} (Get part)")
    if pos != len(data):
        raise EchonetError.coded("agent.el.trailing", tid=tid, n=len(data) - pos,
                                 rest=_hex(data[pos:]))
    return Frame(tid, seoj, deoj, esv, props, get_props)


def encode_get(tid: int, deoj: EOJ, epcs: Sequence[int], seoj: EOJ = CONTROLLER) -> bytes:
    """A Get request for ``epcs`` (PDC 0, no EDT each)."""
    if not epcs:
        raise EchonetError("a Get needs at least one EPC")
    if len(set(epcs)) != len(epcs):
        raise EchonetError("the same EPC is requested twice")
    return Frame(tid, seoj, deoj, ESV.GET, tuple(Property(e) for e in epcs)).encode()


_RESPONSES: Final[Mapping[int, tuple[int, ...]]] = {
    ESV.GET: (ESV.GET_RES, ESV.GET_SNA),
    ESV.SETC: (ESV.SET_RES, ESV.SETC_SNA),
    ESV.SETGET: (ESV.SETGET_RES, ESV.SETGET_SNA),
    ESV.INF_REQ: (ESV.INF, ESV.INF_SNA),
}


def is_response_to(request: Frame, response: Frame) -> bool:
    """True if ``response`` answers ``request``: same TID, addressed back to its sender, from
    its target class, and the matching response service (Get → Get_Res or Get_SNA)."""
    return (response.tid == request.tid and response.esv in _RESPONSES.get(request.esv, ())
            and response.deoj == request.seoj and response.seoj.same_class(request.deoj))


# --- property maps ---------------------------------------------------------------------------


def decode_property_map(edt: bytes) -> frozenset[int]:
    """EPCs listed in a property map (0x9D/0x9E/0x9F)."""
    if not edt:
        raise EchonetError("empty property map")
    count = edt[0]
    if count < 16:
        if len(edt) != 1 + count:
            raise EchonetError(f"property map lists {count} EPCs but has {len(edt) - 1}")
        epcs = frozenset(edt[1:])
        if len(epcs) != count or any(e < 0x80 for e in epcs):
            raise EchonetError(f"property map {_hex(edt)} repeats an EPC or lists one below 0x80")
        return epcs
    if len(edt) != 17:
        raise EchonetError(f"property map with {count} EPCs must be a 16-byte bitmap, got "
                           f"{len(edt) - 1} bytes")
    found = frozenset(0x80 + 0x10 * bit + i for i in range(16) for bit in range(8)
                      if edt[1 + i] >> bit & 1)
    if len(found) != count:
        raise EchonetError(f"property map says {count} EPCs but its bitmap has {len(found)}")
    return found


def encode_property_map(epcs: Iterable[int]) -> bytes:
    s = sorted(set(epcs))
    if any(not 0x80 <= e <= 0xFF for e in s):
        raise EchonetError("property map EPCs must be within 0x80..0xFF")
    if len(s) < 16:
        return bytes([len(s), *s])
    bitmap = bytearray(16)
    for e in s:
        bitmap[(e - 0x80) & 0x0F] |= 1 << ((e - 0x80) >> 4)
    return bytes([len(s)]) + bytes(bitmap)


# --- property values -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Missing:
    """A property the device does not have, or holds "no data" for. Never a zero."""

    epc: int
    reason: str

    def __str__(self) -> str:
        return f"EPC {self.epc:02X}: {self.reason}"


def _uint(edt: bytes, size: int, epc: int) -> int:
    if len(edt) != size:
        raise EchonetError.coded("agent.el.size", epc=f"{epc:02X}", size=size, n=len(edt),
                                 edt=_hex(edt))
    return int.from_bytes(edt, "big")


def _sint(edt: bytes, size: int, epc: int) -> int:
    _uint(edt, size, epc)
    return int.from_bytes(edt, "big", signed=True)


U32_NO_DATA: Final = 0xFFFFFFFE
U32_OVERFLOW: Final = 0xFFFFFFFF
_S32_MARKERS: Final = {-0x80000000: "underflow", 0x7FFFFFFF: "overflow",
                       0x7FFFFFFE: "no measurement"}
_S16_MARKERS: Final = {-0x8000: "underflow", 0x7FFF: "overflow", 0x7FFE: "no measurement"}

#: E1 unit codes of 0x0288 in kWh (Appendix Release R §3.3.25; smdn, pychonet agree).
E1_UNITS_KWH: Final[Mapping[int, Fraction]] = {
    0x00: Fraction(1), 0x01: Fraction(1, 10), 0x02: Fraction(1, 100), 0x03: Fraction(1, 1000),
    0x04: Fraction(1, 10000), 0x0A: Fraction(10), 0x0B: Fraction(100), 0x0C: Fraction(1000),
    0x0D: Fraction(10000),
}

SMART_METER_MAX_RAW: Final = 99_999_999  # E0/E3/EA/EB: 0x00000000–0x05F5E0FF
MILLI_KWH_MAX_RAW: Final = 999_999_999  # 0x0279 E1/E3, 0x027E D6/D8: 0x00000000–0x3B9AC9FF


def decode_coefficient(edt: bytes) -> int:
    """0x0288 D3: the multiplier of E0/E3 (u32, 1–999,999)."""
    v = _uint(edt, 4, 0xD3)
    if not 1 <= v <= 999_999:
        raise EchonetError.coded("agent.el.coefficient", v=v)
    return v


def decode_digits(edt: bytes) -> int:
    """0x0288 D7: effective digits of E0/E3 (1–8); the register wraps at 10**digits."""
    v = _uint(edt, 1, 0xD7)
    if not 1 <= v <= 8:
        raise EchonetError.coded("agent.el.digits", v=v)
    return v


def decode_unit(edt: bytes) -> Fraction:
    """0x0288 E1: the unit of E0/E3/EA/EB in kWh."""
    code = _uint(edt, 1, 0xE1)
    try:
        return E1_UNITS_KWH[code]
    except KeyError:
        raise EchonetError.coded("agent.el.unit", code=f"{code:02X}",
                                 known=", ".join(f"{c:02X}" for c in E1_UNITS_KWH)) from None


@dataclass(frozen=True, slots=True)
class EnergyScale:
    """How raw counts of a cumulative register become energy: raw × coefficient × unit kWh."""

    unit_kwh: Fraction
    coefficient: int = 1
    digits: int | None = None  # the register wraps to 0 at 10**digits counts (None: unknown)
    max_raw: int = SMART_METER_MAX_RAW

    def __post_init__(self) -> None:
        if self.unit_kwh <= 0 or self.coefficient < 1:
            raise EchonetError("unit and coefficient must be positive")
        if self.digits is not None and not 1 <= self.digits <= 9:
            raise EchonetError(f"effective digits {self.digits} outside 1–9")

    @property
    def wh_per_count(self) -> Fraction:
        return self.unit_kwh * self.coefficient * 1000

    def limit(self) -> int:
        """The largest raw value a register can hold."""
        if self.digits is None:
            return self.max_raw
        return min(self.max_raw, int(10**self.digits) - 1)

    def to_wh(self, raw: int) -> int:
        """Whole Wh for a raw count, rounded down (never overstated)."""
        q = raw * self.wh_per_count
        return q.numerator // q.denominator

    def wrap_wh(self) -> int | None:
        """The energy at which the register rolls over to 0, in Wh (None if D7 is unknown)."""
        if self.digits is None:
            return None
        q = int(10**self.digits) * self.wh_per_count
        return q.numerator // q.denominator if q.denominator == 1 else None


#: 0x0279 E1/E3 and 0x027E D6/D8: 0.001 kWh = 1 Wh per count, 0–999,999,999.
MILLI_KWH_SCALE: Final = EnergyScale(unit_kwh=Fraction(1, 1000), digits=9,
                                     max_raw=MILLI_KWH_MAX_RAW)


@dataclass(frozen=True, slots=True)
class Cumulative:
    """A cumulative energy register: its raw count and that count in whole Wh."""

    epc: int
    raw: int
    wh: int


def decode_cumulative(epc: int, edt: bytes, scale: EnergyScale) -> Cumulative | Missing:
    """A u32 cumulative energy register; markers and out-of-range values are :class:`Missing`."""
    raw = _uint(edt, 4, epc)
    if raw == U32_NO_DATA:
        return Missing(epc, "the device reports no measurement (0xFFFFFFFE)")
    if raw == U32_OVERFLOW:
        return Missing(epc, "the device reports an overflow (0xFFFFFFFF)")
    if raw > scale.limit():
        return Missing(epc, f"value {raw} is outside the register's range 0–{scale.limit()}")
    return Cumulative(epc, raw, scale.to_wh(raw))


def decode_power_s32(epc: int, edt: bytes) -> int | Missing:
    """A signed 32-bit power in W (0x0288 E7, 0x027E D3)."""
    v = _sint(edt, 4, epc)
    if v in _S32_MARKERS:
        return Missing(epc, f"the device reports {_S32_MARKERS[v]} (0x{v & 0xFFFFFFFF:08X})")
    return v


def decode_power_u16(epc: int, edt: bytes) -> int | Missing:
    """An unsigned 16-bit power in W, 0–65,533 (0x0279 E0)."""
    v = _uint(edt, 2, epc)
    if v > 0xFFFD:
        return Missing(epc, f"value 0x{v:04X} is outside 0–65,533 W (no data / overflow)")
    return v


def decode_currents(edt: bytes) -> tuple[int | Missing, int | Missing]:
    """0x0288 E8: R-phase and T-phase current in 0.1 A (signed 16-bit each)."""
    _uint(edt, 4, 0xE8)
    out: list[int | Missing] = []
    for part in (edt[:2], edt[2:]):
        v = int.from_bytes(part, "big", signed=True)
        out.append(Missing(0xE8, f"the device reports {_S16_MARKERS[v]}") if v in _S16_MARKERS
                   else v)
    return out[0], out[1]


@dataclass(frozen=True, slots=True)
class FixedTimeEnergy:
    """0x0288 EA/EB: the register at the last fixed 30-minute time (meter-local time)."""

    epc: int
    at: datetime  # naive: the meter's local (JST) clock
    value: Cumulative | Missing


def decode_fixed_time_energy(epc: int, edt: bytes, scale: EnergyScale) -> FixedTimeEnergy:
    _uint(edt, 11, epc)
    year = int.from_bytes(edt[0:2], "big")
    try:
        at = datetime(year, edt[2], edt[3], edt[4], edt[5], edt[6])
    except ValueError as e:
        raise EchonetError.coded("agent.el.datetime", epc=f"{epc:02X}", edt=_hex(edt[:7]),
                                 error=str(e)) from e
    return FixedTimeEnergy(epc, at, decode_cumulative(epc, edt[7:], scale))


def decode_text(epc: int, edt: bytes) -> str | Missing:
    """An ASCII property such as 0x8C product code or 0x8D production number; NUL and space
    padding is removed. All-padding means "not set"."""
    if any(b > 0x7E for b in edt):
        raise EchonetError.coded("agent.el.not_ascii", epc=f"{epc:02X}", edt=_hex(edt))
    text = edt.replace(b"\x00", b" ").decode("ascii").strip()
    if not text:
        return Missing(epc, "not set (all padding)")
    if not text.isprintable():
        raise EchonetError.coded("agent.el.control", epc=f"{epc:02X}", edt=_hex(edt))
    return text


def decode_manufacturer(edt: bytes) -> str:
    """0x8A manufacturer code (3 bytes), as 6 hex digits."""
    _uint(edt, 3, 0x8A)
    return edt.hex().upper()


def decode_identification(edt: bytes) -> str | Missing:
    """0x83 identification number: 0xFE + 16 bytes (manufacturer code + unique id), as hex."""
    if not edt:
        return Missing(0x83, "not available")
    if len(edt) not in (9, 17) or edt[0] != 0xFE:
        raise EchonetError.coded("agent.el.ident", edt=_hex(edt))
    if all(b == 0 for b in edt[4:]):
        return Missing(0x83, "not set (all zero)")
    return edt.hex().upper()
