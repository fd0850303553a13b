"""Which logged readings may earn credit: one pure function of the log prefix (docs/protocol.md
§2 "interval discipline" and §3 "non-creditable entries"; docs/methodology.md "programme rules").

A correctly signed reading that continues its device's chain always enters the log, so one bad
interval never stalls a device. Whether it *counts* is decided here, from the reading, its
device's enrolment, the previous reading of the same (device, meter) and the programme's rules —
nothing else. The aggregator applies it at ingest (the receipt says ``"creditable": false`` and
why), and the points, the batches, the audit and the buyer's ``eco-verify`` apply the very same
function while replaying the log, so every party excludes exactly the same readings.

Conservative by construction: a reading is creditable only if every rule holds; an exclusion is
never "corrected" (a 300-day interval is not cut down to a legal one, it credits nothing).
"""

from __future__ import annotations

import enum
import functools
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Final

from .encoding import JST, parse_time
from .errors import MalformedRecord
from .records import ENERGY_EXCUSING_FLAGS, Enrolment, Flag, MeterSpec, Quantity, Reading


class Rule(enum.StrEnum):
    """Why a reading is not creditable. The value is the stable code a receipt's reason starts
    with and the report counts by; :data:`RULE_TEXT` says it in words."""

    QUARANTINED = "quarantined"
    UNKNOWN_METER = "unknown_meter"
    QUANTITY_MISMATCH = "quantity_mismatch"
    BAD_INTERVAL = "bad_interval"
    MISALIGNED = "misaligned"
    OVER_LONG = "over_long"
    OVERLAP = "overlap"
    REGISTER_DISCONTINUITY = "register_discontinuity"
    ENERGY_MISMATCH = "energy_mismatch"
    IMPLAUSIBLE = "implausible"
    CLOCK_UNSYNCED = "clock_unsynced"
    BEFORE_JOINING = "before_joining"
    OUTSIDE_CREDITING_PERIOD = "outside_crediting_period"
    EQUIPMENT_TOO_OLD = "equipment_too_old"
    BAD_ENROLMENT = "bad_enrolment"


RULE_TEXT: Final[Mapping[Rule, str]] = {
    Rule.QUARANTINED: "the device is quarantined: its key signed two histories (a fork) and "
                      "the operator has not released it",
    Rule.UNKNOWN_METER: "the meter is not in the device's enrolment",
    Rule.QUANTITY_MISMATCH: "the quantity differs from the enrolled meter's",
    Rule.BAD_INTERVAL: "the interval ends before it starts",
    Rule.MISALIGNED: "the interval is not aligned to the programme's interval length",
    Rule.OVER_LONG: "the interval spans several intervals without gap_filled, or more than "
                    "the longest gap allowed",
    Rule.OVERLAP: "the interval overlaps an earlier reading of the same meter",
    Rule.REGISTER_DISCONTINUITY: "the register does not continue from the meter's previous "
                                 "reading and no reset, replacement or rollover is flagged",
    Rule.ENERGY_MISMATCH: "the energy differs from the register difference without a flag",
    Rule.IMPLAUSIBLE: "more energy than the meter's rated power allows in the interval",
    Rule.CLOCK_UNSYNCED: "the device's clock was not synchronised",
    Rule.BEFORE_JOINING: "the interval starts before the member joined the programme",
    Rule.OUTSIDE_CREDITING_PERIOD: "the interval lies outside the programme's crediting period",
    Rule.EQUIPMENT_TOO_OLD: "the equipment was installed too long before joining",
    Rule.BAD_ENROLMENT: "the enrolment lacks a date the rules need",
}


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A reading is logged but credits nothing, under ``rule``; ``detail`` gives the figures."""

    rule: Rule
    detail: str

    @property
    def reason(self) -> str:
        return f"{self.rule.value}: {self.detail}"


def parse_day(text: object, what: str) -> date:
    """A JST calendar day written ``YYYY-MM-DD``, one spelling only; a MalformedRecord naming
    ``what`` otherwise."""
    if not isinstance(text, str):
        raise MalformedRecord.coded("eco_protocol.finding.rules.day_type",
                                    what=what, value=repr(text))
    try:
        d = date.fromisoformat(text)
    except ValueError as e:
        raise MalformedRecord.coded("eco_protocol.finding.rules.day",
                                    what=what, value=repr(text)) from e
    if d.isoformat() != text:
        raise MalformedRecord.coded("eco_protocol.finding.rules.day_spelling",
                                    what=what, value=repr(text))
    return d


def _utc(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def jst_midnight(d: date) -> datetime:
    """The instant a JST calendar day begins."""
    return datetime.combine(d, time(), JST)


def add_years(d: date, years: int) -> date:
    """``d`` plus whole years; 29 February becomes 28 February in a common year."""
    try:
        return d.replace(year=d.year + years)
    except ValueError:
        return d.replace(year=d.year + years, day=28)


BATTERY_POLICIES: Final = ("daily", "exclude")


@dataclass(frozen=True, slots=True)
class CreditRules:
    """A programme's rules (docs/methodology.md "Programme rules"), each with its conservative
    default. They travel inside every batch report (``methodology.rules``), signed, so a buyer
    recomputes the exclusions under exactly the rules the municipality applied."""

    interval_s: int = 1800  # P: every interval is aligned to P and k × P long
    max_gap_intervals: int = 48  # largest k of a gap_filled reading
    max_equipment_age_years: int = 2  # installed at most this long before joining
    crediting_years: int = 8  # from registration…
    registered: str | None = None  # …the programme's registration day (JST), if registered
    crediting_until: str = "2031-03-31"  # …and never after this JST day
    battery: str = "daily"  # battery homes: self-consumption netted per day, or "exclude"
    project_emission_ppm: int = 6000  # inverter's own consumption: 0.6 % of the PV baseline
    ev_real_wh_per_km: int | None = None  # configured real-world EV consumption (worse of two)
    demonstration: bool = False  # a demonstration may seal illustrative factors, marked so

    def __post_init__(self) -> None:
        if not 60 <= self.interval_s <= 86400 or 86400 % self.interval_s:
            raise MalformedRecord.coded("eco_protocol.finding.rules.interval",
                                        value=self.interval_s)
        if not 1 <= self.max_gap_intervals <= 10_000:
            raise MalformedRecord.coded("eco_protocol.finding.rules.range",
                                        name="max_gap_intervals",
                                        value=self.max_gap_intervals, lo=1, hi=10000)
        for name in ("max_equipment_age_years", "crediting_years"):
            if not 0 <= getattr(self, name) <= 100:
                raise MalformedRecord.coded("eco_protocol.finding.rules.range", name=name,
                                            value=getattr(self, name), lo=0, hi=100)
        if self.registered is not None:
            parse_day(self.registered, "rules.registered")
        parse_day(self.crediting_until, "rules.crediting_until")
        if self.battery not in BATTERY_POLICIES:
            raise MalformedRecord.coded("eco_protocol.finding.rules.battery",
                                        value=repr(self.battery),
                                        allowed=", ".join(BATTERY_POLICIES))
        if not 0 <= self.project_emission_ppm <= 1_000_000:
            raise MalformedRecord.coded("eco_protocol.finding.rules.range",
                                        name="project_emission_ppm",
                                        value=self.project_emission_ppm, lo=0, hi=1000000)
        if self.ev_real_wh_per_km is not None and not 1 <= self.ev_real_wh_per_km <= 10_000:
            raise MalformedRecord.coded("eco_protocol.finding.rules.range",
                                        name="ev_real_wh_per_km",
                                        value=self.ev_real_wh_per_km, lo=1, hi=10000)

    @property
    def crediting_start(self) -> datetime | None:
        return _crediting_window(self.registered, self.crediting_until, self.crediting_years)[0]

    @property
    def crediting_end(self) -> datetime:
        """The instant crediting stops: the earlier of registration + years and the day after
        ``crediting_until``."""
        return _crediting_window(self.registered, self.crediting_until, self.crediting_years)[1]

    def to_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, d: object) -> CreditRules:
        if not isinstance(d, Mapping):
            raise MalformedRecord.coded("eco_protocol.finding.rules.object")
        names = {f.name for f in fields(cls)}
        unknown = set(d) - names
        if unknown:
            raise MalformedRecord.coded("eco_protocol.field.unknown", what="rules",
                                        fields=", ".join(sorted(unknown)))
        kinds: dict[str, tuple[type, ...]] = {
            "registered": (str, type(None)), "crediting_until": (str,), "battery": (str,),
            "ev_real_wh_per_km": (int, type(None)), "demonstration": (bool,)}
        for k, v in d.items():
            want = kinds.get(k, (int,))
            if not isinstance(v, want) or (isinstance(v, bool) and bool not in want):
                raise MalformedRecord.coded("eco_protocol.finding.rules.wrong_type",
                                            name=k, value=repr(v))
        return cls(**dict(d))


DEFAULT_RULES: Final = CreditRules()


@dataclass(frozen=True, slots=True)
class MeterCursor:
    """What the next reading of one (device, meter) must continue from."""

    end: datetime
    register_end_wh: int


def joined_at(enrolment: Enrolment) -> datetime:
    """When the member's reductions may start counting: the enrolment, or a later ``fit.joined``
    day (JST) if the enrolment names one. An earlier ``joined`` never back-dates crediting."""
    at = parse_time(enrolment.enrolled_at, "enrol.enrolled_at")
    joined = enrolment.fit.get("joined")
    if joined is not None:
        at = max(at, jst_midnight(parse_day(joined, "enrol.fit.joined")))
    return at


def judge_reading(reading: Reading, enrolment: Enrolment, cursor: MeterCursor | None,
                  rules: CreditRules = DEFAULT_RULES,
                  known: Prejudged | None = None) -> Exclusion | None:
    """``None`` if the reading may credit, else the first rule it breaks (in a fixed order, so
    every party names the same one). ``known``: :func:`prejudge` of this reading, enrolment and
    rules, if the caller worked it out already (the ingest does, before it takes the store's
    write lock, so that only the cursor's rules are judged under it)."""
    pj = prejudge(reading, enrolment, rules) if known is None else known
    if pj.before is not None or cursor is None:
        return pj.before if pj.before is not None else pj.after
    if reading.start_dt < cursor.end:
        # the meter was found by this id (else pj.before is UNKNOWN_METER)
        return Exclusion(Rule.OVERLAP, f"starts {reading.start}, before the end of meter "
                                       f"{reading.meter!r}'s previous reading "
                                       f"({_utc(cursor.end)})")
    if reading.register_start_wh != cursor.register_end_wh and not pj.excused:
        return Exclusion(Rule.REGISTER_DISCONTINUITY,
                         f"register_start_wh {reading.register_start_wh} ≠ the previous "
                         f"register_end_wh {cursor.register_end_wh}")
    return pj.after


@dataclass(frozen=True, slots=True)
class Prejudged:
    """:func:`judge_reading` without the meter's cursor, which is the only state its rules
    need: the first rule broken among those judged before the cursor's (``before``), else the
    first broken among those after them (``after``), and whether a flag excuses the energy
    rules (``excused``, which the register-continuity rule needs too)."""

    before: Exclusion | None
    after: Exclusion | None = None
    excused: bool = False


def prejudge(reading: Reading, enrolment: Enrolment,
             rules: CreditRules = DEFAULT_RULES) -> Prejudged:
    """Every rule of :func:`judge_reading` but the cursor's, for ``known``."""
    before = _before_cursor(reading, enrolment, rules)
    if isinstance(before, Exclusion):
        return Prejudged(before)
    excused = any(f in ENERGY_EXCUSING_FLAGS for f in reading.flags)
    return Prejudged(None, _after_cursor(reading, rules, excused, *before), excused)


def _before_cursor(reading: Reading, enrolment: Enrolment, rules: CreditRules
                   ) -> Exclusion | tuple[Enrolment, MeterSpec, datetime, datetime, int]:
    """The first rule broken before the cursor's, or what the later rules need: (enrolment,
    meter, start, end, seconds), so that they need not work it out again."""
    meter = enrolment.meter(reading.meter)
    if meter is None:
        return Exclusion(Rule.UNKNOWN_METER, f"meter {reading.meter!r} is not enrolled for "
                                             f"device {reading.device_id}")
    if meter.quantity != reading.quantity:
        return Exclusion(Rule.QUANTITY_MISMATCH,
                         f"meter {meter.id!r} is enrolled for {meter.quantity.value}, the "
                         f"reading says {reading.quantity.value}")
    start, end = reading.start_dt, reading.end_dt
    seconds = int((end - start).total_seconds())
    if seconds <= 0:
        return Exclusion(Rule.BAD_INTERVAL, f"end {reading.end} is not after start "
                                            f"{reading.start}")
    p = rules.interval_s
    if int(start.timestamp()) % p or seconds % p:
        return Exclusion(Rule.MISALIGNED, f"{reading.start}..{reading.end} is not a whole "
                                          f"number of {p} s intervals from an aligned start")
    k = seconds // p
    if k > 1 and Flag.GAP_FILLED not in reading.flags:
        return Exclusion(Rule.OVER_LONG, f"{k} intervals of {p} s without the gap_filled flag")
    if k > rules.max_gap_intervals:
        return Exclusion(Rule.OVER_LONG, f"{k} intervals of {p} s, more than the programme's "
                                         f"longest gap of {rules.max_gap_intervals}")
    return enrolment, meter, start, end, seconds


@functools.lru_cache(maxsize=64)
def _crediting_window(registered: str | None, crediting_until: str,
                      crediting_years: int) -> tuple[datetime | None, datetime]:
    """:attr:`CreditRules.crediting_start` and ``crediting_end`` from the three rules they read,
    worked out once per rule set instead of once per reading (each is a date parse)."""
    start = None if registered is None else jst_midnight(parse_day(registered, ""))
    end = parse_day(crediting_until, "rules.crediting_until") + timedelta(days=1)
    if registered is not None:
        end = min(end, add_years(parse_day(registered, ""), crediting_years))
    return start, jst_midnight(end)


@functools.lru_cache(maxsize=8192)
def _joined_at(enrolled_at: str, joined: str | None) -> datetime:
    """:func:`joined_at` by the two strings it reads: every reading of a device asks it again.
    A MalformedRecord is raised afresh each time (lru_cache keeps results only)."""
    at = parse_time(enrolled_at, "enrol.enrolled_at")
    if joined is not None:
        at = max(at, jst_midnight(parse_day(joined, "enrol.fit.joined")))
    return at


def _joined(enrolment: Enrolment) -> datetime:
    joined = enrolment.fit.get("joined")
    if isinstance(enrolment.enrolled_at, str) and (joined is None or isinstance(joined, str)):
        return _joined_at(enrolment.enrolled_at, joined)
    return joined_at(enrolment)  # a malformed value: no cache, the same error


@functools.lru_cache(maxsize=8192)
def _installed(text: str) -> date:
    return parse_day(text, "enrol.fit.installed")


def _after_cursor(reading: Reading, rules: CreditRules, excused: bool, enrolment: Enrolment,
                  meter: MeterSpec, start: datetime, end: datetime,
                  seconds: int) -> Exclusion | None:
    diff = reading.register_end_wh - reading.register_start_wh
    if not excused and diff != reading.energy_wh:
        return Exclusion(Rule.ENERGY_MISMATCH,
                         f"energy_wh {reading.energy_wh} ≠ register difference {diff} and no "
                         "meter_reset/meter_replaced/rollover flag")
    limit = meter.rated_w * seconds // 3600
    if reading.energy_wh > limit:
        return Exclusion(Rule.IMPLAUSIBLE,
                         f"{reading.energy_wh} Wh in {seconds} s exceeds the meter's rated "
                         f"{meter.rated_w} W ({limit} Wh)")
    if Flag.CLOCK_UNSYNCED in reading.flags:
        return Exclusion(Rule.CLOCK_UNSYNCED, "the device flagged its clock as not "
                                              "synchronised for this interval")
    try:
        joined = _joined(enrolment)
    except MalformedRecord as e:
        return Exclusion(Rule.BAD_ENROLMENT, str(e))
    if start < joined:
        return Exclusion(Rule.BEFORE_JOINING, f"starts {reading.start}, before the member "
                                              f"joined ({_utc(joined)})")
    first, last = rules.crediting_start, rules.crediting_end
    if (first is not None and start < first) or end > last:
        return Exclusion(Rule.OUTSIDE_CREDITING_PERIOD,
                         f"{reading.start}..{reading.end} is outside "
                         f"{rules.registered or 'the start'}..{last:%Y-%m-%d} "
                         "(JST)")
    if reading.quantity is Quantity.PV_GENERATION:
        text = enrolment.fit.get("installed")
        try:
            installed = (_installed(text) if isinstance(text, str)
                         else parse_day(text, "enrol.fit.installed"))
        except MalformedRecord as e:
            return Exclusion(Rule.BAD_ENROLMENT, str(e))
        oldest = add_years(joined.astimezone(JST).date(), -rules.max_equipment_age_years)
        if installed < oldest:
            return Exclusion(Rule.EQUIPMENT_TOO_OLD,
                             f"installed {installed}, more than "
                             f"{rules.max_equipment_age_years} years before joining "
                             f"({joined.astimezone(JST).date()})")
    return None


def next_cursor(cursor: MeterCursor | None, reading: Reading) -> MeterCursor:
    """The meter's state after ``reading``, creditable or not: time only moves forward (so an
    overlapping claim never reopens a span), the register continues from what was last said."""
    end = reading.end_dt
    if cursor is not None and cursor.end > end:
        end = cursor.end
    return MeterCursor(end, reading.register_end_wh)


def advance(reading: Reading, enrolment: Enrolment, cursor: MeterCursor | None,
            rules: CreditRules = DEFAULT_RULES, quarantined: int | None = None,
            known: Prejudged | None = None) -> tuple[Exclusion | None, MeterCursor | None]:
    """The verdict on ``reading`` and its meter's cursor after it: every reading of an enrolled
    meter moves the cursor, creditable or not; a meter not enrolled has none (``None``).
    ``quarantined``: the index of the ``eco.quarantine/v1`` entry in force for the device, if
    any — a device-wide state, so it is the first rule; the reading is still judged, because
    the cursor must move exactly as it would have. ``known``: as for :func:`judge_reading`."""
    verdict = judge_reading(reading, enrolment, cursor, rules, known)
    if quarantined is not None:
        verdict = Exclusion(Rule.QUARANTINED, f"device {reading.device_id} is quarantined by "
                                              f"entry {quarantined} until the operator "
                                              "releases it")
    after = next_cursor(cursor, reading) if enrolment.meter(reading.meter) is not None else None
    return verdict, after


@dataclass(slots=True)
class CreditTracker:
    """Feed a log's readings in index order (each with its device's enrolment); learn which
    are creditable. Holds one cursor per (device, meter) — the whole state the rules need."""

    rules: CreditRules = DEFAULT_RULES
    cursors: dict[tuple[str, str], MeterCursor] = field(default_factory=dict)
    excluded: Counter[Rule] = field(default_factory=Counter)
    # device → index of the eco.quarantine/v1 entry in force (until its eco.release/v1)
    quarantined: dict[str, int] = field(default_factory=dict)

    def quarantine(self, device_id: str, index: int) -> None:
        self.quarantined[device_id] = index

    def release(self, device_id: str) -> None:
        self.quarantined.pop(device_id, None)

    def add(self, reading: Reading, enrolment: Enrolment) -> Exclusion | None:
        key = (reading.device_id, reading.meter)
        verdict, after = advance(reading, enrolment, self.cursors.get(key), self.rules,
                                 self.quarantined.get(reading.device_id))
        if after is not None:
            self.cursors[key] = after
        if verdict is not None:
            self.excluded[verdict.rule] += 1
        return verdict


__all__ = ["DEFAULT_RULES", "JST", "RULE_TEXT", "CreditRules", "CreditTracker", "Exclusion",
           "MeterCursor", "Prejudged", "Rule", "advance", "joined_at", "judge_reading",
           "next_cursor", "parse_day", "prejudge"]
