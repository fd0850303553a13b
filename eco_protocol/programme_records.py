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

from .encoding import hex_field
from .errors import MalformedRecord
from .records import _exact_keys, _int, _obj, _sig, _str, _time, _type

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
        _time(self.start, "period.start")
        _time(self.end, "period.end")
        if self.end_dt <= self.start_dt:
            raise MalformedRecord(f"period: end {self.end} is not after start {self.start}")

    @property
    def start_dt(self) -> datetime:
        from .encoding import parse_time

        return parse_time(self.start, "period.start")

    @property
    def end_dt(self) -> datetime:
        from .encoding import parse_time

        return parse_time(self.end, "period.end")

    def overlaps(self, other: Period) -> bool:
        return self.start_dt < other.end_dt and other.start_dt < self.end_dt

    def contains(self, start: datetime, end: datetime) -> bool:
        return self.start_dt <= start and end <= self.end_dt

    @classmethod
    def from_dict(cls, d: object, what: str = "period") -> Period:
        m = _obj(d, what)
        _exact_keys(m, {"start", "end"}, set(), what)
        return cls(_time(m["start"], f"{what}.start"), _time(m["end"], f"{what}.end"))

    def to_dict(self) -> dict[str, Any]:
        return {"start": self.start, "end": self.end}


@dataclass(frozen=True, slots=True)
class Totals:
    """A batch's totals. ``reduction_g`` may be negative (EV household-months are never clipped
    at zero) and so may the carries: a negative ``reduction_g + carry_in_g`` issues 0 t and is
    carried forward whole as ``carry_over_g``, a deficit later batches pay back first. Only
    ``credits_t`` is never negative, and the four figures must follow from each other exactly
    (:func:`eco_protocol.methodology.credits`)."""

    reduction_g: int
    carry_in_g: int
    credits_t: int
    carry_over_g: int

    def __post_init__(self) -> None:
        from .methodology import credits as follow

        for name in ("reduction_g", "carry_in_g", "carry_over_g"):
            _int(getattr(self, name), f"totals.{name}")
        _int(self.credits_t, "totals.credits_t", 0)
        credits, carry = follow(self.reduction_g + self.carry_in_g, 0)
        if (credits, carry) != (self.credits_t, self.carry_over_g):
            raise MalformedRecord(
                f"totals: credits_t {self.credits_t} / carry_over_g {self.carry_over_g} do not "
                f"follow from reduction_g {self.reduction_g} + carry_in_g {self.carry_in_g} "
                f"(expected {credits} t and {carry} g)")

    @classmethod
    def from_dict(cls, d: object, what: str = "totals") -> Totals:
        m = _obj(d, what)
        _exact_keys(m, {"reduction_g", "carry_in_g", "credits_t", "carry_over_g"}, set(), what)
        return cls(_int(m["reduction_g"], f"{what}.reduction_g"),
                   _int(m["carry_in_g"], f"{what}.carry_in_g"),
                   _int(m["credits_t"], f"{what}.credits_t", 0),
                   _int(m["carry_over_g"], f"{what}.carry_over_g"))

    def to_dict(self) -> dict[str, Any]:
        return {"reduction_g": self.reduction_g, "carry_in_g": self.carry_in_g,
                "credits_t": self.credits_t, "carry_over_g": self.carry_over_g}


@dataclass(frozen=True, slots=True)
class BatchSeal:
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

    def __post_init__(self) -> None:
        _str(self.batch_id, "batch.batch_id", 64)
        _str(self.programme, "batch.programme", 128)
        _int(self.covered_count, "batch.covered_count", 0)
        hex_field(self.covered_digest, "batch.covered_digest", 64)
        if self.methodology is not None and self.methodology not in BATCH_METHODOLOGIES:
            raise MalformedRecord(f"batch.methodology: {self.methodology!r} is not one of "
                                  f"{', '.join(BATCH_METHODOLOGIES)}")

    def competes_with(self, other: BatchSeal) -> bool:
        """Whether the two seals could credit the same reading if their periods overlapped."""
        return self.programme == other.programme and (
            self.methodology is None or other.methodology is None
            or self.methodology == other.methodology)

    @classmethod
    def from_dict(cls, d: object) -> BatchSeal:
        m = _obj(d, "batch")
        _type(m, BATCH_TYPE, "batch")
        _exact_keys(m, {"type", "batch_id", "programme", "period", "covered_count",
                        "covered_digest", "totals", "sig"}, {"methodology"}, "batch")
        meth = m.get("methodology")
        return cls(_str(m["batch_id"], "batch.batch_id", 64),
                   _str(m["programme"], "batch.programme", 128),
                   Period.from_dict(m["period"], "batch.period"),
                   _int(m["covered_count"], "batch.covered_count", 0),
                   hex_field(m["covered_digest"], "batch.covered_digest", 64),
                   Totals.from_dict(m["totals"], "batch.totals"),
                   _sig(m["sig"], "batch"),
                   None if meth is None else _str(meth, "batch.methodology", 16))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": BATCH_TYPE, "batch_id": self.batch_id,
                             "programme": self.programme, "period": self.period.to_dict(),
                             "covered_count": self.covered_count,
                             "covered_digest": self.covered_digest,
                             "totals": self.totals.to_dict()}
        if self.methodology is not None:
            d["methodology"] = self.methodology
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class Redemption:
    """``eco.redeem/v1``: a household spent ``points`` on a reward from the catalogue."""

    household: str
    programme: str
    reward: str
    points: int
    redeemed_at: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _str(self.household, "redeem.household", 128)
        _str(self.programme, "redeem.programme", 128)
        _str(self.reward, "redeem.reward", 64)
        _int(self.points, "redeem.points", 1)
        _time(self.redeemed_at, "redeem.redeemed_at")

    @classmethod
    def from_dict(cls, d: object) -> Redemption:
        m = _obj(d, "redeem")
        _type(m, REDEEM_TYPE, "redeem")
        _exact_keys(m, {"type", "household", "programme", "reward", "points", "redeemed_at",
                        "sig"}, set(), "redeem")
        return cls(_str(m["household"], "redeem.household", 128),
                   _str(m["programme"], "redeem.programme", 128),
                   _str(m["reward"], "redeem.reward", 64),
                   _int(m["points"], "redeem.points", 1),
                   _time(m["redeemed_at"], "redeem.redeemed_at"),
                   _sig(m["sig"], "redeem"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": REDEEM_TYPE, "household": self.household,
                             "programme": self.programme, "reward": self.reward,
                             "points": self.points, "redeemed_at": self.redeemed_at}
        if self.sig is not None:
            d["sig"] = self.sig
        return d


@dataclass(frozen=True, slots=True)
class Certification:
    """``eco.certify/v1``: the registry's official serial range for a sealed batch."""

    batch_id: str
    programme: str
    first: str
    last: str
    certified_at: str
    sig: str | None = None

    def __post_init__(self) -> None:
        _str(self.batch_id, "certify.batch_id", 64)
        _str(self.programme, "certify.programme", 128)
        _str(self.first, "certify.serials.first", 128)
        _str(self.last, "certify.serials.last", 128)
        _time(self.certified_at, "certify.certified_at")

    @classmethod
    def from_dict(cls, d: object) -> Certification:
        m = _obj(d, "certify")
        _type(m, CERTIFY_TYPE, "certify")
        _exact_keys(m, {"type", "batch_id", "programme", "serials", "certified_at", "sig"},
                    set(), "certify")
        s = _obj(m["serials"], "certify.serials")
        _exact_keys(s, {"first", "last"}, set(), "certify.serials")
        return cls(_str(m["batch_id"], "certify.batch_id", 64),
                   _str(m["programme"], "certify.programme", 128),
                   _str(s["first"], "certify.serials.first", 128),
                   _str(s["last"], "certify.serials.last", 128),
                   _time(m["certified_at"], "certify.certified_at"),
                   _sig(m["sig"], "certify"))

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"type": CERTIFY_TYPE, "batch_id": self.batch_id,
                             "programme": self.programme,
                             "serials": {"first": self.first, "last": self.last},
                             "certified_at": self.certified_at}
        if self.sig is not None:
            d["sig"] = self.sig
        return d


ProgrammeRecord = BatchSeal | Redemption | Certification
