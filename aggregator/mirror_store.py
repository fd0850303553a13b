"""Where a mirror keeps another member's log: a ledger store per member, and its fork alarm.

``STATE/<member>/ledger.sqlite3`` is an ordinary :class:`~aggregator.store.SqliteStore` (same
schema as the member's own ledger), holding only what the mirror verified: the entries, the tree's
node hashes, the member's signed checkpoints and the witness lines that verified under the
consortium's keys. So the mirror serves the very read API the member serves
(:class:`aggregator.http_api.ApiServer` over this store, unchanged), and every tool that reads a
ledger store reads a mirror too.

Crash safety comes from the store: one advance — the new entries, their nodes, reading and
key-change indexes, the checkpoint row — is one SQLite transaction (WAL, ``synchronous=FULL``),
committed only after the tree's root recomputed from the stored nodes equals the signed
checkpoint's. A power cut mid-fetch loses nothing committed and leaves nothing half-written:
what is in the store is exactly a tree some signed checkpoint commits to.

``STATE/<member>/FORK.json`` is the alarm: both signed checkpoints that cannot both hold, with the
proof. Written atomically once and never overwritten or removed by the mirror; while it exists
the mirror refuses that member on every run (an operator who has settled the matter with the
consortium moves it away by hand).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.errors import MalformedRecord
from eco_protocol.keyfile import atomic_write
from eco_protocol.merkle import leaf_hash, node_hash, root_hash
from eco_protocol.messages import msg
from eco_protocol.note import Checkpoint
from eco_protocol.os_messages import os_reason
from eco_protocol.signing import entry_hash

from .errors import EnvironmentProblem, Rejected, StoreCorrupt
from .ledger import KEY_CHANGES_META, key_change_indexes
from .store import CheckpointRow, LedgerStore, ReadingRow, SqliteStore
from .witness import Misbehaviour, checkpoint_body

ALARM_TYPE = "eco.mirror-fork/v1"
DB_NAME = "ledger.sqlite3"
ALARM_NAME = "FORK.json"
READING_TYPE = "eco.reading/v1"
LOGKEY_TYPE = "eco.logkey/v1"


@dataclass(frozen=True, slots=True)
class ForkAlarm:
    """A member's log signed two checkpoints that cannot both hold (the evidence)."""

    member: str
    origin: str
    evidence: Misbehaviour

    def to_json(self) -> bytes:
        return (json.dumps({"type": ALARM_TYPE, "member": self.member, "origin": self.origin,
                            **self.evidence.to_dict()}, indent=2, ensure_ascii=False)
                + "\n").encode("utf-8")

    @classmethod
    def from_json(cls, data: bytes, where: str) -> ForkAlarm:
        try:
            d = json.loads(data)
            if not isinstance(d, dict) or d.get("type") != ALARM_TYPE:
                raise ValueError(f"not a {ALARM_TYPE} document")
            return cls(str(d["member"]), str(d["origin"]), Misbehaviour.from_dict(d))
        except (ValueError, KeyError, TypeError, UnicodeDecodeError) as e:
            raise EnvironmentProblem(msg("aggregator.mirror.alarm_damaged", path=where,
                                         error=str(e))) from e


class MemberMirror:
    """One member's directory under the mirror's state directory."""

    def __init__(self, state_dir: Path, member: str) -> None:
        if not member or "/" in member or member.startswith("."):
            raise EnvironmentProblem(msg("aggregator.mirror.member_name", name=member))
        self.member = member
        self.dir = state_dir / member
        self.db_path = self.dir / DB_NAME
        self.alarm_path = self.dir / ALARM_NAME

    def open(self, check_integrity: bool = True) -> LedgerStore:
        return SqliteStore(self.db_path, check_integrity=check_integrity)

    def alarm(self) -> ForkAlarm | None:
        try:
            data = self.alarm_path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as e:
            raise EnvironmentProblem(msg("aggregator.mirror.alarm_unreadable",
                                         path=self.alarm_path, reason=os_reason(e))) from e
        return ForkAlarm.from_json(data, str(self.alarm_path))

    def raise_alarm(self, alarm: ForkAlarm) -> None:
        """Record the fork, unless one is recorded already (the first evidence is kept)."""
        if self.alarm_path.exists():
            return
        try:
            atomic_write(self.alarm_path, alarm.to_json(), 0o644)
        except OSError as e:
            raise EnvironmentProblem(msg("aggregator.mirror.alarm_unwritable",
                                         path=self.alarm_path, reason=os_reason(e))) from e


def trusted_checkpoint(store: LedgerStore) -> tuple[CheckpointRow, Checkpoint] | None:
    """The last checkpoint the mirror verified, checked against the stored tree's size."""
    row = store.latest_checkpoint()
    if row is None:
        return None
    size = store.size()
    if size != row.size:
        raise StoreCorrupt(msg("aggregator.mirror.altered", size=size, checkpoint=row.size))
    return row, Checkpoint.from_text(checkpoint_body(row.note))


@dataclass(frozen=True, slots=True)
class Advance:
    """What one verified round adds: the log-signed note (log lines only), its checkpoint, the
    entries after the trusted size, the consistency proof, and the verified witness lines."""

    note: str
    checkpoint: Checkpoint
    entries: Sequence[bytes]
    proof: tuple[bytes, ...]
    cosignatures: Sequence[tuple[str, str]]  # (witness name, line)
    seen_at: str
    log_vkey: str


def store_advance(store: LedgerStore, adv: Advance) -> None:
    """Append the entries and the checkpoint in one transaction, after proving the stored tree
    has the checkpoint's root (so the entries are exactly the log's)."""
    cp = adv.checkpoint
    with store.transaction():
        first = store.size()
        if first + len(adv.entries) != cp.size:
            raise Rejected(msg("aggregator.mirror.count", origin=cp.origin, n=len(adv.entries),
                               first=first, size=cp.size))
        _append(store, first, adv.entries)
        if root_hash(cp.size, store.node) != cp.root_hash:
            raise Rejected(msg("aggregator.mirror.root", origin=cp.origin, size=cp.size))
        if first != cp.size or store.latest_checkpoint() is None:  # else: cosignatures only
            store.add_checkpoint(_row(adv))
        store.set_meta("log_vkey", adv.log_vkey)
        for name, line in adv.cosignatures:
            store.add_cosignature(cp.size, name, line)


def _row(adv: Advance) -> CheckpointRow:
    return CheckpointRow(adv.checkpoint.size, adv.checkpoint.root_hash, adv.note, adv.proof,
                         adv.seen_at)


def _append(store: LedgerStore, first: int, entries: Sequence[bytes]) -> None:
    """The entries, their RFC 6962 subtree hashes (as :meth:`aggregator.ledger.Ledger.append`
    stores them: a node once its right child closes), reading and key-change indexes."""
    made: dict[tuple[int, int], bytes] = {}
    rows: list[tuple[int, str, bytes, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    readings: list[ReadingRow] = []
    key_changes = key_change_indexes(store)
    seen: set[tuple[str, int]] = set()
    for index, data in enumerate(entries, first):
        kind, record = _typed(index, data)
        leaf = leaf_hash(data)
        rows.append((index, kind, data, leaf))
        made[(0, index)] = leaf
        level, i, h = 0, index, leaf
        while i & 1:
            left = made.get((level, i - 1))
            h = node_hash(store.node(level, i - 1) if left is None else left, h)
            level += 1
            i >>= 1
            nodes.append((level, i, h))
            made[(level, i)] = h
        reading = _reading_key(kind, record)
        if reading is not None and reading not in seen and store.reading(*reading) is None:
            # the first entry for a (device, seq) is the one a proof by device and seq names,
            # as on the member's own store; a repeat (a log's bug) must not stop the mirror
            seen.add(reading)
            readings.append(ReadingRow(*reading, index, entry_hash(data)))
        elif kind == LOGKEY_TYPE:
            key_changes.append(index)
    store.append_entries(rows)
    store.put_nodes(nodes)
    store.put_readings(readings)
    if key_changes:
        store.set_meta(KEY_CHANGES_META, json.dumps(key_changes))


def _reading_key(kind: str, record: dict[str, Any]) -> tuple[str, int] | None:
    device_id, seq = record.get("device_id"), record.get("seq")
    if kind != READING_TYPE or not isinstance(device_id, str) or not isinstance(seq, int) \
            or isinstance(seq, bool):
        return None
    return device_id, seq


def _typed(index: int, data: bytes) -> tuple[str, dict[str, Any]]:
    try:
        record = parse_json(data)
    except MalformedRecord as e:
        raise Rejected(msg("aggregator.mirror.not_canonical", index=index, error=e)) from e
    kind = record.get("type") if isinstance(record, dict) else None
    if not isinstance(record, dict) or not isinstance(kind, str):
        raise Rejected(msg("aggregator.mirror.no_type", index=index))
    return kind, record


__all__ = ["Advance", "ForkAlarm", "MemberMirror", "store_advance", "trusted_checkpoint"]
