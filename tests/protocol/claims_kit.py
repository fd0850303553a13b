"""Logs with PV and export readings, seals and claims, for the certificate and claim tests.

One household per device (``hh-000n``), meters ``pv1`` (PV generation) and ``ex1`` (grid
export), readings for whole half hours from :data:`factories.BASE_TIME`; everything signed
for real by :func:`factories.make_log_signer` and the device keys.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from eco_protocol.claims import BundleRange, Claim, ClaimPart
from eco_protocol.encoding import format_time
from eco_protocol.note import NoteSigner
from eco_protocol.programme_records import BatchSeal, Period, Totals
from eco_protocol.signing import entry_hash, sign_record
from tests.protocol.records_kit import (
    BASE_TIME,
    INTERVAL,
    ReadingChain,
    entry_bytes,
    make_device_key,
    make_enrolment,
    make_log_signer,
)

METERS = [{"id": "pv1", "quantity": "pv_generation", "protocol": "sunspec-modbus",
           "rated_w": 5000},
          {"id": "ex1", "quantity": "grid_export", "protocol": "echonet-broute",
           "rated_w": 5000}]
FIT = {"status": "post_fit", "installed": "2026-06-01", "battery": False}
CLAIMED_AT = "2026-12-01T00:00:00Z"


@dataclass
class Log:
    """A log being built: entries, and each reading's entry index by (device n, meter, slot)."""

    signer: NoteSigner = field(default_factory=make_log_signer)
    entries: list[bytes] = field(default_factory=list)
    chains: dict[int, ReadingChain] = field(default_factory=dict)
    at: dict[tuple[int, str, int], int] = field(default_factory=dict)
    next_bundle: int = 1

    def append(self, record: dict[str, Any]) -> int:
        self.entries.append(entry_bytes(record))
        return len(self.entries) - 1

    def enrol(self, n: int, fit: dict[str, Any] | None = None) -> int:
        key = make_device_key(n)
        self.chains[n] = ReadingChain(key)
        return self.append(make_enrolment(key, self.signer, METERS, household=f"hh-{n:04d}",
                                          fit=dict(FIT if fit is None else fit)))

    def slot(self, n: int, slot: int, pv_wh: int, export_wh: int | None) -> None:
        """PV (and export, unless None) readings of device ``n`` for half hour ``slot``."""
        start = BASE_TIME + slot * INTERVAL
        chain = self.chains[n]
        self.at[(n, "pv1", slot)] = self.append(chain.next(meter="pv1", start=start,
                                                           energy_wh=pv_wh))
        if export_wh is not None:
            self.at[(n, "ex1", slot)] = self.append(chain.next(
                meter="ex1", quantity="grid_export", start=start, energy_wh=export_wh))

    def sha(self, index: int) -> str:
        return entry_hash(self.entries[index])

    def claim_record(self, claim_id: str, hour: datetime, parts: Sequence[tuple[int, int]],
                     first: int | None = None, programme: str = "prog-2026") -> dict[str, Any]:
        """A signed issued claim taking ``wh`` from each (entry index, wh)."""
        total = sum(wh for _, wh in parts)
        start = self.next_bundle if first is None else first
        c = Claim(claim_id, "issued", programme, CLAIMED_AT, hour=format_time(hour),
                  parts=tuple(ClaimPart(i, self.sha(i), wh) for i, wh in parts),
                  bundle=BundleRange(start, start + total - 1))
        self.next_bundle = start + total
        return sign_record(c.to_dict(), self.signer.private_key)

    def issue(self, claim_id: str, hour: datetime, parts: Sequence[tuple[int, int]]) -> int:
        return self.append(self.claim_record(claim_id, hour, parts))

    def seal(self, batch_id: str, start: datetime, end: datetime,
             programme: str = "prog-2026") -> int:
        s = BatchSeal(batch_id, programme, Period(format_time(start), format_time(end)), 0,
                      "0" * 64, Totals(0, 0, 0, 0), methodology="pv")
        return self.append(sign_record(s.to_dict(), self.signer.private_key))

    def sealed_claim(self, claim_id: str, batch_id: str) -> int:
        c = Claim(claim_id, "sealed", "prog-2026", CLAIMED_AT, ref=batch_id)
        return self.append(sign_record(c.to_dict(), self.signer.private_key))


HOUR0 = BASE_TIME
HOUR1 = BASE_TIME + timedelta(hours=1)


def two_hour_log() -> Log:
    """Device 1: hour 0 = slots 0 (pv 1000, export 400) and 1 (pv 800, export 900);
    hour 1 = slots 2 (pv 1200, export 200) and 3 (pv 500, no export reading)."""
    log = Log()
    log.enrol(1)
    log.slot(1, 0, 1000, 400)
    log.slot(1, 1, 800, 900)
    log.slot(1, 2, 1200, 200)
    log.slot(1, 3, 500, None)
    return log
