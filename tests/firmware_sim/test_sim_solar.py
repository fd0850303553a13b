"""firmware_sim.solar: plausible magnitudes (docs/architecture.md, "The simulated town"),
determinism."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from firmware_sim.solar import JST, PvSystem, Sky, day_weather, solar_elevation_deg


def _grid(day: date, minutes: int = 10) -> list[datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=JST)
    return [start + timedelta(minutes=m) for m in range(0, 24 * 60, minutes)]


def _clear_day(seed: int, month: int) -> date:
    for d in range(1, 29):
        if day_weather(seed, date(2024, month, d)).sky is Sky.CLEAR:
            return date(2024, month, d)
    raise AssertionError(f"no clear day in month {month} for seed {seed}")


@pytest.mark.parametrize("day", [date(2024, 1, 15), date(2024, 6, 21), date(2024, 9, 30)])
def test_zero_at_night(day: date) -> None:
    pv = PvSystem(rated_w=4500, seed=7)
    for hour in (0, 2, 3, 21, 23):
        t = datetime(day.year, day.month, day.day, hour, tzinfo=JST)
        assert solar_elevation_deg(t) < 0
        assert pv.power_w(t) == 0.0
    night = datetime(day.year, day.month, day.day, 20, tzinfo=JST)
    assert pv.energy_wh(night, night + timedelta(hours=8)) == 0.0


def test_noon_peak_below_rated_and_near_noon() -> None:
    pv = PvSystem(rated_w=4500, seed=7)
    day = _clear_day(7, 5)
    samples = [(pv.power_w(t), t) for t in _grid(day)]
    peak, when = max(samples)
    assert 0.5 * pv.rated_w < peak < pv.rated_w
    assert 10 <= when.astimezone(JST).hour <= 13


def test_solar_noon_elevation_in_tokyo() -> None:
    # 35.7 N: about 90 - 35.7 + 23.4 = 77.7 deg at the June solstice, 31 deg at December's
    june = max(solar_elevation_deg(t) for t in _grid(date(2024, 6, 21), 5))
    december = max(solar_elevation_deg(t) for t in _grid(date(2024, 12, 21), 5))
    assert 76.5 < june < 78.5
    assert 30.0 < december < 32.0


def test_annual_yield_per_kw_is_plausible() -> None:
    pv = PvSystem(rated_w=1000, seed=7)
    kwh = pv.energy_wh(datetime(2024, 1, 1, tzinfo=JST), datetime(2025, 1, 1, tzinfo=JST)) / 1000
    assert 900 < kwh < 1400


def test_cloudy_and_winter_days_yield_less() -> None:
    pv = PvSystem(rated_w=1000, seed=7)

    def day_wh(d: date) -> float:
        start = datetime(d.year, d.month, d.day, tzinfo=JST)
        return pv.energy_wh(start, start + timedelta(days=1), step_s=300)

    rainy = [
        date(2024, 6, d) for d in range(1, 31) if day_weather(7, date(2024, 6, d)).sky is Sky.RAIN
    ]
    assert rainy, "June should have rain"
    assert day_wh(rainy[0]) < 0.3 * day_wh(_clear_day(7, 6))
    assert day_wh(_clear_day(7, 12)) < day_wh(_clear_day(7, 5))


def test_deterministic_by_seed() -> None:
    t = datetime(2024, 7, 3, 3, 30, tzinfo=UTC)  # 12:30 JST
    assert PvSystem(4500, seed=7).power_w(t) == PvSystem(4500, seed=7).power_w(t)
    year = [date(2024, 1, 1) + timedelta(days=i) for i in range(366)]
    assert [day_weather(7, d) for d in year] != [day_weather(8, d) for d in year]
    start, end = datetime(2024, 3, 1, tzinfo=JST), datetime(2024, 3, 8, tzinfo=JST)
    assert PvSystem(3000, 11).energy_wh(start, end) == PvSystem(3000, 11).energy_wh(start, end)


def test_energy_is_additive_and_scales_with_rating() -> None:
    a = datetime(2024, 4, 10, 6, tzinfo=JST)
    b, c = a + timedelta(hours=5), a + timedelta(hours=12)
    pv = PvSystem(4000, seed=3)
    whole = pv.energy_wh(a, c)
    assert whole == pytest.approx(pv.energy_wh(a, b) + pv.energy_wh(b, c), rel=1e-3)
    assert PvSystem(8000, seed=3).energy_wh(a, c) == pytest.approx(2 * whole)
    assert pv.energy_wh(c, a) == 0.0


def test_naive_datetimes_are_rejected() -> None:
    with pytest.raises(ValueError):
        PvSystem(4500, 7).power_w(datetime(2024, 1, 1, 12))
    with pytest.raises(ValueError):
        PvSystem(0, 7)
