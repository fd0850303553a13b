"""sd_notify(3) without dependencies: READY, WATCHDOG and STOPPING for ``Type=notify`` units.

Shared by the agent and the aggregator, which import it from here and never from each other.
Callers ping the watchdog from their main loop after a health check, never from a free-running
thread, so a hung process is restarted (docs/pitfalls.md §6).
"""

from __future__ import annotations

import logging
import os
import socket

log = logging.getLogger(__name__)


def sd_notify(message: str) -> bool:
    """Send ``message`` to systemd's notify socket if there is one."""
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return False
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
            s.connect(addr)
            s.sendall(message.encode("ascii"))
    except OSError as e:
        log.warning("sd_notify(%s) failed: %s", message, e)
        return False
    return True


def watchdog_interval_s() -> float | None:
    """Half of ``$WATCHDOG_USEC`` in seconds (how often to ping), or None without a watchdog."""
    usec = os.environ.get("WATCHDOG_USEC")
    if not usec or not usec.isdigit():
        return None
    return int(usec) / 2_000_000
