"""Turning readings messages into ledger entries and receipts, one group commit at a time.

No MQTT here: the worker hands in (topic, payload) pairs and gets back the receipts to publish
once the group is durable. Benchmarks and tests drive it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.creditability import (
    DEFAULT_RULES,
    CreditRules,
    CreditTracker,
    MeterCursor,
    Prejudged,
    advance,
    prejudge,
)
from eco_protocol.encoding import format_time, parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.keys import DeviceId, Ed25519PublicKey, public_key_from_raw
from eco_protocol.merkle import leaf_hash
from eco_protocol.records import (
    ENROL_TYPE,
    MAX_READINGS_PER_MESSAGE,
    QUARANTINE_TYPE,
    READING_TYPE,
    Enrolment,
    Reading,
    Receipt,
    ReceiptItem,
)
from eco_protocol.records import ReceiptStatus as S
from eco_protocol.signing import sign_record
from eco_protocol.topics import readings_device

from .checks import (
    Accept,
    DeviceView,
    Duplicate,
    Prepared,
    Reject,
    TimeWindow,
    decide,
    prepare_many,
)
from .errors import StoreCorrupt
from .ledger import KnownEntries, Ledger
from .quarantine import flag_for, quarantine_entry, quarantined_by, record_legacy_flags
from .rate_gate import RateGate
from .rejection_budget import RejectionBudget
from .store.interface import DeviceRow, ReadingRow

log = logging.getLogger(__name__)

@dataclass(frozen=True, slots=True)
class Outcome:
    """What one readings message produced: the receipt to send (if any) and counts."""

    device_id: str | None
    receipt: dict[str, Any] | None
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    problem: str | None = None  # a message that could not be answered at all


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Caps that keep one misbehaving device from hurting the others."""

    max_payload_bytes: int = 128 * 1024  # 64 readings of ~1 KiB each, with room
    max_future_skew_s: int = 300
    rate_per_device: float = 20.0  # readings messages per second, sustained
    burst_per_device: int = 200  # a backlog drains in bursts of full messages


CURSORS_META = "meter_cursors"  # set once every (device, meter) cursor is in the store


def ensure_cursors(ledger: Ledger, rules: CreditRules = DEFAULT_RULES) -> int:
    """Fill the meter cursors of a ledger written before they were kept (one pass over the log,
    once); returns how many it wrote. A new ledger just gets the marker."""
    store = ledger.store
    if store.get_meta(CURSORS_META) is not None:
        return 0
    with store.transaction():
        if store.get_meta(CURSORS_META) is not None:
            return 0
        tracker = CreditTracker(rules)
        enrolments: dict[str, Enrolment] = {}
        for _, data in store.entries(0, store.size()):
            obj = parse_json(data)
            if obj.get("type") == ENROL_TYPE:
                e = Enrolment.from_dict(obj)
                enrolments[e.device_id] = e
            elif obj.get("type") == READING_TYPE:
                r = Reading.from_dict(obj)
                if r.device_id in enrolments:
                    tracker.add(r, enrolments[r.device_id])
        for (device_id, meter), c in tracker.cursors.items():
            store.put_meter_cursor(device_id, meter, format_time(c.end), c.register_end_wh)
        store.set_meta(CURSORS_META, "1")
    return len(tracker.cursors)


class Intake:
    def __init__(self, ledger: Ledger, limits: IngestLimits | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 rules: CreditRules = DEFAULT_RULES, rate_limit: bool = True) -> None:
        """``rate_limit=False``: the caller applies the per-device limit itself, before the
        messages get here (serve does, in the network thread: aggregator/rate_gate.py)."""
        self.ledger = ledger
        self.store = ledger.store
        self.limits = limits or IngestLimits()
        # the programme's rules, for the receipt's "creditable" (the report re-decides it from
        # the log under the rules it carries; see eco_protocol.creditability)
        self.rules = rules
        ensure_cursors(ledger, rules)
        if record_legacy_flags(ledger, format_time(datetime.now(UTC))):
            ledger.checkpoint_now()
        self._enrolments: dict[bytes, Enrolment] = {}
        self._keys: dict[str, tuple[Enrolment, Ed25519PublicKey]] = {}
        self.gate = RateGate(self.limits.rate_per_device, self.limits.burst_per_device,
                             clock) if rate_limit else None
        self._last_logged: dict[str, float] = {}  # device → its last logged rate_limited
        self._clock = clock
        self.rejections = RejectionBudget(clock=clock)

    def _admit(self, device_id: str) -> tuple[bool, bool]:
        """Token bucket per device: (admitted, first refusal in this minute)."""
        if self.gate is None:
            return True, False
        now = self._clock()
        if self.gate.admit(device_id, now):
            return True, False
        first = now - self._last_logged.get(device_id, -1e9) > 60
        if first:
            self._last_logged[device_id] = now
        return False, first

    def _enrolment(self, entry: bytes) -> Enrolment:
        enrolment = self._enrolments.get(entry)
        if enrolment is None:
            enrolment = Enrolment.from_dict(parse_json(entry))
            self._enrolments[entry] = enrolment
        return enrolment

    def _key(self, device_id: str) -> tuple[Enrolment, Ed25519PublicKey] | None:
        """The device's enrolment and public key, remembered once seen: they never change for a
        device id (it is the hash of the key; a device is enrolled once). Read outside any
        transaction; an unknown device is looked up again under the lock."""
        known = self._keys.get(device_id)
        if known is None:
            row = self.store.device(device_id)
            if row is None:
                return None
            enrolment = self._enrolment(row.enrolment)
            known = (enrolment, public_key_from_raw(enrolment.public_key_raw))
            self._keys[device_id] = known
        return known

    def process(self, messages: Sequence[tuple[str, bytes]], now: str) -> list[Outcome]:
        """Judge and append a group of messages in ONE transaction; receipts after commit.

        Three phases, so that the store's write lock (one sequencer for all workers) is held
        only for what needs the device state: (1) outside the transaction, each message is
        parsed once and each reading canonicalised once, its signature verified and its
        plausibility checked (:func:`~aggregator.checks.prepare`); (2) in one transaction —
        the group commit, one fsync per group — the seq/prev chain, duplicates and forks are
        decided against the device state, which is read once per device and kept in memory
        for the group, and what the group decided is written at its end, one batched
        statement per table (:meth:`_flush`); (3) after the commit, the receipts are signed.
        """
        window = TimeWindow(parse_time(now, "now"),
                            timedelta(seconds=self.limits.max_future_skew_s))
        prepared = [self._prepare(topic, payload, window) for topic, payload in messages]
        with self.store.transaction():
            group = _Group(self.ledger.size())
            judged = [self._apply(m, group, now) for m in prepared]
            self._flush(group)
        return [self._receipt(m, items) for m, items in zip(prepared, judged, strict=True)]

    def _prepare(self, topic: str, payload: bytes, window: TimeWindow) -> _Message:
        device_id = readings_device(topic)
        if device_id is None:
            return _Message(None, problem=f"topic {topic!r} is not eco/v1/<device_id>/"
                                          "readings; message dropped")
        admitted, log_it = self._admit(device_id)
        if not admitted:
            reason = (f"rate_limited: more than {self.limits.rate_per_device:g} messages/s "
                      "from this device; excess messages are dropped unanswered (the device "
                      "resends them later)")
            return _Message(device_id, problem=reason, record=log_it)
        if len(payload) > self.limits.max_payload_bytes:
            return _Message(device_id, problem=f"malformed: payload of {len(payload)} bytes "
                                               f"exceeds {self.limits.max_payload_bytes}")
        try:
            items = parse_json(payload)
        except InvalidInput as e:
            return _Message(device_id, problem=f"malformed: payload is not JSON: {e}")
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_READINGS_PER_MESSAGE:
            return _Message(device_id, problem=f"malformed: payload must be a JSON array of 1–"
                                               f"{MAX_READINGS_PER_MESSAGE} readings")
        known = self._key(device_id)
        enrolment, key = (None, None) if known is None else known
        prepared = prepare_many(items, device_id, window, enrolment, key)
        # the creditability rules but the meter cursor's, here rather than under the lock
        judged = [None if p.reading is None or p.enrolment is None or p.early is not None
                  or p.bad_signature is not None else prejudge(p.reading, p.enrolment, self.rules)
                  for p in prepared]
        return _Message(device_id, items, prepared, judged)

    def _apply(self, m: _Message, group: _Group, now: str) -> list[_Item]:
        """Decide each prepared reading of one message against the device state; append.
        Only what needs the lock happens here; receipt items are built after the commit."""
        if m.device_id is None:
            return []
        if m.problem is not None:
            if m.record:
                self._record_rejection(m.device_id, None, m.problem, now)
            return []
        device_id = m.device_id
        if device_id not in group.rows:
            group.rows[device_id] = group.read[device_id] = self.store.device(device_id)
        row = group.rows[device_id]
        out: list[_Item] = []
        accepted: list[tuple[int, int, Prepared]] = []  # (position in out, seq, reading)
        # every entry this message appends, in leaf order: its readings and, after a fork,
        # the device's eco.quarantine/v1 — (entry, type, leaf hash, leaf index)
        appends: list[tuple[bytes, str, bytes, int]] = []
        # the device's state as this message moves it: its row's enrolment, revocation and
        # quarantine do not change but by a fork's rejection (which builds a new row), so they
        # are worked out once per message; an accepted reading moves only (next_seq, last_hash)
        enrolment: Enrolment | None = None
        revoked, quarantined, next_seq, last_hash = False, None, 0, ""
        if row is not None:
            enrolment, revoked = self._enrolment(row.enrolment), row.revoked_index is not None
            quarantined = quarantined_by(row)
            next_seq, last_hash = row.next_seq, row.last_hash
        for obj, p, known in zip(m.items, m.prepared, m.judged, strict=True):
            view = (None if row is None or enrolment is None
                    else DeviceView(enrolment, next_seq, last_hash, revoked))
            stored = None
            # a stored (or earlier in this group) reading has a seq below the device's next
            # one, so only those seqs need a look-up
            if row is not None and p.early is None and p.seq < next_seq:
                stored = group.fresh.get((device_id, p.seq))
                if stored is None:
                    r = self.store.reading(device_id, p.seq)
                    stored = None if r is None else (r.leaf_index, r.sha256)
            decision = decide(p, obj, view, stored)
            if isinstance(decision, Accept):
                assert row is not None and enrolment is not None
                seq = decision.reading.seq
                leaf = group.next_index
                group.next_index += 1
                group.fresh[(device_id, seq)] = (leaf, decision.sha256)
                accepted.append((len(out), seq, p))
                appends.append((p.entry, READING_TYPE, p.leaf, leaf))
                excluded = self._credit(group, decision.reading, enrolment, quarantined,
                                        known if p.enrolment is enrolment else None)
                out.append((seq, decision.sha256, S.ACCEPTED,
                            None if excluded is None else excluded[:512], leaf, None,
                            excluded is None))
                next_seq, last_hash = seq + 1, decision.sha256
            elif isinstance(decision, Duplicate):
                out.append((decision.seq, decision.sha256, S.DUPLICATE, None,
                            decision.leaf_index, None, None))
            else:
                if row is not None:
                    row = _moved(row, next_seq, last_hash)
                item, row = self._reject(device_id, row, decision, obj, group, appends, now)
                if row is not None:
                    quarantined = quarantined_by(row)
                out.append(item)
        if row is not None:
            row = _moved(row, next_seq, last_hash)
        # written by _flush, once for the whole group
        group.appends += appends
        group.readings += [ReadingRow(device_id, seq, at, p.digest) for i, seq, p in accepted
                           if (at := out[i][4]) is not None]
        group.rows[device_id] = row
        return out

    def _flush(self, group: _Group) -> None:
        """Write what the group decided, before its commit: the entries (one ``Ledger.append``
        with the types and leaf hashes worked out before the lock), the reading rows, the moved
        meter cursors and the changed device rows — one batched statement each, not a few per
        message (on PostgreSQL each statement was a round trip under the sequencer lock). The
        rows are those per-message writes would leave; the transaction is the same one.
        Nothing the group reads needs them earlier: device rows, cursors and this group's
        readings are kept in ``group``, and a subtree's left sibling from an earlier message is
        made by the same append."""
        if group.appends:
            leaves = self.ledger.append(KnownEntries([(e, t, h) for e, t, h, _ in
                                                      group.appends]))
            if leaves != [i for _, _, _, i in group.appends]:
                raise StoreCorrupt("the ledger grew while the intake held the write lock")
        self.store.put_readings(group.readings)
        self.store.put_meter_cursors([
            (device_id, meter, format_time(c.end), c.register_end_wh)
            for (device_id, meter), c in group.cursors.items()
            if c is not None and (device_id, meter) in group.dirty])
        self.store.put_devices([row for device_id, row in group.rows.items()
                                if row is not None and row != group.read[device_id]])

    def _credit(self, group: _Group, reading: Reading, enrolment: Enrolment,
                quarantined: int | None, known: Prejudged | None = None) -> str | None:
        """Whether an accepted reading may credit (None) or why not, against the meter's cursor
        as of this reading (and the device's quarantine); the cursor moves on either way."""
        key = (reading.device_id, reading.meter)
        if key not in group.cursors:
            stored = self.store.meter_cursor(*key)
            group.cursors[key] = None if stored is None else MeterCursor(
                parse_time(stored[0], "meter_cursor.end"), stored[1])
        verdict, after = advance(reading, enrolment, group.cursors[key], self.rules,
                                 quarantined, known)
        if after is not None:
            group.cursors[key] = after
            group.dirty.add(key)
        return None if verdict is None else verdict.reason

    def _reject(self, device_id: str, row: DeviceRow | None, d: Reject, obj: Any,
                group: _Group, appends: list[tuple[bytes, str, bytes, int]],
                now: str) -> tuple[_Item, DeviceRow | None]:
        """Refuse one reading. A fork (the device's key signed two histories) also quarantines
        the device: an ``eco.quarantine/v1`` with the refused reading as evidence goes into the
        log in this transaction, so its later readings are logged but credit nothing until the
        operator releases it (aggregator/quarantine.py)."""
        self._record_rejection(device_id, d.seq, d.reason, now)
        if d.fork and row is not None and row.flag is None and row.revoked_index is None:
            entry = quarantine_entry(self.ledger.signer.private_key, device_id,
                                     d.reason, now, obj)
            leaf = group.next_index
            group.next_index += 1
            appends.append((entry, QUARANTINE_TYPE, leaf_hash(entry), leaf))
            row = DeviceRow(row.device_id, row.enrol_index, row.enrolment, row.next_seq,
                            row.last_hash, row.revoked_index, flag_for(leaf))
            log.warning("device %s quarantined by entry %d: %s", device_id, leaf, d.reason)
        return (d.seq, d.sha256, S.REJECTED, d.reason[:512], None, d.expected_seq, None), row

    def _record_rejection(self, device_id: str, seq: int | None, reason: str,
                          now: str) -> None:
        """A row in the operator's rejection table, within the device's budget (a flood
        within rate must not grow the store without bound; aggregator/rejection_budget.py)."""
        for device, summary in self.rejections.due():
            self.ledger.record_rejection(device, None, summary, now)
        if self.rejections.admit(device_id, reason):
            self.ledger.record_rejection(device_id, seq, reason, now)

    def flush_rejections(self, now: str, force: bool = False) -> int:
        """Write the summary rows of budget windows that have ended (all with ``force``), in
        a transaction of their own; serve calls it between groups."""
        due = self.rejections.due(force)
        if due:
            with self.store.transaction():
                for device, summary in due:
                    self.ledger.record_rejection(device, None, summary, now)
        return len(due)

    def _receipt(self, m: _Message, judged: list[_Item]) -> Outcome:
        """After the commit: the signed receipt (or, for a message without readings to itemise,
        the problem, which was logged for the operator)."""
        if m.device_id is None or m.problem is not None:
            return Outcome(m.device_id, None,
                           problem=m.problem if m.device_id is None else
                           f"{m.device_id}: {m.problem}")
        items = [ReceiptItem(*t) for t in judged]
        receipt = Receipt(DeviceId(m.device_id), tuple(items)).to_dict()
        signed = sign_record(receipt, self.ledger.signer.private_key)
        return Outcome(m.device_id, signed, sum(i.status is S.ACCEPTED for i in items),
                       sum(i.status is S.DUPLICATE for i in items),
                       sum(i.status is S.REJECTED for i in items))


def _moved(row: DeviceRow, next_seq: int, last_hash: str) -> DeviceRow:
    """``row`` with its chain moved on to (next_seq, last_hash), the same row if it did not."""
    if row.next_seq == next_seq and row.last_hash == last_hash:
        return row
    return DeviceRow(row.device_id, row.enrol_index, row.enrolment, next_seq, last_hash,
                     row.revoked_index, row.flag)


# a receipt item's fields: (seq, reading_sha256, status, reason, leaf_index, expected_seq,
# creditable)
_Item = tuple[int, str, S, str | None, int | None, int | None, bool | None]


@dataclass
class _Message:
    """A readings message after the state-free phase: its readings prepared, or the reason it
    cannot be answered (``record``: whether to file that reason for the operator)."""

    device_id: str | None
    items: list[Any] = field(default_factory=list)
    prepared: list[Prepared] = field(default_factory=list)
    # each reading's creditability judged without its meter's cursor (None: not judged)
    judged: list[Prejudged | None] = field(default_factory=list)
    problem: str | None = None
    record: bool = True


@dataclass
class _Group:
    """What one transaction has decided so far: the next leaf index, each device's state as of
    now (read once), and the readings it accepted (for duplicates within the group)."""

    next_index: int
    rows: dict[str, DeviceRow | None] = field(default_factory=dict)
    fresh: dict[tuple[str, int], tuple[int, str]] = field(default_factory=dict)
    # (device, meter) → the interval-discipline cursor as of the group's last reading; the
    # ones it moved (dirty) are written by Intake._flush
    cursors: dict[tuple[str, str], MeterCursor | None] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)
    # each device's row as read from the store (rows: as decided so far)
    read: dict[str, DeviceRow | None] = field(default_factory=dict)
    # what _flush writes: entries in leaf order (entry, type, leaf hash, leaf index), readings
    appends: list[tuple[bytes, str, bytes, int]] = field(default_factory=list)
    readings: list[ReadingRow] = field(default_factory=list)
