"""``eco-verify certificates``: a buyer's offline check of exported certificates, on real signed
logs (tests/protocol/claims_kit.py) with real inclusion proofs to a signed checkpoint, the
installed command in its own process. Valid: issued, transferred by the issuer, moved on and
cancelled by buyers who signed their requests. Refused, each with what it means for the buyer:
a raised face value, an issued claim left out of the proof, an entry not in the log, a transfer
the holder did not sign, a request signed by another key, a double cancellation, a claim above
the proven energy."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.accounts import (
    CANCEL,
    ISSUER,
    TRANSFER,
    ClaimRequest,
    account_of,
    holders_over,
    sign_request,
)
from eco_protocol.certificate_proofs import ProvedEntry, proof_document
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.claims import BundleRange, Claim, DoubleClaim
from eco_protocol.errors import MalformedRecord
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.programme_records import Period
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.claims_kit import CLAIMED_AT, HOUR0, HOUR1, Log, two_hour_log
from tests.protocol.records_kit import make_checkpoint

pytestmark = pytest.mark.integration  # the installed eco-verify in its own process

ALICE = Ed25519PrivateKey.generate()
BOB = Ed25519PrivateKey.generate()
MALLORY = Ed25519PrivateKey.generate()
USE = Period("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z")


def _verify(path: Path, log: Log) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("eco-verify")
    return subprocess.run([str(exe), "certificates", str(path), "--log-key",
                           log.signer.verifier.vkey], capture_output=True, text=True,
                          timeout=120, check=False)


def _request(key: Ed25519PrivateKey, action: str, ref: str, ids: BundleRange,
             to: Ed25519PrivateKey | None = None) -> ClaimRequest:
    r = ClaimRequest(action, ref, ids.first, ids.last, account_of(key), CLAIMED_AT,
                     to=None if to is None else account_of(to),
                     period=USE if action == CANCEL else None,
                     beneficiary="Example Steel Co." if action == CANCEL else None)
    return sign_request(r, key)


def _move(log: Log, claim_id: str, ref: str, ids: BundleRange, account: str,
          request: ClaimRequest | None = None, cancel: bool = False) -> int:
    c = Claim(claim_id, "cancelled" if cancel else "transferred", "prog-2026", CLAIMED_AT,
              ref=ref, bundle=ids, account=account, period=USE if cancel else None,
              request=request)
    return log.append(sign_record(c.to_dict(), log.signer.private_key))


class _Market:
    """Two issued bundles (600 Wh in hour 0, 1000 Wh in hour 1) of a real log; bundle 1 sold
    to Alice by the issuer, half of it moved on to Bob by Alice, and cancelled by Bob."""

    def __init__(self) -> None:
        self.log = two_hour_log()
        at = self.log.at
        self.c1 = self.log.issue("gc-1", HOUR0, [(at[(1, "pv1", 0)], 600)])
        self.c2 = self.log.issue("gc-2", HOUR1, [(at[(1, "pv1", 2)], 1000)])
        self.half = BundleRange(1, 300)
        _move(self.log, "t-1", "gc-1", BundleRange(1, 600), account_of(ALICE))
        _move(self.log, "t-2", "gc-1", self.half, account_of(BOB),
              _request(ALICE, TRANSFER, "gc-1", self.half, BOB))

    def cancel_by_bob(self, claim_id: str = "x-1") -> int:
        return _move(self.log, claim_id, "gc-1", self.half, account_of(BOB),
                     _request(BOB, CANCEL, "gc-1", self.half), cancel=True)

    def bundles(self) -> list[dict[str, Any]]:
        issuer = IssuerConfig("Example City", "JP", "JP")
        out = []
        for index in (self.c1, self.c2):
            c = Claim.from_dict(json.loads(self.log.entries[index]))
            assert c.bundle is not None and c.hour_dt is not None
            out.append(CertificateBundle(
                c.claim_id, c.bundle.first, c.bundle.last, c.hour_dt,
                ProductionDevice("hh-0001", 5000), issuer,
                tuple((p.index, p.entry_sha256, p.wh) for p in c.parts), c.claimed_at,
                index).to_dict())
        return out

    def export(self, out: Path, leave_out: Sequence[int] = ()) -> Path:
        """bundles.json and proofs.json: every entry of the log with its inclusion proof."""
        entries = self.log.entries
        tree = MemoryTree(leaf_hash(e) for e in entries)
        proved = [ProvedEntry(i, e, tuple(tree.inclusion_proof(i, len(entries))))
                  for i, e in enumerate(entries) if i not in leave_out]
        out.mkdir(parents=True, exist_ok=True)
        (out / "bundles.json").write_text(json.dumps({"bundles": self.bundles()}))
        (out / "proofs.json").write_text(json.dumps(proof_document(
            make_checkpoint(entries, self.log.signer), proved)))
        return out


def test_valid_export_shows_holders_and_the_cancellation(tmp_path: Path) -> None:
    m = _Market()
    m.cancel_by_bob()
    proc = _verify(m.export(tmp_path / "ok"), m.log)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].startswith("VALID certificates: 2 bundles, 1600 Wh of self-consumed solar "
                               "from 1 home(s)")
    assert "300 Wh cancelled" in lines[0]
    gc1 = next(line for line in lines if line.strip().startswith("gc-1:"))
    assert f"{account_of(ALICE)} (300 ids)" in gc1 and f"{account_of(BOB)} (300 ids)" in gc1
    assert f"300 ids cancelled by {account_of(BOB)} for Example Steel Co." in gc1
    assert "held by the issuer (not transferred)" in next(
        line for line in lines if line.strip().startswith("gc-2:"))


def test_raised_face_value_is_refused(tmp_path: Path) -> None:
    m = _Market()
    out = m.export(tmp_path / "x")
    bundles = m.bundles()
    bundles[1]["bundle_quantity"] = 1200
    (out / "bundles.json").write_text(json.dumps({"bundles": bundles}))
    proc = _verify(out / "bundles.json", m.log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: a certificate says something its "
                                  "claim in the log does not")
    assert "bundle_quantity: the bundle says 1200, its claim gives 1000" in proc.stderr


def test_an_issued_claim_left_out_of_the_proof_is_refused(tmp_path: Path) -> None:
    m = _Market()
    proc = _verify(m.export(tmp_path / "x", leave_out=[m.c1]), m.log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: a claim the log holds was left out")
    assert "an issued claim was left out" in proc.stderr


def test_an_entry_not_in_the_log_is_refused(tmp_path: Path) -> None:
    m = _Market()
    out = m.export(tmp_path / "x")
    proofs = json.loads((out / "proofs.json").read_text())
    proofs["entries"][0]["proof_b64"] = proofs["entries"][1]["proof_b64"]
    (out / "proofs.json").write_text(json.dumps(proofs))
    proc = _verify(out, m.log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: an entry these certificates rest on "
                                  "is not in the log")


def test_a_transfer_the_holder_did_not_sign_is_refused(tmp_path: Path) -> None:
    m = _Market()
    # the operator moves Bob's certificates to its own account, with no request from Bob
    _move(m.log, "t-steal", "gc-1", m.half, account_of(MALLORY))
    proc = _verify(m.export(tmp_path / "x"), m.log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: certificates were moved or cancelled "
                                  "without the signed request of the account holding them")
    assert f"held by {account_of(BOB)}, and the claim carries no request" in proc.stderr


def test_a_request_signed_by_another_key_is_refused(tmp_path: Path) -> None:
    m = _Market()
    forged = _request(MALLORY, TRANSFER, "gc-1", m.half, MALLORY)
    # Mallory's signature under a request that names Bob as the holder
    as_bob = ClaimRequest.from_dict({**forged.to_dict(), "holder": account_of(BOB)})
    _move(m.log, "t-forged", "gc-1", m.half, account_of(MALLORY), as_bob)
    proc = _verify(m.export(tmp_path / "x"), m.log)
    assert proc.returncode == 1
    assert "the request is not signed by" in proc.stderr


def test_a_double_cancellation_is_refused(tmp_path: Path) -> None:
    m = _Market()
    m.cancel_by_bob("x-1")
    m.cancel_by_bob("x-2")  # a second request (another signature), the same ids
    proc = _verify(m.export(tmp_path / "x"), m.log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: the same energy or certificate id is "
                                  "claimed twice")
    assert "cancelled by claim x-1" in proc.stderr


def test_a_claim_above_the_proven_energy_is_refused(tmp_path: Path) -> None:
    log = two_hour_log()
    log.issue("gc-1", HOUR0, [(log.at[(1, "pv1", 0)], 700)])  # the span proves 600 Wh
    m = _Market.__new__(_Market)
    m.log, m.c1, m.c2 = log, len(log.entries) - 1, len(log.entries) - 1
    proc = _verify(m.export(tmp_path / "x"), log)
    assert proc.returncode == 1
    assert proc.stdout.startswith("INVALID certificates: a certificate claims more energy than "
                                  "the readings prove")


def test_holdings_and_a_request_that_does_not_match_its_claim() -> None:
    moves = [(1, 600, "alice"), (1, 300, "bob")]
    assert holders_over(1, 600, moves) == {"bob": 300, "alice": 300}
    assert holders_over(601, 900, moves) == {ISSUER: 300}
    r = _request(ALICE, TRANSFER, "gc-1", BundleRange(1, 300), BOB)
    with pytest.raises(MalformedRecord, match="not what its holder's request asks"):
        Claim("t", "transferred", "prog-2026", CLAIMED_AT, ref="gc-1",
              bundle=BundleRange(1, 301), account=account_of(BOB), request=r)
    with pytest.raises(MalformedRecord, match="this key is account"):
        sign_request(r, BOB)


def test_the_replay_refuses_a_request_used_twice() -> None:
    """Alice → Bob, Bob → Alice, then Alice's first request again: the ids are Alice's once
    more, but her signed request was used; the evidence replay refuses it too."""
    m = _Market()
    back = _request(BOB, TRANSFER, "gc-1", m.half, ALICE)
    _move(m.log, "t-3", "gc-1", m.half, account_of(ALICE), back)
    first = Claim.from_dict(json.loads(m.log.entries[-2])).request
    assert first is not None and first.holder == account_of(ALICE)
    _move(m.log, "t-4", "gc-1", m.half, account_of(BOB), first)
    replay = LedgerReplay(m.log.signer.verifier.public_key)
    with pytest.raises(EntryProblem, match="already used by the claim of entry") as caught:
        for entry in m.log.entries:
            replay.add(entry)
    assert isinstance(caught.value.__cause__, DoubleClaim)
    assert caught.value.index == len(m.log.entries) - 1
