"""Progress of long CLI commands (``ledger verify``, ``ledger export``, ``batch create/report``).

On a terminal: one redrawn line with a bar, the count, the rate and the time left. Otherwise (a
log file, systemd's journal, a test): a plain line at most every ``interval`` seconds, and a
closing line only if a periodic one was printed, so quick runs stay quiet. Output goes to stderr:
stdout carries the command's JSON result.

Work functions take a :data:`ProgressCallback` and call it now and then (every
:data:`REPORT_EVERY` items and at the end) with ``(phase, done, total)``; they know nothing of
terminals. The formatting is pure (:func:`render_bar`, :func:`render_line`); :class:`Progress`
takes its clock as an argument so tests drive it without sleeping.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

ProgressCallback = Callable[[str, int, int], None]
"""``(phase, done, total)``: e.g. ``("verify", 4096, 1_400_000)``."""

REPORT_EVERY = 1024  # how often a work loop calls back (items); cheap enough at 1 M entries


def format_duration(seconds: float) -> str:
    """``0:07``, ``12:34``, ``1:02:03``."""
    s = max(0, int(seconds + 0.5))
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


def format_rate(per_second: float) -> str:
    """``850/s``, ``12.3k/s``, ``1.4M/s``."""
    if per_second >= 1_000_000:
        return f"{per_second / 1_000_000:.1f}M/s"
    if per_second >= 1000:
        return f"{per_second / 1000:.1f}k/s"
    return f"{per_second:.0f}/s"


def _rate_eta(done: int, total: int, elapsed: float) -> tuple[str, str]:
    if elapsed <= 0 or done <= 0:
        return "-/s", "--:--"
    rate = done / elapsed
    eta = format_duration((total - done) / rate) if total >= done else "--:--"
    return format_rate(rate), eta


def render_bar(phase: str, done: int, total: int, elapsed: float, width: int = 28) -> str:
    """``verify [##########------------------]  36%  5120/14000  2.1k/s  ETA 0:04``."""
    frac = 1.0 if total <= 0 else min(1.0, done / total)
    filled = int(frac * width)
    rate, eta = _rate_eta(done, total, elapsed)
    return (f"{phase} [{'#' * filled}{'-' * (width - filled)}] {frac * 100:3.0f}%  "
            f"{done}/{total}  {rate}  ETA {eta}")


def render_line(phase: str, done: int, total: int, elapsed: float) -> str:
    """``verify: 5120/14000 (36%), 2.1k/s, 0:02 elapsed, about 0:04 left``."""
    pct = 100.0 if total <= 0 else min(100.0, done * 100 / total)
    rate, eta = _rate_eta(done, total, elapsed)
    return (f"{phase}: {done}/{total} ({pct:.0f}%), {rate}, {format_duration(elapsed)} elapsed, "
            f"about {eta} left")


def render_done(phase: str, done: int, elapsed: float) -> str:
    rate = format_rate(done / elapsed) if elapsed > 0 else "-/s"
    return f"{phase}: {done} done in {format_duration(elapsed)} ({rate})"


class Progress:
    """A :data:`ProgressCallback` that draws on ``stream``; use as a context manager."""

    def __init__(self, stream: TextIO | None = None, *, tty: bool | None = None,
                 clock: Callable[[], float] = time.monotonic, interval: float = 10.0,
                 redraw: float = 0.1) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.tty = self.stream.isatty() if tty is None else tty
        self.clock = clock
        self.interval = interval if not self.tty else redraw
        self._phase: str | None = None
        self._started = 0.0
        self._last_draw = 0.0
        self._done = 0
        self._shown = -1
        self._printed = False

    def __call__(self, phase: str, done: int, total: int) -> None:
        now = self.clock()
        if phase != self._phase:
            self._finish(now)
            self._phase, self._started, self._last_draw, self._printed = phase, now, now, False
            self._shown = -1
        self._done = done
        if done == self._shown or (now - self._last_draw < self.interval and done < total):
            return
        if not self.tty and done >= total and not self._printed:
            return  # finished before the first periodic line: stay quiet
        self._last_draw = now
        self._shown = done
        elapsed = now - self._started
        if self.tty:
            self.stream.write("\r" + render_bar(phase, done, total, elapsed) + "\x1b[K")
        else:
            self.stream.write(render_line(phase, done, total, elapsed) + "\n")
        self._printed = True
        self.stream.flush()

    def _finish(self, now: float) -> None:
        if self._phase is None or not self._printed:
            return
        line = render_done(self._phase, self._done, now - self._started)
        self.stream.write(("\r" + line + "\x1b[K\n") if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        self._finish(self.clock())
        self._phase = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()


def every(callback: ProgressCallback | None, phase: str, done: int, total: int) -> None:
    """Call ``callback`` every :data:`REPORT_EVERY` items and at the end (for work loops)."""
    if callback is not None and (done % REPORT_EVERY == 0 or done >= total):
        callback(phase, done, total)


__all__ = ["Progress", "ProgressCallback", "REPORT_EVERY", "every", "format_duration",
           "format_rate", "render_bar", "render_done", "render_line"]
