"""The append-only log: entries, stored Merkle tree, signed checkpoints, proofs.

Appending stores the leaf hash with the entry and the hash of every subtree the new leaf
completes, so roots and proofs are O(log n) reads (:mod:`eco_protocol.merkle` asks only for
perfect subtrees). A checkpoint is signed only after proving it consistent with the last one the
log signed: if the store was rolled back (an old backup restored) the log stops rather than sign
a second history.

The log key can change (:mod:`eco_protocol.logkey`): the change is an entry, the store's meta keeps
the indexes of such entries (``log_key_changes``) and the current key (``log_vkey``), and every
check of an older checkpoint uses the key that was in effect at its size.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.encoding import format_time
from eco_protocol.errors import InvalidInput, NoteError, ProofError
from eco_protocol.keyfile import atomic_write
from eco_protocol.logkey import LogKeyChain, LogKeyChange, chain_from_changes, sign_log_key_change
from eco_protocol.merkle import (
    Subtree,
    SubtreeSource,
    consistency_proof,
    consistency_subtrees,
    inclusion_proof,
    inclusion_subtrees,
    leaf_hash,
    node_hash,
    root_hash,
    root_subtrees,
    verify_consistency,
)
from eco_protocol.messages import msg
from eco_protocol.note import Checkpoint, Note, NoteSigner, open_checkpoint, sign_note
from eco_protocol.records import MAX_ENTRY_BYTES

from . import row_seal
from .errors import KeyChanged, StoreCorrupt
from .store.interface import CheckpointRow, LedgerStore, storable_text

KEY_CHANGES_META = "log_key_changes"  # JSON list of the indexes of eco.logkey/v1 entries


def key_change_indexes(store: LedgerStore) -> list[int]:
    """The indexes of the ``eco.logkey/v1`` entries, oldest first, as the store meta lists them."""
    raw = store.get_meta(KEY_CHANGES_META)
    indexes = json.loads(raw) if raw else []
    if not isinstance(indexes, list) or not all(isinstance(i, int) for i in indexes):
        raise StoreCorrupt(f"store meta {KEY_CHANGES_META} is not a list of entry indexes")
    return indexes


def entry_type(entry: bytes) -> str:
    obj = parse_json(entry)
    t = obj.get("type") if isinstance(obj, dict) else None
    if not isinstance(t, str):
        raise ValueError("entry has no type")
    return t


class KnownEntries(list[bytes]):
    """Entries whose types and leaf hashes the caller has already worked out, for
    :meth:`Ledger.append` to use instead of parsing and hashing every entry again: the intake
    computes them before it takes the store's write lock, which all workers share, so the
    time under the lock shrinks (and with it what the second worker waits for)."""

    def __init__(self, entries: Sequence[tuple[bytes, str, bytes]]) -> None:
        """``entries``: (entry bytes, its record type, ``leaf_hash`` of the bytes)."""
        super().__init__(e for e, _, _ in entries)
        self.types = [t for _, t, _ in entries]
        self.leaves = [h for _, _, h in entries]



def stored_source(store: LedgerStore, wanted: list[Subtree]) -> SubtreeSource:
    """The stored hashes a proof or root needs (``wanted``, from :mod:`eco_protocol.merkle`'s
    ``*_subtrees``), read at once: one batched read, the upper levels from memory."""
    found = store.nodes(wanted)
    return lambda level, index: found[(level, index)]

class Ledger:
    """One log: a store, the log's signing key and its origin (the key's name)."""

    def __init__(self, store: LedgerStore, signer: NoteSigner,
                 latest_file: Path | None = None) -> None:
        """``latest_file`` keeps a copy of the last signed checkpoint outside the store, so a
        store restored from an old backup (whose own checkpoint table is old too) is noticed."""
        self.store = store
        self.signer = signer
        self.origin = signer.name
        self.latest_file = latest_file
        stored = store.get_meta("log_vkey")
        vkey = signer.verifier.vkey
        if stored is None:
            with store.transaction():
                store.set_meta("log_vkey", vkey)
        elif stored != vkey:
            raise StoreCorrupt(msg("aggregator.ledger.other_key", stored=stored, vkey=vkey))
        if store.get_meta(row_seal.SEALS_FROM_META) is None:
            self._mark_sealing()

    def _mark_sealing(self) -> None:
        """Say (sealed) from which rejection row and checkpoint on every row is sealed: a new
        store from the start, an older one from now (aggregator/row_seal.py)."""
        with self.store.transaction():
            if self.store.get_meta(row_seal.SEALS_FROM_META) is not None:
                return
            last = self.store.latest_checkpoint()
            self.store.set_meta(row_seal.SEALS_FROM_META, row_seal.marker(
                self.signer.private_key, self.store.rejection_high_water() + 1,
                0 if last is None else last.size + 1))

    def record_rejection(self, device_id: str, seq: int | None, reason: str, at: str) -> None:
        """File a refused message for the operator, sealed with the log key (the audit checks
        the seal: this table is not derived from the log)."""
        device_id, reason = storable_text(device_id), storable_text(reason)
        self.store.record_rejection(device_id, seq, reason, at, row_seal.seal(
            self.signer.private_key, "rejection", [device_id, seq, reason, at]))

    # --- the log's keys ---------------------------------------------------------------

    def key_changes(self) -> list[tuple[int, dict[str, object]]]:
        """The ``eco.logkey/v1`` entries, oldest first, as (index, record)."""
        out = []
        for i in key_change_indexes(self.store):
            obj = parse_json(self.store.entry(i))
            if not isinstance(obj, dict):
                raise StoreCorrupt(f"entry {i}, listed as a log key change, is not a record")
            out.append((i, obj))
        return out

    def key_chain(self) -> LogKeyChain:
        """Every key the log has had, checked link by link, ending at this ledger's key."""
        try:
            chain = chain_from_changes(self.signer.verifier, self.key_changes())
        except InvalidInput as e:
            raise StoreCorrupt(f"the log's key changes do not verify: {e}") from e
        if chain.current.vkey != self.signer.verifier.vkey:
            raise StoreCorrupt(f"the log's key changes end at {chain.current.vkey}, not at the "
                               f"configured key {self.signer.verifier.vkey}")
        return chain

    def change_key(self, new: NoteSigner, reason: str, now: datetime) -> CheckpointRow:
        """Append an ``eco.logkey/v1`` entry and the transition checkpoint, signed by the new key
        and the old; from here on this ledger signs with ``new``. Call inside a transaction."""
        old = self.signer
        if new.name != old.name:
            raise ValueError(f"the new key must be named {old.name!r} (the log's origin)")
        change = LogKeyChange(previous_key=old.verifier.vkey, new_key=new.verifier.vkey,
                              announced_at=format_time(now), reason=reason)
        entry = canonical_bytes(sign_log_key_change(change, old, new))
        index = self.append([entry])[0]
        self.store.set_meta(KEY_CHANGES_META,
                            json.dumps([*key_change_indexes(self.store), index]))
        self.store.set_meta("log_vkey", new.verifier.vkey)
        self.signer = new
        row = self.sign_checkpoint(now, also=[old])
        assert row is not None  # the change entry grew the log
        return row

    # --- appending --------------------------------------------------------------------

    def size(self) -> int:
        return self.store.size()

    def append(self, entries: Sequence[bytes]) -> list[int]:
        """Append entries; call inside ``store.transaction()``. Returns their leaf indexes."""
        index = self.store.size()
        known = entries if isinstance(entries, KnownEntries) else None
        made: dict[tuple[int, int], bytes] = {}  # subtrees closed by this call: no re-read
        rows: list[tuple[int, str, bytes, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        out = []
        for k, data in enumerate(entries):
            if len(data) > MAX_ENTRY_BYTES:
                raise ValueError(f"entry of {len(data)} bytes exceeds {MAX_ENTRY_BYTES}")
            if known is None:
                leaf, kind = leaf_hash(data), entry_type(data)
            else:
                leaf, kind = known.leaves[k], known.types[k]
            rows.append((index, kind, data, leaf))
            made[(0, index)] = leaf
            level, i, h = 0, index, leaf
            while i & 1:
                # a left sibling not made by this call is older, so already stored
                left = made.get((level, i - 1))
                h = node_hash(self.store.node(level, i - 1) if left is None else left, h)
                level += 1
                i >>= 1
                nodes.append((level, i, h))
                made[(level, i)] = h
            out.append(index)
            index += 1
        # one batched statement each (a statement per row was most of the store's time)
        self.store.append_entries(rows)
        self.store.put_nodes(nodes)
        return out

    # --- tree queries -----------------------------------------------------------------

    # A proof's (or root's) shape depends only on the sizes, so the stored hashes it reads are
    # listed first and fetched together (store.nodes: the upper levels kept in memory, the
    # rest in one batched read), then the pure function runs over them. Issue 16: a proof at
    # 1 M entries took ~24 statements, ~105 µs; now ~65-80 µs.

    def _source(self, wanted: list[Subtree]) -> SubtreeSource:
        return stored_source(self.store, wanted)

    def _stored_root(self, size: int) -> bytes:
        """The root from the store's rows, hash by hash, none of them a copy kept in memory:
        for the checks that the store was not altered or rolled back."""
        return root_hash(size, self.store.node)

    def root(self, size: int | None = None) -> bytes:
        n = self.size() if size is None else size
        return root_hash(n, self._source(root_subtrees(n)))

    def inclusion_proof(self, index: int, size: int) -> list[bytes]:
        return inclusion_proof(index, size, self._source(inclusion_subtrees(index, size)))

    def consistency_proof(self, old_size: int, new_size: int) -> list[bytes]:
        return consistency_proof(old_size, new_size,
                                 self._source(consistency_subtrees(old_size, new_size)))

    # --- checkpoints ------------------------------------------------------------------

    def check_against_last_checkpoint(self) -> CheckpointRow | None:
        """Refuse to run on a store whose tree disagrees with the last checkpoint it signed."""
        self._check_latest_file()
        last = self.store.latest_checkpoint()
        if last is None:
            return None
        size = self.size()
        if size < last.size:
            raise StoreCorrupt(msg("aggregator.ledger.old_backup", size=size, signed=last.size))
        if self._stored_root(last.size) != last.root:
            raise StoreCorrupt(msg("aggregator.ledger.altered", size=last.size))
        return last

    def sign_checkpoint(self, now: datetime | None = None,
                        also: Sequence[NoteSigner] = ()) -> CheckpointRow | None:
        """Sign a checkpoint of the current size if it grew; call inside a transaction.

        ``also``: further signers (the old key, on the checkpoint that ends a key change)."""
        if self.store.get_meta("log_vkey") != self.signer.verifier.vkey:
            raise KeyChanged(msg("aggregator.ledger.key_changed"))
        size = self.size()
        last = self.check_against_last_checkpoint()
        if last is not None and last.size == size:
            return None
        root = self.root(size)
        proof: list[bytes] = []
        if last is not None and last.size > 0:
            proof = self.consistency_proof(last.size, size)
            try:
                verify_consistency(last.size, size, last.root, root, proof)
            except ProofError as e:  # pragma: no cover - guarded by the check above
                raise StoreCorrupt(f"refusing to sign size {size}: {e}") from e
        text = Checkpoint(self.origin, size, root).text()
        note = sign_note(text, [self.signer, *also])
        signed_at = format_time(now or datetime.fromtimestamp(int(time.time()), UTC))
        row = CheckpointRow(size, root, note, tuple(proof), signed_at, row_seal.seal(
            self.signer.private_key, "checkpoint", [size, signed_at]))
        self.store.add_checkpoint(row)
        return row

    def latest_checkpoint(self) -> CheckpointRow | None:
        return self.store.latest_checkpoint()

    def checkpoint_now(self) -> CheckpointRow | None:
        """Sign a checkpoint in its own transaction and, once durable, remember it outside."""
        with self.store.transaction():
            row = self.sign_checkpoint()
        if row is not None and self.latest_file is not None:
            atomic_write(self.latest_file, row.note.encode("utf-8"), 0o644)
        return row

    def _check_latest_file(self) -> None:
        if self.latest_file is None or not self.latest_file.exists():
            return
        try:
            cp, _ = self._open_own_checkpoint(self.latest_file.read_text("utf-8"))
        except (OSError, UnicodeDecodeError, NoteError) as e:
            raise StoreCorrupt(f"{self.latest_file}: cannot read the last signed checkpoint: "
                               f"{e}") from e
        size = self.size()
        if size < cp.size or self._stored_root(cp.size) != cp.root_hash:
            raise StoreCorrupt(msg("aggregator.ledger.rollback", size=cp.size,
                                   file=str(self.latest_file), held=size,
                                   different="" if size < cp.size
                                   else msg("aggregator.ledger.different_history")))


    def _open_own_checkpoint(self, text: str) -> tuple[Checkpoint, Note]:
        """Open a checkpoint this log signed, under whichever of its keys signed that size.

        The current key first: that is every checkpoint but those from before a key change, and
        this runs at every checkpoint, so the chain is only rebuilt when it is needed."""
        try:
            return open_checkpoint(text, self.signer.verifier)
        except NoteError:
            chain = self.key_chain()
            if len(chain.keys) == 1:
                raise
        size = Checkpoint.from_text(text.split("\n\n", 1)[0] + "\n").size
        return open_checkpoint(text, chain.key_at(size))


