"""A seeded, deterministic household electricity load, for the simulated town only.

Pure: time comes in as an argument and the randomness of each date is drawn from a RNG seeded
with ``(seed, date)``, so any instant can be evaluated in any order and every run gives the same
watts. Nothing here is used for credits (docs/architecture.md, "The simulated town").

Shape (JST): a standby base (refrigerator, routers, standby), a morning peak around 07:00
(breakfast, hair dryer, rice cooker), a daytime plateau that is higher at weekends, and a
broad evening peak around 19:30 (cooking, lighting, television, bath water); a season factor
with a winter maximum (heating, lighting) and a smaller August bump (air conditioning); a daily
factor of 0.8–1.2 and a smooth intra-day variation. The shape is scaled so that the seeded
household uses ``annual_kwh`` a year, drawn in 4,200–4,800 kWh unless given — inside the
4,000–5,000 kWh the town description names for a Japanese household. A test checks a seeded
year.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from firmware_sim.solar import JST

_REFERENCE_YEAR = 2025  # the year the shape is normalised over


def _bump(x: float, centre: float, width: float) -> float:
    return math.exp(-0.5 * ((x - centre) / width) ** 2)


@lru_cache(maxsize=4096)
def _day(seed: int, day: date) -> tuple[float, float, float, float]:
    """(daily factor, three phases of the intra-day variation) of one local date."""
    rng = random.Random(f"eco-sim/household/{seed}/{day.isoformat()}")
    return (rng.uniform(0.8, 1.2), rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi),
            rng.uniform(0, 2 * math.pi))


def _shape(seed: int, local: datetime) -> float:
    """Relative load at a local (JST) time; its yearly mean is about 1.4."""
    h = local.hour + local.minute / 60 + local.second / 3600
    doy = local.timetuple().tm_yday
    weekend = local.weekday() >= 5
    base = 0.55
    morning = 1.3 * _bump(h, 7.0, 0.9)
    daytime = (0.55 if weekend else 0.25) * _bump(h, 13.0, 3.0)
    evening = 2.0 * _bump(h, 19.5, 1.8)
    night = -0.2 * _bump(h, 3.5, 1.5)
    season = 1.0 + 0.25 * math.cos(2 * math.pi * (doy - 20) / 365) + 0.2 * _bump(doy, 218, 18)
    factor, p1, p2, p3 = _day(seed, local.date())
    wiggle = 1.0 + 0.08 * math.sin(2 * math.pi * h / 1.7 + p1) + 0.05 * math.sin(
        2 * math.pi * h / 0.6 + p2) + 0.04 * math.sin(2 * math.pi * h / 5.3 + p3)
    return max(0.2, (base + morning + daytime + evening + night) * season * factor * wiggle)


@lru_cache(maxsize=256)
def _yearly_shape_hours(seed: int) -> float:
    """The shape integrated over the reference year in hours (hourly midpoints)."""
    start = datetime(_REFERENCE_YEAR, 1, 1, tzinfo=JST)
    hours = (datetime(_REFERENCE_YEAR + 1, 1, 1, tzinfo=JST) - start) // timedelta(hours=1)
    return sum(_shape(seed, start + timedelta(hours=i + 0.5)) for i in range(hours))


def default_annual_kwh(seed: int) -> float:
    return random.Random(f"eco-sim/household-size/{seed}").uniform(4200.0, 4800.0)


@dataclass(frozen=True, slots=True)
class Household:
    """One household's consumption, W. ``annual_kwh`` defaults to a seeded draw."""

    seed: int
    annual_kwh: float = field(default=-1.0)

    def __post_init__(self) -> None:
        if self.annual_kwh == -1.0:
            object.__setattr__(self, "annual_kwh", default_annual_kwh(self.seed))
        if not 100.0 <= self.annual_kwh <= 1_000_000.0:
            raise ValueError(f"annual consumption {self.annual_kwh} kWh is not plausible")

    def power_w(self, t: datetime) -> float:
        """Instantaneous consumption at ``t`` (aware datetime), W."""
        if t.tzinfo is None or t.utcoffset() is None:
            raise ValueError("datetime must be timezone-aware")
        scale = self.annual_kwh * 1000.0 / _yearly_shape_hours(self.seed)
        return _shape(self.seed, t.astimezone(JST)) * scale

    def energy_wh(self, start: datetime, end: datetime, step_s: float = 60.0,
                  max_steps: int = 20_000) -> float:
        """Energy used in [start, end), Wh, by the midpoint rule (bounded work, as
        :meth:`firmware_sim.solar.PvSystem.energy_wh`)."""
        span = (end - start).total_seconds()
        if span <= 0:
            return 0.0
        steps = max(1, min(max_steps, math.ceil(span / step_s)))
        h = span / steps
        t0 = start.astimezone(UTC)
        return sum(self.power_w(t0 + timedelta(seconds=(i + 0.5) * h))
                   for i in range(steps)) * h / 3600.0
