"""The agent's main loop waits in :meth:`agent.uplink.Uplink.pump` while SIGTERM may arrive: the
wait must end on time whatever signals interrupt it (docs/pitfalls.md §8: CPython 3.11's
``SimpleQueue.get(timeout)`` blocks for good when a signal lands near its deadline)."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from tests.agent.agent_kit import make_rig


def test_pump_returns_on_time_through_a_storm_of_signals(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)
    up = rig.agent.uplink
    before = signal.getsignal(signal.SIGUSR1)
    handled = [0]
    signal.signal(signal.SIGUSR1, lambda _s, _f: handled.__setitem__(0, handled[0] + 1))
    done = threading.Event()
    pumps = [0]
    hung: list[int] = []

    def storm() -> None:  # a signal every ~0.3 ms: some land on a wait's deadline
        while not done.is_set():
            os.kill(os.getpid(), signal.SIGUSR1)
            time.sleep(0.0003)

    def watchdog() -> None:  # a pump stuck for 2 s is woken (and counted), so the test ends
        seen = -1
        while not done.wait(2.0):
            if pumps[0] == seen:
                hung.append(seen)
                up.notify()
            seen = pumps[0]

    threads = [threading.Thread(target=storm), threading.Thread(target=watchdog)]
    for t in threads:
        t.start()
    try:
        deadline = time.monotonic() + 3.0
        while time.monotonic() < deadline:
            up.pump(wait_s=0.002)
            pumps[0] += 1
    finally:
        done.set()
        for t in threads:
            t.join()
        signal.signal(signal.SIGUSR1, before)
        rig.agent.shutdown()
    assert handled[0] > 100  # the storm reached the waits
    assert not hung, f"pump blocked for seconds after call {hung[0]} (of {pumps[0]})"
