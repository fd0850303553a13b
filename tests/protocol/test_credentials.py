"""eco_protocol.credentials: the three credentials people carry, the Bitstring Status List (the
W3C example byte for byte) and the offline check — what it accepts, and each refusal named."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.credentials import (
    MIN_STATUS_BITS,
    check_credential,
    points_statement,
    report_summary,
    status_list_credential,
    status_revoked,
)
from eco_protocol.data_integrity import add_proof, hash_data, verify_proof
from eco_protocol.did import did_key, did_key_method_id
from eco_protocol.errors import CredentialError
from eco_protocol.keys import public_key_raw
from eco_protocol.multibase import encode_base58btc
from tests.protocol.credential_kit import CHANGED_AT, NOW, STATUS_URL, Town, batch_report
from tests.protocol.records_kit import fixed_key

STATUS_VECTOR = json.loads((Path(__file__).parent.parent / "vectors" /
                            "bitstring_status_list.json").read_text("utf-8"))
TOWN = Town()


def _check(cred: dict[str, Any], lists: tuple[dict[str, Any], ...] = (),
           now: str = NOW) -> Any:
    return check_credential(cred, {TOWN.did: TOWN.document()},
                            {str(sl["id"]): sl for sl in lists}, now)


def test_a_points_statement_discloses_the_balance_and_not_the_history() -> None:
    cred = TOWN.points()
    subject = cred["credentialSubject"]
    assert cred["@context"] == ["https://www.w3.org/ns/credentials/v2",
                                "https://w3id.org/eco-credit/v1"]
    assert cred["type"] == ["VerifiableCredential", "EcoPointsStatement"]
    assert subject["household"] == "hh-10a2915c36ceeb3d1f15" and subject["balance"] == 1250
    assert "history" not in subject
    verdict = _check(cred)
    assert (verdict.kind, verdict.issuer, verdict.subject, verdict.revoked) == \
        ("points statement", TOWN.did, "hh-10a2915c36ceeb3d1f15", False)
    assert verdict.summary[0] == ("household hh-10a2915c36ceeb3d1f15: 1250 eco-points as of "
                                  "2026-12-01T00:00:00Z")
    assert "history: not disclosed" in verdict.summary


def test_the_history_is_in_the_statement_only_when_asked_for() -> None:
    history = [{"month": "2026-11", "earned": 300, "spent": 0}]
    cred = TOWN.points(history=history)
    assert cred["credentialSubject"]["history"] == history
    assert "history: 1 entries disclosed at the resident's request" in _check(cred).summary


def test_a_batch_summary_names_its_report_exactly() -> None:
    report = batch_report()
    cred = TOWN.summary()
    subject = cred["credentialSubject"]
    assert subject["batchId"] == report["batch_id"]
    assert subject["methodology"] == {"id": "EN-R-002", "version": "3.0"}
    assert subject["totals"] == report["totals"] and subject["households"] == 2
    assert subject["checkpoint"]["size"] == 3 and subject["demonstration"] is True
    other = {**report, "totals": {**report["totals"], "reduction_g": 1}}
    assert report_summary(TOWN.did, other)["credentialSubject"]["reportSha256"] != \
        subject["reportSha256"]
    verdict = _check(cred)
    assert verdict.kind == "batch summary" and verdict.subject == report["batch_id"]
    with pytest.raises(CredentialError, match="not a batch report"):
        report_summary(TOWN.did, {"batch_id": "x"})


def test_an_enrolment_names_the_device_by_did_key_and_is_revocable() -> None:
    cred = TOWN.enrolment(index=7)
    subject = cred["credentialSubject"]
    assert subject["device"].startswith("did:key:z6Mk")
    assert cred["credentialStatus"] == {
        "id": f"{STATUS_URL}#7", "type": "BitstringStatusListEntry",
        "statusPurpose": "revocation", "statusListIndex": "7",
        "statusListCredential": STATUS_URL}
    verdict = _check(cred, (TOWN.status_list(revoked=(6, 8)),))
    assert verdict.kind == "enrolment" and verdict.revoked is False
    assert any(c.startswith("not revoked: entry 7") for c in verdict.checks)
    revoked = _check(cred, (TOWN.status_list(revoked=(7,)),))
    assert revoked.revoked is True
    assert revoked.summary[-1] == f"revocation: entry 7 of {STATUS_URL} is set"


def test_a_revocable_credential_without_its_status_list_is_not_accepted() -> None:
    with pytest.raises(CredentialError, match="no copy of the status list"):
        _check(TOWN.enrolment())


def test_a_forged_or_stale_status_list_is_refused() -> None:
    forged = TOWN.status_list()
    forged["credentialSubject"]["encodedList"] = \
        status_list_credential(TOWN.did, STATUS_URL, [7])["credentialSubject"]["encodedList"]
    with pytest.raises(CredentialError, match=f"status list {STATUS_URL}: .*does not verify"):
        _check(TOWN.enrolment(), (forged,))
    key = fixed_key("stranger")
    stranger = did_key(public_key_raw(key))
    theirs = add_proof(status_list_credential(stranger, STATUS_URL, []), key,
                       did_key_method_id(stranger), "2026-12-01T00:00:00Z")
    with pytest.raises(CredentialError, match=f"issued by {stranger}, not by the credential's"):
        _check(TOWN.enrolment(), (theirs,))


def test_status_list_of_the_spec_example_is_reproduced_byte_for_byte() -> None:
    example = STATUS_VECTOR["credential"]
    ours = status_list_credential(example["issuer"], example["id"], STATUS_VECTOR["set"],
                                  valid_from=example["validFrom"])
    assert ours["credentialSubject"]["encodedList"] == \
        example["credentialSubject"]["encodedList"]
    assert not any(status_revoked(example, i) for i in (0, 1, 94567, MIN_STATUS_BITS - 1))
    with pytest.raises(CredentialError, match="outside the status list"):
        status_revoked(example, MIN_STATUS_BITS)


def test_status_bits_are_counted_from_the_left() -> None:
    sl = status_list_credential(TOWN.did, STATUS_URL, [0, 9, MIN_STATUS_BITS - 1])
    assert [i for i in range(16) if status_revoked(sl, i)] == [0, 9]
    assert status_revoked(sl, MIN_STATUS_BITS - 1)
    with pytest.raises(CredentialError, match="at least 131072"):
        status_list_credential(TOWN.did, STATUS_URL, [], length=8 * 1024)
    with pytest.raises(CredentialError, match="outside the list"):
        status_list_credential(TOWN.did, STATUS_URL, [MIN_STATUS_BITS])


def test_a_status_list_that_is_too_short_or_not_gzip_is_refused() -> None:
    sl = copy.deepcopy(STATUS_VECTOR["credential"])
    sl["credentialSubject"]["encodedList"] = "uH4sIAAAAAAAAA"
    with pytest.raises(CredentialError, match="encodedList"):
        status_revoked(sl, 0)
    sl["credentialSubject"]["encodedList"] = "uAAAA"
    with pytest.raises(CredentialError, match="not GZIP"):
        status_revoked(sl, 0)


@pytest.mark.parametrize("where, value", [
    (("credentialSubject", "balance"), 99999),
    (("credentialSubject", "household"), "hh-someone-else"),
    (("validFrom",), "2026-01-01T00:00:00Z"),
    (("issuer",), "did:web:other-town.example"),
])
def test_a_tampered_credential_is_refused(where: tuple[str, ...], value: Any) -> None:
    cred = TOWN.points()
    target = cred
    for w in where[:-1]:
        target = target[w]
    target[where[-1]] = value
    with pytest.raises(CredentialError):
        _check(cred)


def test_a_changed_balance_is_refused_as_changed_after_signing() -> None:
    cred = TOWN.points()
    cred["credentialSubject"]["balance"] += 1
    with pytest.raises(CredentialError, match="changed after signing"):
        _check(cred)


def test_a_name_anywhere_is_refused() -> None:
    with pytest.raises(CredentialError, match="pseudonyms only"):
        points_statement(TOWN.did, "hh-1", 1, "2026-12-01T00:00:00Z", {},
                         history=[{"name": "Taro Yamada"}])
    cred = TOWN.sign({**points_statement(TOWN.did, "hh-1", 1, "2026-12-01T00:00:00Z", {}),
                      "name": "Hanako"})
    with pytest.raises(CredentialError, match=r"credential\.name: a name field"):
        _check(cred)


def test_a_credential_signed_with_the_earlier_log_key_still_checks() -> None:
    before = TOWN.sign(points_statement(TOWN.did, "hh-1", 5, "2026-03-01T00:00:00Z", {}),
                       "2026-03-01T00:00:00Z", old=True)
    assert _check(before).summary[0] == "household hh-1: 5 eco-points as of 2026-03-01T00:00:00Z"
    after = TOWN.sign(points_statement(TOWN.did, "hh-1", 5, "2026-08-01T00:00:00Z", {}),
                      "2026-08-01T00:00:00Z", old=True)
    with pytest.raises(CredentialError, match=f"expires {CHANGED_AT}"):
        _check(after)


def test_a_proof_that_does_not_say_when_is_held_to_the_keys_in_force_now() -> None:
    unsigned = points_statement(TOWN.did, "hh-1", 5, "2026-03-01T00:00:00Z", {})
    proof = {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022",
             "verificationMethod": f"{TOWN.did}#log-1", "proofPurpose": "assertionMethod",
             "@context": unsigned["@context"]}
    signature = TOWN.old_key.sign(hash_data(unsigned, proof))
    undated = {**unsigned, "proof": {**proof, "proofValue": encode_base58btc(signature)}}
    assert verify_proof(undated, public_key_raw(TOWN.old_key))  # the signature itself is good
    assert _check(undated, now="2026-06-30T00:00:00Z").subject == "hh-1"
    with pytest.raises(CredentialError, match=f"expires {CHANGED_AT}"):
        _check(undated)  # the earlier key stopped signing on CHANGED_AT


def test_validity_period_and_proof_time_are_checked() -> None:
    cred = TOWN.sign(points_statement(TOWN.did, "hh-1", 1, "2026-12-01T00:00:00Z", {},
                                      valid_until="2026-12-31T00:00:00Z"))
    assert _check(cred, now="2026-12-30T23:59:59Z").kind == "points statement"
    with pytest.raises(CredentialError, match="validUntil 2026-12-31T00:00:00Z: expired"):
        _check(cred, now="2026-12-31T00:00:00Z")
    with pytest.raises(CredentialError, match="from the future"):
        _check(cred, now="2026-11-30T00:00:00Z")
    # a checker whose clock lags the issuer's by up to five minutes still accepts it
    assert _check(cred, now="2026-11-30T23:55:00Z").kind == "points statement"
    with pytest.raises(CredentialError, match="from the future"):
        _check(cred, now="2026-11-30T23:54:59Z")


def test_the_issuer_must_sign_with_its_own_key_and_give_its_document() -> None:
    stranger = fixed_key("stranger")
    cred = add_proof(points_statement(TOWN.did, "hh-1", 1, "2026-12-01T00:00:00Z", {}), stranger,
                     did_key_method_id(did_key(public_key_raw(stranger))),
                     "2026-12-01T00:00:00Z")
    with pytest.raises(CredentialError, match="only the issuer's own keys"):
        _check(cred)
    with pytest.raises(CredentialError, match=r"no DID document .*\.well-known/did\.json"):
        check_credential(TOWN.points(), {}, {}, NOW)


def test_a_credential_from_a_did_key_issuer_checks_without_a_document() -> None:
    key = fixed_key("device-issuer")
    issuer = did_key(public_key_raw(key))
    cred = add_proof(points_statement(issuer, "hh-1", 3, "2026-12-01T00:00:00Z", {}), key,
                     did_key_method_id(issuer), "2026-12-01T00:00:00Z")
    assert check_credential(cred, {}, {}, NOW).issuer == issuer


@pytest.mark.parametrize("change, why", [
    ({"@context": ["https://www.w3.org/2018/credentials/v1"]}, "Verifiable Credential 2.0"),
    ({"type": ["VerifiableCredential", "AlumniCredential"]}, "names none of the kinds"),
    ({"@context": ["https://www.w3.org/ns/credentials/v2"]}, "must name"),
    ({"credentialSubject": [{"household": "hh-1"}]}, "credentialSubject"),
])
def test_what_is_not_one_of_our_credentials_is_named(change: dict[str, Any], why: str) -> None:
    cred = TOWN.sign({**points_statement(TOWN.did, "hh-1", 1, "2026-12-01T00:00:00Z", {}),
                      **change})
    with pytest.raises(CredentialError, match=why):
        _check(cred)


def test_builders_refuse_what_they_cannot_sign_truthfully() -> None:
    with pytest.raises(CredentialError, match="balance"):
        points_statement(TOWN.did, "hh-1", 1.5, "2026-12-01T00:00:00Z", {})  # type: ignore[arg-type]
    with pytest.raises(CredentialError, match="pseudonym"):
        points_statement(TOWN.did, "", 1, "2026-12-01T00:00:00Z", {})
    with pytest.raises(CredentialError, match="asOf"):
        points_statement(TOWN.did, "hh-1", 1, "2026-12-01", {})
    with pytest.raises(CredentialError, match="issuer"):
        points_statement("Example City", "hh-1", 1, "2026-12-01T00:00:00Z", {})


_BASES = (TOWN.points(), TOWN.summary(), TOWN.enrolment(), TOWN.status_list((7,)))
_ODD_VALUES = (None, 0, -1, 2**60, 1.5, "", "z", "u", "#", "did:web:x#y", [], [1], {}, {"a": 1},
               True, "2026-01-01T00:00:00Z", ["https://www.w3.org/ns/credentials/v2"])


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path]
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for k, v in items:
        out += _paths(v, (*path, k))
    return out


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(_BASES) - 1), st.integers(0, 10**6), st.sampled_from(_ODD_VALUES),
       st.booleans())
def test_any_one_change_is_refused_as_a_credential_error(base: int, where: int, value: Any,
                                                        delete: bool) -> None:
    cred = copy.deepcopy(_BASES[base])
    paths = _paths(cred)[1:]
    path = paths[where % len(paths)]
    parent = cred
    for k in path[:-1]:
        parent = parent[k]
    if delete and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    lists = (_BASES[3],) if base != 3 else ()
    try:
        verdict = _check(cred, lists)
    except CredentialError:
        return
    # the few changes that keep a credential valid leave what it says unchanged
    assert verdict == _check(_BASES[base], lists)
