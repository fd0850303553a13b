"""c2sp.org/tlog-tiles: tile coordinates and paths, tile bytes, entry bundles, authenticated tile
reading, and the static layout — checked against the spec's examples and against Go's
``golang.org/x/mod/sumdb/tlog`` (``Tile.Path``, ``TileHashReader``, ``ProveRecord``/``ProveTree``).
"""

from __future__ import annotations

import base64
import functools
import json
import random
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregator.errors import Rejected
from aggregator.tiles import (
    ENTRIES,
    TILE_WIDTH,
    Tile,
    VerifiedTileSource,
    encode_tile_index,
    entry_bundle,
    entry_bundles_for_size,
    parse_entry_bundle,
    parse_tile_path,
    perfect_root,
    split_hashes,
    tile_data,
    tile_for_tree,
    tile_in_tree,
    tiles_for_size,
    write_static,
)
from eco_protocol.errors import ProofError
from eco_protocol.merkle import (
    MemoryTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
)
from eco_protocol.note import Checkpoint, sign_note
from tests.protocol.records_kit import make_log_signer
from tests.support.go_kit import build_go_verify

SPEC_SIZE = 70_000  # the tlog-tiles example tree


def _entry(i: int) -> bytes:
    return b'{"n":%d,"type":"test/v1"}' % i


@pytest.fixture(scope="module")
def big_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(_entry(i)) for i in range(SPEC_SIZE))


@pytest.fixture(scope="module")
def go_verify(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_go_verify(tmp_path_factory.mktemp("go-verify"))


def _tile_fetcher(tree: MemoryTree, size: int) -> tuple[list[Tile], object]:
    served: list[Tile] = []

    def fetch(tile: Tile) -> bytes:
        assert tile_in_tree(tile, size), f"fetched {tile.path}, not in the tree of size {size}"
        served.append(tile)
        return tile_data(tile, tree.subtree)
    return served, fetch


# --- coordinates and paths ----------------------------------------------------------------------


def test_spec_example_tiles_of_a_tree_of_70000() -> None:
    """tlog-tiles: 273 full level-0 tiles, one of width 112, one full level-1 tile, one of width
    17, and a level-2 tile of width 1."""
    tiles = list(tiles_for_size(SPEC_SIZE))
    full0 = [t for t in tiles if t.level == 0 and t.full]
    assert len(full0) == 273 and [t.index for t in full0] == list(range(273))
    partial = [(t.level, t.index, t.width) for t in tiles if not t.full]
    assert partial == [(0, 273, 112), (1, 1, 17), (2, 0, 1)]
    assert [(t.level, t.index) for t in tiles if t.level == 1 and t.full] == [(1, 0)]
    assert len(tiles) == 273 + 1 + 1 + 1 + 1


def test_spec_example_tree_of_256() -> None:
    """'a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
    of width 1'."""
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(tiles_for_size(0)) == []
    assert list(entry_bundles_for_size(257)) == [Tile(ENTRIES, 0), Tile(ENTRIES, 1, 1)]


@pytest.mark.parametrize(("n", "encoded"), [
    (0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234067, "x001/x234/067"),
    (1_000_000, "x001/x000/000"), (2**40, "x001/x099/x511/x627/776"),
])
def test_index_encoding_spec_examples(n: int, encoded: str) -> None:
    assert encode_tile_index(n) == encoded
    assert parse_tile_path(f"tile/3/{encoded}") == Tile(3, n)


@pytest.mark.parametrize(("tile", "path"), [
    (Tile(0, 1234067, 8), "tile/0/x001/x234/067.p/8"),
    (Tile(1, 5), "tile/1/005"),
    (Tile(63, 0, 255), "tile/63/000.p/255"),
    (Tile(ENTRIES, 1000, 3), "tile/entries/x001/000.p/3"),
    (Tile(ENTRIES, 42), "tile/entries/042"),
])
def test_paths_round_trip(tile: Tile, path: str) -> None:
    assert tile.path == path
    assert parse_tile_path(path) == tile


@pytest.mark.parametrize(("path", "message"), [
    ("tile/0/1", "malformed tile path"),
    ("tile/0/0001", "malformed tile path"),
    ("tile/0/x000/001", "not canonical"),
    ("tile/0/x001", "malformed tile path"),
    ("tile/0/001.p/256", "partial width"),
    ("tile/0/001.p/0", "malformed tile path"),
    ("tile/0/001.p/08", "malformed tile path"),
    ("tile/0/001.p/", "malformed tile path"),
    ("tile/64/000", "level must be"),
    ("tile/00/000", "malformed tile path"),
    ("tile/-1/000", "malformed tile path"),
    ("tile/data/000", "malformed tile path"),
    ("tile/8/0/000", "malformed tile path"),
    ("/tile/0/000", "malformed tile path"),
    ("tile/0/000/", "malformed tile path"),
    ("tile/0/x001/000.p/5/6", "malformed tile path"),
    ("tile/entries/000.p/256", "partial width"),
    ("tile/0/０００", "malformed tile path"),
])
def test_malformed_tile_paths(path: str, message: str) -> None:
    with pytest.raises(Rejected, match=message):
        parse_tile_path(path)


@pytest.mark.interop
def test_paths_match_go_tlog(go_verify: Path) -> None:
    rng = random.Random(7)
    cases = [[rng.choice([0, 1, 2, 5, 63, -1]), rng.choice([0, 1, 999, 1000, 1234067,
                                                            rng.randrange(2**45)]),
              rng.choice([1, 17, 255, 256])] for _ in range(200)]
    res = subprocess.run([str(go_verify), "tile-paths"], input=json.dumps(cases).encode(),
                         capture_output=True, timeout=60)
    assert res.returncode == 0, res.stderr.decode()
    assert json.loads(res.stdout) == [Tile(*c).path for c in cases]


def test_tile_in_tree() -> None:
    assert tile_in_tree(Tile(0, 0, 3), 3) and not tile_in_tree(Tile(0, 0, 4), 3)
    assert tile_in_tree(Tile(0, 0, 3), 700)  # an earlier checkpoint's partial tile stays valid
    assert tile_in_tree(Tile(1, 0, 2), 512) and not tile_in_tree(Tile(1, 0, 3), 767)
    assert not tile_in_tree(Tile(0, 0), 255) and tile_in_tree(Tile(0, 0), 256)
    assert tile_for_tree(0, 1, 300) == Tile(0, 1, 44)
    assert tile_for_tree(0, 2, 300) is None
    assert tile_for_tree(1, 0, 300) == Tile(1, 0, 1)


# --- tile bytes and bundles -----------------------------------------------------------------------


def test_tile_hashes_are_the_subtree_hashes(big_tree: MemoryTree) -> None:
    level0 = split_hashes(tile_data(Tile(0, 0), big_tree.subtree))
    assert level0 == [leaf_hash(_entry(i)) for i in range(TILE_WIDTH)]
    level1 = split_hashes(tile_data(Tile(1, 0), big_tree.subtree))
    # each level-1 hash is the root of a full level-0 tile
    assert level1[5] == perfect_root(split_hashes(tile_data(Tile(0, 5), big_tree.subtree)))
    assert level1[0] == root_hash(256, big_tree.subtree)
    level2 = tile_data(Tile(2, 0, 1), big_tree.subtree)
    assert level2 == root_hash(65536, big_tree.subtree)


def test_entry_bundles_round_trip() -> None:
    entries = [b"", b"x", b"\x00" * 300, b"y" * 65535]
    data = entry_bundle(entries)
    assert data[:2] == b"\x00\x00" and data[2:5] == b"\x00\x01x"
    assert parse_entry_bundle(data, 4) == entries
    with pytest.raises(ValueError, match="does not fit"):
        entry_bundle([b"z" * 65536])


@pytest.mark.parametrize(("data", "width", "message"), [
    (b"\x00", 1, "truncated in the length"),
    (b"\x00\x05abc", 1, "truncated in entry 0"),
    (b"\x00\x01a\x00\x01b", 1, "holds 2 entries, expected 1"),
    (b"\x00\x01a", 2, "holds 1 entries, expected 2"),
])
def test_malformed_entry_bundles(data: bytes, width: int, message: str) -> None:
    with pytest.raises(ProofError, match=message):
        parse_entry_bundle(data, width)


# --- reading tiles from an untrusted server ----------------------------------------------------


@pytest.mark.parametrize("size", [1, 2, 3, 255, 256, 257, 511, 512, 513, 65535, 65536, 65537,
                                  SPEC_SIZE])
def test_proofs_from_tiles_equal_proofs_from_the_tree(big_tree: MemoryTree, size: int) -> None:
    served, fetch = _tile_fetcher(big_tree, size)
    src = VerifiedTileSource(size, big_tree.root(size), fetch)  # type: ignore[arg-type]
    rng = random.Random(size)
    for old in {0, 1, size // 2, size - 1, size, rng.randint(0, size)}:
        assert consistency_proof(old, size, src) == big_tree.consistency_proof(old, size)
    for i in {0, size - 1, rng.randrange(size)}:
        assert inclusion_proof(i, size, src) == big_tree.inclusion_proof(i, size)
    assert root_hash(size, src) == big_tree.root(size)
    assert len(served) == len(set(served)), "each tile is fetched once"


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.data())
def test_any_consistency_proof_from_tiles(size: int, data: st.DataObject) -> None:
    tree = _small_tree()
    old = data.draw(st.integers(0, size))
    _, fetch = _tile_fetcher(tree, size)
    src = VerifiedTileSource(size, tree.root(size), fetch)  # type: ignore[arg-type]
    assert consistency_proof(old, size, src) == tree.consistency_proof(old, size)


@functools.cache
def _small_tree() -> MemoryTree:
    return MemoryTree(leaf_hash(_entry(i)) for i in range(3000))


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 1]) + data[at + 1:]


def test_a_forged_full_tile_is_refused(big_tree: MemoryTree) -> None:
    size = 1000

    def fetch(tile: Tile) -> bytes:
        data = tile_data(tile, big_tree.subtree)
        return _flip(data, 40) if tile == Tile(0, 1) else data

    src = VerifiedTileSource(size, big_tree.root(size), fetch)
    inclusion_proof(5, size, src)  # tile 0 is fine
    with pytest.raises(ProofError, match="tile/0/001 does not hash to its entry in the tile "
                                         "above"):
        inclusion_proof(300, size, src)


def test_a_forged_partial_tile_is_refused(big_tree: MemoryTree) -> None:
    size = 1000

    def fetch(tile: Tile) -> bytes:
        data = tile_data(tile, big_tree.subtree)
        return _flip(data, 0) if tile == Tile(1, 0, 3) else data

    src = VerifiedTileSource(size, big_tree.root(size), fetch)
    with pytest.raises(ProofError, match="partial tiles do not reproduce the root hash"):
        consistency_proof(10, size, src)


def test_tiles_of_another_tree_are_refused(big_tree: MemoryTree) -> None:
    _, fetch = _tile_fetcher(big_tree, 600)
    src = VerifiedTileSource(600, big_tree.root(599), fetch)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="do not reproduce the root"):
        src.subtree(0, 0)


def test_a_tile_of_the_wrong_length_is_refused(big_tree: MemoryTree) -> None:
    src = VerifiedTileSource(600, big_tree.root(600),
                             lambda t: tile_data(t, big_tree.subtree)[:-1])
    with pytest.raises(ProofError, match=r"tile/0/002\.p/88 has 2815 bytes, expected 2816"):
        src.subtree(0, 0)


def test_a_subtree_outside_the_tree_is_refused(big_tree: MemoryTree) -> None:
    _, fetch = _tile_fetcher(big_tree, 600)
    src = VerifiedTileSource(600, big_tree.root(600), fetch)  # type: ignore[arg-type]
    with pytest.raises(ProofError, match="not in the tree of size 600"):
        src.subtree(0, 600)


# --- static layout -------------------------------------------------------------------------------


def _static_layout(out: Path, tree: MemoryTree, size: int) -> tuple[str, int]:
    signer = make_log_signer()
    note = sign_note(Checkpoint(signer.name, size, tree.root(size)).text(), [signer])

    def entries(lo: int, hi: int) -> Iterator[bytes]:
        return (_entry(i) for i in range(lo, hi))

    return note, write_static(out, note, tree.subtree, entries, durable=False)


def test_static_layout_files(tmp_path: Path, big_tree: MemoryTree) -> None:
    note, written = _static_layout(tmp_path, big_tree, 600)
    files = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert files == ["checkpoint", "tile/0/000", "tile/0/001", "tile/0/002.p/88",
                     "tile/1/000.p/2", "tile/entries/000", "tile/entries/001",
                     "tile/entries/002.p/88"]
    assert written == len(files)
    assert (tmp_path / "checkpoint").read_text() == note
    assert (tmp_path / "tile/0/001").read_bytes() == tile_data(Tile(0, 1), big_tree.subtree)
    assert parse_entry_bundle((tmp_path / "tile/entries/002.p/88").read_bytes(), 88) == \
        [_entry(i) for i in range(512, 600)]
    # a later checkpoint adds tiles; the immutable ones are not rewritten
    _, written = _static_layout(tmp_path, big_tree, 700)
    assert written == 3  # 0/002.p/188, entries/002.p/188 and the checkpoint
    assert (tmp_path / "tile/0/002.p/88").exists()  # the old partial stays for old clients


@pytest.mark.interop
def test_go_tile_hash_reader_over_the_static_layout(tmp_path: Path, big_tree: MemoryTree,
                                                    go_verify: Path) -> None:
    """Go's tlog.TileHashReader authenticates our tiles against the checkpoint and its
    ProveRecord/ProveTree give the same proofs as ours; every entry bundle hashes to level 0."""
    size = SPEC_SIZE
    _static_layout(tmp_path, big_tree, size)
    rng = random.Random(1)
    inc = [{"index": i, "size": s} for s, i in
           [(size, 0), (size, size - 1), (65536, 65535), (257, 256)] +
           [(s, rng.randrange(s)) for s in (rng.randint(1, size) for _ in range(20))]]
    con = [{"old": o, "new": n} for o, n in
           [(1, size), (65536, size), (256, 70000), (69999, 70000), (3, 5)] +
           [(rng.randint(1, n), n) for n in (rng.randint(1, size) for _ in range(20))]]
    req = json.dumps({"inclusion": inc, "consistency": con, "entries": True}).encode()
    res = subprocess.run([str(go_verify), "tile-proofs", str(tmp_path),
                          make_log_signer().verifier.vkey], input=req, capture_output=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr.decode()
    out = json.loads(res.stdout)
    assert out["size"] == size and out["entries_checked"] == size
    b64 = base64.b64encode
    for q, got in zip(inc, out["inclusion"], strict=True):
        assert got["proof"] == [b64(h).decode() for h in
                                big_tree.inclusion_proof(q["index"], q["size"])]
        assert got["root"] == b64(big_tree.root(q["size"])).decode()
    for q, got in zip(con, out["consistency"], strict=True):
        assert got["proof"] == [b64(h).decode() for h in
                                big_tree.consistency_proof(q["old"], q["new"])]


@pytest.mark.interop
def test_go_refuses_a_forged_static_tile(tmp_path: Path, big_tree: MemoryTree,
                                         go_verify: Path) -> None:
    """A forged edge tile fails Go's check against the checkpoint's root.

    (A forged *full* tile is refused by :class:`VerifiedTileSource`, see
    ``test_a_forged_full_tile_is_refused``; x/mod 0.7.0's TileHashReader starts authenticating
    full tiles at index len(stx) of its tile list — the number of root-decomposition *hashes*,
    not of the tiles holding them — so for size 600 it reads tile/0/001 unchecked.)"""
    _static_layout(tmp_path, big_tree, 600)
    tile = tmp_path / "tile/0/002.p/88"
    tile.write_bytes(_flip(tile.read_bytes(), 100))
    req = json.dumps({"inclusion": [{"index": 300, "size": 600}]}).encode()
    res = subprocess.run([str(go_verify), "tile-proofs", str(tmp_path),
                          make_log_signer().verifier.vkey], input=req, capture_output=True,
                         timeout=60)
    assert res.returncode == 1
    assert b"downloaded inconsistent tile" in res.stderr
