"""SunSpec model 701 (DER AC measurement): offsets against the public point list, codecs, the
rule choosing the metered register, and the reader against 701-only and 103+701 simulators over
real ptys (and through ``eco-agent probe``)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.cli import main as agent_main
from agent.clock import ManualClock
from agent.errors import MeterError
from agent.meters import sunspec_layout as sl
from agent.meters.modbus_rtu_codec import MAX_READ_REGISTERS
from agent.meters.sunspec import SunSpecModbusMeter
from firmware_sim import sunspec_registers as sr
from firmware_sim.inverter import PtyInverter
from tests.agent.sunspec_kit import MIDNIGHT, NOON

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "sunspec_models.json").read_text()
)


def _vector_offsets(model: str) -> tuple[dict[str, int], int]:
    """Point offsets (ID at 0) and the register count, by summing the vector's sizes."""
    offsets: dict[str, int] = {}
    at = 0
    for name, _type, size in VECTORS["models"][model]["points"]:
        offsets[name] = at
        at += size
    return offsets, at


# --- offsets and codecs -------------------------------------------------------------------------


def test_701_offsets_match_the_public_point_list() -> None:
    off, total = _vector_offsets("701")
    assert total == sl.DER_AC_LENGTH + 2 == VECTORS["models"]["701"]["length"] + 2 == 155
    expected = {
        "St": sl.DerAcOffset.ST, "InvSt": sl.DerAcOffset.INV_ST,
        "ConnSt": sl.DerAcOffset.CONN_ST, "W": sl.DerAcOffset.W,
        "TotWhInj": sl.DerAcOffset.TOT_WH_INJ, "TotWhAbs": sl.DerAcOffset.TOT_WH_ABS,
        "TotVarhInj": sl.DerAcOffset.TOT_VARH_INJ, "TmpAmb": sl.DerAcOffset.TMP_AMB,
        "WL1": sl.DerAcOffset.PHASES[0], "WL2": sl.DerAcOffset.PHASES[1],
        "WL3": sl.DerAcOffset.PHASES[2], "ThrotPct": sl.DerAcOffset.THROT_PCT,
        "W_SF": sl.DerAcOffset.W_SF, "TotWh_SF": sl.DerAcOffset.TOT_WH_SF,
        "MnAlrmInfo": sl.DerAcOffset.MN_ALRM_INFO,
    }
    assert {k: off[k] for k in expected} == expected
    assert VECTORS["derived_701_offsets"] == {k: off[k] for k in VECTORS["derived_701_offsets"]}
    # the read stops at TotWh_SF and fits one Modbus request
    assert 2 + sl.DER_AC_READ_LENGTH == off["TotWh_SF"] + 1 <= MAX_READ_REGISTERS


def test_103_offsets_match_the_public_point_list() -> None:
    off, total = _vector_offsets("103")
    assert total == sl.INVERTER_LENGTH + 2
    assert (off["W"], off["W_SF"], off["WH"], off["WH_SF"], off["St"]) == (
        sl.InverterOffset.W, sl.InverterOffset.W_SF, sl.InverterOffset.WH,
        sl.InverterOffset.WH_SF, sl.InverterOffset.ST)


def test_encoder_marks_every_unmodelled_point_not_implemented_by_its_type() -> None:
    regs = sr.encode_der_ac(sl.DerAcValues())
    off, _ = _vector_offsets("701")
    unimpl = {"int16": [0x8000], "sunssf": [0x8000], "uint16": [0xFFFF], "enum16": [0xFFFF],
              "uint32": [0xFFFF] * 2, "bitfield32": [0xFFFF] * 2, "uint64": [0xFFFF] * 4}
    modelled = {"ID", "L", "Alrm", "W_SF", "TotWh_SF"}  # set even in an empty 701
    for name, typ, size in VECTORS["models"]["701"]["points"]:
        if name in modelled:
            continue
        got = regs[off[name] : off[name] + size]
        assert got == ([0] * size if typ == "string" else unimpl[typ]), name


def test_energy64_not_implemented_markers_are_missing_never_zero() -> None:
    assert sl.decode_energy64([0xFFFF] * 4) is None  # uint64 marker (pysunspec2 mb.py)
    assert sl.decode_energy64([0, 0, 0, 0]) is None  # acc64 marker
    assert sl.decode_energy64([0, 1, 0, 2]) == (1 << 32) + 2
    assert sl.decode_energy64(sr.encode_uint64(2**40 + 7)) == 2**40 + 7
    with pytest.raises(sl.SunSpecLayoutError):
        sl.decode_uint64([1, 2, 3])
    with pytest.raises(sl.SunSpecLayoutError):
        sl.DerAcValues(tot_wh_inj=0)


def test_701_round_trip_and_scaling() -> None:
    values = sl.DerAcValues(w=-25, w_sf=2, tot_wh_inj=123_456_789, tot_wh_abs=42,
                            tot_wh_sf=1, st=1, inv_st=3, conn_st=1)
    regs = sr.encode_der_ac(values)
    assert regs[:2] == [701, 153]
    assert regs[sl.DerAcOffset.TOT_WH_INJ : sl.DerAcOffset.TOT_WH_INJ + 4] == [
        0, 0, 0x075B, 0xCD15]
    decoded = sl.decode_der_ac(regs[: 2 + sl.DER_AC_READ_LENGTH])
    assert decoded == values
    assert (decoded.energy_wh(), decoded.absorbed_wh(), decoded.power_w()) == (
        1_234_567_890, 420, -2500)
    assert decoded.energy_wrap_wh() == 2**64 * 10
    missing_sf = sl.decode_der_ac(sr.encode_der_ac(sl.DerAcValues(tot_wh_inj=5, tot_wh_sf=None)))
    assert missing_sf.energy_wh() is None


def test_701_decoder_rejects_short_or_foreign_models() -> None:
    regs = sr.encode_der_ac(sl.DerAcValues(tot_wh_inj=5))
    with pytest.raises(sl.SunSpecLayoutError, match="too short"):
        sl.decode_der_ac([701, 100, *regs[2:102]])
    with pytest.raises(sl.SunSpecLayoutError, match="model 701"):
        sl.decode_der_ac([103, *regs[1:]])


@given(st.lists(st.integers(0, 0xFFFF), max_size=130))
def test_701_decoder_raises_only_layout_errors(regs: list[int]) -> None:
    if regs:
        regs[0] = 701
    with contextlib.suppress(sl.SunSpecLayoutError):
        sl.decode_der_ac(regs)


# --- the preference rule --------------------------------------------------------------------------


INV = sl.InverterValues(model_id=103, wh=1_000_000, wh_sf=0, w=2000, w_sf=0)


def test_1xx_is_preferred_and_701_cross_checks_it() -> None:
    agree = sl.select_lifetime_energy(INV, sl.DerAcValues(tot_wh_inj=1_000_050, w=1990))
    assert (agree.register_wh, agree.source, agree.disagreement) == (1_000_000, "WH/103", None)
    assert agree.power_w == 2000 and agree.wrap_wh == 2**32
    off = sl.select_lifetime_energy(INV, sl.DerAcValues(tot_wh_inj=900_000))
    assert off.register_wh == 1_000_000 and off.disagreement is not None
    assert "differ by -100000 Wh" in off.disagreement
    coarse = sl.select_lifetime_energy(INV, sl.DerAcValues(tot_wh_inj=1_001, tot_wh_sf=3))
    assert coarse.disagreement is None  # kWh resolution: 1,001,000 vs 1,000,000 agree
    unread = sl.select_lifetime_energy(INV, sl.DerAcValues())  # 701 energy not implemented
    assert unread.register_wh == 1_000_000 and unread.disagreement is None


def test_701_alone_is_metered_and_its_gaps_are_errors_not_zero() -> None:
    only = sl.select_lifetime_energy(None, sl.DerAcValues(tot_wh_inj=777, tot_wh_sf=1, w=3))
    assert (only.register_wh, only.source, only.power_w, only.wrap_wh) == (
        7770, "TotWhInj/701", 3, 2**64 * 10)
    with pytest.raises(sl.SunSpecLayoutError, match="TotWhInj .* not implemented"):
        sl.select_lifetime_energy(None, sl.DerAcValues())
    with pytest.raises(sl.SunSpecLayoutError, match="WH .* not implemented"):
        sl.select_lifetime_energy(sl.InverterValues(model_id=103), sl.DerAcValues(tot_wh_inj=9))
    with pytest.raises(sl.SunSpecLayoutError, match="neither"):
        sl.select_lifetime_energy(None, None)


# --- reader ↔ simulator over real ptys ------------------------------------------------------------


@pytest.mark.integration
def test_701_only_inverter_over_a_pty(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    clock = ManualClock(NOON)
    inv = make_inverter(clock, inverter_model=None, der_ac=True, initial_wh=2_500_000,
                        serial="SN-DER-1")
    meter = meters(inv.port, timeout_s=0.3)
    snap = meter.read()
    assert meter.chain is not None
    assert [m.model_id for m in meter.chain.models] == [1, 701]
    assert meter.chain.models[1].length == 153
    assert snap.register_wh == 2_500_000 and snap.wrap_wh == 2**64
    assert snap.power_w == round(inv.pv.power_w(NOON)) > 1000
    raw = dict(snap.raw)
    assert raw["source"] == "TotWhInj/701" and "WH" not in raw
    assert (raw["TotWhInj"], raw["TotWh_SF"], raw["TotWhAbs"]) == (2_500_000, 0, None)
    assert (raw["InvSt"], raw["ConnSt"]) == (3, 1)
    clock.advance(1800)
    expected = 2_500_000 + int(inv.pv.energy_wh(NOON, NOON + timedelta(minutes=30)))
    assert meter.read().register_wh == expected == inv.register_wh()


@pytest.mark.integration
def test_103_and_701_inverter_meters_wh_and_cross_checks(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    inv = make_inverter(ManualClock(NOON), serial="SN-DER-1", der_ac=True, initial_wh=1_234_567,
                        base=50000)
    meter = meters(inv.port, timeout_s=0.3)
    snap = meter.read()
    assert meter.chain is not None and meter.chain.base == 50000
    assert [m.model_id for m in meter.chain.models] == [1, 103, 701]
    raw = dict(snap.raw)
    assert snap.register_wh == raw["WH"] == raw["TotWhInj"] == 1_234_567
    assert raw["source"] == "WH/103" and "cross_check" not in raw


@pytest.mark.integration
def test_701_energy_not_implemented_is_a_meter_error(
    make_inverter: Callable[..., PtyInverter], meters: Callable[..., SunSpecModbusMeter]
) -> None:
    # a new inverter whose counter still reads 0: TotWhInj is served as not implemented
    inv = make_inverter(ManualClock(MIDNIGHT), serial="SN-DER-1", inverter_model=None,
                        der_ac=True, initial_wh=0)
    with pytest.raises(MeterError, match="TotWhInj .* not implemented"):
        meters(inv.port, timeout_s=0.3).read()


@pytest.mark.integration
def test_probe_cli_reads_a_701_only_inverter(
    make_inverter: Callable[..., PtyInverter], capsys: pytest.CaptureFixture[str]
) -> None:
    inv = make_inverter(ManualClock(NOON), serial="SN-DER-1", inverter_model=None, der_ac=True,
                        initial_wh=987_654, unit=7)
    code = agent_main(["probe", "--protocol", "sunspec-modbus", "--port", inv.port,
                       "--unit", "7", "--timeout", "0.5"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["register_wh"] == 987_654 and report["serial"] == "SN-DER-1"
    assert report["raw"]["source"] == "TotWhInj/701"
