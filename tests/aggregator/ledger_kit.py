"""What the aggregator's tests build on: a device that signs readings like an agent, its
enrolment, and fresh stores of either backend with raw SQL behind the store's back (the fixtures
in conftest.py hand these out)."""

from __future__ import annotations

import hashlib
import sqlite3
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.ledger import Ledger
from aggregator.registry import build_enrolment, enrol
from aggregator.store import LedgerStore, StoreUrl, open_store
from aggregator.store.postgres import PostgresStore
from aggregator.store.sqlite import SqliteStore
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import device_id_of, public_key_raw
from eco_protocol.records import GENESIS_PREV, MeterSpec, Quantity
from eco_protocol.signing import sign_record
from tests.support.postgres_kit import PostgresServer

ORIGIN = "eco-ledger.test.example"
# what the methodology needs to know about a PV household (eco-aggregator enrol flags)
PV_TERMS = ("--installed", "2026-04-01", "--fit-status", "post_fit", "--no-battery")
T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
# the enrolment attributes of a PV home installed within the programme's window
PV_FIT = {"installed": "2026-04-01", "status": "post_fit", "battery": False}


@dataclass
class Device:
    """A device key with its own seq/prev chain, producing signed readings like an agent."""

    key: Ed25519PrivateKey = field(default_factory=Ed25519PrivateKey.generate)
    seq: int = 0
    prev: str = GENESIS_PREV
    # each meter's cumulative register, continuing from reading to reading as a real one does
    registers: dict[str, int] = field(default_factory=dict)

    @property
    def register(self) -> int:
        """The PV meter's register now (what its next reading starts from)."""
        return self.registers.get("pv1", 1_000_000)

    @property
    def device_id(self) -> str:
        return device_id_of(public_key_raw(self.key))

    @property
    def topic(self) -> str:
        return f"eco/v1/{self.device_id}/readings"

    def reading(self, energy: int = 500, **override: Any) -> dict[str, Any]:
        self.seq += 1
        meter = str(override.get("meter", "pv1"))
        register = self.registers.get(meter, 1_000_000)
        start = T0 + timedelta(minutes=30 * (self.seq - 1))
        rec: dict[str, Any] = {
            "type": "eco.reading/v1", "device_id": self.device_id, "seq": self.seq,
            "prev": self.prev, "meter": "pv1", "quantity": "pv_generation",
            "start": format_time(start), "end": format_time(start + timedelta(minutes=30)),
            "register_start_wh": register, "register_end_wh": register + energy,
            "energy_wh": energy, "flags": [],
            "source": {"protocol": "sunspec-modbus", "meter_serial": "SN1",
                       "meter_model": "SIM"},
            "co2_g_estimate": energy * 423 // 1000,
        }
        rec.update(override)
        signed = sign_record(rec, self.key)
        self.registers[meter] = int(rec["register_end_wh"])
        self.prev = hashlib.sha256(canonical_bytes(signed)).hexdigest()
        return signed


def enrol_device(ledger: Ledger, device: Device, rated_w: int = 4500) -> int:
    e = build_enrolment(public_key_raw(device.key), "hh-test", "prog-1",
                        [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", rated_w)],
                        dict(PV_FIT), format_time(T0))
    index, _ = enrol(ledger, e)
    return index


SCHEMA_TEMPLATE = "eco_schema_only"  # per server: a database holding only the store's schema
_TEMPLATED: set[str] = set()  # the servers (their directories) that have it


def _schema_template(server: PostgresServer) -> str:
    if str(server.base_dir) not in _TEMPLATED:
        open_store(server.create_database(SCHEMA_TEMPLATE)).close()
        _TEMPLATED.add(str(server.base_dir))
    return SCHEMA_TEMPLATE


class StoreBackend:
    """Fresh stores of one backend for a test, and raw SQL on them (to tamper, to copy rows)
    without the test knowing which backend it runs on."""

    def __init__(self, name: str, tmp_path: Path, server: PostgresServer | None) -> None:
        self.name = name
        self.tmp_path = tmp_path
        self.server = server
        self._databases: list[str] = []

    def new_url(self) -> str:
        """The URL of a new, empty store. On PostgreSQL a copy of a database holding only the
        store's schema, made once per server (what opening a fresh database leaves behind):
        68 ms a store instead of 167 with the schema's DDL, for a few hundred stores a run."""
        if self.server is None:
            return StoreUrl.sqlite(self.tmp_path / f"{uuid.uuid4().hex[:8]}.sqlite3").url
        name = f"s{uuid.uuid4().hex[:12]}"
        self._databases.append(name)
        return self.server.create_database(name, template=_schema_template(self.server))

    def open(self, url: str | None = None) -> LedgerStore:
        return open_store(url or self.new_url())

    def copy(self, url: str) -> str:
        """A backup of a store nobody has open: SQLite's online backup, or a PostgreSQL
        database created with the store's database as its template."""
        if self.server is None:
            src_path = StoreUrl.parse(url).sqlite_path
            assert src_path is not None
            dst_url = self.new_url()
            dst_path = StoreUrl.parse(dst_url).sqlite_path
            src, dst = sqlite3.connect(src_path), sqlite3.connect(dst_path)  # type: ignore[arg-type]
            src.backup(dst)
            src.close()
            dst.close()
            return dst_url
        source = url.split("@/", 1)[1].split("?", 1)[0]
        name = f"s{uuid.uuid4().hex[:12]}"
        self._databases.append(name)
        return self.server.create_database(name, template=source)

    def execute(self, target: str | LedgerStore, query: str,
                params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
        """Run raw SQL (``?`` placeholders) on a store or a store URL, in its own committed
        transaction, behind the store's back."""
        url = store_url(target) if not isinstance(target, str) else target
        if self.server is None:
            path = StoreUrl.parse(url).sqlite_path
            assert path is not None
            db = sqlite3.connect(path)
            try:
                rows = db.execute(query, tuple(params)).fetchall()
                db.commit()
            finally:
                db.close()
            return rows
        import psycopg

        with psycopg.connect(url, autocommit=True) as pg:
            cur = pg.execute(query.replace("?", "%s"), tuple(params))
            return cur.fetchall() if cur.description is not None else []

    def cleanup(self) -> None:
        if self.server is not None:
            for name in self._databases:
                self.server.drop_database(name)


def store_url(store: LedgerStore) -> str:
    if isinstance(store, SqliteStore):
        return StoreUrl.sqlite(store.path).url
    if isinstance(store, PostgresStore):
        return store.url
    raise TypeError(f"unknown store {store!r}")
