"""Per-device ingest counters, published for the operator as ``<state_dir>/ingest-status.json``.

Why a file: the web UI (``eco-aggregator ui``) may run in another process, on a read-only view
of the store, and ``serve`` may run as several workers. Counters of refused and dropped messages
are operational, not ledger facts, so they do not belong in the store (writing them there under
a flood would be one more write per message, the very cost a flood must not impose). ``serve``
replaces the file atomically (temp file, ``os.replace``) at most every ``interval_s``; the UI
reads whatever is there and says how old it is. Several workers on one state directory each
write ``ingest-status-<client id>.json`` and the UI adds them up (:func:`read_status`).

Counts are kept per minute for the last ``window_s`` seconds, so a flood that stopped fades out
of the fleet page within minutes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.encoding import format_time, parse_time

WINDOW_S = 300
# refused + dropped messages per minute, averaged over the window, from which a device counts as
# flooding: an honest agent sends a few messages per interval and is refused almost never
FLOODING_PER_MIN = 60.0
STATUS_GLOB = "ingest-status-*.json"

log = logging.getLogger(__name__)


def status_path(state_dir: Path, client_id: str) -> Path:
    """This worker's file (its MQTT client id, which is unique per worker, made file-safe)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in client_id)
    return state_dir / f"ingest-status-{safe}.json"

# (messages processed, of which refused, dropped unprocessed)
_M, _R, _D = 0, 1, 2


class IngestCounters:
    """Thread-safe: the network thread counts drops, the main thread everything else."""

    def __init__(self, window_s: int = WINDOW_S,
                 clock: Callable[[], float] = time.time) -> None:
        self.window_s = window_s
        self.clock = clock
        self._lock = threading.Lock()
        # minute → device → [messages, refused, dropped]
        self._minutes: dict[int, dict[str, list[int]]] = {}
        self._new_drops: defaultdict[tuple[str, str], int] = defaultdict(int)

    def _cell(self, device: str) -> list[int]:
        minute = int(self.clock() // 60)
        per = self._minutes.get(minute)
        if per is None:
            per = self._minutes[minute] = {}
            for old in [m for m in self._minutes if m <= minute - self.window_s // 60]:
                del self._minutes[old]
        cell = per.get(device)
        if cell is None:
            cell = per[device] = [0, 0, 0]
        return cell

    def drop(self, device: str, code: str) -> None:
        """A message dropped unprocessed, with the reason code (``rate_limited``,
        ``queue_full``)."""
        with self._lock:
            self._cell(device)[_D] += 1
            self._new_drops[(device, code)] += 1

    def processed(self, device: str, problem: str | None) -> None:
        with self._lock:
            cell = self._cell(device)
            cell[_M] += 1
            if problem is not None:
                cell[_R] += 1

    def take_new_drops(self) -> dict[tuple[str, str], int]:
        """Drops since the last call, per (device, code) (for the problem log)."""
        with self._lock:
            out = dict(self._new_drops)
            self._new_drops.clear()
            return out

    def snapshot(self) -> dict[str, Any]:
        """The status document: per device, totals over the window and the flooding flag."""
        now = self.clock()
        first = int(now // 60) - self.window_s // 60 + 1
        totals: defaultdict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
        with self._lock:
            for minute, per in self._minutes.items():
                if minute >= first:
                    for device, cell in per.items():
                        t = totals[device]
                        for i in (_M, _R, _D):
                            t[i] += cell[i]
        minutes = self.window_s / 60
        # only devices with something refused or dropped: the file stays small with 10 k
        # healthy devices (it is rewritten every few seconds, on an SD card perhaps)
        devices = {
            d or "": {"messages": t[_M], "refused": t[_R], "dropped": t[_D],
                      "flooding": (t[_R] + t[_D]) / minutes >= FLOODING_PER_MIN}
            for d, t in sorted(totals.items()) if t[_R] or t[_D]}
        return {"written_at": format_time(datetime.fromtimestamp(now, UTC).replace(
                    microsecond=0)),
                "window_s": self.window_s, "flooding_per_min": FLOODING_PER_MIN,
                "devices": devices}


@dataclass
class StatusFile:
    """Writes the snapshot atomically, at most every ``interval_s`` seconds while some device
    has problems, every ``idle_interval_s`` while all is quiet (the UI still sees it is fresh:
    ``aggregator/webui/ingest_view.py`` STALE_AFTER is longer)."""

    path: Path
    interval_s: float = 5.0
    idle_interval_s: float = 60.0
    _checked: float = -1e9
    _written: float = -1e9
    _quiet: bool = False
    _failing: bool = False  # the last write failed (reported once until one succeeds)

    def maybe_write(self, counters: IngestCounters, force: bool = False) -> bool:
        now = time.monotonic()
        if not force and now - self._checked < self.interval_s:
            return False
        self._checked = now
        doc = counters.snapshot()
        quiet = not doc["devices"]
        if not force and quiet and self._quiet and now - self._written < self.idle_interval_s:
            return False
        try:
            write_status(self.path, doc)
        except OSError as e:
            # operational figures only: a full or read-only disk must not take serve down (the
            # ledger's own writes decide that). Said once; the UI shows the figures' age.
            if not self._failing:
                log.warning("cannot write the ingest status file %s: %s; the fleet page's "
                            "ingest figures go stale until it can be written (check free space "
                            "with 'df -h %s'); ingest carries on", self.path,
                            e.strerror or e, self.path.parent)
            self._failing = True
            return False
        if self._failing:
            log.warning("the ingest status file %s is written again", self.path)
        self._failing = False
        self._written, self._quiet = now, quiet
        return True


def write_status(path: Path, doc: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps(doc, sort_keys=True, separators=(",", ":")) + "\n", "utf-8")
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a half-written temp file must not take the last bytes
        raise


@dataclass(frozen=True, slots=True)
class DeviceIngest:
    messages: int
    refused: int
    dropped: int
    flooding: bool


@dataclass(frozen=True, slots=True)
class IngestStatus:
    written_at: datetime
    window_s: int
    devices: dict[str, DeviceIngest]

    def age_s(self, now: datetime) -> float:
        return (now - self.written_at).total_seconds()


def _read_one(path: Path) -> IngestStatus | None:
    try:
        doc = json.loads(path.read_text("utf-8"))
        return IngestStatus(
            parse_time(str(doc["written_at"]), "written_at"), int(doc["window_s"]),
            {str(d): DeviceIngest(int(v["messages"]), int(v["refused"]), int(v["dropped"]),
                                  bool(v["flooding"]))
             for d, v in dict(doc["devices"]).items()})
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def read_status(state_dir: Path) -> IngestStatus | None:
    """What the ``serve`` workers published, added up (the oldest file's time), or None (no
    file yet, or none we understand): the fleet page then shows no ingest figures."""
    found = [s for p in sorted(state_dir.glob(STATUS_GLOB)) if (s := _read_one(p)) is not None]
    if not found:
        return None
    devices: dict[str, DeviceIngest] = {}
    for st in found:
        for d, v in st.devices.items():
            o = devices.get(d)
            devices[d] = v if o is None else DeviceIngest(
                o.messages + v.messages, o.refused + v.refused, o.dropped + v.dropped,
                o.flooding or v.flooding)
    return IngestStatus(min(s.written_at for s in found), max(s.window_s for s in found),
                        devices)


__all__ = ["FLOODING_PER_MIN", "STATUS_GLOB", "WINDOW_S", "DeviceIngest", "IngestCounters",
           "IngestStatus", "StatusFile", "read_status", "status_path", "write_status"]
