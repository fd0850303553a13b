"""What makes a reading acceptable (PROTOCOL.md sections 2 and 4), as pure functions.

The aggregator applies these on ingest; the auditor and the buyer's verifier apply the very same
functions when they replay the log, so "accepted" means the same thing to every party.
Each violation carries a stable ``code`` (the part of a receipt's reason before the colon).
"""

from __future__ import annotations

from .errors import InvalidInput
from .records import ENERGY_EXCUSING_FLAGS, Enrolment, Reading


class RuleViolation(InvalidInput):
    """A reading breaks a rule. ``code`` is machine-readable; the message is for people."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.detail = message


def check_reading_semantics(reading: Reading, enrolment: Enrolment) -> None:
    """Interval, energy/register agreement and plausibility against the enrolled meter."""
    meter = enrolment.meter(reading.meter)
    if meter is None:
        raise RuleViolation("unknown_meter", f"meter {reading.meter!r} is not enrolled for "
                                             f"device {reading.device_id}")
    if meter.quantity != reading.quantity:
        raise RuleViolation("quantity_mismatch",
                            f"meter {meter.id!r} is enrolled for {meter.quantity.value}, the "
                            f"reading says {reading.quantity.value}")
    seconds = int((reading.end_dt - reading.start_dt).total_seconds())
    if seconds <= 0:
        raise RuleViolation("bad_interval", f"end {reading.end} is not after start "
                                            f"{reading.start}")
    excused = any(f in ENERGY_EXCUSING_FLAGS for f in reading.flags)
    diff = reading.register_end_wh - reading.register_start_wh
    if not excused and diff != reading.energy_wh:
        raise RuleViolation("energy_mismatch",
                            f"energy_wh {reading.energy_wh} ≠ register difference {diff} and no "
                            "meter_reset/meter_replaced/rollover flag")
    limit = meter.rated_w * seconds // 3600
    if reading.energy_wh > limit:
        raise RuleViolation("implausible",
                            f"{reading.energy_wh} Wh in {seconds} s exceeds the meter's rated "
                            f"{meter.rated_w} W ({limit} Wh)")


def check_chain(reading: Reading, expected_seq: int, expected_prev: str) -> None:
    """Sequence and ``prev`` chain: seq must be the next one and prev the hash of the last."""
    if reading.seq != expected_seq:
        raise RuleViolation("gap" if reading.seq > expected_seq else "stale_seq",
                            f"expected {expected_seq}")
    if reading.prev != expected_prev:
        raise RuleViolation("bad_prev", f"prev does not match seq {reading.seq - 1} "
                                        "already in the ledger (device history forked)")
