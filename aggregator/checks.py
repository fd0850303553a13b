"""Deciding about one received reading, as a pure function of the reading and device state.

The same rules the replaying auditor applies (:mod:`eco_protocol.rules`), plus what only the
live intake can see: the topic it arrived on, duplicates and forks against what is stored.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.errors import BadSignature, InvalidInput
from eco_protocol.keys import public_key_from_raw
from eco_protocol.records import MAX_ENTRY_BYTES, Enrolment, Reading
from eco_protocol.rules import RuleViolation, check_chain, check_reading_semantics
from eco_protocol.signing import verify_record


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
        digest = hashlib.sha256(canonical_bytes(obj)).hexdigest()  # type: ignore[arg-type]
    except Exception:  # noqa: BLE001 - anything uncanonicalisable gets the zero hash
        digest = "0" * 64
    return seq_i, digest


@dataclass(frozen=True, slots=True)
class TimeWindow:
    """Interval ends must lie in [now − max_age, now + max_skew]: a device's clock may be a little
    ahead, and a backlog may be old, but not from the future or from years ago."""

    now: datetime
    max_skew: timedelta = timedelta(minutes=5)
    max_age: timedelta = timedelta(days=400)


def judge(obj: Any, topic_device: str, device: DeviceView | None,
          stored: tuple[int, str] | None, window: TimeWindow | None = None) -> Decision:
    """Decide about one reading object from a readings message on ``topic_device``'s topic.

    ``stored`` is (leaf_index, sha256) of a reading already in the ledger with the same
    (device_id, seq), if any.
    """
    seq, digest = item_identity(obj)
    try:
        reading = Reading.from_dict(obj)
    except InvalidInput as e:
        return Reject(seq, digest, "malformed", str(e))
    entry = canonical_bytes(obj)
    if len(entry) > MAX_ENTRY_BYTES:
        return Reject(seq, digest, "malformed", f"reading is {len(entry)} bytes")
    if reading.device_id != topic_device:
        return Reject(seq, digest, "wrong_topic",
                      f"reading of device {reading.device_id} published under {topic_device}")
    if window is not None:
        if reading.end_dt > window.now + window.max_skew:
            return Reject(seq, digest, "future",
                          f"interval ends {reading.end}, after the aggregator's clock "
                          f"{format_time(window.now)} plus {window.max_skew}; check the "
                          "device's clock")
        if reading.end_dt < window.now - window.max_age:
            return Reject(seq, digest, "too_old",
                          f"interval ends {reading.end}, more than {window.max_age.days} days "
                          "ago")
    if device is None:
        return Reject(seq, digest, "unknown_device",
                      f"device {reading.device_id} is not enrolled; ask the municipality to "
                      "enrol it")
    if device.revoked:
        return Reject(seq, digest, "revoked", f"device {reading.device_id} was revoked")
    try:
        verify_record(obj, public_key_from_raw(device.enrolment.public_key_raw),
                      f"reading {reading.device_id}#{reading.seq}")
    except BadSignature as e:
        return Reject(seq, digest, "bad_signature", str(e))
    if stored is not None:
        leaf, stored_digest = stored
        if stored_digest == digest:
            return Duplicate(seq, digest, leaf)
        return Reject(seq, digest, "fork", f"seq {seq} is already in the ledger at leaf {leaf} "
                      "with different content; the device is flagged", fork=True)
    try:
        check_chain(reading, device.next_seq, device.last_hash)
    except RuleViolation as e:
        return Reject(seq, digest, e.code, e.detail,
                      expected_seq=device.next_seq if e.code == "gap" else None,
                      fork=e.code == "bad_prev")
    try:
        check_reading_semantics(reading, device.enrolment)
    except RuleViolation as e:
        return Reject(seq, digest, e.code, e.detail)
    return Accept(reading, entry, digest)
