"""A buyer's basket: batch reports from several member logs of a consortium, checked as one.

A credit buyer (or the verification body) holding reports from several towns asks three things
(issue 18 point 5): is each report valid on its own (exactly ``eco-verify report``: the log key,
checkpoint, seal, enrolments, arithmetic, sample, and the evidence when given); is each
checkpoint *published* under the consortium's witness policy; and is any piece of equipment
credited twice — the same claim token credited in two batches whose monitoring periods overlap,
in one log or across logs.

Where the tokens come from: each report already carries, proved against its checkpoint and
signed by its log key, the ``eco.enrol/v1`` entry of every device it credits
(``enrolments``), and each household row lists its ``devices``; an enrolment carries its claim
tokens (:mod:`eco_protocol.claim_tokens`), so the report needs no new field. A batch credits
the tokens of the devices of its households whose reduction is above zero, of the kinds its
methodology counts: a PV batch its inverters and supply points, an EV batch its chargers and
vehicles (so one household's PV batch and EV batch of one period do not clash). Tokens made
under different claim-token secrets (``key_id``) cannot be compared; the summary says how many
credited devices carried no token at all.

The log key each report is checked under is the consortium's key for the log that signed its
checkpoint: the buyer pins the consortium file, and through it every member's key.

Pure: the caller reads the files (:mod:`eco_protocol.verify_basket_cli`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .canonical import parse_json
from .claim_tokens import ClaimToken, EquipmentKind
from .consortium import Consortium
from .coverage import EV, PV
from .dispatch import parse_record
from .encoding import b64decode
from .errors import InvalidInput, ProtocolError
from .messages import said
from .messages_rules import equipment_name
from .programme_records import BatchSeal, Period
from .records import Enrolment
from .report import verify_report
from .witness_policy import require_published

CREDITED_KINDS: Final = {
    PV: frozenset({EquipmentKind.INVERTER, EquipmentKind.SUPPLY_POINT}),
    EV: frozenset({EquipmentKind.EV_CHARGER, EquipmentKind.VIN}),
}


@dataclass(frozen=True, slots=True)
class BasketItem:
    """One report of the basket: ``name`` (its file, for messages), the parsed report and,
    optionally, its evidence (checkpoint text, entries.jsonl lines)."""

    name: str
    report: object
    evidence: tuple[str, Iterable[str]] | None = None


@dataclass(frozen=True, slots=True)
class BasketBatch:
    """What one valid report credits."""

    name: str
    member: str
    batch_id: str
    methodology: str
    period: Period
    credits_t: int
    reduction_g: int
    households: int
    published: str  # the policy's one-line finding
    tokens: Mapping[ClaimToken, str]  # credited token -> the device carrying it
    untokened: int  # credited devices whose enrolment carries no token of the counted kinds
    clashes: tuple[str, ...] = ()  # tokens this batch credits through two devices

    def to_dict(self) -> dict[str, Any]:
        return {"report": self.name, "member": self.member, "batch_id": self.batch_id,
                "methodology": self.methodology, "period": self.period.to_dict(),
                "credits_t": self.credits_t, "reduction_g": self.reduction_g,
                "households": self.households, "claim_tokens": len(self.tokens),
                "devices_without_tokens": self.untokened, "published": self.published}


@dataclass
class BasketResult:
    batches: list[BasketBatch] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    # what the basket could not compare (:func:`incomparable`): said, not a refusal
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> dict[str, Any]:
        return {"ok": self.ok, "batches": [b.to_dict() for b in self.batches],
                "members": sorted({b.member for b in self.batches}),
                "credits_t": sum(b.credits_t for b in self.batches),
                "reduction_g": sum(b.reduction_g for b in self.batches),
                "problems": list(self.problems), "notes": list(self.notes)}


def verify_basket(consortium: Consortium, items: Sequence[BasketItem]) -> BasketResult:
    """Check every report, then the basket as a whole; every problem is collected (a buyer
    wants the whole list, not the first)."""
    res = BasketResult()
    for item in items:
        try:
            res.batches.append(_one(consortium, item))
        except ProtocolError as e:
            res.problems.append(said("eco_protocol.basket.item_problem", name=item.name,
                                     error=e))
    res.problems.extend(c for b in res.batches for c in b.clashes)
    res.problems.extend(_repeated(res.batches))
    res.problems.extend(double_credits(res.batches))
    res.notes.extend(incomparable(res.batches))
    return res


def _one(consortium: Consortium, item: BasketItem) -> BasketBatch:
    report = item.report
    if not isinstance(report, dict):
        raise InvalidInput.coded("eco_protocol.basket.not_a_report")
    checkpoint = report.get("checkpoint")
    if not isinstance(checkpoint, str):
        raise InvalidInput.coded("eco_protocol.basket.no_checkpoint")
    quorum = require_published(consortium, checkpoint)
    member = quorum.member
    result = verify_report(report, member.log_key.vkey, evidence=item.evidence)
    seal = _record(report["seal"], "seal")
    assert isinstance(seal, BatchSeal)  # verify_report proved it is
    enrolments = {e.device_id: e for e in (_record(x, "enrolments[]")
                                           for x in report["enrolments"])
                  if isinstance(e, Enrolment)}
    # a v1 seal without a methodology covers every quantity, so every kind of equipment
    method = seal.methodology or "all"
    kinds = CREDITED_KINDS.get(method, frozenset(EquipmentKind))
    tokens: dict[ClaimToken, str] = {}
    clashes: list[str] = []
    untokened = 0
    for hh in report["households"]:
        if not hh.get("reduction_g"):
            continue
        for device in hh.get("devices", []):
            enrolment = enrolments.get(device)
            counted = [] if enrolment is None else \
                [t for t in enrolment.claim_tokens if t.kind in kinds]
            untokened += not counted
            for t in counted:
                if consortium.token_key_ids and t.key_id not in consortium.token_key_ids:
                    clashes.append(said("eco_protocol.basket.foreign_secret", name=item.name,
                                        member=member.name, device=device, key_id=t.key_id,
                                        kind=equipment_name(t.kind),
                                        known=", ".join(consortium.token_key_ids)))
                if t in tokens and tokens[t] != device:
                    clashes.append(said("eco_protocol.basket.twice_in_batch", name=item.name,
                                        kind=equipment_name(t.kind), token=t.token[:16],
                                        member=member.name, batch=seal.batch_id,
                                        first=tokens[t], second=device))
                tokens.setdefault(t, device)
    return BasketBatch(item.name, member.name, seal.batch_id, method, seal.period,
                       result.credits_t, result.reduction_g, result.households,
                       quorum.describe(), tokens, untokened, tuple(clashes))


def _record(item: Mapping[str, Any], what: str) -> object:
    """A proved entry of a report that :func:`verify_report` accepted, as its record."""
    return parse_record(parse_json(b64decode(item["entry_b64"], f"{what}.entry_b64")))


def _repeated(batches: Sequence[BasketBatch]) -> list[str]:
    seen: dict[tuple[str, str], str] = {}
    out: list[str] = []
    for b in batches:
        key = (b.member, b.batch_id)
        if key in seen:
            out.append(said("eco_protocol.basket.repeated", name=b.name, batch=b.batch_id,
                            member=b.member, also=seen[key]))
        seen.setdefault(key, b.name)
    return out


def double_credits(batches: Sequence[BasketBatch]) -> list[str]:
    """Each claim token credited by two batches whose periods overlap."""
    out: list[str] = []
    for i, a in enumerate(batches):
        for b in batches[i + 1:]:
            if (a.member, a.batch_id) == (b.member, b.batch_id) or \
                    not a.period.overlaps(b.period):
                continue
            for token in sorted(set(a.tokens) & set(b.tokens)):
                out.append(said("eco_protocol.basket.double_credit",
                                kind=equipment_name(token.kind), token=token.token[:16],
                                a_member=a.member, a_batch=a.batch_id,
                                a_device=a.tokens[token], b_member=b.member,
                                b_batch=b.batch_id, b_device=b.tokens[token]))
    return out


def incomparable(batches: Sequence[BasketBatch]) -> list[str]:
    """Pairs of batches of two members, periods overlapping, both crediting tokens, whose tokens
    share no claim-token secret (``key_id``): no token of one can equal a token of the other, so
    :func:`double_credits` finding nothing between them proves nothing — a member using a
    secret of its own (or a rotation) hides a double credit from the basket. Said, not refused:
    rotation is legitimate, and the enrol-time look-up spans every secret a member holds."""
    out: list[str] = []
    for i, a in enumerate(batches):
        for b in batches[i + 1:]:
            ka, kb = {t.key_id for t in a.tokens}, {t.key_id for t in b.tokens}
            if a.member != b.member and ka and kb and not ka & kb and \
                    a.period.overlaps(b.period):
                out.append(said("eco_protocol.basket.incomparable", a_member=a.member,
                                a_batch=a.batch_id, a_keys=", ".join(sorted(ka)),
                                b_member=b.member, b_batch=b.batch_id,
                                b_keys=", ".join(sorted(kb))))
    return out


__all__ = ["CREDITED_KINDS", "BasketBatch", "BasketItem", "BasketResult", "double_credits",
           "incomparable", "verify_basket"]
