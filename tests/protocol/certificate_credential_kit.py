"""A certificate bundle credential signed by the credential kit's town (fixed test keys), for the
tests that need one without a log: the language checks and the interop test.

The bundle goes through the production :class:`eco_protocol.certificates.CertificateBundle`, the
subject through :func:`eco_protocol.certificate_credential.certificate_subject` and the envelope
through :func:`eco_protocol.credentials.certificate_bundle_credential` — only the state (who
holds it, a buyer's cancellation) is given here instead of replayed from a log.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from eco_protocol.accounts import ISSUER, account_of
from eco_protocol.certificate_credential import BundleState, Cancellation, certificate_subject
from eco_protocol.certificates import CertificateBundle, IssuerConfig, ProductionDevice
from eco_protocol.credentials import certificate_bundle_credential
from eco_protocol.did import did_key
from eco_protocol.keys import public_key_raw
from tests.protocol.credential_kit import HOST, Town
from tests.protocol.records_kit import fixed_key

BUYER = account_of(fixed_key("buyer/steel"))
ISSUANCE = "gc:city-pv-2026:hh-10a2915c36ceeb3d1f15:2026-11-22T03:00:00Z:1001"


def bundle() -> dict[str, Any]:
    """An exported bundle of 480 Wh (ids 1001..1480) for the hour from 12:00 JST."""
    return CertificateBundle(
        ISSUANCE, 1001, 1480, datetime(2026, 11, 22, 3, tzinfo=UTC),
        ProductionDevice("hh-10a2915c36ceeb3d1f15", 5500),
        IssuerConfig("Example City, Environment Division", "JP", "JP"),
        ((4211, "ab" * 32, 300), (4219, "cd" * 32, 180)), "2026-11-23T00:00:00Z",
        5003).to_dict()


def certificate(town: Town, *, cancelled: bool = True) -> dict[str, Any]:
    """The bundle sold to a buyer, who cancelled 200 of its ids for November (or none)."""
    cancels = (Cancellation(BUYER, 1001, 1200, "2026-11-01T00:00:00Z", "2026-12-01T00:00:00Z",
                            "Example Steel Co."),) if cancelled else ()
    state = BundleState({BUYER: 480} if cancelled else {ISSUER: 480}, cancels)
    subject = certificate_subject(
        bundle(), state, town.did,
        {"origin": HOST, "size": 5120,
         "rootHash": "DnB8MNIGN7buFyoSUBLOH8maMUsmKy5LqHfu5nWf8h0="},
        [did_key(public_key_raw(fixed_key("device/pv-1")))])
    return town.sign(certificate_bundle_credential(town.did, subject, "2026-12-01T00:00:00Z"))


__all__ = ["BUYER", "ISSUANCE", "bundle", "certificate"]
