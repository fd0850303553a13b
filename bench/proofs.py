"""Inclusion and consistency proofs from the stored tree at 10 k, 100 k and 1 M entries.

Building a 1 M-entry ledger through ``Ledger.append`` would spend minutes parsing entries that
are not what we measure, so the tree is written directly into the store's own tables
(``entry`` and ``node`` of :mod:`aggregator.store.sqlite`, schema created by ``SqliteStore``):
synthetic 16-byte entries, their RFC 6962 leaf hashes, and the hash of every complete subtree
exactly as ``Ledger.append`` stores them, computed with :mod:`eco_protocol.merkle`'s
``leaf_hash``/``node_hash`` and inserted in large transactions with ``synchronous=OFF`` (a build
step, not the measured path). The benchmark then checks the stored root against a streaming
recomputation, and times ``Ledger.inclusion_proof``/``consistency_proof`` — the code the HTTP
API and reports use — at each size, verifying every proof it makes.

``python -m bench.proofs [--long]`` runs this part alone and prints its figures as JSON;
``--long`` adds a 10 M-entry tree (one to three minutes to build, ~2 GB of temporary disk at
the build's peak, 1.1 GB after), which ``make bench`` does not.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.ledger import Ledger
from aggregator.store.sqlite import SqliteStore
from eco_protocol.merkle import (
    StreamingRoot,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)
from eco_protocol.note import NoteSigner

_CHUNK = 50_000


def _rows(n: int) -> Iterator[tuple[list[tuple[int, str, bytes, bytes]],
                                    list[tuple[int, int, bytes]]]]:
    """Chunks of (entry rows, node rows) for entries 0..n-1, as Ledger.append would store them."""
    frontier: list[bytes] = []  # frontier[level] = left sibling waiting at that level
    entries: list[tuple[int, str, bytes, bytes]] = []
    nodes: list[tuple[int, int, bytes]] = []
    for index in range(n):
        data = b"bench-entry-" + index.to_bytes(4, "big")
        h = leaf_hash(data)
        entries.append((index, "bench", data, h))
        level, i = 0, index
        while i & 1:
            h = node_hash(frontier[level], h)
            level += 1
            i >>= 1
            nodes.append((level, i, h))
        if len(frontier) <= level:
            frontier.append(h)
        else:
            frontier[level] = h
        if len(entries) >= _CHUNK:
            yield entries, nodes
            entries, nodes = [], []
    yield entries, nodes


def build_tree(path: Path, n: int) -> float:
    """Write an n-entry tree into a new SQLite store; return the seconds it took."""
    started = time.perf_counter()
    SqliteStore(path).close()  # the schema, exactly as the aggregator creates it
    db = sqlite3.connect(path, isolation_level=None)
    try:
        db.execute("PRAGMA synchronous=OFF")
        db.execute("BEGIN")
        for entries, nodes in _rows(n):
            db.executemany("INSERT INTO entry(idx, type, data, leaf) VALUES(?, ?, ?, ?)",
                           entries)
            db.executemany("INSERT INTO node(level, idx, hash) VALUES(?, ?, ?)", nodes)
        db.execute("COMMIT")
    finally:
        db.close()
    return time.perf_counter() - started


@dataclass(frozen=True)
class ProofTiming:
    size: int
    inclusion_us: float
    consistency_us: float
    inclusion_reads: float  # subtree hashes read per proof
    consistency_reads: float


def time_proofs(ledger: Ledger, size: int, count: int, rng: random.Random) -> ProofTiming:
    root = ledger.root(size)
    reads = {"n": 0}
    node = ledger.store.node

    def counting(level: int, index: int) -> bytes:
        reads["n"] += 1
        return node(level, index)

    leaves = [rng.randrange(size) for _ in range(count)]
    olds = [rng.randrange(1, size) for _ in range(count)]
    # warm the page cache the way a running server's would be
    for i in leaves[:10]:
        ledger.inclusion_proof(i, size)
    started = time.perf_counter()
    proofs = [ledger.inclusion_proof(i, size) for i in leaves]
    incl = (time.perf_counter() - started) / count
    started = time.perf_counter()
    cons = [ledger.consistency_proof(m, size) for m in olds]
    cons_t = (time.perf_counter() - started) / count
    for i, p in zip(leaves, proofs, strict=True):
        verify_inclusion(i, size, ledger.store.leaf(i), p, root)
    for m, p in zip(olds, cons, strict=True):
        verify_consistency(m, size, ledger.root(m), root, p)
    from eco_protocol import merkle

    sample = leaves[: min(50, count)]
    for i in sample:
        merkle.inclusion_proof(i, size, counting)
    incl_reads = reads["n"] / len(sample)
    reads["n"] = 0
    for m in olds[:len(sample)]:
        merkle.consistency_proof(m, size, counting)
    cons_reads = reads["n"] / len(sample)
    return ProofTiming(size, incl * 1e6, cons_t * 1e6, incl_reads, cons_reads)


def proof_bench(tmp: Path, sizes: list[int], count: int) -> tuple[list[ProofTiming], float]:
    """Build the largest tree once; time proofs at every size (a proof for size s reads only
    subtrees inside the first s entries, so a prefix of a bigger tree *is* a tree of size s)."""
    path = tmp / "proofs.sqlite3"
    built = build_tree(path, max(sizes))
    ledger = Ledger(SqliteStore(path, check_integrity=False),
                    NoteSigner("eco-ledger.proofs.bench", Ed25519PrivateKey.generate()))
    try:
        stream = StreamingRoot()
        for _, leaf in _leaves(ledger, max(sizes)):
            stream.append(leaf)
        if stream.root() != ledger.root():
            raise RuntimeError("the stored tree's root differs from the recomputed one")
        rng = random.Random(7)
        return [time_proofs(ledger, s, count, rng) for s in sizes], built
    finally:
        ledger.store.close()


def _leaves(ledger: Ledger, n: int) -> Iterator[tuple[int, bytes]]:
    db = sqlite3.connect(ledger.store.path)  # type: ignore[attr-defined]
    try:
        yield from ((int(i), bytes(h)) for i, h in
                    db.execute("SELECT idx, leaf FROM entry WHERE idx < ? ORDER BY idx", (n,)))
    finally:
        db.close()


DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
LONG_SIZES = (*DEFAULT_SIZES, 10_000_000)


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench.proofs",
                                description="inclusion and consistency proof times alone")
    p.add_argument("--long", action="store_true",
                   help="also at 10 M entries (minutes to build, ~2 GB of temporary disk)")
    p.add_argument("--count", type=int, default=2000, help="proofs of each kind per size")
    args = p.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="eco-bench-proofs-"))
    try:
        timings, built = proof_bench(tmp, list(LONG_SIZES if args.long else DEFAULT_SIZES),
                                     args.count)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(json.dumps({"proof_tree_build_s": round(built, 1), "sizes": [
        {"size": t.size, "inclusion_us": round(t.inclusion_us, 1),
         "consistency_us": round(t.consistency_us, 1),
         "inclusion_reads": round(t.inclusion_reads, 1),
         "consistency_reads": round(t.consistency_reads, 1)} for t in timings]}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
