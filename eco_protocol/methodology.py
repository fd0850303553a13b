"""J-Credit arithmetic (docs/methodology.md), pure and in integers, shared by the aggregator and
the buyer's verifier so that both compute every number the same way.

Rules implemented (methodology id and version are data in :class:`Methodology`; the programme's
rules, "Programme rules a verification body applies (v1.1)", are a :class:`CreditRules`):
- Household PV, EN-R-002: only self-consumed PV earns credit. Per interval, keyed by the exact
  (start, end) span, self-consumed = max(0, pv_generation − grid_export), counted only where the
  household has both a PV and an export reading for that very span (a gap_filled PV reading
  over four intervals does not net against a 30-minute export reading: it credits 0).
- A household without a metered export register earns no PV credit (flagged, never guessed). A
  zero-export declaration is not evidence: such a home is credited, for all its generation where
  export is 0, only through a metered export register (e.g. the smart meter's E3 over the
  B-route), possibly read by another device of the same household.
- Battery homes: per-interval netting would credit PV stored and exported later, so by default
  self-consumption is netted per JST calendar day (``rules.battery = "daily"``); ``"exclude"``
  credits their PV nothing.
- Project emissions: the PV part is multiplied by (1 − ``rules.project_emission_ppm`` / 10⁶)
  (the inverter's own consumption, about 0.6 % in one registered plan).
- EV (docs/methodology.md: government EV subsidy CO2 sheet as the analogue; the J-Credit EV text
  is a gap): reduction = distance ÷ petrol car's km/L × gasoline factor − charged kWh × grid factor,
  distance = charged Wh ÷ the worse (higher) of the type-approved and the configured real-world
  Wh/km. Never clipped: a negative household-month lowers the total.
- Grid factors by Japanese fiscal year (April–March, JST) from configuration, each with its source;
  a period with no factor is refused, and a seal refuses illustrative or undated factors unless
  the programme is a demonstration (:func:`seal_problems`).
Rounding: exact fractions per household-month (or day, for points), floored to whole grams once
(toward −∞, so a negative month is never rounded up); credits = floor((Σ reduction + carry-in) /
1 t), the remainder carried over; a negative sum issues nothing and carries the deficit.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from fractions import Fraction
from typing import Any, Final

from .creditability import DEFAULT_RULES, CreditRules, parse_day
from .encoding import JST as JST  # days, months and fiscal years are Japan time
from .encoding import day_of as day_of
from .errors import InvalidInput, MalformedRecord
from .messages import msg, said
from .programme_records import GRAMS_PER_TONNE as GRAMS_PER_TONNE
from .programme_records import credits as credits  # the batch seal's totals must follow it
from .records import Enrolment, Quantity


class MethodologyError(InvalidInput):
    """A period cannot be computed (a factor or an enrolment attribute is missing)."""


def fiscal_year(moment: datetime) -> int:
    """Japanese fiscal year (April–March) of an instant, in JST."""
    local = moment.astimezone(JST)
    return local.year if local.month >= 4 else local.year - 1


def month_of(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m")


def fiscal_year_of_month(month: str) -> int:
    year, mon = (int(x) for x in month.split("-"))
    return year if mon >= 4 else year - 1


@dataclass(frozen=True, slots=True)
class GridFactor:
    fiscal_year: int
    g_per_kwh: int
    source: str
    published: str
    illustrative: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"fiscal_year": self.fiscal_year, "g_per_kwh": self.g_per_kwh,
                "source": self.source, "published": self.published,
                "illustrative": self.illustrative}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> GridFactor:
        try:
            return cls(int(d["fiscal_year"]), int(d["g_per_kwh"]), str(d["source"]),
                       str(d["published"]), bool(d.get("illustrative", False)))
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedRecord.coded("eco_protocol.finding.rules.grid_factor",
                                        error=repr(e)) from e


@dataclass(frozen=True, slots=True)
class Methodology:
    id: str
    version: str
    grid_factors: tuple[GridFactor, ...]
    gasoline_g_per_l: int
    gasoline_source: str
    ev_methodology: str = "EV: gasoline avoided minus grid charging (docs/methodology.md, [I])"

    def factor(self, fy: int) -> GridFactor:
        for f in self.grid_factors:
            if f.fiscal_year == fy:
                return f
        have = ", ".join(str(f.fiscal_year) for f in self.grid_factors) or "none"
        raise MethodologyError.coded("eco_protocol.finding.rules.no_factor", fy=fy, have=have)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version,
                "grid_factors": [f.to_dict() for f in self.grid_factors],
                "gasoline_g_per_l": self.gasoline_g_per_l,
                "gasoline_source": self.gasoline_source, "ev_methodology": self.ev_methodology}

    @classmethod
    def from_dict(cls, d: object) -> Methodology:
        if not isinstance(d, Mapping):
            raise MalformedRecord.coded("eco_protocol.finding.rules.methodology_object")
        try:
            return cls(str(d["id"]), str(d["version"]),
                       tuple(GridFactor.from_dict(f) for f in d["grid_factors"]),
                       int(d["gasoline_g_per_l"]), str(d["gasoline_source"]),
                       str(d.get("ev_methodology", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedRecord.coded("eco_protocol.finding.rules.methodology_field",
                                        error=repr(e)) from e


@dataclass(frozen=True, slots=True)
class HouseholdTerms:
    """What the rules need to know about a household, from its enrolments' ``fit`` objects.

    ``fit`` = {"status": "none"|"fit"|"post_fit", "until": "YYYY-MM-DD"|null,
    "installed": "YYYY-MM-DD", "battery": bool, "zero_export": bool,
    "ev": {"wh_per_km": int, "petrol_m_per_l": int} | null}. Quantities of its meters come
    from the enrolments themselves (all devices of the household: the export register may be
    read by a smart-meter device, the PV by an inverter device). ``zero_export`` is a
    declaration, reported but never evidence on its own (programme rules v1.1).
    """

    quantities: frozenset[Quantity]
    installed: str | None = None
    fit_status: str = "none"
    fit_until: str | None = None
    battery: bool = False
    zero_export: bool = False
    ev_wh_per_km: int | None = None
    ev_petrol_m_per_l: int | None = None

    @property
    def pv_creditable(self) -> bool:
        """PV can earn credit only with a metered export register: self-consumption is
        generation minus *measured* export. ``zero_export`` is a declaration, not a measurement
        (the inverter may be misconfigured, or changed later), so it no longer suffices."""
        return Quantity.PV_GENERATION in self.quantities and \
            Quantity.GRID_EXPORT in self.quantities

    def flags(self, rules: CreditRules = DEFAULT_RULES) -> list[str]:
        """What the report and the operator's pages flag about this household: the rule that
        zeroes its PV, if any, and a battery (always flagged, docs/methodology.md)."""
        out = []
        reason = zero_reason(self, rules)
        if reason is not None:
            out.append(reason)
        if self.battery and not (reason or "").startswith("battery_excluded"):
            out.append("battery: PV self-consumption netted per JST day"
                       if rules.battery == "daily" else "battery")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"installed": self.installed, "fit_status": self.fit_status,
                "fit_until": self.fit_until, "battery": self.battery,
                "zero_export": self.zero_export, "ev_wh_per_km": self.ev_wh_per_km,
                "ev_petrol_m_per_l": self.ev_petrol_m_per_l,
                "quantities": sorted(q.value for q in self.quantities)}


TERMS_PROBLEM_TEXT: Final = {
    "installed": "fit.installed (PV installation date YYYY-MM-DD) is missing",
    "status": "fit.status must be none, fit or post_fit",
    "battery": "fit.battery (true/false) is missing",
    "ev": "fit.ev needs wh_per_km (the EV's Wh/km) and petrol_m_per_l (the equivalent petrol "
          "car's metres per litre, e.g. 15000 for 15 km/L)",
}
"""The CLI's sentence for each code of :func:`terms_problem_codes` (the web UI translates the
code, naming its form field)."""


def terms_problem_codes(quantities: Iterable[Quantity], fit: Mapping[str, Any]) -> list[str]:
    """What an enrolment lacks for the rules to apply, as codes (the keys of
    :data:`TERMS_PROBLEM_TEXT`, each the ``fit`` attribute at fault); empty when complete."""
    qs = set(quantities)
    problems = []
    if Quantity.PV_GENERATION in qs:
        if not isinstance(fit.get("installed"), str):
            problems.append("installed")
        if fit.get("status") not in ("none", "fit", "post_fit"):
            problems.append("status")
        if not isinstance(fit.get("battery"), bool):
            problems.append("battery")
    if Quantity.EV_CHARGE in qs:
        ev = fit.get("ev")
        if not isinstance(ev, Mapping) or not all(
                isinstance(ev.get(k), int) and not isinstance(ev.get(k), bool) and ev[k] > 0
                for k in ("wh_per_km", "petrol_m_per_l")):
            problems.append("ev")
    return problems


def terms_problems(quantities: Iterable[Quantity], fit: Mapping[str, Any]) -> list[str]:
    """What an enrolment lacks for the rules to apply, in English; empty when complete."""
    return [TERMS_PROBLEM_TEXT[c] for c in terms_problem_codes(quantities, fit)]


def household_terms(enrolments: Iterable[Enrolment]) -> HouseholdTerms:
    """Combine the enrolments of one household (several devices may serve one home).

    In a fixed order (enrolment time, then device id), so the aggregator, which meets them in
    log order, and a verifier, which meets them in report order, merge them the same way; a
    battery declared by any of them counts (the conservative reading)."""
    ens = sorted(enrolments, key=lambda e: (e.enrolled_at, e.device_id))
    qs = frozenset(m.quantity for e in ens for m in e.meters)
    fit: dict[str, Any] = {}
    for e in ens:
        fit.update({k: v for k, v in e.fit.items() if v is not None})
    if any(e.fit.get("battery") is True for e in ens):
        fit["battery"] = True
    ev = fit.get("ev") if isinstance(fit.get("ev"), Mapping) else {}
    assert isinstance(ev, Mapping)
    return HouseholdTerms(
        quantities=qs, installed=fit.get("installed"), fit_status=str(fit.get("status", "none")),
        fit_until=fit.get("until"), battery=bool(fit.get("battery", False)),
        zero_export=bool(fit.get("zero_export", False)),
        ev_wh_per_km=ev.get("wh_per_km"), ev_petrol_m_per_l=ev.get("petrol_m_per_l"))


def zero_reason(terms: HouseholdTerms, rules: CreditRules = DEFAULT_RULES) -> str | None:
    """The rule that zeroes a household's PV credit, as ``"<code>: <text>"``, or ``None``.

    Only PV can be zeroed by a household-level rule; an EV-only household has none. The report
    states this reason beside the household so a verification body sees why it earns nothing
    rather than a silent 0."""
    if Quantity.PV_GENERATION not in terms.quantities:
        return None
    if not terms.pv_creditable:
        return ("export_unmetered: PV without a metered export register (a zero-export "
                "declaration alone is not evidence)")
    if terms.battery and rules.battery == "exclude":
        return ("battery_excluded: PV of a home with a battery earns nothing under the "
                "programme's rules (rules.battery = \"exclude\")")
    return None


def _is_date(text: str) -> bool:
    try:
        parse_day(text, "published")
    except MalformedRecord:
        return False
    return True


def fiscal_years_between(start: datetime, end: datetime) -> list[int]:
    """The fiscal years a period [start, end) touches, in order; what :func:`seal_problems`
    needs to be given for a batch period."""
    last = fiscal_year(end - timedelta(microseconds=1)) if end > start else fiscal_year(start)
    return list(range(fiscal_year(start), last + 1))


def seal_problems(method: Methodology, rules: CreditRules,
                  fiscal_years: Iterable[int]) -> list[str]:
    """Why a batch touching ``fiscal_years`` must not be sealed; empty if it may.

    A verification body strikes a reduction computed with a placeholder factor, or with one
    whose publication cannot be checked, and a struck number makes the whole batch unsellable.
    So every fiscal year needs a factor that is not illustrative and carries a real publication
    date (YYYY-MM-DD). A programme explicitly declared a demonstration may seal anyway; its
    report then says so on every page."""
    if rules.demonstration:
        return []
    out: list[str] = []
    for fy in sorted(set(fiscal_years)):
        # Said strings: English as they always were, in the reader's language where shown
        span = msg("eco_protocol.finding.seal.span", fy=fy, next=fy + 1)
        f = next((g for g in method.grid_factors if g.fiscal_year == fy), None)
        if f is None:
            out.append(said("eco_protocol.finding.seal.no_factor", span=span))
            continue
        if f.illustrative:
            out.append(said("eco_protocol.finding.seal.illustrative", span=span,
                            g=f.g_per_kwh))
        if not _is_date(f.published):
            out.append(said("eco_protocol.finding.seal.no_date", span=span,
                            published=repr(f.published)))
    return out


# --- the arithmetic ------------------------------------------------------------------------


ENERGY_KEYS = ("pv_generation", "grid_export", "self_consumed", "ev_charge", "grid_import")


def reduction_exact(energy: Mapping[str, int], terms: HouseholdTerms, grid_g_per_kwh: int,
                    gasoline_g_per_l: int, rules: CreditRules = DEFAULT_RULES) -> Fraction:
    """Exact grams of CO2 avoided for summed energy figures under one grid factor.

    ``energy["self_consumed"]`` is already netted (per span, or per day for battery homes).
    The PV part is zero when :func:`zero_reason` names a rule (so a verifier recomputing a row
    never credits an excluded household's stated self-consumption), and otherwise is reduced by
    the project emissions. The EV part may be negative: an EV charged from a dirty grid and
    driven little emits more than the petrol car it replaces, and clipping that to zero would
    credit a reduction that did not happen."""
    pv = Fraction(0)
    if zero_reason(terms, rules) is None:
        pv = Fraction(energy.get("self_consumed", 0) * grid_g_per_kwh, 1000) * Fraction(
            1_000_000 - rules.project_emission_ppm, 1_000_000)
    ev = Fraction(0)
    charged = energy.get("ev_charge", 0)
    if charged:
        if not terms.ev_wh_per_km or not terms.ev_petrol_m_per_l:
            raise MethodologyError.coded("eco_protocol.finding.rules.ev_terms")
        # the worse (higher) consumption gives the shorter distance: the conservative one
        wh_per_km = max(terms.ev_wh_per_km, rules.ev_real_wh_per_km or 0)
        # metres driven = Wh × 1000 / (Wh/km); litres = metres / (m/L)
        litres = Fraction(charged * 1000, wh_per_km * terms.ev_petrol_m_per_l)
        ev = litres * gasoline_g_per_l - Fraction(charged * grid_g_per_kwh, 1000)
    return pv + ev


def month_reduction_g(month: str, energy: Mapping[str, int], terms: HouseholdTerms,
                      method: Methodology, rules: CreditRules = DEFAULT_RULES) -> int:
    """The figure a report states for one household-month; a verifier recomputes it from the
    row's energy figures alone (self-consumption already netted), the terms and the rules.
    Floored once, toward −∞, so a negative month is never rounded up."""
    f = method.factor(fiscal_year_of_month(month))
    return math.floor(reduction_exact(energy, terms, f.g_per_kwh, method.gasoline_g_per_l,
                                      rules))


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    """The parts of a creditable reading the arithmetic needs. ``end`` matters: PV and export
    are netted only over exactly the same span, so a span is (start, end), not start alone."""

    quantity: Quantity
    start: datetime
    end: datetime
    energy_wh: int

    def __post_init__(self) -> None:
        if self.end <= self.start:
            raise MethodologyError.coded("eco_protocol.finding.rules.reading_span",
                                         quantity=self.quantity.value,
                                         start=self.start.isoformat(), end=self.end.isoformat())


def bucket_energy(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                  key: Callable[[datetime], str],
                  rules: CreditRules = DEFAULT_RULES) -> dict[str, dict[str, int]]:
    """Sum a household's energy into buckets (months or days, keyed by ``key(span start)``),
    with self-consumption netted before summing, as the rules require.

    Spans are exact (start, end) pairs; readings of one quantity on one span (several devices)
    are added. Only spans with both a PV and an export reading are netted: anything else would
    compare energy over different times. Battery homes (``rules.battery == "daily"``) net per
    JST day, max(0, Σ pv of the matched spans − Σ export of *every* span that day), because a
    battery moves PV from the interval it was generated in to a later one, possibly one
    without a PV reading; the day's figure goes into the bucket of that day's first span with
    an export reading (its month or day; with buckets finer than a day, that one slot). A
    household whose PV is zeroed (:func:`zero_reason`) gets 0 self-consumption."""
    spans: dict[tuple[datetime, datetime], dict[Quantity, int]] = {}
    for r in readings:
        slot = spans.setdefault((r.start, r.end), {})
        slot[r.quantity] = slot.get(r.quantity, 0) + r.energy_wh
    credit_pv = (Quantity.PV_GENERATION in terms.quantities
                 and zero_reason(terms, rules) is None)
    daily = terms.battery  # "exclude" already zeroed the PV through zero_reason
    days: dict[str, list[Any]] = {}  # JST day → [bucket key, Σ pv, Σ export] of matched spans
    out: dict[str, dict[str, int]] = {}
    for span in sorted(spans):
        slot, start = spans[span], span[0]
        b = out.setdefault(key(start), dict.fromkeys(ENERGY_KEYS, 0))
        pv = slot.get(Quantity.PV_GENERATION)
        exp = slot.get(Quantity.GRID_EXPORT)
        b["pv_generation"] += pv or 0
        b["grid_export"] += exp or 0
        b["ev_charge"] += slot.get(Quantity.EV_CHARGE, 0)
        b["grid_import"] += slot.get(Quantity.GRID_IMPORT, 0)
        if credit_pv and daily and exp is not None:
            # a battery home: every kWh exported that day is subtracted, also from spans
            # without a PV reading (the battery may export at night, when the inverter is off)
            d = days.setdefault(day_of(start), [key(start), 0, 0])
            d[1] += pv if pv is not None else 0
            d[2] += exp
            continue
        if not credit_pv or pv is None or exp is None:
            continue
        else:
            b["self_consumed"] += max(0, pv - exp)
    for k, pv_sum, exp_sum in days.values():
        out[k]["self_consumed"] += max(0, pv_sum - exp_sum)
    return out


def household_months(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                     method: Methodology, rules: CreditRules = DEFAULT_RULES
                     ) -> list[dict[str, Any]]:
    """Report rows ``{"month", "energy_wh": {...}, "reduction_g"}`` in month order."""
    months = bucket_energy(readings, terms, month_of, rules)
    return [{"month": m, "energy_wh": e,
             "reduction_g": month_reduction_g(m, e, terms, method, rules)}
            for m, e in sorted(months.items())]


def daily_reduction_g(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                      method: Methodology, rules: CreditRules = DEFAULT_RULES
                      ) -> dict[str, int]:
    """Grams avoided per JST day (for eco-points), floored once per day; may be negative for an
    EV day."""
    days = bucket_energy(readings, terms, day_of, rules)
    out = {}
    for d, e in sorted(days.items()):
        f = method.factor(fiscal_year_of_month(d[:7]))
        out[d] = math.floor(reduction_exact(e, terms, f.g_per_kwh, method.gasoline_g_per_l,
                                            rules))
    return out

