"""Test data for the resident's page (issue 17): a household whose roof produced for two weeks
with a day's curve and some cloudy days, so its daily chart, next reward and redemption history
look like a real household's."""

from __future__ import annotations

import math
from datetime import timedelta

from aggregator.intake import Intake
from aggregator.programme import load_programme
from aggregator.redemption import redeem
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.methodology import JST
from tests.aggregator.ledger_kit import T0
from tests.webui.webui_kit import UiWorld

CLOUDS = (1.0, 0.9, 0.35, 1.0, 0.8, 0.2, 0.95, 1.0, 0.6, 0.85, 1.0, 0.4, 0.9, 1.0)


def pv_wh(k: int, peak: int) -> int:
    """Half hour ``k`` from T0 on a day with ``CLOUDS[day]``: a sine from 06:00 to 18:00 JST."""
    start = T0 + timedelta(minutes=30 * k)
    local = start.astimezone(JST)
    hour = local.hour + local.minute / 60 + 0.25
    cloud = CLOUDS[(k // 48) % len(CLOUDS)]
    return int(peak * cloud * max(0.0, math.sin(math.pi * (hour - 6) / 12)))


def sunny_days(world: UiWorld, reference: str, days: int = 14, peak: int = 600) -> None:
    """``days`` days of half-hour readings of an enrolled PV household (zero export metered)."""
    d = world.devices[reference]
    with world.ledger() as ledger:
        intake = Intake(ledger, rate_limit=False)  # a test's burst, not a flood
        received = format_time(T0 + timedelta(days=days + 1))
        for k in range(days * 48):
            s = T0 + timedelta(minutes=30 * k)
            span = {"start": format_time(s), "end": format_time(s + timedelta(minutes=30))}
            pv = d.reading(energy=pv_wh(k, peak), **span)
            e3 = d.reading(energy=0, meter="e3", quantity="grid_export", **span)
            (o,) = intake.process([(d.topic, canonical_bytes([pv, e3]))],
                                  received)
            assert o.accepted == 2, (k, o)
        ledger.checkpoint_now()


def spend(world: UiWorld, reference: str, reward: str) -> int:
    """Redeem ``reward`` for the household as a shop would; the balance left."""
    programme = load_programme(world.state / "programme.toml")
    with world.ledger() as ledger:
        res = redeem(ledger, programme, world.pseudonym(reference), reward,
                     T0 + timedelta(days=20))
    return res.balance
