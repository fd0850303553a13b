"""Seeded evening EV charging sessions, for the simulated town only.

Pure and deterministic: each local (JST) date draws from a RNG seeded with ``(seed, date)``
whether the car charges that evening, when it is plugged in (17:30–22:00), at what power
(3–6 kW, a 16–32 A wallbox) and how much energy it takes. Magnitudes from docs/architecture.md:
8,000–10,000 km a year at 6–7 km/kWh is about 1,200–1,700 kWh a year; a session takes 3–11 kWh on
a bit more than half the evenings. The car stays plugged in until 07:00 the next morning.

Power is piecewise constant, so energy over any span is computed exactly from the session
bounds (no numerical integration).
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache

from firmware_sim.solar import JST

SESSION_PROBABILITY = 0.55
UNPLUG_LOCAL = time(7, 0)


class EvState(enum.IntEnum):
    """OpenEVSE's state numbers (J1772 A/B/C)."""

    NOT_CONNECTED = 1
    CONNECTED = 2
    CHARGING = 3


@dataclass(frozen=True, slots=True)
class Session:
    plugged_in: datetime  # UTC
    power_w: int
    energy_wh: int

    @property
    def charge_end(self) -> datetime:
        return self.plugged_in + timedelta(seconds=self.energy_wh / self.power_w * 3600)

    @property
    def unplugged(self) -> datetime:
        local = self.plugged_in.astimezone(JST)
        next_morning = datetime.combine(local.date() + timedelta(days=1), UNPLUG_LOCAL, JST)
        return max(next_morning.astimezone(UTC), self.charge_end)


@lru_cache(maxsize=4096)
def session_on(seed: int, day: date) -> Session | None:
    """The session plugged in on the evening of local date ``day``, if any."""
    rng = random.Random(f"eco-sim/ev/{seed}/{day.isoformat()}")
    if rng.random() >= SESSION_PROBABILITY:
        return None
    minutes = rng.randrange(17 * 60 + 30, 22 * 60)
    start = datetime.combine(day, time(minutes // 60, minutes % 60), JST).astimezone(UTC)
    power_w = rng.randrange(3000, 6001, 100)
    energy_wh = rng.randrange(3000, 11001, 10)
    return Session(start, power_w, energy_wh)


@dataclass(frozen=True, slots=True)
class EvCharger:
    seed: int

    def _sessions(self, t: datetime) -> list[Session]:
        local_day = t.astimezone(JST).date()
        found = (session_on(self.seed, local_day - timedelta(days=d)) for d in (2, 1, 0))
        return [s for s in found if s is not None]

    def session_at(self, t: datetime) -> Session | None:
        """The latest session plugged in at or before ``t`` (it may have ended)."""
        started = [s for s in self._sessions(t) if s.plugged_in <= t]
        return started[-1] if started else None

    def power_w(self, t: datetime) -> int:
        s = self.session_at(t)
        return s.power_w if s is not None and t < s.charge_end else 0

    def state(self, t: datetime) -> EvState:
        s = self.session_at(t)
        if s is None or t >= s.unplugged:
            return EvState.NOT_CONNECTED
        return EvState.CHARGING if t < s.charge_end else EvState.CONNECTED

    def energy_wh(self, start: datetime, end: datetime) -> float:
        """Energy charged in [start, end), Wh, exactly."""
        if end <= start:
            return 0.0
        total = 0.0
        days = (end - start).days + 3
        first = start.astimezone(JST).date() - timedelta(days=2)
        for i in range(days + 1):
            s = session_on(self.seed, first + timedelta(days=i))
            if s is None:
                continue
            lo, hi = max(start, s.plugged_in), min(end, s.charge_end)
            if hi > lo:
                total += s.power_w * (hi - lo).total_seconds() / 3600
        return total

    def session_energy_wh(self, t: datetime) -> float:
        """Energy of the latest session so far (what OpenEVSE shows as session_energy)."""
        s = self.session_at(t)
        return 0.0 if s is None else self.energy_wh(s.plugged_in, t)
