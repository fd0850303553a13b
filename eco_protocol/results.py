"""The monitoring report's tables as CSV, derived from ``report.json`` alone (pure).

``results.csv`` is the results table a J-Credit monitoring report carries (docs/methodology.md:
symbol, definition and unit, classification, method and frequency, value, period, remarks), one
row per monitoring item, plus one row per exclusion rule. ``households.csv`` is the per-household
table: what each pseudonymous household's readings were, how many credited, how many were
excluded and why, the rule that zeroed the household if one did, and its reduction. Both are
functions of the signed report, so ``eco-verify`` regenerates them and compares byte for byte:
a table that drifted from the report (or dropped an exclusion) is refused.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from typing import Any

from .creditability import RULE_TEXT, Rule

RESULT_COLUMNS = ("symbol", "definition_and_unit", "classification", "method_and_frequency",
                  "value", "period", "remarks")
HOUSEHOLD_COLUMNS = ("household", "devices", "readings_covered", "readings_creditable",
                     "readings_excluded", "excluded_by_rule", "zeroed_by", "flags",
                     "pv_generation_wh",
                     "grid_export_wh", "self_consumed_wh", "ev_charge_wh", "reduction_g")
DEMONSTRATION_REMARK = "DEMONSTRATION: illustrative factors, not for certification"


def _rule_text(code: str) -> str:
    try:
        return RULE_TEXT[Rule(code)]
    except ValueError:
        return code


def _csv(header: tuple[str, ...], rows: Sequence[Sequence[object]]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(header)
    w.writerows(rows)
    return buf.getvalue()


def results_table(report: Mapping[str, Any]) -> str:
    """The monitoring report's results table for the verification body."""
    period = f"{report['period']['start']}..{report['period']['end']}"
    sums: dict[str, int] = {}
    for hh in report["households"]:
        for m in hh["months"]:
            for k, v in m["energy_wh"].items():
                sums[k] = sums.get(k, 0) + v
    meth = report["methodology"]
    rules = meth.get("rules", {})
    demo = bool(report.get("demonstration"))
    factors = "; ".join(f"FY{f['fiscal_year']}: {f['g_per_kwh']} g/kWh ({f['source']})"
                        for f in meth["grid_factors"])
    t = report["totals"]
    readings = [hh["readings"] for hh in report["households"]]
    covered = sum(r["covered"] for r in readings)
    creditable = sum(r["creditable"] for r in readings)
    zeroed = sum(1 for hh in report["households"] if hh["zeroed_by"])
    rows = [
        ("EG_PV", "PV generation, kWh", "monitored", "inverter register, every 30 min",
         f"{sums.get('pv_generation', 0) / 1000:.3f}", period, "creditable signed readings"),
        ("EX", "electricity exported to the grid, kWh", "monitored",
         "smart meter reverse register, every 30 min", f"{sums.get('grid_export', 0) / 1000:.3f}",
         period, "excluded from credit"),
        ("SC", "self-consumed PV, kWh", "calculated",
         "per interval max(0, EG_PV - EX); battery homes per day",
         f"{sums.get('self_consumed', 0) / 1000:.3f}", period, "households without export "
         "metering contribute 0"),
        ("EC_EV", "EV charging, kWh", "monitored", "charger register, every 30 min",
         f"{sums.get('ev_charge', 0) / 1000:.3f}", period, ""),
        ("EF_grid", "grid emission factor, g-CO2/kWh", "default value",
         "per fiscal year", factors, period, DEMONSTRATION_REMARK if demo else (
             "illustrative" if any(f["illustrative"] for f in meth["grid_factors"]) else "")),
        ("EF_gasoline", "gasoline emission factor, g-CO2/L", "default value", "fixed",
         str(meth["gasoline_g_per_l"]), period, meth["gasoline_source"]),
        ("PE_share", "project emissions (inverter consumption), ppm of the PV baseline",
         "default value", "fixed", str(rules.get("project_emission_ppm", "")), period, ""),
        ("ER", "emission reduction, t-CO2", "calculated", "sum over households and months",
         f"{t['reduction_g'] / 1_000_000:.6f}", period,
         f"credits {t['credits_t']} t; carry-in {t['carry_in_g']} g; carry-over "
         f"{t['carry_over_g']} g" + (f"; {DEMONSTRATION_REMARK}" if demo else "")),
        ("N_HH", "participating households", "monitored", "enrolments", str(
            len(report["households"])), period, f"pseudonyms only; {zeroed} zeroed by a rule"),
        ("N_READ", "covered readings", "monitored", "signed readings in the log",
         str(covered), period, f"{creditable} creditable"),
    ]
    for code, n in sorted(report["exclusions"].items()):
        rows.append((f"N_EXCL_{code}", f"readings excluded: {_rule_text(code)}", "calculated",
                     "creditability rules (docs/protocol.md §2-3)", str(n), period,
                     "logged, credit nothing"))
    return _csv(RESULT_COLUMNS, rows)


def households_table(report: Mapping[str, Any]) -> str:
    """One row per household: readings covered / creditable / excluded by rule, the rule that
    zeroed it, energy and reduction."""
    rows = []
    for hh in report["households"]:
        energy: dict[str, int] = {}
        for m in hh["months"]:
            for k, v in m["energy_wh"].items():
                energy[k] = energy.get(k, 0) + v
        r = hh["readings"]
        rows.append((
            hh["household"], " ".join(hh["devices"]), str(r["covered"]), str(r["creditable"]),
            str(r["covered"] - r["creditable"]),
            "; ".join(f"{k}={v}" for k, v in sorted(r["excluded"].items())),
            hh["zeroed_by"] or "", "; ".join(hh["flags"]), *(str(energy.get(k, 0)) for k in (
                "pv_generation", "grid_export", "self_consumed", "ev_charge")),
            str(hh["reduction_g"])))
    return _csv(HOUSEHOLD_COLUMNS, rows)


TABLES = {"results.csv": results_table, "households.csv": households_table}
"""The CSV files written beside ``report.json``, each a pure function of it."""

__all__ = ["HOUSEHOLD_COLUMNS", "RESULT_COLUMNS", "TABLES", "households_table", "results_table"]
