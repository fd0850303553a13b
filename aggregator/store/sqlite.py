"""The embedded store: one SQLite file, WAL, ``synchronous=FULL``, group commit.

One municipality on one machine needs nothing more. WAL lets ``eco-aggregator status``/``export``
read while ``serve`` writes; ``BEGIN IMMEDIATE`` serialises writers across processes (an operator
running ``enrol`` while ``serve`` appends), and a busy timeout makes them queue instead of fail.
``synchronous=FULL`` because a receipt tells a device it may delete its copy: the commit must be on
disk before the receipt leaves (sqlite.org/pragma.html#pragma_synchronous).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from eco_protocol.messages import msg

from ..errors import EnvironmentProblem, StoreCorrupt
from .interface import (
    DEVICE_COLS,
    RAW_TABLES,
    CheckpointRow,
    DeviceRow,
    ReadingRow,
    TransactionNesting,
    Undecodable,
    UpperLevels,
    blob,
    device_upsert,
)

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS entry (
    idx INTEGER PRIMARY KEY, type TEXT NOT NULL, data BLOB NOT NULL, leaf BLOB NOT NULL);
CREATE TABLE IF NOT EXISTS node (
    level INTEGER NOT NULL, idx INTEGER NOT NULL, hash BLOB NOT NULL,
    PRIMARY KEY (level, idx)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS device (
    device_id TEXT PRIMARY KEY, enrol_index INTEGER NOT NULL, enrolment BLOB NOT NULL,
    next_seq INTEGER NOT NULL, last_hash TEXT NOT NULL, revoked_index INTEGER, flag TEXT);
CREATE TABLE IF NOT EXISTS reading (
    device_id TEXT NOT NULL, seq INTEGER NOT NULL, leaf_index INTEGER NOT NULL,
    sha256 TEXT NOT NULL, PRIMARY KEY (device_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meter_cursor (
    device_id TEXT NOT NULL, meter TEXT NOT NULL, end_at TEXT NOT NULL,
    register_end_wh INTEGER NOT NULL, PRIMARY KEY (device_id, meter)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS rejection (
    id INTEGER PRIMARY KEY AUTOINCREMENT, device_id TEXT NOT NULL, seq INTEGER,
    reason TEXT NOT NULL, at TEXT NOT NULL, seal TEXT);
CREATE TABLE IF NOT EXISTS checkpoint (
    size INTEGER PRIMARY KEY, root BLOB NOT NULL, note TEXT NOT NULL, proof BLOB NOT NULL,
    signed_at TEXT NOT NULL, seal TEXT);
CREATE TABLE IF NOT EXISTS cosignature (
    size INTEGER NOT NULL, name TEXT NOT NULL, line TEXT NOT NULL,
    PRIMARY KEY (size, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS credential_status (
    device_id TEXT PRIMARY KEY, status_index INTEGER NOT NULL UNIQUE) WITHOUT ROWID;
"""


# SQLite primary result codes that mean the environment failed (busy, locked, out of memory,
# read-only, I/O error, disk full, cannot open, no permission), not a damaged file
_ENVIRONMENT_CODES = frozenset({5, 6, 7, 8, 10, 13, 14, 23})


def _is_environment(e: sqlite3.Error) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    return isinstance(code, int) and (code & 0xFF) in _ENVIRONMENT_CODES


def _raw(kind: str, value: object) -> object:
    if kind == "text":
        assert isinstance(value, bytes)
        try:
            return value.decode("utf-8")
        except UnicodeDecodeError:
            return Undecodable(value)
    return value


class SqliteStore:
    """A ledger store in one SQLite file. Not thread-safe: one store object per thread."""

    def __init__(self, path: Path, *, check_integrity: bool = True) -> None:
        self.path = path
        self._nesting = TransactionNesting()
        self._upper = UpperLevels()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, isolation_level=None, timeout=30.0)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute("PRAGMA foreign_keys=ON")
            if check_integrity:
                bad = self._db.execute("PRAGMA quick_check").fetchall()
                if bad != [("ok",)]:
                    raise StoreCorrupt(msg("aggregator.store.integrity", path=path,
                                           bad=str(bad[:3])))
            self._db.executescript(_SCHEMA)
            for table in ("rejection", "checkpoint"):  # sealed rows (aggregator/row_seal.py)
                if "seal" not in {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN seal TEXT")
            self._legacy_households = self._db.execute(
                "SELECT 1 FROM sqlite_master WHERE type='table' AND name='household'"
            ).fetchone() is not None
        except sqlite3.DatabaseError as e:
            if _is_environment(e):
                raise EnvironmentProblem(msg("aggregator.store.cannot_open", path=path,
                                             error=str(e))) from e
            raise StoreCorrupt(msg("aggregator.store.damaged", path=path, error=str(e))) from e
        version = self.get_meta("schema_version")
        if version is None:
            self.set_meta("schema_version", SCHEMA_VERSION)
        elif version != SCHEMA_VERSION:
            raise EnvironmentProblem(msg("aggregator.store.schema", path=path, version=version,
                                         known=SCHEMA_VERSION))

    # --- transactions ---------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """All-or-nothing; nested use joins the outer transaction."""
        with self._nesting.join(self._outermost):
            yield

    @contextmanager
    def _outermost(self) -> Iterator[None]:
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:  # SQLite may have rolled back already (disk full)
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.OperationalError as e:
            if _is_environment(e):
                raise EnvironmentProblem(msg("aggregator.store.full", path=self.path,
                                             error=str(e))) from e
            raise

    def close(self) -> None:
        self._db.close()

    # --- meta -----------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT CAST(value AS BLOB) FROM meta WHERE key=?",
                               (key,)).fetchone()
        if row is None:
            return None
        try:
            return bytes(row[0]).decode("utf-8")
        except (TypeError, UnicodeDecodeError) as e:
            raise StoreCorrupt(msg("aggregator.store.meta_utf8", key=key,
                                   path=self.path)) from e

    def set_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT INTO meta(key, value) VALUES(?, ?) "
                         "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))

    # --- tree -----------------------------------------------------------------------------

    def size(self) -> int:
        row = self._db.execute("SELECT MAX(idx) FROM entry").fetchone()
        return 0 if row[0] is None else int(row[0]) + 1

    def append_entry(self, index: int, entry_type: str, data: bytes, leaf: bytes) -> None:
        self._db.execute("INSERT INTO entry(idx, type, data, leaf) VALUES(?, ?, ?, ?)",
                         (index, entry_type, data, leaf))

    def append_entries(self, rows: Sequence[tuple[int, str, bytes, bytes]]) -> None:
        self._db.executemany("INSERT INTO entry(idx, type, data, leaf) VALUES(?, ?, ?, ?)", rows)

    def entry(self, index: int) -> bytes:
        row = self._db.execute("SELECT data FROM entry WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_entry", index=index, where=self.path))
        return blob(row[0], f"entry {index}")

    def entries(self, lo: int, hi: int) -> Iterator[tuple[int, bytes]]:
        cur = self._db.execute("SELECT idx, data FROM entry WHERE idx >= ? AND idx < ? "
                               "ORDER BY idx", (lo, hi))
        for idx, data in cur:
            yield int(idx), blob(data, f"entry {idx}")

    def leaf(self, index: int) -> bytes:
        row = self._db.execute("SELECT leaf FROM entry WHERE idx=?", (index,)).fetchone()
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_leaf", index=index, where=self.path))
        return blob(row[0], f"the leaf hash of entry {index}")

    def put_node(self, level: int, index: int, digest: bytes) -> None:
        self._db.execute("INSERT INTO node(level, idx, hash) VALUES(?, ?, ?)",
                         (level, index, digest))

    def put_nodes(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        self._db.executemany("INSERT INTO node(level, idx, hash) VALUES(?, ?, ?)", rows)

    def node(self, level: int, index: int) -> bytes:
        if level == 0:
            return self.leaf(index)
        row = self._db.execute("SELECT hash FROM node WHERE level=? AND idx=?",
                               (level, index)).fetchone()
        if row is None:
            raise StoreCorrupt(msg("aggregator.store.no_node", level=level, index=index,
                                   where=self.path))
        return blob(row[0], f"interior hash (level {level}, index {index})")

    def nodes(self, wanted: Sequence[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        # in a transaction (a writer, or a check before signing) every hash from the store;
        # outside one (proofs served to readers), the upper levels kept from earlier reads
        return self._upper.read_through(wanted, self._db.in_transaction, self._read_nodes,
                                        self.path)

    def _read_nodes(self, missing: list[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        pairs = sorted(set(missing))
        # one statement; SQLite scans the listed pairs and looks each up by primary key
        # (the leaf hashes of level 0 live with the entries)
        query = ("WITH w(level, idx) AS (VALUES " + ",".join(["(?,?)"] * len(pairs))
                 + ") SELECT w.level, w.idx, n.hash FROM w CROSS JOIN node n "
                 "ON n.level = w.level AND n.idx = w.idx UNION ALL SELECT 0, e.idx, e.leaf "
                 "FROM w CROSS JOIN entry e ON e.idx = w.idx WHERE w.level = 0")
        read: dict[tuple[int, int], bytes] = {}
        for level, i, h in self._db.execute(query, [x for pair in pairs for x in pair]):
            read[(int(level), int(i))] = blob(
                h, f"the leaf hash of entry {i}" if level == 0
                else f"interior hash (level {level}, index {i})")
        return read

    # --- devices and readings -------------------------------------------------------------

    _PUT_DEVICE = device_upsert("?")

    def device(self, device_id: str) -> DeviceRow | None:
        row = self._db.execute(f"SELECT {DEVICE_COLS} FROM device WHERE device_id=?",
                               (device_id,)).fetchone()
        return None if row is None else DeviceRow.from_columns(row)

    def put_device(self, row: DeviceRow) -> None:
        self._db.execute(self._PUT_DEVICE, row.params())

    def put_devices(self, rows: Sequence[DeviceRow]) -> None:
        self._db.executemany(self._PUT_DEVICE, [r.params() for r in rows])

    def devices(self) -> list[DeviceRow]:
        cur = self._db.execute(f"SELECT {DEVICE_COLS} FROM device ORDER BY enrol_index")
        return [DeviceRow.from_columns(r) for r in cur]

    def flagged_devices(self) -> list[DeviceRow]:
        cur = self._db.execute(f"SELECT {DEVICE_COLS} FROM device WHERE flag IS NOT NULL "
                               "ORDER BY enrol_index")
        return [DeviceRow.from_columns(r) for r in cur]

    def reading(self, device_id: str, seq: int) -> ReadingRow | None:
        row = self._db.execute("SELECT leaf_index, sha256 FROM reading WHERE device_id=? AND "
                               "seq=?", (device_id, seq)).fetchone()
        return None if row is None else ReadingRow(device_id, seq, int(row[0]), str(row[1]))

    def put_reading(self, row: ReadingRow) -> None:
        self._db.execute("INSERT INTO reading(device_id, seq, leaf_index, sha256) "
                         "VALUES(?, ?, ?, ?)", (row.device_id, row.seq, row.leaf_index,
                                                row.sha256))

    def put_readings(self, rows: Sequence[ReadingRow]) -> None:
        self._db.executemany("INSERT INTO reading(device_id, seq, leaf_index, sha256) "
                             "VALUES(?, ?, ?, ?)",
                             [(r.device_id, r.seq, r.leaf_index, r.sha256) for r in rows])

    def meter_cursor(self, device_id: str, meter: str) -> tuple[str, int] | None:
        row = self._db.execute("SELECT end_at, register_end_wh FROM meter_cursor WHERE "
                               "device_id=? AND meter=?", (device_id, meter)).fetchone()
        return None if row is None else (str(row[0]), int(row[1]))

    _PUT_CURSOR = ("INSERT INTO meter_cursor(device_id, meter, end_at, register_end_wh) "
                   "VALUES(?, ?, ?, ?) ON CONFLICT(device_id, meter) DO UPDATE SET "
                   "end_at=excluded.end_at, register_end_wh=excluded.register_end_wh")

    def put_meter_cursor(self, device_id: str, meter: str, end: str,
                         register_end_wh: int) -> None:
        self._db.execute(self._PUT_CURSOR, (device_id, meter, end, register_end_wh))

    def put_meter_cursors(self, rows: Sequence[tuple[str, str, str, int]]) -> None:
        self._db.executemany(self._PUT_CURSOR, rows)

    def record_rejection(self, device_id: str, seq: int | None, reason: str, at: str,
                         seal: str | None = None) -> None:
        self._db.execute("INSERT INTO rejection(device_id, seq, reason, at, seal) "
                         "VALUES(?, ?, ?, ?, ?)", (device_id, seq, reason, at, seal))

    def rejection_high_water(self) -> int:
        return int(self._db.execute("SELECT COALESCE(MAX(id), 0) FROM rejection").fetchone()[0])

    def rejections(self, limit: int = 100) -> list[tuple[str, int | None, str, str]]:
        cur = self._db.execute("SELECT device_id, seq, reason, at FROM rejection "
                               "ORDER BY id DESC LIMIT ?", (limit,))
        return [(str(d), None if s is None else int(s), str(r), str(a)) for d, s, r, a in cur]

    # --- checkpoints ----------------------------------------------------------------------

    def latest_checkpoint(self) -> CheckpointRow | None:
        row = self._db.execute("SELECT size, root, note, proof, signed_at, seal FROM checkpoint "
                               "ORDER BY size DESC LIMIT 1").fetchone()
        if row is None:
            return None
        return CheckpointRow.from_columns(row)

    def checkpoints(self) -> list[CheckpointRow]:
        cur = self._db.execute("SELECT size, root, note, proof, signed_at, seal FROM checkpoint "
                               "ORDER BY size")
        return [CheckpointRow.from_columns(r) for r in cur]

    def add_checkpoint(self, row: CheckpointRow) -> None:
        self._db.execute("INSERT INTO checkpoint(size, root, note, proof, signed_at, seal) "
                         "VALUES(?, ?, ?, ?, ?, ?)",
                         (row.size, row.root, row.note, b"".join(row.proof), row.signed_at,
                          row.seal))

    # --- witness cosignatures -------------------------------------------------------------

    def add_cosignature(self, size: int, name: str, line: str) -> None:
        self._db.execute("INSERT INTO cosignature(size, name, line) VALUES(?, ?, ?) "
                         "ON CONFLICT(size, name) DO UPDATE SET line=excluded.line",
                         (size, name, line))

    def cosignatures(self, size: int) -> list[str]:
        cur = self._db.execute("SELECT line FROM cosignature WHERE size=? ORDER BY name", (size,))
        return [str(r[0]) for r in cur]

    # --- credential status ----------------------------------------------------------------

    def status_index(self, device_id: str) -> int | None:
        row = self._db.execute("SELECT status_index FROM credential_status WHERE device_id=?",
                               (device_id,)).fetchone()
        return None if row is None else int(row[0])

    def add_status_index(self, device_id: str, index: int) -> None:
        self._db.execute("INSERT INTO credential_status(device_id, status_index) VALUES(?, ?)",
                         (device_id, index))

    def status_indexes(self) -> list[int]:
        cur = self._db.execute("SELECT status_index FROM credential_status ORDER BY status_index")
        return [int(r[0]) for r in cur]

    def revoked_status_indexes(self) -> list[int]:
        cur = self._db.execute("SELECT s.status_index FROM credential_status s JOIN device d "
                               "ON d.device_id = s.device_id WHERE d.revoked_index IS NOT NULL "
                               "ORDER BY s.status_index")
        return [int(r[0]) for r in cur]

    # --- the audit -------------------------------------------------------------------------

    def raw_rows(self, table: str) -> Iterator[tuple[object, ...]]:
        columns, keys = RAW_TABLES[table].columns, RAW_TABLES[table].keys
        # TEXT comes back as its bytes, so that one that is not UTF-8 is named, not raised
        select = ", ".join(f"typeof({c}), CASE WHEN typeof({c}) = 'text' THEN CAST({c} AS BLOB) "
                           f"ELSE {c} END" for c in columns)
        cur = self._db.execute(f"SELECT {select} FROM {table} "
                               f"ORDER BY {', '.join(columns[:keys])}")
        for row in cur:
            yield tuple(_raw(row[2 * i], row[2 * i + 1]) for i in range(len(columns)))

    # --- moving personal data out ----------------------------------------------------------

    def legacy_households(self) -> list[tuple[str, str]] | None:
        if not self._legacy_households:
            return None
        cur = self._db.execute("SELECT pseudonym, reference FROM household ORDER BY pseudonym")
        return [(str(p), str(r)) for p, r in cur]

    def drop_legacy_households(self) -> None:
        """DROP with secure_delete on, then VACUUM (rewrites every page, so no free page keeps a
        name) and a TRUNCATE checkpoint (the WAL, which held the old pages, is emptied). Once, at
        the upgrade; on a large ledger the VACUUM takes minutes and free space the file's size."""
        if not self._legacy_households:
            return
        self._db.execute("PRAGMA secure_delete=ON")
        with self.transaction():
            self._db.execute("DROP TABLE household")
        self._db.execute("VACUUM")
        busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        self._db.execute("PRAGMA secure_delete=OFF")
        self._legacy_households = False
        if busy is not None and busy[0]:
            # the move itself is done; only the WAL's copy of the old pages waits
            logging.getLogger(__name__).warning(
                "ledger database %s: the household table moved to the personal store, but "
                "another process reading the ledger keeps the rewritten file in the WAL, so the "
                "old pages (with the references) stay on disk until the last process using the "
                "ledger closes it: stop 'eco-aggregator serve' and the web UI once", self.path)
