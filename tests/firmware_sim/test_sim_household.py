"""firmware_sim.household: a seeded year uses 4,000–5,000 kWh, with morning and evening peaks;
deterministic; and the meter model built on it (load − PV) conserves energy."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from firmware_sim.echonet_node import EnergyState, HomeEnergy
from firmware_sim.household import Household
from firmware_sim.solar import JST, PvSystem


@pytest.mark.parametrize("seed", [1, 7, 42])
def test_a_seeded_year_is_4000_to_5000_kwh(seed: int) -> None:
    h = Household(seed)
    start, end = datetime(2026, 1, 1, tzinfo=JST), datetime(2027, 1, 1, tzinfo=JST)
    kwh = h.energy_wh(start, end, step_s=3600) / 1000
    assert 4000 <= kwh <= 5000
    assert abs(kwh - h.annual_kwh) / h.annual_kwh < 0.05


def test_morning_and_evening_peaks() -> None:
    h = Household(3)
    days = [datetime(2026, 3, 2, tzinfo=JST) + timedelta(days=i) for i in range(5)]  # Mon–Fri

    def mean(hour: float) -> float:
        return sum(h.power_w(d + timedelta(hours=hour)) for d in days) / len(days)

    assert mean(7) > 1.5 * mean(3) and mean(7) > mean(11)
    assert mean(19.5) > mean(7) > mean(14)


def test_deterministic_and_aware_only() -> None:
    t = datetime(2026, 8, 1, 19, 0, tzinfo=JST)
    assert Household(5).power_w(t) == Household(5).power_w(t) != Household(6).power_w(t)
    with pytest.raises(ValueError, match="aware"):
        Household(5).power_w(datetime(2026, 8, 1, 19, 0))
    with pytest.raises(ValueError, match="not plausible"):
        Household(5, annual_kwh=1.0)


def test_meter_model_splits_net_power_into_bought_and_sold() -> None:
    t0 = datetime(2026, 6, 21, 0, 0, tzinfo=JST)
    h, pv = Household(2), PvSystem(5000, 2)
    home = HomeEnergy(h, pv, None, EnergyState(t0))
    day = home.advance(t0 + timedelta(days=1))
    load = h.energy_wh(t0, t0 + timedelta(days=1))
    sun = pv.energy_wh(t0, t0 + timedelta(days=1))
    assert day.pv_wh == pytest.approx(sun, rel=1e-6)
    assert day.import_wh - day.export_wh == pytest.approx(load - sun, rel=1e-6)
    assert day.import_wh > 0 and day.export_wh > 0  # bought at night, sold at noon
    assert home.fixed.at == t0 + timedelta(days=1)  # a 30-minute boundary
    home.advance(t0 + timedelta(days=1, minutes=40))
    assert home.fixed.at == t0 + timedelta(days=1, minutes=30)
