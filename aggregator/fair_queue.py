"""Messages waiting for the intake, one bounded queue per device, drained round-robin.

One FIFO for every device let a flooding device's backlog sit in front of everyone else's
messages: an honest device's reading waited behind tens of thousands of refused ones (issue 14:
68 ms → 2.6 s median receipt latency, for minutes after the flood). Here each device has its own
queue of at most ``per_key`` messages and a group takes one message from each waiting device in
turn, so a message waits for at most ``(devices waiting ahead of it) × 1`` messages per round,
whatever any one device sends. A message over its device's cap is refused by :meth:`offer`: the
caller acknowledges it to the broker at once and drops it unanswered (no receipt, so an honest
agent, which has at most 16 messages awaiting receipts, resends it).

Thread-safe: the MQTT network thread offers, the worker's main thread takes. The lock is held
for a few dict and deque operations only, never across a callback (docs/pitfalls.md §1).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from collections.abc import Hashable
from typing import Generic, TypeVar

K = TypeVar("K", bound=Hashable)
T = TypeVar("T")

# An agent has at most 16 readings messages awaiting receipts (agent/config.py max_in_flight,
# 1–16); twice that leaves room for resends racing their receipts.
DEFAULT_PER_KEY = 32


class FairQueue(Generic[K, T]):
    """Per-key bounded FIFOs; :meth:`take` interleaves the keys round-robin."""

    def __init__(self, per_key: int = DEFAULT_PER_KEY) -> None:
        if per_key < 1:
            raise ValueError("per_key must be at least 1")
        self.per_key = per_key
        # keys with something waiting, in the order their turn comes
        self._queues: OrderedDict[K, deque[T]] = OrderedDict()
        self._size = 0
        self._kicked = False
        self._cond = threading.Condition(threading.Lock())

    def __len__(self) -> int:
        return self._size

    def waiting(self, key: K) -> int:
        with self._cond:
            q = self._queues.get(key)
            return 0 if q is None else len(q)

    def offer(self, key: K, item: T) -> bool:
        """Queue ``item`` behind ``key``'s earlier ones; False (nothing queued) if ``key``
        already has ``per_key`` waiting."""
        with self._cond:
            q = self._queues.get(key)
            if q is None:
                q = self._queues[key] = deque()
            elif len(q) >= self.per_key:
                return False
            q.append(item)
            self._size += 1
            self._cond.notify()
            return True

    def take(self, n: int) -> list[T]:
        """Up to ``n`` items without waiting: one per key per round, keys in turn. A key that
        still has items after its turn goes to the back of the line."""
        out: list[T] = []
        with self._cond:
            while self._queues and len(out) < n:
                key, q = next(iter(self._queues.items()))
                out.append(q.popleft())
                self._size -= 1
                if q:
                    self._queues.move_to_end(key)
                else:
                    del self._queues[key]
        return out

    def kick(self) -> None:
        """Wake a :meth:`wait` for other work (serve: acknowledgements to send)."""
        with self._cond:
            self._kicked = True
            self._cond.notify()

    def wait(self, timeout: float) -> bool:
        """Until something is queued or :meth:`kick` was called (True), or ``timeout`` seconds
        passed (False)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._size == 0 and not self._kicked:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            self._kicked = False
            return True


__all__ = ["DEFAULT_PER_KEY", "FairQueue"]
