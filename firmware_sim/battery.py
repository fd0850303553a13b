"""A home battery for the simulated town: it stores the PV surplus by day and discharges at a
fixed power on a fixed evening schedule, whatever the load, so that part of it is exported at
night (a battery on a time-of-use or "double generation" schedule).

That is the case the programme rules' battery netting exists for (docs/methodology.md, battery
homes): per-interval netting would count the stored PV as self-consumed at noon, when it was not
exported, and never subtract the evening export (the PV reads 0 then); netting per JST day
subtracts it. Nothing here is used for credits; it only shapes what the simulated meters count.

Stateful (the state of charge) and driven in time order by the meter simulator that owns it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from firmware_sim.solar import JST


@dataclass(slots=True)
class HomeBattery:
    capacity_wh: float
    max_w: float
    discharge_from_h: float = 17.0  # JST hours of the evening discharge window [from, until)
    discharge_until_h: float = 21.0
    soc_wh: float = 0.0

    def __post_init__(self) -> None:
        if self.capacity_wh <= 0 or self.max_w <= 0:
            raise ValueError("a battery needs a positive capacity and power")
        if not 0 <= self.discharge_from_h < self.discharge_until_h <= 24:
            raise ValueError("the discharge window must lie within one JST day")
        self.soc_wh = min(max(0.0, self.soc_wh), self.capacity_wh)

    def discharging(self, t: datetime) -> bool:
        local = t.astimezone(JST)
        h = local.hour + local.minute / 60 + local.second / 3600
        return self.discharge_from_h <= h < self.discharge_until_h

    def step(self, t: datetime, surplus_w: float, seconds: float) -> float:
        """The battery's power over one step of ``seconds`` around ``t``, given the home's PV
        surplus (PV − load, W; negative when the home draws from the grid): positive when it
        discharges, negative when it charges. Updates the state of charge."""
        if seconds <= 0:
            return 0.0
        if self.discharging(t):
            w = min(self.max_w, self.soc_wh * 3600 / seconds)
        elif surplus_w > 0:
            w = -min(surplus_w, self.max_w, (self.capacity_wh - self.soc_wh) * 3600 / seconds)
        else:
            w = 0.0
        self.soc_wh = min(self.capacity_wh, max(0.0, self.soc_wh - w * seconds / 3600))
        return w


__all__ = ["HomeBattery"]
