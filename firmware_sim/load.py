"""A seeded, deterministic household electricity load, for the simulated town only.

Pure like :mod:`firmware_sim.solar`: each local (JST) date draws its own shape from a RNG seeded
with ``(seed, date)``, so any instant can be evaluated in any order and every run agrees.
Nothing here is used for credits.

Shape (ARCHITECTURE.md, "The simulated town": roughly 4,000–5,000 kWh a year with morning and
evening peaks): a standby base load, a morning peak around 07:00 and a larger evening peak
around 19:30 (Gaussian bumps), a smooth daytime wave, and a seasonal factor for heating in
winter and air conditioning in summer. A test checks that a seeded year lands in range.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from firmware_sim.solar import JST

# seasonal factor by month (heating in winter, air conditioning in summer)
_SEASON = {1: 1.25, 2: 1.2, 3: 1.05, 4: 0.95, 5: 0.9, 6: 0.95, 7: 1.1, 8: 1.15, 9: 1.0,
           10: 0.92, 11: 1.0, 12: 1.2}


@dataclass(frozen=True, slots=True)
class DayLoad:
    """The drawn load shape of one local date."""

    base_w: float
    morning_w: float
    morning_h: float
    evening_w: float
    evening_h: float
    wave_w: float
    phase: float
    season: float

    def power_w(self, hour: float) -> float:
        morning = self.morning_w * math.exp(-0.5 * ((hour - self.morning_h) / 1.0) ** 2)
        evening = self.evening_w * math.exp(-0.5 * ((hour - self.evening_h) / 1.6) ** 2)
        wave = self.wave_w * (1 + math.sin(2 * math.pi * hour / 5.0 + self.phase)) / 2
        return self.season * (self.base_w + morning + evening + wave)


@lru_cache(maxsize=4096)
def day_load(seed: int, day: date) -> DayLoad:
    rng = random.Random(f"eco-sim/load/{seed}/{day.isoformat()}")
    weekend = day.weekday() >= 5
    return DayLoad(
        base_w=rng.uniform(180, 260),
        morning_w=rng.uniform(450, 800) * (0.8 if weekend else 1.0),
        morning_h=rng.uniform(6.5, 7.5) + (1.0 if weekend else 0.0),
        evening_w=rng.uniform(650, 1050),
        evening_h=rng.uniform(18.8, 20.2),
        wave_w=rng.uniform(80, 200) * (1.6 if weekend else 1.0),
        phase=rng.uniform(0, 2 * math.pi),
        season=_SEASON[day.month],
    )


@dataclass(frozen=True, slots=True)
class Household:
    """A household's consumption (before any PV), seeded."""

    seed: int
    scale: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.scale <= 100:
            raise ValueError(f"scale {self.scale} is not plausible")

    def power_w(self, t: datetime) -> float:
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("datetime must be timezone-aware")
        local = t.astimezone(JST)
        hour = local.hour + local.minute / 60 + local.second / 3600
        return self.scale * day_load(self.seed, local.date()).power_w(hour)

    def energy_wh(self, start: datetime, end: datetime, step_s: float = 60.0,
                  max_steps: int = 20_000) -> float:
        """Energy used in [start, end), Wh, by the midpoint rule (bounded work)."""
        span = (end - start).total_seconds()
        if span <= 0:
            return 0.0
        steps = max(1, min(max_steps, math.ceil(span / step_s)))
        h = span / steps
        t0 = start.astimezone(UTC)
        return sum(self.power_w(t0 + timedelta(seconds=(i + 0.5) * h))
                   for i in range(steps)) * h / 3600.0
