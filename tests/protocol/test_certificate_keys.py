"""Certificates across a log key change (eco_protocol/certificate_keys.py): a log that changed
its key after enrolling a home and before issuing its certificates — as the demo's town does
halfway — exports a proof a buyer checks with the old key pinned or the new one; leaving the
key change out of the proof is refused either way."""

from __future__ import annotations

import json

import pytest

from eco_protocol.certificate_proofs import (
    CertificateProblem,
    ProvedEntry,
    proof_document,
    verify_certificate_proofs,
)
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.claims import Claim
from eco_protocol.logkey import LogKeyChange, sign_log_key_change
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.note import NoteSigner
from tests.protocol.claims_kit import HOUR0, two_hour_log
from tests.protocol.records_kit import make_checkpoint, make_log_signer

OLD = make_log_signer()
NEW = make_log_signer(label="log-key-2")


def _rotated_export(keep_change: bool = True) -> tuple[dict[str, object], dict[str, object]]:
    log = two_hour_log()  # enrolment and readings under OLD
    assert log.signer.verifier.vkey == OLD.verifier.vkey
    change = log.append(sign_log_key_change(LogKeyChange(
        OLD.verifier.vkey, NEW.verifier.vkey, "2026-11-30T00:00:00Z", "yearly"), OLD, NEW))
    log.signer = NEW  # the claim and the checkpoint under the new key
    index = log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    c = Claim.from_dict(json.loads(log.entries[index]))
    assert c.bundle is not None and c.hour_dt is not None
    bundle = CertificateBundle(c.claim_id, c.bundle.first, c.bundle.last, c.hour_dt,
                               ProductionDevice("hh-0001", 5000),
                               IssuerConfig("Example City", "JP", "JP"),
                               tuple((p.index, p.entry_sha256, p.wh) for p in c.parts),
                               c.claimed_at, index).to_dict()
    tree = MemoryTree(leaf_hash(e) for e in log.entries)
    proved = [ProvedEntry(i, e, tuple(tree.inclusion_proof(i, len(log.entries))))
              for i, e in enumerate(log.entries) if keep_change or i != change]
    return {"bundles": [bundle]}, proof_document(make_checkpoint(log.entries, NEW), proved)


@pytest.mark.parametrize("pinned", [OLD, NEW], ids=["old-key", "new-key"])
def test_a_proof_across_a_key_change_verifies_with_either_key(pinned: NoteSigner) -> None:
    bundles, proofs = _rotated_export()
    res = verify_certificate_proofs(bundles, proofs, pinned.verifier.vkey)
    assert res.total_wh == 600 and res.readings == 7


@pytest.mark.parametrize(("pinned", "kind"), [(OLD, "checkpoint"), (NEW, "signature")],
                         ids=["old-key", "new-key"])
def test_leaving_the_key_change_out_is_refused(pinned: NoteSigner, kind: str) -> None:
    bundles, proofs = _rotated_export(keep_change=False)
    with pytest.raises(CertificateProblem) as e:
        verify_certificate_proofs(bundles, proofs, pinned.verifier.vkey)
    assert e.value.kind == kind


def test_a_stranger_key_pinned_is_refused() -> None:
    bundles, proofs = _rotated_export()
    with pytest.raises(CertificateProblem) as e:
        verify_certificate_proofs(bundles, proofs,
                                  make_log_signer(label="someone-else").verifier.vkey)
    assert e.value.kind == "checkpoint"
