"""Synthetic devices and their signed readings, made fast enough for a benchmark.

Keys are derived from (seed, device number), so every run signs the same town. Readings look like
an agent's: one PV meter per device (two for the report benchmark, which needs export), 30-minute
intervals ending before "now" (the aggregator refuses intervals from the future), a seq/prev chain
per device. Generating hundreds of thousands of signatures is the slow part of preparing the
backlog benchmark, so it runs in a process pool; nothing generated here is timed.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from aggregator.ledger import Ledger
from aggregator.registry import build_enrolment
from aggregator.store.interface import DeviceRow
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import b64decode, b64encode, format_time
from eco_protocol.keys import device_id_of, public_key_raw
from eco_protocol.records import GENESIS_PREV, MeterSpec, Quantity
from eco_protocol.signing import SIG, entry_hash, sign_record, signing_bytes
from eco_protocol.topics import readings_topic

INTERVAL = timedelta(minutes=30)
RATED_W = 6000
FIT = {"installed": "2020-04-01", "status": "post_fit", "battery": False}
PROGRAMME = "bench-prog"


def _jcs(obj: dict[str, Any]) -> bytes:
    """RFC 8785 bytes of a reading we built ourselves: only ASCII keys, strings and integers
    within ±(2^53−1), for which sorted compact ``json.dumps`` is byte-identical to RFC 8785 (the
    generator checks that against :func:`canonical_bytes` once per device)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def device_key(seed: int, number: int) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(
        hashlib.sha256(f"eco-bench/{seed}/{number}".encode()).digest())


def aligned_start(now: datetime, intervals: int) -> datetime:
    """The start of the first of ``intervals`` consecutive intervals that end at or before now."""
    end = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    return end - intervals * INTERVAL


@dataclass(frozen=True)
class DeviceBatch:
    """One device's readings, already cut into readings messages (canonical JSON arrays)."""

    number: int
    device_id: str
    public_raw: bytes
    messages: tuple[bytes, ...]
    readings: int

    @property
    def topic(self) -> str:
        return readings_topic(self.device_id)


def make_device(seed: int, number: int, intervals: int, start: datetime, per_message: int,
                meters: int = 1) -> DeviceBatch:
    """Sign ``intervals`` readings per meter for device ``number``, in messages of at most
    ``per_message`` readings."""
    key = device_key(seed, number)
    public = public_key_raw(key)
    device_id = device_id_of(public)
    prev, seq, register = GENESIS_PREV, 0, [1_000_000 + 7919 * number] * meters
    out: list[dict[str, Any]] = []
    for k in range(intervals):
        a = start + k * INTERVAL
        for m in range(meters):
            seq += 1
            energy = 200 + (37 * (k + number) + 11 * m) % 1300
            if m == 1:
                energy //= 3
            rec: dict[str, Any] = {
                "type": "eco.reading/v1", "device_id": device_id, "seq": seq, "prev": prev,
                "meter": "pv1" if m == 0 else "exp1",
                "quantity": "pv_generation" if m == 0 else "grid_export",
                "start": format_time(a), "end": format_time(a + INTERVAL),
                "register_start_wh": register[m], "register_end_wh": register[m] + energy,
                "energy_wh": energy, "flags": [],
                "source": {"protocol": "sunspec-modbus", "meter_serial": f"SN{number}",
                           "meter_model": "BENCH"},
                "co2_g_estimate": energy * 434 // 1000,
            }
            rec[SIG] = b64encode(key.sign(_jcs(rec)))
            entry = _jcs(rec)
            if seq == 1:
                assert entry == canonical_bytes(rec)
                assert _jcs({k: v for k, v in rec.items() if k != SIG}) == signing_bytes(rec)
            register[m] += energy
            prev = entry_hash(entry)
            out.append(rec)
    messages = tuple(_jcs_list(out[i:i + per_message]) for i in range(0, len(out), per_message))
    return DeviceBatch(number, device_id, public, messages, len(out))


def _jcs_list(items: list[dict[str, Any]]) -> bytes:
    return json.dumps(items, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _chunk(args: tuple[int, Sequence[int], int, datetime, int, int]) -> list[DeviceBatch]:
    seed, numbers, intervals, start, per_message, meters = args
    return [make_device(seed, n, intervals, start, per_message, meters) for n in numbers]


def make_town(devices: int, intervals: int, *, seed: int = 1, per_message: int = 64,
              meters: int = 1, now: datetime | None = None,
              first: int = 0) -> list[DeviceBatch]:
    """``devices`` devices with ``intervals`` readings per meter each, generated on every core."""
    start = aligned_start(now or datetime.now(UTC), intervals)
    numbers = list(range(first, first + devices))
    cores = os.cpu_count() or 1
    if devices < 50 or cores == 1:
        return _chunk((seed, numbers, intervals, start, per_message, meters))
    step = max(1, len(numbers) // (cores * 4))
    jobs = [(seed, numbers[i:i + step], intervals, start, per_message, meters)
            for i in range(0, len(numbers), step)]
    with ProcessPoolExecutor(cores) as pool:
        return [d for chunk in pool.map(_chunk, jobs) for d in chunk]


def enrol_town(ledger: Ledger, town: Sequence[DeviceBatch], *, meters: int = 1,
               programme: str = PROGRAMME, chunk: int = 2000) -> None:
    """Enrol every device the way ``eco-aggregator enrol`` does (a log-key-signed eco.enrol/v1
    entry and a device row), but many per transaction and with one checkpoint at the end."""
    specs = [MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", RATED_W)]
    if meters > 1:
        specs.append(MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", RATED_W))
    at = format_time(datetime.now(UTC).replace(microsecond=0) - timedelta(days=30))
    store = ledger.store
    for i in range(0, len(town), chunk):
        with store.transaction():
            for d in town[i:i + chunk]:
                e = build_enrolment(d.public_raw, f"hh-bench-{d.number}", programme, specs, FIT, at)
                entry = canonical_bytes(sign_record(e.to_dict(), ledger.signer.private_key))
                (index,) = ledger.append([entry])
                store.put_device(DeviceRow(d.device_id, index, entry, 1, GENESIS_PREV))
    ledger.checkpoint_now()


def verify_samples(town: Sequence[DeviceBatch], limit: int
                   ) -> list[tuple[Ed25519PublicKey, bytes, bytes]]:
    """(public key, signature, signed bytes) for up to ``limit`` readings of the town: the
    reference workload of bare ``Ed25519PublicKey.verify`` calls, on the very messages sent."""
    out: list[tuple[Ed25519PublicKey, bytes, bytes]] = []
    per_device = max(1, limit // max(1, len(town)))
    for d in town:
        pub = Ed25519PublicKey.from_public_bytes(d.public_raw)
        taken = 0
        for msg in d.messages:
            for rec in json.loads(msg):
                if taken >= per_device or len(out) >= limit:
                    break
                out.append((pub, b64decode(rec[SIG], "sig"), signing_bytes(rec)))
                taken += 1
        if len(out) >= limit:
            break
    return out


def all_messages(town: Sequence[DeviceBatch]) -> Iterator[tuple[str, bytes]]:
    for d in town:
        for m in d.messages:
            yield d.topic, m
