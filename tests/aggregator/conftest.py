"""A ledger on each store backend (a temp SQLite file; a fresh database on the session's real
PostgreSQL server), an enrolled device, and a signer of that device's readings. What they are
made of lives in ledger_kit.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.ledger import Ledger
from eco_protocol.note import NoteSigner
from tests.aggregator.ledger_kit import ORIGIN, Device, StoreBackend, enrol_device


@pytest.fixture
def log_signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture(params=["sqlite", "postgresql"])
def store_backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[StoreBackend]:
    """Every store-level test runs against both backends; PostgreSQL is the real server."""
    server = request.getfixturevalue("postgres") if request.param == "postgresql" else None
    backend = StoreBackend(request.param, tmp_path, server)
    yield backend
    backend.cleanup()


@pytest.fixture
def ledger(store_backend: StoreBackend, log_signer: NoteSigner) -> Iterator[Ledger]:
    store = store_backend.open()
    yield Ledger(store, log_signer)
    store.close()


@pytest.fixture
def device(ledger: Ledger) -> Device:
    d = Device()
    enrol_device(ledger, d)
    return d
