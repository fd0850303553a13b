"""Programme records of the ledger (docs/protocol.md §4 and §5), all signed by the log key.

``eco.redeem/v1`` (a household spends eco-points), ``eco.batch/v1`` (the seal of a J-Credit
batch) and ``eco.certify/v1`` (the official serial range the registry assigned to a sealed batch).
docs/protocol.md names the seal's fields; the redemption and certification fields are ours and are
listed in the README's protocol section.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from .encoding import hex_field, parse_time
from .errors import MalformedRecord
from .fields import Signed, exact_keys, int_field, json_object, sig_field, str_field, time_field

REDEEM_TYPE: Final = "eco.redeem/v1"
BATCH_TYPE: Final = "eco.batch/v1"
CERTIFY_TYPE: Final = "eco.certify/v1"
BATCH_METHODOLOGIES: Final = ("pv", "ev")


@dataclass(frozen=True, slots=True)
class Period:
    """A monitoring period [start, end) in UTC; batches of a programme never overlap."""

    start: str
    end: str

    def __post_init__(self) -> None:
        time_field(self.start, "period.start")
        time_field(self.end, "period.end")
        if self.end_dt <= self.start_dt:
            raise MalformedRecord.coded("eco_protocol.finding.record.period",
                                        end=self.end, start=self.start)

    @property
    def start_dt(self) -> datetime:
        return parse_time(self.start, "period.start")

    @property
    def end_dt(self) -> datetime:
        return parse_time(self.end, "period.end")

    def overlaps(self, other: Period) -> bool:
        return self.start_dt < other.end_dt and other.start_dt < self.end_dt

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start_dt <= start and end <= self.end_dt

    @classmethod
    def from_dict(cls, d: object, what: str = "period") -> Period:
        m = json_object(d, what)
        exact_keys(m, {"start", "end"}, set(), what)
        return cls(time_field(m["start"], f"{what}.start"), time_field(m["end"], f"{what}.end"))

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


GRAMS_PER_TONNE: Final = 1_000_000


def credits(reduction_g: int, carry_in_g: int) -> tuple[int, int]:
    """(whole tonnes issued, grams carried to the next batch); :mod:`methodology` re-exports it.

    It lives beside the record whose totals must follow it: methodology imports the record
    modules, so a record module importing methodology would close a circle.

    A negative sum (EV months that emitted more than they avoided, or a deficit carried in)
    issues nothing and carries the whole deficit forward, so later batches pay it back before
    any tonne is issued; flooring it into negative tonnes would be meaningless, and dropping it
    would over-credit."""
    total = reduction_g + carry_in_g
    if total < 0:
        return 0, total
    return divmod(total, GRAMS_PER_TONNE)


@dataclass(frozen=True, slots=True)
class Totals:
    """A batch's totals. ``reduction_g`` may be negative (EV household-months are never clipped
    at zero) and so may the carries: a negative ``reduction_g + carry_in_g`` issues 0 t and is
    carried forward whole as ``carry_over_g``, a deficit later batches pay back first. Only
    ``credits_t`` is never negative, and the four figures must follow from each other exactly
    (:func:`credits`)."""

    reduction_g: int
    carry_in_g: int
    credits_t: int
    carry_over_g: int

    def __post_init__(self) -> None:
        for name in ("reduction_g", "carry_in_g", "carry_over_g"):
            int_field(getattr(self, name), f"totals.{name}")
        int_field(self.credits_t, "totals.credits_t", 0)
        credits_t, carry = credits(self.reduction_g + self.carry_in_g, 0)
        if (credits_t, carry) != (self.credits_t, self.carry_over_g):
            raise MalformedRecord.coded("eco_protocol.finding.record.totals",
                                        credits_t=self.credits_t,
                                        carry=self.carry_over_g, reduction=self.reduction_g,
                                        carry_in=self.carry_in_g, want_t=credits_t, want_g=carry)

    @classmethod
    def from_dict(cls, d: object, what: str = "totals") -> Totals:
        m = json_object(d, what)
        exact_keys(m, {"reduction_g", "carry_in_g", "credits_t", "carry_over_g"}, set(), what)
        return cls(int_field(m["reduction_g"], f"{what}.reduction_g"),
                   int_field(m["carry_in_g"], f"{what}.carry_in_g"),
                   int_field(m["credits_t"], f"{what}.credits_t", 0),
                   int_field(m["carry_over_g"], f"{what}.carry_over_g"))

    def to_dict(self) -> dict[str, Any]:
        return {"reduction_g": self.reduction_g, "carry_in_g": self.carry_in_g,
                "credits_t": self.credits_t, "carry_over_g": self.carry_over_g}


@dataclass(frozen=True, slots=True)
class BatchSeal(Signed):
    """``eco.batch/v1``: what a batch covers, fixed in the log before anyone sees a report.

    ``methodology`` (v1.1): ``"pv"`` (household PV, EN-R-002) or ``"ev"``; a batch is of one
    methodology and covers only its quantities. A seal without it (written by v1) covers every
    quantity and is treated as overlapping the programme's batches of either methodology."""

    batch_id: str
    programme: str
    period: Period
    covered_count: int
    covered_digest: str
    totals: Totals
    sig: str | None = None
    methodology: str | None = None

    TYPE = BATCH_TYPE
    WHAT = "batch"

    def __post_init__(self) -> None:
        str_field(self.batch_id, "batch.batch_id", 64)
        str_field(self.programme, "batch.programme", 128)
        int_field(self.covered_count, "batch.covered_count", 0)
        hex_field(self.covered_digest, "batch.covered_digest", 64)
        if self.methodology is not None and self.methodology not in BATCH_METHODOLOGIES:
            raise MalformedRecord.coded("eco_protocol.finding.record.batch_methodology",
                                        value=repr(self.methodology),
                                        allowed=", ".join(BATCH_METHODOLOGIES))

    def competes_with(self, other: BatchSeal) -> bool:
        """Whether the two seals could credit the same reading if their periods overlapped."""
        return self.programme == other.programme and (
            self.methodology is None or other.methodology is None
            or self.methodology == other.methodology)

    @classmethod
    def from_dict(cls, d: object) -> BatchSeal:
        m = cls.open(d, {"batch_id", "programme", "period", "covered_count", "covered_digest",
                         "totals"}, {"methodology"})
        meth = m.get("methodology")
        return cls(str_field(m["batch_id"], "batch.batch_id", 64),
                   str_field(m["programme"], "batch.programme", 128),
                   Period.from_dict(m["period"], "batch.period"),
                   int_field(m["covered_count"], "batch.covered_count", 0),
                   hex_field(m["covered_digest"], "batch.covered_digest", 64),
                   Totals.from_dict(m["totals"], "batch.totals"),
                   sig_field(m["sig"], "batch"),
                   None if meth is None else str_field(meth, "batch.methodology", 16))

    def body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"batch_id": self.batch_id, "programme": self.programme,
                             "period": self.period.to_dict(),
                             "covered_count": self.covered_count,
                             "covered_digest": self.covered_digest,
                             "totals": self.totals.to_dict()}
        if self.methodology is not None:
            d["methodology"] = self.methodology
        return d


@dataclass(frozen=True, slots=True)
class Redemption(Signed):
    """``eco.redeem/v1``: a household spent ``points`` on a reward from the catalogue."""

    household: str
    programme: str
    reward: str
    points: int
    redeemed_at: str
    sig: str | None = None

    TYPE = REDEEM_TYPE
    WHAT = "redeem"

    def __post_init__(self) -> None:
        str_field(self.household, "redeem.household", 128)
        str_field(self.programme, "redeem.programme", 128)
        str_field(self.reward, "redeem.reward", 64)
        int_field(self.points, "redeem.points", 1)
        time_field(self.redeemed_at, "redeem.redeemed_at")

    @classmethod
    def from_dict(cls, d: object) -> Redemption:
        m = cls.open(d, {"household", "programme", "reward", "points", "redeemed_at"})
        # __post_init__ checks the fields, in this order; the signature after them
        r = cls(m["household"], m["programme"], m["reward"], m["points"], m["redeemed_at"],
                m["sig"])
        sig_field(r.sig, cls.WHAT)
        return r

    def body(self) -> dict[str, Any]:
        return {"household": self.household, "programme": self.programme, "reward": self.reward,
                "points": self.points, "redeemed_at": self.redeemed_at}


@dataclass(frozen=True, slots=True)
class Certification(Signed):
    """``eco.certify/v1``: the registry's official serial range for a sealed batch."""

    batch_id: str
    programme: str
    first: str
    last: str
    certified_at: str
    sig: str | None = None

    TYPE = CERTIFY_TYPE
    WHAT = "certify"

    def __post_init__(self) -> None:
        str_field(self.batch_id, "certify.batch_id", 64)
        str_field(self.programme, "certify.programme", 128)
        str_field(self.first, "certify.serials.first", 128)
        str_field(self.last, "certify.serials.last", 128)
        time_field(self.certified_at, "certify.certified_at")

    @classmethod
    def from_dict(cls, d: object) -> Certification:
        m = cls.open(d, {"batch_id", "programme", "serials", "certified_at"})
        s = json_object(m["serials"], "certify.serials")
        exact_keys(s, {"first", "last"}, set(), "certify.serials")
        # __post_init__ checks the fields, in this order; the signature after them
        c = cls(m["batch_id"], m["programme"], s["first"], s["last"], m["certified_at"],
                m["sig"])
        sig_field(c.sig, cls.WHAT)
        return c

    def body(self) -> dict[str, Any]:
        return {"batch_id": self.batch_id, "programme": self.programme,
                "serials": {"first": self.first, "last": self.last},
                "certified_at": self.certified_at}


ProgrammeRecord = BatchSeal | Redemption | Certification
