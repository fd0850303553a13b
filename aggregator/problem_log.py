"""Problems with incoming messages, logged as a few summary lines per device, never one per message.

A device that floods the broker with refused messages (over its rate, malformed, for another
device's topic) used to write one WARNING per message: half a million lines in three minutes,
105 MB of log, and a worker busy formatting them while honest devices waited. The operator needs
to know *that* a device misbehaves, how much and why, not every instance. So the first problem
of a device in a window is logged at once (the operator sees it without delay), the rest are
counted by code, and one summary line per device closes the window. At most two lines per
device per window, whatever the device sends.

Pure bookkeeping with an injected clock; :mod:`aggregator.serve` logs what it returns.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

UNKNOWN = "(no device id)"


def problem_code(problem: str, device_id: str | None = None) -> str:
    """The reason code: the part of a problem before its first colon (``rate_limited: …``),
    after the ``<device_id>: `` an Outcome puts in front of a known device's problem."""
    if device_id is not None and problem.startswith(f"{device_id}: "):
        problem = problem[len(device_id) + 2:]
    head = problem.split(": ", 1)
    code = head[0] if len(head) == 2 else "problem"
    return code if code.replace("_", "").isalnum() and len(code) <= 32 else "problem"


@dataclass
class _Window:
    opened: float
    counts: Counter[str] = field(default_factory=Counter)
    last: str = ""


@dataclass
class ProblemLog:
    """Per-device windows of ``window_s`` seconds. :meth:`note` returns the lines to log now."""

    window_s: float = 60.0
    clock: Callable[[], float] = time.monotonic
    _windows: dict[str, _Window] = field(default_factory=dict)

    def note(self, device_id: str | None, problem: str, count: int = 1) -> list[str]:
        """``count`` messages with this problem (the worker counts its queue drops in bulk)."""
        now = self.clock()
        lines = self._close_expired(now)
        key = device_id or UNKNOWN
        w = self._windows.get(key)
        if w is None:
            w = self._windows[key] = _Window(now)
            lines.append(problem)
            count -= 1
        if count > 0:
            w.counts[problem_code(problem, device_id)] += count
            w.last = problem
        return lines

    def flush(self, force: bool = False) -> list[str]:
        """Summaries of the windows that have ended (all of them with ``force``, at shutdown)."""
        return self._close_expired(self.clock(), force)

    def _close_expired(self, now: float, force: bool = False) -> list[str]:
        lines = []
        for key in [k for k, w in self._windows.items()
                    if force or now - w.opened >= self.window_s]:
            w = self._windows.pop(key)
            if w.counts:
                total = sum(w.counts.values())
                codes = ", ".join(f"{c} {n}" for c, n in sorted(w.counts.items()))
                lines.append(f"{key}: {total} more problem message(s) in the last "
                             f"{now - w.opened:.0f} s ({codes}); last: {w.last[:300]}")
        return lines


__all__ = ["ProblemLog", "problem_code"]
