"""A ledger in a temp SQLite file, an enrolled device, and a signer of that device's readings."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.ledger import Ledger
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import device_id_of, public_key_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import GENESIS_PREV, MeterSpec, Quantity
from eco_protocol.signing import sign_record

ORIGIN = "eco-ledger.test.example"
T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)


@dataclass
class Device:
    """A device key with its own seq/prev chain, producing signed readings like an agent."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0
    prev: str = GENESIS_PREV
    register: int = 1_000_000

    @property
    def device_id(self) -> str:
        return device_id_of(public_key_raw(self.key))

    @property
    def topic(self) -> str:
        return f"eco/v1/{self.device_id}/readings"

    def reading(self, energy: int = 500, **override: Any) -> dict[str, Any]:
        self.seq += 1
        start = T0 + timedelta(minutes=30 * (self.seq - 1))
        rec: dict[str, Any] = {
            "type": "eco.reading/v1", "device_id": self.device_id, "seq": self.seq,
            "prev": self.prev, "meter": "pv1", "quantity": "pv_generation",
            "start": format_time(start), "end": format_time(start + timedelta(minutes=30)),
            "register_start_wh": self.register, "register_end_wh": self.register + energy,
            "energy_wh": energy, "flags": [],
            "source": {"protocol": "sunspec-modbus", "meter_serial": "SN1",
                       "meter_model": "SIM"},
            "co2_g_estimate": energy * 423 // 1000,
        }
        rec.update(override)
        signed = sign_record(rec, self.key)
        self.register += energy
        self.prev = hashlib.sha256(canonical_bytes(signed)).hexdigest()
        return signed


def enrol_device(ledger: Ledger, device: Device, rated_w: int = 4500) -> int:
    e = build_enrolment(public_key_raw(device.key), "hh-test", "prog-1",
                        [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", rated_w)],
                        {}, format_time(T0))
    index, _ = enrol(ledger, e)
    return index


@pytest.fixture
def log_signer() -> NoteSigner:
    return NoteSigner(ORIGIN, Ed25519PrivateKey.generate())


@pytest.fixture
def ledger(tmp_path: Path, log_signer: NoteSigner) -> Iterator[Ledger]:
    store = SqliteStore(tmp_path / "ledger.sqlite3")
    yield Ledger(store, log_signer)
    store.close()


@pytest.fixture
def device(ledger: Ledger) -> Device:
    d = Device()
    enrol_device(ledger, d)
    return d
