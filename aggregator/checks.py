"""Deciding whether one received reading enters the log, as a pure function of the reading and
device state.

The same rules the replaying auditor applies (:mod:`eco_protocol.rules`), plus what only the
live intake can see: the topic it arrived on, the aggregator's clock, duplicates and forks
against what is stored. Only what must never enter the log is refused here (docs/protocol.md
§3): a reading that is correctly signed and chained but breaks a rule about what it *claims*
is accepted, and :mod:`eco_protocol.creditability` decides that it credits nothing.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.errors import BadSignature, InvalidInput
from eco_protocol.keys import Ed25519PublicKey, public_key_from_raw, verify_signature
from eco_protocol.merkle import leaf_hash
from eco_protocol.records import MAX_ENTRY_BYTES, Enrolment, Reading
from eco_protocol.rules import RuleViolation, check_chain
from eco_protocol.signing import entry_hash, reading_signed_bytes


@dataclass(frozen=True, slots=True)
class DeviceView:
    enrolment: Enrolment
    next_seq: int
    last_hash: str
    revoked: bool


@dataclass(frozen=True, slots=True)
class Accept:
    reading: Reading
    entry: bytes
    sha256: str


@dataclass(frozen=True, slots=True)
class Duplicate:
    seq: int
    sha256: str
    leaf_index: int


@dataclass(frozen=True, slots=True)
class Reject:
    seq: int
    sha256: str
    code: str
    message: str
    expected_seq: int | None = None
    fork: bool = False

    @property
    def reason(self) -> str:
        return f"{self.code}: {self.message}"


Decision = Accept | Duplicate | Reject


def item_identity(obj: object) -> tuple[int, str]:
    """(seq, sha256) for a receipt item, as far as a possibly malformed item allows."""
    seq = obj.get("seq") if isinstance(obj, dict) else None
    seq_i = seq if isinstance(seq, int) and not isinstance(seq, bool) and seq >= 0 else 0
    try:
        digest = entry_hash(canonical_bytes(obj))  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - anything uncanonicalisable gets the zero hash
        digest = "0" * 64
    return seq_i, digest


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Interval ends must not lie after now + max_skew: a device's clock may be a little ahead,
    but the log never holds energy from the future. (An old backlog is welcome: whether old
    readings credit is for the crediting rules, which the log alone decides.) The device keeps
    a ``future`` reading and sends it again later, so its chain does not stall."""

    now: datetime
    max_skew: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One reading as far as it can be judged without the device's current state.

    Everything here depends only on the reading's bytes, the topic, the clock and the device's
    enrolment, which never changes once logged (a device id is the hash of its key, and a device
    is enrolled once). So the intake prepares readings *before* it takes the store's write lock:
    parsing, canonical bytes, and the signature check run outside the critical
    section (and in parallel across workers); only :func:`decide` runs under the lock.
    """

    seq: int
    digest: str
    reading: Reading | None = None
    entry: bytes = b""
    leaf: bytes = b""  # RFC 6962 leaf hash of entry
    early: Reject | None = None  # decided whatever the device's state (malformed, topic, time)
    enrolment: Enrolment | None = None  # what the two checks below were made against
    bad_signature: str | None = None  # the BadSignature message, if the signature failed


def prepare(obj: Any, topic_device: str, window: TimeWindow | None = None,
            enrolment: Enrolment | None = None,
            public_key: Ed25519PublicKey | None = None) -> Prepared:
    """The state-free part of :func:`judge`: parse once, canonicalise once, and with the device's
    enrolment (and its key, if the caller keeps one) check the signature."""
    return prepare_many([obj], topic_device, window, enrolment, public_key)[0]


def prepare_many(objs: Sequence[Any], topic_device: str, window: TimeWindow | None = None,
                 enrolment: Enrolment | None = None,
                 public_key: Ed25519PublicKey | None = None) -> list[Prepared]:
    """:func:`prepare` of each of a message's readings — the same checks, in the same order for
    each — run phase by phase over the message: every reading parsed, then every one
    canonicalised, screened, its signed bytes cut out, then every signature checked. Speed:
    the work is the same, but each phase's code and data stay in the CPU's caches over the
    message's readings instead of being evicted by a signature check between two readings."""
    readings = [_reading(obj) for obj in objs]
    parsed = [r if isinstance(r, InvalidInput) else _canonical(obj, r)
              for obj, r in zip(objs, readings, strict=True)]
    screened = [_screened(obj, r, topic_device, window)
                for obj, r in zip(objs, parsed, strict=True)]
    if enrolment is None:
        return [p if isinstance(p, Prepared) else
                Prepared(p[0].seq, p[2], p[0], p[1], p[3]) for p in screened]
    key = public_key or public_key_from_raw(enrolment.public_key_raw)
    signed = [None if isinstance(p, Prepared) else _signed(obj, p[0], p[1])
              for obj, p in zip(objs, screened, strict=True)]
    bad = [None if s is None else _bad_signature(key, *s) for s in signed]
    return [p if isinstance(p, Prepared) else
            Prepared(p[0].seq, p[2], p[0], p[1], p[3], None, enrolment, b)
            for p, b in zip(screened, bad, strict=True)]


def _reading(obj: Any) -> Reading | InvalidInput:
    try:
        return Reading.from_dict(obj)
    except InvalidInput as e:
        return e


def _canonical(obj: Any, reading: Reading) -> tuple[Reading, bytes] | InvalidInput:
    try:
        return reading, canonical_bytes(obj, validated=True)
    except InvalidInput as e:
        return e


def _screened(obj: Any, parsed: tuple[Reading, bytes] | InvalidInput, topic_device: str,
              window: TimeWindow | None) -> Prepared | tuple[Reading, bytes, str, bytes]:
    """A reading refused whatever the device's state (malformed, topic, time), or
    (reading, entry, its sha256, its leaf hash) for the signature check."""
    if isinstance(parsed, InvalidInput):
        seq, digest = item_identity(obj)
        return Prepared(seq, digest, early=Reject(seq, digest, "malformed", str(parsed)))
    reading, entry = parsed
    seq, digest = reading.seq, entry_hash(entry)  # = item_identity(obj)
    if len(entry) > MAX_ENTRY_BYTES:
        return Prepared(seq, digest, early=Reject(seq, digest, "malformed",
                                                  f"reading is {len(entry)} bytes"))
    if reading.device_id != topic_device:
        return Prepared(seq, digest, early=Reject(
            seq, digest, "wrong_topic",
            f"reading of device {reading.device_id} published under {topic_device}"))
    if window is not None and reading.end_dt > window.now + window.max_skew:
        return Prepared(seq, digest, early=Reject(
            seq, digest, "future",
            f"interval ends {reading.end}, after the aggregator's clock "
            f"{format_time(window.now)} plus {window.max_skew}; the device keeps it and sends "
            "it again later (check the device's clock)"))
    return reading, entry, digest, leaf_hash(entry)


def _signed(obj: Any, reading: Reading, entry: bytes) -> tuple[bytes, bytes, str]:
    """(signature, signed bytes, what) of a reading ``from_dict`` accepted: verify_record,
    minus what from_dict already did (sig present, base64 of 64 bytes), with the signed bytes
    cut out of the canonical bytes we already have."""
    assert reading.sig is not None  # from_dict requires it
    return (base64.b64decode(reading.sig), reading_signed_bytes(entry, obj, reading.sig),
            f"reading {reading.device_id}#{reading.seq}")


def _bad_signature(key: Ed25519PublicKey, sig: bytes, signed: bytes, what: str) -> str | None:
    """Why the signature fails, or None if it verifies."""
    try:
        verify_signature(key, sig, signed, what)
    except BadSignature as e:
        return str(e)
    return None


def _check_against(p: Prepared, obj: Any, enrolment: Enrolment,
                   public_key: Ed25519PublicKey | None) -> Prepared:
    assert p.reading is not None
    key = public_key or public_key_from_raw(enrolment.public_key_raw)
    return Prepared(p.seq, p.digest, p.reading, p.entry, p.leaf, None, enrolment,
                    _bad_signature(key, *_signed(obj, p.reading, p.entry)))


def decide(p: Prepared, obj: Any, device: DeviceView | None,
           stored: tuple[int, str] | None) -> Decision:
    """The state-dependent part of :func:`judge`, in the same order of checks."""
    if p.early is not None:
        return p.early
    assert p.reading is not None
    seq, digest, reading = p.seq, p.digest, p.reading
    if device is None:
        return Reject(seq, digest, "unknown_device",
                      f"device {reading.device_id} is not enrolled; ask the municipality to "
                      "enrol it")
    if device.revoked:
        return Reject(seq, digest, "revoked", f"device {reading.device_id} was revoked")
    if p.enrolment is not device.enrolment and p.enrolment != device.enrolment:
        # prepared before the device was known (an enrolment raced the message): check now
        p = _check_against(p, obj, device.enrolment, None)
    if p.bad_signature is not None:
        return Reject(seq, digest, "bad_signature", p.bad_signature)
    if stored is not None:
        leaf, stored_digest = stored
        if stored_digest == digest:
            return Duplicate(seq, digest, leaf)
        return Reject(seq, digest, "fork", f"seq {seq} is already in the ledger at leaf {leaf} "
                      "with different content; the device is quarantined", fork=True)
    try:
        check_chain(reading, device.next_seq, device.last_hash)
    except RuleViolation as e:
        return Reject(seq, digest, e.code, e.detail,
                      expected_seq=device.next_seq if e.code == "gap" else None,
                      fork=e.code == "bad_prev")
    return Accept(reading, p.entry, digest)


def judge(obj: Any, topic_device: str, device: DeviceView | None,
          stored: tuple[int, str] | None, window: TimeWindow | None = None) -> Decision:
    """Decide about one reading object from a readings message on ``topic_device``'s topic.

    ``stored`` is (leaf_index, sha256) of a reading already in the ledger with the same
    (device_id, seq), if any. Equal to ``decide(prepare(...), ...)``, which the intake calls in
    two steps around its transaction.
    """
    p = prepare(obj, topic_device, window, None if device is None else device.enrolment)
    return decide(p, obj, device, stored)
