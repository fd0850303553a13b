"""Red team of the claim ledger's newest paths (issue 19): what a log the town signs can make a
buyer's offline tools say about an account that signed nothing.

- The town may cancel ids it still holds by the log key alone, and the claim's ``account`` may
  name any did:key: hourly matching must not count such a cancellation as that account's own
  (only cancellations carrying the account's signed request are), and the certificate check
  must say the issuer cancelled, not the account.
- An export may leave out a later transfer of the buyer's ids (an inclusion proof never shows
  absence): the check cannot refuse it, so its output must say its holders are as of the
  entries shown and where the whole log is checked (docs/certificates.md says the same).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.accounts import CANCEL, TRANSFER, ClaimRequest, account_of, sign_request
from eco_protocol.certificate_proofs import (
    CertificateProblem,
    ProvedEntry,
    proof_document,
    verify_certificate_proofs,
)
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.claims import CANCELLED, TRANSFERRED, BundleRange, Claim
from eco_protocol.hourly_matching import (
    ConsumptionHour,
    cancellations_of,
    match_hours,
)
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.messages import render, text
from eco_protocol.signing import sign_record
from eco_protocol.verify_cli import main
from tests.protocol.claims_kit import CLAIMED_AT, HOUR0, Log, two_hour_log
from tests.protocol.matching_kit import PERIOD
from tests.protocol.records_kit import make_checkpoint


def _proofs(log: Log) -> dict[str, Any]:
    tree = MemoryTree(leaf_hash(e) for e in log.entries)
    proved = [ProvedEntry(i, e, tuple(tree.inclusion_proof(i, len(log.entries))))
              for i, e in enumerate(log.entries)]
    return json.loads(json.dumps(proof_document(make_checkpoint(log.entries, log.signer),
                                                proved)))


def _bundle_doc(log: Log, index: int) -> dict[str, Any]:
    c = Claim.from_dict(json.loads(log.entries[index]))
    assert c.bundle is not None and c.hour_dt is not None
    bundle = CertificateBundle(
        c.claim_id, c.bundle.first, c.bundle.last, c.hour_dt,
        ProductionDevice("hh-0001", 5000), IssuerConfig("Example City", "JP", "JP"),
        tuple((p.index, p.entry_sha256, p.wh) for p in c.parts), c.claimed_at, index)
    return {"bundles": [bundle.to_dict()]}


def _town_cancels_in_the_buyers_name() -> tuple[Log, int, str]:
    log = two_hour_log()
    issued = log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    buyer = account_of(Ed25519PrivateKey.generate())
    claim = Claim("cancelled:town:1", CANCELLED, "prog-2026", CLAIMED_AT, ref="gc-1",
                  bundle=BundleRange(1, 600), account=buyer, period=PERIOD)
    log.append(sign_record(claim.to_dict(), log.signer.private_key))
    return log, issued, buyer


def test_a_cancellation_the_buyer_never_signed_does_not_count_as_its_own() -> None:
    log, issued, buyer = _town_cancels_in_the_buyers_name()
    proofs = _proofs(log)
    check = verify_certificate_proofs(_bundle_doc(log, issued), proofs,
                                      log.signer.verifier.vkey)
    (status,) = check.bundles
    # the check says who cancelled: the issuer, in the account's name — not the account
    who, _, n = status.cancelled[0]
    assert n == 600 and "issuer" in str(who) and buyer in str(who)
    report = match_hours([ConsumptionHour(HOUR0, 1000)],
                         cancellations_of(check.bundles), buyer)
    assert report.matched_wh == 0 and report.certificates_wh == 0
    ((c, why),) = report.not_counted
    assert (c.issuance_id, why) == ("gc-1", "unsigned")


def test_the_unsigned_reason_reads_in_both_languages() -> None:
    assert "signed request" in text("eco_protocol.matching.reason.unsigned", "en")
    assert "署名付き依頼" in text("eco_protocol.matching.reason.unsigned", "ja")


def test_an_export_leaving_out_the_buyers_later_transfer_says_what_it_cannot_prove(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The seller shows ids as the buyer's after the buyer moved them on, by leaving the last
    transfer out: inclusion proofs cannot show absence, so the check passes — and must say its
    holders are as of the claims shown, pointing to the whole log."""
    monkeypatch.setenv("LANG", "C")
    log = two_hour_log()
    issued = log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    buyer_key, other = Ed25519PrivateKey.generate(), account_of(Ed25519PrivateKey.generate())
    buyer = account_of(buyer_key)
    sale = Claim("transferred:sale", TRANSFERRED, "prog-2026", CLAIMED_AT, ref="gc-1",
                 bundle=BundleRange(1, 600), account=buyer)
    log.append(sign_record(sale.to_dict(), log.signer.private_key))
    request = sign_request(ClaimRequest(TRANSFER, "gc-1", 1, 600, buyer, CLAIMED_AT, to=other),
                           buyer_key)
    moved = Claim("transferred:on", TRANSFERRED, "prog-2026", CLAIMED_AT, ref="gc-1",
                  bundle=BundleRange(1, 600), account=other, request=request)
    last = log.append(sign_record(moved.to_dict(), log.signer.private_key))
    proofs = _proofs(log)
    proofs["entries"] = [e for e in proofs["entries"] if e["index"] != last]
    (tmp_path / "bundles.json").write_text(json.dumps(_bundle_doc(log, issued)), "utf-8")
    (tmp_path / "proofs.json").write_text(json.dumps(proofs), "utf-8")
    assert main(["certificates", str(tmp_path), "--log-key", log.signer.verifier.vkey]) == 0
    out = capsys.readouterr().out
    assert f"held by {buyer}" in out  # the stale holder: what the proof alone cannot rule out
    assert f"as of the {len(proofs['entries'])} entries shown" in out
    assert "eco-verify evidence" in out
    assert main(["certificates", str(tmp_path), "--log-key", log.signer.verifier.vkey,
                 "--json"]) == 0
    summary = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert summary["holders_as_of_entries"] == len(proofs["entries"])
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["certificates", str(tmp_path), "--log-key", log.signer.verifier.vkey]) == 0
    assert "ログ全体" in capsys.readouterr().out


def test_a_move_dated_before_its_holder_asked_is_refused() -> None:
    """The operator backdates a buyer's cancellation (into an earlier reporting period, say):
    the claim's claimed_at lies before the request's requested_at. The replay refuses it."""
    log = two_hour_log()
    issued = log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    key = Ed25519PrivateKey.generate()
    buyer = account_of(key)
    sale = Claim("transferred:sale", TRANSFERRED, "prog-2026", CLAIMED_AT, ref="gc-1",
                 bundle=BundleRange(1, 600), account=buyer)
    log.append(sign_record(sale.to_dict(), log.signer.private_key))
    asked = "2026-12-10T00:00:00Z"
    request = sign_request(ClaimRequest(CANCEL, "gc-1", 1, 600, buyer, asked, period=PERIOD,
                                        beneficiary="Example Steel Co."), key)
    backdated = Claim("cancelled:back", CANCELLED, "prog-2026", CLAIMED_AT, ref="gc-1",
                      bundle=BundleRange(1, 600), account=buyer, period=PERIOD,
                      request=request)
    log.append(sign_record(backdated.to_dict(), log.signer.private_key))
    with pytest.raises(CertificateProblem) as e:
        verify_certificate_proofs(_bundle_doc(log, issued), _proofs(log),
                                  log.signer.verifier.vkey)
    assert "before its holder signed the request" in str(e.value) and asked in str(e.value)
    assert "保有者が依頼する前" in render(e.value, "ja")
