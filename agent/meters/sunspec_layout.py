"""The SunSpec register map we read and simulate: model 1, models 101/102/103 and model 701
(finding them along the model chain is :mod:`agent.meters.sunspec_chain`).

Pure functions over lists of 16-bit registers; no I/O. The reader (:mod:`agent.meters.sunspec`)
decodes with this module; the simulator's encoders (:mod:`firmware_sim.sunspec_registers`) build
their registers from its offsets, types and markers, so the agent and its test double cannot
disagree about an offset.

Sources (checked, not remembered):

* sunspec/models ``json/model_1.json`` — common model: ID, L, then Mn 16 regs, Md 16, Opt 8,
  Vr 8, SN 16, DA 1, Pad 1 (so L = 66). "All SunSpec compliant devices must include this as the
  first model."
* sunspec/models ``json/model_101.json`` / ``json/model_103.json`` — inverter models, L = 50,
  identical point lists for 101/102/103: ID, L, A, AphA, AphB, AphC, A_SF, PPVphAB, PPVphBC,
  PPVphCA, PhVphA, PhVphB, PhVphC, V_SF, **W (int16), W_SF**, Hz, Hz_SF, VA, VA_SF, VAr, VAr_SF,
  PF, PF_SF, **WH (acc32, size 2, units Wh), WH_SF (sunssf)**, DCA, DCA_SF, DCV, DCV_SF, DCW,
  DCW_SF, TmpCab, TmpSnk, TmpTrns, TmpOt, Tmp_SF, **St (enum16: 1 OFF, 2 SLEEPING, 3 STARTING,
  4 MPPT, 5 THROTTLED, 6 SHUTTING_DOWN, 7 FAULT, 8 STANDBY)**, StVnd, Evt1 (2), Evt2 (2),
  EvtVnd1..4 (2 each). Counting sizes from the model start (ID at offset 0) gives W at 14,
  W_SF 15, WH 24–25 (22–23 counted from the body after ID/L), WH_SF 26, St 38, total 52 = 2 + L.
* sunspec/pysunspec2 ``sunspec2/mb.py`` — "not implemented" values: int16 and sunssf −32768
  (0x8000), uint16/enum16 0xFFFF, uint32 0xFFFFFFFF, **acc32 0**, string NUL first character;
  ``SUNS_BASE_ADDR_DEFAULT = 40000``, ``SUNS_END_MODEL_ID = 0xffff``.
* sunspec/pysunspec2 ``sunspec2/modbus/client.py`` ``scan()`` — tries base addresses 0, 40000,
  50000 for ``SunS``, then walks models by ID and L; reads L separately "due to some devices not
  supplying count for the end model id".
* docs/meters.md §3 — SunS = 0x5375 0x6E53; 0-based protocol addresses; SolarEdge omits
  the Pad (L = 65), which is why we locate points by offset, never by a fixed model length.

* sunspec/models ``json/model_701.json`` (DER AC measurement, the "DER information model" 7xx
  series of newer inverters; revision ab6f2c9a58175a0c05fa02b8fda28ca711e73286, which declares
  L = 153). Its points carry no ``size``, so offsets come from summing the type widths of
  pysunspec2 ``sunspec2/mdef.py`` ``point_type_info`` (uint16/int16/enum16/sunssf 1, uint32 and
  bitfield32 2, uint64 4; strings their ``size``) in the JSON's order: ID 0, L 1, ACType 2,
  **St 3, InvSt 4, ConnSt 5** (enum16), Alrm 6–7, DERMode 8–9, **W 10 (int16)**, VA 11, Var 12,
  PF 13, A 14, LLV 15, LNV 16, Hz 17–18 (uint32), **TotWhInj 19–22 and TotWhAbs 23–26 (uint64,
  Wh, scaled by TotWh_SF)**, TotVarhInj 27–30, TotVarhAbs 31–34, six temperatures 35–40, three
  23-register phase groups L1 41, L2 64, L3 87, ThrotPct 110, ThrotSrc 111–112, A_SF 113, V_SF 114,
  Hz_SF 115, **W_SF 116**, PF_SF 117, VA_SF 118, Var_SF 119, **TotWh_SF 120**, TotVarh_SF 121,
  Tmp_SF 122, MnAlrmInfo 123–154 (string, 32 registers): 155 registers = 2 + 153. The whole list
  is in ``tests/vectors/sunspec_models.json``; a test recomputes these offsets from it. An older
  revision (06d869e9) has the same points and types but numbers the enum symbols from 1 instead
  of 0, so we report InvSt/ConnSt raw and never decide anything on them.
* "not implemented" for the 701 energies: the JSON types them ``uint64``, whose marker is
  0xFFFF_FFFF_FFFF_FFFF (pysunspec2 ``SUNS_UNIMPL_UINT64``); they are accumulators, and ``acc64``'s
  marker is 0 (``SUNS_UNIMPL_ACC64``), which devices written to the accumulator convention send.
  We treat **both** as missing, never as a reading: the cost is that a brand-new inverter is
  first metered after its first Wh.

Which lifetime register we meter (:func:`select_lifetime_energy`): **WH of model 101/102/103
whenever the chain has one**, else TotWhInj of model 701. An inverter that carries both (a
firmware that added the 7xx models beside the old ones) keeps the register it was enrolled with:
switching would change resolution and possibly value, which the interval builder would have to
treat as a meter reset. The 701 value is still read and cross-checked against WH; a disagreement
beyond the two registers' resolution is reported, not silently resolved.

Multi-register values are big-endian, high word first (pysunspec2 ``data_to_u32`` unpacks ``>L``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .sunspec_points import (
    SUNSSF_MAX as SUNSSF_MAX,
)
from .sunspec_points import (
    SUNSSF_MIN as SUNSSF_MIN,
)
from .sunspec_points import (
    UNIMPL_ACC32 as UNIMPL_ACC32,
)
from .sunspec_points import (
    UNIMPL_ACC64 as UNIMPL_ACC64,
)
from .sunspec_points import (
    UNIMPL_ENUM16 as UNIMPL_ENUM16,
)
from .sunspec_points import (  # re-exported: the layout's users name the points from here
    UNIMPL_INT16 as UNIMPL_INT16,
)
from .sunspec_points import (
    UNIMPL_SUNSSF as UNIMPL_SUNSSF,
)
from .sunspec_points import (
    UNIMPL_UINT16 as UNIMPL_UINT16,
)
from .sunspec_points import (
    UNIMPL_UINT32 as UNIMPL_UINT32,
)
from .sunspec_points import (
    UNIMPL_UINT64 as UNIMPL_UINT64,
)
from .sunspec_points import (
    SunSpecLayoutError as SunSpecLayoutError,
)
from .sunspec_points import (
    decode_acc32 as decode_acc32,
)
from .sunspec_points import (
    decode_energy64 as decode_energy64,
)
from .sunspec_points import (
    decode_int16 as decode_int16,
)
from .sunspec_points import (
    decode_string as decode_string,
)
from .sunspec_points import (
    decode_sunssf as decode_sunssf,
)
from .sunspec_points import (
    decode_uint16 as decode_uint16,
)
from .sunspec_points import (
    decode_uint32 as decode_uint32,
)
from .sunspec_points import (
    decode_uint64 as decode_uint64,
)
from .sunspec_points import (
    scale_to_int as scale_to_int,
)
from .sunspec_points import (
    scaled as scaled,
)

# --- constants -------------------------------------------------------------------------------

SUNS_MARKER: tuple[int, int] = (0x5375, 0x6E53)  # "SunS"
DEFAULT_BASE = 40000
BASE_ADDRESSES: tuple[int, ...] = (40000, 0, 50000)  # the order we probe
END_MODEL_ID = 0xFFFF
MAX_MODELS = 64  # bound on the chain walk; real devices have a handful
REGISTER_SPACE = 0x10000

COMMON_MODEL_ID = 1
COMMON_LENGTH = 66
INVERTER_MODEL_IDS: tuple[int, ...] = (101, 102, 103)  # single, split, three phase
INVERTER_LENGTH = 50
DER_AC_MODEL_ID = 701  # DER AC measurement (model_701.json)
DER_AC_LENGTH = 153

ACC32_MODULUS = 1 << 32
UINT64_MODULUS = 1 << 64


class CommonOffset:
    """Offsets from the start of model 1 (the ID register is offset 0). model_1.json."""

    ID = 0
    L = 1
    MN = 2  # 16 registers
    MD = 18  # 16
    OPT = 34  # 8
    VR = 42  # 8
    SN = 50  # 16
    DA = 66  # 1; the Pad at 67 is optional (SolarEdge omits it)


class InverterOffset:
    """Offsets from the start of model 101/102/103 (ID at 0). model_101.json, model_103.json."""

    ID = 0
    L = 1
    A = 2
    APH_A = 3
    APH_B = 4
    APH_C = 5
    A_SF = 6
    PPV_AB = 7
    PPV_BC = 8
    PPV_CA = 9
    PHV_A = 10
    PHV_B = 11
    PHV_C = 12
    V_SF = 13
    W = 14
    W_SF = 15
    HZ = 16
    HZ_SF = 17
    VA = 18
    VA_SF = 19
    VAR = 20
    VAR_SF = 21
    PF = 22
    PF_SF = 23
    WH = 24  # acc32, 2 registers, high word first
    WH_SF = 26
    DCA = 27
    DCA_SF = 28
    DCV = 29
    DCV_SF = 30
    DCW = 31
    DCW_SF = 32
    TMP_CAB = 33
    TMP_SNK = 34
    TMP_TRNS = 35
    TMP_OT = 36
    TMP_SF = 37
    ST = 38
    ST_VND = 39
    EVT1 = 40  # bitfield32; Evt2 42, EvtVnd1..4 44, 46, 48, 50


class DerAcOffset:
    """Offsets from the start of model 701 (ID at 0); derivation in the module docstring."""

    ID = 0
    L = 1
    AC_TYPE = 2
    ST = 3
    INV_ST = 4
    CONN_ST = 5
    ALRM = 6  # bitfield32
    DER_MODE = 8  # bitfield32
    W = 10
    VA = 11
    VAR = 12
    PF = 13
    A = 14
    LLV = 15
    LNV = 16
    HZ = 17  # uint32
    TOT_WH_INJ = 19  # uint64, 4 registers, high word first
    TOT_WH_ABS = 23
    TOT_VARH_INJ = 27
    TOT_VARH_ABS = 31
    TMP_AMB = 35  # TmpAmb, TmpCab, TmpSnk, TmpTrns, TmpSw, TmpOt: 35..40
    PHASES = (41, 64, 87)  # L1, L2, L3 groups of 23 registers
    PHASE_LENGTH = 23
    THROT_PCT = 110
    THROT_SRC = 111  # bitfield32
    A_SF = 113
    V_SF = 114
    HZ_SF = 115
    W_SF = 116
    PF_SF = 117
    VA_SF = 118
    VAR_SF = 119
    TOT_WH_SF = 120
    TOT_VARH_SF = 121
    TMP_SF = 122
    MN_ALRM_INFO = 123  # string, 32 registers


# what we read of model 701: everything up to TotWh_SF (121 registers, within one Modbus read)
DER_AC_READ_LENGTH = DerAcOffset.TOT_WH_SF - 1


# the inverter points we need must lie inside the model: L must reach WH_SF (offset 26 → L ≥ 25)
_INVERTER_MIN_LENGTH = InverterOffset.WH_SF - 1
_COMMON_MIN_LENGTH = CommonOffset.SN + 16 - 2


class OperatingState:
    """Values of St (enum16) in models 101-103."""

    OFF = 1
    SLEEPING = 2
    STARTING = 3
    MPPT = 4
    THROTTLED = 5
    SHUTTING_DOWN = 6
    FAULT = 7
    STANDBY = 8


# --- records ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommonModel:
    """Model 1 fields we use. Strings are at most 32 bytes (Mn, Md, SN) or 16 (Opt, Vr)."""

    manufacturer: str
    model: str
    serial: str
    options: str = ""
    version: str = ""
    device_address: int | None = None

    def __post_init__(self) -> None:
        for name, value, n in (
            ("manufacturer", self.manufacturer, 16),
            ("model", self.model, 16),
            ("serial", self.serial, 16),
            ("options", self.options, 8),
            ("version", self.version, 8),
        ):
            size = 2 * n  # registers of two bytes, UTF-8, NUL-padded
            if len(value.encode("utf-8")) > size:
                raise SunSpecLayoutError(f"{value!r} is longer than {size} bytes")
            if "\0" in value:
                raise SunSpecLayoutError(f"{name} contains NUL")
        if self.device_address is not None and not 1 <= self.device_address <= 247:
            raise SunSpecLayoutError(f"device address {self.device_address} not in 1..247")


@dataclass(frozen=True, slots=True)
class InverterValues:
    """The raw points of an inverter model we read or serve; None means "not implemented".

    ``wh`` is the raw acc32 value (before ``wh_sf``), ``w`` the raw int16 (before ``w_sf``).
    """

    model_id: int = 103
    w: int | None = None
    w_sf: int | None = 0
    wh: int | None = None
    wh_sf: int | None = 0
    state: int | None = None
    hz: int | None = None  # raw, with hz_sf
    hz_sf: int | None = None
    phase_volts: int | None = None  # raw, with v_sf
    v_sf: int | None = None
    amps: int | None = None  # raw, with a_sf
    a_sf: int | None = None
    cabinet_temp: int | None = None  # raw, with tmp_sf
    tmp_sf: int | None = None

    def __post_init__(self) -> None:
        if self.model_id not in INVERTER_MODEL_IDS:
            raise SunSpecLayoutError(f"model {self.model_id} is not an inverter model 101-103")

    def energy_wh(self) -> int | None:
        """WH × 10^WH_SF as integer Wh, or None if WH or WH_SF is not implemented."""
        return scaled(self.wh, self.wh_sf)

    def power_w(self) -> int | None:
        """W × 10^W_SF as integer W (see :func:`scale_to_int`), or None if not implemented."""
        return scaled(self.w, self.w_sf)

    def energy_wrap_wh(self) -> int | None:
        """Where the scaled WH register rolls over to 0 (2^32 × 10^WH_SF)."""
        return scaled(ACC32_MODULUS, self.wh_sf)


@dataclass(frozen=True, slots=True)
class DerAcValues:
    """The raw points of model 701 we read or serve; None means "not implemented".

    ``tot_wh_inj`` / ``tot_wh_abs`` are raw (before ``tot_wh_sf``). ``st``, ``inv_st`` and
    ``conn_st`` are the raw enum values; their numbering differs between model_701.json
    revisions (module docstring), so they are reported, never interpreted.
    """

    w: int | None = None
    w_sf: int | None = 0
    tot_wh_inj: int | None = None
    tot_wh_abs: int | None = None
    tot_wh_sf: int | None = 0
    st: int | None = None
    inv_st: int | None = None
    conn_st: int | None = None

    def __post_init__(self) -> None:
        for name in ("tot_wh_inj", "tot_wh_abs"):
            v = getattr(self, name)
            if v is not None and not 0 < v < UNIMPL_UINT64:
                raise SunSpecLayoutError(f"{name}={v} is not an implemented 64-bit energy")

    def energy_wh(self) -> int | None:
        """TotWhInj × 10^TotWh_SF as integer Wh, or None if either is not implemented."""
        return scaled(self.tot_wh_inj, self.tot_wh_sf)

    def absorbed_wh(self) -> int | None:
        """TotWhAbs × 10^TotWh_SF (energy taken from the grid), or None."""
        return scaled(self.tot_wh_abs, self.tot_wh_sf)

    def power_w(self) -> int | None:
        return scaled(self.w, self.w_sf)

    def energy_wrap_wh(self) -> int | None:
        """Where the scaled 64-bit register would roll over (2^64 × 10^TotWh_SF)."""
        return scaled(UINT64_MODULUS, self.tot_wh_sf)


@dataclass(frozen=True, slots=True)
class LifetimeEnergy:
    """The register the agent meters, chosen by :func:`select_lifetime_energy`."""

    register_wh: int
    wrap_wh: int | None
    power_w: int | None
    source: str  # "WH/103" or "TotWhInj/701"
    # when the device has both models: None if WH and TotWhInj agree, else what differs
    disagreement: str | None = None


def energy_tolerance_wh(wh: int, *scale_factors: int | None) -> int:
    """How far two lifetime registers of one device may differ and still agree: the coarser
    register's resolution (10^SF), a 0.1 % rounding allowance, and 100 Wh for the energy produced
    between the two reads, whichever is largest."""
    resolution = max((pow(10, sf) for sf in scale_factors if sf is not None and sf > 0),
                     default=1)
    return max(100, resolution, abs(wh) // 1000)


def select_lifetime_energy(
    inverter: InverterValues | None, der: DerAcValues | None
) -> LifetimeEnergy:
    """The preference rule of the module docstring: WH of 101/102/103 when present, else
    TotWhInj of 701; with both, TotWhInj cross-checks WH. Raises :class:`SunSpecLayoutError`
    when the chosen register is not implemented (never reads it as 0)."""
    if inverter is not None:
        wh = inverter.energy_wh()
        if wh is None:
            raise SunSpecLayoutError(
                f"WH (lifetime energy) of model {inverter.model_id} is not implemented "
                "(WH reads 0 — SunSpec's 'not implemented' for acc32 — or WH_SF is 0x8000); "
                "this inverter cannot be metered through SunSpec"
            )
        disagreement = None
        der_wh = der.energy_wh() if der is not None else None
        if der is not None and der_wh is not None:
            tolerance = energy_tolerance_wh(wh, inverter.wh_sf, der.tot_wh_sf)
            if abs(der_wh - wh) > tolerance:
                disagreement = (
                    f"model 701 TotWhInj = {der_wh} Wh but model {inverter.model_id} WH = {wh} Wh "
                    f"(differ by {der_wh - wh:+d} Wh, more than {tolerance} Wh)"
                )
        return LifetimeEnergy(wh, inverter.energy_wrap_wh(), inverter.power_w(),
                              f"WH/{inverter.model_id}", disagreement)
    if der is not None:
        wh = der.energy_wh()
        if wh is None:
            raise SunSpecLayoutError(
                "TotWhInj (lifetime energy injected) of model 701 is not implemented (it reads "
                "0xFFFFFFFFFFFFFFFF or 0, or TotWh_SF is 0x8000); this inverter cannot be "
                "metered through SunSpec"
            )
        return LifetimeEnergy(wh, der.energy_wrap_wh(), der.power_w(), "TotWhInj/701")
    raise SunSpecLayoutError("neither an inverter model 101/102/103 nor model 701 was read")


# --- model codecs ----------------------------------------------------------------------------


def decode_common(regs: Sequence[int]) -> CommonModel:
    """Model 1 from its registers, starting with the ID register."""
    if len(regs) < 2 or regs[CommonOffset.ID] != COMMON_MODEL_ID:
        raise SunSpecLayoutError("registers do not start with model 1 (common)")
    length = regs[CommonOffset.L]
    if length < _COMMON_MIN_LENGTH or len(regs) < min(length, COMMON_LENGTH) + 2:
        raise SunSpecLayoutError(f"model 1 too short: L={length}, {len(regs)} registers read")
    mn = decode_string(regs[CommonOffset.MN : CommonOffset.MN + 16])
    md = decode_string(regs[CommonOffset.MD : CommonOffset.MD + 16])
    sn = decode_string(regs[CommonOffset.SN : CommonOffset.SN + 16])
    if mn is None or md is None or sn is None:
        missing = [n for n, v in (("Mn", mn), ("Md", md), ("SN", sn)) if v is None]
        raise SunSpecLayoutError(f"mandatory model 1 point(s) not implemented: {missing}")
    da: int | None = None
    if length >= CommonOffset.DA - 1 and len(regs) > CommonOffset.DA:
        da = decode_uint16(regs[CommonOffset.DA])
        if da is not None and not 1 <= da <= 247:
            da = None
    return CommonModel(
        manufacturer=mn,
        model=md,
        serial=sn,
        options=decode_string(regs[CommonOffset.OPT : CommonOffset.OPT + 8]) or "",
        version=decode_string(regs[CommonOffset.VR : CommonOffset.VR + 8]) or "",
        device_address=da,
    )


def decode_inverter(regs: Sequence[int]) -> InverterValues:
    """Model 101/102/103 from its registers, starting with the ID register.

    Reads only up to the points the model's L covers; a short model (L < 25) is rejected because
    WH_SF would lie outside it.
    """
    if len(regs) < 2 or regs[InverterOffset.ID] not in INVERTER_MODEL_IDS:
        raise SunSpecLayoutError("registers do not start with an inverter model 101-103")
    length = regs[InverterOffset.L]
    if length < _INVERTER_MIN_LENGTH or len(regs) < InverterOffset.WH_SF + 1:
        raise SunSpecLayoutError(
            f"inverter model too short for WH_SF: L={length}, {len(regs)} registers read"
        )

    def opt(offset: int) -> int | None:
        return regs[offset] if offset < min(len(regs), length + 2) else None

    def i16(offset: int) -> int | None:
        r = opt(offset)
        return None if r is None else decode_int16(r)

    def u16(offset: int) -> int | None:
        r = opt(offset)
        return None if r is None else decode_uint16(r)

    def sf(offset: int) -> int | None:
        r = opt(offset)
        return None if r is None else decode_sunssf(r)

    return InverterValues(
        model_id=regs[InverterOffset.ID],
        w=i16(InverterOffset.W),
        w_sf=sf(InverterOffset.W_SF),
        wh=decode_acc32(regs[InverterOffset.WH], regs[InverterOffset.WH + 1]),
        wh_sf=sf(InverterOffset.WH_SF),
        state=u16(InverterOffset.ST),
        hz=u16(InverterOffset.HZ),
        hz_sf=sf(InverterOffset.HZ_SF),
        phase_volts=u16(InverterOffset.PHV_A),
        v_sf=sf(InverterOffset.V_SF),
        amps=u16(InverterOffset.A),
        a_sf=sf(InverterOffset.A_SF),
        cabinet_temp=i16(InverterOffset.TMP_CAB),
        tmp_sf=sf(InverterOffset.TMP_SF),
    )


def decode_inverter_energy(regs: Sequence[int]) -> InverterValues:
    """Only WH and WH_SF of model 101/102/103 from its registers ID..WH_SF (27): the energy-only
    poll's decoder (``SunSpecModbusMeter.read_energy``), with :func:`decode_inverter`'s checks
    and the same ``wh``/``wh_sf``; every other point is None."""
    if len(regs) < InverterOffset.WH_SF + 1 or regs[InverterOffset.ID] not in INVERTER_MODEL_IDS:
        raise SunSpecLayoutError("registers do not start with an inverter model 101-103 "
                                 "through WH_SF")
    length = regs[InverterOffset.L]
    if length < _INVERTER_MIN_LENGTH:
        raise SunSpecLayoutError(f"inverter model too short for WH_SF: L={length}")
    return InverterValues(model_id=regs[InverterOffset.ID], w_sf=None,
                          wh=decode_acc32(regs[InverterOffset.WH], regs[InverterOffset.WH + 1]),
                          wh_sf=decode_sunssf(regs[InverterOffset.WH_SF]))


def decode_der_ac(regs: Sequence[int]) -> DerAcValues:
    """Model 701 from its registers, starting with the ID register; needs offsets 0..120
    (through TotWh_SF), which one read of 121 registers covers."""
    if len(regs) < 2 or regs[DerAcOffset.ID] != DER_AC_MODEL_ID:
        raise SunSpecLayoutError("registers do not start with model 701 (DER AC measurement)")
    length = regs[DerAcOffset.L]
    if length < DER_AC_READ_LENGTH or len(regs) < DerAcOffset.TOT_WH_SF + 1:
        raise SunSpecLayoutError(
            f"model 701 too short for TotWh_SF: L={length}, {len(regs)} registers read"
        )

    def u16(offset: int) -> int | None:
        return decode_uint16(regs[offset])

    inj = regs[DerAcOffset.TOT_WH_INJ : DerAcOffset.TOT_WH_INJ + 4]
    absorbed = regs[DerAcOffset.TOT_WH_ABS : DerAcOffset.TOT_WH_ABS + 4]
    return DerAcValues(
        w=decode_int16(regs[DerAcOffset.W]),
        w_sf=decode_sunssf(regs[DerAcOffset.W_SF]),
        tot_wh_inj=decode_energy64(inj),
        tot_wh_abs=decode_energy64(absorbed),
        tot_wh_sf=decode_sunssf(regs[DerAcOffset.TOT_WH_SF]),
        st=u16(DerAcOffset.ST),
        inv_st=u16(DerAcOffset.INV_ST),
        conn_st=u16(DerAcOffset.CONN_ST),
    )
