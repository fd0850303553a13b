"""eco_protocol.data_integrity: the W3C vc-di-eddsa eddsa-jcs-2022 vectors byte for byte, and what
a verifier refuses (a changed document, proof or context; another key; proof sets)."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.data_integrity import add_proof, hash_data, proof_of, verify_proof
from eco_protocol.did import public_from_multikey, resolve_method
from eco_protocol.errors import CredentialError
from eco_protocol.keys import private_key_from_raw, public_key_raw
from eco_protocol.multibase import decode_base58btc

V = json.loads((Path(__file__).parent.parent / "vectors" / "vc_di_eddsa_jcs_2022.json")
               .read_text("utf-8"))
SECRET = decode_base58btc(V["key_pair"]["privateKeyMultibase"], "vector")
KEY = private_key_from_raw(SECRET[2:])
PUBLIC = public_from_multikey(V["key_pair"]["publicKeyMultibase"])
OPTIONS = V["proof_options"]


def _sign(doc: dict[str, Any] | None = None) -> dict[str, Any]:
    return add_proof(doc if doc is not None else V["unsigned"], KEY,
                     OPTIONS["verificationMethod"], OPTIONS["created"], OPTIONS["proofPurpose"])


def test_the_private_key_multibase_is_ed25519_priv_of_the_public_key() -> None:
    assert SECRET[:2] == b"\x80\x26" and len(SECRET) == 34  # multicodec ed25519-priv
    assert public_key_raw(KEY) == PUBLIC


def test_canonical_document_and_proof_configuration_are_the_published_bytes() -> None:
    assert canonical_bytes(V["unsigned"]) == V["canonical_document"].encode("utf-8")
    config = {**OPTIONS, "@context": V["unsigned"]["@context"]}
    assert canonical_bytes(config) == V["canonical_proof_config"].encode("utf-8")
    assert hashlib.sha256(V["canonical_document"].encode()).hexdigest() == V["document_hash"]
    assert hashlib.sha256(V["canonical_proof_config"].encode()).hexdigest() == \
        V["proof_config_hash"]
    assert hash_data(V["unsigned"], config).hex() == V["combined_hash"]
    assert V["combined_hash"] == V["proof_config_hash"] + V["document_hash"]


def test_add_proof_reproduces_the_published_signature_and_signed_credential() -> None:
    signed = _sign()
    assert signed["proof"]["proofValue"] == V["proof_value"]
    assert decode_base58btc(V["proof_value"], "vector").hex() == V["signature"]
    assert signed == V["signed"]
    assert list(signed["proof"]) == list(V["signed"]["proof"])  # the spec's order, too
    assert "proof" not in V["unsigned"]  # the input is not changed


def test_the_published_credentials_verify() -> None:
    method = V["signed"]["proof"]["verificationMethod"]
    assert verify_proof(V["signed"], resolve_method({}, method)) == V["signed"]["proof"]
    # the earlier draft's vector: same key and proof, verificationMethod an https URL
    assert verify_proof(V["earlier_draft_signed"], PUBLIC)["proofValue"].startswith("z63t")


def _changed(path: tuple[str, ...], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(V["signed"])
    target = doc
    for p in path[:-1]:
        target = target[p]
    target[path[-1]] = value
    return doc


@pytest.mark.parametrize("path, value", [
    (("credentialSubject", "alumniOf"), "Another School"),
    (("validFrom",), "2023-01-01T00:00:01Z"),
    (("issuer",), "https://vc.example/issuers/9999"),
    (("proof", "created"), "2023-02-24T23:36:39Z"),
    (("proof", "proofPurpose"), "authentication"),
    (("proof", "verificationMethod"), "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
                                      "#z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"),
])
def test_any_change_to_the_document_or_proof_breaks_the_signature(path: tuple[str, ...],
                                                                  value: Any) -> None:
    with pytest.raises(CredentialError, match="does not verify .*changed after signing"):
        verify_proof(_changed(path, value), PUBLIC)


def test_another_key_does_not_verify() -> None:
    with pytest.raises(CredentialError, match="does not verify"):
        verify_proof(V["signed"],
                     public_from_multikey("z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"))


def test_a_context_the_proof_did_not_sign_is_refused() -> None:
    doc = _changed(("@context",), ["https://www.w3.org/ns/credentials/v2"])
    with pytest.raises(CredentialError, match="does not start with the proof's"):
        verify_proof(doc, PUBLIC)
    # appending a context after the signed ones is allowed by §3.3.2 step 4 and hashed away
    more = _changed(("@context",), [*V["signed"]["@context"], "https://example.org/extra"])
    assert verify_proof(more, PUBLIC)


def test_a_document_without_context_is_signed_without_one() -> None:
    plain = {"id": "urn:example:1", "value": 7}
    signed = _sign(plain)
    assert "@context" not in signed["proof"]
    assert verify_proof(signed, PUBLIC)


@pytest.mark.parametrize("proof, why", [
    (None, "not signed"),
    ([{"type": "DataIntegrityProof"}], "proof set"),
    ({"type": "Ed25519Signature2020"}, "expected DataIntegrityProof"),
    ({"type": "DataIntegrityProof", "cryptosuite": "eddsa-rdfc-2022"}, "eddsa-jcs-2022"),
])
def test_what_is_not_one_eddsa_jcs_2022_proof_is_named(proof: Any, why: str) -> None:
    doc = {**V["unsigned"], **({"proof": proof} if proof is not None else {})}
    with pytest.raises(CredentialError, match=why):
        proof_of(doc)


def test_a_malformed_proof_value_is_named() -> None:
    short = _changed(("proof", "proofValue"), "z" + "1" * 10)
    with pytest.raises(CredentialError, match="64 bytes"):
        verify_proof(short, PUBLIC)
    with pytest.raises(CredentialError, match="base58btc"):
        verify_proof(_changed(("proof", "proofValue"), "u" + "A" * 86), PUBLIC)
    with pytest.raises(CredentialError, match="proof.created"):
        verify_proof(_changed(("proof", "created"), "yesterday"), PUBLIC)


def test_signing_twice_is_refused_and_options_are_checked() -> None:
    with pytest.raises(CredentialError, match="already has a proof"):
        _sign(V["signed"])
    with pytest.raises(CredentialError, match="DID#fragment"):
        add_proof(V["unsigned"], KEY, "did:key:z6Mk", OPTIONS["created"])
    with pytest.raises(CredentialError, match="date-time"):
        add_proof(V["unsigned"], KEY, OPTIONS["verificationMethod"], "2023-02-24")
