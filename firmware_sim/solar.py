"""A seeded, deterministic model of a rooftop PV system near Tokyo, for the simulated town only.

Pure: time comes in as an argument; the weather of each date is drawn from a RNG seeded with
``(seed, date)``, so any instant can be evaluated in any order and every run gives the same watts.
Nothing here is used for credits (docs/architecture.md, "The simulated town").

The physics is textbook and deliberately simple:

* Sun position: declination by Cooper's formula, δ = 23.45° sin(360°(284 + n)/365); equation of
  time E = 9.87 sin 2B − 7.53 cos B − 1.5 sin B minutes with B = 360°(n − 81)/364; solar time =
  JST + 4 min/° × (λ − 135°) + E; sin(elevation) = sin φ sin δ + cos φ cos δ cos h
  (Duffie & Beckman, *Solar Engineering of Thermal Processes*, ch. 1).
* Clear-sky beam irradiance, Meinel: DNI = 1353 × 0.7^(AM^0.678) W/m², air mass by Kasten &
  Young (1989); diffuse taken as 10 % of the beam, ground albedo 0.2.
* Plane of array: south-facing, 30° tilt; incidence cos θ = sin δ sin(φ − β) + cos δ cos(φ − β)
  cos h for an equator-facing surface (Duffie & Beckman eq. 1.6.7).
* Weather: per date one of clear / partly cloudy / overcast / rain with seasonal probabilities
  loosely shaped after Tokyo (sunny winters, the June–July rainy season); partly cloudy days get
  a smooth intra-day variation.
* AC power = rated × POA/1000 × performance ratio 0.76, clipped at 95 % of rated.

Calibrated so that the annual yield is ~1,000–1,200 kWh per kW (the town's stated magnitude); a
test checks the seeded year.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from enum import StrEnum
from functools import lru_cache

JST = timezone(timedelta(hours=9), "JST")
TOKYO_LATITUDE = 35.7
TOKYO_LONGITUDE = 139.7

_SOLAR_CONSTANT_BEAM = 1353.0
_DIFFUSE_FRACTION = 0.10
_ALBEDO = 0.2
_PERFORMANCE_RATIO = 0.76
_CLIP_FRACTION = 0.95


class Sky(StrEnum):
    CLEAR = "clear"
    PARTLY_CLOUDY = "partly-cloudy"
    OVERCAST = "overcast"
    RAIN = "rain"


# (clear, partly cloudy, overcast, rain) by month, Tokyo-like: sunny dry winters, tsuyu in
# June–July, typhoon-season rain in September.
_MONTH_SKY_PROBABILITIES: dict[int, tuple[float, float, float, float]] = {
    1: (0.60, 0.22, 0.12, 0.06),
    2: (0.52, 0.25, 0.13, 0.10),
    3: (0.38, 0.30, 0.17, 0.15),
    4: (0.35, 0.32, 0.17, 0.16),
    5: (0.35, 0.33, 0.17, 0.15),
    6: (0.15, 0.30, 0.30, 0.25),
    7: (0.25, 0.35, 0.22, 0.18),
    8: (0.40, 0.35, 0.15, 0.10),
    9: (0.25, 0.33, 0.22, 0.20),
    10: (0.30, 0.32, 0.20, 0.18),
    11: (0.45, 0.28, 0.15, 0.12),
    12: (0.58, 0.24, 0.12, 0.06),
}


@dataclass(frozen=True, slots=True)
class DayWeather:
    """The drawn weather of one local (JST) date."""

    sky: Sky
    clearness: float  # daily mean fraction of clear-sky irradiance, 0..1
    variability: float  # amplitude of the intra-day variation (partly cloudy days)
    phases: tuple[float, float, float]  # phases of the intra-day variation

    def factor(self, hour: float) -> float:
        """Fraction of clear-sky irradiance at local ``hour``; smooth, within 0.03..1."""
        if self.variability == 0.0:
            return self.clearness
        p1, p2, p3 = self.phases
        wave = (
            0.5 * math.sin(2 * math.pi * hour / 2.7 + p1)
            + 0.3 * math.sin(2 * math.pi * hour / 1.1 + p2)
            + 0.2 * math.sin(2 * math.pi * hour / 0.45 + p3)
        )
        return min(1.0, max(0.03, self.clearness + self.variability * wave))


@lru_cache(maxsize=4096)
def day_weather(seed: int, day: date) -> DayWeather:
    """The weather of ``day`` for PV systems seeded with ``seed``; deterministic."""
    rng = random.Random(f"eco-sim/solar/{seed}/{day.isoformat()}")
    probs = _MONTH_SKY_PROBABILITIES[day.month]
    roll = rng.random()
    acc = 0.0
    sky = Sky.RAIN
    for candidate, p in zip(Sky, probs, strict=True):
        acc += p
        if roll < acc:
            sky = candidate
            break
    phases = (rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi), rng.uniform(0, 2 * math.pi))
    if sky is Sky.CLEAR:
        return DayWeather(sky, rng.uniform(0.92, 1.0), 0.0, phases)
    if sky is Sky.PARTLY_CLOUDY:
        return DayWeather(sky, rng.uniform(0.5, 0.8), rng.uniform(0.15, 0.3), phases)
    if sky is Sky.OVERCAST:
        return DayWeather(sky, rng.uniform(0.2, 0.35), 0.0, phases)
    return DayWeather(sky, rng.uniform(0.06, 0.15), 0.0, phases)


def _require_aware(t: datetime) -> None:
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError("datetime must be timezone-aware")


def solar_elevation_deg(
    t: datetime, latitude: float = TOKYO_LATITUDE, longitude: float = TOKYO_LONGITUDE
) -> float:
    """Solar elevation above the horizon at ``t`` (aware), in degrees."""
    _require_aware(t)
    return math.degrees(math.asin(max(-1.0, min(1.0, _sun(t, latitude, longitude)[0]))))


def _sun(t: datetime, latitude: float, longitude: float) -> tuple[float, float, float]:
    """(sin elevation, declination rad, hour angle rad) at ``t``."""
    local = t.astimezone(JST)
    n = local.timetuple().tm_yday
    decl = math.radians(23.45) * math.sin(2 * math.pi * (284 + n) / 365)
    b = 2 * math.pi * (n - 81) / 364
    eot_min = 9.87 * math.sin(2 * b) - 7.53 * math.cos(b) - 1.5 * math.sin(b)
    clock_h = local.hour + local.minute / 60 + (local.second + local.microsecond / 1e6) / 3600
    solar_h = clock_h + (4 * (longitude - 135.0) + eot_min) / 60
    hour_angle = math.radians(15 * (solar_h - 12))
    phi = math.radians(latitude)
    sin_el = math.sin(phi) * math.sin(decl) + math.cos(phi) * math.cos(decl) * math.cos(hour_angle)
    return sin_el, decl, hour_angle


@dataclass(frozen=True, slots=True)
class PvSystem:
    """A rooftop array: rated AC power, seed of its weather, site and panel geometry."""

    rated_w: float
    seed: int
    latitude: float = TOKYO_LATITUDE
    longitude: float = TOKYO_LONGITUDE
    tilt_deg: float = 30.0

    def __post_init__(self) -> None:
        if not 0 < self.rated_w <= 10_000_000:
            raise ValueError(f"rated power {self.rated_w} W is not plausible")

    def clear_sky_poa(self, t: datetime) -> float:
        """Clear-sky irradiance on the panel plane at ``t``, W/m²."""
        _require_aware(t)
        sin_el, decl, hour_angle = _sun(t, self.latitude, self.longitude)
        if sin_el <= 0.0:
            return 0.0
        el_deg = math.degrees(math.asin(sin_el))
        air_mass = 1.0 / (sin_el + 0.50572 * math.pow(el_deg + 6.07995, -1.6364))
        dni: float = _SOLAR_CONSTANT_BEAM * math.pow(0.7, math.pow(air_mass, 0.678))
        dhi = _DIFFUSE_FRACTION * dni
        ghi = dni * sin_el + dhi
        beta = math.radians(self.tilt_deg)
        phi_beta = math.radians(self.latitude) - beta
        cos_inc = math.sin(decl) * math.sin(phi_beta) + math.cos(decl) * math.cos(
            phi_beta
        ) * math.cos(hour_angle)
        beam = dni * max(0.0, cos_inc)
        sky = dhi * (1 + math.cos(beta)) / 2
        ground = ghi * _ALBEDO * (1 - math.cos(beta)) / 2
        return beam + sky + ground

    def power_w(self, t: datetime) -> float:
        """Instantaneous AC output at ``t`` (aware datetime), W; 0 at night."""
        poa = self.clear_sky_poa(t)
        if poa <= 0.0:
            return 0.0
        local = t.astimezone(JST)
        weather = day_weather(self.seed, local.date())
        hour = local.hour + local.minute / 60 + local.second / 3600
        p = self.rated_w * poa / 1000.0 * _PERFORMANCE_RATIO * weather.factor(hour)
        return min(p, _CLIP_FRACTION * self.rated_w)

    def energy_wh(
        self, start: datetime, end: datetime, step_s: float = 60.0, max_steps: int = 20_000
    ) -> float:
        """Energy produced in [start, end), Wh, by the midpoint rule.

        The step grows beyond ``step_s`` when needed to keep at most ``max_steps`` evaluations,
        so a clock that jumps a year ahead costs a bounded amount of work.
        """
        _require_aware(start)
        _require_aware(end)
        span = (end - start).total_seconds()
        if span <= 0:
            return 0.0
        steps = max(1, min(max_steps, math.ceil(span / step_s)))
        h = span / steps
        t0 = start.astimezone(UTC)
        total = 0.0
        for i in range(steps):
            total += self.power_w(t0 + timedelta(seconds=(i + 0.5) * h))
        return total * h / 3600.0
