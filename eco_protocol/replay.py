"""Replaying a ledger: every entry checked in order, as the aggregator checked it on append.

Pure state machine over entry bytes (docs/protocol.md §4). Used by the aggregator's
``ledger verify``, by ``eco-verify evidence`` and by tests; the same :mod:`rules` decide what
may enter the log, and :mod:`creditability` decides, from the same prefix, which logged readings
may earn credit (a reading that breaks an interval or plausibility rule is a valid entry that
credits nothing, never a broken log).
An entry must be the RFC 8785 bytes of its record (so its leaf hash is reproducible by anyone),
signed by its author: readings by the device key of an earlier, unrevoked enrolment; enrolments,
revocations and programme records by the log key in effect at their index (:mod:`logkey`: an
``eco.logkey/v1`` entry, signed by the old key and endorsed by the new, switches the key for every
later entry).
"""

from __future__ import annotations

import base64
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .canonical import canonical_bytes, parse_json
from .certificates import NETTED
from .claims import Claim, ClaimBook
from .creditability import DEFAULT_RULES, CreditRules, CreditTracker, Exclusion
from .dispatch import AnyRecord, parse_record
from .errors import InvalidInput, MalformedRecord
from .keys import DeviceId, Ed25519PublicKey, public_key_from_raw, verify_signature
from .logkey import LogKeyChain, LogKeyChange, verify_log_key_change
from .messages import Localized, Msg, msg
from .note import NoteVerifier
from .programme_records import BatchSeal, Certification, Redemption
from .records import (
    GENESIS_PREV,
    MAX_ENTRY_BYTES,
    Enrolment,
    Quarantine,
    Reading,
    Release,
    Revocation,
)
from .rules import check_chain
from .signing import entry_hash, reading_signed_bytes, verify_record

SignatureSink = Callable[[int, Ed25519PublicKey, bytes, bytes, str | Msg], None]
"""``(entry index, key, signature, signed bytes, what)`` for a check made elsewhere."""


class EntryProblem(InvalidInput):
    """Entry ``index`` of the log is wrong; the message says what and why (a coded error's
    finding is kept, so eco-verify prints it in the buyer's language)."""

    def __init__(self, index: int, message: str | Exception | Msg) -> None:
        super().__init__(f"entry {index}: {message}")
        self.index = index
        self.detail = str(message)
        if isinstance(message, Msg) or \
                isinstance(message, Localized) and message.message_code is not None:
            self.message_code = "eco_protocol.finding.at_entry"
            self.message_params = {"index": index, "error": message}


@dataclass(slots=True)
class DeviceState:
    enrolment: Enrolment
    public_key: Ed25519PublicKey
    next_seq: int = 1
    last_hash: str = GENESIS_PREV
    revoked: bool = False
    quarantined: int | None = None  # the eco.quarantine/v1 entry in force, until a release


@dataclass(slots=True)
class LedgerReplay:
    """Feed entries in index order with :meth:`add`; query per-device state and totals."""

    log_key: Ed25519PublicKey  # the key in effect now: the first one, until a logkey entry
    devices: dict[DeviceId, DeviceState] = field(default_factory=dict)
    counts: Counter[str] = field(default_factory=Counter)
    energy_wh: Counter[str] = field(default_factory=Counter)
    size: int = 0
    seals: dict[str, BatchSeal] = field(default_factory=dict)
    certified: set[str] = field(default_factory=set)
    # where readings' signature checks go instead of being made inline (a
    # :class:`~eco_protocol.parallel.SignaturePool`); whoever sets it must collect the failures
    deferred: SignatureSink | None = None
    key_changes: list[tuple[int, LogKeyChange]] = field(default_factory=list)
    rules: CreditRules = DEFAULT_RULES
    credit: CreditTracker = field(init=False)
    # entry index → why that reading is not creditable (only the excluded ones are kept)
    exclusions: dict[int, Exclusion] = field(default_factory=dict)
    last_type: str = ""  # the ``type`` of the entry :meth:`add` accepted last
    # every use of a reading's energy (eco.claim/v1), checked so that no Wh is claimed twice;
    # claims_strict: a claimed reading must also be creditable under ``rules`` (False when the
    # caller does not know the programme's rules)
    claims_strict: bool = True
    claims: ClaimBook = field(init=False)

    def __post_init__(self) -> None:
        self.credit = CreditTracker(self.rules)
        self.claims = ClaimBook(self.rules, self.claims_strict)

    def chain(self, genesis: NoteVerifier) -> LogKeyChain:
        """The log's keys so far, given the verifier of the key this replay started with."""
        return LogKeyChain((genesis, *(c.new for _, c in self.key_changes)),
                           tuple(i for i, _ in self.key_changes))

    def add(self, entry: bytes) -> AnyRecord:
        """Check the next entry; raise :class:`EntryProblem` naming it if anything is wrong."""
        index = self.size
        try:
            record = self._check(entry)
        except InvalidInput as e:
            raise EntryProblem(index, e) from e
        self.size += 1
        return record

    def _check(self, entry: bytes) -> AnyRecord:
        if len(entry) > MAX_ENTRY_BYTES:
            raise MalformedRecord.coded("eco_protocol.finding.replay.too_big",
                                        n=len(entry), max=MAX_ENTRY_BYTES)
        obj = parse_json(entry)
        # Parse the record first (it was checked second) so that a valid reading can take
        # canonical_bytes' validated fast path; a record error still yields to the canonical
        # error, as before, if the entry has both.
        record: AnyRecord | None = None
        problem: InvalidInput | None = None
        try:
            record = parse_record(obj)
        except InvalidInput as e:
            problem = e
        if canonical_bytes(obj, validated=isinstance(record, Reading)) != entry:
            raise MalformedRecord.coded("eco_protocol.finding.replay.not_canonical")
        if problem is not None:
            raise problem
        assert record is not None
        if isinstance(record, Reading):
            self._reading(record, obj, entry)
        elif isinstance(record, Enrolment):
            verify_record(obj, self.log_key, f"enrolment of {record.device_id}")
            if record.device_id in self.devices:
                raise MalformedRecord.coded("eco_protocol.finding.replay.enrolled_twice",
                                            device=record.device_id)
            self.devices[record.device_id] = DeviceState(
                record, public_key_from_raw(record.public_key_raw))
            self.claims.enrol(record)
        elif isinstance(record, Revocation):
            verify_record(obj, self.log_key, f"revocation of {record.device_id}")
            state = self.devices.get(record.device_id)
            if state is None:
                raise MalformedRecord.coded("eco_protocol.finding.replay.revoke_unknown",
                                            device=record.device_id)
            state.revoked = True
        elif isinstance(record, Quarantine | Release):
            self._quarantine(record, obj)
        elif isinstance(record, BatchSeal | Redemption | Certification):
            verify_record(obj, self.log_key, f"{obj['type']} record")
            self._programme(record)
        elif isinstance(record, Claim):
            verify_record(obj, self.log_key, f"{obj['type']} record {record.claim_id}")
            self.claims.claim(self.size, record)
        elif isinstance(record, LogKeyChange):
            verify_log_key_change(obj, self.log_key)
            self.key_changes.append((self.size, record))
            self.log_key = record.new.public_key
        else:
            raise MalformedRecord.coded("eco_protocol.finding.replay.not_ledger",
                                        type=repr(obj.get("type")))
        self.last_type = str(obj["type"])
        self.counts[self.last_type] += 1
        return record

    def _quarantine(self, record: Quarantine | Release, obj: dict[str, object]) -> None:
        what = msg("eco_protocol.finding.replay.what", type=obj["type"], device=record.device_id)
        verify_record(obj, self.log_key, what)
        state = self.devices.get(record.device_id)
        if state is None:
            raise MalformedRecord.coded("eco_protocol.finding.replay.never_enrolled", what=what)
        if state.revoked:
            raise MalformedRecord.coded("eco_protocol.finding.replay.revoked", what=what)
        if isinstance(record, Release):
            if state.quarantined is None:
                raise MalformedRecord.coded("eco_protocol.finding.replay.not_quarantined",
                                            what=what)
            state.quarantined = None
            self.credit.release(record.device_id)
            return
        if state.quarantined is not None:
            raise MalformedRecord.coded("eco_protocol.finding.replay.quarantined", what=what,
                                        index=state.quarantined)
        if record.evidence is not None:
            # the fork is the device's own doing: it signed the refused reading
            if record.evidence.get("device_id") != record.device_id:
                raise MalformedRecord.coded("eco_protocol.finding.replay.other_device", what=what)
            verify_record(record.evidence, state.public_key,
                          msg("eco_protocol.finding.replay.evidence", what=what))
        state.quarantined = self.size
        self.credit.quarantine(record.device_id, self.size)

    def _programme(self, record: BatchSeal | Redemption | Certification) -> None:
        if isinstance(record, BatchSeal):
            if record.batch_id in self.seals:
                raise MalformedRecord.coded("eco_protocol.finding.replay.sealed_twice",
                                            batch=record.batch_id)
            for other in self.seals.values():
                if other.competes_with(record) and other.period.overlaps(record.period):
                    raise MalformedRecord.coded("eco_protocol.finding.replay.overlap",
                                                batch=record.batch_id,
                        start=record.period.start, end=record.period.end, other=other.batch_id)
            self.seals[record.batch_id] = record
            self.claims.seal(self.size, record)
        elif isinstance(record, Certification):
            if record.batch_id not in self.seals:
                raise MalformedRecord.coded("eco_protocol.finding.replay.certify_unsealed",
                                            batch=record.batch_id)
            if record.batch_id in self.certified:
                raise MalformedRecord.coded("eco_protocol.finding.replay.certified_twice",
                                            batch=record.batch_id)
            self.certified.add(record.batch_id)

    def _reading(self, reading: Reading, obj: dict[str, object], entry: bytes) -> None:
        state = self.devices.get(reading.device_id)
        if state is None:
            raise MalformedRecord.coded("eco_protocol.finding.replay.before_enrolment",
                                        device=reading.device_id)
        if state.revoked:
            raise MalformedRecord.coded("eco_protocol.finding.replay.after_revocation",
                                        device=reading.device_id)
        # verify_record, without redoing what Reading.from_dict did (sig present, canonical
        # base64 of 64 bytes), and with the signed bytes from the validated fast path
        assert reading.sig is not None
        signature = base64.b64decode(reading.sig)
        signed = reading_signed_bytes(entry, obj, reading.sig)
        what = Msg("eco_protocol.finding.what.reading",
                   {"device": reading.device_id, "seq": reading.seq})
        if self.deferred is not None:
            self.deferred(self.size, state.public_key, signature, signed, what)
        else:
            verify_signature(state.public_key, signature, signed, what)
        check_chain(reading, state.next_seq, state.last_hash)
        excluded = self.credit.add(reading, state.enrolment)
        if excluded is not None:
            self.exclusions[self.size] = excluded
        state.next_seq = reading.seq + 1
        state.last_hash = entry_hash(entry)  # entry = canonical_bytes(obj)
        if reading.quantity in NETTED:
            self.claims.reading(self.size, state.last_hash, reading, state.enrolment,
                                excluded is None)
        self.energy_wh[reading.quantity.value] += reading.energy_wh
