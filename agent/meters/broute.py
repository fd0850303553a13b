"""Reads a smart meter (or PV / EV object) over the Wi-SUN B-route: ECHONET Lite through an
SKSTACK-IP dongle. Implements :class:`agent.meters.interface.Meter`, protocol "echonet-broute".

Each :meth:`BRouteMeter.read` sends one ECHONET Lite Get to the configured object and turns the
answer into a :class:`~agent.meters.interface.Snapshot`:

==================  ============  ===========================================================
object / quantity   EPCs          register
==================  ============  ===========================================================
smart_meter         D3 D7 E1 E0   grid_import: E0 × D3 × unit(E1) kWh, wraps at 10^D7 counts
                    (or E3) E7    grid_export: E3, same scale; power E7 (s32 W)
solar (0x0279)      E1 / E3 E0    pv_generation: E1, grid_export: E3; 0.001 kWh, wraps at 10^9
ev (0x027E)         D8 D3         ev_charge: D8, 0.001 kWh, wraps at 10^9; power D3 (s32 W)
==================  ============  ===========================================================

plus 8A (manufacturer code) and 8D (production number) for the identity; a meter without 8D is
identified by its Wi-SUN MAC address. D3/D7/E1 are asked every time, so a replaced meter with
another unit is never read with the old one. 0x02A1 (EV charger) is not offered: the unit of its
D8 is not confirmed (:mod:`agent.meters.echonet_codec`).

Failure handling, so that a value is either right or absent:

* the answer must carry this request's TID, come from the meter's address and the target
  class, and use Get_Res/Get_SNA; late answers to earlier requests and INF notifications are
  skipped;
* a garbled datagram, no answer in ``timeout_s``, or a ``FAIL ERxx`` is retried with a new TID
  after a backoff (``backoff_s``, doubled each time), ``attempts`` times in all, then raises
  :class:`~agent.errors.MeterError` and starts from SKRESET next time;
* EVENT 26–29 (session ended, lifetime expired) makes the reader join again at once (with the
  PAN it already knows), EVENT 24 makes it scan again;
* a register the meter reports as "no data" (0xFFFFFFFE …) or out of range, or a missing unit
  (E1), raises :class:`MeterError` at once: the meter answered, it just has no value.

The B-route ID and password are resolved only when the dongle is set up (``credentials`` is a
callable, so a password file is read then) and never appear in logs or messages.
"""

from __future__ import annotations

import contextlib
import logging
import termios
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import serial

from agent.diagnose import serial_error_message
from agent.errors import MeterError, MeterUnavailable
from agent.meters import echonet_codec as el
from agent.meters.interface import MeterIdentity, Snapshot
from agent.meters.skstack import DEFAULT_TIMING, Session, SkStackClient, Timing
from agent.meters.skstack_codec import (
    ECHONET_PORT,
    Family,
    PanDescriptor,
    RouteBCredentials,
    SkFail,
    SkJoinFailed,
    SkProtocolError,
    SkSessionLost,
    SkStackError,
    SkTimeout,
)
from eco_protocol.messages import Msg, msg
from eco_protocol.records import Quantity

if TYPE_CHECKING:
    from agent.meters.meter_config import MeterConfig

log = logging.getLogger(__name__)

PROTOCOL: Final = "echonet-broute"
EPC_MANUFACTURER: Final = 0x8A
EPC_PRODUCT_CODE: Final = 0x8C
EPC_SERIAL: Final = 0x8D


@dataclass(frozen=True, slots=True)
class Target:
    """What to ask which object for one (echonet_object, quantity) pair."""

    eoj: el.EOJ
    energy_epc: int
    power_epc: int | None
    power_unsigned16: bool = False  # 0x0279 E0 is u16; the others s32

    @property
    def smart_meter(self) -> bool:
        return self.eoj.class_id == el.LV_SMART_METER.class_id

    def epcs(self) -> tuple[int, ...]:
        scale = (0xD3, 0xD7, 0xE1) if self.smart_meter else ()
        power = (self.power_epc,) if self.power_epc is not None else ()
        return (EPC_MANUFACTURER, EPC_SERIAL, *scale, self.energy_epc, *power)


TARGETS: Final[dict[tuple[str, Quantity], Target]] = {
    ("smart_meter", Quantity.GRID_IMPORT): Target(el.LV_SMART_METER, 0xE0, 0xE7),
    ("smart_meter", Quantity.GRID_EXPORT): Target(el.LV_SMART_METER, 0xE3, 0xE7),
    ("solar", Quantity.PV_GENERATION): Target(el.SOLAR, 0xE1, 0xE0, power_unsigned16=True),
    ("solar", Quantity.GRID_EXPORT): Target(el.SOLAR, 0xE3, 0xE0, power_unsigned16=True),
    ("ev", Quantity.EV_CHARGE): Target(el.EV_CHARGER_DISCHARGER, 0xD8, 0xD3),
}


class ReadingUnavailable(MeterUnavailable):
    """The meter answered, but without a usable register (no data, no unit, not supported)."""


@dataclass(frozen=True, slots=True)
class Values:
    register_wh: int
    wrap_wh: int | None
    power_w: int | None
    manufacturer: str
    model: str
    serial: str
    raw: tuple[tuple[str, int | str | None], ...]


def evaluate(target: Target, frame: el.Frame, mac: str) -> Values:
    """The register, power and identity in a Get_Res/Get_SNA answer to ``target.epcs()``.
    Pure. Raises :class:`ReadingUnavailable` or
    :class:`~agent.meters.echonet_codec.EchonetError`."""
    edts = {p.epc: p.edt for p in frame.properties}
    raw: list[tuple[str, int | str | None]] = []

    def present(epc: int) -> bytes | None:
        edt = edts.get(epc)
        return edt if edt else None  # PDC 0 in a Get_SNA: not available

    def note(epc: int, value: int | str | None) -> None:
        raw.append((f"{epc:02X}", value))

    if target.smart_meter:
        d3, d7, e1 = present(0xD3), present(0xD7), present(0xE1)
        if e1 is None:
            raise ReadingUnavailable.coded("agent.el.no_unit")
        coefficient = 1 if d3 is None else el.decode_coefficient(d3)
        digits = None if d7 is None else el.decode_digits(d7)
        scale = el.EnergyScale(unit_kwh=el.decode_unit(e1), coefficient=coefficient,
                               digits=digits)
        note(0xD3, coefficient if d3 is not None else None)
        note(0xD7, digits)
        note(0xE1, e1[0])
    else:
        scale = el.MILLI_KWH_SCALE
    energy_edt = present(target.energy_epc)
    if energy_edt is None:
        raise ReadingUnavailable.coded(
            "agent.el.no_epc", epc=f"{target.energy_epc:02X}",
            what=el.class_name(target.eoj.class_id) or msg("agent.el.the_object"))
    register = el.decode_cumulative(target.energy_epc, energy_edt, scale)
    note(target.energy_epc, int.from_bytes(energy_edt, "big"))
    if isinstance(register, el.Missing):
        raise ReadingUnavailable.coded("agent.el.not_zero", register=str(register))
    power: int | None = None
    if target.power_epc is not None and (pedt := present(target.power_epc)) is not None:
        p = (el.decode_power_u16(target.power_epc, pedt) if target.power_unsigned16
             else el.decode_power_s32(target.power_epc, pedt))
        power = None if isinstance(p, el.Missing) else p
        note(target.power_epc, power)
    maker = present(EPC_MANUFACTURER)
    manufacturer = f"ECHONET maker {el.decode_manufacturer(maker)}" if maker else "unknown"
    serial_edt = present(EPC_SERIAL)
    serial_text = el.decode_text(EPC_SERIAL, serial_edt) if serial_edt else None
    serial_no = serial_text if isinstance(serial_text, str) else f"MAC {mac}"
    note(EPC_MANUFACTURER, maker.hex().upper() if maker else None)
    note(EPC_SERIAL, serial_text if isinstance(serial_text, str) else None)
    model = f"ECHONET 0x{target.eoj.class_id:04X} {el.CLASS_NAMES[target.eoj.class_id]}"
    return Values(register.wh, scale.wrap_wh(), power, manufacturer, model, serial_no,
                  tuple(raw))


class _Retry(Exception):
    """A failure worth another attempt."""


class BRouteMeter:
    """An ECHONET Lite object behind a Wi-SUN dongle; see the module docstring."""

    def __init__(
        self,
        meter_id: str,
        port: str,
        *,
        credentials: Callable[[], RouteBCredentials],
        quantity: Quantity,
        echonet_object: str = "smart_meter",
        family: Family | None = None,
        baudrate: int = 115200,
        timeout_s: float = 10.0,
        timing: Timing = DEFAULT_TIMING,
        attempts: int = 3,
        backoff_s: float = 1.0,
        scan_durations: Sequence[int] = (4, 5, 6, 7),
        known_pan: PanDescriptor | None = None,
        disable_echo: bool = True,
        sleep: Callable[[float], None] = time.sleep,
        config_path: Path | str | None = None,
    ) -> None:
        self.config_path = config_path
        if not meter_id:
            raise ValueError("meter_id must not be empty")
        try:
            self.target = TARGETS[(echonet_object, quantity)]
        except KeyError:
            offered = ", ".join(f"{o}/{q.value}" for o, q in TARGETS)
            raise ValueError(f"{echonet_object}/{quantity.value} cannot be read over the "
                             f"B-route; offered: {offered}") from None
        if not 0 < timeout_s <= 120 or attempts < 1 or backoff_s < 0 or not scan_durations:
            raise ValueError("timeout_s must be in (0, 120], attempts ≥ 1, backoff_s ≥ 0 and "
                             "at least one scan duration given")
        self.meter_id = meter_id
        self.port = port
        self.quantity = quantity
        self.family = family
        self.baudrate = baudrate
        self.timeout_s = timeout_s
        self.timing = timing
        self.attempts = attempts
        self.backoff_s = backoff_s
        self.scan_durations = tuple(scan_durations)
        self.disable_echo = disable_echo
        self._credentials = credentials
        self._sleep = sleep
        self._pan = known_pan
        self._serial: Any = None
        self._client: SkStackClient | None = None
        self._session: Session | None = None
        self._tid = 0

    @property
    def session(self) -> Session | None:
        return self._session

    # -- Meter --------------------------------------------------------------------------------

    def read(self) -> Snapshot:
        last: BaseException | None = None
        for attempt in range(self.attempts):
            if attempt:
                self._sleep(self.backoff_s * 2 ** (attempt - 1))
            try:
                return self._read_once()
            except _Retry as e:
                last = e.__cause__ or e
                log.debug("meter %r: attempt %d of %d failed: %s", self.meter_id, attempt + 1,
                          self.attempts, last)
            except ReadingUnavailable as e:
                raise MeterError.of(self._describe(e)) from e
            except (serial.SerialException, OSError, termios.error) as e:
                self._reset()
                raise MeterError.of(self._describe(serial_error_message(
                    e, port=self.port, baudrate=self.baudrate, config=self.config_path))) from e
        self._reset()
        raise MeterError.of(self._describe(msg("agent.meter.attempts", error=last,
                                               n=self.attempts))) from last

    def close(self) -> None:
        if self._client is not None:
            with contextlib.suppress(SkStackError, serial.SerialException, OSError):
                self._client.terminate()
        self._reset()

    # -- internals ------------------------------------------------------------------------------

    def _describe(self, cause: str | Msg | Exception) -> Msg:
        return msg("agent.meter.broute", meter=self.meter_id, port=self.port, cause=cause)

    def _reset(self) -> None:
        self._session = None
        self._client = None
        port, self._serial = self._serial, None
        if port is not None:
            with contextlib.suppress(serial.SerialException, OSError):
                port.close()

    def _open(self) -> SkStackClient:
        if self._client is None:
            if not self.port:
                raise serial.SerialException("no serial port configured")
            try:
                self._serial = serial.serial_for_url(
                    self.port, baudrate=self.baudrate, bytesize=serial.EIGHTBITS,
                    parity=serial.PARITY_NONE, stopbits=serial.STOPBITS_ONE,
                    timeout=self.timing.command_s, write_timeout=self.timing.command_s,
                    exclusive=True)
            except ValueError as e:
                raise serial.SerialException(f"cannot open {self.port!r}: {e}") from e
            self._client = SkStackClient(self._serial, family=self.family, timing=self.timing,
                                         name=f"meter {self.meter_id!r}")
        return self._client

    def _ensure_session(self) -> tuple[SkStackClient, Session]:
        if self._session is not None and self._client is not None and self._client.session_alive:
            return self._client, self._session
        try:
            creds = self._credentials()
        except (OSError, ValueError) as e:
            raise ReadingUnavailable.coded("agent.el.credentials", error=e) from e
        client = self._open()
        try:
            if self._session is not None:  # the session ended: join again on the same PAN
                session, self._session = self._session, None
                log.info("meter %r: PANA session ended; joining %s again", self.meter_id,
                         session.peer)
                client.join(session.peer)
            else:
                session = client.connect(creds, durations=self.scan_durations,
                                         known_pan=self._pan, disable_echo=self.disable_echo)
        except SkJoinFailed as e:
            self._pan = None  # scan again: the meter may have moved channel
            self._reset()
            raise _Retry() from e
        except (SkTimeout, SkFail, SkProtocolError, SkSessionLost) as e:
            self._reset()
            raise _Retry() from e
        self._pan = session.pan
        self._session = session
        log.info("meter %r: joined %s on channel %02X PAN %04X via %s", self.meter_id,
                 session.peer, session.pan.channel, session.pan.pan_id, session.family.value)
        return client, session

    def _next_tid(self) -> int:
        self._tid = self._tid % 0xFFFF + 1
        return self._tid

    def _read_once(self) -> Snapshot:
        client, session = self._ensure_session()
        tid = self._next_tid()
        data = el.encode_get(tid, self.target.eoj, self.target.epcs())
        request = el.decode_frame(data)
        try:
            client.sendto(session.peer, data)
            frame = self._await_answer(client, session, request)
            values = evaluate(self.target, frame, session.pan.addr)
        except SkSessionLost as e:
            raise _Retry() from e  # _ensure_session joins again on the next attempt
        except (SkTimeout, SkFail, SkProtocolError) as e:
            raise _Retry() from e
        except el.EchonetError as e:
            raise _Retry() from e
        identity = MeterIdentity(protocol=PROTOCOL, manufacturer=values.manufacturer,
                                 model=values.model, serial=values.serial)
        return Snapshot(meter_id=self.meter_id, register_wh=values.register_wh,
                        identity=identity, power_w=values.power_w, wrap_wh=values.wrap_wh,
                        raw=values.raw)

    def _await_answer(self, client: SkStackClient, session: Session,
                      request: el.Frame) -> el.Frame:
        deadline = time.monotonic() + self.timeout_s
        while True:
            rx = client.receive(deadline)
            if rx is None:
                raise SkTimeout.coded("agent.sk.no_echonet_answer", tid=request.tid,
                                      limit=f"{self.timeout_s:.1f}")
            if rx.rport != ECHONET_PORT or rx.sender != session.peer:
                log.debug("meter %r: skipping UDP from %s port %04X", self.meter_id,
                          rx.sender, rx.rport)
                continue
            try:
                frame = el.decode_frame(rx.data)
            except el.EchonetError as e:
                raise SkProtocolError.coded("agent.sk.garbled", error=e) from e
            if el.is_response_to(request, frame):
                return frame
            log.debug("meter %r: skipping %s TID %d from %s (waiting for TID %d)",
                      self.meter_id, frame.esv_name, frame.tid, frame.seoj, request.tid)


# --- construction from the configuration ---------------------------------------------------------


def read_password_file(path: Path) -> str:
    """The first line of a password file, without its line end."""
    text = path.read_text("utf-8")
    return text.splitlines()[0] if text else ""


def from_config(mc: MeterConfig) -> BRouteMeter:
    """The reader for an ``echonet-broute`` [[meters]] entry (does not touch the port)."""
    bc = mc.broute
    if bc is None:
        raise ValueError(f"meter {mc.id!r} has no echonet-broute settings")
    rbid, password, password_file = bc.broute_id, bc.broute_password, bc.broute_password_file

    def credentials() -> RouteBCredentials:
        pw = password
        if pw is None:
            if password_file is None:
                raise ValueError("no broute_password or broute_password_file configured")
            try:
                pw = read_password_file(password_file)
            except OSError as e:
                raise OSError(f"cannot read broute_password_file {password_file}: "
                              f"{e.strerror or e}") from e
        return RouteBCredentials(rbid, pw)

    pan = None
    if bc.wisun_channel is not None and bc.pan_id is not None and bc.meter_mac is not None:
        pan = PanDescriptor(channel=bc.wisun_channel, channel_page=9, pan_id=bc.pan_id,
                            addr=bc.meter_mac.upper(), lqi=0)
    family = None if bc.family == "auto" else Family(bc.family)
    return BRouteMeter(mc.id, mc.port, credentials=credentials, quantity=mc.quantity,
                       echonet_object=bc.echonet_object, family=family, baudrate=mc.baudrate,
                       timeout_s=mc.timeout_s, known_pan=pan, config_path=mc.config_path)
