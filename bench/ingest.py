"""Ingest through the real path, and the backlog after an outage.

Path measured: device-side publisher → Mosquitto → ``eco-aggregator serve`` (shared subscription,
manual ack) → parse, checks, signature → one transaction per group appending to the stored tree
(SQLite ``synchronous=FULL`` or PostgreSQL ``synchronous_commit=on``) → commit → signed receipt
published → received by the device-side subscriber. The rate is readings per second between the
receipt that ends the first tenth of the run (pipeline filling) and the last receipt.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aggregator.mosquitto import Mosquitto
from aggregator.store.url import Backend, StoreUrl

from .harness import AggregatorDir, Receipts, broker_drops, probe, publish
from .machine import Reference, bracketed
from .town import DeviceBatch, aligned_start, all_messages, enrol_town, make_device


@dataclass(frozen=True)
class IngestResult:
    rate: float  # readings/s: all readings ÷ (last receipt − first publish)
    bare: Reference  # bare verifications/s measured around it
    worker_cpu_s: float  # CPU time the serve processes spent on the burst
    readings: int
    messages: int
    seconds: float  # first publish to last receipt
    bytes_per_reading: float
    workers: int


def store_bytes(agg: AggregatorDir) -> int:
    """Bytes the store occupies: the SQLite file with its WAL folded in, or the database."""
    url = StoreUrl.parse(agg.store_url, agg.state)
    if url.backend is Backend.SQLITE:
        assert url.sqlite_path is not None
        db = sqlite3.connect(url.sqlite_path)
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        wal = url.sqlite_path.with_name(url.sqlite_path.name + "-wal")
        return url.sqlite_path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)
    import psycopg

    with psycopg.connect(url.url, autocommit=True) as pg:
        row = pg.execute("SELECT pg_database_size(current_database())").fetchone()
        assert row is not None
        return int(row[0])


def probe_payload() -> tuple[str, bytes]:
    """A message from a device nobody enrolled: answered 'unknown_device', appends nothing."""
    stranger = make_device(seed=999, number=0, intervals=1,
                           start=aligned_start(datetime.now(UTC), 1), per_message=64)
    return stranger.device_id, stranger.messages[0]


def ingest(tmp: Path, broker: Mosquitto, town: Sequence[DeviceBatch],
           samples: Sequence[tuple[Ed25519PublicKey, bytes, bytes]], *, name: str,
           workers: int = 1, store_url: str = "sqlite:///ledger.sqlite3",
           group_max: int | None = None) -> IngestResult:
    """Enrol the town, start ``workers`` serve processes, publish every message at once and
    time the receipts."""
    agg = AggregatorDir(tmp / name, name, broker.url, store_url, group_max).init()
    ledger = agg.ledger()
    enrol_town(ledger, town)
    ledger.store.close()
    receipts = Receipts(broker.port, f"bench-rx-{name}")
    ws = agg.start_workers(workers)
    try:
        ws.wait_connected()
        probe(broker.port, receipts, *probe_payload())
        size_before = store_bytes(agg)
        receipts.reset()
        messages = list(all_messages(town))
        total = sum(d.readings for d in town)

        def work() -> tuple[float, float]:
            cpu0 = ws.cpu_seconds()
            t0 = time.monotonic()
            publish(broker.port, messages, f"bench-tx-{name}")
            if not receipts.wait_for(len(messages), timeout=3600):
                raise RuntimeError(f"{name}: {receipts.count} of {len(messages)} receipts")
            return receipts.times[-1] - t0, ws.cpu_seconds() - cpu0

        (seconds, cpu), bare = bracketed(samples, work)
        if receipts.accepted != total:
            raise RuntimeError(f"{name}: {receipts.accepted} of {total} readings accepted; "
                               f"other answers: {receipts.other}")
        rate = total / seconds
        ws.stop()
        grown = store_bytes(agg) - size_before
    finally:
        ws.kill()
        receipts.close()
    return IngestResult(rate, bare, cpu, total, len(messages), seconds, grown / total, workers)


@dataclass(frozen=True)
class BacklogResult:
    seconds: float  # worker start to the last receipt
    readings: int
    devices: int
    messages: int
    accepted: int
    ledger_readings: int
    bytes_per_reading: float  # store growth ÷ readings: entries, Merkle interior nodes, indexes
    workers: int = 1
    store_bytes: int = 0  # the whole store afterwards (enrolments included)
    publish_seconds: float = 0.0  # queuing the backlog in the broker (not in ``seconds``)
    worker_cpu_s: float = 0.0  # CPU time of the workers over the drain: moves less with load


BACKLOG_IDLE_S = 600.0  # no receipt for this long while messages are due: they are lost


class BacklogLost(RuntimeError):
    """The broker dropped part of the backlog (its queue limit): the run must not count it."""


def _check_queued(broker_log: Path, drops_before: int, sent: int, count: int) -> None:
    """Every message published, and the broker's log names no drop since ``drops_before``."""
    drops = broker_drops(broker_log)[drops_before:]
    if sent != count or drops:
        raise BacklogLost(f"backlog: {sent} of {count} messages published; the broker dropped "
                          f"some ({'; '.join(drops) or 'no drop notice'}): raise "
                          f"max_queued_messages or add workers (each session queues its share)")


def backlog(tmp: Path, broker: Mosquitto, town: Sequence[DeviceBatch], *,
            name: str = "backlog", workers: int = 1,
            store_url: str = "sqlite:///ledger.sqlite3") -> BacklogResult:
    """A day's readings of every device, published while the aggregator is down; then start it
    and time until the last receipt. Nothing may be lost: every reading must come back
    accepted and be in the ledger.

    With ``workers`` > 1 every worker's persistent session joins the shared subscription before
    the outage, so the broker queues the backlog across all of them (Mosquitto hands a shared
    subscription's messages round-robin to its members, connected or not) and each session's
    queue holds about 1/``workers`` of it (``max_queued_messages`` is per session)."""
    agg = AggregatorDir(tmp / name, name, broker.url, store_url).init()
    ledger = agg.ledger()
    enrol_town(ledger, town)
    enrolled = ledger.size()
    ledger.store.close()
    receipts = Receipts(broker.port, f"bench-rx-{name}")
    try:
        first = agg.start_workers(workers)
        try:
            first.wait_connected()
            probe(broker.port, receipts, *probe_payload())  # its persistent session subscribed
        finally:
            first.stop()
        size_before = store_bytes(agg)
        receipts.reset()
        count = sum(len(d.messages) for d in town)
        total = sum(d.readings for d in town)
        broker_log = broker.state_dir / "mosquitto.log"
        drops_before = len(broker_drops(broker_log))
        queued = time.monotonic()
        sent = publish(broker.port, all_messages(town), f"bench-tx-{name}",  # queued for us
                       timeout=600)
        publish_seconds = time.monotonic() - queued
        _check_queued(broker_log, drops_before, sent, count)
        started = time.monotonic()
        ws = agg.start_workers(workers)
        try:
            if not receipts.wait_for(count, timeout=7200, idle=BACKLOG_IDLE_S):
                _check_queued(broker_log, drops_before, sent, count)
                raise RuntimeError(f"backlog: only {receipts.count} of {count} receipts, none "
                                   f"for {BACKLOG_IDLE_S:.0f} s (the broker log names no drop)")
            seconds = receipts.times[-1] - started
            cpu = ws.cpu_seconds()
            ws.stop()
        finally:
            ws.kill()
        ledger = agg.ledger()
        in_ledger = ledger.size() - enrolled
        ledger.store.close()
        if receipts.accepted != total or in_ledger != total:
            raise RuntimeError(f"backlog: {receipts.accepted} accepted, {in_ledger} in the "
                               f"ledger, {total} sent; other answers: {receipts.other}")
        size_after = store_bytes(agg)
    finally:
        receipts.close()
    return BacklogResult(seconds, total, len(town), count, receipts.accepted, in_ledger,
                         (size_after - size_before) / total, workers, size_after,
                         publish_seconds, cpu)
