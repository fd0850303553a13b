"""Fixtures shared by the SunSpec reader tests: simulated inverters on real ptys, and readers,
each stopped or closed after the test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from agent.clock import Clock, ManualClock
from agent.meters.sunspec import SunSpecModbusMeter
from firmware_sim.inverter import PtyInverter
from tests.agent.sunspec_kit import NOON


@pytest.fixture
def make_inverter() -> Iterator[Callable[..., PtyInverter]]:
    started: list[PtyInverter] = []

    def make(clock: Clock | None = None, **kwargs: Any) -> PtyInverter:
        kwargs.setdefault("serial", "SN-4500-7")
        kwargs.setdefault("initial_wh", 1_000_000)
        inv = PtyInverter(4500, 7, clock or ManualClock(NOON), **kwargs).start()
        started.append(inv)
        return inv

    yield make
    for inv in started:
        inv.stop()


@pytest.fixture
def meters() -> Iterator[Callable[..., SunSpecModbusMeter]]:
    opened: list[SunSpecModbusMeter] = []

    def make(port: str, **kwargs: Any) -> SunSpecModbusMeter:
        kwargs.setdefault("timeout_s", 0.15)
        m = SunSpecModbusMeter("roof-pv", port, **kwargs)
        opened.append(m)
        return m

    yield make
    for m in opened:
        m.close()
