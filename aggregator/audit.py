"""``ledger verify``: recompute everything from the stored entries and name the first bad one.

The only place that reads every leaf: each entry is replayed with the same rules as the
buyer's verifier (:class:`eco_protocol.replay.LedgerReplay`), its stored leaf hash and every stored
interior hash are recomputed, the latest checkpoint's signature and root are checked, and the
device table is compared with what the replay derived.
"""

from __future__ import annotations

from dataclasses import dataclass

from eco_protocol.errors import InvalidInput
from eco_protocol.merkle import EMPTY_ROOT, leaf_hash, node_hash
from eco_protocol.note import open_checkpoint
from eco_protocol.replay import LedgerReplay

from .errors import StoreCorrupt
from .ledger import Ledger
from .progress import ProgressCallback, every


@dataclass(frozen=True, slots=True)
class AuditReport:
    size: int
    checkpoint_size: int | None
    counts: dict[str, int]
    devices: int
    root_hex: str


def audit(ledger: Ledger, progress: ProgressCallback | None = None) -> AuditReport:
    """``progress`` is called with ``("verify", done, size)`` as entries are replayed."""
    store = ledger.store
    size = store.size()
    replay = LedgerReplay(ledger.signer.private_key.public_key())
    stack: list[tuple[int, bytes]] = []
    cp = store.latest_checkpoint()
    cp_root: bytes | None = None

    def current_root() -> bytes:
        if not stack:
            return EMPTY_ROOT
        h = stack[-1][1]
        for _, left in reversed(stack[:-1]):
            h = node_hash(left, h)
        return h

    for index, data in store.entries(0, size):
        if index != replay.size:
            raise StoreCorrupt(f"entry {replay.size} is missing (next stored is {index})")
        try:
            replay.add(data)
        except InvalidInput as e:
            raise StoreCorrupt(f"ledger entry {e}") from e
        leaf = leaf_hash(data)
        if store.leaf(index) != leaf:
            raise StoreCorrupt(f"entry {index}: stored leaf hash does not match its bytes")
        level, i, h = 0, index, leaf
        while stack and stack[-1][0] == level:
            _, left = stack.pop()
            h = node_hash(left, h)
            level += 1
            i >>= 1
            if store.node(level, i) != h:
                raise StoreCorrupt(f"interior hash (level {level}, index {i}) is wrong; it "
                                   f"covers entries {i << level}–{((i + 1) << level) - 1}")
        stack.append((level, h))
        if cp is not None and index + 1 == cp.size:
            cp_root = current_root()
        every(progress, "verify", index + 1, size)
    if replay.size != size:
        raise StoreCorrupt(f"store reports {size} entries but only {replay.size} were read")
    if cp is not None:
        try:
            checkpoint, _ = open_checkpoint(cp.note, ledger.signer.verifier)
        except InvalidInput as e:
            raise StoreCorrupt(f"stored checkpoint of size {cp.size}: {e}") from e
        if cp.size == 0:
            cp_root = EMPTY_ROOT
        if cp_root is None or checkpoint.root_hash != cp_root or cp.root != cp_root:
            raise StoreCorrupt(f"the signed checkpoint of size {cp.size} does not match the "
                               "root recomputed from the entries")
    for row in store.devices():
        state = replay.devices.get(row.device_id)  # type: ignore[call-overload]
        if state is None:
            raise StoreCorrupt(f"device table lists {row.device_id}, which has no enrolment "
                               "entry")
        if state.next_seq != row.next_seq or state.last_hash != row.last_hash:
            raise StoreCorrupt(f"device {row.device_id}: table says next seq {row.next_seq}, "
                               f"the log says {state.next_seq}")
    return AuditReport(size, None if cp is None else cp.size, dict(replay.counts),
                       len(replay.devices), current_root().hex())
