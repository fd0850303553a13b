"""Spending eco-points: the one place that appends ``eco.redeem/v1`` (README, programme records).

Used by ``eco-aggregator redeem`` and by the web UI's redeem forms (shop and operator). The
balance is derived from the log and the redemption appended in one store transaction, so two
shops redeeming for the same household at once cannot both spend the same points.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.messages import msg
from eco_protocol.programme_records import Redemption
from eco_protocol.signing import sign_record

from .accounting import points_statement, scan
from .errors import Rejected
from .ledger import Ledger
from .programme import Programme, Reward


@dataclass(frozen=True, slots=True)
class RedeemResult:
    household: str
    reward: Reward
    index: int  # leaf index of the eco.redeem/v1 entry
    balance: int  # points left after this redemption


def redeem(ledger: Ledger, programme: Programme, household: str, reward_id: str,
           now: datetime) -> RedeemResult:
    """Spend ``reward_id``'s points for ``household`` (a pseudonym); refuses unknown households
    and balances that do not cover the reward. Signs a checkpoint afterwards."""
    reward = programme.reward(reward_id)
    with ledger.store.transaction():  # balance and append in one transaction: no double spend
        view = scan(ledger.store, rules=programme.rules)
        if household not in view.household_devices(programme.id):
            raise Rejected(msg("aggregator.redeem.not_enrolled", household=household,
                               programme=programme.id))
        st = points_statement(view, programme, household)
        if st.balance < reward.points:
            raise Rejected(msg("aggregator.redeem.balance", household=household,
                               balance=st.balance, reward=reward.name, points=reward.points))
        rec = Redemption(household, programme.id, reward.id, reward.points,
                         format_time(now.replace(microsecond=0)))
        (index,) = ledger.append([canonical_bytes(sign_record(rec.to_dict(),
                                                              ledger.signer.private_key))])
    ledger.checkpoint_now()
    return RedeemResult(household, reward, index, st.balance - reward.points)


__all__ = ["RedeemResult", "redeem"]
