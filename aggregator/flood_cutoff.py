"""Cutting a flooding device off at the broker (issue 14, point 2).

Why: the rate gate (:mod:`aggregator.rate_gate`) protects ``serve``, not the broker. Mosquitto
keeps one FIFO per subscriber session, shared by every device, and has no per-client publish
limit; a device publishing with a native client (~50 k messages/s) fills that FIFO faster than
one ``serve`` drains it, so an honest device's readings wait behind the flood for many seconds and
are finally dropped by the broker. The only place the flood can be stopped is at its source: the
broker must stop taking the device's messages. Removing its login and reloading does exactly that
(Mosquitto 2.0.11 disconnects a connected client whose password-file line is gone at once, and
refuses its reconnects: docs/pitfalls.md).

* :class:`FloodDetector` counts the rate gate's drops per device in the MQTT network thread (no
  lock, no I/O) and says when a device crosses :data:`CUTOFF_DROPS` drops within
  :data:`CUTOFF_WINDOW_S`. An honest agent cannot get near that: it has at most
  ``max_in_flight`` (≤ 16) readings messages awaiting a receipt, and a dropped message holds its
  slot until ``resend_timeout_s`` (60 s by default), so it loses at most 16 messages a minute to
  the gate, however large its backlog (64 readings a message).
* :func:`suspend_login` moves the device's password hash from the broker's password file to
  ``<passwd>.suspended`` (JSON, owner-only, never read by the broker); :func:`restore_login` moves
  it back, so the device keeps its password: nobody has to visit it to re-provision it.

Restoring is the operator's decision (``eco-aggregator broker-restore DEVICE_ID``), not a timer:
a device that sends thousands of messages a second is broken or hostile, and its readings are not
lost meanwhile (the agent keeps them until it holds receipts and sends them after the restore).
The fleet page lists suspended devices (:func:`read_suspended`).
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason

from .broker_auth import PasswordFile
from .errors import EnvironmentProblem

CUTOFF_DROPS: Final = 500  # rate-gate drops from one device ...
CUTOFF_WINDOW_S: Final = 10.0  # ... within this many seconds: suspend its broker login
REARM_S: Final = 60.0  # after a trip, the same device may trip again only after this
SUSPENDED_SUFFIX: Final = ".suspended"


@dataclass
class FloodDetector:
    """Counts rate-gate drops per device; owned by one thread (the network thread)."""

    drops: int = CUTOFF_DROPS
    window_s: float = CUTOFF_WINDOW_S
    rearm_s: float = REARM_S
    clock: Callable[[], float] = time.monotonic
    _counts: dict[str, tuple[float, int]] = field(default_factory=dict)  # window start, drops
    _tripped: dict[str, float] = field(default_factory=dict)

    def note_drop(self, device: str) -> int | None:
        """Count one drop. Returns the count when this drop trips the cut-off, else None. A
        tripped device is not reported again for ``rearm_s``: what the broker had queued from
        it before the disconnect keeps arriving and must not trigger a second suspension."""
        now = self.clock()
        tripped = self._tripped.get(device)
        if tripped is not None:
            if now - tripped < self.rearm_s:
                return None
            del self._tripped[device]
        start, n = self._counts.get(device, (now, 0))
        if now - start > self.window_s:
            start, n = now, 0
        n += 1
        if n >= self.drops:
            self._counts.pop(device, None)
            self._tripped[device] = now
            return n
        self._counts[device] = (start, n)
        if len(self._counts) > 4096:  # many devices over their rate once: forget the old ones
            self._counts = {d: v for d, v in self._counts.items()
                            if now - v[0] <= self.window_s}
        return None


@dataclass(frozen=True, slots=True)
class Suspension:
    device_id: str
    at: str  # when (ISO 8601 UTC)
    dropped: int  # rate-gate drops that tripped it
    window_s: float


def suspended_path(passwd: Path) -> Path:
    return passwd.with_name(passwd.name + SUSPENDED_SUFFIX)


def _read_doc(path: Path) -> dict[str, dict[str, Any]]:
    try:
        doc = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise EnvironmentProblem(msg("aggregator.flood.unreadable", path=path,
                                     error=str(e))) from e
    if not isinstance(doc, dict):
        raise EnvironmentProblem(msg("aggregator.flood.not_object", path=path))
    return doc


def _write_doc(path: Path, doc: dict[str, dict[str, Any]]) -> None:
    try:
        atomic_write(path, (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode(), 0o600)
    except OSError as e:
        raise EnvironmentProblem(msg("aggregator.flood.unwritable", path=path,
                                     reason=os_reason(e))) from e


def read_suspended(passwd: Path) -> dict[str, Suspension]:
    """The devices whose login is suspended (no hashes), for the fleet page and the CLI."""
    doc = _read_doc(suspended_path(passwd))
    out = {}
    for d, v in doc.items():
        try:
            out[d] = Suspension(d, str(v["at"]), int(v["dropped"]), float(v["window_s"]))
        except (KeyError, TypeError, ValueError):
            continue
    return out


def suspend_login(passwd: Path, device_id: str, at: str, dropped: int,
                  window_s: float) -> bool:
    """Move the device's hash aside; False if it has no login (already suspended, revoked, or
    never issued). The suspended file is written first: a crash in between leaves the login in
    both files, which is harmless (a restore puts back the same hash)."""
    pf = PasswordFile(passwd)
    with pf._locked():
        entries = pf.read()
        encoded = entries.pop(device_id, None)
        if encoded is None:
            return False
        side = suspended_path(passwd)
        doc = _read_doc(side)
        doc[device_id] = {"hash": encoded, "at": at, "dropped": dropped, "window_s": window_s}
        _write_doc(side, doc)
        pf._write(entries)
    return True


def restore_login(passwd: Path, device_id: str) -> bool:
    """Put the suspended hash back (the device's old password works again once the broker
    reloads); False if the device is not suspended. The password file is written first."""
    pf = PasswordFile(passwd)
    with pf._locked():
        side = suspended_path(passwd)
        doc = _read_doc(side)
        entry = doc.pop(device_id, None)
        if entry is None:
            return False
        entries = pf.read()
        entries[device_id] = str(entry["hash"])
        pf._write(entries)
        _write_doc(side, doc)
    return True


def discard_suspension(passwd: Path, device_id: str) -> bool:
    """Forget a suspended hash (the device was revoked, or got a new password): a later restore
    must not bring an old login back."""
    pf = PasswordFile(passwd)
    side = suspended_path(passwd)
    if not side.exists():
        return False
    with pf._locked():
        doc = _read_doc(side)
        if doc.pop(device_id, None) is None:
            return False
        _write_doc(side, doc)
    return True


def cutoff_unavailable(passwd: Path, pid_file: Path | None) -> str | None:
    """Why ``serve`` cannot cut a flooding device off, or None if it can: it needs the broker's
    password file (a hardened install, docs/protocol.md §3) and the broker's pid (to reload)."""
    if pid_file is None:
        return ("[mqtt] broker_pid_file is not set, so serve cannot make the broker reload; "
                "set it (see 'eco-aggregator broker-config --pid-file')")
    if not passwd.exists():
        return (f"the broker password file {passwd} does not exist (a broker without device "
                "logins); set up access control with 'eco-aggregator broker-config'")
    if not os.access(passwd.parent, os.W_OK):
        return f"serve may not write in {passwd.parent}, where the broker password file is"
    return None


__all__ = ["CUTOFF_DROPS", "CUTOFF_WINDOW_S", "REARM_S", "FloodDetector", "Suspension",
           "cutoff_unavailable", "discard_suspension", "read_suspended", "restore_login",
           "suspend_login", "suspended_path"]
