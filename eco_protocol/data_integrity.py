"""W3C Data Integrity proofs with the ``eddsa-jcs-2022`` cryptosuite (vc-di-eddsa v1.0 §3.3).

Why this suite: it is Ed25519 over RFC 8785 canonical JSON — the two primitives every signature
of this project already uses (:mod:`eco_protocol.canonical`, :mod:`eco_protocol.keys`) — so a
credential can be checked by any conforming verifier without a JSON-LD processor and without
fetching a context: the ``@context`` values are signed as plain strings.

The algorithm, exactly as the specification gives it:

- *proof configuration*: the proof options (``type`` ``DataIntegrityProof``, ``cryptosuite``
  ``eddsa-jcs-2022``, ``created``, ``verificationMethod``, ``proofPurpose``) plus, when the
  document has one, the document's ``@context``; canonicalised with RFC 8785;
- *transformation*: the document without ``proof``, canonicalised with RFC 8785;
- *hashing*: SHA-256(canonical proof configuration) ‖ SHA-256(canonical document);
- *serialisation*: Ed25519 over those 64 bytes; ``proofValue`` is multibase base58btc.

On verification the proof's ``@context`` must be a prefix of the document's and replaces it
before hashing (§3.3.2 step 4). One proof per document: proof sets and chains are refused.
Pure; errors are :class:`~eco_protocol.errors.CredentialError` naming what and where.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any, Final

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from .canonical import canonical_bytes
from .errors import BadSignature, CredentialError, MalformedRecord
from .keys import public_key_from_raw, verify_signature
from .multibase import decode_base58btc, encode_base58btc
from .timestamps import parse_datetime

PROOF_TYPE: Final = "DataIntegrityProof"
CRYPTOSUITE: Final = "eddsa-jcs-2022"


def proof_options(method_id: str, created: str,
                  purpose: str = "assertionMethod") -> dict[str, Any]:
    """The proof options this project signs with (no ``@context`` yet: see :func:`hash_data`)."""
    parse_datetime(created, "proof.created")
    if not isinstance(method_id, str) or "#" not in method_id:
        raise CredentialError.coded("eco_protocol.finding.di.method", id=repr(method_id))
    return {"type": PROOF_TYPE, "cryptosuite": CRYPTOSUITE, "created": created,
            "verificationMethod": method_id, "proofPurpose": purpose}


def _canonical(value: Mapping[str, Any], what: str) -> bytes:
    try:
        return canonical_bytes(dict(value))
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.field", field=what, error=e) from e


def hash_data(unsecured: Mapping[str, Any], proof_config: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical proof configuration ‖ SHA-256 of the canonical document (§3.3.4).

    ``proof_config`` is used as given: the caller has already set its ``@context``."""
    return (hashlib.sha256(_canonical(proof_config, "proof configuration")).digest()
            + hashlib.sha256(_canonical(unsecured, "document")).digest())


def add_proof(unsigned: Mapping[str, Any], private_key: Ed25519PrivateKey, method_id: str,
              created: str, purpose: str = "assertionMethod") -> dict[str, Any]:
    """The document with an ``eddsa-jcs-2022`` proof by ``private_key`` (§3.3.1 Create Proof)."""
    if "proof" in unsigned:
        raise CredentialError.coded("eco_protocol.finding.di.has_proof")
    proof = proof_options(method_id, created, purpose)
    if "@context" in unsigned:
        proof["@context"] = unsigned["@context"]
    signature = private_key.sign(hash_data(unsigned, proof))
    return {**unsigned, "proof": {**proof, "proofValue": encode_base58btc(signature)}}


def proof_of(secured: Mapping[str, Any]) -> Mapping[str, Any]:
    """The document's one eddsa-jcs-2022 proof, its shape checked (not its signature)."""
    proof = secured.get("proof")
    if isinstance(proof, list):
        raise CredentialError.coded("eco_protocol.finding.di.proof_set")
    if not isinstance(proof, Mapping):
        raise CredentialError.coded("eco_protocol.finding.di.no_proof")
    if proof.get("type") != PROOF_TYPE or proof.get("cryptosuite") != CRYPTOSUITE:
        raise CredentialError.coded("eco_protocol.finding.di.suite", type=repr(proof.get("type")),
                                    suite=repr(proof.get("cryptosuite")), want=PROOF_TYPE,
                                    want_suite=CRYPTOSUITE)
    for name in ("verificationMethod", "proofPurpose", "proofValue"):
        if not isinstance(proof.get(name), str):
            raise CredentialError.coded("eco_protocol.finding.di.member", name=name)
    if "created" in proof:
        parse_datetime(proof["created"], "proof.created")
    if "expires" in proof:
        parse_datetime(proof["expires"], "proof.expires")
    return proof


def verify_proof(secured: Mapping[str, Any], public_key: bytes) -> Mapping[str, Any]:
    """Check the document's ``eddsa-jcs-2022`` proof under ``public_key`` (§3.3.2); return the
    proof. Which key is right for the proof's ``verificationMethod`` is the caller's question
    (:func:`eco_protocol.did.resolve_method`)."""
    proof = proof_of(secured)
    unsecured = {k: v for k, v in secured.items() if k != "proof"}
    options = {k: v for k, v in proof.items() if k != "proofValue"}
    signature = decode_base58btc(proof["proofValue"], "proof.proofValue")
    if len(signature) != 64:
        raise CredentialError.coded("eco_protocol.finding.di.sig_length", n=len(signature))
    if "@context" in options:
        ctx, doc_ctx = options["@context"], secured.get("@context")
        as_list = ctx if isinstance(ctx, list) else [ctx]
        doc_list = doc_ctx if isinstance(doc_ctx, list) else [doc_ctx]
        if doc_list[:len(as_list)] != as_list:
            raise CredentialError.coded("eco_protocol.finding.di.context")
        unsecured["@context"] = ctx
    try:
        key = public_key_from_raw(public_key)
        verify_signature(key, signature, hash_data(unsecured, options), "proof.proofValue")
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.di.key", error=e) from e
    except BadSignature as e:
        raise CredentialError.coded("eco_protocol.credential.err.signature",
                                    method=proof["verificationMethod"]) from e
    return proof
