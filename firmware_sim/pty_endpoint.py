"""The device end of a pseudo-terminal: what every simulated serial device shares.

Opens a pty pair in raw mode (no echo, no CR/LF translation, no signals from 0x03), serves the
master side in a thread, and hands the slave's path to the agent as if it were /dev/ttyUSB0.
Subclasses implement :meth:`PtyEndpoint.on_bytes` (and, for timing-delimited protocols such as
Modbus RTU, :meth:`PtyEndpoint.on_idle`); a wake pipe makes :meth:`stop` prompt and idempotent.

The path handed out (:attr:`PtyEndpoint.port`) is a symlink of our own to ``/dev/pts/N``,
removed on :meth:`stop`: the kernel soon gives a freed ``/dev/pts/N`` to someone else (another
simulator of a parallel test run), and an agent still polling the old path would open a foreign
meter — or hold its exclusive lock so that the new owner's agent cannot ("Could not exclusively
lock port").
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import shutil
import tempfile
import termios
import threading
import time
import tty
from types import TracebackType
from typing import Self

log = logging.getLogger(__name__)

IDLE_POLL_S = 0.2

BAUD_RATES: frozenset[int] = frozenset(
    (1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400))
_SPEED_TO_BAUD: dict[int, int] = {getattr(termios, f"B{b}"): b for b in BAUD_RATES}


class PtyEndpoint:
    thread_name = "pty-device"

    def __init__(self) -> None:
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._master: int | None = None
        self._slave: int | None = None
        self._wake: tuple[int, int] | None = None
        self._port: str | None = None  # our symlink
        self._device: str | None = None  # the /dev/pts/N it points at
        self._link_dir: str | None = None

    # --- for subclasses -------------------------------------------------------------------

    def on_start(self) -> None:
        """Called once the pty exists, before the serving thread starts."""

    def on_bytes(self, data: bytes) -> bytes:
        """Bytes the agent wrote; returns bytes to write back (may be empty)."""
        raise NotImplementedError

    def poll_timeout(self) -> float:
        return IDLE_POLL_S

    def on_idle(self) -> bytes:
        """Called when select() times out; returns bytes to write back (may be empty)."""
        return b""

    def line_speed(self) -> int | None:
        """The baud rate the agent set on the tty (the slave side), None before start or for a
        speed outside :data:`BAUD_RATES`. A pty moves bytes at any speed; simulators that
        model a fixed line speed compare against this."""
        if self._slave is None:
            return None
        try:
            speed = termios.tcgetattr(self._slave)[5]  # ospeed
        except termios.error:
            return None
        return _SPEED_TO_BAUD.get(speed)

    # --- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> str:
        """The tty path the agent opens: a link to the pty's slave side, gone after stop()."""
        if self._port is None:
            raise RuntimeError(f"{self.thread_name} not started")
        return self._port

    @property
    def device(self) -> str:
        """The pty's slave side itself (``/dev/pts/N``)."""
        if self._device is None:
            raise RuntimeError(f"{self.thread_name} not started")
        return self._device

    def start(self) -> Self:
        if self._thread is not None:
            raise RuntimeError(f"{self.thread_name} already started")
        master, slave = os.openpty()
        tty.setraw(master)
        tty.setraw(slave)
        self._master, self._slave = master, slave
        self._device = os.ttyname(slave)
        self._link_dir = tempfile.mkdtemp(prefix="eco-sim-pty-")
        link = os.path.join(self._link_dir, "tty")
        os.symlink(self._device, link)
        self._port = link
        self._wake = os.pipe()
        self.on_start()
        self._stop.clear()
        self._thread = threading.Thread(target=self._serve, name=self.thread_name, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the pty; idempotent."""
        self._stop.set()
        if self._wake is not None:
            with contextlib.suppress(OSError):
                os.write(self._wake[1], b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        for fd in (self._master, self._slave, *(self._wake or ())):
            if fd is not None:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = None
        self._wake = None
        if self._link_dir is not None:
            shutil.rmtree(self._link_dir, ignore_errors=True)
            self._link_dir = None

    def __enter__(self) -> Self:
        return self.start() if self._thread is None else self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- the serving thread ---------------------------------------------------------------

    def _write(self, master: int, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                written = os.write(master, view)
            except OSError:
                return
            view = view[written:]

    def _serve(self) -> None:
        master, wake = self._master, self._wake
        assert master is not None and wake is not None
        while not self._stop.is_set():
            try:
                ready, _, _ = select.select([master, wake[0]], [], [], self.poll_timeout())
            except (OSError, ValueError):
                return  # fds closed under us by stop()
            if wake[0] in ready:
                return
            try:
                if master in ready:
                    try:
                        chunk = os.read(master, 4096)
                    except OSError:
                        # EIO while no slave is open; our own slave fd normally prevents it
                        time.sleep(0.01)
                        continue
                    reply = self.on_bytes(chunk)
                else:
                    reply = self.on_idle()
            except Exception:  # a simulator bug must not kill the thread silently
                log.exception("%s failed", self.thread_name)
                continue
            if reply:
                self._write(master, reply)
