"""The demo's certificate credential step (:func:`firmware_sim.demo.credentials.
certificate_and_check`) on a real town's state, with the installed ``eco-aggregator`` and
``eco-verify`` run as the demo runs them (:func:`firmware_sim.demo.children.run_command`): the
first issued bundle becomes ``credentials/certificate.json``, accepted against its export and
refused with a raised face value; a log without certificates stops the demo saying which step is
missing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from firmware_sim.demo.children import bin_path
from firmware_sim.demo.credentials import certificate_and_check
from tests.aggregator.certificate_credential_kit import CertTown, cert_town

pytestmark = pytest.mark.integration  # the installed commands, as the demo runs them


def _demo_out(town: CertTown, out: Path) -> list[str]:
    """What the credentials step leaves before this one: ``credentials/did.json``."""
    (out / "credentials").mkdir(parents=True)
    (out / "credentials" / "did.json").write_text(json.dumps(town.did_document()))
    return [bin_path("eco-aggregator"), "--config", str(town.conf)]


def test_the_first_bundle_is_issued_checked_and_a_tampered_copy_refused(
        tmp_path: Path) -> None:
    town = cert_town(tmp_path)
    out = tmp_path / "demo-output"
    assert certificate_and_check(out, _demo_out(town, out)) is True
    cred = json.loads((out / "credentials" / "certificate.json").read_text())
    assert cred["credentialSubject"]["issuanceId"] == town.bundles()[0]["issuance_id"]
    log = (out / "credentials" / "verify-certificate.txt").read_text()
    assert "exit 0" in log and "exit 1" in log
    assert "the credential's bundle is in it byte for byte" in log
    assert "INVALID — the credential was changed after its issuer signed it" in log


def test_without_issued_certificates_the_demo_stops_saying_so(tmp_path: Path) -> None:
    town = cert_town(tmp_path, issue=False)
    out = tmp_path / "demo-output"
    with pytest.raises(SystemExit, match="the log issued no certificate bundle"):
        certificate_and_check(out, _demo_out(town, out))
    assert not (out / "credentials" / "certificate.json").exists()
