"""A simulated SunSpec PV inverter speaking Modbus RTU on a pseudo-terminal.

The agent opens :attr:`PtyInverter.port` (the slave side of a pty pair, e.g. ``/dev/pts/7``) exactly
as it would open ``/dev/ttyUSB0``; a thread serves Modbus RTU on the master side
(docs/meters.md §5: ``pty.openpty()``, raw mode, baud settings accepted and ignored). The lifetime
WH register advances by integrating :class:`firmware_sim.solar.PvSystem` over the given
:class:`agent.clock.Clock`, lazily, each time a request is answered; with an
:class:`~agent.clock.AcceleratedClock` a day passes in minutes.

The register map is configurable (``inverter_model``, ``der_ac``): model 1 with model 103 (or 101,
102), with model 701 (DER AC measurement) alone as newer DER inverters serve it, or with both; the
one energy integral feeds WH and TotWhInj alike.

Like a real slave it ignores frames with a bad CRC and frames for other unit ids. Faults can be
injected (:class:`Faults`): unanswered requests (the master times out), responses with a corrupted
CRC, silent periods, resets of the energy register, and forward jumps of it (one implausible
interval, after which the register continues normally).

Framing on the master side: a request is taken as complete as soon as its function code tells
its length and that many bytes arrived; otherwise (unknown function, garbage) whatever arrived is
treated as one frame after an inter-frame silence of :data:`FRAME_GAP_S` — the RTU 3.5-character
rule, made longer because pty delivery is bursty.
"""

from __future__ import annotations

import logging
import math
import random
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from agent.clock import Clock
from agent.meters import sunspec_layout as sl
from firmware_sim import modbus_rtu as rtu
from firmware_sim.pty_endpoint import BAUD_RATES, PtyEndpoint
from firmware_sim.solar import PvSystem
from firmware_sim.sunspec_server import ServerConfig, SunSpecServer

log = logging.getLogger(__name__)

FRAME_GAP_S = 0.02
_IDLE_POLL_S = 0.5
_GRID_VOLTS = 202  # Japanese 200 V class low-voltage line, V_SF 0
_GRID_HZ_X10 = 500  # 50.0 Hz (eastern Japan), Hz_SF -1


@dataclass(frozen=True, slots=True)
class Faults:
    """What goes wrong, and how often. Fractions are probabilities per answered request, drawn
    from a RNG seeded with the inverter's seed; windows and instants are in *clock* time."""

    drop_fraction: float = 0.0  # requests left unanswered: the master sees a timeout
    corrupt_crc_fraction: float = 0.0  # responses sent with a flipped CRC byte
    silent: tuple[tuple[datetime, datetime], ...] = ()  # [start, end) windows with no answers
    reset_at: tuple[datetime, ...] = ()  # instants at which the energy register drops to 0
    # (instant, Wh): the energy register jumps forward by Wh at the instant (a glitching
    # metering chip, a firmware bug): the interval around it holds more energy than the rated
    # power allows, and the register continues from the new value afterwards
    jumps: tuple[tuple[datetime, int], ...] = ()
    # the inverter's line speed: a master whose tty is set to another baud rate is never
    # answered (a real inverter sees only framing errors). None: any speed (a pty has none)
    line_baud: int | None = None

    def __post_init__(self) -> None:
        for name in ("drop_fraction", "corrupt_crc_fraction"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be within 0..1, got {v}")
        for start, end in self.silent:
            if start.tzinfo is None or end.tzinfo is None or end < start:
                raise ValueError("silent windows need aware datetimes with start <= end")
        if any(t.tzinfo is None for t in self.reset_at):
            raise ValueError("reset instants must be aware datetimes")
        for t, wh in self.jumps:
            if t.tzinfo is None or wh <= 0:
                raise ValueError("register jumps need an aware datetime and a positive Wh")
        if self.line_baud is not None and self.line_baud not in BAUD_RATES:
            raise ValueError(f"line_baud {self.line_baud} is not a standard rate "
                             f"({', '.join(map(str, sorted(BAUD_RATES)))})")

    def is_silent(self, now: datetime) -> bool:
        return any(start <= now < end for start, end in self.silent)


@dataclass(slots=True)
class ServeStats:
    """Counters of the serving thread, for tests and logs."""

    frames: int = 0
    answered: int = 0
    ignored: int = 0  # bad CRC, other unit, garbage
    dropped: int = 0  # injected timeouts and silence
    corrupted: int = 0
    resets: int = 0
    wrong_baud: int = 0  # requests sent at a speed other than Faults.line_baud
    jumps: int = 0


def default_serial(seed: int) -> str:
    return f"SIM{seed & 0xFFFFFFFF:010d}"


def default_initial_wh(rated_w: float, seed: int) -> int:
    """A plausible lifetime register for an array installed 0.5–8 years ago (~1,100 Wh/W/year)."""
    years = random.Random(f"eco-sim/inverter-age/{seed}").uniform(0.5, 8.0)
    return max(1, int(rated_w * 1100 * years))


def _power_scale_factor(rated_w: float) -> int:
    """Smallest W_SF ≥ 0 for which the rated power fits an int16."""
    sf = 0
    while rated_w / 10**sf > 32767:
        sf += 1
    return sf


class PtyInverter(PtyEndpoint):
    """One simulated inverter on its own pty; see the module docstring."""

    def __init__(
        self,
        rated_w: float,
        seed: int,
        clock: Clock,
        *,
        unit: int = 1,
        manufacturer: str = "EcoSim",
        model: str | None = None,
        serial: str | None = None,
        initial_wh: int | None = None,
        faults: Faults | None = None,
        base: int = sl.DEFAULT_BASE,
        inverter_model: int | None = 103,
        der_ac: bool = False,
    ) -> None:
        super().__init__()
        self.pv = PvSystem(rated_w=rated_w, seed=seed)
        self.rated_w = rated_w
        self.seed = seed
        self.clock = clock
        self.serial = serial if serial is not None else default_serial(seed)
        default_model = f"ES-{rated_w / 1000:g}K-{inverter_model or 701}"
        self.model = model if model is not None else default_model
        self.manufacturer = manufacturer
        self.unit = unit
        self.base = base
        self.stats = ServeStats()
        common = sl.CommonModel(
            manufacturer=manufacturer,
            model=self.model,
            serial=self.serial,
            options="sim",
            version="1.0.0",
            device_address=unit,
        )
        self._server = SunSpecServer(
            ServerConfig(
                common=common, unit=unit, base=base, inverter_model=inverter_model, der_ac=der_ac
            )
        )
        self._w_sf = _power_scale_factor(rated_w)
        start_wh = initial_wh if initial_wh is not None else default_initial_wh(rated_w, seed)
        if start_wh < 0:
            raise ValueError("initial_wh must be >= 0")
        self._energy_wh = float(start_wh)
        self._power_w = 0.0
        self._last: datetime | None = None
        self._faults = faults or Faults()
        self._fault_rng = random.Random(f"eco-sim/inverter-faults/{seed}")
        self._lock = threading.Lock()
        self._rx = bytearray()
        self._peers: list[PtyInverter] = []
        self._last_rx = 0.0
        self.thread_name = f"pty-inverter-{self.serial}"

    # --- lifecycle (PtyEndpoint) -----------------------------------------------------------

    def on_start(self) -> None:
        with self._lock:
            self._last = self.clock.now()
            self._refresh_locked(self._last)
        self._rx.clear()
        log.info("inverter %s serving unit %d on %s", self.serial, self.unit, self.port)

    # --- control and inspection ------------------------------------------------------------

    @property
    def faults(self) -> Faults:
        with self._lock:
            return self._faults

    def set_faults(self, faults: Faults) -> None:
        with self._lock:
            self._faults = faults

    def reset_register(self) -> None:
        """The energy register drops to 0 now (a firmware reset or a replaced board)."""
        with self._lock:
            self._energy_wh = 0.0
            self.stats.resets += 1
            self._refresh_locked(self.clock.now())

    def register_wh(self) -> int:
        """The WH register's value as of now (Wh, before the 2^32 wrap)."""
        with self._lock:
            self._advance_locked(self.clock.now())
            return int(self._energy_wh)

    def values(self) -> sl.InverterValues:
        """The inverter model as of now."""
        with self._lock:
            self._refresh_locked(self.clock.now())
            return self._server.values

    def attach(self, other: PtyInverter) -> PtyInverter:
        """Put ``other`` (not started) on this inverter's RS-485 bus: several inverters, one
        line, told apart by unit id, as on a real multi-inverter installation."""
        if other.unit == self.unit or any(p.unit == other.unit for p in self._peers):
            raise ValueError(f"unit {other.unit} is already on this bus")
        self._peers.append(other)
        return self

    def _dispatch(self, frame: bytes) -> bytes:
        # every slave sees every frame; only the addressed one answers
        for device in (self, *self._peers):
            reply = device.handle_frame(frame)
            if reply is not None:
                return reply
        return b""

    def handle_frame(self, frame: bytes) -> bytes | None:
        """What the inverter would send back for ``frame`` now, faults included."""
        with self._lock:
            now = self.clock.now()
            self._refresh_locked(now)
            self.stats.frames += 1
            response = self._server.handle(frame)
            if response is None:
                self.stats.ignored += 1
                return None
            faults = self._faults
            if faults.line_baud is not None and self.line_speed() not in (None,
                                                                          faults.line_baud):
                self.stats.dropped += 1  # garbage at the wrong speed: no frame, no answer
                self.stats.wrong_baud += 1
                return None
            if faults.is_silent(now) or self._fault_rng.random() < faults.drop_fraction:
                self.stats.dropped += 1
                return None
            if self._fault_rng.random() < faults.corrupt_crc_fraction:
                self.stats.corrupted += 1
                response = response[:-1] + bytes([response[-1] ^ 0xFF])
            self.stats.answered += 1
            return response

    # --- energy ------------------------------------------------------------------------------

    def _advance_locked(self, now: datetime) -> None:
        last = self._last
        if last is None:
            self._last = now
            return
        if now <= last:
            return  # a clock stepping back changes nothing; the register never decreases
        resets = sorted(r for r in self._faults.reset_at if last < r <= now)
        if resets:
            self._energy_wh = self.pv.energy_wh(resets[-1], now)
            self.stats.resets += len(resets)
        else:
            self._energy_wh += self.pv.energy_wh(last, now)
        after = resets[-1] if resets else last
        jumps = [wh for t, wh in self._faults.jumps if after < t <= now]
        if jumps:
            self._energy_wh += sum(jumps)
            self.stats.jumps += len(jumps)
        self._last = now

    def _refresh_locked(self, now: datetime) -> None:
        self._advance_locked(now)
        p = self.pv.power_w(now)
        self._power_w = p
        model_id = self._server.config.inverter_model or 103
        phases = math.sqrt(3) if model_id == 103 else 1.0
        amps = p / (_GRID_VOLTS * phases)
        w = round(p / pow(10, self._w_sf))
        wh = int(self._energy_wh)
        self._server.update(
            sl.InverterValues(
                model_id=model_id,
                w=w,
                w_sf=self._w_sf,
                wh=wh,
                wh_sf=0,
                state=sl.OperatingState.MPPT if p > 0 else sl.OperatingState.SLEEPING,
                hz=_GRID_HZ_X10,
                hz_sf=-1,
                phase_volts=_GRID_VOLTS,
                v_sf=0,
                amps=min(round(amps * 100), 0xFFFE),
                a_sf=-2,
                cabinet_temp=round(25 + 20 * p / self.rated_w),
                tmp_sf=0,
            ),
            sl.DerAcValues(
                w=w,
                w_sf=self._w_sf,
                tot_wh_inj=wh or None,  # 0 Wh is "not implemented" for the reader either way
                tot_wh_sf=0,
                st=1,  # ON in the current model_701.json numbering (0 OFF, 1 ON)
                inv_st=3 if p > 0 else 1,  # MPPT / SLEEPING, numbered from 0 as in ab6f2c9
                conn_st=1,  # CONNECTED
            ),
        )

    # --- the serving thread ------------------------------------------------------------------

    # RTU frames are delimited by silence (3.5 character times): bytes are collected until the
    # line has been quiet for FRAME_GAP_S, then whatever is buffered is one frame (or noise).

    def poll_timeout(self) -> float:
        return FRAME_GAP_S if self._rx else _IDLE_POLL_S

    def on_bytes(self, data: bytes) -> bytes:
        self._rx += data
        self._last_rx = time.monotonic()
        return self._drain(self._rx, gap_elapsed=False)

    def on_idle(self) -> bytes:
        gap = bool(self._rx) and time.monotonic() - self._last_rx >= FRAME_GAP_S
        return self._drain(self._rx, gap_elapsed=gap)

    def _drain(self, buf: bytearray, *, gap_elapsed: bool) -> bytes:
        out = bytearray()
        while buf:
            n = rtu.request_frame_length(bytes(buf[:7]))
            if n is not None and len(buf) >= n:
                frame = bytes(buf[:n])
                if rtu.crc_ok(frame):
                    del buf[:n]
                    out += self._dispatch(frame)
                    continue
                if not gap_elapsed:
                    break  # maybe noise in front of a frame; decide at the silence
            if gap_elapsed:
                # what is left after the silence is one frame: a request we can't size, or noise
                frame = bytes(buf)
                buf.clear()
                out += self._dispatch(frame)
            break
        return bytes(out)
