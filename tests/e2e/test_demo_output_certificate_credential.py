"""Issue 20's last credential in the demo's output: a certificate bundle the demo issued, as a
Verifiable Credential a buyer checks offline with the town's DID document, tied byte for byte to
the bundle in the export beside it; the copy with a raised face value is refused."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.credentials import check_credential
from eco_protocol.encoding import format_time
from eco_protocol.errors import CredentialError
from tests.e2e.demo_kit import Demo

pytestmark = [pytest.mark.e2e, pytest.mark.integration, pytest.mark.solo]


def test_a_certificate_bundle_credential_checks_offline_against_its_export(demo: Demo) -> None:
    d = demo.out / "credentials"
    doc = json.loads((d / "did.json").read_text())
    credential = json.loads((d / "certificate.json").read_text())
    now = format_time(datetime.now(UTC))
    verdict = check_credential(credential, {doc["id"]: doc}, {}, now)
    assert verdict.kind == "certificate bundle" and verdict.issuer == doc["id"]
    subject = credential["credentialSubject"]
    # the bundle in the credential is one of the exported bundles, to the byte of its JSON
    exported = json.loads((d / "certificate-export" / "bundles.json").read_text())
    bundles = exported["bundles"] if isinstance(exported, dict) else exported
    digests = {hashlib.sha256(canonical_bytes(b)).hexdigest() for b in bundles}
    assert subject["bundleSha256"] in digests
    assert subject["certificate"]["bundle_quantity"] > 0
    # pseudonyms only: no household name of the town appears anywhere in the credential
    text = json.dumps(credential, ensure_ascii=False)
    assert not any(name in text for name in ("Sato", "Suzuki", "Takahashi", "Tanaka", "Ito",
                                             "Watanabe"))
    with pytest.raises(CredentialError):
        check_credential(json.loads((d / "tampered" / "certificate.json").read_text()),
                         {doc["id"]: doc}, {}, now)
    said = (d / "verify-certificate.txt").read_text()
    assert said.count("exit 0") == 1 and said.count("exit 1") == 1
