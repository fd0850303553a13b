"""What the ledger needs from a store, so SQLite and PostgreSQL serve the same code path.

Every mutating call happens inside ``transaction()``; a transaction is all-or-nothing, so a crash
at any instant leaves entries, interior hashes, device state and checkpoints consistent. Interior
hashes of every complete subtree are stored as entries are appended (level ≥ 1 in ``node``; the
leaf hashes live with the entries), which makes a root or a proof O(log n) reads at any size.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, Protocol

from eco_protocol.messages import msg

from ..errors import StoreCorrupt


class TransactionNesting:
    """Both backends' ``transaction()``: a call inside an open transaction joins it (all or
    nothing is the outermost one's), and only the outermost opens and commits a real one."""

    def __init__(self) -> None:
        self.depth = 0

    @contextmanager
    def join(self, outermost: Callable[[], AbstractContextManager[None]]) -> Iterator[None]:
        """Inside ``outermost()`` (the backend's BEGIN … COMMIT/ROLLBACK), unless one is open."""
        if self.depth:
            self.depth += 1
            try:
                yield
            finally:
                self.depth -= 1
            return
        with outermost():
            self.depth = 1
            try:
                yield
            finally:
                self.depth = 0


@dataclass(frozen=True, slots=True)
class DeviceRow:
    device_id: str
    enrol_index: int
    enrolment: bytes  # the entry bytes of the eco.enrol/v1 record
    next_seq: int
    last_hash: str
    revoked_index: int | None = None
    flag: str | None = None  # e.g. "fork: seq 7 signed twice"

    @classmethod
    def from_columns(cls, row: Sequence[Any]) -> DeviceRow:
        """From a row of :data:`DEVICE_COLUMNS`."""
        return cls(str(row[0]), int(row[1]), bytes(row[2]), int(row[3]), str(row[4]),
                   None if row[5] is None else int(row[5]),
                   None if row[6] is None else str(row[6]))

    def params(self, text: Callable[[str], str] = str) -> tuple[object, ...]:
        """The values for :func:`device_upsert`, ``flag`` passed through ``text`` (PostgreSQL
        makes it storable, :func:`storable_text`)."""
        return (self.device_id, self.enrol_index, self.enrolment, self.next_seq, self.last_hash,
                self.revoked_index, None if self.flag is None else text(self.flag))


DEVICE_COLUMNS = ("device_id", "enrol_index", "enrolment", "next_seq", "last_hash",
                  "revoked_index", "flag")
DEVICE_COLS = ", ".join(DEVICE_COLUMNS)


def device_upsert(placeholder: str) -> str:
    """The device-row upsert, in a driver's placeholder style (``?`` or ``%s``), for the
    values of :meth:`DeviceRow.params`."""
    return (f"INSERT INTO device({DEVICE_COLS}) "
            f"VALUES({', '.join([placeholder] * len(DEVICE_COLUMNS))}) "
            "ON CONFLICT(device_id) DO UPDATE SET "
            + ", ".join(f"{c}=excluded.{c}" for c in DEVICE_COLUMNS[1:]))


@dataclass(frozen=True, slots=True)
class ReadingRow:
    device_id: str
    seq: int
    leaf_index: int
    sha256: str


@dataclass(frozen=True, slots=True)
class CheckpointRow:
    size: int
    root: bytes
    note: str
    proof: tuple[bytes, ...]  # consistency proof from the previous checkpoint
    signed_at: str
    seal: str | None = None  # of (size, signed_at), by the log key (aggregator/row_seal.py)

    @classmethod
    def from_columns(cls, row: Sequence[Any]) -> CheckpointRow:
        """From a ``size, root, note, proof, signed_at, seal`` row (the proof stored
        concatenated)."""
        proof = blob(row[3], f"the proof of checkpoint {row[0]}")
        return cls(int(row[0]), blob(row[1], f"the root of checkpoint {row[0]}"), str(row[2]),
                   tuple(proof[i:i + 32] for i in range(0, len(proof), 32)), str(row[4]),
                   None if row[5] is None else str(row[5]))


def storable_text(s: str) -> str:
    """Text as a store keeps it: PostgreSQL TEXT holds neither NUL nor unpaired surrogates, and a
    device can put both in a string a rejection reason quotes. Replaced, never refused (one bad
    string must not fail a whole group); applied before a value is sealed, so the seal is of
    what is stored."""
    return s.encode("utf-8", "replace").decode("utf-8").replace("\x00", "\ufffd")


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A TEXT value whose bytes are not UTF-8 (SQLite keeps whatever it is given), as
    :meth:`LedgerStore.raw_rows` returns it instead of failing on it."""

    data: bytes


@dataclass(frozen=True, slots=True)
class RawTable:
    """A table as :meth:`LedgerStore.raw_rows` returns it: its columns, each column's SQL type
    (``INTEGER``, ``TEXT`` or ``BLOB``; ``?`` when NULL is allowed), and how many leading
    columns form the key the rows are ordered by."""

    columns: tuple[str, ...]
    kinds: tuple[str, ...]
    keys: int


# The tables the audit reads row by row. ``rejection`` (the operator's log of refused readings)
# is not derived from the log, and ``node`` is checked hash by hash as the tree is recomputed.
# Personal data (household references) is not in the ledger store at all: aggregator.personal.
RAW_TABLES: dict[str, RawTable] = {
    "meta": RawTable(("key", "value"), ("TEXT", "TEXT"), 1),
    "entry": RawTable(("idx", "type", "data", "leaf"), ("INTEGER", "TEXT", "BLOB", "BLOB"), 1),
    "device": RawTable(DEVICE_COLUMNS,
                       ("TEXT", "INTEGER", "BLOB", "INTEGER", "TEXT", "INTEGER?", "TEXT?"), 1),
    "reading": RawTable(("device_id", "seq", "leaf_index", "sha256"),
                        ("TEXT", "INTEGER", "INTEGER", "TEXT"), 2),
    "meter_cursor": RawTable(("device_id", "meter", "end_at", "register_end_wh"),
                             ("TEXT", "TEXT", "TEXT", "INTEGER"), 2),
    "checkpoint": RawTable(("size", "root", "note", "proof", "signed_at", "seal"),
                           ("INTEGER", "BLOB", "TEXT", "BLOB", "TEXT", "TEXT?"), 1),
    "rejection": RawTable(("id", "device_id", "seq", "reason", "at", "seal"),
                          ("INTEGER", "TEXT", "INTEGER?", "TEXT", "TEXT", "TEXT?"), 1),
    "cosignature": RawTable(("size", "name", "line"), ("INTEGER", "TEXT", "TEXT"), 2),
}


def stored_as(value: object) -> str:
    """How a raw value is stored, in SQL words, for a problem message."""
    if value is None:
        return "NULL"
    if isinstance(value, Undecodable):
        return f"TEXT that is not UTF-8 ({value.data[:16]!r})"
    if isinstance(value, bool | int):
        return f"INTEGER {value}"
    if isinstance(value, float):
        return f"REAL {value}"
    if isinstance(value, str):
        return f"TEXT {value[:40]!r}"
    if isinstance(value, bytes | bytearray | memoryview):
        return f"BLOB of {len(bytes(value))} bytes"
    return type(value).__name__


def blob(value: object, what: str) -> bytes:
    """A BLOB/BYTEA value as bytes, or StoreCorrupt naming ``what`` if it is stored otherwise
    (SQLite keeps a TEXT or INTEGER in a BLOB column)."""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise StoreCorrupt(msg("aggregator.store.not_blob", what=what, stored=stored_as(value)))


class UpperLevels:
    """The tree's upper levels, kept in memory once read: what a proof reads near the root.

    A stored hash of a complete subtree never changes once committed (appending only adds
    subtrees), so a hash read *outside* a transaction can be kept for good; one read inside
    a transaction could still be rolled back, so it is not kept. Only levels ≥ ``lowest`` are
    kept — at most size / 2^lowest hashes (40 k at 10 M entries with the default 8, the
    height of a tlog tile) — so a proof reads from the store only the bottom of its path,
    ~``lowest`` hashes instead of log₂ n. Used by ``nodes`` outside transactions only (the
    proofs served to readers); never inside one, where the writer reads and checks the tree
    before it signs, nor by ``node``, which the audit and the ledger's rollback checks use to
    compare stored hashes with recomputed or signed ones.
    """

    def __init__(self, lowest: int = 8, limit: int = 1 << 18) -> None:
        self.lowest = lowest
        self.limit = limit  # a bound on memory: past it, hashes are no longer added
        self._kept: dict[tuple[int, int], bytes] = {}

    def split(self, wanted: Sequence[tuple[int, int]]
              ) -> tuple[dict[tuple[int, int], bytes], list[tuple[int, int]]]:
        """(the hashes of ``wanted`` kept here, the ones to read from the store)."""
        kept, found, missing = self._kept, {}, []
        for w in wanted:
            h = kept.get(w)
            if h is None:
                missing.append(w)
            else:
                found[w] = h
        return found, missing

    def keep(self, read: dict[tuple[int, int], bytes]) -> None:
        """Remember the upper-level hashes of a read made outside any transaction."""
        if len(self._kept) < self.limit:
            lowest = self.lowest
            self._kept.update((w, h) for w, h in read.items() if w[0] >= lowest)

    def read_through(self, wanted: Sequence[tuple[int, int]], in_transaction: bool,
                     read: Callable[[list[tuple[int, int]]], dict[tuple[int, int], bytes]],
                     where: object) -> dict[tuple[int, int], bytes]:
        """Both backends' ``nodes``: ``wanted`` from memory where it may be (outside a
        transaction), the rest by one batched ``read`` of the store, checked complete
        (:func:`missing_nodes`) and, outside a transaction, kept."""
        found, missing = ({}, list(wanted)) if in_transaction else self.split(wanted)
        if not missing:
            return found
        got = read(missing)
        missing_nodes(missing, got, where)
        if not in_transaction:
            self.keep(got)
        found.update(got)
        return found


def missing_nodes(wanted: Sequence[tuple[int, int]], found: dict[tuple[int, int], bytes],
                  where: object) -> None:
    """StoreCorrupt naming the first of ``wanted`` that a batched ``nodes`` read did not find."""
    for level, i in wanted:
        if (level, i) not in found:
            if level == 0:
                raise StoreCorrupt(msg("aggregator.store.no_leaf", index=i, where=where))
            raise StoreCorrupt(msg("aggregator.store.no_node", level=level, index=i,
                                   where=where))


class LedgerStore(Protocol):
    def transaction(self) -> AbstractContextManager[None]: ...

    def close(self) -> None: ...

    # --- meta ---
    def get_meta(self, key: str) -> str | None: ...

    def set_meta(self, key: str, value: str) -> None: ...

    # --- tree ---
    def size(self) -> int: ...

    def append_entry(self, index: int, entry_type: str, data: bytes, leaf: bytes) -> None: ...

    def append_entries(self, rows: Sequence[tuple[int, str, bytes, bytes]]) -> None:
        """Many ``append_entry`` calls, ``(index, type, data, leaf)`` each, as one batched
        statement: the ingest appends a message's readings together, and a statement per row
        was most of its store time (one round trip each on PostgreSQL)."""
        ...

    def entry(self, index: int) -> bytes: ...

    def entries(self, lo: int, hi: int) -> Iterator[tuple[int, bytes]]: ...

    def leaf(self, index: int) -> bytes: ...

    def put_node(self, level: int, index: int, digest: bytes) -> None: ...

    def put_nodes(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        """Many ``put_node`` calls, ``(level, index, hash)`` each, as one batched statement."""
        ...

    def node(self, level: int, index: int) -> bytes: ...

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """``node(level, index)`` for every (level, index) of ``wanted`` (a proof's worth, as
        :func:`eco_protocol.merkle.inclusion_subtrees` lists them before the proof is made):
        outside a transaction the upper levels from memory (:class:`UpperLevels`), the rest
        in one batched read rather than a statement per hash. At 1 M entries a proof reads
        ~24 hashes; ~9 of them then come from the store. Raises StoreCorrupt if one is
        missing."""
        ...

    # --- devices and readings ---
    def device(self, device_id: str) -> DeviceRow | None: ...

    def put_device(self, row: DeviceRow) -> None: ...

    def put_devices(self, rows: Sequence[DeviceRow]) -> None:
        """Many ``put_device`` calls as one batched statement."""
        ...

    def devices(self) -> list[DeviceRow]: ...

    def flagged_devices(self) -> list[DeviceRow]:
        """The devices whose ``flag`` is set, in enrolment order."""
        ...

    def reading(self, device_id: str, seq: int) -> ReadingRow | None: ...

    def put_reading(self, row: ReadingRow) -> None: ...

    def put_readings(self, rows: Sequence[ReadingRow]) -> None:
        """Many ``put_reading`` calls as one batched statement."""
        ...

    def meter_cursor(self, device_id: str, meter: str) -> tuple[str, int] | None:
        """(end, register_end_wh) that the next reading of this (device, meter) continues from
        (docs/protocol.md §2 interval discipline), or None before its first reading."""
        ...

    def put_meter_cursor(self, device_id: str, meter: str, end: str,
                         register_end_wh: int) -> None: ...

    def put_meter_cursors(self, rows: Sequence[tuple[str, str, str, int]]) -> None:
        """Many ``put_meter_cursor`` calls, ``(device_id, meter, end, register_end_wh)`` each,
        as one batched statement."""
        ...

    def record_rejection(self, device_id: str, seq: int | None, reason: str,
                         at: str, seal: str | None = None) -> None: ...

    def rejection_high_water(self) -> int:
        """The largest rejection row id so far (0: none)."""
        ...

    def rejections(self, limit: int = 100) -> list[tuple[str, int | None, str, str]]: ...

    # --- checkpoints ---
    def latest_checkpoint(self) -> CheckpointRow | None: ...

    def add_checkpoint(self, row: CheckpointRow) -> None: ...

    def checkpoints(self) -> list[CheckpointRow]:
        """Every checkpoint the log signed, by size (for the audit)."""
        ...

    # --- witness cosignatures (c2sp.org/tlog-cosignature lines, verified before storing) ---
    def add_cosignature(self, size: int, name: str, line: str) -> None:
        """Keep witness ``name``'s signature line (``— name base64…\\n``) for the checkpoint of
        ``size``; a newer line by the same witness for the same size replaces the older."""
        ...

    def cosignatures(self, size: int) -> list[str]:
        """The stored witness lines for the checkpoint of ``size``, ordered by witness name."""
        ...

    # --- credential status (W3C Bitstring Status List positions; aggregator/status_list.py) --
    def status_index(self, device_id: str) -> int | None:
        """The position of this device's enrolment in the status list (None: none yet)."""
        ...

    def add_status_index(self, device_id: str, index: int) -> None:
        """Give the device's enrolment position ``index``; call inside a transaction, after
        checking that neither has one (both are unique)."""
        ...

    def status_indexes(self) -> list[int]:
        """Every position given so far (to draw a new one that is free)."""
        ...

    def revoked_status_indexes(self) -> list[int]:
        """The positions of revoked devices' enrolments, ascending: the bits set in the list."""
        ...

    # --- the audit -------------------------------------------------------------------------
    def raw_rows(self, table: str) -> Iterator[tuple[object, ...]]:
        """Every row of ``table`` (a key of :data:`RAW_TABLES`), its columns as listed there,
        ordered by its key, each value as stored — whatever SQL type it holds, TEXT that is not
        UTF-8 as :class:`Undecodable` — so the audit can name a bad value instead of failing on
        it. Streams: a large table is never held in memory at once."""
        ...

    # --- moving personal data out (older versions kept it here) ---
    def legacy_households(self) -> list[tuple[str, str]] | None:
        """The ``(pseudonym, reference)`` rows of the ``household`` table older versions kept in
        the ledger store, or None when the store has no such table (the cheap, usual case: the
        store noted it when it was opened). See :func:`aggregator.personal.migrate_from_ledger`."""
        ...

    def drop_legacy_households(self) -> None:
        """Drop that table and make its bytes leave the store's files as far as the backend
        allows (SQLite: VACUUM and a truncated WAL; PostgreSQL: the table's files are unlinked,
        the server's WAL keeps the rows until its segments are recycled)."""
        ...
