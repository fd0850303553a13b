"""Shared fixtures: a real Mosquitto broker on a free loopback port, per test session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.mosquitto import Mosquitto


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    """A real mosquitto process; tests use ``broker.port``. Stopped at session end."""
    with Mosquitto(tmp_path_factory.mktemp("mosquitto")) as b:
        yield b


@pytest.fixture
def fresh_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """A broker of the test's own, for tests that restart or stop it."""
    with Mosquitto(tmp_path / "mosquitto") as b:
        yield b
