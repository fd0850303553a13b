"""Ed25519 checks in worker processes, for the long replays (``ledger verify``, ``eco-verify``).

A ledger replay (:class:`~eco_protocol.replay.LedgerReplay`) is sequential: each reading's chain
depends on the one before it. Its signature checks are not: once the enrolment that names a
device's key has been replayed, the readings' signatures can be checked anywhere, in any order.
Given a :class:`SignaturePool` as its ``deferred`` sink, the replay hands them over instead of
checking inline and goes on parsing, chaining and hashing while other cores verify. The caller
asks :meth:`SignaturePool.first_failure` before it reports any problem of its own and at the end,
so the entry named is the first bad one, with the same message, exactly as without the pool.

Only the standard library: buyers run this in ``eco-verify`` with the protocol package alone.
"""

from __future__ import annotations

import os
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType

from .errors import BadSignature
from .keys import Ed25519PublicKey, public_key_from_raw, public_key_raw, verify_signature
from .messages import Msg

# (entry index, public key, signature, message, what)
Item = tuple[int, bytes, bytes, bytes, str | Msg]

_keys: dict[bytes, Ed25519PublicKey] = {}  # per worker process


def _check(items: list[Item]) -> list[tuple[int, BadSignature]]:
    """In a worker: the (index, message) of every item whose signature does not verify."""
    bad: list[tuple[int, BadSignature]] = []
    for index, raw, sig, message, what in items:
        key = _keys.get(raw)
        if key is None:
            key = _keys[raw] = public_key_from_raw(raw)
        try:
            verify_signature(key, sig, message, what)
        except BadSignature as e:
            bad.append((index, e))  # coded: rendered in the reader's language
    return bad


def default_workers() -> int:
    """One process fewer than the cores this process may use: the replay keeps one busy."""
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, cores - 1)


class SignaturePool:
    """Batches signature checks to ``workers`` processes; remembers the failures.

    At most ``max_pending`` batches are in flight: a replay that outruns the workers waits
    for the oldest batch, so memory stays bounded on a ledger of any size.
    """

    def __init__(self, workers: int, batch: int = 512, max_pending: int | None = None) -> None:
        if workers < 1:
            raise ValueError("a signature pool needs at least one worker")
        self._pool = ProcessPoolExecutor(workers)
        self._batch_size = batch
        self._max_pending = max_pending or 4 * workers
        self._batch: list[Item] = []
        self._pending: deque[Future[list[tuple[int, BadSignature]]]] = deque()
        self._failures: list[tuple[int, BadSignature]] = []

    def submit(self, index: int, key: Ed25519PublicKey, signature: bytes, message: bytes,
               what: str | Msg) -> None:
        """Queue one check (the signature of entry ``index``); matches ``LedgerReplay.deferred``."""
        self._batch.append((index, public_key_raw(key), signature, message, what))
        if len(self._batch) >= self._batch_size:
            self._flush()

    def _flush(self) -> None:
        if self._batch:
            self._pending.append(self._pool.submit(_check, self._batch))
            self._batch = []
        while len(self._pending) > self._max_pending:
            self._failures.extend(self._pending.popleft().result())

    def first_failure(self) -> tuple[int, BadSignature] | None:
        """Wait for every check submitted so far; the lowest failing (index, message), if any."""
        self._flush()
        while self._pending:
            self._failures.extend(self._pending.popleft().result())
        return min(self._failures) if self._failures else None

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> SignaturePool:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
