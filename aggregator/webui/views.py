"""What the web UI's pages show, computed from a :class:`~aggregator.accounting.LedgerView`.

Pure functions: the store rows and the current time come in as arguments, so every figure on a
page can be tested without a server. The arithmetic is the methodology's own
(:mod:`eco_protocol.methodology`), under the programme's rules and from creditable readings only
(``excluded is None``), exactly as a batch or a points statement counts them: the UI never has
numbers of its own that could disagree with a report. Non-creditable readings are still shown —
counted by the rule that excludes them — because they are logged, and a clerk must see why a
household earns less than its meters measured.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.coverage import LedgerReading, reading_counts
from eco_protocol.creditability import CreditRules, Rule
from eco_protocol.did import did_key
from eco_protocol.encoding import format_time, parse_time
from eco_protocol.methodology import (
    HouseholdTerms,
    Methodology,
    MethodologyError,
    bucket_energy,
    day_of,
    fiscal_year_of_month,
    household_months,
    month_of,
    reduction_exact,
)
from eco_protocol.programme_records import BatchSeal, Redemption
from eco_protocol.records import Quantity

from ..accounting import LedgerView, PointsStatement, points_statement
from ..programme import Programme, Reward
from ..quarantine import quarantined_by
from ..store.interface import DeviceRow

QUANTITIES = tuple(q.value for q in Quantity)
DEFAULT_OFFLINE_AFTER = timedelta(hours=2)


class DeviceState(enum.StrEnum):
    ONLINE = "online"  # a reading ended within ``offline_after``
    OFFLINE = "offline"  # readings stopped
    NEVER = "never"  # enrolled, no reading yet
    REVOKED = "revoked"


class OnlineClock(enum.StrEnum):
    """What "now" is when a device is judged online: the wall clock (a real installation), or
    the end of the newest reading in the log (the demo and replays, whose readings carry
    simulated times: against the wall clock every device would look stopped)."""

    WALL = "wall"
    DATA = "data"


def judging_time(view: LedgerView, wall_now: datetime, clock: OnlineClock) -> datetime:
    """The time devices are judged against (:class:`OnlineClock`); with ``DATA`` and no reading
    yet, the wall clock."""
    if clock is OnlineClock.DATA:
        newest = max((r.end for r in view.readings), default=None)
        if newest is not None:
            return newest
    return wall_now


@dataclass(frozen=True, slots=True)
class DeviceStatus:
    device_id: str
    household: str
    programme: str
    quantities: tuple[str, ...]
    enrolled_at: str
    enrol_index: int
    readings: int
    last_end: datetime | None
    state: DeviceState
    flags: tuple[str, ...]
    excluded: tuple[tuple[str, int], ...] = ()  # non-creditable readings by rule code
    quarantined: int | None = None  # the eco.quarantine/v1 entry in force (a forked device)
    public_key: bytes = b""  # the enrolled key, raw

    @property
    def did(self) -> str:
        """The device key as a did:key (issue 20), shown beside the id: made only for the rows a
        page shows (base58 of each of a large fleet's keys would cost every overview)."""
        return did_key(self.public_key) if self.public_key else ""

    @property
    def excluded_count(self) -> int:
        return sum(n for _, n in self.excluded)


@dataclass(frozen=True, slots=True)
class Rejection:
    device_id: str
    seq: int | None
    reason: str
    at: str


@dataclass(frozen=True, slots=True)
class Fleet:
    devices: list[DeviceStatus]
    counts: dict[str, int]
    flagged: list[DeviceStatus]
    daily_readings: list[tuple[str, int]]
    rejections: list[Rejection]
    size: int


def excluded_by_rule(readings: Iterable[LedgerReading]) -> tuple[tuple[str, int], ...]:
    """How many of ``readings`` are not creditable, per rule code, in code order (as a report
    counts them)."""
    return tuple(reading_counts(readings)["excluded"].items())


def device_statuses(view: LedgerView, rows: Sequence[DeviceRow], now: datetime,
                    offline_after: timedelta = DEFAULT_OFFLINE_AFTER) -> list[DeviceStatus]:
    """Each device's state from its last logged reading (creditable or not: a device that sends
    only excluded readings is alive, and needs attention for another reason), its readings
    excluded by rule, and its household's flags under the rules the view judged by. A device
    with excluded readings is flagged, so the fleet page lists it."""
    last: dict[str, datetime] = {}
    count: dict[str, int] = {}
    mine: dict[str, list[LedgerReading]] = {}
    for r in view.readings:
        count[r.device_id] = count.get(r.device_id, 0) + 1
        mine.setdefault(r.device_id, []).append(r)
        if r.device_id not in last or r.end > last[r.device_id]:
            last[r.device_id] = r.end
    out = []
    for row in rows:
        enrolled = view.enrolments.get(row.device_id)
        if enrolled is None:
            continue  # enrolled after the view was taken
        _, e = enrolled
        end = last.get(row.device_id)
        if row.revoked_index is not None:
            state = DeviceState.REVOKED
        elif end is None:
            state = DeviceState.NEVER
        elif now - end <= offline_after:
            state = DeviceState.ONLINE
        else:
            state = DeviceState.OFFLINE
        excluded = excluded_by_rule(mine.get(row.device_id, []))
        flags = list(view.terms(e.household).flags(view.rules))
        flags.extend(code for code, _ in excluded)
        quarantined = quarantined_by(row)
        if row.flag:
            # the fork quarantine is a creditability rule: its code makes the badge translatable
            flags.insert(0, row.flag if quarantined is None
                         else f"{Rule.QUARANTINED.value}: {row.flag}")
        out.append(DeviceStatus(row.device_id, e.household, e.programme,
                                tuple(sorted({m.quantity.value for m in e.meters})),
                                e.enrolled_at, row.enrol_index, count.get(row.device_id, 0), end,
                                state, tuple(flags), excluded, quarantined,
                                e.public_key_raw))
    return out


def fleet(view: LedgerView, rows: Sequence[DeviceRow],
          rejections: Sequence[tuple[str, int | None, str, str]], now: datetime,
          offline_after: timedelta = DEFAULT_OFFLINE_AFTER, days: int = 14) -> Fleet:
    """The overview: every device's state, the flagged ones, readings per day, rejections."""
    devices = device_statuses(view, rows, now, offline_after)
    counts = {s.value: 0 for s in DeviceState}
    for d in devices:
        counts[d.state.value] += 1
    # logged readings per day: a health figure (is the fleet sending?), not a credit figure
    per_day: dict[str, int] = {}
    for r in view.readings:
        day = day_of(r.start)
        per_day[day] = per_day.get(day, 0) + 1
    daily = sorted(per_day.items())[-days:]
    return Fleet(devices, counts, [d for d in devices if d.flags], daily,
                 [Rejection(*r) for r in rejections], view.size)


# --- one household --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Slot:
    """One interval of one household: energy by quantity, CO2 avoided, points it earned."""

    start: datetime
    energy: dict[str, int]
    reduction_g: Fraction
    points: Fraction


@dataclass(frozen=True, slots=True)
class Day:
    day: str
    energy: dict[str, int]
    reduction_g: int  # what the points statement credits for the day (floor of the exact sum)
    pv_g: float = 0.0  # its parts, exact: self-consumed PV × grid factor × (1 − project em.) …
    ev_g: float = 0.0  # … and petrol avoided minus grid charging (negative on a dirty-grid day)


@dataclass
class HouseholdPage:
    household: str
    terms: HouseholdTerms
    devices: list[DeviceStatus]
    days: list[Day] = field(default_factory=list)
    slots: list[Slot] = field(default_factory=list)
    statement: PointsStatement | None = None
    redemptions: list[tuple[int, Redemption]] = field(default_factory=list)
    rewards: list[tuple[Reward, bool]] = field(default_factory=list)
    problem: str | None = None  # e.g. no grid factor for a fiscal year
    flags: list[str] = field(default_factory=list)  # terms.flags(rules): zeroing rule, battery
    excluded: tuple[tuple[str, int], ...] = ()  # the household's non-creditable readings

    @property
    def energy_total(self) -> dict[str, int]:
        out = dict.fromkeys(QUANTITIES, 0)
        out["self_consumed"] = 0
        for d in self.days:
            for k, v in d.energy.items():
                out[k] = out.get(k, 0) + v
        return out

    @property
    def reduction_g(self) -> int:
        return sum(d.reduction_g for d in self.days)


def _split(energy: dict[str, int], terms: HouseholdTerms, method: Methodology,
           day: str, rules: CreditRules) -> tuple[float, float]:
    """CO2 avoided by self-consumed PV and by EV driving on one day (grams, exact parts of the
    day's reduction, for the chart that shows them by source), under the programme's rules
    (project emissions, a zeroed PV, the worse EV consumption)."""
    f = method.factor(fiscal_year_of_month(day[:7]))
    pv = reduction_exact({"self_consumed": energy.get("self_consumed", 0)}, terms, f.g_per_kwh,
                         method.gasoline_g_per_l, rules)
    ev = reduction_exact({"ev_charge": energy.get("ev_charge", 0)}, terms, f.g_per_kwh,
                         method.gasoline_g_per_l, rules)
    return float(pv), float(ev)


def household_page(view: LedgerView, programme: Programme | None, household: str,
                   devices: Sequence[DeviceStatus], slots: int = 96) -> HouseholdPage:
    """Everything the operator's household page and the resident's own page show: figures from
    the creditable readings under the programme's rules (the view's, without a programme), and
    the readings excluded by rule beside them."""
    terms = view.terms(household)
    rules = programme.rules if programme is not None else view.rules
    page = HouseholdPage(household, terms, [d for d in devices if d.household == household],
                         flags=terms.flags(rules),
                         excluded=excluded_by_rule(r for r in view.readings
                                                   if r.household == household))
    facts = view.creditable_facts(household)
    daily_energy = bucket_energy(facts, terms, day_of, rules)
    if programme is None:
        page.days = [Day(d, e, 0) for d, e in sorted(daily_energy.items())]
        page.problem = "no programme configured"
        return page
    method = programme.methodology
    try:
        statement = points_statement(view, programme, household)
        grams = dict(statement.days)
        page.statement = statement
        page.days = [Day(d, e, grams.get(d, 0), *_split(e, terms, method, d, rules))
                     for d, e in sorted(daily_energy.items())]
        per_slot = bucket_energy(facts, terms, format_time, rules)
        rows = []
        for start_s, e in sorted(per_slot.items())[-slots:]:
            start = parse_time(start_s, "slot")
            f = method.factor(fiscal_year_of_month(month_of(start)))
            g = reduction_exact(e, terms, f.g_per_kwh, method.gasoline_g_per_l, rules)
            rows.append(Slot(start, e, g, g * programme.points_per_kg / 1000))
        page.slots = list(reversed(rows))
    except MethodologyError as e:
        page.days = [Day(d, en, 0) for d, en in sorted(daily_energy.items())]
        page.problem = str(e)
    page.redemptions = [(i, r) for i, r in view.redemptions
                        if r.household == household and r.programme == programme.id]
    balance = page.statement.balance if page.statement else 0
    page.rewards = [(r, r.points <= balance) for r in programme.rewards]
    return page


# --- programme-wide ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Month:
    month: str
    energy: dict[str, int]
    reduction_g: int


def programme_months(view: LedgerView, programme: Programme) -> tuple[list[Month], str | None]:
    """Energy and CO2 avoided per JST month over every household of the programme (as a
    batch covering those months would state them), and a problem if some month cannot be
    computed."""
    months: dict[str, Month] = {}
    problem = None
    for household in sorted(view.household_devices(programme.id)):
        facts = view.creditable_facts(household)
        try:
            rows = household_months(facts, view.terms(household), programme.methodology,
                                    programme.rules)
        except MethodologyError as e:
            problem = str(e)
            continue
        for row in rows:
            m = months.get(row["month"]) or Month(row["month"], {}, 0)
            energy = dict(m.energy)
            for k, v in row["energy_wh"].items():
                energy[k] = energy.get(k, 0) + v
            months[row["month"]] = Month(m.month, energy, m.reduction_g + row["reduction_g"])
    return [months[k] for k in sorted(months)], problem


@dataclass(frozen=True, slots=True)
class Balance:
    household: str
    reduction_g: int
    earned: int
    redeemed: int
    balance: int


def balances(view: LedgerView, programme: Programme) -> tuple[list[Balance], str | None]:
    out = []
    problem = None
    for household in sorted(view.household_devices(programme.id)):
        try:
            st = points_statement(view, programme, household)
        except MethodologyError as e:
            problem = str(e)
            continue
        out.append(Balance(household, st.reduction_g, st.earned, st.redeemed, st.balance))
    return out, problem


@dataclass(frozen=True, slots=True)
class SealedBatch:
    index: int
    seal: BatchSeal
    certified: tuple[str, str] | None


def sealed_batches(view: LedgerView, programme: Programme) -> list[SealedBatch]:
    certs = {c.batch_id: (c.first, c.last) for _, c in view.certifications}
    return [SealedBatch(i, s, certs.get(s.batch_id)) for i, s in view.programme_seals(
        programme.id)]


def entry_summary(data: bytes) -> dict[str, Any]:
    """A ledger entry as JSON for display (the signature shortened)."""
    obj = parse_json(data)
    if isinstance(obj, dict) and isinstance(obj.get("sig"), str) and len(obj["sig"]) > 24:
        obj = {**obj, "sig": obj["sig"][:20] + "…"}
    return obj if isinstance(obj, dict) else {"value": obj}


__all__ = ["Balance", "Day", "DeviceState", "DeviceStatus", "Fleet", "HouseholdPage", "Month",
           "Rejection", "SealedBatch", "Slot", "balances", "device_statuses",
           "entry_summary", "excluded_by_rule", "fleet", "household_page", "programme_months",
           "sealed_batches"]
