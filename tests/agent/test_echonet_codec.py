"""agent.meters.echonet_codec: public vectors (tests/vectors/echonet_lite.json), exact energy
arithmetic, "no data" never read as zero, and arbitrary bytes never crashing a decoder."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agent.meters import echonet_codec as el

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "echonet_lite.json").read_text())
FRAMES = {f["name"]: f for f in VECTORS["frames"]}


def _bytes(text: str) -> bytes:
    return bytes.fromhex(text.replace(" ", ""))


# --- frames ------------------------------------------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS["frames"], ids=lambda v: v["name"])
def test_frame_vectors_decode_and_reencode(vec: dict[str, Any]) -> None:
    data = _bytes(vec["hex"])
    frame = el.decode_frame(data)
    assert frame.tid == vec["tid"]
    assert str(frame.seoj) == vec["seoj"] and str(frame.deoj) == vec["deoj"]
    assert frame.esv == int(vec["esv"], 16)
    assert [(f"{p.epc:02X}", p.edt.hex().upper()) for p in frame.properties] == [
        (e, d) for e, d in vec["properties"]]
    assert frame.encode() == data


def test_get_request_vectors_are_built_byte_for_byte() -> None:
    for name in ("get_e7", "get_scale_and_energy"):
        vec = FRAMES[name]
        epcs = [int(e, 16) for e, _ in vec["properties"]]
        assert el.encode_get(vec["tid"], el.LV_SMART_METER, epcs) == _bytes(vec["hex"])


def test_response_matching_by_tid_service_and_addresses() -> None:
    req = el.decode_frame(_bytes(FRAMES["get_e7"]["hex"]))
    res = el.decode_frame(_bytes(FRAMES["get_res_e7_504w"]["hex"]))
    assert el.is_response_to(req, res)
    assert el.decode_power_s32(0xE7, res.properties[0].edt) == 504
    late = el.Frame(res.tid + 1, res.seoj, res.deoj, res.esv, res.properties)
    assert not el.is_response_to(req, late)  # an answer to another request is not ours
    inf = el.decode_frame(_bytes(FRAMES["inf_d5_instance_list"]["hex"]))
    assert not el.is_response_to(req, inf)
    sna = el.decode_frame(_bytes(FRAMES["capture_83_get_sna"]["hex"]))
    assert sna.esv == el.ESV.GET_SNA and sna.properties[0].edt == b""
    assert el.is_response_to(el.Frame(1, el.CONTROLLER, el.LV_SMART_METER, el.ESV.GET,
                                      (el.Property(0x83),)), sna)


def test_captured_values() -> None:
    def edt(name: str) -> bytes:
        return el.decode_frame(_bytes(FRAMES[name]["hex"])).properties[0].edt

    assert el.decode_coefficient(edt("capture_d3")) == FRAMES["capture_d3"]["coefficient"]
    assert el.decode_digits(edt("capture_d7")) == FRAMES["capture_d7"]["digits"]
    assert el.decode_power_s32(0xE7, edt("capture_e7")) == FRAMES["capture_e7"]["e7_w"]
    assert list(el.decode_currents(edt("capture_e8"))) == FRAMES["capture_e8"]["e8_deciamps"]
    assert el.decode_manufacturer(edt("capture_8a")) == FRAMES["capture_8a"]["manufacturer"]
    assert el.decode_text(0x8D, edt("capture_8d")) == FRAMES["capture_8d"]["serial"]
    scale = el.EnergyScale(unit_kwh=Fraction(1, 10), digits=6)
    e0 = el.decode_cumulative(0xE0, edt("capture_e0"), scale)
    assert isinstance(e0, el.Cumulative) and e0.raw == FRAMES["capture_e0"]["e0_raw"]
    for name in ("capture_ea", "capture_eb"):
        epc = int(FRAMES[name]["properties"][0][0], 16)
        fixed = el.decode_fixed_time_energy(epc, edt(name), scale)
        assert fixed.at == datetime.fromisoformat(FRAMES[name]["fixed_time"]["at"])
        assert isinstance(fixed.value, el.Cumulative)
        assert fixed.value.raw == FRAMES[name]["fixed_time"]["raw"]


def test_setget_frames_have_two_lists() -> None:
    f = el.Frame(7, el.CONTROLLER, el.LV_SMART_METER, el.ESV.SETGET,
                 (el.Property(0x80, b"\x30"),), (el.Property(0xE0),))
    assert el.decode_frame(f.encode()) == f


@pytest.mark.parametrize(("data", "message"), [
    (b"", "at least 12 bytes"),
    (bytes.fromhex("1181000105FF010288016201E700"), "EHD1"),
    (bytes.fromhex("1082000105FF010288016201E700"), "arbitrary message format"),
    (bytes.fromhex("1081000105FF010288016202E700"), "property 2 of 2 is cut off"),
    (bytes.fromhex("1081000105FF010288016201E704"), "announces 4 bytes"),
    (bytes.fromhex("1081000105FF010288016201E70000"), "unexpected byte"),
])
def test_malformed_frames_are_refused_with_the_reason(data: bytes, message: str) -> None:
    with pytest.raises(el.EchonetError, match=message):
        el.decode_frame(data)


# --- property maps ---------------------------------------------------------------------------


@pytest.mark.parametrize("vec", VECTORS["property_maps"], ids=lambda v: v["edt"][:11])
def test_property_map_vectors(vec: dict[str, Any]) -> None:
    edt = _bytes(vec["edt"])
    epcs = frozenset(int(e, 16) for e in vec["epcs"])
    assert el.decode_property_map(edt) == epcs
    assert el.encode_property_map(epcs) == edt


def test_captured_property_maps() -> None:
    for vec in VECTORS["frames"]:
        for epc, expected in vec.get("property_map", {}).items():
            prop = el.decode_frame(_bytes(vec["hex"])).get(int(epc, 16))
            assert prop is not None
            assert el.decode_property_map(prop.edt) == {int(e, 16) for e in expected}


@pytest.mark.parametrize("vec", VECTORS["property_maps_malformed"], ids=lambda v: v["edt"])
def test_malformed_property_maps(vec: dict[str, Any]) -> None:
    with pytest.raises(el.EchonetError):
        el.decode_property_map(_bytes(vec["edt"]))


@given(st.sets(st.integers(0x80, 0xFF)))
def test_property_map_round_trip(epcs: set[int]) -> None:
    assert el.decode_property_map(el.encode_property_map(epcs)) == epcs


# --- energy ----------------------------------------------------------------------------------


def test_unit_table_matches_the_vectors() -> None:
    table = {k: v for k, v in VECTORS["e1_units_kwh"].items() if k != "source"}
    assert {f"{c:02X}": f for c, f in el.E1_UNITS_KWH.items()} == {
        k: Fraction(v) for k, v in table.items()}
    with pytest.raises(el.EchonetError, match="0x05"):
        el.decode_unit(b"\x05")


@pytest.mark.parametrize("vec", VECTORS["energy"], ids=lambda v: f"{v['raw']}x{v['unit_code']}")
def test_energy_conversion_is_exact(vec: dict[str, Any]) -> None:
    scale = el.EnergyScale(unit_kwh=el.decode_unit(_bytes(vec["unit_code"])),
                           coefficient=vec["coefficient"], digits=vec["digits"])
    value = el.decode_cumulative(0xE0, vec["raw"].to_bytes(4, "big"), scale)
    assert isinstance(value, el.Cumulative)
    assert value.wh == vec["wh"] and scale.wrap_wh() == vec["wrap_wh"]


@given(st.integers(0, el.SMART_METER_MAX_RAW), st.sampled_from(sorted(el.E1_UNITS_KWH)),
       st.integers(1, 999_999))
def test_wh_is_raw_times_scale_rounded_down(raw: int, code: int, coefficient: int) -> None:
    scale = el.EnergyScale(unit_kwh=el.E1_UNITS_KWH[code], coefficient=coefficient)
    exact = Fraction(raw) * coefficient * el.E1_UNITS_KWH[code] * 1000
    assert scale.to_wh(raw) <= exact < scale.to_wh(raw) + 1


@pytest.mark.parametrize("vec", VECTORS["no_data"], ids=lambda v: v["edt"])
def test_no_data_is_missing_never_zero(vec: dict[str, Any]) -> None:
    epc, edt = int(vec["epc"], 16), _bytes(vec["edt"])
    if epc == 0xE0:
        value: object = el.decode_cumulative(epc, edt, el.EnergyScale(unit_kwh=Fraction(1)))
    else:
        value = el.decode_power_s32(epc, edt)
    assert isinstance(value, el.Missing) and value.epc == epc


def test_out_of_range_registers_are_missing() -> None:
    six_digits = el.EnergyScale(unit_kwh=Fraction(1, 10), digits=6)
    assert isinstance(el.decode_cumulative(0xE0, (1_000_000).to_bytes(4, "big"), six_digits),
                      el.Missing)
    assert isinstance(el.decode_cumulative(0xE1, (10**9).to_bytes(4, "big"),
                                           el.MILLI_KWH_SCALE), el.Missing)
    assert isinstance(el.decode_power_u16(0xE0, b"\xff\xfe"), el.Missing)
    assert el.decode_power_u16(0xE0, b"\x0f\xa0") == 4000


def test_no_unit_no_guess_and_bad_sizes_name_the_epc() -> None:
    with pytest.raises(el.EchonetError, match="EPC E0 must have 4 byte"):
        el.decode_cumulative(0xE0, b"\x00\x01", el.MILLI_KWH_SCALE)
    with pytest.raises(el.EchonetError, match="D7"):
        el.decode_digits(b"\x00")
    with pytest.raises(el.EchonetError, match="D3"):
        el.decode_coefficient(b"\x00\x00\x00\x00")


# --- every decoder: value, Missing, or EchonetError ----------------------------------------

_SCALE = el.EnergyScale(unit_kwh=Fraction(1, 10), coefficient=3, digits=6)
DECODERS: dict[str, Callable[[bytes], object]] = {
    "frame": el.decode_frame,
    "property_map": el.decode_property_map,
    "coefficient": el.decode_coefficient,
    "digits": el.decode_digits,
    "unit": el.decode_unit,
    "cumulative": lambda b: el.decode_cumulative(0xE0, b, _SCALE),
    "power_s32": lambda b: el.decode_power_s32(0xE7, b),
    "power_u16": lambda b: el.decode_power_u16(0xE0, b),
    "currents": el.decode_currents,
    "fixed_time": lambda b: el.decode_fixed_time_energy(0xEA, b, _SCALE),
    "text": lambda b: el.decode_text(0x8D, b),
    "manufacturer": el.decode_manufacturer,
    "identification": el.decode_identification,
}


@pytest.mark.parametrize("name", sorted(DECODERS))
@given(data=st.binary(max_size=40))
def test_arbitrary_bytes_never_crash(name: str, data: bytes) -> None:
    with contextlib.suppress(el.EchonetError):
        DECODERS[name](data)


@given(st.binary(min_size=12, max_size=60))
def test_frames_with_a_valid_header_decode_or_refuse(tail: bytes) -> None:
    data = bytes.fromhex("108100010288010 5FF01".replace(" ", "")) + tail
    try:
        frame = el.decode_frame(data)
    except el.EchonetError:
        return
    assert frame.encode() == data
