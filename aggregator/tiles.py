"""The ledger as a tiled transparency log (c2sp.org/tlog-tiles): tiles, entry bundles, paths.

A tiled log publishes, instead of proofs, the Merkle tree itself as static, immutable resources
from which anyone computes any RFC 6962 proof (docs/protocol.md §4; the same tiling as Go's
``golang.org/x/mod/sumdb/tlog`` with tile height 8):

* ``checkpoint`` — the signed checkpoint (c2sp.org/tlog-checkpoint), with witness cosignatures;
* ``tile/<L>/<N>[.p/<W>]`` — tile N of level L: the concatenated hashes
  MTH(D[(N·256 + i)·256^L : (N·256 + i + 1)·256^L]) for i < W; W = 256 for a full tile (8192
  bytes, no suffix), 1..255 for the rightmost, *partial* tile of a level. Level 0 holds leaf
  hashes; each hash of level L ≥ 1 is the root of a full tile of level L − 1;
* ``tile/entries/<N>[.p/<W>]`` — the entry bundle: the W entries of level-0 tile N, each as a
  big-endian uint16 length followed by the entry bytes;
* ``<N>`` is written in zero-padded 3-digit path elements, all but the last prefixed with ``x``
  (1234067 → ``x001/x234/067``).

Pure, apart from :func:`write_static`: tile bytes come from a
:data:`~eco_protocol.merkle.SubtreeSource` (the ledger store's ``node``, or a
:class:`~eco_protocol.merkle.MemoryTree`). :class:`VerifiedTileSource` is the reading side: a
``SubtreeSource`` over tiles fetched from an untrusted server, each authenticated against a
checkpoint's root hash the way ``tlog.TileHashReader`` does, so a witness or auditor can compute
proofs from a mirror it does not trust.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from eco_protocol.errors import ProofError
from eco_protocol.keyfile import atomic_write
from eco_protocol.merkle import HASH_SIZE, SubtreeSource, node_hash, root_hash
from eco_protocol.note import Checkpoint

from .errors import Rejected

TILE_HEIGHT = 8
"""tlog-tiles fixes the tile height at 8: a tile is a subtree of height 8, 256 hashes wide."""

TILE_WIDTH = 1 << TILE_HEIGHT
MAX_TILE_LEVEL = 63
MAX_BUNDLE_ENTRY = 0xFFFF  # uint16 length prefix; docs/protocol.md caps an entry at 65535 bytes
ENTRIES = -1
"""The level of entry bundles (``tile/entries/…``), as Go's tlog calls its data tiles level −1."""

CHECKPOINT_PATH = "checkpoint"
TILE_CONTENT_TYPE = "application/octet-stream"
CHECKPOINT_CONTENT_TYPE = "text/plain; charset=utf-8"

TileFetcher = Callable[["Tile"], bytes]
"""Reads one tile's bytes from somewhere untrusted (HTTP, a directory)."""

EntryReader = Callable[[int, int], Iterable[bytes]]
"""``entries(lo, hi)`` yields the entry bytes of leaves lo … hi − 1 in order."""


@dataclass(frozen=True, slots=True)
class Tile:
    """One tile: ``level`` 0..63 (or :data:`ENTRIES`), index ``index``, ``width`` 1..256 hashes."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not ENTRIES <= self.level <= MAX_TILE_LEVEL:
            raise ValueError(f"tile level {self.level} is outside {ENTRIES}..{MAX_TILE_LEVEL}")
        if self.index < 0 or not 1 <= self.width <= TILE_WIDTH:
            raise ValueError(f"tile index {self.index} / width {self.width} out of range")

    @property
    def is_entries(self) -> bool:
        return self.level == ENTRIES

    @property
    def full(self) -> bool:
        return self.width == TILE_WIDTH

    @property
    def hash_level(self) -> int:
        """Tree level of the hashes (or leaves) in this tile: 8 × level, 0 for entry bundles."""
        return 0 if self.is_entries else TILE_HEIGHT * self.level

    @property
    def start(self) -> int:
        """Index of the first leaf the tile covers."""
        return (self.index * TILE_WIDTH) << self.hash_level

    @property
    def end(self) -> int:
        """One past the last leaf the tile covers."""
        return (self.index * TILE_WIDTH + self.width) << self.hash_level

    @property
    def path(self) -> str:
        level = "entries" if self.is_entries else str(self.level)
        suffix = "" if self.full else f".p/{self.width}"
        return f"tile/{level}/{encode_tile_index(self.index)}{suffix}"


def encode_tile_index(n: int) -> str:
    """``<N>`` as tlog-tiles writes it: 3-digit groups, all but the last prefixed with ``x``."""
    if n < 0:
        raise ValueError(f"tile index {n} is negative")
    out = f"{n % 1000:03d}"
    n //= 1000
    while n:
        out = f"x{n % 1000:03d}/{out}"
        n //= 1000
    return out


_TILE_PATH = re.compile(
    r"tile/(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def parse_tile_path(path: str) -> Tile:
    """Parse ``tile/<L>/<N>[.p/<W>]`` or ``tile/entries/<N>[.p/<W>]`` (no leading slash).

    Only the canonical spelling is accepted (like Go's ``tlog.ParseTilePath``, which re-encodes
    and compares): no leading zero groups, no ``.p/256``, no ``.p/0``, level ≤ 63.
    """
    m = _TILE_PATH.fullmatch(path)
    if m is None:
        raise Rejected(f"malformed tile path {path[:120]!r}: expected tile/<L>/<N>[.p/<W>] or "
                       "tile/entries/<N>[.p/<W>] with <N> in x-prefixed 3-digit groups")
    level_s, index_s, width_s = m.groups()
    level = ENTRIES if level_s == "entries" else int(level_s)
    index = int(index_s.replace("x", "").replace("/", ""))
    width = TILE_WIDTH if width_s is None else int(width_s)
    if level > MAX_TILE_LEVEL or (width_s is not None and width >= TILE_WIDTH):
        raise Rejected(f"malformed tile path {path!r}: level must be ≤ {MAX_TILE_LEVEL} and a "
                       f"partial width 1..{TILE_WIDTH - 1}")
    tile = Tile(level, index, width)
    if tile.path != path:
        raise Rejected(f"malformed tile path {path!r}: not canonical (expected {tile.path!r})")
    return tile


# --- which tiles a tree has ---------------------------------------------------------------------


def tile_in_tree(tile: Tile, size: int) -> bool:
    """Whether the tree of ``size`` leaves contains ``tile`` (full, or partial of this width)."""
    return tile.end <= size


def tile_for_tree(level: int, index: int, size: int) -> Tile | None:
    """Tile ``index`` of ``level`` as it is in the tree of ``size``: full, partial, or None."""
    count = size >> (TILE_HEIGHT * max(level, 0))  # hashes (or entries) that level holds
    width = min(TILE_WIDTH, count - index * TILE_WIDTH)
    return None if width <= 0 else Tile(level, index, width)


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every hash tile of the tree of ``size``, level by level, each level's partial tile last.

    A tree of 70,000 leaves has 273 full level-0 tiles and one of width 112, one full level-1
    tile and one of width 17, and one level-2 tile of width 1 (the tlog-tiles example).
    """
    level = 0
    while size >> (TILE_HEIGHT * level):
        count = size >> (TILE_HEIGHT * level)
        for n in range((count + TILE_WIDTH - 1) // TILE_WIDTH):
            tile = tile_for_tree(level, n, size)
            assert tile is not None
            yield tile
        level += 1


def entry_bundles_for_size(size: int) -> Iterator[Tile]:
    """Every entry bundle of the tree of ``size``: the full ones, then the partial one."""
    for n in range((size + TILE_WIDTH - 1) // TILE_WIDTH):
        tile = tile_for_tree(ENTRIES, n, size)
        assert tile is not None
        yield tile


# --- tile bytes ---------------------------------------------------------------------------------


def tile_data(tile: Tile, source: SubtreeSource) -> bytes:
    """The bytes of a hash tile: its ``width`` hashes of tree level 8·L, concatenated."""
    if tile.is_entries:
        raise ValueError("entry bundles are built with entry_bundle()")
    first = tile.index * TILE_WIDTH
    return b"".join(source(tile.hash_level, first + i) for i in range(tile.width))


def entry_bundle(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as uint16 big-endian length ‖ bytes."""
    out = bytearray()
    for e in entries:
        if len(e) > MAX_BUNDLE_ENTRY:
            raise ValueError(f"entry of {len(e)} bytes does not fit an entry bundle")
        out += len(e).to_bytes(2, "big") + e
    return bytes(out)


def entry_bundle_for(tile: Tile, entries: EntryReader) -> bytes:
    """The bundle of entry tile ``tile``, read through ``entries(lo, hi)``."""
    if not tile.is_entries:
        raise ValueError(f"{tile.path} is not an entry bundle")
    got = list(entries(tile.start, tile.end))
    if len(got) != tile.width:
        raise ValueError(f"{tile.path}: {len(got)} entries available, {tile.width} needed")
    return entry_bundle(got)


def parse_entry_bundle(data: bytes, width: int) -> list[bytes]:
    """Split an entry bundle of ``width`` entries; refuses trailing or missing bytes."""
    out: list[bytes] = []
    pos = 0
    while pos < len(data):
        if pos + 2 > len(data):
            raise ProofError(f"entry bundle is truncated in the length of entry {len(out)}")
        n = int.from_bytes(data[pos:pos + 2], "big")
        if pos + 2 + n > len(data):
            raise ProofError(f"entry bundle is truncated in entry {len(out)}")
        out.append(data[pos + 2:pos + 2 + n])
        pos += 2 + n
    if len(out) != width:
        raise ProofError(f"entry bundle holds {len(out)} entries, expected {width}")
    return out


def split_hashes(data: bytes) -> list[bytes]:
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def perfect_root(hashes: list[bytes]) -> bytes:
    """MTH of a power-of-two run of subtree hashes (the levels *inside* a tile)."""
    level = hashes
    while len(level) > 1:
        if len(level) & 1:
            raise ValueError("perfect_root needs a power-of-two number of hashes")
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


# --- reading tiles from an untrusted server -----------------------------------------------------


class VerifiedTileSource:
    """A :data:`~eco_protocol.merkle.SubtreeSource` for the tree (``size``, ``root``) whose hashes
    come from tiles read with ``fetch``, each authenticated before use, as ``tlog.TileHashReader``:

    * the partial tiles on the tree's right edge must reproduce ``root`` (every hash in them is
      part of the root's RFC 6962 decomposition);
    * a full tile must hash to the entry for it in the tile of the level above, which is itself
      authenticated the same way, up to the edge.

    So every hash :meth:`subtree` returns is proven to be in the tree of the signed checkpoint,
    whatever the server sent. A tile that fails raises :class:`ProofError` naming it.
    """

    def __init__(self, size: int, root: bytes, fetch: TileFetcher) -> None:
        self.size = size
        self.root = root
        self._fetch = fetch
        self._tiles: dict[tuple[int, int], list[bytes]] = {}
        self._edge_checked = False
        self.fetched: list[Tile] = []

    def subtree(self, level: int, index: int) -> bytes:
        self._check_edge()
        return self._subtree(level, index)

    __call__ = subtree

    def _subtree(self, level: int, index: int) -> bytes:
        tile_level, r = divmod(level, TILE_HEIGHT)
        count = 1 << r
        n, off = divmod(index * count, TILE_WIDTH)
        hashes = self._tile_hashes(tile_level, n)
        if off + count > len(hashes):
            raise ProofError.coded("aggregator.tiles.subtree", level=level, index=index,
                                   size=self.size)
        return perfect_root(hashes[off:off + count])

    def _read(self, tile: Tile) -> list[bytes]:
        data = self._fetch(tile)
        self.fetched.append(tile)
        if len(data) != tile.width * HASH_SIZE:
            raise ProofError.coded("aggregator.tiles.length", path=tile.path, got=len(data),
                                   expected=tile.width * HASH_SIZE)
        return split_hashes(data)

    def _tile_hashes(self, level: int, n: int) -> list[bytes]:
        got = self._tiles.get((level, n))
        if got is not None:
            return got
        tile = tile_for_tree(level, n, self.size)
        if tile is None:
            raise ProofError.coded("aggregator.tiles.outside", tile=f"{level}/{n}",
                                   size=self.size)
        if not tile.full:  # every partial tile was read and checked by _check_edge
            raise ProofError.coded("aggregator.tiles.not_edge", path=tile.path, size=self.size)
        hashes = self._read(tile)
        parent = self._subtree(TILE_HEIGHT * (level + 1), n)
        if perfect_root(hashes) != parent:
            raise ProofError.coded("aggregator.tiles.parent", path=tile.path, size=self.size)
        self._tiles[(level, n)] = hashes
        return hashes

    def _check_edge(self) -> None:
        if self._edge_checked:
            return
        level = 0
        while self.size >> (TILE_HEIGHT * level):
            count = self.size >> (TILE_HEIGHT * level)
            if count % TILE_WIDTH:
                tile = Tile(level, count // TILE_WIDTH, count % TILE_WIDTH)
                self._tiles[(level, tile.index)] = self._read(tile)
            level += 1
        # The RFC 6962 decomposition of the root only asks for subtrees inside the edge tiles.
        if root_hash(self.size, self._subtree) != self.root:
            raise ProofError.coded("aggregator.tiles.root", size=self.size)
        self._edge_checked = True


# --- the static layout --------------------------------------------------------------------------


def write_static(out: Path, checkpoint_note: str, source: SubtreeSource,
                 entries: EntryReader, *, durable: bool = True) -> int:
    """Write the tlog-tiles layout of the checkpoint ``checkpoint_note`` under ``out``.

    Tiles and bundles are immutable, so those already present (from an earlier run) are kept;
    new ones are written to a temporary name and renamed. The checkpoint is written last and
    atomically, after the tiles are on disk (``durable``), so a reader never sees a checkpoint
    whose tiles are missing. Serve ``out`` with any static web server. Returns files written.
    """
    text = checkpoint_note[: checkpoint_note.find("\n\n") + 1]
    size = Checkpoint.from_text(text).size
    written = 0
    tiles: list[Tile] = [*tiles_for_size(size), *entry_bundles_for_size(size)]
    for tile in tiles:
        path = out / tile.path
        if path.exists():
            continue
        data = entry_bundle_for(tile, entries) if tile.is_entries else tile_data(tile, source)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        written += 1
    if durable:
        os.sync()
    atomic_write(out / CHECKPOINT_PATH, checkpoint_note.encode("utf-8"), 0o644)
    return written + 1
