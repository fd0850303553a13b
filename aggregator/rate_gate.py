"""Token buckets per device: how many readings messages a device may have judged per second.

``serve`` applies them in the MQTT network thread, before a message is queued (issue 14): a
flooding device's excess is acknowledged to the broker and dropped right there, so it costs a
topic match and a subtraction instead of a trip through the queue, the main thread and a
store transaction, and the broker's queue for our session keeps moving. The limits are the
``[ingest]`` ones (docs/protocol.md §3.3: 20 messages/s sustained, bursts of 200).

Not thread-safe by design: one thread (the network thread) owns it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Bucket:
    tokens: float
    at: float


@dataclass
class RateGate:
    rate: float  # tokens per second
    burst: int  # bucket size
    clock: Callable[[], float] = time.monotonic
    _buckets: dict[str, _Bucket] = field(default_factory=dict)

    def admit(self, key: str, now: float | None = None) -> bool:
        """Take a token from ``key``'s bucket if it has one (at ``now``, default the clock's)."""
        if now is None:
            now = self.clock()
        b = self._buckets.get(key)
        if b is None:
            b = self._buckets[key] = _Bucket(float(self.burst), now)
        else:
            b.tokens = min(float(self.burst), b.tokens + (now - b.at) * self.rate)
            b.at = now
        if b.tokens >= 1:
            b.tokens -= 1
            return True
        return False


__all__ = ["RateGate"]
