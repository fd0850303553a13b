"""J-Credit arithmetic (shared/METHODOLOGY.md), pure and in integers, shared by the aggregator and
the buyer's verifier so that both compute every number the same way.

Rules implemented (methodology id and version are data in :class:`Methodology`):
- Household PV, EN-R-002: only self-consumed PV earns credit. Per interval, self-consumed =
  max(0, pv_generation − grid_export). A household whose export is not metered gets no PV credit
  (flagged, never guessed), unless it is enrolled as a zero-export installation. An interval with
  PV but no export reading for a metered household counts as 0 (conservative, never invented).
- EV (METHODOLOGY.md: government EV subsidy CO2 sheet as the analogue; the J-Credit EV text is a
  gap): reduction = distance ÷ petrol car's km/L × gasoline factor − charged kWh × grid factor,
  with distance = charged Wh ÷ Wh/km; never below zero per household-month.
- Grid factors by Japanese fiscal year (April–March, JST) from configuration, each with its source;
  a period with no factor is refused.
Rounding: exact fractions per household-month (or day, for points), truncated to whole grams
once; credits = floor((Σ reduction + carry-in) / 1 t), the remainder carried over.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Any

from .errors import InvalidInput, MalformedRecord
from .records import Enrolment, Quantity

JST = timezone(timedelta(hours=9), "JST")
GRAMS_PER_TONNE = 1_000_000


class MethodologyError(InvalidInput):
    """A period cannot be computed (a factor or an enrolment attribute is missing)."""


def fiscal_year(moment: datetime) -> int:
    """Japanese fiscal year (April–March) of an instant, in JST."""
    local = moment.astimezone(JST)
    return local.year if local.month >= 4 else local.year - 1


def month_of(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m")


def day_of(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d")


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
            raise MalformedRecord(f"methodology.grid_factors[]: {e!r}") from e


@dataclass(frozen=True, slots=True)
class Methodology:
    id: str
    version: str
    grid_factors: tuple[GridFactor, ...]
    gasoline_g_per_l: int
    gasoline_source: str
    ev_methodology: str = "EV: gasoline avoided minus grid charging (METHODOLOGY.md, [I])"

    def factor(self, fy: int) -> GridFactor:
        for f in self.grid_factors:
            if f.fiscal_year == fy:
                return f
        have = ", ".join(str(f.fiscal_year) for f in self.grid_factors) or "none"
        raise MethodologyError(f"no grid emission factor for fiscal year {fy} (configured: "
                               f"{have}); add it to the programme's factor table with its source")

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "version": self.version,
                "grid_factors": [f.to_dict() for f in self.grid_factors],
                "gasoline_g_per_l": self.gasoline_g_per_l,
                "gasoline_source": self.gasoline_source, "ev_methodology": self.ev_methodology}

    @classmethod
    def from_dict(cls, d: object) -> Methodology:
        if not isinstance(d, Mapping):
            raise MalformedRecord("methodology: expected an object")
        try:
            return cls(str(d["id"]), str(d["version"]),
                       tuple(GridFactor.from_dict(f) for f in d["grid_factors"]),
                       int(d["gasoline_g_per_l"]), str(d["gasoline_source"]),
                       str(d.get("ev_methodology", "")))
        except (KeyError, TypeError, ValueError) as e:
            raise MalformedRecord(f"methodology: missing or wrong field {e!r}") from e


@dataclass(frozen=True, slots=True)
class HouseholdTerms:
    """What the rules need to know about a household, from its enrolments' ``fit`` objects.

    ``fit`` = {"status": "none"|"fit"|"post_fit", "until": "YYYY-MM-DD"|null,
    "installed": "YYYY-MM-DD", "battery": bool, "zero_export": bool,
    "ev": {"wh_per_km": int, "petrol_m_per_l": int} | null}. Quantities of its meters come
    from the enrolments themselves.
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
        return Quantity.PV_GENERATION in self.quantities and (
            Quantity.GRID_EXPORT in self.quantities or self.zero_export)

    def flags(self) -> list[str]:
        out = []
        if Quantity.PV_GENERATION in self.quantities and not self.pv_creditable:
            out.append("export_unmetered: PV not creditable")
        if self.battery:
            out.append("battery")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {"installed": self.installed, "fit_status": self.fit_status,
                "fit_until": self.fit_until, "battery": self.battery,
                "zero_export": self.zero_export, "ev_wh_per_km": self.ev_wh_per_km,
                "ev_petrol_m_per_l": self.ev_petrol_m_per_l,
                "quantities": sorted(q.value for q in self.quantities)}


def terms_problems(quantities: Iterable[Quantity], fit: Mapping[str, Any]) -> list[str]:
    """What an enrolment lacks for the rules to apply; empty when complete."""
    qs = set(quantities)
    problems = []
    if Quantity.PV_GENERATION in qs:
        if not isinstance(fit.get("installed"), str):
            problems.append("fit.installed (PV installation date YYYY-MM-DD) is missing")
        if fit.get("status") not in ("none", "fit", "post_fit"):
            problems.append("fit.status must be none, fit or post_fit")
        if not isinstance(fit.get("battery"), bool):
            problems.append("fit.battery (true/false) is missing")
    if Quantity.EV_CHARGE in qs:
        ev = fit.get("ev")
        if not isinstance(ev, Mapping) or not all(
                isinstance(ev.get(k), int) and not isinstance(ev.get(k), bool) and ev[k] > 0
                for k in ("wh_per_km", "petrol_m_per_l")):
            problems.append("fit.ev needs wh_per_km (the EV's Wh/km) and petrol_m_per_l (the "
                            "equivalent petrol car's metres per litre, e.g. 15000 for 15 km/L)")
    return problems


def household_terms(enrolments: Iterable[Enrolment]) -> HouseholdTerms:
    """Combine the enrolments of one household (several devices may serve one home)."""
    ens = list(enrolments)
    qs = frozenset(m.quantity for e in ens for m in e.meters)
    fit: dict[str, Any] = {}
    for e in ens:
        fit.update({k: v for k, v in e.fit.items() if v is not None})
    ev = fit.get("ev") if isinstance(fit.get("ev"), Mapping) else {}
    assert isinstance(ev, Mapping)
    return HouseholdTerms(
        quantities=qs, installed=fit.get("installed"), fit_status=str(fit.get("status", "none")),
        fit_until=fit.get("until"), battery=bool(fit.get("battery", False)),
        zero_export=bool(fit.get("zero_export", False)),
        ev_wh_per_km=ev.get("wh_per_km"), ev_petrol_m_per_l=ev.get("petrol_m_per_l"))


# --- the arithmetic ------------------------------------------------------------------------


ENERGY_KEYS = ("pv_generation", "grid_export", "self_consumed", "ev_charge", "grid_import")


def reduction_exact(energy: Mapping[str, int], terms: HouseholdTerms, grid_g_per_kwh: int,
                    gasoline_g_per_l: int) -> Fraction:
    """Exact grams of CO2 avoided for summed energy figures under one grid factor."""
    pv = Fraction(energy.get("self_consumed", 0) * grid_g_per_kwh, 1000)
    ev = Fraction(0)
    charged = energy.get("ev_charge", 0)
    if charged:
        if not terms.ev_wh_per_km or not terms.ev_petrol_m_per_l:
            raise MethodologyError("EV charging without the EV's Wh/km and the petrol car's "
                                   "m/L in its enrolment")
        # metres driven = Wh × 1000 / (Wh/km); litres = metres / (m/L)
        litres = Fraction(charged * 1000, terms.ev_wh_per_km * terms.ev_petrol_m_per_l)
        ev = max(Fraction(0), litres * gasoline_g_per_l - Fraction(charged * grid_g_per_kwh,
                                                                    1000))
    return pv + ev


def month_reduction_g(month: str, energy: Mapping[str, int], terms: HouseholdTerms,
                      method: Methodology) -> int:
    """The figure a report states for one household-month; a verifier recomputes it."""
    f = method.factor(fiscal_year_of_month(month))
    return math.floor(reduction_exact(energy, terms, f.g_per_kwh, method.gasoline_g_per_l))


@dataclass(frozen=True, slots=True)
class ReadingFacts:
    """The parts of an accepted reading the arithmetic needs."""

    quantity: Quantity
    start: datetime
    energy_wh: int


@dataclass
class Bucket:
    energy: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENERGY_KEYS, 0))


def bucket_energy(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                  key: Callable[[datetime], str]) -> dict[str, dict[str, int]]:
    """Sum a household's energy into buckets (months or days), with self-consumption computed
    per interval before summing, as the rules require."""
    per_interval: dict[datetime, dict[Quantity, int]] = {}
    for r in readings:
        slot = per_interval.setdefault(r.start, {})
        slot[r.quantity] = slot.get(r.quantity, 0) + r.energy_wh
    out: dict[str, dict[str, int]] = {}
    for start in sorted(per_interval):
        slot = per_interval[start]
        b = out.setdefault(key(start), dict.fromkeys(ENERGY_KEYS, 0))
        pv = slot.get(Quantity.PV_GENERATION, 0)
        exp = slot.get(Quantity.GRID_EXPORT)
        b["pv_generation"] += pv
        b["grid_export"] += exp or 0
        b["ev_charge"] += slot.get(Quantity.EV_CHARGE, 0)
        b["grid_import"] += slot.get(Quantity.GRID_IMPORT, 0)
        if Quantity.GRID_EXPORT in terms.quantities:
            b["self_consumed"] += max(0, pv - exp) if exp is not None else 0
        elif terms.zero_export:
            b["self_consumed"] += pv
    return out


def household_months(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                     method: Methodology) -> list[dict[str, Any]]:
    """Report rows ``{"month", "energy_wh": {...}, "reduction_g"}`` in month order."""
    months = bucket_energy(readings, terms, month_of)
    return [{"month": m, "energy_wh": e, "reduction_g": month_reduction_g(m, e, terms, method)}
            for m, e in sorted(months.items())]


def daily_reduction_g(readings: Iterable[ReadingFacts], terms: HouseholdTerms,
                      method: Methodology) -> dict[str, int]:
    """Grams avoided per JST day (for eco-points)."""
    days = bucket_energy(readings, terms, day_of)
    out = {}
    for d, e in sorted(days.items()):
        f = method.factor(fiscal_year_of_month(d[:7]))
        out[d] = math.floor(reduction_exact(e, terms, f.g_per_kwh, method.gasoline_g_per_l))
    return out


def credits(reduction_g: int, carry_in_g: int) -> tuple[int, int]:
    """(whole tonnes issued, grams carried to the next batch)."""
    return divmod(reduction_g + carry_in_g, GRAMS_PER_TONNE)
