"""Exporting issued certificates with their offline proof (issue 19 point 4;
docs/certificates.md "Export and offline check").

Writes ``bundles.json`` (the bundles in the EnergyTag GC registry's field names) and
``proofs.json`` (:func:`eco_protocol.certificate_proofs.proof_document`: the latest checkpoint with
its witness cosignatures, and the entries a buyer needs, each with its inclusion proof to that
checkpoint), which ``eco-verify certificates`` checks offline. Only bundles whose claim the
checkpoint covers are exported: a proof cannot reach past it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from eco_protocol.certificate_proofs import ProvedEntry, proof_document
from eco_protocol.certificates import HOUR, CertificateBundle, IssuerConfig
from eco_protocol.keyfile import atomic_write
from eco_protocol.messages import msg
from eco_protocol.programme_records import Period

from .accounting import LedgerView, scan
from .certificates import issued_bundles
from .claims import claim_book
from .errors import Rejected
from .ledger import Ledger
from .programme import Programme

BUNDLES_FILE = "bundles.json"
PROOFS_FILE = "proofs.json"


@dataclass(frozen=True)
class Export:
    """What an export wrote."""

    bundles: list[CertificateBundle]
    checkpoint_size: int
    entries: int
    bundles_file: Path
    proofs_file: Path

    @property
    def total_wh(self) -> int:
        return sum(b.face_value_wh for b in self.bundles)


def proof_indices(view: LedgerView, held: dict[int, str], size: int) -> list[int]:
    """The entries a buyer needs, below ``size``: every claim and seal log-wide (to show no
    other claim on the energy), the readings the claims' spans hold (``held``: entry index →
    household) and the enrolments of those households (device keys and terms)."""
    households = set(held.values())
    wanted = {i for i, _ in view.claims} | {i for i, _ in view.seals} | set(held)
    wanted |= {i for i, e in view.enrolments.values() if e.household in households}
    return sorted(i for i in wanted if i < size)


def _in(bundle: CertificateBundle, period: Period | None) -> bool:
    return period is None or period.contains(bundle.hour, bundle.hour + HOUR)


def export_certificates(ledger: Ledger, programme: Programme, issuer: IssuerConfig, out: Path,
                        household: str | None = None,
                        period: Period | None = None) -> Export:
    """Write the bundles (of ``household``, with hours inside ``period``) and their proofs."""
    row = ledger.latest_checkpoint()
    if row is None:
        raise Rejected(msg("aggregator.certificates.no_checkpoint"))
    view = scan(ledger.store, rules=programme.rules)
    book = claim_book(view, ledger.store)
    bundles = [b for b, _ in issued_bundles(view, book, issuer, household)
               if b.claim_index is not None and b.claim_index < row.size and _in(b, period)]
    if not bundles:
        raise Rejected(msg("aggregator.certificates.none_issued", size=row.size,
                           household=msg("aggregator.certificates.for_household",
                                         household=household) if household else "",
                           period=msg("aggregator.certificates.in_period", start=period.start,
                                      end=period.end) if period else ""))
    held = {i: h.household for i, h in book.held.items()}
    indices = proof_indices(view, held, row.size)
    # the log's key changes: enrolments signed by an earlier key stay checkable
    # (eco_protocol.certificate_keys)
    indices = sorted(set(indices) | {i for i in ledger.key_chain().changed_at if i < row.size})
    proved = [ProvedEntry(i, ledger.store.entry(i), tuple(ledger.inclusion_proof(i, row.size)))
              for i in indices]
    note = row.note + "".join(ledger.store.cosignatures(row.size))
    out.mkdir(parents=True, exist_ok=True)
    bundles_file, proofs_file = out / BUNDLES_FILE, out / PROOFS_FILE
    atomic_write(bundles_file, _json({"bundles": [b.to_dict() for b in bundles]}))
    atomic_write(proofs_file, _json(proof_document(note, proved)))
    atomic_write(out / "log.vkey", (ledger.signer.verifier.vkey + "\n").encode("utf-8"))
    return Export(bundles, row.size, len(proved), bundles_file, proofs_file)


def _json(obj: object) -> bytes:
    return (json.dumps(obj, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


__all__ = ["BUNDLES_FILE", "PROOFS_FILE", "Export", "export_certificates", "proof_indices"]
