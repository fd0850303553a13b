"""Interoperability of our eddsa-jcs-2022 credentials with an independent implementation.

Digital Bazaar's JavaScript cryptosuite (npm ``@digitalbazaar/eddsa-jcs-2022-cryptosuite`` with
``@digitalbazaar/data-integrity`` and ``jsonld-signatures``; tests/interop/vc_jcs_tool.py
installs it) accepts every kind of credential we issue, resolving the issuer's key from our DID
document, and refuses a tampered one; we accept what it signs for our issuer, and for the same
key, document and time both produce the same proof byte for byte (Ed25519 is deterministic).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from eco_protocol.credentials import check_credential, points_statement
from eco_protocol.data_integrity import add_proof, verify_proof
from eco_protocol.did import did_key, did_key_method_id, multikey
from eco_protocol.keys import private_key_raw, public_key_raw
from eco_protocol.multibase import encode_base58btc
from tests.interop.vc_jcs_kit import call, install
from tests.protocol.certificate_credential_kit import certificate
from tests.protocol.credential_kit import NOW, Town

TOWN = Town()
CREATED = "2026-12-01T00:00:00Z"


@pytest.fixture(scope="module")
def node() -> str:
    return install()


def _documents() -> dict[str, Any]:
    return {TOWN.did: TOWN.document()}


def _kinds() -> dict[str, dict[str, Any]]:
    return {"points": TOWN.points(), "points with history": TOWN.points(
                history=[{"month": "2026-11", "earned": 300}]),
            "summary": TOWN.summary(), "enrolment": TOWN.enrolment(),
            "status list": TOWN.status_list((7,)),
            "certificate bundle": certificate(TOWN),
            "earlier key": TOWN.sign(points_statement(TOWN.did, "hh-1", 5,
                                                      "2026-03-01T00:00:00Z", {}),
                                     "2026-03-01T00:00:00Z", old=True)}


@pytest.mark.parametrize("kind", list(_kinds()))
def test_the_independent_verifier_accepts_what_we_issue(node: str, kind: str) -> None:
    answer = call(node, {"op": "verify", "credential": _kinds()[kind], "documents": _documents()})
    assert answer == {"verified": True, "error": None}


def test_the_independent_verifier_refuses_what_was_changed(node: str) -> None:
    cred = TOWN.points()
    cred["credentialSubject"]["balance"] += 1
    answer = call(node, {"op": "verify", "credential": cred, "documents": _documents()})
    assert answer["verified"] is False and answer["error"]
    raised = certificate(TOWN)
    raised["credentialSubject"]["certificate"]["bundle_quantity"] += 1
    answer = call(node, {"op": "verify", "credential": raised, "documents": _documents()})
    assert answer["verified"] is False and answer["error"]
    wrong_context = copy.deepcopy(TOWN.points())
    wrong_context["@context"] = ["https://www.w3.org/ns/credentials/v2"]
    answer = call(node, {"op": "verify", "credential": wrong_context, "documents": _documents()})
    assert answer["verified"] is False


def _town_key() -> dict[str, str]:
    raw = public_key_raw(TOWN.key)
    return {"type": "Multikey", "id": f"{TOWN.did}#log-2", "controller": TOWN.did,
            "publicKeyMultibase": multikey(raw),
            # multicodec ed25519-priv (0x8026) and the 32-byte seed, as the vc-di-eddsa key pair
            "secretKeyMultibase": encode_base58btc(b"\x80\x26" + private_key_raw(TOWN.key))}


def test_we_accept_what_the_independent_signer_issues(node: str) -> None:
    unsigned = points_statement(TOWN.did, "hh-10a2915c36ceeb3d1f15", 1250, CREATED,
                                {"origin": "eco-ledger.example-city.lg.jp", "size": 1049})
    theirs = call(node, {"op": "sign", "credential": unsigned, "key": _town_key(),
                         "created": CREATED, "documents": _documents()})["signed"]
    verdict = check_credential(theirs, _documents(), {}, NOW)
    assert verdict.kind == "points statement" and verdict.subject == "hh-10a2915c36ceeb3d1f15"
    ours = add_proof(unsigned, TOWN.key, f"{TOWN.did}#log-2", CREATED)
    assert theirs == ours  # same proof options, same @context handling, same signature


def test_a_did_key_issuer_interoperates_both_ways(node: str) -> None:
    issuer = did_key(public_key_raw(TOWN.key))
    method = did_key_method_id(issuer)
    unsigned = points_statement(issuer, "hh-1", 7, CREATED, {})
    key = {**_town_key(), "id": method, "controller": issuer}
    document = {"@context": ["https://www.w3.org/ns/did/v1",
                             "https://w3id.org/security/multikey/v1"],
                "id": issuer, "assertionMethod": [method],
                "verificationMethod": [{k: v for k, v in key.items()
                                        if k != "secretKeyMultibase"}]}
    theirs = call(node, {"op": "sign", "credential": unsigned, "key": key, "created": CREATED,
                         "documents": {issuer: document}})["signed"]
    assert verify_proof(theirs, public_key_raw(TOWN.key))
    assert check_credential(theirs, {}, {}, NOW).issuer == issuer
    ours = add_proof(unsigned, TOWN.key, method, CREATED)
    assert call(node, {"op": "verify", "credential": ours,
                       "documents": {issuer: document}})["verified"] is True
