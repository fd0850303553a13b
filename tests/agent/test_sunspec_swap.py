"""The SunSpec reader reads model 1 with the energy in one request and decodes it only when its
registers change: a swapped inverter must still be reported under its own identity at once, and
a device that refuses a read spanning two models must still be read; ``read_energy`` (the
runner's polls between interval boundaries, test_energy_only_polls) reads the inverter model alone.

The device is firmware_sim's :class:`SunSpecServer` behind RTU-over-TCP, which the reader opens
as ``socket://`` exactly like a serial port; the test swaps the server behind the socket.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from agent.meters import sunspec_layout as sl
from agent.meters.sunspec import SunSpecModbusMeter
from firmware_sim import modbus_rtu as rtu
from firmware_sim.sunspec_server import ServerConfig, SunSpecServer

REQUEST_BYTES = 8  # unit, function, address (2), count (2), CRC (2)


def _server(serial: str, wh: int) -> SunSpecServer:
    common = sl.CommonModel(manufacturer="EcoSim", model="ES-4.5K", serial=serial)
    values = sl.InverterValues(model_id=103, w=1500, w_sf=0, wh=wh, wh_sf=0)
    return SunSpecServer(ServerConfig(common=common), values)


@dataclass
class _RtuOverTcp:
    """One TCP client at a time; every request frame is answered by ``server`` as it is now."""

    server: SunSpecServer
    refuse_spanning: bool = False  # answer ILLEGAL DATA ADDRESS to reads across two models
    requests: list[tuple[int, int]] = field(default_factory=list)  # (address, count)

    def answer(self, frame: bytes) -> bytes:
        request = rtu.parse_request(frame)
        assert isinstance(request, rtu.ReadRequest)
        self.requests.append((request.address, request.count))
        end_of_common = self.server.inverter_address
        if self.refuse_spanning and request.address < end_of_common < (
                request.address + request.count):
            return rtu.build_exception_response(request.unit, request.function,
                                                rtu.ILLEGAL_DATA_ADDRESS)
        return self.server.handle(frame) or b""

    def serve(self, listener: socket.socket) -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            with conn:
                buf = b""
                while chunk := conn.recv(256):
                    buf += chunk
                    while len(buf) >= REQUEST_BYTES:
                        frame, buf = buf[:REQUEST_BYTES], buf[REQUEST_BYTES:]
                        conn.sendall(self.answer(frame))


@pytest.fixture
def device() -> Iterator[tuple[_RtuOverTcp, str]]:
    dev = _RtuOverTcp(_server("SN-A", 1_000_000))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        thread = threading.Thread(target=dev.serve, args=(listener,), daemon=True)
        thread.start()
        yield dev, f"socket://127.0.0.1:{listener.getsockname()[1]}"
        with contextlib.suppress(OSError):
            listener.close()
        thread.join(5)


def test_a_swapped_inverter_is_reported_at_the_next_read(
        device: tuple[_RtuOverTcp, str]) -> None:
    dev, url = device
    meter = SunSpecModbusMeter("pv1", url, timeout_s=2.0)
    try:
        first = meter.read()
        assert (first.identity.serial, first.register_wh) == ("SN-A", 1_000_000)
        assert meter.read().identity == first.identity
        dev.requests.clear()
        dev.server = _server("SN-B", 40)  # same map, another device: no rediscovery happens
        swapped = meter.read()
        assert (swapped.identity.serial, swapped.register_wh) == ("SN-B", 40)
        dev.server = _server("SN-A", 1_000_100)
        assert meter.read().identity == first.identity
        # model 1 and the inverter model in one request per read
        assert dev.requests == [(40002, 68 + 52)] * 2
    finally:
        meter.close()


def test_a_device_refusing_spanning_reads_is_read_model_by_model(
        device: tuple[_RtuOverTcp, str]) -> None:
    dev, url = device
    dev.refuse_spanning = True
    meter = SunSpecModbusMeter("pv1", url, timeout_s=2.0)
    try:
        snap = meter.read()
        assert (snap.identity.serial, snap.register_wh) == ("SN-A", 1_000_000)
        dev.requests.clear()
        dev.server = _server("SN-B", 40)
        snap = meter.read()
        assert (snap.identity.serial, snap.register_wh) == ("SN-B", 40)
        assert dev.requests == [(40002, 68), (40070, 52)]  # no spanning read is tried again
    finally:
        meter.close()


def test_sunspec_read_energy_reads_the_inverter_model_up_to_wh_sf(
        device: tuple[_RtuOverTcp, str]) -> None:
    dev, url = device
    meter = SunSpecModbusMeter("pv1", url, timeout_s=2.0)
    try:
        first = meter.read_energy()  # nothing read yet: a full read
        assert (first.identity.serial, first.register_wh) == ("SN-A", 1_000_000)
        dev.requests.clear()
        dev.server = _server("SN-A", 1_000_250)
        energy = meter.read_energy()
        assert (energy.register_wh, energy.wrap_wh) == (1_000_250, first.wrap_wh)
        assert energy.identity == first.identity
        assert dev.requests == [(40070, 27)]  # the inverter model through WH_SF, no model 1
        # another device: read_energy does not know (the runner's full reads do)
        dev.server = _server("SN-B", 40)
        assert meter.read_energy().identity == first.identity
        assert meter.read().identity.serial == "SN-B"
        assert meter.read_energy().identity.serial == "SN-B"
    finally:
        meter.close()
