"""``LedgerStore.nodes``: a proof's stored hashes in one read, and the upper levels kept in
memory (aggregator/store/interface.py ``UpperLevels``) — on both backends.

What must hold: the batched read returns exactly what ``node`` returns hash by hash; a missing
hash is named; a hash read inside a transaction is never kept (it could be rolled back); and
a kept copy never hides a tampered row from the ledger's own checks or from the audit.
"""

from __future__ import annotations

import pytest

from aggregator.audit import audit
from aggregator.errors import StoreCorrupt
from aggregator.intake import Intake
from aggregator.ledger import KnownEntries, Ledger
from eco_protocol.canonical import canonical_bytes
from eco_protocol.merkle import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    inclusion_subtrees,
    leaf_hash,
    verify_inclusion,
)
from tests.aggregator.ledger_kit import Device, StoreBackend, enrol_device

UPPER = 8  # UpperLevels' default lowest kept level


def _fill(ledger: Ledger, n: int, tag: bytes = b"e") -> MemoryTree:
    """n entries appended in one transaction, and the same tree in memory."""
    entries = [b'{"%s":%d,"type":"test"}' % (tag, i) for i in range(n)]
    with ledger.store.transaction():
        ledger.append(KnownEntries([(e, "test", leaf_hash(e)) for e in entries]))
    return MemoryTree(leaf_hash(e) for e in entries)


def test_nodes_equal_node_hash_by_hash(ledger: Ledger) -> None:
    tree = _fill(ledger, 45)
    wanted = [(level, i) for level in range(6) for i in range(45 >> level)]
    assert ledger.store.nodes(wanted) == {w: ledger.store.node(*w) for w in wanted}
    assert ledger.store.nodes([]) == {}
    for size in (1, 2, 17, 32, 45):
        assert ledger.root(size) == tree.root(size)
        for index in range(size):
            assert ledger.inclusion_proof(index, size) == \
                inclusion_proof(index, size, ledger.store.node)
        for old in range(size + 1):
            assert ledger.consistency_proof(old, size) == \
                consistency_proof(old, size, ledger.store.node)


def test_a_missing_hash_is_named(ledger: Ledger) -> None:
    _fill(ledger, 8)
    with pytest.raises(StoreCorrupt, match=r"interior hash \(level 2, index 7\) is missing"):
        ledger.store.nodes([(1, 0), (2, 7)])
    with pytest.raises(StoreCorrupt, match=r"leaf 9 is missing"):
        ledger.store.nodes([(0, 9)])


def test_a_hash_read_in_a_rolled_back_transaction_is_not_kept(ledger: Ledger) -> None:
    """A tree of 512 entries read inside a transaction that then fails; another 512 entries
    take their place: every root and proof is of the committed tree."""
    with pytest.raises(RuntimeError), ledger.store.transaction():
        _fill(ledger, 512, b"rolled-back")
        assert ledger.root() == MemoryTree(leaf_hash(b'{"rolled-back":%d,"type":"test"}' % i)
                                           for i in range(512)).root()
        for index in range(0, 512, 7):
            ledger.inclusion_proof(index, 512)
        raise RuntimeError("abort")
    tree = _fill(ledger, 512, b"kept")
    for _ in range(2):  # the second time from the kept upper levels
        assert ledger.root() == tree.root()
        for index in range(0, 512, 7):
            proof = ledger.inclusion_proof(index, 512)
            assert proof == tree.inclusion_proof(index, 512)
            verify_inclusion(index, 512, tree.subtree(0, index), proof, tree.root())


def test_a_kept_upper_hash_hides_no_tampering(ledger: Ledger,
                                              store_backend: StoreBackend) -> None:
    """Proofs served from kept upper levels, then an upper-level row altered behind the
    store's back: the ledger's check against its last checkpoint and the audit both see it."""
    device = Device()
    enrol_device(ledger, device)
    intake = Intake(ledger)
    for _ in range(10):
        intake.process([(device.topic, canonical_bytes([device.reading() for _ in range(60)]))],
                       "2026-12-31T00:00:00Z")
    assert ledger.size() == 601
    ledger.checkpoint_now()
    for index in range(0, 600, 5):
        ledger.inclusion_proof(index, 600)  # outside a transaction: upper levels kept
    top = (UPPER + 1, 0)  # the left half of the 600-entry tree, in every right-hand proof
    assert top in inclusion_subtrees(599, 600)
    store_backend.execute(ledger.store, "UPDATE node SET hash=? WHERE level=? AND idx=?",
                          (bytes(32), *top))
    with pytest.raises(StoreCorrupt, match="differs from the signed checkpoint"):
        ledger.check_against_last_checkpoint()
    with pytest.raises(StoreCorrupt, match=rf"level {top[0]}, index 0"):
        audit(ledger)
