"""Issuing hourly granular certificates from the log (issue 19; docs/certificates.md).

Plan: for each household of the programme (or one), each UTC hour of the period whose creditable
readings prove self-consumed PV (:func:`eco_protocol.certificates.proven_hours`), the Wh not yet
claimed — energy a J-Credit batch sealed is skipped, energy already issued is skipped — become
one ``issued`` claim and one certificate bundle. Issue: the claims are checked by the same
:class:`~eco_protocol.claims.ClaimBook` the verifier replays, then appended in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eco_protocol.canonical import canonical_bytes
from eco_protocol.certificates import (
    CertificateBundle,
    IssuerConfig,
    ProductionDevice,
    certifiable,
    hour_text,
    proven_hours,
)
from eco_protocol.claims import ISSUED, BundleRange, Claim, ClaimBook
from eco_protocol.encoding import format_time
from eco_protocol.messages import msg
from eco_protocol.programme_records import Period
from eco_protocol.records import Quantity
from eco_protocol.signing import sign_record

from .accounting import LedgerView, scan
from .claims import claim_book
from .errors import Rejected
from .ledger import Ledger
from .programme import Programme


@dataclass(frozen=True)
class Issuance:
    """Planned (or issued) claims and the bundles they carry, in the same order."""

    claims: list[Claim]
    bundles: list[CertificateBundle]

    @property
    def total_wh(self) -> int:
        return sum(b.face_value_wh for b in self.bundles)


def production_device(view: LedgerView, household: str) -> ProductionDevice:
    """The household's PV as a production device: its pseudonym and its PV capacity (the sum
    of its enrolled PV meters' rated power)."""
    capacity = sum(m.rated_w for _, e in view.enrolments.values() if e.household == household
                   for m in e.meters if m.quantity is Quantity.PV_GENERATION)
    return ProductionDevice(household, capacity)


def plan_issuance(view: LedgerView, book: ClaimBook, programme: str, period: Period,
                  issuer: IssuerConfig, households: Iterable[str] | None = None,
                  now: datetime | None = None) -> Issuance:
    """The claims and bundles for every free proven hour of ``period`` (hours inside it)."""
    at = format_time((now or datetime.now(UTC)).replace(microsecond=0))
    wanted = set(households) if households is not None else None
    names = sorted({h.household for h in book.held.values() if h.programme == programme})
    claims: list[Claim] = []
    bundles: list[CertificateBundle] = []
    next_id = book.next_id
    for hh in names:
        if wanted is not None and hh not in wanted:
            continue
        terms = view.terms(hh)
        if certifiable(terms, view.rules) is not None:
            continue
        held = [h.reading for h in book.held.values() if h.household == hh
                and h.programme == programme and period.contains(h.reading.start, h.reading.end)]
        device = production_device(view, hh)
        for hour in proven_hours(hh, held, terms, view.rules):
            parts = book.free_parts(hour)
            if not parts:
                continue
            total = sum(p.wh for p in parts)
            ids = BundleRange(next_id, next_id + total - 1)
            issuance_id = f"gc:{programme}:{hh}:{hour_text(hour.hour)}:{ids.first}"
            claims.append(Claim(issuance_id, ISSUED, programme, at, hour=hour_text(hour.hour),
                                parts=tuple(parts), bundle=ids))
            bundles.append(CertificateBundle(issuance_id, ids.first, ids.last, hour.hour, device,
                                             issuer, tuple((p.index, p.entry_sha256, p.wh)
                                                           for p in parts), at))
            next_id = ids.last + 1
    return Issuance(claims, bundles)


def issue_certificates(ledger: Ledger, programme: Programme, period: Period,
                       issuer: IssuerConfig,
                       households: Iterable[str] | None = None) -> Issuance:
    """Plan and append the issued claims in one transaction, readings judged under the
    programme's rules; each claim is checked by the book first (so a claim the verifier would
    refuse never enters the log). Returns the bundles with the index of the claim that issued
    each."""
    with ledger.store.transaction():
        view = scan(ledger.store, rules=programme.rules)
        book = claim_book(view, ledger.store, period)
        plan = plan_issuance(view, book, programme.id, period, issuer, households)
        if not plan.claims:
            raise Rejected(msg("aggregator.certificates.nothing", start=period.start,
                               end=period.end))
        entries = []
        for offset, claim in enumerate(plan.claims):
            book.claim(view.size + offset, claim)
            entries.append(canonical_bytes(sign_record(claim.to_dict(),
                                                       ledger.signer.private_key)))
        indices = ledger.append(entries)
    ledger.checkpoint_now()
    return Issuance(plan.claims, [_at(b, i) for b, i in zip(plan.bundles, indices, strict=True)])


def _at(bundle: CertificateBundle, index: int) -> CertificateBundle:
    return CertificateBundle(bundle.issuance_id, bundle.first, bundle.last, bundle.hour,
                             bundle.device, bundle.issuer, bundle.readings, bundle.issued_at,
                             index)


def issued_bundles(view: LedgerView, book: ClaimBook, issuer: IssuerConfig,
                   household: str | None = None) -> list[tuple[CertificateBundle, str]]:
    """Every bundle the log issued, with its status (``issued`` or ``cancelled`` when a
    cancellation covers all its ids), rebuilt from the claims alone."""
    cancelled = [c.bundle for _, c in book.cancelled if c.bundle is not None]
    out = []
    for index, claim in view.claims:
        if claim.action != ISSUED or claim.bundle is None or claim.hour_dt is None:
            continue
        hh = book.held[claim.parts[0].index].household
        if household is not None and hh != household:
            continue
        bundle = CertificateBundle(claim.claim_id, claim.bundle.first, claim.bundle.last,
                                   claim.hour_dt, production_device(view, hh), issuer,
                                   tuple((p.index, p.entry_sha256, p.wh) for p in claim.parts),
                                   claim.claimed_at, index)
        gone = sum(c.size for c in cancelled if c.within(claim.bundle))
        out.append((bundle, "cancelled" if gone >= claim.bundle.size else "issued"))
    return out


def write_bundles(bundles: Iterable[CertificateBundle], out: Path) -> Path:
    """The bundles as JSON (EnergyTag GC registry field names), one file per issuance run."""
    items = [b.to_dict() for b in bundles]
    out.mkdir(parents=True, exist_ok=True)
    first = items[0]["certificate_bundle_id_range_start"] if items else 0
    last = items[-1]["certificate_bundle_id_range_end"] if items else 0
    path = out / f"bundles-{first}-{last}.json"
    path.write_text(json.dumps({"bundles": items}, indent=1, ensure_ascii=False) + "\n",
                    "utf-8")
    return path


__all__ = ["Issuance", "issue_certificates", "issued_bundles", "plan_issuance",
           "production_device", "write_bundles"]
