"""The durable outbox: signed readings until a verified receipt, and the sequence counter.

ARCHITECTURE.md "Storage" and PITFALLS.md §2: stdlib ``sqlite3`` in WAL mode with
``synchronous=FULL`` (a commit survives a power cut once ``commit`` returns), ``PRAGMA
integrity_check`` at open, and **one transaction per poll cycle**: :meth:`Outbox.commit_cycle`
assigns ``seq``/``prev``, signs, stores the readings *and* the meters' interval state atomically.
After a crash at any instant the outbox holds either all of a cycle or none of it, so the
sequence never skips, never goes backwards and the ``prev`` chain stays intact; the interval
state can never run ahead of (or behind) the readings it produced.

Rows are deleted only by :meth:`acknowledge` (a verified ``accepted``/``duplicate`` receipt item
naming the same ``reading_sha256``), never on a broker PUBACK. ``rejected`` readings are set aside
with the reason and never sent again unless asked for by seq.

All methods are thread-safe (one connection behind a lock): the poll job commits cycles from the
scheduler's thread while the main loop pumps the uplink.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from eco_protocol.canonical import canonical_bytes
from eco_protocol.errors import ProtocolError
from eco_protocol.records import GENESIS_PREV, Reading

from .errors import AgentError, StateCorrupt

SCHEMA_VERSION: Final = 1
PENDING: Final = "pending"
REJECTED: Final = "rejected"

SignFn = Callable[[Mapping[str, Any]], Mapping[str, Any]]

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS chain (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    next_seq INTEGER NOT NULL CHECK (next_seq >= 1),
    last_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meter_state (meter TEXT PRIMARY KEY, state TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS readings (
    seq INTEGER PRIMARY KEY,
    sha256 TEXT NOT NULL,
    body BLOB NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'rejected')),
    reason TEXT
);
CREATE INDEX IF NOT EXISTS readings_status ON readings (status, seq);
"""


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A signed reading as stored: ``body`` is its canonical bytes (RFC 8785, with ``sig``)."""

    seq: int
    sha256: str
    body: bytes
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    next_seq: int
    last_hash: str
    pending: int
    rejected: int


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    acknowledged: tuple[int, ...]
    set_aside: tuple[int, ...]
    mismatched: tuple[int, ...]  # seq unknown here or naming a different reading hash


def _corrupt(path: Path, what: str) -> StateCorrupt:
    return StateCorrupt(
        f"outbox {path} is damaged ({what}). Stop the agent and move the file (and its -wal/-shm "
        "files) aside, keeping a copy: it holds signed readings not yet receipted. A new outbox "
        "restarts the sequence at 1, so the operator must re-enrol this device afterwards.")


class Outbox:
    """The agent's outbox database. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, db: sqlite3.Connection, path: Path, device_id: str) -> None:
        self._db = db
        self.path = path
        self.device_id = device_id
        self._lock = threading.RLock()

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, device_id: str, *, readonly: bool = False) -> Outbox:
        """Open (creating if needed) and check the outbox; StateCorrupt if it fails the check."""
        try:
            if readonly:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False, timeout=10.0)
            else:
                path.parent.mkdir(parents=True, exist_ok=True)
                db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                     timeout=10.0)
        except sqlite3.Error as e:
            raise AgentError(f"cannot open outbox {path}: {e}") from e
        try:
            rows = db.execute("PRAGMA integrity_check").fetchall()
            if [tuple(r) for r in rows] != [("ok",)]:
                problems = "; ".join(str(r[0]) for r in rows[:5])
                db.close()
                raise _corrupt(path, f"integrity_check: {problems}")
            if not readonly:
                mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    db.close()
                    raise AgentError(f"outbox {path}: cannot switch to WAL mode (got {mode}); "
                                     "the state directory must be on a local filesystem")
                db.execute("PRAGMA synchronous=FULL")
                db.executescript(_SCHEMA)
        except sqlite3.DatabaseError as e:
            db.close()
            raise _corrupt(path, str(e)) from e
        box = cls(db, path, device_id)
        try:
            box._check_identity(readonly)
        except BaseException:
            db.close()
            raise
        return box

    def _check_identity(self, readonly: bool) -> None:
        with self._lock:
            try:
                row = self._db.execute("SELECT value FROM meta WHERE key='device_id'").fetchone()
                if row is None:
                    if readonly:
                        raise _corrupt(self.path, "no device id recorded")
                    with self._tx() as db:
                        db.execute("INSERT INTO meta VALUES ('device_id', ?)", (self.device_id,))
                        db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
                        db.execute("INSERT OR IGNORE INTO chain VALUES (1, 1, ?)", (GENESIS_PREV,))
                elif row[0] != self.device_id:
                    raise StateCorrupt(
                        f"outbox {self.path} belongs to device {row[0]}, but the key in the state "
                        f"directory is device {self.device_id}: the device key was replaced. "
                        "Restore the original device.key, or move the outbox aside (keep it) "
                        "and have the device re-enrolled.")
                chain = self._db.execute("SELECT next_seq, last_hash FROM chain").fetchone()
                top = self._db.execute("SELECT MAX(seq) FROM readings").fetchone()[0]
            except sqlite3.DatabaseError as e:
                raise _corrupt(self.path, str(e)) from e
            if chain is None:
                raise _corrupt(self.path, "the sequence counter is missing")
            if top is not None and top >= chain[0]:
                raise _corrupt(self.path, f"stored seq {top} is not below next seq {chain[0]}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- writing ---------------------------------------------------------------------------

    def commit_cycle(self, readings: Sequence[Mapping[str, Any]],
                     meter_states: Mapping[str, Mapping[str, Any]],
                     sign: SignFn) -> list[StoredReading]:
        """One poll cycle, atomically: number, chain, sign and store ``readings`` (unsigned
        bodies without ``seq``/``prev``, in order) and replace the given meters' state."""
        stored: list[StoredReading] = []
        with self._tx() as db:
            next_seq, last_hash = db.execute("SELECT next_seq, last_hash FROM chain").fetchone()
            for body in readings:
                rec = dict(body)
                rec.pop("sig", None)
                rec["seq"] = next_seq
                rec["prev"] = last_hash
                signed = dict(sign(rec))
                try:
                    Reading.from_dict(signed)
                except ProtocolError as e:
                    raise AgentError(f"refusing to store an invalid reading: {e}") from e
                if signed.get("seq") != next_seq or signed.get("prev") != last_hash:
                    raise AgentError("the signing function changed seq or prev")
                if signed.get("device_id") != self.device_id:
                    raise AgentError(f"reading for device {signed.get('device_id')} offered to "
                                     f"the outbox of device {self.device_id}")
                data = canonical_bytes(signed)
                digest = hashlib.sha256(data).hexdigest()
                db.execute("INSERT INTO readings (seq, sha256, body, status) VALUES (?,?,?,?)",
                           (next_seq, digest, data, PENDING))
                stored.append(StoredReading(next_seq, digest, data, PENDING))
                next_seq, last_hash = next_seq + 1, digest
            db.execute("UPDATE chain SET next_seq=?, last_hash=? WHERE id=1",
                       (next_seq, last_hash))
            for meter, state in meter_states.items():
                db.execute("INSERT OR REPLACE INTO meter_state VALUES (?, ?)",
                           (meter, json.dumps(dict(state), sort_keys=True)))
        return stored

    def acknowledge(self, seq: int, reading_sha256: str) -> bool:
        """Delete reading ``seq`` if (and only if) its hash is ``reading_sha256``."""
        return bool(self.apply_receipt([(seq, reading_sha256)], [], None).acknowledged)

    def set_aside(self, seq: int, reason: str, reading_sha256: str | None = None) -> bool:
        """Mark reading ``seq`` rejected with ``reason``; it is no longer sent."""
        with self._tx() as db:
            return self._set_aside(db, seq, reason, reading_sha256)

    @staticmethod
    def _set_aside(db: sqlite3.Connection, seq: int, reason: str, sha: str | None) -> bool:
        if sha is None:
            cur = db.execute("UPDATE readings SET status=?, reason=? WHERE seq=?",
                             (REJECTED, reason[:512], seq))
        else:
            cur = db.execute("UPDATE readings SET status=?, reason=? WHERE seq=? AND sha256=?",
                             (REJECTED, reason[:512], seq, sha))
        return cur.rowcount == 1

    def apply_receipt(self, acks: Sequence[tuple[int, str]],
                      rejections: Sequence[tuple[int, str, str]],
                      summary: Mapping[str, Any] | None) -> ReceiptOutcome:
        """Apply one verified receipt in one transaction: delete acknowledged readings (hash
        must match), set rejected ones aside (seq, sha256, reason), remember ``summary``."""
        acked: list[int] = []
        aside: list[int] = []
        bad: list[int] = []
        with self._tx() as db:
            for seq, sha in acks:
                cur = db.execute("DELETE FROM readings WHERE seq=? AND sha256=?", (seq, sha))
                (acked if cur.rowcount == 1 else bad).append(seq)
            for seq, sha, reason in rejections:
                (aside if self._set_aside(db, seq, reason, sha) else bad).append(seq)
            if summary is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('last_receipt', ?)",
                           (json.dumps(dict(summary), sort_keys=True),))
        return ReceiptOutcome(tuple(acked), tuple(aside), tuple(bad))

    # -- reading ---------------------------------------------------------------------------

    def _rows(self, sql: str, args: tuple[Any, ...]) -> list[StoredReading]:
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        return [StoredReading(int(r[0]), str(r[1]), bytes(r[2]), str(r[3]), r[4]) for r in rows]

    def pending(self, limit: int, from_seq: int = 0) -> list[StoredReading]:
        """Pending readings with ``seq ≥ from_seq``, lowest seq first."""
        return self._rows("SELECT seq, sha256, body, status, reason FROM readings "
                          "WHERE status=? AND seq>=? ORDER BY seq LIMIT ?",
                          (PENDING, from_seq, limit))

    def resend_from(self, seq: int, limit: int) -> list[StoredReading]:
        """What a ``gap: expected <seq>`` receipt asks for: pending readings from ``seq`` on.

        Readings set aside are not included (they are never resent blindly)."""
        return self.pending(limit, seq)

    def get(self, seq: int) -> StoredReading | None:
        rows = self._rows("SELECT seq, sha256, body, status, reason FROM readings WHERE seq=?",
                          (seq,))
        return rows[0] if rows else None

    def rejected(self, limit: int = 100) -> list[StoredReading]:
        return self._rows("SELECT seq, sha256, body, status, reason FROM readings "
                          "WHERE status=? ORDER BY seq LIMIT ?", (REJECTED, limit))

    def counts(self) -> OutboxCounts:
        with self._lock:
            next_seq, last_hash = self._db.execute(
                "SELECT next_seq, last_hash FROM chain").fetchone()
            by_status = dict(self._db.execute(
                "SELECT status, COUNT(*) FROM readings GROUP BY status").fetchall())
        return OutboxCounts(int(next_seq), str(last_hash), int(by_status.get(PENDING, 0)),
                            int(by_status.get(REJECTED, 0)))

    def meter_states(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT meter, state FROM meter_state").fetchall()
        out: dict[str, dict[str, Any]] = {}
        for meter, text in rows:
            try:
                value = json.loads(text)
            except ValueError as e:
                raise _corrupt(self.path, f"meter state of {meter!r} is not JSON") from e
            if not isinstance(value, dict):
                raise _corrupt(self.path, f"meter state of {meter!r} is not an object")
            out[str(meter)] = value
        return out

    def last_receipt(self) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='last_receipt'").fetchone()
        if row is None:
            return None
        value = json.loads(row[0])
        return value if isinstance(value, dict) else None
