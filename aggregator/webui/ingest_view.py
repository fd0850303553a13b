"""The fleet page's ingest figures: which devices ``serve`` refused or dropped messages from in
the last minutes, and which of them flood.

The figures come from ``<state_dir>/ingest-status-*.json`` (aggregator/ingest_status.py), which
the ``serve`` workers replace every few seconds: the UI may run in another process or on another
host's copy of the state directory, and these counters are operational, not ledger facts. A file
older than ``STALE_AFTER`` is shown with its age, so a stopped ``serve`` is not read as "all
quiet".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from ..flood_cutoff import Suspension
from ..ingest_status import IngestStatus

STALE_AFTER = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class IngestRow:
    device_id: str  # "" for messages on a topic that names no device
    household: str | None  # None: not an enrolled device (or not enrolled when the view was taken)
    messages: int
    refused: int
    dropped: int
    flooding: bool


@dataclass(frozen=True, slots=True)
class IngestPanel:
    rows: list[IngestRow]  # devices with refused or dropped messages, the worst first
    flooding: frozenset[str]
    window_min: int
    written_at: datetime
    stale: bool


def ingest_panel(status: IngestStatus | None, households: Mapping[str, str],
                 now: datetime) -> IngestPanel | None:
    """Pure: what the fleet page shows, or None when no ``serve`` has published figures."""
    if status is None:
        return None
    rows = [IngestRow(d, households.get(d), v.messages, v.refused, v.dropped, v.flooding)
            for d, v in status.devices.items() if v.refused or v.dropped]
    rows.sort(key=lambda r: (not r.flooding, -(r.refused + r.dropped), r.device_id))
    return IngestPanel(rows, frozenset(r.device_id for r in rows if r.flooding),
                       max(1, status.window_s // 60), status.written_at,
                       now - status.written_at > STALE_AFTER)


@dataclass(frozen=True, slots=True)
class SuspendedRow:
    """A device ``serve`` cut off at the broker for flooding (aggregator/flood_cutoff.py)."""

    device_id: str
    household: str | None
    at: str
    dropped: int
    window_s: float


def suspended_rows(suspended: Mapping[str, Suspension],
                   households: Mapping[str, str]) -> list[SuspendedRow]:
    """Pure: the suspended logins, the newest first. From the suspended file itself, not from
    serve's status file: a suspension lasts until the operator restores it, whether or not
    serve still runs."""
    rows = [SuspendedRow(d, households.get(d), s.at, s.dropped, s.window_s)
            for d, s in suspended.items()]
    rows.sort(key=lambda r: (r.at, r.device_id), reverse=True)
    return rows


__all__ = ["STALE_AFTER", "IngestPanel", "IngestRow", "SuspendedRow", "ingest_panel",
           "suspended_rows"]
