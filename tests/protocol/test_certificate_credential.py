"""The certificate bundle credential's own checks (:mod:`eco_protocol.certificate_credential`):
a credential whose proof verifies but whose subject contradicts itself is refused naming the
field; and since anyone can sign under a ``did:key`` issuer (no document needed), no subject,
however malformed, makes the checker fail with anything but a ``CredentialError``."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from eco_protocol.certificate_credential import bundle_sha256
from eco_protocol.credentials import certificate_bundle_credential, check_credential
from eco_protocol.data_integrity import add_proof
from eco_protocol.did import did_key, did_key_method_id
from eco_protocol.errors import CredentialError
from eco_protocol.keys import public_key_raw
from tests.protocol.certificate_credential_kit import certificate
from tests.protocol.credential_kit import NOW, Town
from tests.protocol.records_kit import fixed_key

KEY = fixed_key("anyone/did-key-issuer")
ISSUER = did_key(public_key_raw(KEY))
SUBJECT: dict[str, Any] = certificate(Town())["credentialSubject"]
JUNK: tuple[Any, ...] = (None, True, 7, -1, "x", "", [], {}, [1], [{}], {"a": 1},
                         [{"account": 1, "quantity": "480"}])


def _signed(subject: dict[str, Any]) -> dict[str, Any]:
    unsigned = certificate_bundle_credential(ISSUER, subject, "2026-12-01T00:00:00Z")
    return add_proof(unsigned, KEY, did_key_method_id(ISSUER), "2026-12-01T00:00:00Z")


def test_the_kits_subject_checks_under_a_did_key_issuer() -> None:
    verdict = check_credential(_signed(copy.deepcopy(SUBJECT)), {}, {}, NOW)
    assert verdict.kind == "certificate bundle" and verdict.issuer == ISSUER


@pytest.mark.parametrize(("change", "says"), [
    (lambda s: s["certificate"].update(bundle_quantity=481), "bundleSha256"),
    (lambda s: s.update(issuanceId="gc:other"), "issuanceId"),
    (lambda s: s["holders"][0].update(quantity=479), "do not add up"),
    (lambda s: s["cancellations"][0].update(lastId=2000, quantity=1000), "outside the bundle"),
    (lambda s: s.update(status="lost"), "status 'lost'"),
    (lambda s: s["certificate"].pop("issuing_body"), "certificate.issuing_body: missing"),
    (lambda s: s["holders"].append("x"), "holders[1]: not an object"),
    (lambda s: s.update(holder=ISSUER), "holder is not the one account in holders"),
    (lambda s: s["cancellations"][0].pop("consumptionPeriod"), "consumptionPeriod: missing"),
])
def test_a_self_contradicting_subject_is_refused_naming_it(change: Any, says: str) -> None:
    subject = copy.deepcopy(SUBJECT)
    change(subject)
    if "bundleSha256" not in says:  # keep the hash right, so the named problem is the one
        subject["bundleSha256"] = bundle_sha256(subject["certificate"])
    with pytest.raises(CredentialError, match=re.escape(says)):
        check_credential(_signed(subject), {}, {}, NOW)


def _paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            out += _paths(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            out += _paths(v, (*path, i))
    return out


def test_no_malformed_subject_escapes_as_anything_but_a_credential_error() -> None:
    checked = refused = 0
    for path in _paths(SUBJECT):
        for junk in JUNK:
            subject = copy.deepcopy(SUBJECT)
            node: Any = subject
            for step in path[:-1]:
                node = node[step]
            node[path[-1]] = junk
            if path[0] == "certificate" and len(path) > 1:  # reach past the hash check
                subject["bundleSha256"] = bundle_sha256(subject["certificate"])
            try:
                check_credential(_signed(subject), {}, {}, NOW)
            except CredentialError:
                refused += 1
            checked += 1
    assert checked > 400 and refused > checked // 2
