"""Issuing a certificate bundle as a Verifiable Credential (issue 20, the certificate kind;
docs/protocol.md §8.3, §8.7).

The bundle is rebuilt from the log's claims exactly as ``eco-aggregator certificates export``
rebuilds it (:func:`aggregator.certificates.issued_bundles`, the same GC issuer fields), so the
credential's ``bundleSha256`` names the entry a buyer finds in ``bundles.json``; who holds its
ids and their cancellations come from the same :class:`~eco_protocol.claims.ClaimBook` the
verifier replays, at the latest checkpoint (signed now if the log grew), which the credential
names. Signed like every credential, by :func:`aggregator.credentials.sign`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from eco_protocol import credentials as vc
from eco_protocol.certificate_credential import bundle_state, certificate_subject
from eco_protocol.certificates import IssuerConfig
from eco_protocol.did import did_key
from eco_protocol.messages import msg

from .accounting import scan
from .certificates import issued_bundles
from .claims import claim_book
from .credentials import checkpoint_ref, now_utc, sign
from .did_web import Issuer
from .errors import Rejected
from .ledger import Ledger
from .programme import Programme


def certificate_credential(issuer: Issuer, ledger: Ledger, programme: Programme,
                           gc_issuer: IssuerConfig, issuance_id: str,
                           now: datetime | None = None) -> dict[str, Any]:
    """The bundle ``issuance_id`` (its ``issued`` claim's id), its holders and cancellations
    at the latest checkpoint, signed by the log key as the municipality's did:web."""
    ledger.checkpoint_now()
    row = ledger.latest_checkpoint()
    assert row is not None  # checkpoint_now signs one on an empty log too
    view = scan(ledger.store, row.size, rules=programme.rules)
    book = claim_book(view, ledger.store)
    issued = [b for b, _ in issued_bundles(view, book, gc_issuer)]
    found = next((b for b in issued if b.issuance_id == issuance_id), None)
    if found is None:
        near = [b.issuance_id for b in issued[:3]]
        raise Rejected(msg("aggregator.certificate_credential.unknown", issuance=issuance_id,
                           size=row.size, n=len(issued),
                           some=", ".join(near) or msg("aggregator.certificate_credential.none")))
    state = bundle_state(book, book.claims[issuance_id][1])
    device_of = {r.index: r.device_id for r in view.readings}
    keys = {d: e.public_key_raw for d, (_, e) in view.enrolments.items()}
    devices = [did_key(keys[device_of[i]]) for i, _, _ in found.readings
               if device_of.get(i) in keys]
    subject = certificate_subject(found.to_dict(), state, issuer.did, checkpoint_ref(row),
                                  devices)
    unsigned = vc.certificate_bundle_credential(issuer.did, subject, row.signed_at)
    return sign(issuer, ledger, unsigned, now or now_utc())


__all__ = ["certificate_credential"]
