"""Tearing down child processes that run in their own process group.

The demo, the benchmarks and the simulators start each child with ``start_new_session=True``, so
the child is a process-group leader and one signal to its group reaches whatever it started in
turn (a console script's interpreter, a broker). Teardown is always the same two steps: SIGTERM
to every live group, a bounded wait, SIGKILL to what is left. Here once, for all of them.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Sequence
from typing import Any


def signal_group(proc: subprocess.Popen[Any], sig: int) -> None:
    """Send ``sig`` to the process group ``proc`` leads; a group already gone is no error."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, sig)


def kill_group(proc: subprocess.Popen[Any]) -> int:
    """SIGKILL the group and reap its leader; its return code."""
    signal_group(proc, signal.SIGKILL)
    return proc.wait()


def terminate_groups(procs: Sequence[subprocess.Popen[Any]], timeout: float) -> None:
    """SIGTERM every live group in the order given, wait for all of them within one shared
    ``timeout`` (seconds), and SIGKILL each group whose leader has not exited by then. Every
    leader is reaped on return, so each ``returncode`` is set."""
    for p in procs:
        if p.poll() is None:
            signal_group(p, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for p in procs:
        try:
            p.wait(max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kill_group(p)


__all__ = ["kill_group", "signal_group", "terminate_groups"]
