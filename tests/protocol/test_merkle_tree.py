"""eco_protocol.merkle: RFC 6962 / RFC 9162 trees, inclusion and consistency proofs.

Vectors: tests/vectors/merkle_rfc6962.json (transparency-dev/merkle's testonly data and
proof/verify_test.go with all the corrupted probes that file generates). Properties: every proof
for trees up to 70 leaves against a naive reference written straight from RFC 6962 section 2.1.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.errors import ProofError
from eco_protocol.merkle import (
    EMPTY_ROOT,
    MemoryTree,
    StreamingRoot,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

V: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "merkle_rfc6962.json").read_text("utf-8"))
LEAVES = [bytes.fromhex(x) for x in V["leaf_inputs"]]
ROOTS = {r["size"]: bytes.fromhex(r["root"]) for r in V["roots"]}


def _hx(items: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(x) for x in items]


# --- naive reference: RFC 6962 section 2.1, recursion on the data itself -----------------------


def _ref_mth(d: Sequence[bytes]) -> bytes:
    n = len(d)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + d[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + _ref_mth(d[:k]) + _ref_mth(d[k:])).digest()


def _ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    n = len(d)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return _ref_path(m, d[:k]) + [_ref_mth(d[k:])]
    return _ref_path(m - k, d[k:]) + [_ref_mth(d[:k])]


def _ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [_ref_mth(d)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return _ref_subproof(m, d[:k], b) + [_ref_mth(d[k:])]
    return _ref_subproof(m - k, d[k:], False) + [_ref_mth(d[:k])]


def _ref_proof(m: int, d: Sequence[bytes]) -> list[bytes]:
    return _ref_subproof(m, d, True) if 0 < m < len(d) else []


# --- vectors ------------------------------------------------------------------------------------


def test_vector_roots_for_every_size() -> None:
    tree = MemoryTree()
    assert tree.root() == EMPTY_ROOT == ROOTS[0] == bytes.fromhex(V["empty_root"])
    for i, leaf in enumerate(LEAVES):
        assert tree.append(leaf_hash(leaf)) == i
        assert tree.root() == ROOTS[i + 1]
    for size in range(9):
        assert tree.root(size) == ROOTS[size]
        assert _ref_mth(LEAVES[:size]) == ROOTS[size]


def test_vector_node_hashes_are_the_stored_subtrees() -> None:
    tree = MemoryTree(leaf_hash(x) for x in LEAVES)
    for level, hashes in enumerate(V["node_hashes"]):
        for index, h in enumerate(hashes):
            assert tree.subtree(level, index).hex() == h


def test_streaming_root_matches_vector_roots() -> None:
    s = StreamingRoot()
    assert s.root() == ROOTS[0]
    for i, leaf in enumerate(LEAVES):
        s.append(leaf_hash(leaf))
        assert s.size == i + 1
        assert s.root() == ROOTS[i + 1]


@pytest.mark.parametrize("p", V["inclusion_proofs"],
                         ids=[f"{p['index']}@{p['size']}" for p in V["inclusion_proofs"]])
def test_vector_inclusion_proofs(p: dict[str, Any]) -> None:
    tree = MemoryTree(leaf_hash(x) for x in LEAVES[:p["size"]])
    proof = _hx(p["proof"])
    assert tree.inclusion_proof(p["index"]) == proof
    leaf = leaf_hash(LEAVES[p["index"]])
    assert root_from_inclusion_proof(p["index"], p["size"], leaf, proof) == ROOTS[p["size"]]
    verify_inclusion(p["index"], p["size"], leaf, proof, ROOTS[p["size"]])


@pytest.mark.parametrize("p", V["consistency_proofs"],
                         ids=[f"{p['size1']}-{p['size2']}" for p in V["consistency_proofs"]])
def test_vector_consistency_proofs(p: dict[str, Any]) -> None:
    tree = MemoryTree(leaf_hash(x) for x in LEAVES)
    proof = _hx(p["proof"])
    assert tree.consistency_proof(p["size1"], p["size2"]) == proof
    verify_consistency(p["size1"], p["size2"], ROOTS[p["size1"]], ROOTS[p["size2"]], proof)


INCL_PROBES: list[dict[str, Any]] = V["inclusion_probes"]
CONS_PROBES: list[dict[str, Any]] = V["consistency_probes"]


@pytest.mark.parametrize("p", INCL_PROBES, ids=[
    f"{p['from']['index']}@{p['from']['size']}:{p['desc']}" for p in INCL_PROBES])
def test_vector_corrupted_inclusion_probes_fail(p: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(p["index"], p["size"], bytes.fromhex(p["leaf_hash"]), _hx(p["proof"]),
                         bytes.fromhex(p["root"]))


@pytest.mark.parametrize("p", CONS_PROBES, ids=[
    f"{p['from']['size1']}-{p['from']['size2']}:{p['desc']}" for p in CONS_PROBES])
def test_vector_corrupted_consistency_probes_fail(p: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_consistency(p["size1"], p["size2"], bytes.fromhex(p["root1"]),
                           bytes.fromhex(p["root2"]), _hx(p["proof"]))


def test_vector_probe_counts_match_the_generator() -> None:
    # corruptInclusionProof: 12 fixed probes + one per proof element + removed (len>0)
    # + inserted (len>1); corruptConsistencyProof: 16 + truncated + one per element.
    def incl(n: int) -> int:
        return 12 + n + (n > 0) + (n > 1)
    assert len(INCL_PROBES) == sum(incl(len(p["proof"])) for p in V["inclusion_proofs"])
    nontrivial = [p for p in V["consistency_proofs"] if p["proof"]]
    assert len(CONS_PROBES) == sum(17 + len(p["proof"]) for p in nontrivial)


@pytest.mark.parametrize("c", V["consistency_table"], ids=[
    f"{c['size1']}-{c['size2']}-{'err' if c['want_error'] else 'ok'}-{i}"
    for i, c in enumerate(V["consistency_table"])])
def test_vector_consistency_table(c: dict[str, Any]) -> None:
    args = (c["size1"], c["size2"], bytes.fromhex(c["root1"]), bytes.fromhex(c["root2"]),
            _hx(c["proof"]))
    if c["want_error"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


@pytest.mark.parametrize("c", V["inclusion_table"], ids=[
    f"{c['index']}@{c['size']}-{i}" for i, c in enumerate(V["inclusion_table"])])
def test_vector_inclusion_table(c: dict[str, Any]) -> None:
    with pytest.raises(ProofError):
        verify_inclusion(c["index"], c["size"], bytes.fromhex(c["leaf_hash"]), _hx(c["proof"]),
                         bytes.fromhex(c["root"]))


@pytest.mark.parametrize("case", V["single_entry"]["cases"],
                         ids=[f"root={c['root'] or 'empty'},leaf={c['leaf'] or 'empty'}"
                              for c in V["single_entry"]["cases"]])
def test_vector_single_entry(case: dict[str, Any]) -> None:
    h = leaf_hash(bytes.fromhex(V["single_entry"]["data_hex"]))
    root = h if case["root"] == "hash" else b""
    leaf = h if case["leaf"] == "hash" else b""
    if case["want_error"]:
        with pytest.raises(ProofError):
            verify_inclusion(0, 1, leaf, [], root)
    else:
        verify_inclusion(0, 1, leaf, [], root)


# --- properties against the naive reference -----------------------------------------------------

SIZES = range(1, 71)
DATA = [b"entry-%d" % i for i in range(70)]
FULL = MemoryTree(leaf_hash(d) for d in DATA)


@pytest.mark.parametrize("size", SIZES)
def test_every_root_and_proof_up_to_70_matches_the_reference(size: int) -> None:
    d = DATA[:size]
    root = _ref_mth(d)
    assert FULL.root(size) == root
    assert MemoryTree(leaf_hash(x) for x in d).root() == root
    for m in range(size):
        proof = FULL.inclusion_proof(m, size)
        assert proof == _ref_path(m, d)
        verify_inclusion(m, size, leaf_hash(d[m]), proof, root)
    for old in range(0, size + 1):
        proof = FULL.consistency_proof(old, size)
        assert proof == _ref_proof(old, d)
        verify_consistency(old, size, _ref_mth(d[:old]), root, proof)


# unique: two equal leaves make mirrored positions indistinguishable, so a proof for one
# would rightly verify for the other
leaf_lists = st.lists(st.binary(max_size=8), min_size=1, max_size=70, unique=True)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_inclusion_matches_reference_and_detects_tampering(leaves: list[bytes],
                                                           data: st.DataObject) -> None:
    tree = MemoryTree(leaf_hash(x) for x in leaves)
    n = len(leaves)
    m = data.draw(st.integers(0, n - 1), label="index")
    root = _ref_mth(leaves)
    proof = tree.inclusion_proof(m)
    assert tree.root() == root
    assert proof == _ref_path(m, leaves)
    verify_inclusion(m, n, leaf_hash(leaves[m]), proof, root)
    # a different leaf, index or size never verifies
    with pytest.raises(ProofError):
        verify_inclusion(m, n, leaf_hash(leaves[m] + b"x"), proof, root)
    other = data.draw(st.integers(0, n), label="other index")
    if other != m:
        with pytest.raises(ProofError):
            verify_inclusion(other, n, leaf_hash(leaves[m]), proof, root)
    if proof:
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bit = data.draw(st.integers(0, 255), label="bit")
        bad = list(proof)
        flipped = bytearray(bad[i])
        flipped[bit // 8] ^= 1 << (bit % 8)
        bad[i] = bytes(flipped)
        with pytest.raises(ProofError):
            verify_inclusion(m, n, leaf_hash(leaves[m]), bad, root)


@settings(max_examples=150, deadline=None)
@given(leaf_lists, st.data())
def test_consistency_matches_reference_and_detects_tampering(leaves: list[bytes],
                                                             data: st.DataObject) -> None:
    n = len(leaves)
    old = data.draw(st.integers(0, n), label="old size")
    tree = MemoryTree(leaf_hash(x) for x in leaves)
    proof = tree.consistency_proof(old)
    assert proof == _ref_proof(old, leaves)
    old_root, new_root = _ref_mth(leaves[:old]), _ref_mth(leaves)
    verify_consistency(old, n, old_root, new_root, proof)
    if 0 < old < n:
        # the same sizes with a history rewritten in the old part: never consistent
        forged = [*leaves]
        j = data.draw(st.integers(0, old - 1), label="rewritten leaf")
        forged[j] = forged[j] + b"!"
        with pytest.raises(ProofError):
            verify_consistency(old, n, _ref_mth(forged[:old]), new_root, proof)
        i = data.draw(st.integers(0, len(proof) - 1), label="element")
        bad = list(proof)
        bad[i] = hashlib.sha256(bad[i]).digest()
        with pytest.raises(ProofError):
            verify_consistency(old, n, old_root, new_root, bad)
        with pytest.raises(ProofError):
            verify_consistency(old, n, old_root, new_root, proof[:-1])
        with pytest.raises(ProofError):
            verify_consistency(old, n, old_root, new_root, [*proof, new_root])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.binary(max_size=4), max_size=70))
def test_streaming_root_and_root_hash_match_reference(leaves: list[bytes]) -> None:
    s = StreamingRoot()
    for x in leaves:
        s.append(leaf_hash(x))
    tree = MemoryTree(leaf_hash(x) for x in leaves)
    assert s.root() == tree.root() == root_hash(len(leaves), tree.subtree) == _ref_mth(leaves)


# --- argument checking --------------------------------------------------------------------------


def test_hash_primitives() -> None:
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    left, right = b"a" * 32, b"b" * 32
    assert node_hash(left, right) == hashlib.sha256(b"\x01" + left + right).digest()


def test_proof_generation_refuses_impossible_arguments() -> None:
    with pytest.raises(ValueError, match="outside a tree of size 8"):
        inclusion_proof(8, 8, FULL.subtree)
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(-1, 8, FULL.subtree)
    with pytest.raises(ValueError, match="cannot prove 9 → 8"):
        consistency_proof(9, 8, FULL.subtree)


def test_verification_messages() -> None:
    root = FULL.root(8)
    proof = FULL.inclusion_proof(3, 8)
    with pytest.raises(ProofError, match="inclusion proof for leaf 3 does not lead to the root"):
        verify_inclusion(3, 8, leaf_hash(b"x"), proof, root)
    with pytest.raises(ProofError, match="leaf index 8 is outside a tree of size 8"):
        verify_inclusion(8, 8, leaf_hash(DATA[3]), proof, root)
    with pytest.raises(ProofError, match="proof element has 31 bytes"):
        verify_inclusion(3, 8, leaf_hash(DATA[3]), [b"x" * 31, *proof[1:]], root)
    with pytest.raises(ProofError, match="shorter than the tree requires"):
        verify_inclusion(3, 8, leaf_hash(DATA[3]), proof[:-1], root)
    with pytest.raises(ProofError, match="longer than the tree allows"):
        verify_inclusion(3, 8, leaf_hash(DATA[3]), [*proof, root], root)
    with pytest.raises(ProofError, match="two different roots for the same size 8"):
        verify_consistency(8, 8, root, FULL.root(7), [])
    with pytest.raises(ProofError, match="from size 9 to 8 is impossible"):
        verify_consistency(9, 8, root, root, [])
    with pytest.raises(ProofError, match="does not reproduce the old root"):
        verify_consistency(5, 8, FULL.root(4), root, FULL.consistency_proof(5, 8))
    with pytest.raises(ProofError, match="does not reproduce the new root"):
        verify_consistency(5, 8, FULL.root(5), FULL.root(7), FULL.consistency_proof(5, 8))
