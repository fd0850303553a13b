"""``ledger verify``: recompute everything from the stored entries and name what is wrong.

The only place that reads every leaf: each entry is replayed with the same rules as the
buyer's verifier (:class:`eco_protocol.replay.LedgerReplay`: signatures against enrolments,
seq/prev chains, plausibility), its stored leaf hash, its ``type`` column and every stored
interior hash are recomputed, every checkpoint the log signed is checked (signature, root at its
size, the stored consistency proof from its predecessor), and every table derived from the log is
re-derived and compared row by row, both ways: the ``(device, seq)`` reading index, the device
table, the meter cursors, the derived meta keys and the stored witness lines. Every stored byte is
either signed, or derived and checked here; the two facts of the moment the log cannot re-derive
— a checkpoint's ``signed_at`` and the rows of ``rejection`` (the operator's record of refused
messages) — are sealed with the log key when written and their seals checked
(:mod:`aggregator.row_seal`). Household references are not in the store at all
(:mod:`aggregator.personal`). A value of the wrong SQL type, or text
that is not UTF-8, is a problem naming its table, row and column, never a crash. By default the
first problem raises; with ``all_problems`` the audit carries on and returns every problem it
found.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.encoding import format_time, parse_time
from eco_protocol.errors import InvalidInput, NoteError
from eco_protocol.logkey import LogKeyChain, same_key
from eco_protocol.merkle import EMPTY_ROOT, leaf_hash, node_hash, verify_consistency
from eco_protocol.note import Verifier, open_checkpoint
from eco_protocol.parallel import SignaturePool, default_workers
from eco_protocol.records import Enrolment, Reading, Revocation
from eco_protocol.replay import EntryProblem, LedgerReplay

from . import row_seal
from .errors import StoreCorrupt
from .intake import CURSORS_META
from .ledger import KEY_CHANGES_META, Ledger
from .progress import ProgressCallback, every
from .quarantine import flag_for
from .store.interface import RAW_TABLES, CheckpointRow, LedgerStore, stored_as


@dataclass(frozen=True, slots=True)
class AuditReport:
    size: int
    checkpoint_size: int | None
    counts: dict[str, int]
    devices: int
    root_hex: str
    checkpoints: int = 0
    problems: tuple[str, ...] = field(default=())
    excluded: dict[str, int] = field(default_factory=dict)  # non-creditable readings by rule


class _Problems:
    def __init__(self, keep_going: bool, pool: SignaturePool | None = None) -> None:
        self.keep_going = keep_going
        self.found: list[str] = []
        self.pool = pool

    def __call__(self, message: str) -> None:
        if not self.keep_going:
            raise StoreCorrupt(self._deferred_failure() or message)
        self.found.append(message)

    def check_deferred(self) -> None:
        """Raise the first bad signature the pool found, if any (fail-fast mode)."""
        failure = self._deferred_failure()
        if failure is not None:
            raise StoreCorrupt(failure)

    def _deferred_failure(self) -> str | None:
        """The lowest entry whose signature the pool found bad, worded as the inline check
        words it. Every entry handed to the pool precedes, or is, the one a problem was just
        found in, and a reading's signature is checked before its chain and plausibility, so
        this is the problem the one-process audit would have raised first."""
        failure = None if self.pool is None else self.pool.first_failure()
        return None if failure is None else f"ledger {EntryProblem(*failure)}"


PARALLEL_FROM = 20_000  # entries; below this a process pool costs more than it saves


def audit(ledger: Ledger, progress: ProgressCallback | None = None,
          all_problems: bool = False, workers: int | None = None,
          rules: CreditRules = DEFAULT_RULES, witnesses: Sequence[Verifier] = (),
          now: datetime | None = None) -> AuditReport:
    """``progress`` is called with ``("verify", done, size)`` as entries are replayed.

    ``workers``: processes that check the readings' signatures while this one replays (speed:
    :mod:`eco_protocol.parallel`); by default one fewer than the cores for a ledger of at least
    :data:`PARALLEL_FROM` entries. Not with ``all_problems``, where a bad entry's effects must
    be skipped before the next entry is replayed. The verdict, and the entry it names, are the
    same either way.

    ``witnesses``: the configured witness keys (``[witnesses] vkeys``); with them every stored
    cosignature line must verify under one, without them only its form is checked. ``now``: the
    time checkpoints' ``signed_at`` may not be after (default: the clock).
    """
    if workers is None:
        workers = default_workers() if ledger.store.size() >= PARALLEL_FROM else 0
    pool = SignaturePool(workers) if workers > 0 and not all_problems else None
    try:
        return _audit(ledger, progress, all_problems, pool, rules, witnesses, now)
    finally:
        if pool is not None:
            pool.close()


_RESTORE = "restore the store from a backup or a mirror (the log's entries are authoritative)"


def _fits(value: object, kind: str) -> bool:
    if value is None:
        return kind.endswith("?")
    kind = kind.rstrip("?")
    if kind == "INTEGER":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "TEXT":
        return isinstance(value, str)
    return isinstance(value, bytes | bytearray | memoryview)


def _typed(problem: _Problems, table: str, where: str, row: tuple[object, ...]) -> bool:
    """Whether every value of ``row`` has its column's SQL type; each one that does not is a
    problem naming the table, the row's key and the column."""
    ok = True
    t = RAW_TABLES[table]
    for column, kind, value in zip(t.columns, t.kinds, row, strict=True):
        if not _fits(value, kind):
            ok = False
            problem(f"{where}: column {table}.{column} holds {stored_as(value)}, not "
                    f"{kind.rstrip('?')}{' or NULL' if kind.endswith('?') else ''}; {_RESTORE}")
    return ok


# how far a checkpoint's signed_at may be ahead of now, or behind its predecessor's: clocks step
SIGNED_AT_SKEW = timedelta(minutes=5)


def _audit(ledger: Ledger, progress: ProgressCallback | None, all_problems: bool,
           pool: SignaturePool | None, rules: CreditRules,
           witnesses: Sequence[Verifier], now: datetime | None) -> AuditReport:
    store = ledger.store
    size = store.size()
    problem = _Problems(all_problems, pool)
    try:
        claimed = ledger.key_chain()  # what the store's meta says; the replay must agree
    except (StoreCorrupt, ValueError) as e:  # ValueError: meta log_key_changes is not JSON
        problem(f"meta row '{KEY_CHANGES_META}': {e}")
        claimed = LogKeyChain((ledger.signer.verifier,))
    replay = LedgerReplay(claimed.genesis.public_key,
                          deferred=None if pool is None else pool.submit, rules=rules)
    checkpoints = _checkpoints(store, problem)
    scan = _EntryScan(store, problem, replay, {c.size for c in checkpoints})
    scan.run(size, progress)
    problem.check_deferred()
    if scan.read != size:
        problem(f"store reports {size} entries but only {scan.read} were read")

    chain = replay.chain(claimed.genesis)
    if chain.vkeys() != claimed.vkeys() or chain.changed_at != claimed.changed_at:
        problem(f"the log's eco.logkey/v1 entries (at {list(chain.changed_at)}) do not match "
                f"the key changes the store lists (at {list(claimed.changed_at)})")
    _check_checkpoints(problem, checkpoints, chain, scan.roots, size, now)
    _check_seals(store, problem, checkpoints, chain)
    _check_cosignatures(store, problem, checkpoints, chain, witnesses)
    _check_readings(store, problem, scan.readings, scan.refused)
    _check_devices(store, problem, replay, scan.enrolments, scan.revocations)
    if CURSORS_META in _check_meta(store, problem, chain):
        _check_cursors(store, problem, replay)
    latest = checkpoints[-1].size if checkpoints else None
    return AuditReport(size, latest, dict(replay.counts), len(replay.devices),
                       scan.root().hex(), len(checkpoints), tuple(problem.found),
                       {r.value: n for r, n in sorted(replay.credit.excluded.items())})


@dataclass
class _EntryScan:
    """One pass over the entry table, in index order: each entry is replayed, its leaf hash and
    the interior hashes it completes are recomputed and compared with the stored ones, the roots
    at the checkpoints' sizes are kept, and so is what the derived tables must hold."""

    store: LedgerStore
    problem: _Problems
    replay: LedgerReplay
    wanted: set[int]  # the sizes of the signed checkpoints, whose roots are kept in ``roots``
    roots: dict[int, bytes] = field(default_factory=lambda: {0: EMPTY_ROOT})
    read: int = 0  # entries read: 0 … read-1, with no gap
    stack: list[tuple[int, bytes]] = field(default_factory=list)  # (level, hash): the frontier
    # what the derived tables must hold, as the replay finds it
    readings: dict[tuple[str, int], tuple[int, str]] = field(
        default_factory=dict)  # (device, seq) → (index, sha256)
    enrolments: dict[str, tuple[int, bytes]] = field(
        default_factory=dict)  # device → (index, entry bytes)
    revocations: dict[str, int] = field(default_factory=dict)
    refused: set[int] = field(default_factory=set)  # entries the replay refused (each a problem)

    def run(self, size: int, progress: ProgressCallback | None) -> None:
        for row in self.store.raw_rows("entry"):
            index = row[0]
            if not isinstance(index, int) or index >= size:  # pragma: no cover - idx is the rowid
                self.problem(f"entry table: a row has index {index!r}; {_RESTORE}")
                continue
            if index != self.read:
                self.problem(f"entries {self.read}–{index - 1} are missing from the store")
                break
            self.read += 1
            self._entry(index, row)
            if index + 1 in self.wanted:
                self.roots[index + 1] = self.root()
            every(progress, "verify", index + 1, size)

    def _entry(self, index: int, row: tuple[object, ...]) -> None:
        _typed(self.problem, "entry", f"entry {index}", row)
        stored_type, raw, stored_leaf = row[1], row[2], row[3]
        data = bytes(raw) if isinstance(raw, bytes | bytearray | memoryview) else None
        kind = self._replayed(index, data)
        if kind is not None and isinstance(stored_type, str) and stored_type != kind:
            self.problem(f"entry {index}: column entry.type says {stored_type!r}, but the entry "
                         f"is an {kind} record; set entry.type to {kind!r} for idx {index}, or "
                         f"{_RESTORE}")
        leaf = leaf_hash(data) if data is not None else (
            bytes(stored_leaf) if isinstance(stored_leaf, bytes) else leaf_hash(b""))
        if data is not None and isinstance(stored_leaf, bytes) and stored_leaf != leaf:
            self.problem(f"entry {index}: stored leaf hash does not match its bytes")
        self._add_leaf(index, leaf)

    def _replayed(self, index: int, data: bytes | None) -> str | None:
        """Replay one entry; its record type, or None when it is unreadable or refused (a
        problem): its effects are skipped and the replay carries on with the next entry."""
        if data is None:  # not a BLOB: _typed named the problem
            self._skip(index)
            return None
        try:
            record = self.replay.add(data)
        except InvalidInput as e:
            self.problem(f"ledger {e}")
            self._skip(index)
            return None
        if isinstance(record, Reading):
            self.readings[(record.device_id, record.seq)] = (
                index, self.replay.devices[record.device_id].last_hash)
        elif isinstance(record, Enrolment):
            self.enrolments[record.device_id] = (index, data)
        elif isinstance(record, Revocation):
            self.revocations[record.device_id] = index
        return self.replay.last_type

    def _skip(self, index: int) -> None:
        """The entry at ``index`` is refused: its effects are skipped, the replay moves on."""
        self.refused.add(index)
        self.replay.size = index + 1

    def _add_leaf(self, index: int, leaf: bytes) -> None:
        """Fold ``leaf`` into the frontier, checking each stored interior hash it completes."""
        level, i, h = 0, index, leaf
        while self.stack and self.stack[-1][0] == level:
            _, left = self.stack.pop()
            h = node_hash(left, h)
            level += 1
            i >>= 1
            try:
                stored = self.store.node(level, i)
            except StoreCorrupt as e:
                self.problem(str(e))
                continue
            if stored != h:
                self.problem(f"interior hash (level {level}, index {i}) is wrong; it covers "
                             f"entries {i << level}–{((i + 1) << level) - 1}")
        self.stack.append((level, h))

    def root(self) -> bytes:
        """The root of the tree of the entries read so far."""
        if not self.stack:
            return EMPTY_ROOT
        h = self.stack[-1][1]
        for _, left in reversed(self.stack[:-1]):
            h = node_hash(left, h)
        return h


def _checkpoints(store: LedgerStore, problem: _Problems) -> list[CheckpointRow]:
    """The checkpoint rows whose values have their SQL types (the others are problems)."""
    out = []
    for row in store.raw_rows("checkpoint"):
        where = f"checkpoint row (size {row[0]!r})"
        if not _typed(problem, "checkpoint", where, row):
            continue
        proof = row[3]
        assert isinstance(proof, bytes | bytearray | memoryview)
        if len(bytes(proof)) % 32:
            problem(f"{where}: its proof is {len(bytes(proof))} bytes, not a whole number "
                    f"of 32-byte hashes; {_RESTORE}")
            continue
        out.append(CheckpointRow.from_columns(row))
    return out


def _check_checkpoints(problem: _Problems, checkpoints: list[CheckpointRow],
                       chain: LogKeyChain, roots: dict[int, bytes], size: int,
                       now: datetime | None) -> None:
    """Each checkpoint's signed note, its root and its consistency proof from the previous one.

    ``signed_at`` is not covered by the log's signature (the note is: origin, size, root), so it
    is advisory metadata; all the audit can hold it to is being an RFC 3339 UTC time, not before
    the previous checkpoint's and not in the future (either beyond :data:`SIGNED_AT_SKEW`, for
    a clock that stepped)."""
    previous = None
    latest_time: datetime | None = None
    limit = (now or datetime.now(UTC)) + SIGNED_AT_SKEW
    for cp in checkpoints:
        where = f"checkpoint of size {cp.size} (signed {cp.signed_at})"
        try:
            at = parse_time(cp.signed_at, "signed_at")
        except InvalidInput as e:
            problem(f"{where}: column checkpoint.signed_at (advisory, not signed) is not a "
                    f"time: {e}; set it to the time the checkpoint was signed")
        else:
            if at > limit:
                problem(f"{where}: column checkpoint.signed_at (advisory, not signed) is in the "
                        f"future; set it to the time the checkpoint was signed")
            elif latest_time is not None and at < latest_time - SIGNED_AT_SKEW:
                problem(f"{where}: column checkpoint.signed_at (advisory, not signed) is before "
                        f"the previous checkpoint's ({format_time(latest_time)}); set it to the "
                        "time the checkpoint was signed")
            latest_time = max(at, latest_time or at)
        try:
            checkpoint, _ = open_checkpoint(cp.note, chain.key_at(cp.size))
            if previous is not None and not same_key(chain.key_at(previous.size),
                                                     chain.key_at(cp.size)):
                # the checkpoint that ends a key change carries the old key's signature too
                open_checkpoint(cp.note, chain.key_at(previous.size))
        except InvalidInput as e:
            problem(f"{where}: {e}")
            previous = cp
            continue
        root = roots.get(cp.size)
        if root is None:
            problem(f"{where}: the store has only {size} entries")
        elif checkpoint.size != cp.size or checkpoint.root_hash != root or cp.root != root:
            problem(f"{where}: its root differs from the root recomputed from the entries")
        if previous is not None and previous.size > 0:
            try:
                verify_consistency(previous.size, cp.size, previous.root, cp.root, cp.proof)
            except InvalidInput as e:
                problem(f"{where}: the stored consistency proof from size {previous.size} "
                        f"fails: {e}")
        previous = cp


def _check_seals(store: LedgerStore, problem: _Problems, checkpoints: list[CheckpointRow],
                 chain: LogKeyChain) -> None:
    """The values the log cannot re-derive — each checkpoint's ``signed_at``, each rejection
    row — carry a seal by one of the log's keys (aggregator/row_seal.py); rows from before the
    seals existed are those below the sealed marker. A changed value, a dropped seal or a
    changed marker is named."""
    keys = [v.public_key for v in chain.keys]
    first_rejection, first_checkpoint = 1, 0  # no marker: every row must be sealed
    text = store.get_meta(row_seal.SEALS_FROM_META)
    if text is not None:
        found = row_seal.read_marker(keys, text)
        if found is None:
            problem(f"meta row '{row_seal.SEALS_FROM_META}' is not sealed by the log's key, so "
                    f"every checkpoint and rejection row is held to a seal; {_RESTORE}")
        else:
            first_rejection, first_checkpoint = found
    for cp in checkpoints:
        if cp.size >= first_checkpoint and not row_seal.holds(
                keys, "checkpoint", [cp.size, cp.signed_at], cp.seal):
            problem(f"checkpoint of size {cp.size}: column checkpoint.signed_at "
                    f"({cp.signed_at!r}) or checkpoint.seal is not what the log sealed; "
                    f"{_RESTORE}")
    for row in store.raw_rows("rejection"):
        where = f"rejection row {row[0]!r}"
        if not _typed(problem, "rejection", where, row):
            continue
        rid, device_id, seq, reason, at, sig = row
        assert isinstance(rid, int)
        if rid >= first_rejection and not row_seal.holds(
                keys, "rejection", [device_id, seq, reason, at], sig):  # type: ignore[list-item]
            problem(f"{where} (device {device_id}, at {at}): its values or its seal are not "
                    f"what the log sealed; {_RESTORE}")


def _check_cosignatures(store: LedgerStore, problem: _Problems,
                        checkpoints: list[CheckpointRow], chain: LogKeyChain,
                        witnesses: Sequence[Verifier]) -> None:
    """Each stored witness line must be one signature line, by the witness its row names, for a
    checkpoint the log signed; with the configured ``witnesses`` (their keys are configuration,
    not in the store) it must also verify under one of them. Without them, a line's signature
    cannot be checked here (``eco-verify --witness`` does)."""
    notes = {cp.size: cp.note for cp in checkpoints}
    for row in store.raw_rows("cosignature"):
        where = f"cosignature row (size {row[0]!r}, witness {row[1]!r})"
        if not _typed(problem, "cosignature", where, row):
            continue
        size, name, line = row
        assert isinstance(size, int) and isinstance(name, str) and isinstance(line, str)
        note = notes.get(size)
        if note is None:
            problem(f"{where}: the log signed no checkpoint of size {size}; delete the row")
            continue
        log_key = chain.key_at(size)
        try:
            if line.count("\n") != 1 or not line.endswith("\n"):
                raise NoteError("it is not one line ending in a newline")
            _, opened = open_checkpoint(note + line, log_key, witnesses)
        except InvalidInput as e:
            problem(f"{where}: the stored line is not a valid signature line on that "
                    f"checkpoint: {e}; delete the row (the witness can cosign again)")
            continue
        sigs = [s for s in (*opened.sigs, *opened.unverified) if s.line == line]
        if not sigs or sigs[0].name != name or name == log_key.name:
            problem(f"{where}: the stored line is signed as "
                    f"{sigs[0].name if sigs else 'the log'}, not by witness {name}; delete the "
                    "row")
        elif witnesses and sigs[0] not in opened.sigs:
            problem(f"{where}: the line is by no configured witness key; delete the row")


def _check_readings(store: LedgerStore, problem: _Problems,
                    readings: dict[tuple[str, int], tuple[int, str]], refused: set[int]) -> None:
    """The ``(device, seq) → entry, sha256`` index the intake answers resends from: every row
    must be a reading in the log, and every reading in the log must have its row."""
    fix = ("correct the row to what the log says, or " + _RESTORE)
    for row in store.raw_rows("reading"):
        where = f"reading index row (device {row[0]}, seq {row[1]!r})"
        typed = _typed(problem, "reading", where, row)
        device_id, seq, leaf_index, sha256 = row
        want = readings.pop((device_id, seq), None)  # type: ignore[arg-type]
        if not typed:
            continue
        if want is None:
            if leaf_index not in refused:
                problem(f"{where} points at entry {leaf_index}, but the log holds no reading "
                        f"of that device with that seq; delete the row, or {_RESTORE}")
        elif (leaf_index, sha256) != want:
            problem(f"{where} says entry {leaf_index}, sha256 {sha256}; the log has entry "
                    f"{want[0]}, sha256 {want[1]} (a resend of it would be refused as a "
                    f"fork); {fix}")
    for (device_id, seq), (index, sha256) in readings.items():
        problem(f"reading index row (device {device_id}, seq {seq}) is missing: the log has "
                f"that reading at entry {index}, sha256 {sha256} (a resend of it would be "
                f"appended twice); insert the row, or {_RESTORE}")


def _check_devices(store: LedgerStore, problem: _Problems, replay: LedgerReplay,
                   enrolments: dict[str, tuple[int, bytes]],
                   revocations: dict[str, int]) -> None:
    """The device table, column by column, against the replay; ``flag`` mirrors the device's
    quarantine in the log (aggregator/quarantine.py)."""
    seen = set()
    for row in store.raw_rows("device"):
        where = f"device table row {row[0]}"
        if not _typed(problem, "device", where, row):
            if isinstance(row[0], str):
                seen.add(row[0])
            continue
        device_id, enrol_index, enrolment, next_seq, last_hash, revoked_index, flag = row
        assert isinstance(device_id, str)
        assert isinstance(enrolment, bytes | bytearray | memoryview)
        seen.add(device_id)
        state = replay.devices.get(device_id)  # type: ignore[call-overload]
        enrolled = enrolments.get(device_id)
        if state is None or enrolled is None:
            problem(f"device table lists {device_id}, which has no enrolment entry; delete the "
                    f"row, or {_RESTORE}")
            continue
        revoked = revocations.get(device_id)
        for column, got, want in (
                ("enrol_index", enrol_index, enrolled[0]),
                ("enrolment", bytes(enrolment), enrolled[1]),
                ("next_seq", next_seq, state.next_seq),
                ("last_hash", last_hash, state.last_hash),
                ("revoked_index", revoked_index, revoked),
                ("flag", flag, flag_for(state.quarantined))):
            if got != want:
                said = (f"{len(got)} other bytes" if isinstance(got, bytes) else repr(got))
                has = (f"the bytes of entry {enrolled[0]}" if isinstance(want, bytes)
                       else repr(want))
                problem(f"device table row {device_id}: column device.{column} says {said}, the "
                        f"log says {has}; correct the column to what the log says, or {_RESTORE}")
    for device_id, (index, _) in enrolments.items():
        if device_id not in seen:
            problem(f"device {device_id}, enrolled at entry {index}, has no device table row; "
                    f"{_RESTORE}")


def _check_meta(store: LedgerStore, problem: _Problems, chain: LogKeyChain) -> set[str]:
    """The meta keys derived from the log: the current log key, the key-change indexes (checked
    against the replay above) and the meter-cursor marker; the schema version is the program's
    (checked on opening). Other keys are not the log's and are left alone. Returns the keys."""
    derived = {"log_vkey": chain.current.vkey, KEY_CHANGES_META: None, CURSORS_META: "1",
               "schema_version": None}
    keys = set()
    for row in store.raw_rows("meta"):
        where = f"meta row {row[0]!r}"
        if isinstance(row[0], str):
            keys.add(row[0])
        if not _typed(problem, "meta", where, row):
            continue
        key, value = row
        want = derived.get(key) if isinstance(key, str) else None
        if want is not None and value != want:
            problem(f"{where}: it says {value!r}, the log says {want!r}; {_RESTORE}")
    return keys


def _check_cursors(store: LedgerStore, problem: _Problems, replay: LedgerReplay) -> None:
    """The intake judges creditability from these; they must be what the log implies."""
    want = {key: (format_time(c.end), c.register_end_wh)
            for key, c in replay.credit.cursors.items()}
    for row in store.raw_rows("meter_cursor"):
        where = f"meter cursor of {row[0]}/{row[1]} (meter_cursor row)"
        typed = _typed(problem, "meter_cursor", where, row)
        expected = want.pop((row[0], row[1]), None)  # type: ignore[arg-type]
        got = (row[2], row[3])
        if typed and expected is None:
            problem(f"{where}: the store says {got}, but the log has no reading of that meter; "
                    f"delete the row, or {_RESTORE}")
        elif typed and got != expected:
            problem(f"{where}: the store says {got}, the log says {expected}; correct the row "
                    f"to what the log says, or {_RESTORE}")
    for (device, meter), expected in want.items():
        problem(f"meter cursor of {device}/{meter} (meter_cursor row): the store says None, "
                f"the log says {expected}; {_RESTORE}")
