"""Shared fixtures: a real Mosquitto broker on a free loopback port, per test session; a real
PostgreSQL server (Debian's binaries, a throwaway cluster on a private Unix socket), per test
session, with a fresh database per test."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from aggregator.errors import EnvironmentProblem
from aggregator.mosquitto import Mosquitto
from tests.support.pgserver import PostgresServer


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


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server, started once per session on first use and stopped (process and
    files) at session end. Missing binaries fail the test rather than skip it: 'make test'
    installs them, so their absence is a broken set-up."""
    try:
        server = PostgresServer().start()
    except EnvironmentProblem as e:
        pytest.fail(f"cannot start PostgreSQL for the tests: {e}", pytrace=False)
    try:
        yield server
    finally:
        server.stop()


_db_numbers = itertools.count()


@pytest.fixture
def postgres_db(postgres: PostgresServer) -> Iterator[str]:
    """The URL of an empty database of the test's own, dropped afterwards."""
    name = f"t{next(_db_numbers)}"
    url = postgres.create_database(name)
    yield url
    postgres.drop_database(name)
