"""The aggregator's side of the claim ledger (issue 19; :mod:`eco_protocol.claims`).

Thin shells over the pure book: build a :class:`ClaimBook` from the store the way the verifier
builds it from the log, record the ``sealed`` claim a batch seal makes, and tell the batch
arithmetic which Wh were already issued as certificates. :mod:`aggregator.batches` calls only
:func:`issued_before` and :func:`sealed_claim_entry`, so the sealing code changes by two lines.
"""

from __future__ import annotations

from datetime import UTC, datetime

from eco_protocol.canonical import canonical_bytes
from eco_protocol.certificates import NETTED, SpanReading, within_one_hour
from eco_protocol.claims import SEALED, Claim, ClaimBook, issued_by_reading, net_of_issued
from eco_protocol.coverage import LedgerReading
from eco_protocol.encoding import format_time
from eco_protocol.programme_records import BatchSeal, Period
from eco_protocol.records import Enrolment
from eco_protocol.signing import entry_hash, sign_record

from .accounting import LedgerView
from .ledger import Ledger
from .store.interface import LedgerStore


def issued_before(view: LedgerView, before: int) -> dict[int, int]:
    """Wh issued as certificates from each reading (entry index → Wh) by claims logged before
    entry ``before``: what a batch sealed at ``before`` must not credit again."""
    return issued_by_reading(view.claims, before)


def net_covered(view: LedgerView, covered: list[LedgerReading],
                before: int) -> list[LedgerReading]:
    """A batch's covered readings as its arithmetic sees them: PV issued as certificates before
    entry ``before`` taken off (:func:`eco_protocol.claims.net_of_issued`); unchanged when the
    log issued none, so batches without certificates compute exactly as before."""
    return net_of_issued(covered, issued_before(view, before))


def sealed_claim_entry(ledger: Ledger, seal: BatchSeal, at: datetime | None = None) -> bytes:
    """The signed ``sealed`` claim that follows a batch seal in the log: the batch took the
    remainder of its covered readings' energy."""
    moment = (at or datetime.now(UTC)).replace(microsecond=0)
    claim = Claim(f"{SEALED}:{seal.batch_id}", SEALED, seal.programme, format_time(moment),
                  ref=seal.batch_id)
    return canonical_bytes(sign_record(claim.to_dict(), ledger.signer.private_key))


def _held(reading: LedgerReading) -> bool:
    return reading.excluded is None and reading.quantity in NETTED and \
        within_one_hour(reading.start, reading.end)


def claim_book(view: LedgerView, store: LedgerStore, period: Period | None = None) -> ClaimBook:
    """The claim book of the log ``view`` was read from, fed in log order as the replay feeds
    it, so a claim the aggregator plans is checked exactly as the verifier will check it.

    Only the readings that matter are held (each is read again from the store for its entry
    hash): those inside ``period`` (what an issuance may claim) and every reading on a span an
    existing claim draws on (what its share is computed from). Every claim, seal and enrolment
    is fed, so each claim is judged exactly as with the whole log held."""
    named = {p.index for _, c in view.claims for p in c.parts}
    spans = {(r.household, r.start, r.end) for r in view.readings if r.index in named}
    book = ClaimBook(view.rules)
    events: list[tuple[int, object]] = [(i, e) for i, e in view.enrolments.values()]
    events += [(r.index, r) for r in view.readings if _held(r) and (
        (r.household, r.start, r.end) in spans
        or (period is not None and period.contains(r.start, r.end)))]
    events += [(i, s) for i, s in view.seals]
    events += [(i, c) for i, c in view.claims]
    programme_of = {d: e.programme for d, (_, e) in view.enrolments.items()}
    for index, item in sorted(events, key=lambda x: x[0]):
        if isinstance(item, LedgerReading):
            span = SpanReading(index, entry_hash(store.entry(index)), item.quantity,
                               item.start, item.end, item.energy_wh)
            book.hold(span, item.household, programme_of.get(item.device_id, ""))
        elif isinstance(item, BatchSeal):
            book.seal(index, item)
        elif isinstance(item, Claim):
            book.claim(index, item)
        elif isinstance(item, Enrolment):
            book.enrol(item)
    return book


__all__ = ["claim_book", "issued_before", "net_covered", "sealed_claim_entry"]
