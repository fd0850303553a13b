"""eco_protocol.merkle: the subtrees a proof reads, listed before the proof is made.

A store fetches the stored hashes a proof needs in one query (aggregator.ledger); that is only
right if ``inclusion_subtrees``/``consistency_subtrees``/``root_subtrees`` list exactly what
``inclusion_proof``/``consistency_proof``/``root_hash`` ask their source for. Checked here for
every index and size up to 70 leaves, and at a few large sizes.
"""

from __future__ import annotations

import pytest

from eco_protocol.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    Subtree,
    SubtreeSource,
    consistency_proof,
    consistency_subtrees,
    inclusion_proof,
    inclusion_subtrees,
    leaf_hash,
    range_subtrees,
    root_hash,
    root_subtrees,
)


def _recording() -> tuple[list[Subtree], SubtreeSource]:
    asked: list[Subtree] = []

    def source(level: int, index: int) -> bytes:
        asked.append((level, index))
        return bytes(32)

    return asked, source


def _from(found: dict[Subtree, bytes]) -> SubtreeSource:
    return lambda level, index: found[(level, index)]


def test_inclusion_lists_what_the_proof_reads() -> None:
    for size in range(1, 71):
        for index in range(size):
            asked, source = _recording()
            inclusion_proof(index, size, source)
            assert inclusion_subtrees(index, size) == asked, (index, size)


def test_consistency_lists_what_the_proof_reads() -> None:
    for new in range(0, 71):
        for old in range(0, new + 1):
            asked, source = _recording()
            consistency_proof(old, new, source)
            assert consistency_subtrees(old, new) == asked, (old, new)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 1000, 1_000_000, 10_000_001])
def test_root_lists_what_the_root_reads(size: int) -> None:
    asked, source = _recording()
    root_hash(size, source)
    assert root_subtrees(size) == asked


@pytest.mark.parametrize("index, size", [(0, 1_000_000), (999_999, 1_000_000),
                                         (123_456, 10_000_000), (9_999_999, 10_000_001)])
def test_large_trees_read_log_n_subtrees(index: int, size: int) -> None:
    asked, source = _recording()
    inclusion_proof(index, size, source)
    assert inclusion_subtrees(index, size) == asked
    assert len(asked) <= 2 * size.bit_length()


def test_proofs_over_the_listed_hashes_equal_the_tree_s() -> None:
    tree = MemoryTree(leaf_hash(bytes([i])) for i in range(37))
    for index in range(37):
        found = {w: tree.subtree(*w) for w in inclusion_subtrees(index, 37)}
        assert inclusion_proof(index, 37, _from(found)) == tree.inclusion_proof(index)
    assert root_hash(0, lambda lv, i: b"") == EMPTY_ROOT


def test_bad_arguments_are_refused_as_by_the_proofs() -> None:
    with pytest.raises(ValueError):
        inclusion_subtrees(5, 5)
    with pytest.raises(ValueError):
        consistency_subtrees(6, 5)
    with pytest.raises(ValueError):
        range_subtrees(3, 3)
