"""Issue 20, the certificate kind: ``eco-aggregator credential certificate`` issues a certificate
bundle as a Verifiable Credential from a real signed log with issued certificates, and the
buyer checks it offline — alone with the cached DID document, and against the export's offline
proof (``eco-verify credential --certificates``).

What must hold: the credential carries the bundle byte for byte as the export writes it (its
SHA-256 names the entry of bundles.json), its holders and cancellations as the log has them at
the checkpoint it names, pseudonyms only; a raised face value or a changed holder is refused; a
bundle cancelled by a buyer says by whom, for which period and beneficiary; a credential that
disagrees with the export is refused with the difference named."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.cli import main as aggregator_main
from eco_protocol.accounts import account_of
from eco_protocol.canonical import canonical_bytes
from eco_protocol.certificate_credential import cross_check, log_key_of
from eco_protocol.certificate_proofs import verify_certificate_proofs
from eco_protocol.credentials import check_credential
from eco_protocol.errors import CredentialError
from eco_protocol.verify_cli import main as verify_main
from tests.aggregator.certificate_credential_kit import (
    CANCEL,
    DID,
    TRANSFER,
    CertTown,
    cert_town,
    ids_of,
)

NOW = "2030-01-01T00:00:00Z"  # after every proof made today: the check is offline, any time


@pytest.fixture
def town(tmp_path: Path) -> CertTown:
    return cert_town(tmp_path)


def _check(town: CertTown, cred: dict[str, Any]) -> Any:
    doc = town.did_document()
    return check_credential(cred, {DID: doc}, {}, NOW)


def _verify(tmp: Path, town: CertTown, cred: dict[str, Any], *extra: str,
            capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``eco-verify credential`` as the buyer runs it, on files."""
    (tmp / "cred.json").write_text(json.dumps(cred, ensure_ascii=False), "utf-8")
    (tmp / "did.json").write_text(json.dumps(town.did_document()), "utf-8")
    capsys.readouterr()
    rc = verify_main(["credential", str(tmp / "cred.json"), "--did-document",
                      str(tmp / "did.json"), "--at", NOW, *extra])
    out, err = capsys.readouterr()
    return rc, out, err


def test_a_bundle_credential_names_its_export_and_verifies_offline(town: CertTown,
                                                                   tmp_path: Path) -> None:
    rows = town.bundles()
    assert len(rows) >= 2 and {r["household"] for r in rows} == {"hh-0", "hh-1"}
    row = rows[0]
    cred = town.credential(row["issuance_id"])
    verdict = _check(town, cred)
    assert verdict.kind == "certificate bundle" and verdict.issuer == DID
    assert verdict.subject == row["issuance_id"] and not verdict.revoked
    s = cred["credentialSubject"]
    assert cred["type"] == ["VerifiableCredential", "EcoCertificateBundleCredential"]
    assert s["status"] == "held" and s["holder"] == DID and s["cancellations"] == []
    assert s["holders"] == [{"account": DID, "quantity": row["face_value_wh"]}]
    assert s["checkpoint"]["size"] == town.cli("status")["checkpoint"]["size"]
    assert s["meteringDevices"] and all(d.startswith("did:key:z6Mk")
                                        for d in s["meteringDevices"])
    cert = s["certificate"]
    assert (cert["bundle_quantity"], cert["device_id"]) == (row["face_value_wh"], "hh-0")
    assert ids_of(row) == (cert["certificate_bundle_id_range_start"],
                           cert["certificate_bundle_id_range_end"])

    # the bundle is the export's, byte for byte (the credential's SHA-256 names it)
    town.export(tmp_path / "export")
    exported = json.loads((tmp_path / "export" / "bundles.json").read_text())["bundles"]
    mine = next(b for b in exported if b["issuance_id"] == row["issuance_id"])
    assert mine == cert
    assert hashlib.sha256(canonical_bytes(mine)).hexdigest() == s["bundleSha256"]
    assert any("JST" in line for line in verdict.summary)  # the hour as a person in Japan reads


def test_a_raised_face_value_or_a_changed_holder_is_refused(town: CertTown) -> None:
    cred = town.credential(town.bundles()[0]["issuance_id"])
    raised = copy.deepcopy(cred)
    raised["credentialSubject"]["certificate"]["bundle_quantity"] += 100
    raised["credentialSubject"]["certificate"]["certificate_bundle_id_range_end"] += 100
    thief = account_of(Ed25519PrivateKey.generate())
    moved = copy.deepcopy(cred)
    moved["credentialSubject"]["holder"] = thief
    moved["credentialSubject"]["holders"][0]["account"] = thief
    for forged in (raised, moved):
        with pytest.raises(CredentialError, match="does not verify"):
            _check(town, forged)
    named = copy.deepcopy(cred)
    named["credentialSubject"]["certificate"]["name"] = "Sato Hanako"
    with pytest.raises(CredentialError, match="name"):
        _check(town, named)


def test_a_cancelled_bundle_says_by_whom_for_which_period(town: CertTown) -> None:
    alice, bob = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    first_row, second_row = town.bundles()[:2]
    ref = first_row["issuance_id"]
    first, last = ids_of(first_row)
    half = first + (last - first) // 2
    town.assign(ref, first, last, account_of(alice))
    assert town.credential(ref)["credentialSubject"]["status"] == "transferred"
    town.request(alice, TRANSFER, ref, first, half, to=account_of(bob))
    town.request(bob, CANCEL, ref, first, half,
                 period=("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"),
                 beneficiary="Example Steel Co.")
    s = town.credential(ref)["credentialSubject"]
    assert s["status"] == "partly_cancelled" and "holder" not in s
    assert sorted((h["account"], h["quantity"]) for h in s["holders"]) == sorted(
        [(account_of(bob), half - first + 1), (account_of(alice), last - half)])
    assert s["cancellations"] == [{
        "account": account_of(bob), "firstId": first, "lastId": half,
        "quantity": half - first + 1, "beneficiary": "Example Steel Co.",
        "consumptionPeriod": {"start": "2026-11-01T00:00:00Z", "end": "2026-12-01T00:00:00Z"}}]

    # a whole bundle sold and cancelled by its buyer: cancelled, by that account
    ref2 = second_row["issuance_id"]
    a, b = ids_of(second_row)
    town.assign(ref2, a, b, account_of(alice))
    town.request(alice, CANCEL, ref2, a, b,
                 period=("2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"), beneficiary="Alice")
    cred = town.credential(ref2)
    s = cred["credentialSubject"]
    assert s["status"] == "cancelled" and s["holder"] == account_of(alice)
    assert [c["account"] for c in s["cancellations"]] == [account_of(alice)]
    lines = _check(town, cred).summary
    assert any(line.startswith("status: cancelled") for line in lines)
    assert any(f"cancelled by {account_of(alice)} for consumption 2026-11-22 09:00 JST – "
               "2026-11-23 09:00 JST, beneficiary Alice" in line for line in lines)


def test_the_credential_is_tied_to_the_exports_offline_proof(
        town: CertTown, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    alice = Ed25519PrivateKey.generate()
    rows = town.bundles("hh-0")
    ref = rows[0]["issuance_id"]
    first, last = ids_of(rows[0])
    town.assign(ref, first, last, account_of(alice))
    town.request(alice, CANCEL, ref, first, first + 9,
                 period=("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"), beneficiary="X Co.")
    cred = town.credential(ref)
    town.export(tmp_path / "export")

    rc, out, err = _verify(tmp_path, town, cred, "--certificates",
                           str(tmp_path / "export"), capsys=capsys)
    assert rc == 0, out + err
    assert out.startswith(f"VALID — certificate bundle about {ref}")
    assert "the credential's bundle is in it byte for byte" in out
    assert "holders and cancellations are the log's at the same checkpoint" in out

    # the log moves on: the same credential is compared on the bundle only, and says why
    town.request(alice, CANCEL, ref, first + 10, first + 19,
                 period=("2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z"), beneficiary="Y Co.")
    town.export(tmp_path / "later")
    rc, out, err = _verify(tmp_path, town, cred, "--certificates", str(tmp_path / "later"),
                           capsys=capsys)
    assert rc == 0, out + err
    assert "holders not compared" in out

    # a credential made now is at the later export's checkpoint: compared in full
    newer = town.credential(ref)
    rc, out, err = _verify(tmp_path, town, newer, "--certificates", str(tmp_path / "later"),
                           capsys=capsys)
    assert rc == 0 and "holders and cancellations are the log's" in out, out + err
    # what the cross-check refuses, had the issuer signed other holders or cancellations
    check = verify_certificate_proofs(
        json.loads((tmp_path / "later" / "bundles.json").read_text()),
        json.loads((tmp_path / "later" / "proofs.json").read_text()),
        log_key_of(newer, {DID: town.did_document()}))
    exported = json.loads((tmp_path / "later" / "bundles.json").read_text())["bundles"]
    s = newer["credentialSubject"]
    assert cross_check(s, DID, exported, check.bundles, check.checkpoint.size) == []
    other_holder = copy.deepcopy(s)
    other_holder["holder"] = other_holder["holders"][0]["account"] = \
        account_of(Ed25519PrivateKey.generate())
    other_period = copy.deepcopy(s)
    other_period["cancellations"][1]["consumptionPeriod"]["end"] = "2027-01-01T00:00:00Z"
    for wrong, says in ((other_holder, "held by"), (other_period, "cancellations")):
        (problem,) = cross_check(wrong, DID, exported, check.bundles, check.checkpoint.size)
        assert problem.startswith(f"bundle {ref}: {says}")
    # an export that lacks this bundle, or whose bundle was edited: refused, saying what
    other = town.bundles("hh-1")[0]["issuance_id"]
    town.cli("certificates", "export", "--out", str(tmp_path / "hh1"), "--household", "hh-1")
    rc, out, err = _verify(tmp_path, town, cred, "--certificates", str(tmp_path / "hh1"),
                           capsys=capsys)
    assert rc == 1 and out == ""
    assert err.startswith("INVALID — the credential says something about the bundle")
    assert f"bundle {ref}: not in the export (it holds {other}" in err
    edited = json.loads((tmp_path / "export" / "bundles.json").read_text())
    edited["bundles"][0]["bundle_quantity"] += 5
    (tmp_path / "export" / "bundles.json").write_text(json.dumps(edited))
    rc, _, err = _verify(tmp_path, town, cred, "--certificates", str(tmp_path / "export"),
                         capsys=capsys)
    assert rc == 1 and err.startswith("INVALID — the certificate export given with "
                                      "--certificates does not check")


def test_an_unknown_issuance_is_refused_naming_the_command(
        town: CertTown, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert aggregator_main(["--config", str(town.conf), "credential", "certificate",
                            "gc:nope"]) == 1
    err = capsys.readouterr().err
    assert "no certificate bundle gc:nope was issued" in err
    assert "eco-aggregator certificates list" in err
