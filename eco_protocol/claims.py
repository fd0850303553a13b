"""The claim ledger: ``eco.claim/v1`` records each use of a reading's energy (issue 19;
docs/protocol.md §4.11), and :class:`ClaimBook` proves from the log alone that no Wh is claimed
twice.

A claim is signed by the log key like the other programme records. Its ``action``:

- ``issued``: the Wh it takes from each named PV reading (entry index and entry SHA-256) for one
  UTC hour, carried by the certificate bundle ``bundle`` (one id per Wh, ids continuing the
  log's last bundle). The Wh taken from a reading, over every issued claim, never exceed the
  share of its span's self-consumption :func:`certificates.span_shares` proves, and a reading
  a J-Credit batch already covers gives none.
- ``sealed``: a J-Credit batch (``ref`` = its ``batch_id``) took the remainder of its covered
  readings: the seal's covered readings minus the Wh issued before the seal (the batch's
  arithmetic deducts them, :func:`net_of_issued`). Listing every covered reading again would
  not fit an entry (64 KiB) for any real town, and the seal already fixes them.
- ``transferred`` and ``cancelled`` (defined now, used by accounts later): a sub-range of an
  issued bundle (``ref`` = the issuing claim) moves to ``account`` or is cancelled (retired)
  by it for the consumption ``period``; a cancelled id is never cancelled or moved again.

:class:`ClaimBook` is fed the log in index order — enrolments, readings (with their
creditability), seals, claims — by the replay (:mod:`replay`) and by the aggregator, so both
refuse the same double claim with the same words, naming both claims.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Final

from .accounts import ISSUER, ClaimRequest, NotHolder, holders_over, request_problems
from .certificates import (
    HOUR,
    NETTED,
    ProvenHour,
    SpanReading,
    face_value,
    hour_of,
    span_shares,
    within_one_hour,
)
from .coverage import LedgerReading
from .creditability import DEFAULT_RULES, CreditRules
from .encoding import format_time, hex_field, parse_time
from .errors import BadSignature, MalformedRecord
from .fields import Signed, exact_keys, int_field, json_object, sig_field, str_field, time_field
from .messages import Msg, msg, said
from .methodology import household_terms
from .programme_records import BatchSeal, Period
from .records import Enrolment, Quantity, Reading
from .request_window import too_early

CLAIM_TYPE: Final = "eco.claim/v1"
SEALED: Final = "sealed"
ISSUED: Final = "issued"
TRANSFERRED: Final = "transferred"
CANCELLED: Final = "cancelled"
ACTIONS: Final = (SEALED, ISSUED, TRANSFERRED, CANCELLED)
MAX_PARTS: Final = 64
_NEEDS: Final[Mapping[str, frozenset[str]]] = {
    SEALED: frozenset({"ref"}),
    ISSUED: frozenset({"hour", "parts", "bundle"}),
    TRANSFERRED: frozenset({"ref", "bundle", "account"}),
    CANCELLED: frozenset({"ref", "bundle", "account", "period"}),
}
_OPTIONAL: Final = frozenset({"ref", "hour", "parts", "bundle", "account", "period"})


class DoubleClaim(MalformedRecord):
    """A Wh (or a certificate id) is claimed a second time; the message names both claims."""


class AboveProven(MalformedRecord):
    """A claim takes more Wh from a reading than the energy its span proves."""


@dataclass(frozen=True, slots=True)
class ClaimPart:
    """Wh taken from one reading, named by its log entry index and entry SHA-256."""

    index: int
    entry_sha256: str
    wh: int

    @classmethod
    def from_dict(cls, d: object, what: str) -> ClaimPart:
        m = json_object(d, what)
        exact_keys(m, {"index", "entry_sha256", "wh"}, set(), what)
        return cls(int_field(m["index"], f"{what}.index", 0),
                   hex_field(m["entry_sha256"], f"{what}.entry_sha256", 64),
                   int_field(m["wh"], f"{what}.wh", 1))

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "entry_sha256": self.entry_sha256, "wh": self.wh}


@dataclass(frozen=True, slots=True)
class BundleRange:
    """Certificate ids ``first..last`` (inclusive), one per Wh."""

    first: int
    last: int

    def __post_init__(self) -> None:
        int_field(self.first, "claim.bundle.first", 1)
        int_field(self.last, "claim.bundle.last", self.first)

    @property
    def size(self) -> int:
        return self.last - self.first + 1

    def within(self, other: BundleRange) -> bool:
        return other.first <= self.first and self.last <= other.last

    def overlaps(self, other: BundleRange) -> bool:
        return self.first <= other.last and other.first <= self.last

    @classmethod
    def from_dict(cls, d: object) -> BundleRange:
        m = json_object(d, "claim.bundle")
        exact_keys(m, {"first", "last"}, set(), "claim.bundle")
        return cls(int_field(m["first"], "claim.bundle.first", 1),
                   int_field(m["last"], "claim.bundle.last", 1))

    def to_dict(self) -> dict[str, Any]:
        return {"first": self.first, "last": self.last}


@dataclass(frozen=True, slots=True)
class Claim(Signed):
    """``eco.claim/v1``: one use of readings' energy (or of issued certificate ids)."""

    claim_id: str
    action: str
    programme: str
    claimed_at: str
    ref: str | None = None
    hour: str | None = None
    parts: tuple[ClaimPart, ...] = ()
    bundle: BundleRange | None = None
    account: str | None = None
    period: Period | None = None
    sig: str | None = None
    # the holder's signed request (:mod:`accounts`), on a move of ids an account holds
    request: ClaimRequest | None = None

    TYPE = CLAIM_TYPE
    WHAT = "claim"

    def __post_init__(self) -> None:
        str_field(self.claim_id, "claim.claim_id", 128)
        if self.action not in ACTIONS:
            raise MalformedRecord.coded("eco_protocol.finding.claim.action_unknown",
                                        action=repr(self.action), allowed=", ".join(ACTIONS))
        str_field(self.programme, "claim.programme", 128)
        time_field(self.claimed_at, "claim.claimed_at")
        present = {k for k in _OPTIONAL if getattr(self, k) not in (None, ())}
        need = _NEEDS[self.action]
        if present != need:
            missing, extra = sorted(need - present), sorted(present - need)
            wrong = [*(said("eco_protocol.finding.claim.needs", field=k) for k in missing),
                     *(said("eco_protocol.finding.claim.must_not_carry", field=k) for k in extra)]
            raise MalformedRecord.coded("eco_protocol.finding.claim.shape", claim=self.claim_id,
                                        action=self.action, problems=joined(wrong))
        for name in ("ref", "account"):
            value = getattr(self, name)
            if value is not None:
                str_field(value, f"claim.{name}", 128)
        if self.hour is not None:
            at = parse_time(self.hour, "claim.hour")
            if at != hour_of(at):
                raise MalformedRecord.coded("eco_protocol.finding.claim.hour_start", hour=self.hour)
        self._check_parts()
        self._check_request()
        self.check_sig()

    def _check_request(self) -> None:
        if self.request is None:
            return
        if self.action not in (TRANSFERRED, CANCELLED) or self.bundle is None:
            raise MalformedRecord.coded("eco_protocol.finding.claim.no_request_here",
                                        claim=self.claim_id, action=self.action)
        problems = request_problems(self.request, self.action, self.ref, self.bundle.first,
                                    self.bundle.last, self.account,
                                    None if self.period is None else self.period.to_dict())
        if problems:
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_requested",
                                        claim=self.claim_id, problems=joined(problems))

    def _check_parts(self) -> None:
        if len(self.parts) > MAX_PARTS:
            raise MalformedRecord.coded("eco_protocol.finding.claim.parts_many",
                                        n=len(self.parts), max=MAX_PARTS)
        indices = [p.index for p in self.parts]
        if len(set(indices)) != len(indices):
            raise MalformedRecord.coded("eco_protocol.finding.claim.part_twice",
                                        claim=self.claim_id)
        if self.action == ISSUED and self.bundle is not None and \
                self.bundle.size != self.face_value_wh:
            raise MalformedRecord.coded("eco_protocol.finding.claim.bundle_size",
                                        claim=self.claim_id, first=self.bundle.first,
                                        last=self.bundle.last, size=self.bundle.size,
                                        wh=self.face_value_wh)

    @property
    def face_value_wh(self) -> int:
        return sum(p.wh for p in self.parts)

    @property
    def hour_dt(self) -> datetime | None:
        return None if self.hour is None else parse_time(self.hour, "claim.hour")

    @classmethod
    def from_dict(cls, d: object) -> Claim:
        m = cls.open(d, {"claim_id", "action", "programme", "claimed_at"},
                     _OPTIONAL | {"request"})
        parts = m.get("parts", [])
        if not isinstance(parts, list):
            raise MalformedRecord.coded("eco_protocol.finding.claim.parts_list")
        bundle, period, request = m.get("bundle"), m.get("period"), m.get("request")
        c = cls(m["claim_id"], m["action"], m["programme"], m["claimed_at"], m.get("ref"),
                m.get("hour"),
                tuple(ClaimPart.from_dict(p, f"claim.parts[{i}]") for i, p in enumerate(parts)),
                None if bundle is None else BundleRange.from_dict(bundle),
                m.get("account"),
                None if period is None else Period.from_dict(period, "claim.period"),
                m["sig"], None if request is None else ClaimRequest.from_dict(request))
        sig_field(c.sig, cls.WHAT)
        return c

    def body(self) -> dict[str, Any]:
        d: dict[str, Any] = {"claim_id": self.claim_id, "action": self.action,
                             "programme": self.programme, "claimed_at": self.claimed_at}
        if self.ref is not None:
            d["ref"] = self.ref
        if self.hour is not None:
            d["hour"] = self.hour
        if self.parts:
            d["parts"] = [p.to_dict() for p in self.parts]
        if self.bundle is not None:
            d["bundle"] = self.bundle.to_dict()
        if self.account is not None:
            d["account"] = self.account
        if self.period is not None:
            d["period"] = self.period.to_dict()
        if self.request is not None:
            d["request"] = self.request.to_dict()
        return d


# --- the book ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Held:
    """A creditable PV or export reading inside one hour, as the book keeps it."""

    reading: SpanReading
    household: str
    programme: str


@dataclass(slots=True)
class ClaimBook:
    """Feed a log in index order; every claim is checked against what came before it."""

    rules: CreditRules = DEFAULT_RULES
    # whether a claimed reading must be creditable under ``rules``: a replay that does not know
    # the programme's rules (``eco-verify evidence``) still proves no Wh is claimed twice, but
    # cannot judge creditability under rules it was not given
    strict: bool = True
    enrolments: dict[str, list[Enrolment]] = field(default_factory=dict)  # household → …
    _held: dict[int, _Held] = field(default_factory=dict)
    _spans: dict[tuple[str, datetime, datetime], list[int]] = field(default_factory=dict)
    # readings not yet turned into _Held: a replay meets many readings and few claims, so it
    # only keeps references per reading (speed: the replay's cost per reading stays a tuple)
    _pending: list[tuple[int, str, str, int, Quantity, str, str, str]] = field(
        default_factory=list)
    seals: list[tuple[int, BatchSeal]] = field(default_factory=list)
    claims: dict[str, tuple[int, Claim]] = field(default_factory=dict)  # claim_id → (entry, …)
    sealed: dict[str, int] = field(default_factory=dict)  # batch_id → its sealed claim's entry
    taken: dict[int, list[tuple[int, str, int]]] = field(default_factory=dict)  # reading → …
    cancelled: list[tuple[int, Claim]] = field(default_factory=list)
    transfers: list[tuple[int, int, str]] = field(default_factory=list)  # (first, last, to)
    requests: dict[str, int] = field(default_factory=dict)  # request digest → its claim entry
    next_id: int = 1

    def enrol(self, enrolment: Enrolment) -> None:
        self.enrolments.setdefault(enrolment.household, []).append(enrolment)

    def reading(self, index: int, entry_sha256: str, reading: Reading, enrolment: Enrolment,
                creditable: bool) -> None:
        """A logged reading; only creditable PV/export readings inside one hour are kept."""
        if (self.strict and not creditable) or reading.quantity not in NETTED:
            return
        self._pending.append((index, reading.start, reading.end, reading.energy_wh,
                              reading.quantity, entry_sha256, enrolment.household,
                              enrolment.programme))

    @property
    def held(self) -> dict[int, _Held]:
        """Entry index → the creditable PV or export reading inside one hour it holds."""
        self._settle()
        return self._held

    def _settle(self) -> None:
        pending, self._pending = self._pending, []
        for index, start, end, wh, quantity, sha, household, programme in pending:
            self.hold(SpanReading(index, sha, quantity, parse_time(start, "start"),
                                  parse_time(end, "end"), wh), household, programme)

    def hold(self, span: SpanReading, household: str, programme: str) -> None:
        """A creditable PV or export reading, already in the form the book keeps; one that
        does not fit inside one hour is left out."""
        if span.quantity not in NETTED or not within_one_hour(span.start, span.end):
            return
        self._held[span.index] = _Held(span, household, programme)
        self._spans.setdefault((household, span.start, span.end), []).append(span.index)

    def seal(self, index: int, seal: BatchSeal) -> None:
        self.seals.append((index, seal))

    def issued_wh(self, reading_index: int, before: int | None = None) -> int:
        """Wh issued from a reading by claims logged before entry ``before`` (default: all)."""
        return sum(wh for at, _, wh in self.taken.get(reading_index, ())
                   if before is None or at < before)

    def share(self, reading_index: int) -> int:
        """The Wh of its span's self-consumption a held reading proves (0 if not held)."""
        h = self.held.get(reading_index)
        if h is None:
            return 0
        r = h.reading
        span = [self._held[i].reading for i in self._spans[(h.household, r.start, r.end)]]
        terms = household_terms(self.enrolments.get(h.household, []))
        return span_shares(span, terms, self.rules).get(reading_index, 0)

    def sealing(self, reading_index: int) -> tuple[int, BatchSeal] | None:
        """The PV seal that covers a held reading, if one does."""
        h = self.held[reading_index]
        for at, s in self.seals:
            if at > reading_index and s.programme == h.programme and \
                    s.methodology in (None, "pv") and \
                    s.period.contains(h.reading.start, h.reading.end):
                return at, s
        return None

    def free_parts(self, hour: ProvenHour) -> list[ClaimPart]:
        """What of a proven hour a new issued claim may still take: per reading, its share
        minus what earlier claims issued, rounded down to whole Wh, and nothing from a reading
        a batch sealed. The aggregator plans with it, so it never plans a refused claim."""
        out = []
        for index, share in hour.shares.items():
            if self.sealing(index) is not None:
                continue
            wh = face_value(share, self.issued_wh(index))
            if wh > 0:
                out.append(ClaimPart(index, hour.hashes[index], wh))
        return out

    def claim(self, index: int, claim: Claim) -> None:
        """Check the claim at entry ``index`` against the log before it, then record it."""
        if claim.claim_id in self.claims:
            raise MalformedRecord.coded("eco_protocol.finding.claim.id_used", claim=claim.claim_id,
                                        index=self.claims[claim.claim_id][0])
        if claim.action == SEALED:
            self._sealed(index, claim)
        elif claim.action == ISSUED:
            self._issued(index, claim)
        else:
            self._moved(index, claim)
        self.claims[claim.claim_id] = (index, claim)

    def _sealed(self, index: int, claim: Claim) -> None:
        if not any(s.batch_id == claim.ref and s.programme == claim.programme
                   for _, s in self.seals):
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_sealed",
                                        claim=claim.claim_id, batch=claim.ref,
                                        programme=claim.programme, index=index)
        assert claim.ref is not None
        if claim.ref in self.sealed:
            raise DoubleClaim.coded("eco_protocol.finding.claim.batch_twice", batch=claim.ref,
                                    sealed=self.sealed[claim.ref], claim=claim.claim_id,
                                    index=index)
        self.sealed[claim.ref] = index

    def _issued(self, index: int, claim: Claim) -> None:
        assert claim.bundle is not None and claim.hour_dt is not None
        households = set()
        for p in claim.parts:
            h = self._part_reading(claim, p)
            households.add(h.household)
            if hour_of(h.reading.start) != claim.hour_dt:
                raise MalformedRecord.coded("eco_protocol.finding.claim.not_in_hour",
                                            claim=claim.claim_id,
                                            entry=p.index, hour=claim.hour)
            sealed = self.sealing(p.index)
            if sealed is not None:
                at, s = sealed
                name = (msg("eco_protocol.finding.claim.sealed_claim_of",
                            index=self.sealed[s.batch_id])
                        if s.batch_id in self.sealed else msg("eco_protocol.finding.claim.seal_of",
                                                              index=at))
                raise DoubleClaim.coded("eco_protocol.finding.claim.sealed_twice",
                                        entry=p.index, batch=s.batch_id,
                                        name=name, claim=claim.claim_id, index=index)
            self._within_share(index, claim, p)
        if len(households) != 1:
            raise MalformedRecord.coded("eco_protocol.finding.claim.households",
                                        claim=claim.claim_id,
                                        n=len(households))
        if claim.bundle.first != self.next_id:
            raise MalformedRecord.coded("eco_protocol.finding.claim.next_id", claim=claim.claim_id,
                                        first=claim.bundle.first, next=self.next_id)
        self.next_id = claim.bundle.last + 1
        for p in claim.parts:
            self.taken.setdefault(p.index, []).append((index, claim.claim_id, p.wh))

    def _part_reading(self, claim: Claim, p: ClaimPart) -> _Held:
        h = self.held.get(p.index)
        if h is None:
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_pv_reading",
                                        claim=claim.claim_id,
                                        entry=p.index)
        if h.reading.quantity is not Quantity.PV_GENERATION:
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_pv",
                                        claim=claim.claim_id, entry=p.index,
                                        quantity=h.reading.quantity.value)
        if h.reading.entry_sha256 != p.entry_sha256:
            raise MalformedRecord.coded("eco_protocol.finding.claim.sha256",
                                        claim=claim.claim_id, entry=p.index,
                                        actual=h.reading.entry_sha256, said=p.entry_sha256)
        if h.programme != claim.programme:
            raise MalformedRecord.coded("eco_protocol.finding.claim.programme",
                                        claim=claim.claim_id, entry=p.index,
                                        actual=h.programme, programme=claim.programme)
        return h

    def _within_share(self, index: int, claim: Claim, p: ClaimPart) -> None:
        """Σ Wh issued from the reading ≤ its share of the span's self-consumption; without
        the programme's rules (not ``strict``), ≤ the energy the reading itself generated,
        the bound that holds under any rules."""
        if self.strict:
            share, proves = self.share(p.index), msg("eco_protocol.finding.claim.self_consumed")
        else:
            share = self.held[p.index].reading.energy_wh
            proves = msg("eco_protocol.finding.claim.generated")
        before = self.taken.get(p.index, [])
        already = sum(wh for _, _, wh in before)
        if already + p.wh <= share:
            return
        if before:
            at, other, wh = before[-1]
            raise DoubleClaim.coded("eco_protocol.finding.claim.claimed_twice",
                                    entry=p.index, share=share,
                                    proves=proves, other=other, at=at, wh=wh, already=already,
                                    claim=claim.claim_id, index=index, more=p.wh)
        raise AboveProven.coded("eco_protocol.finding.claim.above_proven",
                                claim=claim.claim_id, wh=p.wh, entry=p.index,
                                share=share, proves=proves)

    def _moved(self, index: int, claim: Claim) -> None:
        assert claim.bundle is not None
        found = self.claims.get(claim.ref or "")
        if found is None or found[1].action != ISSUED:
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_issued_bundle",
                                        claim=claim.claim_id,
                                        ref=claim.ref)
        issued = found[1].bundle
        assert issued is not None
        if not claim.bundle.within(issued):
            raise MalformedRecord.coded("eco_protocol.finding.claim.not_within",
                                        claim=claim.claim_id,
                                        first=claim.bundle.first, last=claim.bundle.last,
                                        ref=claim.ref, bfirst=issued.first, blast=issued.last)
        for at, other in self.cancelled:
            assert other.bundle is not None
            if other.bundle.overlaps(claim.bundle):
                raise DoubleClaim.coded("eco_protocol.finding.claim.ids_twice",
                                        first=claim.bundle.first,
                                        last=claim.bundle.last, other=other.claim_id, at=at,
                                        action=claim.action, claim=claim.claim_id, index=index)
        self._by_holder(index, claim)
        if claim.action == CANCELLED:
            self.cancelled.append((index, claim))
        else:
            self.transfers.append((claim.bundle.first, claim.bundle.last, claim.account or ""))

    def holders(self, ids: BundleRange) -> dict[str, int]:
        """Who holds certificate ids ``ids`` now: account → how many (:data:`ISSUER`
        for ids never transferred)."""
        return holders_over(ids.first, ids.last, self.transfers)

    def _by_holder(self, index: int, claim: Claim) -> None:
        """Ids the issuer holds move by the log key's claim alone, never by a request (a
        request is an account's, and no account holds them); ids an account holds move only
        with that account's signed request. Any request a claim carries must verify and is used
        once (:mod:`accounts`)."""
        assert claim.bundle is not None
        held = self.holders(claim.bundle)
        what = msg("eco_protocol.finding.claim.what",
                   claim=claim.claim_id, index=index, action=claim.action)
        r = claim.request
        if set(held) != {ISSUER}:
            if len(held) > 1:
                raise MalformedRecord.coded("eco_protocol.finding.claim.many_holders", what=what,
                                            first=claim.bundle.first, last=claim.bundle.last,
                                            holders=sorted(held))
            (holder,) = held
            if r is None or r.holder != holder:
                raise NotHolder.coded("eco_protocol.finding.claim.no_request",
                                      what=what, first=claim.bundle.first,
                                      last=claim.bundle.last, holder=holder)
        if r is None:
            return
        if set(held) == {ISSUER}:  # a stranger's signed request must not move the town's ids
            raise NotHolder.coded("eco_protocol.finding.claim.request_on_issuer_ids", what=what,
                                  first=claim.bundle.first, last=claim.bundle.last,
                                  holder=r.holder)
        try:
            r.verify()
        except BadSignature as e:
            raise NotHolder.coded("eco_protocol.finding.claim.request_unsigned",
                                  what=what, holder=r.holder,
                                  error=e) from e
        early = too_early(r.requested_at, claim.claimed_at, what)  # a move dated before asked
        if early is not None:
            raise MalformedRecord.of(early)
        if r.digest in self.requests:
            raise DoubleClaim.coded("eco_protocol.finding.claim.request_reused", what=what,
                                    index=self.requests[r.digest])
        self.requests[r.digest] = index


def bundle_problems(bundle: Mapping[str, Any], claim: Claim) -> list[str]:
    """How a certificate bundle's JSON (:meth:`certificates.CertificateBundle.to_dict`)
    departs from the issued claim it says it comes from; empty when it agrees. The part of a
    buyer's offline check that needs only the two (the claim's place in the log and its
    replay are checked by the replay)."""
    if claim.action != ISSUED or claim.bundle is None or claim.hour_dt is None:
        return [said("eco_protocol.finding.claim.not_issued", claim=claim.claim_id)]
    start = claim.hour_dt
    want = {"issuance_id": claim.claim_id,
            "certificate_bundle_id_range_start": claim.bundle.first,
            "certificate_bundle_id_range_end": claim.bundle.last,
            "bundle_quantity": claim.face_value_wh, "face_value": 1, "face_value_unit": "Wh",
            "production_starting_interval": format_time(start),
            "production_ending_interval": format_time(start + HOUR),
            "dissemination_level": "self_consumed"}
    out: list[str] = [said("eco_protocol.finding.claim.field", field=k, said=bundle.get(k), want=v)
                      for k, v in want.items() if bundle.get(k) != v]
    link = bundle.get("hash")
    readings = link.get("readings") if isinstance(link, Mapping) else None
    if readings != [p.to_dict() for p in claim.parts]:
        out.append(said("eco_protocol.finding.claim.readings"))
    return out


def joined(problems: Sequence[str]) -> Msg | str:
    """Problems as one finding, ``a; b; c`` (Japanese ``a。b。c``), each in the reader's language
    when it is a :class:`~eco_protocol.messages.Said` string (its English as it always was)."""
    if len(problems) <= 1:
        return problems[0] if problems else ""
    return msg("eco_protocol.finding.joined", head=problems[0], tail=joined(problems[1:]))


def issued_by_reading(claims: Iterable[tuple[int, Claim]], before: int) -> dict[int, int]:
    """Wh issued as certificates from each reading (entry index → Wh) by the claims logged
    before entry ``before`` (``claims``: (entry index, claim) pairs): what a batch sealed at
    ``before`` must not credit again. The aggregator and the report verifier both use it."""
    out: dict[int, int] = {}
    for index, claim in claims:
        if index < before and claim.action == ISSUED:
            for p in claim.parts:
                out[p.index] = out.get(p.index, 0) + p.wh
    return out


def net_of_issued(covered: Sequence[LedgerReading],
                  issued: Mapping[int, int]) -> list[LedgerReading]:
    """A batch's covered readings with the Wh issued as certificates taken off their PV
    generation (``issued``: entry index → Wh), so the PV methodology's netting credits only the
    rest. A reading's issued Wh never exceed its span's self-consumption (the book refuses
    more), so the span's self-consumption falls by exactly the issued Wh. Without issued Wh the
    readings are returned unchanged, so old batches compute exactly as before."""
    if not issued:
        return list(covered)
    return [replace(r, energy_wh=r.energy_wh - issued[r.index])
            if r.index in issued and r.quantity is Quantity.PV_GENERATION else r
            for r in covered]


__all__ = ["ACTIONS", "CANCELLED", "CLAIM_TYPE", "ISSUED", "SEALED", "TRANSFERRED",
           "AboveProven", "BundleRange", "Claim", "ClaimBook", "ClaimPart", "DoubleClaim",
           "bundle_problems", "issued_by_reading", "joined",
           "net_of_issued"]
