"""When a holder's signed request (:mod:`accounts`) may be logged: never before it was made, and
(at the aggregator's intake) not long after.

Why: ``requested_at`` is the only time the buyer signs. A claim logged *before* it (its
``claimed_at`` earlier than the request, beyond clock skew) is a move the log dates before the
holder asked — an operator backdating a cancellation into an earlier reporting period, say — so
the replay refuses it (:meth:`claims.ClaimBook.claim`). A signed request is otherwise a bearer
instrument with no end: a transfer signed for a deal that fell through could be handed in months
later. The aggregator therefore refuses one older than :data:`MAX_AGE` (the holder signs a new
one, which costs nothing); the replay does not, since how long the intake waits is the town's
policy, not the protocol's. Pure: the time is an argument.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

from .encoding import parse_time
from .messages import Msg, msg

CLOCK_SKEW: Final = timedelta(minutes=5)
"""How far the holder's clock may run ahead of the log's."""
MAX_AGE: Final = timedelta(days=30)
"""How old a request the aggregator still logs."""


def too_early(requested_at: str, claimed_at: str, what: Msg | str) -> Msg | None:
    """Why claim ``what`` at ``claimed_at`` may not carry a request made at ``requested_at``
    (None if it may): the claim would be dated before the holder asked."""
    asked, logged = parse_time(requested_at, "requested_at"), parse_time(claimed_at, "claimed_at")
    if asked > logged + CLOCK_SKEW:
        return msg("eco_protocol.request.before_asked", what=what, requested_at=requested_at,
                   claimed_at=claimed_at)
    return None


def intake_problem(requested_at: str, now: datetime) -> Msg | None:
    """Why the aggregator will not log a request made at ``requested_at`` at ``now`` (None if
    it will): from the future beyond clock skew, or older than :data:`MAX_AGE`."""
    asked = parse_time(requested_at, "requested_at")
    if asked > now + CLOCK_SKEW:
        return msg("eco_protocol.request.future", requested_at=requested_at,
                   skew=int(CLOCK_SKEW.total_seconds() // 60))
    if asked < now - MAX_AGE:
        return msg("eco_protocol.request.stale", requested_at=requested_at,
                   days=MAX_AGE.days)
    return None


__all__ = ["CLOCK_SKEW", "MAX_AGE", "intake_problem", "too_early"]
