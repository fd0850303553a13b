"""What the certificate pages show (issue 19 point 3), computed from the log alone: each issued
bundle with who holds which of its ids and which are cancelled, every transfer and cancellation,
and each buyer account's holdings and history. Pure functions over the
:class:`~aggregator.accounting.LedgerView` and the :class:`~eco_protocol.claims.ClaimBook` the
pages build with :func:`aggregator.claims.claim_book` — the same book the verifier replays, so
the pages answer "who holds these ids" exactly as ``eco-verify certificates`` does
(:func:`eco_protocol.accounts.holders_over`).

:func:`refusal_of` names, in a code the UI translates, why the claim book refused a buyer's request.
It is an explanation for the reader, never the check: the request still goes through
:func:`aggregator.certificate_moves.submit_request`, which decides.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from eco_protocol.accounts import ISSUER, holders_over
from eco_protocol.certificates import CertificateBundle, IssuerConfig
from eco_protocol.claims import CANCELLED, TRANSFERRED, BundleRange, Claim, ClaimBook

from ..accounting import LedgerView
from ..certificates import issued_bundles

TOWN = "town"  # a bundle whose ids the issuer still holds, every one of them
TRANSFERRED_STATUS = "transferred"  # some ids are with buyers, some may be cancelled
CANCELLED_STATUS = "cancelled"  # every id is cancelled
STATUSES = (TOWN, TRANSFERRED_STATUS, CANCELLED_STATUS)


def short_account(account: str) -> str:
    """``did:key:z6Mk…`` shortened for a table (``did:key:z6MkhaXg…3xYz``): the full one is in
    the page's link and title."""
    if account == ISSUER:
        return account
    body = account.removeprefix("did:key:")
    return account if len(body) <= 16 else f"did:key:{body[:8]}…{body[-4:]}"


@dataclass(frozen=True, slots=True)
class Segment:
    """Ids ``first..last`` of one bundle with one holder (:data:`ISSUER`: the town), cancelled
    or not."""

    first: int
    last: int
    holder: str
    cancelled: bool

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def segments(ids: BundleRange, transfers: Sequence[tuple[int, int, str]],
             cancelled: Iterable[BundleRange]) -> list[Segment]:
    """Ids ``ids`` cut where a transfer or a cancellation starts or ends; adjacent runs with the
    same holder and state merged. The holder of each run is :func:`holders_over`'s."""
    gone = [c for c in cancelled if c.overlaps(ids)]
    cuts = {ids.first, ids.last + 1}
    for a, b in [(a, b) for a, b, _ in transfers] + [(c.first, c.last) for c in gone]:
        if a <= ids.last and ids.first <= b:
            cuts |= {max(a, ids.first), min(b, ids.last) + 1}
    edges = sorted(cuts)
    out: list[Segment] = []
    for lo, hi in zip(edges, edges[1:], strict=False):
        (holder,) = holders_over(lo, hi - 1, transfers)
        dead = any(c.first <= lo and hi - 1 <= c.last for c in gone)
        if out and out[-1].holder == holder and out[-1].cancelled == dead:
            out[-1] = Segment(out[-1].first, hi - 1, holder, dead)
        else:
            out.append(Segment(lo, hi - 1, holder, dead))
    return out


@dataclass(frozen=True, slots=True)
class Move:
    """One logged transfer or cancellation: its entry, the ids, from whom (:data:`ISSUER` for
    the town's sale) to whom (the new holder; for a cancellation the holder who cancelled)."""

    index: int
    action: str  # transferred / cancelled
    ref: str
    ids: BundleRange
    source: str
    account: str
    at: str
    period_start: str | None = None
    period_end: str | None = None
    beneficiary: str | None = None


def move_of(index: int, claim: Claim) -> Move | None:
    """The move a claim records, None for a claim that moves nothing (sealed, issued)."""
    if claim.action not in (TRANSFERRED, CANCELLED) or claim.bundle is None:
        return None
    r = claim.request
    return Move(index, claim.action, claim.ref or "", claim.bundle,
                ISSUER if r is None else r.holder, claim.account or "", claim.claimed_at,
                None if claim.period is None else claim.period.start,
                None if claim.period is None else claim.period.end,
                None if r is None else r.beneficiary)


def moves(view: LedgerView) -> list[Move]:
    """Every transfer and cancellation of the log, in log order."""
    return [m for i, c in view.claims if (m := move_of(i, c)) is not None]


@dataclass(frozen=True, slots=True)
class BundleRow:
    """An issued bundle as the operator's list shows it."""

    bundle: CertificateBundle
    status: str  # one of STATUSES
    segments: tuple[Segment, ...]
    cancellations: tuple[Move, ...]

    @property
    def town_held(self) -> int:
        return sum(s.size for s in self.segments if s.holder == ISSUER and not s.cancelled)

    @property
    def buyers(self) -> dict[str, int]:
        """Account → ids it holds and has not cancelled."""
        out: dict[str, int] = {}
        for s in self.segments:
            if s.holder != ISSUER and not s.cancelled:
                out[s.holder] = out.get(s.holder, 0) + s.size
        return out


def bundle_rows(view: LedgerView, book: ClaimBook, issuer: IssuerConfig) -> list[BundleRow]:
    """Every issued bundle with its holders and cancellations, in log order."""
    cancels = [m for m in moves(view) if m.action == CANCELLED]
    out = []
    for bundle, _ in issued_bundles(view, book, issuer):
        ids = BundleRange(bundle.first, bundle.last)
        mine = tuple(m for m in cancels if m.ref == bundle.issuance_id)
        segs = segments(ids, book.transfers, [m.ids for m in mine])
        if all(s.cancelled for s in segs):
            status = CANCELLED_STATUS
        elif all(s.holder == ISSUER for s in segs):
            status = TOWN
        else:
            status = TRANSFERRED_STATUS
        out.append(BundleRow(bundle, status, tuple(segs), mine))
    return out


def filtered(rows: Iterable[BundleRow], start: datetime | None, end: datetime | None,
             status: str | None) -> list[BundleRow]:
    """The rows whose hour starts in ``[start, end)`` and whose status is ``status`` (None:
    any)."""
    return [r for r in rows if (start is None or r.bundle.hour >= start)
            and (end is None or r.bundle.hour < end) and (status is None or r.status == status)]


@dataclass(frozen=True, slots=True)
class AccountSummary:
    """An account known to the log: ids it holds now (not cancelled), received, sent on, and
    cancelled — totals over every bundle."""

    account: str
    held: int
    received: int
    sent: int
    cancelled: int


@dataclass(frozen=True, slots=True)
class Holding:
    """Ids ``first..last`` of bundle ``ref`` an account holds and has not cancelled."""

    ref: str
    first: int
    last: int
    hour: datetime
    claim_index: int

    @property
    def size(self) -> int:
        return self.last - self.first + 1


def holdings(rows: Iterable[BundleRow], account: str) -> list[Holding]:
    """The runs of ids ``account`` holds now, bundle by bundle."""
    return [Holding(r.bundle.issuance_id, s.first, s.last, r.bundle.hour,
                    r.bundle.claim_index or 0)
            for r in rows for s in r.segments if s.holder == account and not s.cancelled]


def accounts(rows: Sequence[BundleRow], logged: Sequence[Move]) -> list[AccountSummary]:
    """Every account a transfer or cancellation named, most ids held first."""
    names = {m.account for m in logged} | {m.source for m in logged if m.source != ISSUER}
    out = []
    for name in names:
        out.append(AccountSummary(
            name, sum(h.size for h in holdings(rows, name)),
            sum(m.ids.size for m in logged if m.action == TRANSFERRED and m.account == name),
            sum(m.ids.size for m in logged if m.action == TRANSFERRED and m.source == name),
            sum(m.ids.size for m in logged if m.action == CANCELLED and m.account == name)))
    return sorted(out, key=lambda a: (-a.held, a.account))


# --- why a buyer's request would be refused ------------------------------------------------------

SIGNATURE = "signature"  # not signed by the holder it names (or edited after signing)
USED = "used"  # the same signed request was logged before
UNKNOWN = "unknown"  # no such issued bundle, or ids outside it
GONE = "cancelled"  # some of the ids are already cancelled
NOT_HOLDER = "not_holder"  # the holder it names does not hold all the ids
REFUSALS = (SIGNATURE, USED, UNKNOWN, GONE, NOT_HOLDER)


# the claim book's finding → the page's words for it (eco_protocol/claims.py decides; this
# only names the decision in words a buyer reads)
_BY_FINDING = {
    "eco_protocol.finding.claim.request_unsigned": SIGNATURE,
    "eco_protocol.finding.signature": SIGNATURE,
    "eco_protocol.finding.claim.request_reused": USED,
    # a request's claim id is made from the request: the id taken is the request logged before
    "eco_protocol.finding.claim.id_used": USED,
    "eco_protocol.finding.claim.not_issued_bundle": UNKNOWN,
    "eco_protocol.finding.claim.not_within": UNKNOWN,
    "eco_protocol.finding.claim.ids_twice": GONE,
    "eco_protocol.finding.claim.no_request": NOT_HOLDER,
    "eco_protocol.finding.claim.many_holders": NOT_HOLDER,
    "eco_protocol.finding.claim.request_on_issuer_ids": NOT_HOLDER,
}


def refusal_of(err: BaseException) -> str | None:
    """Which of :data:`REFUSALS` the refusal ``err`` is (the finding it wraps, followed through
    its causes: ``submit_request`` wraps the book's finding in its own message); None when the
    page has no words of its own for it (it then shows the finding itself)."""
    seen: BaseException | None = err
    while seen is not None:
        found = _BY_FINDING.get(str(getattr(seen, "message_code", "")))
        if found is not None:
            return found
        seen = seen.__cause__
    return None


__all__ = ["CANCELLED_STATUS", "REFUSALS", "STATUSES", "TOWN", "TRANSFERRED_STATUS",
           "AccountSummary", "BundleRow", "Holding", "Move", "Segment", "accounts",
           "bundle_rows", "filtered", "holdings", "move_of", "moves", "refusal_of",
           "segments", "short_account"]
