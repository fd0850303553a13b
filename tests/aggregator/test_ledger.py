"""The stored tree, checkpoints, export and audit."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.audit import audit
from aggregator.errors import StoreCorrupt
from aggregator.export import export_evidence
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from eco_protocol.canonical import canonical_bytes
from eco_protocol.evidence import verify_evidence
from eco_protocol.merkle import MemoryTree, leaf_hash, verify_consistency, verify_inclusion
from eco_protocol.note import NoteSigner, open_checkpoint
from tests.aggregator.ledger_kit import Device, StoreBackend, enrol_device


def _fill(ledger: Ledger, n: int) -> None:
    with ledger.store.transaction():
        ledger.append([b'{"type":"test","i":%d}' % i for i in range(n)])


@pytest.mark.parametrize("n", [1, 2, 3, 7, 8, 33])
def test_stored_tree_matches_memory_tree(ledger: Ledger, n: int) -> None:
    _fill(ledger, n)
    mem = MemoryTree(leaf_hash(d) for _, d in ledger.store.entries(0, n))
    for size in range(1, n + 1):
        assert ledger.root(size) == mem.root(size)
        for i in range(size):
            proof = ledger.inclusion_proof(i, size)
            assert proof == mem.inclusion_proof(i, size)
            verify_inclusion(i, size, mem.levels[0][i], proof, ledger.root(size))
        for old in range(1, size):
            verify_consistency(old, size, ledger.root(old), ledger.root(size),
                               ledger.consistency_proof(old, size))


def test_checkpoints_are_signed_and_chained(ledger: Ledger) -> None:
    _fill(ledger, 5)
    with ledger.store.transaction():
        first = ledger.sign_checkpoint()
        assert ledger.sign_checkpoint() is None  # nothing new, nothing signed
    _fill(ledger, 6)
    with ledger.store.transaction():
        second = ledger.sign_checkpoint()
    assert first is not None and second is not None
    cp, _ = open_checkpoint(second.note, ledger.signer.verifier)
    assert (cp.size, cp.root_hash) == (11, ledger.root())
    verify_consistency(5, 11, first.root, second.root, second.proof)


def test_an_old_backup_is_refused(store_backend: StoreBackend, log_signer: NoteSigner) -> None:
    url = store_backend.new_url()
    ledger = Ledger(store_backend.open(url), log_signer)
    _fill(ledger, 4)
    with ledger.store.transaction():
        ledger.sign_checkpoint()
    ledger.store.close()
    backup = store_backend.copy(url)
    ledger = Ledger(store_backend.open(url), log_signer)
    _fill(ledger, 3)
    with ledger.store.transaction():
        ledger.sign_checkpoint()
    ledger.store.close()
    # the operator "restores" the old backup, but keeps the newer checkpoint table somehow
    (row,) = store_backend.execute(url, "SELECT size, root, note, proof, signed_at "
                                        "FROM checkpoint WHERE size = 7")
    store_backend.execute(backup, "INSERT INTO checkpoint(size, root, note, proof, signed_at) "
                                  "VALUES(?, ?, ?, ?, ?)", row)
    old = Ledger(store_backend.open(backup), log_signer)
    with pytest.raises(StoreCorrupt, match="old backup"):
        old.check_against_last_checkpoint()
    with pytest.raises(StoreCorrupt), old.store.transaction():
        old.sign_checkpoint()


def test_wrong_log_key_is_refused(store_backend: StoreBackend, log_signer: NoteSigner) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    url = store_backend.new_url()
    Ledger(store_backend.open(url), log_signer).store.close()
    store = store_backend.open(url)
    with pytest.raises(StoreCorrupt, match="signed with log key"):
        Ledger(store, NoteSigner(log_signer.name, Ed25519PrivateKey.generate()))
    store.close()


def _populated(ledger: Ledger) -> Device:
    device = Device()
    enrol_device(ledger, device)
    intake = Intake(ledger)
    for _ in range(4):
        msg = canonical_bytes([device.reading(), device.reading()])
        intake.process([(device.topic, msg)], "2026-11-23T00:00:00Z")
    with ledger.store.transaction():
        ledger.sign_checkpoint()
    return device


def test_export_verifies_offline(ledger: Ledger, tmp_path: Path) -> None:
    _populated(ledger)
    out = tmp_path / "evidence"
    size = export_evidence(ledger, out)
    assert size == ledger.size() == 9
    summary = verify_evidence((out / "checkpoint").read_text(), (out / "log.vkey").read_text(),
                              [], (out / "entries.jsonl").read_text().splitlines())
    assert summary.entries == 9
    assert summary.counts == {"eco.enrol/v1": 1, "eco.reading/v1": 8}


def test_audit_passes_then_names_a_tampered_entry(ledger: Ledger,
                                                  store_backend: StoreBackend) -> None:
    _populated(ledger)
    report = audit(ledger)
    assert report.size == 9 and report.checkpoint_size == 9
    ((data,),) = store_backend.execute(ledger.store, "SELECT data FROM entry WHERE idx=5")
    store_backend.execute(ledger.store, "UPDATE entry SET data=? WHERE idx=5",
                          (bytes(data).replace(b'"energy_wh":500', b'"energy_wh":900'),))
    with pytest.raises(StoreCorrupt, match="entry 5"):
        audit(ledger)


def test_audit_names_a_tampered_interior_hash(ledger: Ledger,
                                              store_backend: StoreBackend) -> None:
    _populated(ledger)
    store_backend.execute(ledger.store, "UPDATE node SET hash=? WHERE level=2 AND idx=1",
                          (bytes(32),))
    with pytest.raises(StoreCorrupt, match=r"level 2, index 1"):
        audit(ledger)


def test_a_restored_old_backup_is_noticed_from_the_published_checkpoint(
        tmp_path: Path, store_backend: StoreBackend, log_signer: NoteSigner) -> None:
    """The backup carries its own (old) checkpoint table; the copy outside the store does not."""
    url, latest = store_backend.new_url(), tmp_path / "checkpoint.latest"
    ledger = Ledger(store_backend.open(url), log_signer, latest)
    _fill(ledger, 4)
    ledger.checkpoint_now()
    ledger.store.close()
    backup = store_backend.copy(url)
    ledger = Ledger(store_backend.open(url), log_signer, latest)
    _fill(ledger, 3)
    assert ledger.checkpoint_now() is not None
    ledger.store.close()
    restored = Ledger(store_backend.open(backup), log_signer, latest)
    with pytest.raises(StoreCorrupt, match="ROLLBACK.*size 7.*holds 4 entries"):
        restored.checkpoint_now()
    # a different history of the right length is caught too
    with restored.store.transaction():
        restored.append([b'{"type":"test","other":%d}' % i for i in range(3)])
    with pytest.raises(StoreCorrupt, match="different history"):
        restored.check_against_last_checkpoint()


def _flip(blob: bytes, pos: int) -> bytes:
    return blob[:pos] + bytes([blob[pos] ^ 0x01]) + blob[pos + 1:]


def test_flipping_any_byte_of_any_entry_or_hash_is_named(ledger: Ledger,
                                                          store_backend: StoreBackend) -> None:
    """Issue 4: every stored entry, leaf hash and interior hash, one byte each, is caught and
    named (entries and leaves at a few byte positions each, every interior hash)."""
    _populated(ledger)
    audit(ledger)
    size = ledger.size()
    run = store_backend.execute
    for idx in range(size):
        (data,) = run(ledger.store, "SELECT data FROM entry WHERE idx=?", (idx,))[0]
        data = bytes(data)
        for pos in (0, len(data) // 2, len(data) - 1):
            run(ledger.store, "UPDATE entry SET data=? WHERE idx=?", (_flip(data, pos), idx))
            with pytest.raises(StoreCorrupt, match=rf"entry {idx}\b"):
                audit(ledger)
            run(ledger.store, "UPDATE entry SET data=? WHERE idx=?", (data, idx))
        (leaf,) = run(ledger.store, "SELECT leaf FROM entry WHERE idx=?", (idx,))[0]
        run(ledger.store, "UPDATE entry SET leaf=? WHERE idx=?", (_flip(bytes(leaf), 31), idx))
        with pytest.raises(StoreCorrupt, match=rf"entry {idx}: stored leaf hash"):
            audit(ledger)
        run(ledger.store, "UPDATE entry SET leaf=? WHERE idx=?", (bytes(leaf), idx))
    for level, i, h in run(ledger.store, "SELECT level, idx, hash FROM node"):
        run(ledger.store, "UPDATE node SET hash=? WHERE level=? AND idx=?",
            (_flip(bytes(h), 7), level, i))
        with pytest.raises(StoreCorrupt, match=rf"level {level}, index {i}\b"):
            audit(ledger)
        run(ledger.store, "UPDATE node SET hash=? WHERE level=? AND idx=?", (bytes(h), level, i))
    assert audit(ledger).problems == ()


def test_every_checkpoint_and_its_consistency_proof_is_audited(
        ledger: Ledger, store_backend: StoreBackend) -> None:
    device = Device()
    enrol_device(ledger, device)  # size 1, checkpoint 1
    intake = Intake(ledger)
    for n in (2, 4, 2):  # sizes 3, 7, 9
        intake.process([(device.topic, canonical_bytes([device.reading() for _ in range(n)]))],
                       "2026-11-23T00:00:00Z")
        ledger.checkpoint_now()
    assert audit(ledger).checkpoints == 4
    run = store_backend.execute
    (proof,) = run(ledger.store, "SELECT proof FROM checkpoint WHERE size=7")[0]
    run(ledger.store, "UPDATE checkpoint SET proof=? WHERE size=7", (_flip(bytes(proof), 3),))
    with pytest.raises(StoreCorrupt, match="checkpoint of size 7.*consistency proof from size 3"):
        audit(ledger)
    run(ledger.store, "UPDATE checkpoint SET proof=? WHERE size=7", (bytes(proof),))
    (note,) = run(ledger.store, "SELECT note FROM checkpoint WHERE size=3")[0]
    run(ledger.store, "UPDATE checkpoint SET note=? WHERE size=3",
        (note.replace("\n3\n", "\n4\n", 1),))
    with pytest.raises(StoreCorrupt, match="checkpoint of size 3"):
        audit(ledger)


def test_all_mode_lists_every_problem(ledger: Ledger, store_backend: StoreBackend) -> None:
    _populated(ledger)
    run = store_backend.execute
    for idx in (2, 6):
        (data,) = run(ledger.store, "SELECT data FROM entry WHERE idx=?", (idx,))[0]
        run(ledger.store, "UPDATE entry SET data=? WHERE idx=?", (_flip(bytes(data), 5), idx))
    report = audit(ledger, all_problems=True)
    named = " | ".join(report.problems)
    assert "entry 2" in named and "entry 6" in named, named
