"""The demo's granular certificates (issue 19 point 6; docs/certificates.md): one kWh, one claim.

Three calls from :func:`firmware_sim.demo.steps.run`:

1. :func:`issue` — after the agents stopped and *before* the batches are sealed: the town issues
   hourly certificates for the first JST day's self-consumed PV of one home (the one without a
   FIT contract and without a battery: its environmental value is its own to sell, and its
   hourly figure is proven), so the J-Credit PV batch sealed next takes only the rest.
2. :func:`buyer_cancels` — after sealing: a buyer's account (a key made now, in
   ``certificates/buyer/``, never committed) receives the daytime bundles (``certificates
   assign``) and cancels most of them for its consumption on that day with requests it signs
   itself (``eco-verify certificate-request cancel`` → ``certificates cancel``). The witness
   round that follows cosigns the checkpoint holding them.
3. :func:`export_and_verify` — the export a buyer holds (``certificates export``: bundles and
   proof file), ``eco-verify certificates`` on it and on three tampered copies (face value
   raised, holder changed, an inclusion proof altered: each must be refused), and the hourly
   matching report (``eco-verify matching``) from a synthetic consumption CSV of the buyer.

Everything under ``--out/certificates/``; each command's output is kept beside what it checked.
"""

from __future__ import annotations

import base64
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from .children import bin_path, run_command, run_json, run_text
from .town import JST, SIM_START

CERTIFICATES = "certificates"
BUYER = "Example Steel Co. (demo buyer)"
DAYTIME_JST = range(9, 15)  # the hours whose bundles the buyer buys
TAMPERED = ("face-value", "holder", "proof")


@dataclass(frozen=True)
class Issued:
    """What step 1 issued: the home, its bundles (EnergyTag GC JSON) and the file."""

    household: str
    bundles: list[dict[str, Any]]
    file: Path

    @property
    def wh(self) -> int:
        return sum(int(b["bundle_quantity"]) for b in self.bundles)


@dataclass(frozen=True)
class Buyer:
    """The buyer's account after step 2: what it received and what it cancelled."""

    account: str
    received: list[str]  # issuance ids
    cancelled: list[str]
    cancelled_wh: int


def _day() -> tuple[str, str, str]:
    """The first JST day: its date pair for ``--period`` (JST dates) and its UTC bounds."""
    start = SIM_START + JST
    end = start + timedelta(days=1)
    return (f"{start:%Y-%m-%d}..{end:%Y-%m-%d}", f"{SIM_START:%Y-%m-%dT%H:%M:%SZ}",
            f"{SIM_START + timedelta(days=1):%Y-%m-%dT%H:%M:%SZ}")


def seller(terms: dict[str, tuple[str, ...]]) -> str | None:
    """The home whose PV becomes certificates: PV, no FIT contract, no battery, exporting
    (None in a smaller town, ``--households``)."""
    for household, t in sorted(terms.items()):
        if "--fit-status" in t and t[t.index("--fit-status") + 1] == "none" and \
                "--no-battery" in t and "--zero-export" not in t:
            return household
    return None


def issue(out: Path, agg: Sequence[str], terms: dict[str, tuple[str, ...]],
          names: dict[str, str]) -> Issued | None:
    """Step 1: ``certificates issue`` for the seller's first JST day, before any sealing.
    None — and the certificate steps are skipped — when the town has no such home or its day
    proved no self-consumption (a short run: ``--days 0.25`` ends before sunrise)."""
    household = seller(terms)
    if household is None:
        print("demo: certificates skipped: no home without FIT contract and battery")
        return None
    d = out / CERTIFICATES / "issued"
    r = run_command([*agg, "certificates", "issue", "--period", _day()[0], "--household",
                     household, "--out", str(d)])
    if r.returncode != 0:
        said = r.stderr.strip().splitlines() or [f"exit {r.returncode}"]
        print(f"demo: certificates skipped: {said[-1]}")
        return None
    done = json.loads(r.stdout)
    path = Path(done["file"])
    bundles = json.loads(path.read_text())["bundles"]
    print(f"demo: issued {done['issued']} hourly certificate bundles, {done['total_wh']} Wh of "
          f"{names.get(household, household)}'s self-consumed PV ({path})")
    return Issued(household, bundles, path)


def _jst_hour(bundle: dict[str, Any]) -> int:
    at = datetime.fromisoformat(bundle["production_starting_interval"].replace("Z", "+00:00"))
    return (at + JST).hour


def bought(issued: Issued) -> list[dict[str, Any]]:
    """The bundles the buyer buys: the daytime ones, or (on a day the simulated town ran
    short, e.g. a loaded machine) the first few issued — never none."""
    return [b for b in issued.bundles if _jst_hour(b) in DAYTIME_JST] or issued.bundles[:3]


def buyer_cancels(out: Path, agg: Sequence[str], issued: Issued | None) -> Buyer | None:
    """Step 2: the buyer's account receives the bundles it buys and cancels all but the last
    one (the only one, if it bought one) for its consumption on that day, each with a request
    signed by its own key."""
    if issued is None:
        return None
    d = out / CERTIFICATES / "buyer"
    d.mkdir(parents=True, exist_ok=True)
    verify = bin_path("eco-verify")
    key = d / "buyer.key"
    account = run_json([verify, "certificate-request", "account", "--key", str(key)])["account"]
    received = bought(issued)
    for b in received:
        run_json([*agg, "certificates", "assign", "--ref", b["issuance_id"], "--ids",
                  f"{b['certificate_bundle_id_range_start']}..{b['certificate_bundle_id_range_end']}",
                  "--to", account])
    _, start, end = _day()
    cancelled = received[:-1] or received
    for i, b in enumerate(cancelled):
        request = d / f"cancel-{i + 1}.json"
        run_text([verify, "certificate-request", "cancel", "--key", str(key), "--ref",
                  b["issuance_id"], "--ids",
                  f"{b['certificate_bundle_id_range_start']}..{b['certificate_bundle_id_range_end']}",
                  "--period", f"{start}..{end}", "--beneficiary", BUYER, "--out", str(request)])
        run_json([*agg, "certificates", "cancel", str(request)])
    wh = sum(int(b["bundle_quantity"]) for b in cancelled)
    print(f"demo: buyer {account} received {len(received)} bundles and cancelled "
          f"{len(cancelled)} ({wh} Wh) for its consumption on {_day()[0].split('..')[0]}")
    return Buyer(account, [b["issuance_id"] for b in received],
                 [b["issuance_id"] for b in cancelled], wh)


def consumption_csv() -> str:
    """The buyer's synthetic consumption for the day, as a utility's hourly download: an
    office (more by day, less at lunch), kWh with one decimal, JST with its offset."""
    lines = ["hour_start,consumption_kwh"]
    for h in range(24):
        at = SIM_START + timedelta(hours=h) + JST
        kwh = 0.3 if h < 8 or h >= 19 else (0.2 if h == 12 else 0.9)
        lines.append(f"{at:%Y-%m-%dT%H:%M:%S}+09:00,{kwh:.1f}")
    return "\n".join(lines) + "\n"


def _verify(args: Sequence[str], log: Path) -> subprocess.CompletedProcess[str]:
    r = run_command([bin_path("eco-verify"), *args])
    log.write_text(r.stdout + r.stderr)
    return r


def _reencode(entry: dict[str, Any], old: str, new: str) -> None:
    raw = base64.b64decode(entry["entry_b64"]).decode()
    entry["entry_b64"] = base64.b64encode(raw.replace(old, new).encode()).decode()


def tamper(export: Path, into: Path, account: str) -> list[Path]:
    """Three copies a dishonest seller might hand over: the first bundle's face value raised
    by 1 Wh, the buyer's received ids given to another account, an inclusion proof altered."""
    bundles = json.loads((export / "bundles.json").read_text())
    proofs = json.loads((export / "proofs.json").read_text())
    made = []
    for name in TAMPERED:
        b, p = json.loads(json.dumps(bundles)), json.loads(json.dumps(proofs))
        if name == "face-value":
            first = b["bundles"][0]
            first["bundle_quantity"] += 1
            first["certificate_bundle_id_range_end"] += 1
        elif name == "holder":
            other = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
            for e in p["entries"]:
                if account in base64.b64decode(e["entry_b64"]).decode():
                    _reencode(e, account, other)
                    break
        else:
            e = next(e for e in p["entries"] if e["proof_b64"])
            h = bytearray(base64.b64decode(e["proof_b64"][0]))
            h[0] ^= 1
            e["proof_b64"][0] = base64.b64encode(bytes(h)).decode()
        d = into / name
        d.mkdir(parents=True, exist_ok=True)
        (d / "bundles.json").write_text(json.dumps(b, indent=1) + "\n")
        (d / "proofs.json").write_text(json.dumps(p, indent=1) + "\n")
        made.append(d)
    return made


def batch_self_consumed(out: Path) -> int:
    """The self-consumed PV Wh the J-Credit PV batch credited (net of the issued Wh)."""
    report = json.loads((out / "pv" / "report.json").read_text())
    return sum(int(m["energy_wh"].get("self_consumed", 0)) for h in report["households"]
               for m in h["months"])


def export_and_verify(out: Path, agg: Sequence[str], log_vkey: str, witness_vkey: str,
                      issued: Issued | None, buyer: Buyer | None
                      ) -> tuple[dict[str, Any] | None, bool]:
    """Step 3: export, check offline (and the tampered copies), the hourly matching report.
    (The summary's ``certificates`` part, whether everything checked as it must; nothing to
    check when step 1 issued nothing.)"""
    if issued is None or buyer is None:
        return None, True
    d = out / CERTIFICATES
    export = d / "export"
    run_json([*agg, "certificates", "export", "--out", str(export), "--household",
              issued.household])
    pinned = ["--log-key", log_vkey, "--witness", witness_vkey, "--min-witnesses", "1"]
    ok = _verify(["certificates", str(export), *pinned, "--lang", "en"], d / "verify.txt")
    print(f"demo: eco-verify certificates {export}")
    print(ok.stdout.splitlines()[0] if ok.returncode == 0 else ok.stdout + ok.stderr)
    checks = []
    for t in tamper(export, d / "tampered", buyer.account):
        r = _verify(["certificates", str(t), *pinned, "--lang", "en"],
                    d / "tampered" / f"verify-{t.name}.txt")
        checks.append(r.returncode == 1)
        print(f"demo: tampered copy {t.name}: "
              + ("refused" if r.returncode == 1 else "NOT REFUSED"))
    (d / "consumption.csv").write_text(consumption_csv())
    matching = d / "matching"
    for lang, where in (("en", matching), ("ja", matching / "ja")):
        m = _verify(["matching", str(export), "--consumption", str(d / "consumption.csv"),
                     "--account", buyer.account, "--out", str(where), *pinned,
                     "--lang", lang], d / f"matching-{lang}.txt")
        checks.append(m.returncode == 0)
    print((d / "matching-en.txt").read_text(), end="")
    report = json.loads((matching / "matching.json").read_text()) \
        if (matching / "matching.json").exists() else {"totals": {}}
    good = ok.returncode == 0 and all(checks)
    return {"household": issued.household, "bundles": len(issued.bundles),
            "issued_wh": issued.wh, "buyer": buyer.account, "received": len(buyer.received),
            "cancelled": len(buyer.cancelled), "cancelled_wh": buyer.cancelled_wh,
            "hourly_share": report["totals"].get("hourly_share"),
            "volumetric_share": report["totals"].get("volumetric_share"),
            "pv_batch_self_consumed_wh": batch_self_consumed(out),
            "tampered_refused": sum(checks[:len(TAMPERED)]),
            "verification": "ok" if good else "FAILED", "directory": str(d)}, good


__all__ = ["CERTIFICATES", "Buyer", "Issued", "buyer_cancels", "consumption_csv",
           "batch_self_consumed", "bought", "export_and_verify", "issue", "seller", "tamper"]
