"""How many ``rejection`` rows one device may add per minute; the rest become one counted row.

The rejection table is the operator's log of refused readings and messages (shown on the fleet
page, newest first; not derived from the log, so ``ledger verify`` does not re-derive it). A
device that floods within its rate limit — 20 malformed messages a second, or readings with bad
signatures — added a row for every one: 1.7 million rows a day per device, unbounded store
growth from one misbehaving box. So each device gets ``rows`` rows per ``window_s``; what it
sends beyond that is counted by code, and when the window has passed one row says how many
were not recorded and why (reason ``suppressed: …``, seq NULL). The operator still sees the
first problems at once, the kinds and the volume; the table grows by at most ``rows + 1`` rows
per device per window.

Pure bookkeeping with an injected clock; :class:`~aggregator.intake.Intake` writes the rows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .problem_log import problem_code


@dataclass
class _Window:
    opened: float
    written: int = 0
    suppressed: Counter[str] = field(default_factory=Counter)


@dataclass
class RejectionBudget:
    rows: int = 10
    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, _Window] = field(default_factory=dict)
    _closed: list[tuple[str, str]] = field(default_factory=list)

    def admit(self, device_id: str, reason: str) -> bool:
        """Whether this rejection gets its own row (else it is counted for the summary)."""
        now = self.clock()
        w = self._windows.get(device_id)
        if w is None or now - w.opened >= self.window_s:
            if w is not None and w.suppressed:
                self._closed.append((device_id, self._summary(w, now)))
            w = self._windows[device_id] = _Window(now)
        if w.written < self.rows:
            w.written += 1
            return True
        w.suppressed[problem_code(reason)] += 1
        return False

    @staticmethod
    def _summary(w: _Window, now: float) -> str:
        n = sum(w.suppressed.values())
        codes = ", ".join(f"{c} {k}" for c, k in sorted(w.suppressed.items()))
        return (f"suppressed: {n} more rejection(s) from this device in {now - w.opened:.0f} s "
                f"not recorded one by one ({codes})")

    def due(self, force: bool = False) -> list[tuple[str, str]]:
        """(device, summary reason) for every window that has ended with rejections not
        recorded (every such window with ``force``); those windows are closed."""
        now = self.clock()
        out, self._closed = self._closed, []
        for device, w in list(self._windows.items()):
            if force or now - w.opened >= self.window_s:
                del self._windows[device]
                if w.suppressed:
                    out.append((device, self._summary(w, now)))
        return out

    def pending(self) -> bool:
        return bool(self._closed) or any(w.suppressed for w in self._windows.values())


__all__ = ["RejectionBudget"]
