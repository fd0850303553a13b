"""What the outbox stores, as values and pure functions: the rows it hands out, numbering and
signing a reading into its stored bytes, the checks of stored rows that ``PRAGMA
integrity_check`` does not make, and the per-day tally. No database, no files: :mod:`agent.outbox`
is the SQLite shell around these (its docstring says why each check exists).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import day_of, parse_time
from eco_protocol.errors import ProtocolError
from eco_protocol.records import Reading
from eco_protocol.signing import entry_hash

from .errors import AgentError

SCHEMA_VERSION: Final = 1
PENDING: Final = "pending"
REJECTED: Final = "rejected"

SignFn = Callable[[Mapping[str, Any]], Mapping[str, Any]]
Damaged = Callable[[str], Exception]
"""Builds the error for damage the shell found (it knows the file's path); given what is wrong."""


@dataclass(frozen=True, slots=True)
class StoredReading:
    """A signed reading as stored: ``body`` is its canonical bytes (RFC 8785, with ``sig``)."""

    seq: int
    sha256: str
    body: bytes
    status: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class OutboxCounts:
    next_seq: int
    last_hash: str
    pending: int
    rejected: int


@dataclass(frozen=True, slots=True)
class NonCreditable:
    """A delivered reading the aggregator logged as not creditable, and why (v1.1 §3)."""

    seq: int
    reading_sha256: str
    reason: str
    at: str  # when the receipt was applied (RFC 3339 UTC)
    meter: str | None = None
    start: str | None = None
    end: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"seq": self.seq, "reading_sha256": self.reading_sha256, "reason": self.reason,
                "at": self.at, "meter": self.meter, "start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class ReceiptOutcome:
    acknowledged: tuple[int, ...]  # deleted: accepted or duplicate, creditable or not
    set_aside: tuple[int, ...]
    mismatched: tuple[int, ...]  # seq unknown here or naming a different reading hash
    non_creditable: tuple[int, ...] = ()  # of ``acknowledged``: recorded as not creditable


def chain_reading(body: Mapping[str, Any], seq: int, prev: str, sign: SignFn,
                  device_id: str) -> tuple[bytes, str]:
    """Number ``body`` (an unsigned reading without ``seq``/``prev``) as ``seq`` after ``prev``,
    sign it and check the result: (its canonical bytes, their entry hash). AgentError if the
    signed reading is invalid, was renumbered by ``sign``, or is another device's."""
    rec = dict(body)
    rec.pop("sig", None)
    rec["seq"] = seq
    rec["prev"] = prev
    signed = dict(sign(rec))
    try:
        Reading.from_dict(signed)
    except ProtocolError as e:
        raise AgentError(f"refusing to store an invalid reading: {e}") from e
    if signed.get("seq") != seq or signed.get("prev") != prev:
        raise AgentError("the signing function changed seq or prev")
    if signed.get("device_id") != device_id:
        raise AgentError(f"reading for device {signed.get('device_id')} offered to "
                         f"the outbox of device {device_id}")
    data = canonical_bytes(signed)
    return data, entry_hash(data)


def check_rows(rows: Iterable[tuple[int, object, object]], device_id: str, next_seq: int,
               last_hash: str, damaged: Damaged) -> dict[int, str]:
    """Every stored ``(seq, sha256, body)`` row against its hash, seq, device and ``prev`` link,
    and the counter (``next_seq``, ``last_hash``) against the newest row; the hash held under
    each seq. Raises ``damaged(what)`` at the first problem."""
    held: dict[int, str] = {}
    prevs: dict[int, object] = {}
    for seq, sha, body in rows:
        if not isinstance(body, bytes) or not isinstance(sha, str):
            raise damaged(f"the stored reading seq {seq} has the wrong type")
        data = body
        if entry_hash(data) != sha:
            raise damaged(f"the stored reading seq {seq} no longer matches its hash")
        try:
            rec = json.loads(data)
        except ValueError as e:
            raise damaged(f"the stored reading seq {seq} is not JSON") from e
        if not isinstance(rec, dict) or rec.get("seq") != seq or \
                rec.get("device_id") != device_id:
            raise damaged(f"the stored reading seq {seq} is not this device's reading seq {seq}")
        held[int(seq)] = str(sha)
        prevs[int(seq)] = rec.get("prev")
    for seq, prev in prevs.items():
        if seq - 1 in held and prev != held[seq - 1]:
            raise damaged(f"reading seq {seq} does not chain to seq {seq - 1}")
    top = next_seq - 1
    if top in held and held[top] != last_hash:
        raise damaged(f"the counter's last hash is not that of seq {top}")
    return held


def check_sent(held: Mapping[int, str], next_seq: int, last_hash: str, sent_seq: int,
               sent_sha: str, sent_name: str, rolled_back: Damaged) -> None:
    """The outbox against its sent mark (seq ``sent_seq``, hash ``sent_sha``, file
    ``sent_name``): it must reach that seq and hold that very reading under it. Raises
    ``rolled_back(what)`` if not."""
    if sent_seq == 0:
        return
    top = next_seq - 1
    if sent_seq > top:
        raise rolled_back(f"readings up to seq {sent_seq} were already sent "
                          f"(recorded in {sent_name}), but it now ends at seq {top}")
    if held.get(sent_seq, sent_sha) != sent_sha or (sent_seq == top and last_hash != sent_sha):
        raise rolled_back(f"it holds another reading under seq {sent_seq} "
                          f"than the one already sent")


def add_to_tally(tally: dict[str, Any], readings: Iterable[Mapping[str, Any]],
                 keep_days: int) -> dict[str, Any]:
    """Energy and the display CO2 estimate per JST day: ``tally`` with ``readings`` added,
    the newest ``keep_days`` days only."""
    for r in readings:
        day = day_of(parse_time(r["start"], "start"))
        t = tally.setdefault(day, {"energy_wh": {}, "co2_g_estimate": 0})
        t["energy_wh"][r["quantity"]] = t["energy_wh"].get(r["quantity"], 0) + r["energy_wh"]
        t["co2_g_estimate"] += r["co2_g_estimate"]
    return dict(sorted(tally.items())[-keep_days:])


__all__ = [
    "PENDING", "REJECTED", "SCHEMA_VERSION", "Damaged", "NonCreditable", "OutboxCounts",
    "ReceiptOutcome", "SignFn", "StoredReading", "add_to_tally", "chain_reading", "check_rows",
    "check_sent",
]
