"""Turning readings messages into ledger entries and receipts, one group commit at a time.

No MQTT here: the worker hands in (topic, payload) pairs and gets back the receipts to publish
once the group is durable. Benchmarks and tests drive it directly.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.records import MAX_READINGS_PER_MESSAGE, Enrolment, Receipt, ReceiptItem
from eco_protocol.records import ReceiptStatus as S
from eco_protocol.signing import sign_record

from .checks import Accept, DeviceView, Duplicate, Reject, TimeWindow, judge
from .ledger import Ledger
from .store.interface import DeviceRow, ReadingRow

log = logging.getLogger(__name__)

TOPIC_RE = re.compile(r"^eco/v1/([0-9a-f]{32})/readings$")


def receipts_topic(device_id: str) -> str:
    return f"eco/v1/{device_id}/receipts"


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
    max_age_days: int = 400
    rate_per_device: float = 20.0  # readings messages per second, sustained
    burst_per_device: int = 200  # a backlog drains in bursts of full messages


@dataclass
class _Bucket:
    tokens: float
    at: float
    last_logged: float = -1e9


class Intake:
    def __init__(self, ledger: Ledger, limits: IngestLimits | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.ledger = ledger
        self.store = ledger.store
        self.limits = limits or IngestLimits()
        self._enrolments: dict[bytes, Enrolment] = {}
        self._buckets: dict[str, _Bucket] = {}
        self._clock = clock

    def _admit(self, device_id: str) -> tuple[bool, bool]:
        """Token bucket per device: (admitted, first refusal in this minute)."""
        now = self._clock()
        lim = self.limits
        b = self._buckets.get(device_id)
        if b is None:
            b = self._buckets[device_id] = _Bucket(float(lim.burst_per_device), now)
        b.tokens = min(float(lim.burst_per_device), b.tokens + (now - b.at) * lim.rate_per_device)
        b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return True, False
        first = now - b.last_logged > 60
        if first:
            b.last_logged = now
        return False, first

    def _view(self, row: DeviceRow) -> DeviceView:
        enrolment = self._enrolments.get(row.enrolment)
        if enrolment is None:
            enrolment = Enrolment.from_dict(parse_json(row.enrolment))
            self._enrolments[row.enrolment] = enrolment
        return DeviceView(enrolment, row.next_seq, row.last_hash, row.revoked_index is not None)

    def process(self, messages: Sequence[tuple[str, bytes]], now: str) -> list[Outcome]:
        """Judge and append a group of messages in ONE transaction; receipts after commit."""
        with self.store.transaction():
            return [self._message(topic, payload, now) for topic, payload in messages]

    def _message(self, topic: str, payload: bytes, now: str) -> Outcome:
        m = TOPIC_RE.match(topic)
        if m is None:
            return Outcome(None, None, problem=f"topic {topic!r} is not eco/v1/<device_id>/"
                                               "readings; message dropped")
        device_id = m.group(1)
        admitted, log_it = self._admit(device_id)
        if not admitted:
            reason = (f"rate_limited: more than {self.limits.rate_per_device:g} messages/s "
                      "from this device; excess messages are dropped unanswered (the device "
                      "resends them later)")
            if log_it:
                self.store.record_rejection(device_id, None, reason, now)
            return Outcome(device_id, None, problem=f"{device_id}: {reason}")
        if len(payload) > self.limits.max_payload_bytes:
            return self._unanswerable(device_id, f"malformed: payload of {len(payload)} bytes "
                                      f"exceeds {self.limits.max_payload_bytes}", now)
        try:
            items = parse_json(payload)
        except InvalidInput as e:
            return self._unanswerable(device_id, f"malformed: payload is not JSON: {e}", now)
        if not isinstance(items, list) or not 1 <= len(items) <= MAX_READINGS_PER_MESSAGE:
            return self._unanswerable(
                device_id, f"malformed: payload must be a JSON array of 1–"
                f"{MAX_READINGS_PER_MESSAGE} readings", now)
        out: list[ReceiptItem] = []
        acc = dup = rej = 0
        window = TimeWindow(parse_time(now, "now"),
                            timedelta(seconds=self.limits.max_future_skew_s),
                            timedelta(days=self.limits.max_age_days))
        for obj in items:
            row = self.store.device(device_id)
            view = None if row is None else self._view(row)
            seq = obj.get("seq") if isinstance(obj, dict) else None
            stored = None
            if isinstance(seq, int) and not isinstance(seq, bool):
                r = self.store.reading(device_id, seq)
                stored = None if r is None else (r.leaf_index, r.sha256)
            decision = judge(obj, device_id, view, stored, window)
            if isinstance(decision, Accept):
                assert row is not None
                (leaf,) = self.ledger.append([decision.entry])
                self.store.put_reading(ReadingRow(device_id, decision.reading.seq, leaf,
                                                  decision.sha256))
                self.store.put_device(DeviceRow(
                    row.device_id, row.enrol_index, row.enrolment, decision.reading.seq + 1,
                    decision.sha256, row.revoked_index, row.flag))
                out.append(ReceiptItem(decision.reading.seq, decision.sha256, S.ACCEPTED,
                                       None, leaf))
                acc += 1
            elif isinstance(decision, Duplicate):
                out.append(ReceiptItem(decision.seq, decision.sha256, S.DUPLICATE, None,
                                       decision.leaf_index))
                dup += 1
            else:
                out.append(self._reject(device_id, row, decision, now))
                rej += 1
        receipt = Receipt(device_id, tuple(out)).to_dict()  # type: ignore[arg-type]
        signed = sign_record(receipt, self.ledger.signer.private_key)
        return Outcome(device_id, signed, acc, dup, rej)

    def _reject(self, device_id: str, row: DeviceRow | None, d: Reject, now: str) -> ReceiptItem:
        self.store.record_rejection(device_id, d.seq, d.reason, now)
        if d.fork and row is not None and row.flag is None:
            self.store.put_device(DeviceRow(row.device_id, row.enrol_index, row.enrolment,
                                            row.next_seq, row.last_hash, row.revoked_index,
                                            f"{d.reason} (at {now})"))
            log.warning("device %s flagged: %s", device_id, d.reason)
        return ReceiptItem(d.seq, d.sha256, S.REJECTED, d.reason[:512], None, d.expected_seq)

    def _unanswerable(self, device_id: str, reason: str, now: str) -> Outcome:
        """A message with no readings to itemise: logged for the operator, no receipt."""
        self.store.record_rejection(device_id, None, reason, now)
        return Outcome(device_id, None, problem=f"{device_id}: {reason}")
