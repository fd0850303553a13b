"""The SunSpec reader against a device we did not write: pymodbus's own server.

The register map is built here, independently of :mod:`agent.meters.sunspec_layout` and of
``firmware_sim``: from the public point lists in ``tests/vectors/sunspec_models.json`` (models 1,
103, 701 transcribed from sunspec/models ``json/``, type sizes and "not implemented" values from
pysunspec2), one point at a time. pymodbus 3.16 serves it from a ``SimDevice``/``SimData``
datastore (the non-deprecated 3.16 API; ``ModbusDeviceContext`` logs a deprecation for v4) over
TCP with the **RTU framer**, which the agent reaches through the pyserial URL
``socket://127.0.0.1:PORT`` exactly as it opens a serial port. So a mistake shared by our
encoder and our decoder (an offset, a word order, a scale factor) cannot pass here.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pymodbus import FramerType
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from agent.cli import main as agent_main
from agent.errors import MeterError
from agent.meters.sunspec import SunSpecModbusMeter

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parents[1] / "vectors" / "sunspec_models.json").read_text()
)
UNIT = 3

# --- an independent SunSpec map builder (from the vector file only) -------------------------------


def _unimplemented(typ: str, size: int) -> list[int]:
    if typ == "string":
        return [0] * size
    marker = int(VECTORS["unimplemented"][typ], 16)
    return _int_registers(marker, size)


def _int_registers(value: int, size: int) -> list[int]:
    value %= 1 << (16 * size)  # two's complement for the signed types
    return [(value >> (16 * (size - 1 - i))) & 0xFFFF for i in range(size)]


def _build_model(model: str, values: Mapping[str, int | str]) -> list[int]:
    """One model's registers, ID and L included; points not in ``values`` are "not
    implemented" for their type."""
    spec = VECTORS["models"][model]
    values = {"ID": int(model), "L": spec["length"], **values}
    regs: list[int] = []
    for name, typ, size in spec["points"]:
        if name not in values:
            regs += [0] if typ == "pad" else _unimplemented(typ, size)
            continue
        v = values[name]
        if isinstance(v, str):
            data = v.encode().ljust(2 * size, b"\0")
            regs += [int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * size, 2)]
        else:
            regs += _int_registers(v, size)
    assert len(regs) == spec["length"] + 2
    return regs


def _build_map(models: Sequence[list[int]]) -> list[int]:
    suns = [int.from_bytes(b"Su", "big"), int.from_bytes(b"nS", "big")]
    return suns + [r for m in models for r in m] + [0xFFFF, 0]


COMMON = _build_model("1", {"Mn": "Fronius", "Md": "Symo 5.0-3-M", "SN": "31456789",
                           "Opt": "", "Vr": "3.14.1-2", "DA": UNIT})
# WH 98,765,432 with WH_SF = 1: the agent must report 987,654,320 Wh
INVERTER_103 = _build_model("103", {"W": 3120, "W_SF": 0, "WH": 98_765_432, "WH_SF": 1,
                                   "Hz": 5000, "Hz_SF": -2, "St": 4, "Evt1": 0})
# TotWhInj beyond 32 bits (5,000,000,123 raw, TotWh_SF = -1 → 500,000,012 Wh) and TotWhAbs
DER_701 = _build_model("701", {"St": 1, "InvSt": 3, "ConnSt": 1, "W": 312, "W_SF": 1,
                              "TotWhInj": 5_000_000_123, "TotWhAbs": 4_321, "TotWh_SF": -1})
# the same device's 701 when it also has 103: TotWhInj agrees with WH × 10
DER_701_MATCHING = _build_model("701", {"W": 3120, "W_SF": 0, "TotWhInj": 987_654_320,
                                       "TotWh_SF": 0})


# --- pymodbus serving the map ------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def _pymodbus_server(base: int, registers: list[int], unit: int = UNIT) -> Iterator[str]:
    """pymodbus's TCP server with the RTU framer on a private event loop thread; yields the
    pyserial URL the agent opens."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="pymodbus-server", daemon=True)
    thread.start()
    port = _free_port()
    device = SimDevice(id=unit, simdata=[SimData(address=base, values=registers,
                                                 datatype=DataType.REGISTERS)])

    async def start() -> ModbusTcpServer:
        server = ModbusTcpServer(device, framer=FramerType.RTU, address=("127.0.0.1", port))
        await server.serve_forever(background=True)
        return server

    server = asyncio.run_coroutine_threadsafe(start(), loop).result(timeout=10)
    try:
        yield f"socket://127.0.0.1:{port}"
    finally:
        asyncio.run_coroutine_threadsafe(server.shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()


@pytest.fixture
def meters() -> Iterator[Any]:
    opened: list[SunSpecModbusMeter] = []

    def make(url: str, unit: int = UNIT) -> SunSpecModbusMeter:
        m = SunSpecModbusMeter("pv-third-party", url, unit=unit, timeout_s=1.0)
        opened.append(m)
        return m

    yield make
    for m in opened:
        m.close()


def _probe(url: str, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    code = agent_main(["probe", "--protocol", "sunspec-modbus", "--port", url,
                       "--unit", str(UNIT), "--timeout", "1"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report: dict[str, Any] = json.loads(out)
    return report


# --- the tests -----------------------------------------------------------------------------------


def test_the_independent_builder_agrees_with_the_public_layout() -> None:
    """Sanity of the builder itself, against numbers stated in the sources (not our code)."""
    assert len(COMMON) == 68 and len(INVERTER_103) == 52 and len(DER_701) == 155
    assert INVERTER_103[24:27] == [0x05E3, 0x0A78, 1]  # WH high word first, then WH_SF
    assert DER_701[19:23] == [0, 1, 0x2A05, 0xF27B]  # TotWhInj at 19 (docs/meters.md: 19-22)
    assert DER_701[120] == 0xFFFF  # TotWh_SF −1
    assert _build_map([COMMON])[:2] == [0x5375, 0x6E53]


@pytest.mark.integration
@pytest.mark.parametrize("base", [40000, 0, 50000])
def test_reader_and_probe_read_model_103_served_by_pymodbus(
    base: int, meters: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with _pymodbus_server(base, _build_map([COMMON, INVERTER_103])) as url:
        meter = meters(url)
        snap = meter.read()
        assert snap.register_wh == 987_654_320  # 98,765,432 × 10^1
        assert snap.power_w == 3120 and snap.wrap_wh == 2**32 * 10
        assert (snap.identity.manufacturer, snap.identity.model, snap.identity.serial) == (
            "Fronius", "Symo 5.0-3-M", "31456789")
        assert meter.chain is not None and meter.chain.base == base
        assert [(m.model_id, m.length) for m in meter.chain.models] == [(1, 66), (103, 50)]
        meter.close()
        report = _probe(url, capsys)
        assert report["register_wh"] == 987_654_320 and report["serial"] == "31456789"
        assert report["raw"]["WH"] == 98_765_432 and report["raw"]["WH_SF"] == 1


@pytest.mark.integration
def test_reader_and_probe_read_a_701_only_map_served_by_pymodbus(
    meters: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    with _pymodbus_server(40000, _build_map([COMMON, DER_701])) as url:
        snap = meters(url).read()
        assert snap.register_wh == 500_000_012  # 5,000,000,123 × 10^-1, truncated
        assert snap.power_w == 3120
        raw = dict(snap.raw)
        assert (raw["source"], raw["TotWhInj"], raw["TotWhAbs"], raw["InvSt"]) == (
            "TotWhInj/701", 5_000_000_123, 4_321, 3)
        meters(url).close()
        report = _probe(url, capsys)
        assert report["register_wh"] == 500_000_012


@pytest.mark.integration
def test_103_and_701_served_by_pymodbus_agree(meters: Any) -> None:
    with _pymodbus_server(40000, _build_map([COMMON, INVERTER_103, DER_701_MATCHING])) as url:
        snap = meters(url).read()
        raw = dict(snap.raw)
        assert snap.register_wh == 987_654_320 and raw["source"] == "WH/103"
        assert raw["TotWhInj"] == 987_654_320 and "cross_check" not in raw


@pytest.mark.integration
def test_not_implemented_wh_from_pymodbus_is_an_error_not_zero(meters: Any) -> None:
    unimplemented = _build_model("103", {"W": 0, "W_SF": 0, "WH_SF": 0})  # WH = acc32 0
    with (_pymodbus_server(40000, _build_map([COMMON, unimplemented])) as url,
          pytest.raises(MeterError, match="WH .* not implemented")):
        meters(url).read()
