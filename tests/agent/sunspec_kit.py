"""Times shared by the SunSpec reader tests (the simulated PV model's noon and midnight)."""

from __future__ import annotations

from datetime import datetime

from firmware_sim.solar import JST

NOON = datetime(2024, 5, 14, 12, 0, tzinfo=JST)
MIDNIGHT = datetime(2024, 5, 14, 0, 0, tzinfo=JST)
