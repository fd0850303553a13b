"""The durable outbox: signed readings until a verified receipt, and the sequence counter.

docs/architecture.md "Storage" and docs/pitfalls.md §2: stdlib ``sqlite3`` in WAL mode with
``synchronous=FULL`` (a commit survives a power cut once ``commit`` returns), ``PRAGMA
integrity_check`` at open, and **one transaction per poll cycle**: :meth:`Outbox.commit_cycle`
assigns ``seq``/``prev``, signs, stores the readings *and* the meters' interval state atomically.
After a crash at any instant the outbox holds either all of a cycle or none of it, so the
sequence never skips, never goes backwards and the ``prev`` chain stays intact; the interval
state can never run ahead of (or behind) the readings it produced.

Rows are deleted only by :meth:`acknowledge` (a verified ``accepted``/``duplicate`` receipt item
naming the same ``reading_sha256``), never on a broker PUBACK. ``rejected`` readings are set aside
with the reason and never sent again unless asked for by seq.

**Non-creditable readings (docs/protocol.md v1.1 §3).** An ``accepted`` item with ``"creditable":
false`` means the reading *is* in the ledger but earns nothing (an overlap, an implausible
energy, …): it is delivered, so it is deleted exactly like an accepted one, and — in the same
transaction, so a power cut can neither lose the record nor keep the reading — its seq, hash,
reason and the receipt's time go into the small ``non_creditable`` table (the newest
:attr:`Outbox.NON_CREDITABLE_KEEP`, plus a running total in ``meta``) for ``eco-agent status``:
the device owner or installer sees why some intervals earn nothing, after the reading itself
has left the device. The table is created with ``CREATE TABLE IF NOT EXISTS`` at every writable
open, which migrates an older outbox in place; a read-only open of an outbox that predates it
reports none.

All methods are thread-safe (one connection behind a lock): the poll job commits cycles from the
scheduler's thread while the main loop pumps the uplink.

Damage after a power cut on storage that does not keep what it fsynced (issue 6, tests/faults):
SQLite treats a truncated or garbled write-ahead log as "those commits never happened" and opens
an *older* outbox without a word. Harmless for readings nobody saw (the meter state rolls back
with them and the intervals are measured again), a fork for readings already sent: the counter
would hand their seq numbers to different readings. So before a reading first leaves the
device its seq and hash are written to a small mark file beside the outbox (``<outbox>-sent``,
two checksummed slots rewritten in place, so it needs no free space), and :meth:`Outbox.open`
refuses (StateCorrupt) an outbox that ends before that mark or holds another reading under it.
``open`` also checks every stored row (its hash, seq, device and ``prev`` link, and the counter
against the newest row), which ``PRAGMA integrity_check`` does not look at.

This module is the SQLite shell. The stored values, the numbering and signing of a reading and
the row checks are pure, in :mod:`agent.outbox_rows`; the sent mark's file is
:mod:`agent.outbox_sent`.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

from eco_protocol.messages import msg
from eco_protocol.records import GENESIS_PREV

from .errors import AgentError, StateCorrupt
from .outbox_rows import (
    PENDING,
    REJECTED,
    SCHEMA_VERSION,
    NonCreditable,
    OutboxCounts,
    ReceiptOutcome,
    SignFn,
    StoredReading,
    add_to_tally,
    chain_reading,
    check_rows,
    check_sent,
)
from .outbox_sent import SentMark

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
CREATE TABLE IF NOT EXISTS non_creditable (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    seq INTEGER NOT NULL,
    reading_sha256 TEXT NOT NULL,
    reason TEXT NOT NULL,
    at TEXT NOT NULL,
    meter TEXT,
    start TEXT,
    "end" TEXT
);
"""


# SQLite primary result codes that say the environment failed (busy, locked, out of memory,
# read-only, I/O error, disk full, cannot open, no permission), not that the file is damaged.
# Reporting those as "damaged, move the outbox aside and re-enrol" would make an operator throw a
# healthy outbox away because a disk was full.
_ENVIRONMENT_CODES: Final = frozenset({5, 6, 7, 8, 10, 13, 14, 23})


def _is_environment(e: sqlite3.Error) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _ENVIRONMENT_CODES


def _unwritable(path: Path, e: sqlite3.Error) -> AgentError:
    return AgentError(
        f"outbox {path}: {e} — the filesystem holding {path.parent} is full, read-only or "
        f"failing (check 'df -h {path.parent}' and the kernel log). Nothing was changed and "
        "the outbox is intact; the agent carries on once there is room again (readings not "
        "committed are recomputed from the meter's register, so nothing is lost).")


def _corrupt(path: Path, what: str) -> StateCorrupt:
    return StateCorrupt(
        f"outbox {path} is damaged ({what}). Nothing was overwritten. Stop the agent and move the "
        "file (and its -wal, -shm and -sent files) aside, keeping a copy: it holds signed "
        "readings not yet receipted. A new outbox restarts the sequence at 1, so the operator "
        "must re-key and re-enrol this device afterwards (README, Reliability).")


def _rolled_back(path: Path, what: str) -> StateCorrupt:
    return StateCorrupt(
        f"outbox {path} has gone back in time: {what}. Its write-ahead log ({path.name}-wal) was "
        "truncated or damaged, or an old copy was restored; SQLite opens such a file as an "
        "older outbox without complaint. Nothing was overwritten. Going on would sign other "
        "readings under seq numbers the aggregator may already hold (a fork), so the agent "
        "stops here. Keep every outbox file (outbox.sqlite3*), have the device re-keyed and "
        "re-enrolled (README, Reliability).")


def _guard(path: Path) -> sqlite3.Connection | None:
    """A read-only connection held open while the writable one checks the outbox.

    If the check fails, closing the writable connection must not be the *last* close: that
    one folds the WAL into the database and deletes it, which would make a damaged outbox's
    loss permanent and destroy the evidence. A read-only connection never checkpoints. Opened
    only after the writable connection's first read has recovered the WAL index, so that it
    does not trust a stale one left in the -shm file by the crash."""
    if not path.exists():
        return None
    try:
        guard = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                timeout=10.0)
    except sqlite3.Error:
        return None
    # maps the WAL index; a file damaged beyond reading is for the writable check to name
    with contextlib.suppress(sqlite3.Error):
        guard.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    return guard


class Outbox:
    """The agent's outbox database. Open with :meth:`open`; close with :meth:`close`."""

    def __init__(self, db: sqlite3.Connection, path: Path, device_id: str,
                 sent: SentMark | None = None) -> None:
        self._db = db
        self.path = path
        self.device_id = device_id
        self._lock = threading.RLock()
        self._sent = sent

    @staticmethod
    def sent_path(path: Path) -> Path:
        return path.with_name(path.name + "-sent")

    @staticmethod
    def peek_identity(path: Path) -> tuple[str | None, int]:
        """The device id an existing outbox was made for and how many readings it signed,
        read-only and without the checks of :meth:`open`; ``(None, 0)`` for what cannot be
        read (the caller only wants to know whether the box had an identity)."""
        device_id, signed = None, 0
        try:
            db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
            try:
                row = db.execute("SELECT value FROM meta WHERE key='device_id'").fetchone()
                device_id = None if row is None else str(row[0])
                signed = int(db.execute("SELECT next_seq FROM chain").fetchone()[0]) - 1
            finally:
                db.close()
        except (sqlite3.Error, TypeError, ValueError):
            pass
        return device_id, max(signed, 0)

    # -- opening ---------------------------------------------------------------------------

    @classmethod
    def open(cls, path: Path, device_id: str, *, readonly: bool = False) -> Outbox:
        """Open (creating if needed) and check the outbox; StateCorrupt if it fails the check.

        Every check runs before the first write, and a refusal leaves the database and its WAL
        byte-for-byte as they were (see :func:`_guard`)."""
        if not readonly:
            path.parent.mkdir(parents=True, exist_ok=True)
        # the mark first: read before the database, it can only be at or below what that holds
        sent = SentMark.open(cls.sent_path(path), readonly=readonly)
        try:
            return cls._open(path, device_id, readonly, sent)
        except BaseException:
            sent.close()
            raise

    @classmethod
    def _open(cls, path: Path, device_id: str, readonly: bool, sent: SentMark) -> Outbox:
        try:
            if readonly:
                db = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                                     check_same_thread=False, timeout=10.0)
            else:
                db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False,
                                     timeout=10.0)
        except sqlite3.Error as e:
            raise AgentError(msg("agent.outbox.cannot_open", path=path, error=str(e))) from e
        guard: sqlite3.Connection | None = None
        try:
            try:
                # the first read recovers the WAL: from here on we see what SQLite will use
                rows = db.execute("PRAGMA integrity_check").fetchall()
                if not readonly:
                    guard = _guard(path)
                if [tuple(r) for r in rows] != [("ok",)]:
                    problems = "; ".join(str(r[0]) for r in rows[:5])
                    raise _corrupt(path, f"integrity_check: {problems}")
                fresh = not db.execute("SELECT COUNT(*) FROM sqlite_master WHERE type='table' "
                                       "AND name='chain'").fetchone()[0] or \
                    not db.execute("SELECT COUNT(*) FROM chain").fetchone()[0]
                if fresh and sent.seq > 0:
                    raise _rolled_back(path, "it is empty or missing, but readings up to seq "
                                             f"{sent.seq} were already sent ({sent.path.name})")
            except sqlite3.DatabaseError as e:
                if _is_environment(e):
                    raise _unwritable(path, e) from e
                raise _corrupt(path, str(e)) from e
            box = cls(db, path, device_id, sent)
            if readonly or not fresh:
                box._check_identity(readonly)
                box._check_rows()
            if not readonly:  # the first writes
                try:
                    mode = db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                    if str(mode).lower() != "wal":
                        raise AgentError(f"outbox {path}: cannot switch to WAL mode (got "
                                         f"{mode}); the state directory must be on a local "
                                         "filesystem")
                    db.execute("PRAGMA synchronous=FULL")
                    # a few hundred pending readings at most: 256 KiB of page cache instead of
                    # SQLite's 2 MiB default keeps the agent small on a Pi (issue 16)
                    db.execute("PRAGMA cache_size=-256")
                    db.executescript(_SCHEMA)
                except sqlite3.DatabaseError as e:
                    if _is_environment(e):
                        raise _unwritable(path, e) from e
                    raise _corrupt(path, str(e)) from e
                if fresh:
                    box._check_identity(readonly)  # records whose outbox this is
            return box
        except BaseException:
            db.close()  # with the guard open this is not the last close: no checkpoint
            raise
        finally:
            if guard is not None:
                guard.close()

    def _check_identity(self, readonly: bool) -> None:
        """Check (or, when new, record) whose outbox this is."""
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
                    raise StateCorrupt(msg("agent.outbox.other_device", path=self.path,
                                           owner=row[0], device=self.device_id))
                chain = self._db.execute("SELECT next_seq, last_hash FROM chain").fetchone()
                top = self._db.execute("SELECT MAX(seq) FROM readings").fetchone()[0]
            except sqlite3.DatabaseError as e:
                if _is_environment(e):
                    raise _unwritable(self.path, e) from e
                raise _corrupt(self.path, str(e)) from e
            if chain is None:
                raise _corrupt(self.path, "the sequence counter is missing")
            if top is not None and top >= chain[0]:
                raise _corrupt(self.path, f"stored seq {top} is not below next seq {chain[0]}")

    def _check_rows(self) -> None:
        """What integrity_check does not see: every row's bytes against its hash, seq, device
        and ``prev`` link; the counter against the newest row and against the sent mark."""
        with self._lock:
            try:
                next_seq, last_hash = self._db.execute(
                    "SELECT next_seq, last_hash FROM chain").fetchone()
                rows = self._db.execute("SELECT seq, sha256, body FROM readings "
                                        "ORDER BY seq").fetchall()
            except sqlite3.DatabaseError as e:
                if _is_environment(e):
                    raise _unwritable(self.path, e) from e
                raise _corrupt(self.path, str(e)) from e
        held = check_rows(rows, self.device_id, int(next_seq), last_hash,
                          lambda what: _corrupt(self.path, what))
        if self._sent is not None:
            check_sent(held, int(next_seq), last_hash, self._sent.seq, self._sent.sha,
                       self._sent.path.name, lambda what: _rolled_back(self.path, what))

    def note_sent(self, seq: int, sha256: str) -> None:
        """Call before reading ``seq`` (the newest of a message) first leaves the device."""
        with self._lock:
            if self._sent is None:
                raise AgentError("this outbox was opened without its sent mark")
            self._sent.advance(seq, sha256)

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._sent is not None:
                self._sent.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield self._db
                    self._db.execute("COMMIT")
                except BaseException:
                    # SQLite may already have rolled back (SQLITE_FULL does); never leave a
                    # failed transaction open: this connection would go on reading its
                    # uncommitted rows and could publish readings that are not durable
                    if self._db.in_transaction:
                        self._db.execute("ROLLBACK")
                    raise
            except sqlite3.OperationalError as e:
                if _is_environment(e):
                    raise _unwritable(self.path, e) from e
                raise

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
                data, digest = chain_reading(body, next_seq, last_hash, sign, self.device_id)
                db.execute("INSERT INTO readings (seq, sha256, body, status) VALUES (?,?,?,?)",
                           (next_seq, digest, data, PENDING))
                stored.append(StoredReading(next_seq, digest, data, PENDING))
                next_seq, last_hash = next_seq + 1, digest
            db.execute("UPDATE chain SET next_seq=?, last_hash=? WHERE id=1",
                       (next_seq, last_hash))
            if stored:
                self._tally(db, [json.loads(r.body) for r in stored])
            for meter, state in meter_states.items():
                db.execute("INSERT OR REPLACE INTO meter_state VALUES (?, ?)",
                           (meter, json.dumps(dict(state), sort_keys=True)))
        return stored

    TALLY_DAYS = 7

    def _tally(self, db: sqlite3.Connection, readings: Sequence[Mapping[str, Any]]) -> None:
        """Energy and the display CO2 estimate per JST day, for ``eco-agent status``: the
        readings leave the outbox once receipted, the tally stays (last few days only)."""
        row = db.execute("SELECT value FROM meta WHERE key='day_tally'").fetchone()
        tally: dict[str, Any] = json.loads(row[0]) if row else {}
        keep = add_to_tally(tally, readings, self.TALLY_DAYS)
        db.execute("INSERT OR REPLACE INTO meta (key, value) VALUES ('day_tally', ?)",
                   (json.dumps(keep, sort_keys=True),))

    def day_tally(self) -> dict[str, Any]:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='day_tally'").fetchone()
        value = json.loads(row[0]) if row else {}
        return value if isinstance(value, dict) else {}

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

    NON_CREDITABLE_KEEP = 100

    def apply_receipt(self, acks: Sequence[tuple[int, str]],
                      rejections: Sequence[tuple[int, str, str]],
                      summary: Mapping[str, Any] | None,
                      non_creditable: Sequence[tuple[int, str, str]] = (),
                      at: str = "") -> ReceiptOutcome:
        """Apply one verified receipt in one transaction: delete acknowledged readings (hash
        must match), set rejected ones aside (seq, sha256, reason), remember ``summary``.

        ``non_creditable`` (seq, sha256, reason) are accepted items marked ``"creditable":
        false``: deleted like ``acks`` and recorded (with ``at``, the receipt's time) in the
        same transaction. A reading no longer held (a receipt delivered twice) is not recorded
        again: it comes back in ``mismatched``."""
        acked: list[int] = []
        aside: list[int] = []
        bad: list[int] = []
        noted: list[int] = []
        with self._tx() as db:
            for seq, sha in acks:
                cur = db.execute("DELETE FROM readings WHERE seq=? AND sha256=?", (seq, sha))
                (acked if cur.rowcount == 1 else bad).append(seq)
            for seq, sha, reason in non_creditable:
                if self._note_non_creditable(db, seq, sha, reason, at):
                    acked.append(seq)
                    noted.append(seq)
                else:
                    bad.append(seq)
            for seq, sha, reason in rejections:
                (aside if self._set_aside(db, seq, reason, sha) else bad).append(seq)
            if summary is not None:
                db.execute("INSERT OR REPLACE INTO meta VALUES ('last_receipt', ?)",
                           (json.dumps(dict(summary), sort_keys=True),))
        return ReceiptOutcome(tuple(acked), tuple(aside), tuple(bad), tuple(noted))

    def _note_non_creditable(self, db: sqlite3.Connection, seq: int, sha: str, reason: str,
                             at: str) -> bool:
        """Delete reading ``seq`` (hash ``sha``) and record it as not creditable; False if it
        is not held under that hash. Runs inside the caller's transaction."""
        row = db.execute("SELECT body FROM readings WHERE seq=? AND sha256=?",
                         (seq, sha)).fetchone()
        if row is None:
            return False
        meter = start = end = None
        with contextlib.suppress(ValueError, TypeError, KeyError):
            rec = json.loads(row[0])
            meter, start, end = (str(rec["meter"]), str(rec["start"]), str(rec["end"]))
        db.execute("DELETE FROM readings WHERE seq=? AND sha256=?", (seq, sha))
        cur = db.execute('INSERT INTO non_creditable (seq, reading_sha256, reason, at, meter, '
                         'start, "end") VALUES (?,?,?,?,?,?,?)',
                         (seq, sha, reason[:512], at, meter, start, end))
        db.execute("DELETE FROM non_creditable WHERE id <= ?",
                   (int(cur.lastrowid or 0) - self.NON_CREDITABLE_KEEP,))
        total = db.execute("SELECT value FROM meta WHERE key='non_creditable_total'").fetchone()
        db.execute("INSERT OR REPLACE INTO meta VALUES ('non_creditable_total', ?)",
                   (str(int(total[0]) + 1 if total else 1),))
        return True

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

    def non_creditable(self, limit: int = 100) -> tuple[int, list[NonCreditable]]:
        """(how many delivered readings were logged as not creditable in all, the newest
        ``limit`` of them, newest first). An outbox from before v1.1 opened read-only has no
        table yet: none."""
        with self._lock:
            try:
                total = self._db.execute(
                    "SELECT value FROM meta WHERE key='non_creditable_total'").fetchone()
                rows = self._db.execute(
                    'SELECT seq, reading_sha256, reason, at, meter, start, "end" '
                    "FROM non_creditable ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
            except sqlite3.OperationalError as e:
                if "no such table" in str(e):
                    return 0, []
                raise
        items = [NonCreditable(int(r[0]), str(r[1]), str(r[2]), str(r[3]), r[4], r[5], r[6])
                 for r in rows]
        return (int(total[0]) if total else 0), items

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


# the values and the sent mark live in their own modules; callers may name them from here
__all__ = [
    "PENDING", "REJECTED", "SCHEMA_VERSION", "NonCreditable", "Outbox", "OutboxCounts",
    "ReceiptOutcome", "SentMark", "SignFn", "StoredReading",
]
