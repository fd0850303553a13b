"""The agent process: poll meters on a schedule, commit readings, pump the uplink.

Threads and who does what:

* an APScheduler 3.x ``BackgroundScheduler`` (UTC, ``misfire_grace_time=None``, ``coalesce``,
  ``max_instances=1``; docs/pitfalls.md §3; imported through :mod:`agent.lean_imports`) runs
  the **poll job** in its own thread (no thread pool): read every meter (between interval
  boundaries its energy register alone, :meth:`Agent.poll_once`), feed the pure
  interval builder, and commit the cycle's readings together with the meters' interval state in
  one outbox transaction. Polls are aligned to just before multiples of ``poll_seconds`` (in
  clock time), so the snapshot that defines an interval boundary is at most a second or so old.
  With an accelerated clock the job runs every ``poll_seconds / speed`` wall seconds and all
  interval arithmetic uses clock time.
* the **main thread** loops: ``uplink.pump()`` (all MQTT-side outbox I/O), the health check,
  clock-jump detection (the drift of ``time.time() − time.monotonic()``; on a jump the poll job
  is rescheduled, because APScheduler assumes a correct clock), and the systemd watchdog ping —
  sent only after a passing health check, from this loop, never from a timer thread.
* paho's network thread only enqueues events (see :mod:`agent.uplink`).

SIGTERM/SIGINT stop cleanly: the scheduler is shut down waiting for a running poll cycle (which
commits whole or not at all), receipts already received are applied, ``offline`` is published,
the outbox is closed; exit status 0.
"""

from __future__ import annotations

import contextlib
import faulthandler
import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any, Final, assert_never

from eco_protocol.encoding import format_time
from eco_protocol.errors import EnvironmentProblem, NoteError, ProtocolError
from eco_protocol.keyfile import load_private_key
from eco_protocol.keys import Ed25519PrivateKey, device_id_of, public_key_raw
from eco_protocol.logkey import next_keys
from eco_protocol.messages import msg
from eco_protocol.note import NoteVerifier, parse_verifier_key
from eco_protocol.signing import sign_record
from eco_runtime.sdnotify import sd_notify, watchdog_interval_s

from . import interval
from .clock import AcceleratedClock, Clock, JumpingClock
from .config import AgentConfig, ClockMode, MeterConfig, MeterProtocol
from .diagnose import PastLife, missing_key_message
from .errors import AgentError, ConfigError, DeviceKeyLost, MeterError
from .lean_imports import (  # before .uplink: APScheduler and paho, lean
    BackgroundScheduler,
    DateTrigger,
    DebugExecutor,
    IntervalTrigger,
)
from .meters.interface import EnergyRegisterMeter, Meter, MeterIdentity, Snapshot
from .outbox import Outbox
from .state import AgentState
from .uplink import Uplink

log = logging.getLogger(__name__)

CLOCK_JUMP_S: Final = 5.0  # drift of wall vs monotonic time that counts as a clock jump
TIMESYNC_DIR: Final = Path("/run/systemd/timesync")
POLL_STALE_FACTOR: Final = 3.0
# a stop taking longer than this dumps every thread's stack to stderr (systemd waits 90 s by
# default, the demo 20 s before SIGKILL)
STOP_STACKS_AFTER_S: Final = 10.0


# -- small pure helpers ---------------------------------------------------------------------------


def clock_from_config(config: AgentConfig) -> Clock:
    c = config.clock
    match c.mode:
        case ClockMode.SYSTEM:
            return Clock()
        case ClockMode.ACCELERATED:
            clock = AcceleratedClock(origin_sim=c.origin_sim, origin_wall=c.origin_wall,
                                     rate=c.speed)
            if c.boot_at is None:
                return clock
            return JumpingClock(clock, offset_s=c.boot_at - c.origin_sim,
                                jump_at=c.origin_sim + c.jump_after_s)
    assert_never(c.mode)


def clock_known_unsynced(now: float, timesync_dir_exists: bool, synchronized_exists: bool) -> bool:
    """True only when we *know* the clock is wrong: before 2020, or systemd-timesyncd running
    and not (yet) synchronised (docs/pitfalls.md §7). Unknown counts as synced."""
    if now < interval.MIN_PLAUSIBLE_TIME:
        return True
    return timesync_dir_exists and not synchronized_exists


def next_aligned_poll(clock_now: float, poll_s: float, lead_s: float) -> float:
    """The next clock time ``k·poll_s − lead_s`` after ``clock_now``."""
    k = math.floor((clock_now + lead_s) / poll_s) + 1
    return k * poll_s - lead_s


def poll_lead_s(poll_s: float, speed: float) -> float:
    """How long before a poll multiple to read (clock seconds): about 1 s, never less than
    50 ms of wall time (scheduler jitter), never more than a quarter of the poll period."""
    return min(poll_s / 4, max(1.0, 0.05 * speed))


class JumpDetector:
    """Detects wall-clock jumps from the drift of ``time.time() − time.monotonic()``.

    Pure: the caller passes both readings. ``check`` returns the jump in seconds (and re-bases)
    when the drift moved by more than ``threshold_s`` since the last jump, else None."""

    def __init__(self, wall: float, mono: float, threshold_s: float = CLOCK_JUMP_S) -> None:
        self._drift = wall - mono
        self.threshold_s = threshold_s

    def check(self, wall: float, mono: float) -> float | None:
        drift = wall - mono
        jump = drift - self._drift
        if abs(jump) <= self.threshold_s:
            return None
        self._drift = drift
        return jump


def open_meter(mc: MeterConfig) -> Meter:
    """The reader for one configured meter (does not touch the port yet)."""
    match mc.protocol:
        case MeterProtocol.SUNSPEC_MODBUS:
            from .meters.sunspec import SunSpecModbusMeter

            return SunSpecModbusMeter(mc.id, mc.port, unit=mc.unit,
                                      baudrate=mc.baudrate, timeout_s=mc.timeout_s,
                                      config_path=mc.config_path)
        case MeterProtocol.TASMOTA | MeterProtocol.SHELLY | MeterProtocol.OPENEVSE:
            from .meters.mqtt_meter import meter_from_config

            return meter_from_config(mc)  # subscribes in the background at once
        case MeterProtocol.ECHONET_BROUTE:
            from .meters import broute

            return broute.from_config(mc)
    assert_never(mc.protocol)


def past_life(config: AgentConfig) -> PastLife:
    """What the box's state says about an identity it had: the outbox's device id and how many
    readings it signed, or a state file that pinned a log key (the agent ran). Read-only."""
    box = config.device.outbox_path
    if box.exists():
        # an unreadable outbox still shows that the box ran before
        return PastLife(*Outbox.peek_identity(box), f"outbox {box}")
    if config.device.state_path.exists():
        return PastLife(None, 0, f"state file {config.device.state_path}")
    return PastLife()


def load_device_key(config: AgentConfig) -> Ed25519PrivateKey:
    path = config.device.key_path
    if not path.exists():
        past = past_life(config)
        if past.evidence is not None:
            raise DeviceKeyLost.of(missing_key_message(path, config.path, past))
        raise ConfigError.of(missing_key_message(path, config.path, past))
    try:
        return load_private_key(path)
    except EnvironmentProblem as e:
        raise AgentError(msg("agent.cli.message", message=e)) from e


# -- the agent ---------------------------------------------------------------------------------


@dataclass
class _MeterSlot:
    config: MeterConfig
    meter: Meter | None = None
    state: interval.MeterState | None = None
    failing: str | None = None
    # the identity last recorded in the state file: a poll that reports the same one need not
    # query (and deep-copy) the TinyDB table again
    identity: MeterIdentity | None = None
    # the state after the last snapshot whose identity was read (a full read); ``state`` may
    # be ahead of it by energy-only snapshots, which are forgotten when the next full read
    # finds another identity. The outbox stores this one.
    verified: interval.MeterState | None = None
    # the meter's energy-register-only read, if it has one (EnergyRegisterMeter)
    read_energy: Callable[[], Snapshot] | None = None


@dataclass
class CycleResult:
    readings: int = 0
    meters_read: int = 0
    errors: dict[str, str] = field(default_factory=dict)


class Agent:
    """One agent: meters, builder state, outbox, state file, uplink. See the module docstring."""

    def __init__(self, config: AgentConfig, *, key: Ed25519PrivateKey, clock: Clock,
                 outbox: Outbox, state: AgentState, uplink: Uplink,
                 meter_factory: Callable[[MeterConfig], Meter] = open_meter,
                 timesync_dir: Path = TIMESYNC_DIR) -> None:
        self.config = config
        self.key = key
        self.device_id = device_id_of(public_key_raw(key))
        self.clock = clock
        self.outbox = outbox
        self.state = state
        self.uplink = uplink
        self._meter_factory = meter_factory
        self._timesync_dir = timesync_dir
        self.params = interval.BuilderParams(
            interval_s=config.device.interval_seconds,
            co2_g_per_kwh=config.device.co2_display_g_per_kwh,
            max_gap_intervals=config.device.max_gap_fill_hours * 3600
            // config.device.interval_seconds)
        stored = outbox.meter_states()
        self._slots = {m.id: _MeterSlot(m) for m in config.meters}
        for mid, slot in self._slots.items():
            if mid in stored:
                slot.state = slot.verified = interval.MeterState.from_dict(stored[mid])
        self._cycle_lock = threading.Lock()
        self.last_poll: float | None = None  # monotonic time of the last completed poll job
        self._scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._pump_error: str | None = None
        self._poll_error: str | None = None  # the last explained poll failure, logged once

    # -- one poll cycle -----------------------------------------------------------------------

    def _clock_synced(self, now: float) -> bool:
        if isinstance(self.clock, AcceleratedClock):
            return now >= interval.MIN_PLAUSIBLE_TIME
        return not clock_known_unsynced(now, self._timesync_dir.is_dir(),
                                        (self._timesync_dir / "synchronized").exists())

    def _sign(self, record: Mapping[str, Any]) -> Mapping[str, Any]:
        return sign_record(record, self.key)

    def _energy_only(self, slot: _MeterSlot, t: int) -> bool:
        """Whether this poll may read the energy register alone: the previous poll read this
        reader without failing (``failing`` is cleared only by a read, so the identity was read
        since), and the snapshot stays in the interval of the previous one (the first poll
        after a boundary, the one that closes an interval, reads the identity)."""
        st = slot.state
        return (slot.read_energy is not None and slot.failing is None and st is not None
                and slot.verified is not None and st.last_t < t
                and st.last_t // self.params.interval_s == t // self.params.interval_s)

    def _read(self, slot: _MeterSlot, t: int) -> tuple[Snapshot, bool]:
        """One snapshot of the slot's meter and whether its identity was read (not cached)."""
        energy_only = slot.meter is not None and self._energy_only(slot, t)  # not a new reader
        if slot.meter is None:
            meter = slot.meter = self._meter_factory(slot.config)
            slot.read_energy = (meter.read_energy if isinstance(meter, EnergyRegisterMeter)
                                else None)
        if energy_only:
            assert slot.read_energy is not None and slot.state is not None
            snap = slot.read_energy()
            if snap.register_wh >= slot.state.last_wh:
                return snap, False
            # the register went back: a reset, a rollover or another meter; ask who it is
        return slot.meter.read(), True

    def poll_once(self) -> CycleResult:
        """Read every meter once and commit whatever intervals completed, in one transaction.

        Between interval boundaries a meter that can (:class:`EnergyRegisterMeter`) is asked
        for its energy register alone (issue 16: most polls are these); the first poll after
        each boundary, a register that went back, and every poll after a failure read the
        identity too. When such a full read finds another identity, the energy-only snapshots
        since the previous full read are forgotten (they may have been the new meter's,
        taken under the old identity): the builder continues from the state after that read,
        so the change is flagged (``meter_replaced``) in the interval that closes next and no
        energy of an unidentified meter is credited. Only such verified states are stored."""
        with self._cycle_lock:
            result = CycleResult()
            new_states: dict[str, interval.MeterState | None] = {}
            new_verified: dict[str, interval.MeterState | None] = {}
            bodies: list[dict[str, Any]] = []
            for mid, slot in self._slots.items():
                # timesyncd steps the clock, then creates its file: the file seen *before* the
                # time is read vouches for that time; seen only after, it may not
                synced_before = self._clock_synced(math.inf)
                t = self.clock.timestamp()
                try:
                    snap, identified = self._read(slot, int(t))
                except MeterError as e:
                    result.errors[mid] = str(e)
                    if slot.failing is None:
                        log.warning("%s (will keep trying every poll)", e)
                    slot.failing = str(e)
                    continue
                except Exception as e:  # a reader bug must not stop the other meters
                    result.errors[mid] = f"meter {mid!r}: {type(e).__name__}: {e}"
                    if slot.failing is None:
                        log.exception("meter %r: reading failed unexpectedly", mid)
                    slot.failing = result.errors[mid]
                    if slot.meter is not None:  # start afresh with a new reader next time
                        with contextlib.suppress(Exception):
                            slot.meter.close()
                        slot.meter = None
                    continue
                if slot.failing is not None:
                    log.info("meter %r answers again", mid)
                    slot.failing = None
                result.meters_read += 1
                base = slot.state
                if identified:
                    if snap.identity != slot.identity:
                        self._note_identity(mid, snap.identity, t)
                        slot.identity = snap.identity
                    if slot.verified is not None and snap.identity != slot.verified.identity:
                        base = slot.verified  # forget energy-only snapshots (docstring)
                obs = interval.Observation(int(t), snap.register_wh, snap.identity,
                                           snap.wrap_wh, synced_before and self._clock_synced(t))
                out = interval.step(base, obs, self.params)
                if out.note:
                    log.warning("meter %r: %s", mid, out.note)
                new_states[mid] = out.state
                if identified:
                    new_verified[mid] = out.state
                bodies.extend(interval.reading_body(self.device_id, mid, slot.config.quantity, iv)
                              for iv in out.readings)
            if bodies:
                states = {m: new_verified.get(m, slot.verified)
                          for m, slot in self._slots.items()}
                stored = self.outbox.commit_cycle(
                    bodies, {m: s.to_dict() for m, s in states.items() if s is not None},
                    self._sign)
                log.info("committed %d reading(s), seq %d–%d", len(stored), stored[0].seq,
                         stored[-1].seq)
                result.readings = len(stored)
            # only after a successful commit: a failed commit leaves the persisted and the
            # in-memory state equal, and the next poll recomputes the same readings
            for mid, st in new_states.items():
                self._slots[mid].state = st
            for mid, st in new_verified.items():
                self._slots[mid].verified = st
            self.last_poll = time.monotonic()
        if bodies:
            self.uplink.notify()
        return result

    def _note_identity(self, meter_id: str, identity: MeterIdentity, t: float) -> None:
        before = self.state.meter_identity(meter_id)
        if self.state.record_meter_identity(meter_id, identity,
                                            format_time(datetime.fromtimestamp(t, UTC))):
            if before is not None:
                log.warning("meter %r now reports %s %s serial %s (was %s %s serial %s)",
                            meter_id, identity.manufacturer, identity.model, identity.serial,
                            before.manufacturer, before.model, before.serial)
            else:
                log.info("meter %r is %s %s serial %s", meter_id, identity.manufacturer,
                         identity.model, identity.serial)

    def _poll_job(self) -> None:
        try:
            self.poll_once()
        except AgentError as e:  # explained (e.g. the outbox's disk is full): no traceback
            if str(e) != self._poll_error:
                log.error("poll cycle failed; nothing of it was committed: %s", e)
            self._poll_error = str(e)
            return
        except Exception:  # the scheduler would only log it; keep the reason visible
            log.exception("poll cycle failed; nothing of it was committed")
            return
        if self._poll_error is not None:
            log.info("poll cycles commit again")
            self._poll_error = None

    # -- scheduling ---------------------------------------------------------------------------

    def _trigger(self) -> IntervalTrigger:
        speed = self.clock.speed()
        poll_s = float(self.config.device.poll_seconds)
        now_wall, now_clock = time.time(), self.clock.timestamp()
        target = next_aligned_poll(now_clock, poll_s, poll_lead_s(poll_s, speed))
        start_wall = now_wall + (target - now_clock) / speed
        return IntervalTrigger(seconds=poll_s / speed,
                               start_date=datetime.fromtimestamp(start_wall, UTC), timezone=UTC)

    def start_scheduler(self) -> None:
        # the poll job runs in the scheduler's own thread (DebugExecutor: "executes the target
        # callable directly"): a thread pool's hand-off, futures and extra threads cost CPU on
        # every poll and RAM, and buy nothing with one job that never overlaps itself. The
        # price: reschedule() waits for a running poll cycle (the job store lock is held).
        sched = BackgroundScheduler(timezone=UTC, executors={"default": DebugExecutor()},
                                    job_defaults={"misfire_grace_time": None, "coalesce": True,
                                                  "max_instances": 1})
        sched.add_job(self._poll_job, trigger=self._trigger(), id="poll", name="poll meters")
        # at once; a trigger instance, never a name: agent.lean_imports loads no plugin aliases
        sched.add_job(self._poll_job, trigger=DateTrigger(datetime.now(UTC), timezone=UTC),
                      id="first-poll", name="first poll")
        sched.start()
        self._scheduler = sched
        self.last_poll = time.monotonic()  # the health check counts from here

    def reschedule(self) -> None:
        if self._scheduler is not None:
            self._scheduler.reschedule_job("poll", trigger=self._trigger())

    # -- health -----------------------------------------------------------------------------------

    def healthy(self) -> tuple[bool, str]:
        if not self.uplink.healthy():
            return False, "the MQTT network thread has died"
        if self._pump_error is not None:
            return False, self._pump_error
        if self._scheduler is None or not self._scheduler.running:
            return False, "the scheduler is not running"
        wall_poll = self.config.device.poll_seconds / self.clock.speed()
        stale_after = max(POLL_STALE_FACTOR * wall_poll, 30.0)
        if self.last_poll is not None and time.monotonic() - self.last_poll > stale_after:
            return False, f"no poll cycle completed for {time.monotonic() - self.last_poll:.0f} s"
        return True, "ok"

    # -- the process ------------------------------------------------------------------------------

    def request_stop(self) -> None:
        self._stop.set()

    def run(self, *, install_signals: bool = True, loop_s: float = 0.25,
            stop_requested: threading.Event | None = None) -> int:
        """Run until SIGTERM/SIGINT (or :meth:`request_stop`); return the exit status.

        ``stop_requested``: set by the caller's own early signal handler, for a signal that
        came after it checked but before ours below were in place."""
        if install_signals:
            def on_signal(signum: int, _frame: FrameType | None) -> None:
                log.info("signal %d: stopping", signum)
                # a stop should take well under a second; if it has not ended in time, every
                # thread's stack goes to stderr (the journal) before the service manager's
                # SIGKILL, so a hang says where it is
                faulthandler.dump_traceback_later(STOP_STACKS_AFTER_S, exit=False)
                self._stop.set()
            signal.signal(signal.SIGTERM, on_signal)
            signal.signal(signal.SIGINT, on_signal)
        if stop_requested is not None and stop_requested.is_set():
            self._stop.set()
        log.info("device %s starting: %d meter(s), interval %d min, broker %s", self.device_id,
                 len(self._slots), self.config.device.interval_minutes,
                 self.config.uplink.broker)
        self.uplink.start()
        self.start_scheduler()
        sd_notify("READY=1")
        watchdog_every = watchdog_interval_s()
        last_ping = 0.0
        jumps = JumpDetector(time.time(), time.monotonic())
        started = time.monotonic()
        status = 0
        unhealthy_since: float | None = None
        try:
            while not self._stop.is_set():
                try:
                    self.uplink.pump(wait_s=loop_s)
                    self._pump_error = None
                except Exception as e:  # e.g. the outbox's disk failing: withhold the watchdog
                    if self._pump_error is None and isinstance(e, AgentError):
                        log.error("uplink pump failed: %s", e)  # explained: no traceback
                    elif self._pump_error is None:
                        log.exception("uplink pump failed")
                    self._pump_error = f"uplink pump failed: {e}"
                    self._stop.wait(loop_s)
                jump = jumps.check(time.time(), time.monotonic())
                if jump is not None:
                    log.warning("the system clock jumped by %+.0f s: rescheduling the poll job",
                                jump)
                    self.reschedule()
                ok, why = self.healthy()
                if ok:
                    unhealthy_since = None
                    due = watchdog_every is not None and (
                        time.monotonic() - last_ping >= watchdog_every)
                    if due:
                        sd_notify("WATCHDOG=1")
                        last_ping = time.monotonic()
                else:
                    if unhealthy_since is None:
                        unhealthy_since = time.monotonic()
                        log.error("unhealthy: %s", why)
                    if not self.uplink.healthy() and time.monotonic() - started > 1.0:
                        log.error("exiting so that the service manager restarts the agent")
                        status = 1
                        break
        finally:
            self.shutdown()
        return status

    def shutdown(self) -> None:
        """Stop scheduling, let a running cycle finish, apply received receipts, disconnect."""
        sd_notify("STOPPING=1")
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
        try:
            self.uplink.pump()
        except Exception:
            log.exception("applying the last receipts failed")
        self.uplink.stop()
        for slot in self._slots.values():
            if slot.meter is not None:
                try:
                    slot.meter.close()
                except Exception:
                    log.exception("closing meter %r failed", slot.config.id)
        counts = self.outbox.counts()
        log.info("stopped; %d reading(s) pending and %d set aside in the outbox, next seq %d",
                 counts.pending, counts.rejected, counts.next_seq)
        self.outbox.close()
        self.state.close()
        faulthandler.cancel_dump_traceback_later()


def _followed_key(configured: NoteVerifier, pinned: str | None,
                  changes: list[dict[str, Any]]) -> NoteVerifier | None:
    """The pinned key, if the state's recorded announcements lead to it from the configured key
    (re-checked at every start: the state file is ours, but a check costs nothing)."""
    if pinned is None or pinned == configured.vkey or not changes:
        return None
    try:
        path = next_keys(configured, changes)
    except ProtocolError as e:
        raise ConfigError(msg("agent.logkey.changes_bad", error=e)) from e
    if path and path[-1].new.vkey == pinned:
        return path[-1].new
    return None


def build_agent(config: AgentConfig, *, accept_new_log_key: bool = False,
                meter_factory: Callable[[MeterConfig], Meter] = open_meter,
                clock: Clock | None = None) -> Agent:
    """Compose an agent from its config: key, outbox, state file (with the pinned log key)."""
    key = load_device_key(config)
    device_id = device_id_of(public_key_raw(key))
    vkey = config.device.log_verifier()
    state = AgentState(config.device.state_path)
    try:
        pinned = state.pinned_log_key()
        now = format_time(datetime.now(UTC))
        followed = _followed_key(vkey, pinned, state.followed_log_key_changes())
        if followed is not None:  # the log announced a new key since the config was written
            vkey = followed
        elif pinned is not None and pinned != vkey.vkey:
            try:
                old = parse_verifier_key(pinned).name
            except NoteError:
                old = "an unreadable key"
            if not accept_new_log_key:
                raise ConfigError(msg("agent.logkey.differs", name=vkey.name, old=old))
            log.warning("re-pinning the log key: %s replaces %s", vkey.name, old)
        if followed is None:
            state.pin_log_key(vkey.vkey, now)
        outbox = Outbox.open(config.device.outbox_path, device_id)
    except BaseException:
        state.close()
        raise

    def follow(new: NoteVerifier, records: list[dict[str, Any]]) -> None:
        state.follow_log_key(new.vkey, [*state.followed_log_key_changes(), *records],
                             format_time(datetime.now(UTC)))

    uplink = Uplink(device_id=device_id, config=config.uplink, outbox=outbox, log_key=vkey,
                    on_log_key=follow)
    return Agent(config, key=key, clock=clock or clock_from_config(config), outbox=outbox,
                 state=state, uplink=uplink, meter_factory=meter_factory,
                 timesync_dir=config.clock.timesync_dir)
