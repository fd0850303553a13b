"""What the demo prints and writes at the end: a line per household of each batch, each batch's
figures, and the whole town's summary (``--out/summary.json``)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

from .town import JOINED, WITNESS


def household_line(row: dict[str, Any], terms: tuple[str, ...]) -> str:
    """One household of a batch in the summary: its reduction and what the rules did to it."""
    energy: dict[str, int] = {}
    for m in row["months"]:
        for k, v in m["energy_wh"].items():
            energy[k] = energy.get(k, 0) + v
    notes = []
    if row["zeroed_by"]:
        notes.append(f"zeroed: {row['zeroed_by'].split(':')[0]}")
    elif "--zero-export" in terms and energy.get("pv_generation"):
        notes.append(f"zero export declared, metered export {energy.get('grid_export', 0)} Wh")
    if "--battery" in terms and energy.get("pv_generation"):
        notes.append("battery: netted per JST day")
    if energy.get("pv_generation"):
        notes.append(f"PV {energy['pv_generation'] / 1000:.1f} kWh, self-consumed "
                     f"{energy.get('self_consumed', 0) / 1000:.1f} kWh")
    if energy.get("ev_charge"):
        notes.append(f"EV charged {energy['ev_charge'] / 1000:.1f} kWh")
    excluded = row["readings"]["excluded"]
    if excluded:
        notes.append("excluded " + ", ".join(f"{k} {v}" for k, v in excluded.items()))
    return f"{row['reduction_g'] / 1000:9.3f} kg-CO2  " + "; ".join(notes)


def batch_summary(batch: dict[str, Any], report: dict[str, Any], names: dict[str, str],
                  verified: bool, directory: Path,
                  terms: dict[str, tuple[str, ...]]) -> dict[str, Any]:
    """What the demo's summary says about one sealed and reported batch."""
    rows = report["households"]
    readings = {k: sum(h["readings"][k] for h in rows) for k in ("covered", "creditable")}
    return {
        "batch_id": batch["batch_id"],
        "directory": str(directory),
        "households": len(rows),
        "readings": readings,
        "reduction_kg": batch["totals"]["reduction_g"] / 1000,
        "credits_t": batch["totals"]["credits_t"],
        "carry_over_g": batch["totals"]["carry_over_g"],
        "exclusions": report["exclusions"],
        "zeroed": {h["household"]: h["zeroed_by"] for h in rows if h["zeroed_by"]},
        "by_household": {names.get(h["household"], h["household"]):
                         household_line(h, terms.get(h["household"], ()))
                         for h in sorted(rows, key=lambda h: names.get(h["household"], ""))},
        "demonstration": report.get("demonstration", False),
        "verification": "ok" if verified else "FAILED",
    }


def print_certificates(c: dict[str, Any], names: dict[str, str]) -> None:
    """Where the self-consumed PV went: certificates or the J-Credit batch, never both."""
    print(f"demo: certificates ({c['directory']})  verification {c['verification']}")
    print(f"  {'issued':26} {c['issued_wh']} Wh in {c['bundles']} hourly bundles of "
          f"{names.get(c['household'], c['household'])}; the PV batch credits "
          f"{c['pv_batch_self_consumed_wh']} Wh self-consumed, net of them (no Wh in both)")
    print(f"  {'buyer':26} {c['buyer']}: received {c['received']}, cancelled "
          f"{c['cancelled']} ({c['cancelled_wh']} Wh)")
    shares = [f"{x * 100:.1f}%" if isinstance(x, float | int) else "none"
              for x in (c["hourly_share"], c["volumetric_share"])]
    print(f"  {'hourly matching':26} {shares[0]} of the buyer's use matched hour by hour "
          f"({shares[1]} counted annual-style); tampered copies refused "
          f"{c['tampered_refused']}/3")


def print_summary(result: dict[str, Any], names: dict[str, str]) -> None:
    print("demo: summary")
    for k, v in result.items():
        if k not in ("batches", "certificates"):
            print(f"  {k:26} {v}")
    if result.get("certificates"):
        print_certificates(result["certificates"], names)
    for m, b in result["batches"].items():
        demo = "  DEMONSTRATION (illustrative factors, not for certification)" \
            if b["demonstration"] else ""
        print(f"demo: batch {b['batch_id']} ({m}){demo}")
        print(f"  {'report':26} {b['directory']}/report.json  verification {b['verification']}")
        print(f"  {'households':26} {b['households']}  (readings covered "
              f"{b['readings']['covered']}, creditable {b['readings']['creditable']})")
        print(f"  {'reduction':26} {b['reduction_kg']:.3f} kg-CO2 → {b['credits_t']} credits "
              f"(t), carry-over {b['carry_over_g']} g")
        for hh, line in b["by_household"].items():
            print(f"    {hh:36} {line}")
        excl = ", ".join(f"{k} {v}" for k, v in b["exclusions"].items()) or "none"
        print(f"  {'excluded readings':26} {excl}")
        for hh, why in b["zeroed"].items() or [("none", "")]:
            print(f"  {'zeroed household':26} {names.get(hh, hh)}"
                  + (f" ({hh}): {why}" if why else ""))



def town_summary(*, households: int, devices: int, pending: int, statuses: dict[str, Any],
                 verified: bool, verify: subprocess.CompletedProcess[str],
                 audit: dict[str, Any], points: dict[str, Any],
                 rotated: dict[str, Any] | None, batches: dict[str, dict[str, Any]],
                 names: dict[str, str], seconds: float, evidence: Path) -> dict[str, Any]:
    """The whole demo in one document (``summary.json``; printed by :func:`print_summary`).
    ``verify`` is ``eco-verify evidence --json`` over the whole log; ``verified`` whether it
    and every batch report passed."""
    summary = (json.loads(verify.stdout.strip().splitlines()[-1]) if verify.returncode == 0
               else {})
    readings = audit["counts"].get("eco.reading/v1", 0)
    wh = summary.get("energy_wh", {}).get("pv_generation", 0)
    return {
        "households": households,
        "devices": devices,
        "participation_date": JOINED,
        "readings_accepted": readings,
        "pv_kwh": round(wh / 1000, 1),
        "kwh_by_quantity": {q: round(v / 1000, 1)
                            for q, v in sorted(summary.get("energy_wh", {}).items())},
        "tree_size": audit["size"],
        "pending_after_drain": pending,
        "non_creditable_receipts": {
            n: s.get("non_creditable", {}).get("total", 0) for n, s in statuses.items()
            if s.get("non_creditable", {}).get("total")},
        "verification": "ok" if verified else (verify.stderr or "a batch report failed"),
        "witnessed_by": WITNESS,
        "log_key_rotated_at_entry": None if rotated is None else rotated["change_entry"],
        "demonstration": all(b["demonstration"] for b in batches.values()),
        "points": dict(sorted((names.get(p["household"], p["household"]), p["balance"])
                              for p in points["households"])),
        "seconds": round(seconds, 1),
        "evidence": str(evidence),
        "batches": batches,
    }


__all__ = ["batch_summary", "household_line", "print_certificates", "print_summary",
           "town_summary"]
