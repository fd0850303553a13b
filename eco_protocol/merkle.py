"""RFC 6962 / RFC 9162 Merkle Tree Hash, inclusion and consistency proofs.

The same tree and proof shapes as Go's ``golang.org/x/mod/sumdb/tlog`` and
transparency-dev/merkle. Proof *generation* is written against :class:`SubtreeSource`, a function
that returns the hash of a perfect (power-of-two, aligned) subtree: an in-memory list serves it in
tests and in the offline verifier; the ledger's stored interior hashes serve it in O(1) reads, so a
proof costs O(log n) reads at any size (RFC 6962 section 2.1's recursion only ever asks for such
subtrees plus a logarithmic number of combinations).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence

from .errors import ProofError

HASH_SIZE = 32

SubtreeSource = Callable[[int, int], bytes]
"""``source(level, index)`` = MTH of leaves [index·2^level, (index+1)·2^level)."""


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = hashlib.sha256(b"").digest()


def _split(n: int) -> int:
    """Largest power of two strictly smaller than n (n ≥ 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def range_hash(lo: int, hi: int, source: SubtreeSource) -> bytes:
    """MTH(D[lo:hi]) where [lo, hi) is a range the RFC 6962 recursion produces.

    ``lo`` must be a multiple of the largest power of two not exceeding hi − lo's left part; the
    recursion guarantees that. Each call decomposes into at most log2(n) perfect subtrees.
    """
    n = hi - lo
    if n <= 0:
        raise ValueError("empty range")
    if n & (n - 1) == 0 and lo % n == 0:
        return source(n.bit_length() - 1, lo // n)
    k = _split(n)
    return node_hash(range_hash(lo, lo + k, source), range_hash(lo + k, hi, source))


def root_hash(size: int, source: SubtreeSource) -> bytes:
    return EMPTY_ROOT if size == 0 else range_hash(0, size, source)


Subtree = tuple[int, int]
"""(level, index): the perfect subtree a :data:`SubtreeSource` is asked for."""


def range_subtrees(lo: int, hi: int) -> list[Subtree]:
    """The perfect subtrees :func:`range_hash` (lo, hi) reads, left to right."""
    out: list[Subtree] = []
    _range_subtrees(lo, hi, out)
    return out


def _range_subtrees(lo: int, hi: int, out: list[Subtree]) -> None:
    while True:  # range_hash's recursion, its right branch as a loop
        n = hi - lo
        if n <= 0:
            raise ValueError("empty range")
        if n & (n - 1) == 0 and lo % n == 0:
            out.append((n.bit_length() - 1, lo // n))
            return
        k = _split(n)
        _range_subtrees(lo, lo + k, out)
        lo += k


def _inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The ranges [lo, hi) whose hashes make PATH(index, D[0:size]), in proof order."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo = lo + k
    ranges.reverse()
    return ranges


def _consistency_ranges(old_size: int, new_size: int) -> list[tuple[int, int]]:
    """The ranges [lo, hi) whose hashes make PROOF(old_size, D[0:new_size]), in proof order."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove {old_size} → {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    tail: list[tuple[int, int]] = []  # built back to front, reversed at the end
    lo, hi, m, complete = 0, new_size, old_size, True
    while m != hi - lo:
        k = _split(hi - lo)
        if m <= k:
            tail.append((lo + k, hi))
            hi = lo + k
        else:
            tail.append((lo, lo + k))
            lo, m, complete = lo + k, m - k, False
    if not complete:
        tail.append((lo, hi))
    tail.reverse()
    return tail


def inclusion_proof(index: int, size: int, source: SubtreeSource) -> list[bytes]:
    """RFC 6962 section 2.1.1 PATH(index, D[0:size])."""
    return [range_hash(lo, hi, source) for lo, hi in _inclusion_ranges(index, size)]


def consistency_proof(old_size: int, new_size: int, source: SubtreeSource) -> list[bytes]:
    """RFC 6962 section 2.1.2 PROOF(m, D[0:n]) = SUBPROOF(m, D[0:n], true)."""
    return [range_hash(lo, hi, source) for lo, hi in _consistency_ranges(old_size, new_size)]


def inclusion_subtrees(index: int, size: int) -> list[Subtree]:
    """Every perfect subtree :func:`inclusion_proof` reads: a proof's shape depends only on
    (index, size), so a store can fetch them all in one query before the proof is made."""
    out: list[Subtree] = []
    for lo, hi in _inclusion_ranges(index, size):
        _range_subtrees(lo, hi, out)
    return out


def consistency_subtrees(old_size: int, new_size: int) -> list[Subtree]:
    """Every perfect subtree :func:`consistency_proof` reads (see :func:`inclusion_subtrees`)."""
    out: list[Subtree] = []
    for lo, hi in _consistency_ranges(old_size, new_size):
        _range_subtrees(lo, hi, out)
    return out


def root_subtrees(size: int) -> list[Subtree]:
    """Every perfect subtree :func:`root_hash` reads (none for the empty tree)."""
    out: list[Subtree] = []
    if size:
        _range_subtrees(0, size, out)
    return out


# --- verification (RFC 9162 sections 2.1.3.2 and 2.1.4.2) --------------------------------------


def _check_hashes(proof: Sequence[bytes]) -> None:
    for h in proof:
        if len(h) != HASH_SIZE:
            raise ProofError.coded("eco_protocol.finding.merkle.hash_size",
                                   n=len(h), size=HASH_SIZE)


def root_from_inclusion_proof(index: int, size: int, leaf: bytes,
                              proof: Sequence[bytes]) -> bytes:
    if not 0 <= index < size:
        raise ProofError.coded("eco_protocol.finding.merkle.leaf_outside", index=index, size=size)
    _check_hashes([leaf, *proof])
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError.coded("eco_protocol.finding.merkle.inclusion_long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError.coded("eco_protocol.finding.merkle.inclusion_short")
    return r


def verify_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Raise :class:`ProofError` unless ``leaf`` is at ``index`` in the tree with ``root``."""
    if root_from_inclusion_proof(index, size, leaf, proof) != root:
        raise ProofError.coded("eco_protocol.finding.merkle.inclusion_root", index=index, size=size)


def verify_consistency(old_size: int, new_size: int, old_root: bytes, new_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Raise :class:`ProofError` unless the tree of ``new_size`` extends the one of ``old_size``."""
    _check_hashes(proof)
    if not 0 <= old_size <= new_size:
        raise ProofError.coded("eco_protocol.finding.merkle.consistency_impossible",
                               old=old_size, new=new_size)
    if old_size == new_size:
        if proof:
            raise ProofError.coded("eco_protocol.finding.merkle.consistency_equal")
        if old_root != new_root:
            raise ProofError.coded("eco_protocol.finding.merkle.two_roots", size=new_size)
        return
    if old_size == 0:
        if proof:
            raise ProofError.coded("eco_protocol.finding.merkle.consistency_from_empty")
        return
    if not proof:
        raise ProofError.coded("eco_protocol.finding.merkle.consistency_empty")
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # old tree is a perfect subtree: its root starts the path
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError.coded("eco_protocol.finding.merkle.consistency_long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn & 1 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError.coded("eco_protocol.finding.merkle.consistency_short")
    if fr != old_root:
        raise ProofError.coded("eco_protocol.finding.merkle.old_root", size=old_size)
    if sr != new_root:
        raise ProofError.coded("eco_protocol.finding.merkle.new_root", size=new_size)


# --- in-memory trees and streaming roots -------------------------------------------------------


class MemoryTree:
    """All levels of a tree kept in lists: for tests, small logs and offline evidence checks."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        for h in leaf_hashes:
            self.append(h)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append(self, leaf: bytes) -> int:
        """Append a leaf hash; returns its index. Completed perfect subtrees are hashed eagerly."""
        index = len(self.levels[0])
        self.levels[0].append(leaf)
        level, i = 0, index
        while i & 1:
            left, right = self.levels[level][i - 1], self.levels[level][i]
            level += 1
            if len(self.levels) <= level:
                self.levels.append([])
            self.levels[level].append(node_hash(left, right))
            i >>= 1
        return index

    def subtree(self, level: int, index: int) -> bytes:
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        return root_hash(self.size if size is None else size, self.subtree)

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        return inclusion_proof(index, self.size if size is None else size, self.subtree)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> list[bytes]:
        return consistency_proof(old_size, self.size if new_size is None else new_size,
                                 self.subtree)


class StreamingRoot:
    """Root of a growing tree in O(log n) memory: recompute a log's root from all its entries."""

    def __init__(self) -> None:
        self._stack: list[tuple[int, bytes]] = []  # (level, hash), levels strictly decreasing
        self.size = 0

    def append(self, leaf: bytes) -> None:
        level, h = 0, leaf
        while self._stack and self._stack[-1][0] == level:
            _, left = self._stack.pop()
            h = node_hash(left, h)
            level += 1
        self._stack.append((level, h))
        self.size += 1

    def root(self) -> bytes:
        if not self._stack:
            return EMPTY_ROOT
        h = self._stack[-1][1]
        for _, left in reversed(self._stack[:-1]):
            h = node_hash(left, h)
        return h
