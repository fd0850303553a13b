"""Time for the agent and the simulators: the system clock, or an accelerated one anchored to it.

The accelerated clock is a pure function of the wall clock (``origin_sim + (wall − origin_wall)
× speed``), so separate processes (simulated inverters, agents, the aggregator's plausibility
window) given the same three numbers agree on "now" without talking to each other. That is what
lets ``make demo`` run two simulated days in a couple of minutes with every party consistent.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime


class Clock:
    """Wall-clock time in UTC. ``sleep`` takes *clock* seconds."""

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.timestamp(), UTC)

    def timestamp(self) -> float:
        return time.time()

    def speed(self) -> float:
        return 1.0

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds / self.speed())


SystemClock = Clock


@dataclass(frozen=True)
class AcceleratedClock(Clock):
    """Simulated time running ``speed`` times faster than the wall clock from an anchor."""

    origin_sim: float  # POSIX seconds of simulated time at the anchor
    origin_wall: float  # POSIX seconds of wall time at the anchor
    rate: float = 60.0
    wall: Callable[[], float] = time.time

    def timestamp(self) -> float:
        return self.origin_sim + (self.wall() - self.origin_wall) * self.rate

    def speed(self) -> float:
        return self.rate


class ManualClock(Clock):
    """A clock that moves only when told to; for tests of pure timing logic."""

    def __init__(self, start: datetime) -> None:
        self._t = start.timestamp()

    def timestamp(self) -> float:
        return self._t

    def advance(self, seconds: float) -> None:
        self._t += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))


@dataclass(frozen=True)
class JumpingClock(Clock):
    """A clock that is wrong until it is set, then steps to the true time: fault injection for a
    Raspberry Pi without an RTC, which boots at 1970, at the image's build date or (with
    fake-hwclock) at its last shutdown, and jumps when systemd-timesyncd reaches an NTP server.

    Before ``jump_at`` (POSIX seconds of the *true* clock) it reads ``true + offset_s`` and runs
    at the true clock's rate; from ``jump_at`` on it reads ``true``. Like
    :class:`AcceleratedClock` it is a pure function of the true clock, so every process given the
    same numbers sees the jump at the same moment. Something else must announce the jump the way
    systemd-timesyncd does (``firmware_sim.timesync.FakeTimesyncd`` creates ``synchronized``
    after the step), because the agent trusts that file, not the clock, to know it was set.
    """

    true: Clock
    offset_s: float  # boot reading − true time, e.g. −2 days for fake-hwclock
    jump_at: float

    def timestamp(self) -> float:
        t = self.true.timestamp()
        return t + self.offset_s if t < self.jump_at else t

    def speed(self) -> float:
        return self.true.speed()

    def jumped(self) -> bool:
        """Whether the clock has been set (reads the true time) now."""
        return self.true.timestamp() >= self.jump_at
