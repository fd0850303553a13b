"""The scale-out store: PostgreSQL, for several ingest workers (or machines) on one ledger.

Same tables and semantics as :mod:`.sqlite` (BYTEA for hashes and entry bytes), through psycopg 3.

**One sequencer.** Verification is parallel (workers on the broker's shared subscription), but
appending must be serial: a leaf index is ``size()`` read inside the transaction, interior hashes
build on the previous leaves, and a device's ``next_seq``/``last_hash`` decide whether its next
reading is accepted. Two workers interleaving those reads and writes would both claim the same
index, or both accept the same seq. So every write transaction starts by taking one
transaction-scoped advisory lock, ``pg_advisory_xact_lock(SEQUENCER_LOCK)``
(postgresql.org/docs/current/explicit-locking.html#ADVISORY-LOCKS), which PostgreSQL releases at
COMMIT or ROLLBACK, even when the worker dies. This is the counterpart of SQLite's
``BEGIN IMMEDIATE``: at most one writer per database, the others queue.

The transactions run at READ COMMITTED on purpose: each statement takes a fresh snapshot, so every
read made *after* the lock is granted (size, device state, stored readings) sees everything the
previous lock holder committed — PostgreSQL makes a commit visible before it releases the
transaction's locks. Under REPEATABLE READ the snapshot would be taken by the statement that
waits for the lock, i.e. before the previous holder's commit, and the worker would append on a
stale tree. Group commit keeps the lock short and the throughput up: one lock, one fsync per
group of messages.

``synchronous_commit`` is forced on for our sessions (a server default of ``off`` would let a
receipt leave before its reading is on disk), as ``synchronous=FULL`` is for SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import psycopg
from psycopg.rows import TupleRow

from eco_protocol.messages import msg

from ..errors import EnvironmentProblem, StoreCorrupt
from .interface import (
    DEVICE_COLS,
    RAW_TABLES,
    CheckpointRow,
    DeviceRow,
    ReadingRow,
    TransactionNesting,
    UpperLevels,
    blob,
    device_upsert,
    storable_text,
)
from .url import redact

SCHEMA_VERSION = "1"

# The sequencer's advisory lock key ("eco-seq" in ASCII). Advisory locks are per database, so
# ledgers in different databases of one server do not contend.
SEQUENCER_LOCK = 0x65636F2D736571

_PAGE = 1000  # entries() fetches in pages so a full audit does not hold the log in memory

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entry (
    idx BIGINT PRIMARY KEY, type TEXT NOT NULL, data BYTEA NOT NULL, leaf BYTEA NOT NULL);
CREATE TABLE IF NOT EXISTS node (
    level SMALLINT NOT NULL, idx BIGINT NOT NULL, hash BYTEA NOT NULL,
    PRIMARY KEY (level, idx));
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY, enrol_index BIGINT NOT NULL, enrolment BYTEA NOT NULL,
    next_seq BIGINT NOT NULL, last_hash TEXT NOT NULL, revoked_index BIGINT, flag TEXT);
CREATE TABLE IF NOT EXISTS reading (
    device_id TEXT NOT NULL, seq BIGINT NOT NULL, leaf_index BIGINT NOT NULL,
    sha256 TEXT NOT NULL, PRIMARY KEY (device_id, seq));
CREATE TABLE IF NOT EXISTS meter_cursor (
    device_id TEXT NOT NULL, meter TEXT NOT NULL, end_at TEXT NOT NULL,
    register_end_wh BIGINT NOT NULL, PRIMARY KEY (device_id, meter));
CREATE TABLE IF NOT EXISTS rejection (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY, device_id TEXT NOT NULL, seq BIGINT,
    reason TEXT NOT NULL, at TEXT NOT NULL, seal TEXT);
CREATE TABLE IF NOT EXISTS checkpoint (
    size BIGINT PRIMARY KEY, root BYTEA NOT NULL, note TEXT NOT NULL, proof BYTEA NOT NULL,
    signed_at TEXT NOT NULL, seal TEXT);
CREATE TABLE IF NOT EXISTS cosignature (
    size BIGINT NOT NULL, name TEXT NOT NULL, line TEXT NOT NULL, PRIMARY KEY (size, name));
CREATE TABLE IF NOT EXISTS credential_status (
    device_id TEXT PRIMARY KEY, status_index BIGINT NOT NULL UNIQUE)
"""


_TEXT_KEYS = frozenset({"key", "device_id", "meter", "name"})  # raw_rows orders these bytewise

_TABLES = ("meta", "entry", "node", "device", "reading", "meter_cursor", "rejection",
           "checkpoint", "cosignature",
           "credential_status")  # added since: a store without it gets it when opened
_SEALED = ("seal:rejection", "seal:checkpoint")  # columns added since (aggregator/row_seal.py)
_LEGACY = "household"  # personal data older versions kept here (aggregator.personal)


_text = storable_text


class PostgresStore:
    """A ledger store in a PostgreSQL database. One connection; not thread-safe: one store
    object per thread, any number of processes."""

    def __init__(self, url: str, *, connect_timeout: int = 10) -> None:
        self.url = url
        self.location = redact(url)
        self._nesting = TransactionNesting()
        self._upper = UpperLevels()
        self._legacy_households = False
        try:
            self._db: psycopg.Connection[TupleRow] = psycopg.connect(
                url, autocommit=True, connect_timeout=connect_timeout,
                application_name="eco-aggregator")
        except psycopg.Error as e:
            raise EnvironmentProblem(msg("aggregator.store.pg_connect", location=self.location,
                                         error=str(e).strip())) from e
        try:
            self._prepare()
        except BaseException:
            self._db.close()
            raise

    def _prepare(self) -> None:
        self._x("SET synchronous_commit = on")
        if not self._has_tables():
            # schema creation under the sequencer lock: two workers starting together would
            # otherwise race CREATE TABLE IF NOT EXISTS on the system catalogs. Skipped when the
            # tables exist, so a reader (the HTTP API opens a store per request) never queues
            # behind the writers for it.
            with self.transaction():
                self._x(_SCHEMA)
                for table in ("rejection", "checkpoint"):  # a store from before the seals
                    self._x(f"ALTER TABLE {table} ADD COLUMN IF NOT EXISTS seal TEXT")
        version = self.get_meta("schema_version")
        if version is None:
            with self.transaction():
                version = self.get_meta("schema_version")
                if version is None:
                    self.set_meta("schema_version", SCHEMA_VERSION)
                    version = SCHEMA_VERSION
        if version != SCHEMA_VERSION:
            raise EnvironmentProblem(msg("aggregator.store.schema", path=self.location,
                                         version=version, known=SCHEMA_VERSION))

    def _has_tables(self) -> bool:
        """Whether every table exists (and, in the same query, whether the legacy household
        table does: no extra round trip for the readers that open a store per request)."""
        found = {str(r[0]) for r in self._x(
            "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
            "AND tablename = ANY(%s) UNION ALL SELECT 'seal:' || table_name FROM "
            "information_schema.columns WHERE table_schema = current_schema() AND "
            "column_name = 'seal'", ([*_TABLES, _LEGACY],)).fetchall()}
        self._legacy_households = _LEGACY in found
        return found.issuperset([*_TABLES, *_SEALED])

    def _x(self, query: str,
           params: Sequence[object] | None = None) -> psycopg.Cursor[TupleRow]:
        """Execute one statement; a driver or server error becomes an EnvironmentProblem."""
        try:
            return self._db.execute(query, params)
        except psycopg.Error as e:
            raise EnvironmentProblem(
                f"PostgreSQL ledger store {self.location}: {type(e).__name__}: "
                f"{str(e).strip()}") from e

    def _copy(self, table: str, types: Sequence[str],
              rows: Sequence[Sequence[object]]) -> None:
        """Insert ``rows`` into ``table(columns)`` with one binary COPY: one round trip and one
        executor run per batch, where a statement per row cost the server a parse-bind-execute
        and the worker a round trip each (pipelined ``executemany`` still spent ~25 µs of
        server time per row, and ``INSERT … SELECT unnest(arrays)`` as much in psycopg's
        Python array dumper). The rows are the same; a violated key fails the COPY, and with
        it the transaction, as the INSERT would."""
        if not rows:
            return
        try:
            with self._db.cursor() as cur, cur.copy(
                    f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy:
                copy.set_types(list(types))
                for row in rows:
                    copy.write_row(row)
        except psycopg.Error as e:
            raise EnvironmentProblem(
                f"PostgreSQL ledger store {self.location}: {type(e).__name__}: "
                f"{str(e).strip()}") from e

    def _many(self, query: str, rows: Sequence[Sequence[object]]) -> None:
        """One statement for each row, pipelined: psycopg sends every row's Bind and Execute
        before it waits for an answer, so a batch costs one round trip, not one per row
        (psycopg.org/psycopg3/docs/advanced/pipeline.html)."""
        if not rows:
            return
        try:
            with self._db.cursor() as cur:
                cur.executemany(query, rows)
        except psycopg.Error as e:
            raise EnvironmentProblem(
                f"PostgreSQL ledger store {self.location}: {type(e).__name__}: "
                f"{str(e).strip()}") from e

    def _one(self, query: str,
             params: Sequence[object] | None = None) -> tuple[Any, ...] | None:
        return self._x(query, params).fetchone()

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested use joins the outer transaction. Holds the sequencer lock
        from the start, before anything is read (module docstring)."""
        with self._nesting.join(self._outermost):
            yield

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        self._x("BEGIN ISOLATION LEVEL READ COMMITTED")
        try:
            self._x("SELECT pg_advisory_xact_lock(%s)", (SEQUENCER_LOCK,))
            yield
        except BaseException:
            # if the connection is gone, the server has rolled back for us
            with suppress(psycopg.Error):
                self._db.execute("ROLLBACK")
            raise
        self._x("COMMIT")

    def close(self) -> None:
        self._db.close()

    # --- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key=%s", (key,))
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        self._x("INSERT INTO meta(key, value) VALUES(%s, %s) "
                "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, _text(value)))

    # --- tree -----------------------------------------------------------------------------

    def size(self) -> int:
        row = self._one("SELECT MAX(idx) FROM entry")
        return 0 if row is None or row[0] is None else int(row[0]) + 1

    def append_entry(self, index: int, entry_type: str, data: bytes, leaf: bytes) -> None:
        self._x("INSERT INTO entry(idx, type, data, leaf) VALUES(%s, %s, %s, %s)",
                (index, _text(entry_type), data, leaf))

    def append_entries(self, rows: Sequence[tuple[int, str, bytes, bytes]]) -> None:
        self._copy("entry(idx, type, data, leaf)", ("bigint", "text", "bytea", "bytea"),
                   [(i, _text(t), d, h) for i, t, d, h in rows])

    def entry(self, index: int) -> bytes:
        row = self._one("SELECT data FROM entry WHERE idx=%s", (index,))
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_entry", index=index,
                                   where=self.location))
        return blob(row[0], f"entry {index}")

    def entries(self, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
        while lo < hi:
            rows = self._x("SELECT idx, data FROM entry WHERE idx >= %s AND idx < %s "
                           "ORDER BY idx LIMIT %s", (lo, hi, _PAGE)).fetchall()
            if not rows:
                return
            for idx, data in rows:
                yield int(idx), blob(data, f"entry {idx}")
            lo = int(rows[-1][0]) + 1

    def leaf(self, index: int) -> bytes:
        row = self._one("SELECT leaf FROM entry WHERE idx=%s", (index,))
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_leaf", index=index,
                                   where=self.location))
        return blob(row[0], f"the leaf hash of entry {index}")

    def put_node(self, level: int, index: int, digest: bytes) -> None:
        self._x("INSERT INTO node(level, idx, hash) VALUES(%s, %s, %s)", (level, index, digest))

    def put_nodes(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        self._copy("node(level, idx, hash)", ("smallint", "bigint", "bytea"), rows)

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaf(index)
        row = self._one("SELECT hash FROM node WHERE level=%s AND idx=%s", (level, index))
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_node", level=level, index=index,
                                   where=self.location))
        return blob(row[0], f"interior hash (level {level}, index {index})")

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # in a transaction (a writer, or a check before signing) every hash from the store;
        # outside one (proofs served to readers), the upper levels kept from earlier reads
        return self._upper.read_through(wanted, bool(self._nesting.depth), self._read_nodes,
                                        self.location)

    def _read_nodes(self, missing: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        leaves = sorted({i for level, i in missing if level == 0})
        inner = sorted({(level, i) for level, i in missing if level != 0})
        read: dict[tuple[int, int], bytes] = {}
        if leaves:
            for i, h in self._x("SELECT idx, leaf FROM entry WHERE idx = ANY(%s::bigint[])",
                                (leaves,)).fetchall():
                read[(0, int(i))] = blob(h, f"the leaf hash of entry {i}")
        if inner:
            for level, i, h in self._x(
                    "SELECT n.level, n.idx, n.hash FROM node n JOIN unnest(%s::smallint[], "
                    "%s::bigint[]) AS w(level, idx) ON n.level = w.level AND n.idx = w.idx",
                    ([lv for lv, _ in inner], [i for _, i in inner])).fetchall():
                read[(int(level), int(i))] = blob(
                    h, f"interior hash (level {level}, index {i})")
        return read

    # --- devices and readings -------------------------------------------------------------

    _PUT_DEVICE = device_upsert("%s")

    def device(self, device_id: str) -> DeviceRow | None:
        row = self._one(f"SELECT {DEVICE_COLS} FROM device WHERE device_id=%s", (device_id,))
        return None if row is None else DeviceRow.from_columns(row)

    def put_device(self, row: DeviceRow) -> None:
        self._x(self._PUT_DEVICE, row.params(_text))

    def put_devices(self, rows: Sequence[DeviceRow]) -> None:
        self._many(self._PUT_DEVICE, [r.params(_text) for r in rows])

    def devices(self) -> list[DeviceRow]:
        cur = self._x(f"SELECT {DEVICE_COLS} FROM device ORDER BY enrol_index")
        return [DeviceRow.from_columns(r) for r in cur.fetchall()]

    def flagged_devices(self) -> list[DeviceRow]:
        cur = self._x(f"SELECT {DEVICE_COLS} FROM device WHERE flag IS NOT NULL "
                      "ORDER BY enrol_index")
        return [DeviceRow.from_columns(r) for r in cur.fetchall()]

    def reading(self, device_id: str, seq: int) -> ReadingRow | None:
        row = self._one("SELECT leaf_index, sha256 FROM reading WHERE device_id=%s AND seq=%s",
                        (device_id, seq))
        return None if row is None else ReadingRow(device_id, seq, int(row[0]), str(row[1]))

    def put_reading(self, row: ReadingRow) -> None:
        self._x("INSERT INTO reading(device_id, seq, leaf_index, sha256) "
                "VALUES(%s, %s, %s, %s)", (row.device_id, row.seq, row.leaf_index, row.sha256))

    def put_readings(self, rows: Sequence[ReadingRow]) -> None:
        self._copy("reading(device_id, seq, leaf_index, sha256)",
                   ("text", "bigint", "bigint", "text"),
                   [(r.device_id, r.seq, r.leaf_index, r.sha256) for r in rows])

    def meter_cursor(self, device_id: str, meter: str) -> tuple[str, int] | None:
        row = self._one("SELECT end_at, register_end_wh FROM meter_cursor WHERE device_id=%s "
                        "AND meter=%s", (device_id, _text(meter)))
        return None if row is None else (str(row[0]), int(row[1]))

    _PUT_CURSOR = ("INSERT INTO meter_cursor(device_id, meter, end_at, register_end_wh) "
                   "VALUES(%s, %s, %s, %s) ON CONFLICT (device_id, meter) DO UPDATE SET "
                   "end_at=EXCLUDED.end_at, register_end_wh=EXCLUDED.register_end_wh")

    def put_meter_cursor(self, device_id: str, meter: str, end: str,
                         register_end_wh: int) -> None:
        self._x(self._PUT_CURSOR, (device_id, _text(meter), end, register_end_wh))

    def put_meter_cursors(self, rows: Sequence[tuple[str, str, str, int]]) -> None:
        self._many(self._PUT_CURSOR, [(d, _text(m), e, w) for d, m, e, w in rows])

    def record_rejection(self, device_id: str, seq: int | None, reason: str, at: str,
                         seal: str | None = None) -> None:
        self._x("INSERT INTO rejection(device_id, seq, reason, at, seal) "
                "VALUES(%s, %s, %s, %s, %s)", (_text(device_id), seq, _text(reason), at, seal))

    def rejection_high_water(self) -> int:
        row = self._one("SELECT COALESCE(MAX(id), 0) FROM rejection")
        return 0 if row is None else int(row[0])

    def rejections(self, limit: int = 100) -> list[tuple[str, int | None, str, str]]:
        cur = self._x("SELECT device_id, seq, reason, at FROM rejection "
                      "ORDER BY id DESC LIMIT %s", (limit,))
        return [(str(d), None if s is None else int(s), str(r), str(a))
                for d, s, r, a in cur.fetchall()]

    # --- checkpoints ----------------------------------------------------------------------

    def latest_checkpoint(self) -> CheckpointRow | None:
        row = self._one("SELECT size, root, note, proof, signed_at, seal FROM checkpoint "
                        "ORDER BY size DESC LIMIT 1")
        if row is None:
            return None
        return CheckpointRow.from_columns(row)

    def checkpoints(self) -> list[CheckpointRow]:
        rows = self._x("SELECT size, root, note, proof, signed_at, seal FROM checkpoint "
                       "ORDER BY size").fetchall()
        return [CheckpointRow.from_columns(r) for r in rows]

    def add_checkpoint(self, row: CheckpointRow) -> None:
        self._x("INSERT INTO checkpoint(size, root, note, proof, signed_at, seal) "
                "VALUES(%s, %s, %s, %s, %s, %s)",
                (row.size, row.root, row.note, b"".join(row.proof), row.signed_at, row.seal))

    # --- witness cosignatures -------------------------------------------------------------

    def add_cosignature(self, size: int, name: str, line: str) -> None:
        self._x("INSERT INTO cosignature(size, name, line) VALUES(%s, %s, %s) "
                "ON CONFLICT(size, name) DO UPDATE SET line=excluded.line",
                (size, _text(name), _text(line)))

    def cosignatures(self, size: int) -> list[str]:
        # byte order, as SQLite sorts, whatever the database's collation
        cur = self._x('SELECT line FROM cosignature WHERE size=%s ORDER BY name COLLATE "C"',
                      (size,))
        return [str(r[0]) for r in cur.fetchall()]

    # --- credential status ----------------------------------------------------------------

    def status_index(self, device_id: str) -> int | None:
        row = self._one("SELECT status_index FROM credential_status WHERE device_id=%s",
                        (device_id,))
        return None if row is None else int(row[0])

    def add_status_index(self, device_id: str, index: int) -> None:
        self._x("INSERT INTO credential_status(device_id, status_index) VALUES(%s, %s)",
                (device_id, index))

    def status_indexes(self) -> list[int]:
        rows = self._x("SELECT status_index FROM credential_status ORDER BY status_index")
        return [int(r[0]) for r in rows.fetchall()]

    def revoked_status_indexes(self) -> list[int]:
        rows = self._x("SELECT s.status_index FROM credential_status s JOIN device d "
                       "ON d.device_id = s.device_id WHERE d.revoked_index IS NOT NULL "
                       "ORDER BY s.status_index")
        return [int(r[0]) for r in rows.fetchall()]

    # --- the audit -------------------------------------------------------------------------

    def raw_rows(self, table: str) -> Iterator[tuple[object, ...]]:
        """Keyset pages of :data:`_PAGE` rows (PostgreSQL enforces the column types, so the
        values are what the schema says; text keys in byte order, as SQLite sorts)."""
        columns, keys = RAW_TABLES[table].columns, RAW_TABLES[table].keys
        key = ", ".join(f'{c} COLLATE "C"' if c in _TEXT_KEYS else c for c in columns[:keys])
        query = f"SELECT {', '.join(columns)} FROM {table}"
        after: tuple[object, ...] | None = None
        while True:
            if after is None:
                rows = self._x(f"{query} ORDER BY {key} LIMIT %s", (_PAGE,)).fetchall()
            else:
                marks = ", ".join(["%s"] * keys)
                rows = self._x(f"{query} WHERE ({key}) > ({marks}) ORDER BY {key} LIMIT %s",
                               (*after, _PAGE)).fetchall()
            yield from rows
            if len(rows) < _PAGE:
                return
            after = tuple(rows[-1][:keys])

    # --- moving personal data out ----------------------------------------------------------

    def legacy_households(self) -> list[tuple[str, str]] | None:
        if not self._legacy_households:
            return None
        rows = self._x(f"SELECT pseudonym, reference FROM {_LEGACY} ORDER BY pseudonym")
        return [(str(p), str(r)) for p, r in rows.fetchall()]

    def drop_legacy_households(self) -> None:
        """DROP TABLE unlinks the table's files (unlike DELETE, which leaves dead tuples until
        VACUUM); the server's WAL, replicas and backups keep the rows until they are recycled —
        the reason personal data no longer lives in this database."""
        if not self._legacy_households:
            return
        with self.transaction():
            self._x(f"DROP TABLE IF EXISTS {_LEGACY}")
        self._legacy_households = False
