"""eco_protocol.did: did:key (the W3C CCG did:key Ed25519 vectors), did:web URLs (the did:web
method's examples), DID documents across a log key change, and offline method resolution."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eco_protocol.did import (
    DidKey,
    did_document,
    did_key,
    did_key_method_id,
    did_web,
    did_web_url,
    multikey,
    public_from_did_key,
    public_from_multikey,
    resolve_method,
)
from eco_protocol.errors import CredentialError, InvalidInput, ProtocolError
from eco_protocol.keys import private_key_from_raw, public_key_raw
from eco_protocol.multibase import (
    base58_decode,
    base58_encode,
    decode_base58btc,
    decode_base64url,
    encode_base58btc,
    encode_base64url,
)

VECTORS = Path(__file__).parent.parent / "vectors"
DID_KEY = json.loads((VECTORS / "did_key_ed25519.json").read_text("utf-8"))["vectors"]
DID_WEB = json.loads((VECTORS / "did_web_urls.json").read_text("utf-8"))["vectors"]
JCS = json.loads((VECTORS / "vc_di_eddsa_jcs_2022.json").read_text("utf-8"))

TOWN = did_web("eco-ledger.example-city.lg.jp")
OLD, NEW = bytes(range(32)), bytes(range(1, 33))


@pytest.mark.parametrize("v", DID_KEY, ids=[v["seed"][-2:] for v in DID_KEY])
def test_did_key_of_each_spec_seed_is_the_published_one(v: dict[str, str]) -> None:
    public = public_key_raw(private_key_from_raw(bytes.fromhex(v["seed"])))
    assert public == base58_decode(v["publicKeyBase58"], "vector")
    assert did_key(public) == v["did"]
    assert did_key_method_id(v["did"]) == v["verification_method"]
    assert public_from_did_key(v["did"]) == public
    assert resolve_method({}, v["verification_method"]) == public


def test_the_vc_di_eddsa_key_pair_is_a_multikey() -> None:
    pair = JCS["key_pair"]
    public = public_from_multikey(pair["publicKeyMultibase"])
    assert multikey(public) == pair["publicKeyMultibase"]
    assert pair["publicKeyMultibase"].startswith("z6Mk")


@pytest.mark.parametrize("v", DID_WEB, ids=[v["did"] for v in DID_WEB])
def test_did_web_url_follows_the_method_examples(v: dict[str, str]) -> None:
    assert did_web_url(v["did"]) == v["url"]


def test_did_web_builds_the_identifiers_of_the_examples() -> None:
    assert did_web("w3c-ccg.github.io") == DID_WEB[0]["did"]
    assert did_web("w3c-ccg.github.io", "user", "alice") == DID_WEB[1]["did"]
    assert did_web("example.com:3000") == DID_WEB[2]["did"]
    assert did_web("example.com:3000", "user", "alice") == DID_WEB[3]["did"]


@pytest.mark.parametrize("bad", ["", "-x.example", "a b.example", "host/path"])
def test_did_web_refuses_a_host_that_is_not_a_domain(bad: str) -> None:
    with pytest.raises(CredentialError, match="did:web host"):
        did_web(bad)


@pytest.mark.parametrize("bad", ["did:key:z6Mk", "did:web:", "did:web:a.example::x",
                                 "did:web:a.example#k", "https://a.example"])
def test_did_web_url_refuses_what_is_not_a_did_web(bad: str) -> None:
    with pytest.raises(CredentialError):
        did_web_url(bad)


@given(st.binary(max_size=80))
def test_multibase_round_trips_any_bytes(data: bytes) -> None:
    assert decode_base58btc(encode_base58btc(data) if data else "z1", "x") == (data or b"\0")
    assert decode_base64url(encode_base64url(data), "x") == data


@given(st.binary(min_size=32, max_size=32))
def test_every_ed25519_key_round_trips_through_did_key(raw: bytes) -> None:
    assert public_from_did_key(did_key(raw)) == raw
    assert did_key(raw).startswith("did:key:z6Mk")


def test_base64url_refuses_padding_and_other_prefixes() -> None:
    for bad in ("uAA==", "zAAAA", "u" + "A", "uA+/B"):
        with pytest.raises(CredentialError):
            decode_base64url(bad, "x")


def test_base58_keeps_leading_zero_bytes() -> None:
    for data in (b"", b"\0", b"\0\0\x01", bytes(32), b"\xff" * 33):
        assert base58_decode(base58_encode(data) or "1", "x") == (data or b"\0")


@pytest.mark.parametrize("value, why", [
    ("6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ2", "base58btc"),  # no multibase prefix
    ("z6MkrJVnaZkeFzdQyMZu1cgjg7k1pZZ6pvBQ7XJPt4swbTQ0", "not a base58btc character"),
    ("z6LShs9GGnqk85isEBzzshkuVWrVKsRp24GnDuHk8QWkARMW", "not an Ed25519 key"),  # X25519
    (encode_base58btc(b"\xed\x01" + bytes(31)), "32 bytes"),
])
def test_a_multikey_that_is_not_an_ed25519_key_is_refused(value: str, why: str) -> None:
    with pytest.raises(CredentialError, match=why):
        public_from_multikey(value)


def test_did_key_refuses_a_fragment_or_another_method() -> None:
    vm = DID_KEY[0]["verification_method"]
    with pytest.raises(CredentialError, match="one Multikey"):
        public_from_did_key(vm)
    with pytest.raises(CredentialError, match="not a did:key"):
        public_from_did_key(TOWN)
    other = DID_KEY[1]["did"].split(":")[2]
    with pytest.raises(CredentialError, match="has one method"):
        resolve_method({}, f"{DID_KEY[0]['did']}#{other}")


def test_credential_errors_are_protocol_errors_to_reject() -> None:
    assert issubclass(CredentialError, InvalidInput)
    assert issubclass(CredentialError, ProtocolError)


def _town_document() -> dict[str, Any]:
    return did_document(TOWN, [
        DidKey("log-1", OLD, "2026-01-01T00:00:00Z", "2026-07-01T00:00:00Z"),
        DidKey("log-2", NEW, "2026-07-01T00:00:00Z"),
    ])


def test_the_did_document_lists_every_key_as_a_multikey_assertion_method() -> None:
    doc = _town_document()
    assert doc["@context"][:2] == ["https://www.w3.org/ns/did/v1",
                                   "https://w3id.org/security/multikey/v1"]
    assert doc["id"] == TOWN
    assert doc["assertionMethod"] == [f"{TOWN}#log-1", f"{TOWN}#log-2"]
    old, new = doc["verificationMethod"]
    assert old == {"id": f"{TOWN}#log-1", "type": "Multikey", "controller": TOWN,
                   "publicKeyMultibase": multikey(OLD), "validFrom": "2026-01-01T00:00:00Z",
                   "expires": "2026-07-01T00:00:00Z"}
    assert "expires" not in new and new["publicKeyMultibase"] == multikey(NEW)


def test_an_earlier_key_still_checks_what_it_signed_before_the_change() -> None:
    doc = _town_document()
    assert resolve_method(doc, f"{TOWN}#log-1", at="2026-03-01T00:00:00Z") == OLD
    assert resolve_method(doc, f"{TOWN}#log-2", at="2026-07-01T00:00:00Z") == NEW
    assert resolve_method(doc, f"{TOWN}#log-1") == OLD  # no time: the key alone
    with pytest.raises(CredentialError, match="expires 2026-07-01T00:00:00Z"):
        resolve_method(doc, f"{TOWN}#log-1", at="2026-07-01T00:00:00Z")
    with pytest.raises(CredentialError, match="not yet in use"):
        resolve_method(doc, f"{TOWN}#log-2", at="2026-06-30T23:59:59Z")


def test_a_method_the_document_does_not_list_for_assertion_is_refused() -> None:
    doc = _town_document()
    with pytest.raises(CredentialError, match="not listed in the DID document"):
        resolve_method(doc, f"{TOWN}#log-3")
    doc["assertionMethod"] = [f"{TOWN}#log-2"]
    with pytest.raises(CredentialError, match="not listed under assertionMethod"):
        resolve_method(doc, f"{TOWN}#log-1")
    with pytest.raises(CredentialError, match="is for"):
        resolve_method(doc, "did:web:elsewhere.example#log-2")


def test_relative_method_ids_and_revoked_keys_are_understood() -> None:
    doc = _town_document()
    doc["verificationMethod"][1]["id"] = "#log-2"
    doc["assertionMethod"][1] = "#log-2"
    assert resolve_method(doc, f"{TOWN}#log-2") == NEW
    doc["verificationMethod"][1]["revoked"] = "2026-08-01T00:00:00Z"
    with pytest.raises(CredentialError, match="revoked"):
        resolve_method(doc, f"{TOWN}#log-2", at="2026-09-01T00:00:00Z")


def test_an_embedded_method_resolves_and_a_duplicate_is_refused() -> None:
    doc = _town_document()
    embedded = doc["verificationMethod"].pop()
    doc["assertionMethod"][1] = embedded
    assert resolve_method(doc, f"{TOWN}#log-2") == NEW
    doc["verificationMethod"].append(embedded)
    with pytest.raises(CredentialError, match="listed more than once"):
        resolve_method(doc, f"{TOWN}#log-2")


def test_did_key_validity_is_checked_when_built() -> None:
    with pytest.raises(CredentialError, match="is not after"):
        DidKey("k", OLD, "2026-07-01T00:00:00Z", "2026-07-01T00:00:00Z")
    with pytest.raises(CredentialError, match="fragment"):
        DidKey("a#b", OLD, "2026-07-01T00:00:00Z")
    with pytest.raises(CredentialError, match="unique"):
        did_document(TOWN, [DidKey("k", OLD, "2026-01-01T00:00:00Z"),
                            DidKey("k", NEW, "2026-01-01T00:00:00Z")])
