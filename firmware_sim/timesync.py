"""A stand-in for systemd-timesyncd's ``/run/systemd/timesync``, driven by a jumping clock.

On a Raspberry Pi without an RTC, systemd-timesyncd creates ``/run/systemd/timesync/`` at boot and
touches ``synchronized`` in it once it has set the clock from NTP (systemd ``timesyncd-manager.c``;
docs/pitfalls.md §7) — *after* stepping the clock. The agent relies on exactly that file
(:func:`agent.runner.clock_known_unsynced`). :class:`FakeTimesyncd` plays the same part for a
test or a simulation: it creates the directory without the file, and creates the file once its
:class:`agent.clock.JumpingClock` has jumped, never before.
"""

from __future__ import annotations

import threading
from pathlib import Path

from agent.clock import JumpingClock

SYNCHRONIZED = "synchronized"
_POLL_S = 0.01


class FakeTimesyncd:
    """Creates ``directory`` at :meth:`start`; ``directory/synchronized`` after the clock's jump."""

    def __init__(self, directory: Path, clock: JumpingClock) -> None:
        self.directory = directory
        self.clock = clock
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.synchronized_at: float | None = None  # the clock's reading when the file appeared

    @property
    def flag(self) -> Path:
        return self.directory / SYNCHRONIZED

    def start(self) -> FakeTimesyncd:
        self.directory.mkdir(parents=True, exist_ok=True)
        self.flag.unlink(missing_ok=True)  # a fresh boot: not synchronised yet
        self._thread = threading.Thread(target=self._run, name="fake-timesyncd", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(_POLL_S):
            if self.clock.jumped():  # the clock is set first, then the file appears
                self.flag.touch()
                self.synchronized_at = self.clock.timestamp()
                return
