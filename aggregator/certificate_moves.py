"""Moving issued certificates: the issuer's own transfer (a sale out of ids it still holds) and
the transfers and cancellations a buyer signed (issue 19 point 3; :mod:`eco_protocol.accounts`).

Each becomes one ``transferred`` or ``cancelled`` claim signed by the log key; a buyer's carries
the buyer's signed request. The claim is checked by the very :class:`ClaimBook` the verifier
replays before it is appended, so a move the verifier would refuse — ids the buyer does not
hold, a request signed by another key or used before, ids already cancelled — never enters the
log. The operator holds no buyer's key, so it cannot move a buyer's certificates.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from eco_protocol.accounts import CANCEL, TRANSFER, ClaimRequest, account_field
from eco_protocol.canonical import canonical_bytes
from eco_protocol.claims import CANCELLED, TRANSFERRED, BundleRange, Claim
from eco_protocol.encoding import format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import msg
from eco_protocol.request_window import intake_problem
from eco_protocol.signing import sign_record

from .accounting import scan
from .claims import claim_book
from .errors import Rejected
from .ledger import Ledger
from .programme import Programme


def request_claim(request: ClaimRequest, programme: str, at: datetime) -> Claim:
    """The claim that carries a buyer's signed request."""
    action = TRANSFERRED if request.action == TRANSFER else CANCELLED
    return Claim(f"{action}:{request.digest[:32]}", action, programme, _time(at),
                 ref=request.ref, bundle=BundleRange(request.first, request.last),
                 account=request.to if request.action == TRANSFER else request.holder,
                 period=request.period, request=request)


def _time(at: datetime) -> str:
    return format_time(at.astimezone(UTC).replace(microsecond=0))


def append_move(ledger: Ledger, programme: Programme,
                make: Callable[[int], Claim]) -> tuple[int, Claim]:
    """Check and append the claim ``make(next_entry_index)`` returns, in one transaction."""
    with ledger.store.transaction():
        view = scan(ledger.store, rules=programme.rules)
        book = claim_book(view, ledger.store)
        try:
            claim = make(view.size)
            book.claim(view.size, claim)
        except InvalidInput as e:
            raise Rejected(msg("aggregator.certificates.refused", error=e)) from e
        (index,) = ledger.append([canonical_bytes(sign_record(claim.to_dict(),
                                                               ledger.signer.private_key))])
    ledger.checkpoint_now()
    return index, claim


def submit_request(ledger: Ledger, programme: Programme, request: ClaimRequest,
                   expected: str, at: datetime | None = None) -> tuple[int, Claim]:
    """Log a buyer's signed transfer or cancellation (``expected``: which the operator meant)."""
    if request.action != expected:
        raise Rejected(msg("aggregator.certificates.other_action", action=request.action,
                           expected=expected))
    if request.action == CANCEL and request.period is None:  # pragma: no cover - parsed so
        raise Rejected(msg("aggregator.certificates.no_period"))
    try:
        request.verify()
    except InvalidInput as e:
        raise Rejected(msg("aggregator.certificates.refused", error=e)) from e
    when = at or datetime.now(UTC)
    stale = intake_problem(request.requested_at, when)  # fresh, and not from the future
    if stale is not None:
        raise Rejected(msg("aggregator.certificates.refused", error=stale))
    return append_move(ledger, programme, lambda _: request_claim(request, programme.id, when))


def assign(ledger: Ledger, programme: Programme, ref: str, ids: BundleRange, to: str,
           at: datetime | None = None) -> tuple[int, Claim]:
    """The issuer transfers ids it still holds to account ``to`` (a sale): no request, the log
    key's signature is the issuer's; the book refuses it once the ids belong to a buyer."""
    try:  # a did:key no key signs for would strand the ids: nobody could move them again
        account_field(to, "to")
    except InvalidInput as e:
        raise Rejected(msg("aggregator.certificates.refused", error=e)) from e
    when = _time(at or datetime.now(UTC))
    return append_move(ledger, programme, lambda size: Claim(
        f"{TRANSFERRED}:{size}:{ids.first}-{ids.last}", TRANSFERRED, programme.id, when,
        ref=ref, bundle=ids, account=to))


__all__ = ["append_move", "assign", "request_claim", "submit_request"]
