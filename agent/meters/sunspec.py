"""Reads a SunSpec inverter (models 1 and 101/102/103 and/or 701) over Modbus RTU on a serial port.

Each :meth:`SunSpecModbusMeter.read` returns the lifetime energy register as integer Wh — WH ×
10^WH_SF of model 101/102/103, or TotWhInj × 10^TotWh_SF of model 701 (DER AC measurement) on an
inverter that has only the 7xx models; the rule and its reasons are in
:func:`agent.meters.sunspec_layout.select_lifetime_energy` — the AC power of the same model and
the identity from model 1 (Mn, Md, SN). With both models present, TotWhInj is read too and a
disagreement with WH is logged and shown by ``eco-agent probe``. The register map is
discovered on the first read, and again after any failure, by walking the model chain from the
``SunS`` marker (:func:`agent.meters.sunspec_chain.parse_model_chain`; bases 40000, 0, 50000).
Model 1 is re-read on every :meth:`~SunSpecModbusMeter.read`; when model 1 and the inverter
model fit in one request (≤ 125 registers) both come in one transaction, and model 1 is decoded
again only when its registers changed. :meth:`~SunSpecModbusMeter.read_energy` reads the energy
model alone (the runner's polls between interval boundaries) and reports the identity of the
last full read; the runner reads the identity at least once per interval and forgets the
energy-only snapshots before a changed identity, so a swapped device is never signed under
the old serial (:mod:`agent.runner`).

Every failure — the port cannot be opened, no answer in time, a CRC error, an exception response,
a reply from another unit, a missing model, the lifetime energy not implemented — raises
:class:`agent.errors.MeterError` whose message names the meter, the port and the cause, and
says what to check. Nothing blocks longer than ``timeout_s`` plus the response's transmission
time per request.

Why a small RTU client over pyserial instead of pymodbus's ``ModbusSerialClient`` (3.16 here):

* pymodbus treats a response with a bad CRC as "garbage", keeps waiting until its timeout, and
  then reports ``No response received after N retries``: the cause the operator needs (line noise
  vs. a silent device vs. a duplicate unit id) is lost, and the agent must name it.
* it retries internally and logs at ERROR on its own logger, which would double-report every
  failure that the reading cycle already records.
* its 3.x API moved under real integrations three times (``unit=`` → ``slave=`` → ``device_id=``,
  payload helpers removed in 3.10; docs/meters.md §3). Function 03 is ~40 lines of framing.
* the SunSpec Alliance's own client (sunspec/pysunspec2 ``sunspec2/modbus/modbus.py``) is likewise
  a plain RTU master over pyserial.

pymodbus stays useful as an independent second implementation: a test reads the simulator with
it, so our framing, the simulator's and pymodbus's all agree.

The RTU framing (Modbus over Serial Line V1.02, function 03, exception responses) is the pure
:mod:`agent.meters.modbus_rtu_codec`; this module is the serial client around it. The port is
opened with ``serial.serial_for_url``, so tests may pass a ``socket://`` URL as well as a tty
path.
"""

from __future__ import annotations

import contextlib
import logging
import termios
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial

from agent.diagnose import serial_error_message
from agent.errors import MeterError
from agent.meters import sunspec_chain as sc
from agent.meters import sunspec_layout as sl
from agent.meters.interface import MeterIdentity, Snapshot
from agent.meters.modbus_rtu_codec import (
    MAX_READ_REGISTERS,
    RtuError,
    RtuExceptionResponse,
    RtuTimeout,
    decode_read_response,
    encode_read_request,
    expected_response_length,
    hex_preview,
)
from eco_protocol.messages import Msg, msg

log = logging.getLogger(__name__)

PROTOCOL = "sunspec-modbus"
_BITS_PER_CHAR = 11  # start + 8 data + parity or second stop + stop: the worst case


# --- the meter -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Layout:
    chain: sc.ModelChain
    common: sc.ModelHeader
    inverter: sc.ModelHeader | None  # model 101/102/103
    der: sc.ModelHeader | None  # model 701


class _Bus:
    """One open RS-485 line shared by every meter configured on it (several inverters, one
    adapter, told apart by unit id). The lock keeps one request/response on the wire at a time."""

    def __init__(self, port: Any) -> None:
        self.port = port
        self.lock = threading.Lock()
        self.users = 0


_BUSES: dict[str, _Bus] = {}
_BUSES_LOCK = threading.Lock()


class SunSpecModbusMeter:
    """A SunSpec inverter on a serial line; implements :class:`agent.meters.interface.Meter`."""

    def __init__(
        self,
        meter_id: str,
        port: str,
        unit: int = 1,
        baudrate: int = 9600,
        timeout_s: float = 1.0,
        *,
        bases: Sequence[int] = sl.BASE_ADDRESSES,
        config_path: Path | str | None = None,
    ) -> None:
        if not meter_id:
            raise ValueError("meter_id must not be empty")
        if not 1 <= unit <= 247:
            raise ValueError(f"unit {unit} not in 1..247")
        if baudrate <= 0:
            raise ValueError(f"baud rate {baudrate} must be positive")
        if not 0 < timeout_s <= 60:
            raise ValueError(f"timeout {timeout_s} s not in (0, 60]")
        if not bases:
            raise ValueError("at least one base address is needed")
        self.meter_id = meter_id
        self.port = port
        self.unit = unit
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.bases = tuple(bases)
        self.config_path = config_path
        self._serial: Any = None  # serial.Serial; pyserial ships no type information
        self._bus: _Bus | None = None
        self._layout: _Layout | None = None
        self._disagreement: str | None = None  # the last WH/TotWhInj mismatch, logged once
        # model 1 is re-read every poll, but decoded only when its registers changed: the
        # string decoding and validation were a large share of a poll's CPU
        self._common_regs: tuple[int, ...] = ()
        self._common: sl.CommonModel | None = None
        # False once the device refused a read spanning model 1 and the inverter model
        self._span_ok = True
        self._identity: MeterIdentity | None = None  # what the last full read found

    @property
    def chain(self) -> sc.ModelChain | None:
        """The model chain found by the last discovery, if it is still trusted."""
        return None if self._layout is None else self._layout.chain

    def read(self) -> Snapshot:
        """One snapshot; raises :class:`MeterError` on any failure (and rediscovers next time)."""
        return self._guarded(self._read)

    def read_energy(self) -> Snapshot:
        """The lifetime energy register alone, under the identity the last :meth:`read` found
        (:class:`agent.meters.interface.EnergyRegisterMeter`): the inverter model up to WH_SF
        (27 registers, model 1 not read), or model 701 on a 7xx-only device. A full
        :meth:`read` when there was none since the port was opened or a read failed."""
        if self._layout is None or self._identity is None:
            return self.read()
        return self._guarded(self._read_energy)

    def _guarded(self, read: Callable[[], Snapshot]) -> Snapshot:
        try:
            return read()
        except RtuTimeout as e:
            self._reset()
            if not e.silent:  # some bytes came: noise or a wrong baud rate, said in e
                raise MeterError.of(self._describe(e)) from e
            silent = msg("agent.error.with_advice", error=e,
                         advice=self._advice(None, timed_out=True))
            raise MeterError.of(self._describe(silent)) from e
        except RtuError as e:
            self._reset()
            raise MeterError.of(self._describe(e)) from e
        except sl.SunSpecLayoutError as e:
            self._reset()
            raise MeterError.of(self._describe(msg("agent.meter.layout", error=str(e)))) from e
        except (serial.SerialException, OSError, termios.error) as e:
            self._reset()
            raise MeterError.of(self._describe(self._advice(e))) from e

    def close(self) -> None:
        self._reset()

    # --- internals -------------------------------------------------------------------------

    def _advice(self, e: BaseException | None, *, timed_out: bool = False) -> Msg:
        return serial_error_message(e, port=self.port, baudrate=self.baudrate,
                                    config=self.config_path, timed_out=timed_out)

    def _describe(self, cause: str | Msg | Exception) -> Msg:
        return msg("agent.meter.sunspec", meter=self.meter_id, unit=self.unit, port=self.port,
                   cause=cause)

    def _reset(self) -> None:
        self._layout = None
        self._identity = None
        self._span_ok = True
        bus, self._bus, self._serial = self._bus, None, None
        if bus is None:
            return
        with _BUSES_LOCK:
            bus.users -= 1
            if bus.users > 0:
                return  # other meters on the line keep it open
            _BUSES.pop(self.port, None)
        with contextlib.suppress(serial.SerialException, OSError):
            bus.port.close()

    def _open(self) -> Any:
        if self._bus is None:
            if not self.port:
                raise serial.SerialException("no serial port configured")
            with _BUSES_LOCK:
                bus = _BUSES.get(self.port)
                if bus is None:
                    try:
                        bus = _BUSES[self.port] = _Bus(self._connect())
                    except ValueError as e:  # pyserial: unknown URL scheme or bad parameter
                        raise serial.SerialException(f"cannot open {self.port!r}: {e}") from e
                bus.users += 1
            self._bus, self._serial = bus, bus.port
        return self._serial

    def _connect(self) -> Any:
        return serial.serial_for_url(
            self.port,
            baudrate=self.baudrate,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            timeout=self.timeout_s,
            write_timeout=self.timeout_s,
            exclusive=True,
        )

    def _read_registers(self, address: int, count: int) -> list[int]:
        self._open()
        assert self._bus is not None
        with self._bus.lock:
            return self._transact(address, count)

    def _transact(self, address: int, count: int) -> list[int]:
        request = encode_read_request(self.unit, address, count)
        port = self._serial
        # pyserial reconfigures the port (tcgetattr, tcsetattr, flock) on every timeout change,
        # so the timeout is changed only when a read could otherwise outlast the deadline
        if port.timeout != self.timeout_s:
            port.timeout = self.timeout_s
        port.reset_input_buffer()  # a late answer to an earlier request must not be taken
        port.write(request)
        expected = 5 + 2 * count
        budget = self.timeout_s + (len(request) + expected) * _BITS_PER_CHAR / self.baudrate
        deadline = time.monotonic() + budget
        buf = b""
        while True:
            # the first two bytes tell an exception response (5 bytes) from data (5 + 2n)
            n = expected_response_length(buf, count)
            need = 2 if n is None else n
            if n is not None and len(buf) >= n:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                what = msg("agent.rtu.what", count=count, address=address)
                if not buf:
                    raise RtuTimeout(msg("agent.rtu.silent", budget=f"{budget:.2f}", what=what,
                                         unit=self.unit), silent=True)
                raise RtuTimeout(msg("agent.rtu.incomplete", what=what, got=len(buf),
                                     n=n or expected, budget=f"{budget:.2f}",
                                     frame=hex_preview(buf)))
            if port.timeout is None or port.timeout > remaining:
                port.timeout = remaining
            buf += bytes(port.read(need - len(buf)))
        try:
            return decode_read_response(buf[:need], self.unit, count)
        except RtuExceptionResponse as e:
            raise RtuExceptionResponse(e.code, msg(
                "agent.rtu.exception_to", error=e,
                what=msg("agent.rtu.what", count=count, address=address))) from e
        except RtuError as e:
            raise type(e).coded("agent.rtu.reading", count=count, address=address,
                                error=e) from e

    def _probe(self, address: int, count: int) -> list[int] | None:
        """Discovery's read: an exception response means "nothing here", not a failure."""
        try:
            return self._read_registers(address, count)
        except RtuExceptionResponse:
            return None

    def _discover(self) -> _Layout:
        chain = sc.parse_model_chain(self._probe, self.bases)
        common = chain.find((sl.COMMON_MODEL_ID,))
        inverter = chain.find(sl.INVERTER_MODEL_IDS)
        found = ", ".join(str(m.model_id) for m in chain.models)
        if common is None:
            raise sl.SunSpecLayoutError(f"no model 1 at base {chain.base} (models: {found})")
        der = chain.find((sl.DER_AC_MODEL_ID,))
        if inverter is None and der is None:
            raise sl.SunSpecLayoutError(
                f"no inverter model 101/102/103 or DER model 701 at base {chain.base} "
                f"(models: {found}); is this device an inverter?"
            )
        self._disagreement = None
        return _Layout(chain=chain, common=common, inverter=inverter, der=der)

    def _read_model(self, header: sc.ModelHeader, max_length: int) -> list[int]:
        return self._check_model(
            header, self._read_registers(header.address, 2 + min(header.length, max_length)))

    def _check_model(self, header: sc.ModelHeader, regs: list[int]) -> list[int]:
        if regs[0] != header.model_id:
            raise sl.SunSpecLayoutError(
                f"register {header.address} now holds model {regs[0]}, "
                f"not {header.model_id}; the map changed"
            )
        return regs

    def _read_common_and_inverter(self, layout: _Layout) -> tuple[list[int], list[int] | None]:
        """Model 1 and the inverter model, in one request when they fit in one (≤ 125
        registers, inverter after model 1): every poll then costs one Modbus transaction
        instead of two, and model 1 is still read every time. A device that refuses the
        spanning read gets the two separate reads from then on (until rediscovery)."""
        common, inverter = layout.common, layout.inverter
        n_common = 2 + min(common.length, sl.COMMON_LENGTH)
        if inverter is None:
            return self._read_model(common, sl.COMMON_LENGTH), None
        n_inverter = 2 + min(inverter.length, sl.INVERTER_LENGTH)
        gap = inverter.address - common.address
        if self._span_ok and n_common <= gap and gap + n_inverter <= MAX_READ_REGISTERS:
            try:
                regs = self._read_registers(common.address, gap + n_inverter)
            except RtuExceptionResponse:
                self._span_ok = False
            else:
                return (self._check_model(common, regs[:n_common]),
                        self._check_model(inverter, regs[gap:]))
        return (self._read_model(common, sl.COMMON_LENGTH),
                self._read_model(inverter, sl.INVERTER_LENGTH))

    def _decode_common(self, regs: list[int]) -> sl.CommonModel:
        key = tuple(regs)
        if self._common is None or key != self._common_regs:
            self._common = sl.decode_common(regs)
            self._common_regs = key
        return self._common

    def _read(self) -> Snapshot:
        if self._layout is None:
            self._layout = self._discover()
        layout = self._layout
        common_regs, inverter_regs = self._read_common_and_inverter(layout)
        common = self._decode_common(common_regs)
        inverter = der = None
        raw: list[tuple[str, int | str | None]] = [("base", layout.chain.base)]
        if layout.inverter is not None:
            assert inverter_regs is not None
            inverter = sl.decode_inverter(inverter_regs)
            raw += [("model", inverter.model_id), ("WH", inverter.wh),
                    ("WH_SF", inverter.wh_sf), ("W", inverter.w), ("W_SF", inverter.w_sf)]
        if layout.der is not None:
            der = sl.decode_der_ac(self._read_model(layout.der, sl.DER_AC_READ_LENGTH))
            raw += [("model_701", sl.DER_AC_MODEL_ID), ("TotWhInj", der.tot_wh_inj),
                    ("TotWhAbs", der.tot_wh_abs), ("TotWh_SF", der.tot_wh_sf),
                    ("InvSt", der.inv_st), ("ConnSt", der.conn_st)]
            if inverter is None:
                raw += [("W", der.w), ("W_SF", der.w_sf)]
        energy = sl.select_lifetime_energy(inverter, der)
        raw.append(("source", energy.source))
        if energy.disagreement is not None:
            raw.append(("cross_check", energy.disagreement))
        if energy.disagreement != self._disagreement and energy.disagreement is not None:
            log.warning("%s", self._describe(energy.disagreement + f"; metering {energy.source}"))
        self._disagreement = energy.disagreement
        identity = MeterIdentity(
            protocol=PROTOCOL,
            manufacturer=common.manufacturer,
            model=common.model,
            serial=common.serial,
        )
        self._identity = identity
        return Snapshot(
            meter_id=self.meter_id,
            register_wh=energy.register_wh,
            identity=identity,
            power_w=energy.power_w,
            wrap_wh=energy.wrap_wh,
            raw=tuple(raw),
        )

    def _read_energy(self) -> Snapshot:
        """The register :meth:`_read` would report, from the energy model alone: WH of the
        inverter model when there is one (the rule of :func:`sl.select_lifetime_energy`; the
        701 cross-check is left to the full reads), else TotWhInj of model 701."""
        layout, identity = self._layout, self._identity
        assert layout is not None and identity is not None
        if layout.inverter is not None:
            regs = self._check_model(layout.inverter, self._read_registers(
                layout.inverter.address, sl.InverterOffset.WH_SF + 1))
            energy = sl.select_lifetime_energy(sl.decode_inverter_energy(regs), None)
        else:
            assert layout.der is not None
            der = sl.decode_der_ac(self._read_model(layout.der, sl.DER_AC_READ_LENGTH))
            energy = sl.select_lifetime_energy(None, der)
        return Snapshot(meter_id=self.meter_id, register_wh=energy.register_wh,
                        identity=identity, power_w=energy.power_w, wrap_wh=energy.wrap_wh,
                        raw=(("source", energy.source),))
