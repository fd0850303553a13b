"""A clean-room recomputation of a batch report from its evidence.

Written only from ``docs/protocol.md`` and ``docs/methodology.md``: nothing here imports or was
read from ``eco_protocol``, ``aggregator`` or ``agent``. It replays ``entries.jsonl`` in index
order, checks each device's reading chain (seq/prev), judges every reading's creditability under
the rules the report carries (protocol.md §2.3–2.5), selects the seal's covered readings
(protocol.md §5.2), recomputes every household row and the batch totals (methodology.md §2–§6,
protocol.md §5.4–5.5), and compares them with the report, to the gram.

Signatures and the Merkle root are *not* checked here (``eco-verify`` does that); the covered
readings' count and digest are, because they only need SHA-256.

Where the documents leave a choice open, the choice made is marked ``DOC-GAP`` below.

    python -m tests.e2e.cleanroom REPORT.json EVIDENCE_DIR
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import sys
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path
from typing import Any

JST = timezone(timedelta(hours=9))
MAX_SAFE = 2**53 - 1
INSTANT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
DAY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
GENESIS_PREV = "0" * 64
MAX_ENTRY = 65535

ENTRY_TYPES = frozenset({"eco.reading/v1", "eco.enrol/v1", "eco.revoke/v1", "eco.redeem/v1",
                         "eco.batch/v1", "eco.certify/v1", "eco.logkey/v1",
                         "eco.quarantine/v1", "eco.release/v1", "eco.claim/v1"})
ALL_QUANTITIES = frozenset({"pv_generation", "grid_export", "grid_import", "ev_charge"})
# protocol.md §5.1
COVERS: dict[str | None, frozenset[str]] = {
    "pv": frozenset({"pv_generation", "grid_export", "grid_import"}),
    "ev": frozenset({"ev_charge"}),
    None: ALL_QUANTITIES,
}
# protocol.md §2.1: the energy-excusing flags
EXCUSING = frozenset({"meter_reset", "meter_replaced", "rollover"})
ENERGY_KEYS = ("pv_generation", "grid_export", "self_consumed", "ev_charge", "grid_import")
RULE_CODES = ("quarantined", "unknown_meter", "quantity_mismatch", "bad_interval", "misaligned",
              "over_long", "overlap", "register_discontinuity", "energy_mismatch", "implausible",
              "clock_unsynced", "before_joining", "outside_crediting_period",
              "equipment_too_old", "bad_enrolment")
# protocol.md §2.5 defaults (the report must carry every field; these are only for reference)
DEFAULT_RULES: dict[str, Any] = {
    "interval_s": 1800, "max_gap_intervals": 48, "max_equipment_age_years": 2,
    "crediting_years": 8, "registered": None, "crediting_until": "2031-03-31",
    "battery": "daily", "project_emission_ppm": 6000, "ev_real_wh_per_km": None,
    "demonstration": False,
}


class EvidenceError(Exception):
    """The evidence does not replay (protocol.md §1, §4.2), naming the entry."""


# --------------------------------------------------------------------------------------------
# §1.1 canonical bytes, strict parsing


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = v
    return out


def _refuse_number(text: str) -> Any:
    raise ValueError(f"number {text!r} is not an integer")


def _check_ints(v: Any) -> None:
    if isinstance(v, bool) or v is None or isinstance(v, str):
        return
    if isinstance(v, int):
        if not -MAX_SAFE <= v <= MAX_SAFE:
            raise ValueError(f"integer {v} beyond ±(2^53 − 1)")
    elif isinstance(v, list):
        for x in v:
            _check_ints(x)
    elif isinstance(v, dict):
        for x in v.values():
            _check_ints(x)
    else:
        raise ValueError(f"unexpected JSON value {v!r}")


def _jcs(v: Any) -> str:
    """RFC 8785 for JSON without floats: keys sorted by UTF-16 code units, no whitespace."""
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-16-be"))
        return "{" + ",".join(json.dumps(k, ensure_ascii=False) + ":" + _jcs(v[k])
                              for k in keys) + "}"
    if isinstance(v, list):
        return "[" + ",".join(_jcs(x) for x in v) + "]"
    return json.dumps(v, ensure_ascii=False)


def canonical(v: Any) -> bytes:
    return _jcs(v).encode("utf-8")


def parse_strict(raw: bytes) -> dict[str, Any]:
    if raw.startswith(b"\xef\xbb\xbf"):
        raise ValueError("byte-order mark")
    obj = json.loads(raw.decode("utf-8"), object_pairs_hook=_pairs,
                     parse_float=_refuse_number, parse_constant=_refuse_number)
    _check_ints(obj)
    if not isinstance(obj, dict):
        raise ValueError("an entry is not a JSON object")
    return obj


def b64decode(s: str) -> bytes:
    raw = base64.b64decode(s, validate=True)
    if base64.b64encode(raw).decode("ascii") != s:
        raise ValueError("non-canonical base64")
    return raw


# --------------------------------------------------------------------------------------------
# §1.2 time


def instant(s: Any) -> int:
    if not isinstance(s, str) or not INSTANT_RE.match(s):
        raise ValueError(f"not an instant: {s!r}")
    dt = datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    return int(dt.timestamp())


def jst_day(s: Any) -> date | None:
    """A ``YYYY-MM-DD`` JST day, or None when ``s`` is not one (DOC-GAP: we also require a real
    calendar date, e.g. 2026-02-30 is not a day)."""
    if not isinstance(s, str) or not DAY_RE.match(s):
        return None
    try:
        return date.fromisoformat(s)
    except ValueError:
        return None


def jst_midnight(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=JST).timestamp())


def jst_date_of(t: int) -> date:
    return datetime.fromtimestamp(t, JST).date()


def jst_month_of(t: int) -> str:
    return datetime.fromtimestamp(t, JST).strftime("%Y-%m")


def add_years(d: date, n: int) -> date:
    """protocol.md §2.4: keeps month and day; 29 February becomes 28 February in a common
    year."""
    try:
        return d.replace(year=d.year + n)
    except ValueError:
        return d.replace(year=d.year + n, day=28)


def fiscal_year(month: str) -> int:
    y, m = int(month[:4]), int(month[5:7])
    return y if m >= 4 else y - 1


# --------------------------------------------------------------------------------------------
# §2.4 creditability


@dataclass
class Cursor:
    end: int
    register_end_wh: int


@dataclass
class Judged:
    index: int
    record: dict[str, Any]
    leaf_hash: bytes
    start: int
    end: int
    rule: str | None


def joining_instant(enrol: dict[str, Any], joined: date | None) -> int:
    t = instant(enrol["enrolled_at"])
    return max(t, jst_midnight(joined)) if joined is not None else t


def crediting_end(rules: dict[str, Any]) -> int:
    until = jst_day(rules["crediting_until"])
    if until is None:
        raise EvidenceError(f"rules.crediting_until is not a day: {rules['crediting_until']!r}")
    last = until + timedelta(days=1)
    registered = rules.get("registered")
    if registered is not None:
        reg = jst_day(registered)
        if reg is None:
            raise EvidenceError(f"rules.registered is not a day: {registered!r}")
        last = min(last, add_years(reg, int(rules["crediting_years"])))
    return jst_midnight(last)


def judge(r: dict[str, Any], start: int, end: int, enrol: dict[str, Any],
          cursor: Cursor | None, rules: dict[str, Any]) -> str | None:
    """The first rule of protocol.md §2.4 the reading breaks, or None when creditable."""
    meters = {m["id"]: m for m in enrol["meters"]}
    meter = meters.get(r["meter"])
    if meter is None:
        return "unknown_meter"
    if r["quantity"] != meter["quantity"]:
        return "quantity_mismatch"
    if end <= start:
        return "bad_interval"
    p = int(rules["interval_s"])
    if start % p != 0 or (end - start) % p != 0:
        return "misaligned"
    k = (end - start) // p
    flags = set(r["flags"])
    if (k > 1 and "gap_filled" not in flags) or k > int(rules["max_gap_intervals"]):
        return "over_long"
    if cursor is not None and start < cursor.end:
        return "overlap"
    excused = bool(flags & EXCUSING)
    if cursor is not None and r["register_start_wh"] != cursor.register_end_wh and not excused:
        return "register_discontinuity"
    if not excused and r["energy_wh"] != r["register_end_wh"] - r["register_start_wh"]:
        return "energy_mismatch"
    if r["energy_wh"] > int(meter["rated_w"]) * (end - start) // 3600:
        return "implausible"
    if "clock_unsynced" in flags:
        return "clock_unsynced"
    fit = enrol["fit"] if isinstance(enrol["fit"], dict) else {}
    # §2.4 rule 11: `"joined": null` means absent
    joined: date | None = None
    if fit.get("joined") is not None:
        joined = jst_day(fit["joined"])
        if joined is None:
            return "bad_enrolment"
    joining = joining_instant(enrol, joined)
    if start < joining:
        return "before_joining"
    registered = rules.get("registered")
    if registered is not None:
        reg = jst_day(registered)
        if reg is None:
            raise EvidenceError(f"rules.registered is not a day: {registered!r}")
        if start < jst_midnight(reg):
            return "outside_crediting_period"
    if end > crediting_end(rules):
        return "outside_crediting_period"
    if r["quantity"] == "pv_generation":
        installed = jst_day(fit.get("installed"))
        if installed is None:
            return "bad_enrolment"
        oldest = add_years(jst_date_of(joining), -int(rules["max_equipment_age_years"]))
        if installed < oldest:
            return "equipment_too_old"
    return None


# --------------------------------------------------------------------------------------------
# §4.2 replay


@dataclass
class Replay:
    enrolments: dict[str, tuple[int, dict[str, Any]]]  # device id → (index, enrolment)
    readings: list[Judged]
    seals: list[tuple[int, dict[str, Any]]]
    # §4.11 `issued` claims: entry index → reading entry index → Wh taken off its PV
    issued: list[tuple[int, dict[int, int]]] = field(default_factory=list)


def _competes(a: dict[str, Any], b: dict[str, Any]) -> bool:
    """protocol.md §5.1."""
    if a["programme"] != b["programme"]:
        return False
    ma, mb = a.get("methodology"), b.get("methodology")
    return ma is None or mb is None or ma == mb


def replay(entries: Sequence[bytes], rules: dict[str, Any]) -> Replay:
    enrolments: dict[str, tuple[int, dict[str, Any]]] = {}
    revoked: dict[str, int] = {}
    quarantined: set[str] = set()  # protocol.md §4.4a
    chains: dict[str, tuple[int, str]] = {}  # device → (last seq, last hash)
    cursors: dict[tuple[str, str], Cursor] = {}
    readings: list[Judged] = []
    seals: list[tuple[int, dict[str, Any]]] = []
    sealed: set[str] = set()
    certified: set[str] = set()
    issued: list[tuple[int, dict[int, int]]] = []
    for index, raw in enumerate(entries):
        def fail(why: str, index: int = index) -> EvidenceError:
            return EvidenceError(f"entry {index}: {why}")

        if len(raw) > MAX_ENTRY:
            raise fail("longer than 65535 bytes")
        try:
            rec = parse_strict(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise fail(f"not strict JSON: {e}") from e
        if canonical(rec) != raw:
            raise fail("not canonical bytes (RFC 8785)")
        kind = rec.get("type")
        if kind not in ENTRY_TYPES:
            raise fail(f"unknown type {kind!r}")
        if kind == "eco.enrol/v1":
            dev = rec["device_id"]
            if dev in enrolments:
                raise fail(f"device {dev} enrolled twice")
            enrolments[dev] = (index, rec)
        elif kind == "eco.revoke/v1":
            dev = rec["device_id"]
            if dev not in enrolments:
                raise fail(f"revokes device {dev}, which is not enrolled")
            revoked.setdefault(dev, index)
        elif kind in ("eco.quarantine/v1", "eco.release/v1"):
            dev = rec["device_id"]
            if dev not in enrolments or dev in revoked:
                raise fail(f"{kind} of device {dev}, which is not enrolled or is revoked")
            if (kind == "eco.release/v1") != (dev in quarantined):
                raise fail(f"{kind} of device {dev}, which is "
                           f"{'not ' if dev not in quarantined else 'already '}quarantined")
            if kind == "eco.release/v1":
                quarantined.discard(dev)
            else:
                quarantined.add(dev)
        elif kind == "eco.reading/v1":
            dev = rec["device_id"]
            if dev not in enrolments:
                raise fail(f"reading of device {dev}, which is not enrolled")
            if dev in revoked:
                raise fail(f"reading of device {dev} after its revocation")
            last_seq, last_hash = chains.get(dev, (0, GENESIS_PREV))
            if rec["seq"] != last_seq + 1:
                raise fail(f"device {dev} seq {rec['seq']}, expected {last_seq + 1}")
            if rec["prev"] != last_hash:
                raise fail(f"device {dev} seq {rec['seq']}: prev is not the previous reading")
            chains[dev] = (rec["seq"], hashlib.sha256(raw).hexdigest())
            try:
                start, end = instant(rec["start"]), instant(rec["end"])
            except ValueError as e:
                raise fail(str(e)) from e
            enrol = enrolments[dev][1]
            key = (dev, rec["meter"])
            cursor = cursors.get(key)
            judged = judge(rec, start, end, enrol, cursor, rules)
            # §2.4 rule 0: a quarantined device's readings credit nothing, cursors move as ever
            rule = "quarantined" if dev in quarantined else judged
            if judged != "unknown_meter":
                new_end = end if cursor is None else max(cursor.end, end)
                cursors[key] = Cursor(new_end, rec["register_end_wh"])
            leaf = hashlib.sha256(b"\x00" + raw).digest()
            readings.append(Judged(index, rec, leaf, start, end, rule))
        elif kind == "eco.batch/v1":
            if rec["batch_id"] in sealed:
                raise fail(f"batch_id {rec['batch_id']!r} sealed twice")
            ps, pe = instant(rec["period"]["start"]), instant(rec["period"]["end"])
            for _, other in seals:
                if _competes(rec, other):
                    os_, oe = instant(other["period"]["start"]), instant(other["period"]["end"])
                    if ps < oe and os_ < pe:
                        raise fail(f"period overlaps competing seal {other['batch_id']!r}")
            sealed.add(rec["batch_id"])
            seals.append((index, rec))
        elif kind == "eco.certify/v1":
            if rec["batch_id"] not in sealed or rec["batch_id"] in certified:
                raise fail(f"certification of {rec['batch_id']!r}")
            certified.add(rec["batch_id"])
        elif kind == "eco.claim/v1":
            # protocol.md §4.11: a `sealed` claim follows its seal and changes no figure; an
            # `issued` one takes Wh off the PV of readings a later seal covers. DOC-GAP (ours):
            # the claim's own checks (share, creditability, ids) are the verifier's; this
            # recomputation only takes the issued Wh off, as §4.11's `sealed` paragraph says.
            if rec.get("action") == "sealed" and rec.get("ref") not in sealed:
                raise fail(f"sealed claim of {rec.get('ref')!r}, which is not sealed before it")
            if rec.get("action") == "issued":
                taken: dict[int, int] = defaultdict(int)
                for part in rec["parts"]:
                    taken[int(part["index"])] += int(part["wh"])
                issued.append((index, dict(taken)))
    return Replay(enrolments, readings, seals, issued)


# --------------------------------------------------------------------------------------------
# §5.2 coverage, methodology.md §3–§6 arithmetic


def _floor(x: Fraction) -> int:
    return x.numerator // x.denominator


def _grid_factor(methodology: dict[str, Any], month: str) -> int:
    fy = fiscal_year(month)
    for f in methodology["grid_factors"]:
        if f["fiscal_year"] == fy:
            return int(f["g_per_kwh"])
    raise EvidenceError(f"no grid factor for FY{fy} (month {month})")


def _union_fit(enrols: list[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
    """protocol.md §4.3: the union of their fit objects, in order of (enrolled_at, device_id),
    nulls ignored, later values winning, except a battery declared by any of them."""
    out: dict[str, Any] = {}
    ordered = sorted((e for _, e in enrols), key=lambda e: (e["enrolled_at"], e["device_id"]))
    for e in ordered:
        if isinstance(e["fit"], dict):
            out.update({k: v for k, v in e["fit"].items() if v is not None})
    if any(isinstance(e["fit"], dict) and e["fit"].get("battery") is True for e in ordered):
        out["battery"] = True
    return out


def _household_rows(covered: list[Judged], rep: Replay, seal_index: int,
                    seal: dict[str, Any], methodology: dict[str, Any]) -> list[dict[str, Any]]:
    rules = methodology["rules"]
    meth = seal.get("methodology")
    by_hh: dict[str, list[Judged]] = defaultdict(list)
    for j in covered:
        by_hh[rep.enrolments[j.record["device_id"]][1]["household"]].append(j)
    ppm = Fraction(int(rules["project_emission_ppm"]), 1_000_000)
    rows = []
    for hh in sorted(by_hh):
        js = by_hh[hh]
        # DOC-GAP: "the household's enrolments" = its enrolments in the batch's programme that
        # precede the seal (as the report's `enrolments` field, §5.5).
        enrols = [(i, e) for i, e in rep.enrolments.values()
                  if e["household"] == hh and e["programme"] == seal["programme"]
                  and i < seal_index]
        fit = _union_fit(enrols)
        quantities = {m["quantity"] for _, e in enrols for m in e["meters"]}
        battery = fit.get("battery") is True
        zeroed: str | None = None
        if meth != "ev":
            # DOC-GAP: export_unmetered only for a household with an enrolled PV meter, and it
            # takes precedence over battery_excluded (the order of methodology.md §8.2).
            if "pv_generation" in quantities and "grid_export" not in quantities:
                zeroed = "export_unmetered"
            elif battery and rules["battery"] == "exclude":
                zeroed = "battery_excluded"
        # DOC-GAP: `flags` is not in protocol.md §5.5. Inferred from README ("its flags (a
        # battery is always flagged)") and methodology.md §3.4/§7.6, then corrected by
        # comparison with reports: the zeroing rule when there is one, otherwise `battery` for a
        # battery home netted per day; never a battery flag in an EV batch. Compared by code
        # (the text before ':'), whose wording no document gives.
        flags = [zeroed] if zeroed else (["battery"] if battery and meth != "ev" else [])

        excluded: dict[str, int] = defaultdict(int)
        for j in js:
            if j.rule is not None:
                excluded[j.rule] += 1
        cred = [j for j in js if j.rule is None]
        taken: dict[int, int] = defaultdict(int)  # §4.11: Wh issued before the seal
        for at, parts in rep.issued:
            if at < seal_index:
                for i, wh in parts.items():
                    taken[i] += wh

        energy: dict[str, dict[str, int]] = defaultdict(lambda: dict.fromkeys(ENERGY_KEYS, 0))
        spans: dict[tuple[int, int], dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for j in cred:
            q = j.record["quantity"]
            wh = j.record["energy_wh"] - (taken[j.index] if q == "pv_generation" else 0)
            energy[jst_month_of(j.start)][q] += wh
            spans[(j.start, j.end)][q] += wh
        if zeroed is None:
            if battery and rules["battery"] == "daily":
                day_pv: dict[date, int] = defaultdict(int)
                day_ex: dict[date, int] = defaultdict(int)
                day_month: dict[date, str] = {}
                for (s, _e), qs in sorted(spans.items()):
                    if "grid_export" not in qs:
                        continue
                    d = jst_date_of(s)
                    # "the month of the day's first span that has an export reading"
                    day_month.setdefault(d, jst_month_of(s))
                    day_ex[d] += qs["grid_export"]
                    if "pv_generation" in qs:
                        day_pv[d] += qs["pv_generation"]
                for d, month in day_month.items():
                    energy[month]["self_consumed"] += max(0, day_pv[d] - day_ex[d])
            else:
                for (s, _e), qs in spans.items():
                    if "pv_generation" in qs and "grid_export" in qs:
                        energy[jst_month_of(s)]["self_consumed"] += max(
                            0, qs["pv_generation"] - qs["grid_export"])

        months: list[dict[str, Any]] = []
        total = 0
        for month in sorted(energy):
            e = energy[month]
            f = _grid_factor(methodology, month)
            g = Fraction(e["self_consumed"] * f, 1000) * (1 - ppm)
            if e["ev_charge"]:
                ev = fit.get("ev")
                if not isinstance(ev, dict):
                    raise EvidenceError(f"household {hh} charges an EV without fit.ev")
                wh_per_km = max(int(ev["wh_per_km"]), int(rules["ev_real_wh_per_km"] or 0))
                km = Fraction(e["ev_charge"], wh_per_km)
                litres = km * 1000 / int(ev["petrol_m_per_l"])
                g += litres * int(methodology["gasoline_g_per_l"])
                g -= Fraction(e["ev_charge"] * f, 1000)
            months.append({"month": month, "energy_wh": dict(e), "reduction_g": _floor(g)})
            total += _floor(g)
        rows.append({
            "household": hh,
            "devices": sorted({j.record["device_id"] for j in js}),
            "readings": {"covered": len(js), "creditable": len(cred),
                         "excluded": dict(sorted(excluded.items()))},
            "zeroed_by": zeroed,
            "flags": flags,
            "months": months,
            "reduction_g": total,
        })
    return rows


def _totals(reduction_g: int, carry_in_g: int) -> dict[str, int]:
    """protocol.md §5.4."""
    t = reduction_g + carry_in_g
    credits = t // 1_000_000 if t >= 0 else 0
    return {"reduction_g": reduction_g, "carry_in_g": carry_in_g, "credits_t": credits,
            "carry_over_g": t - 1_000_000 * credits}


def recompute(report: dict[str, Any], entries: list[bytes]) -> dict[str, Any]:
    """Recompute the report's households, exclusions and totals from the log ``entries``
    (each entry's bytes, in index order), under ``report["methodology"]``."""
    methodology = report["methodology"]
    rules = methodology["rules"]
    if set(rules) != set(DEFAULT_RULES):
        raise EvidenceError(f"methodology.rules has fields {sorted(rules)}")
    seal_index = int(report["seal"]["index"])
    if seal_index >= len(entries):
        raise EvidenceError(f"the seal's index {seal_index} is beyond the evidence")
    if b64decode(report["seal"]["entry_b64"]) != entries[seal_index]:
        raise EvidenceError(f"the report's seal is not entry {seal_index} of the evidence")
    rep = replay(entries, rules)
    seal = dict(rep.seals)[seal_index]
    covers = COVERS[seal.get("methodology")]
    ps, pe = instant(seal["period"]["start"]), instant(seal["period"]["end"])
    covered = [j for j in rep.readings
               if j.index < seal_index
               and rep.enrolments[j.record["device_id"]][1]["programme"] == seal["programme"]
               and j.record["quantity"] in covers
               and ps <= j.start and j.end <= pe]
    households = _household_rows(covered, rep, seal_index, seal, methodology)
    exclusions: dict[str, int] = defaultdict(int)
    for h in households:
        for code, n in h["readings"]["excluded"].items():
            exclusions[code] += n
    earlier = [(i, s) for i, s in rep.seals if i < seal_index]
    # DOC-GAP (§5.4): "the same methodology" compares the `methodology` field as it is, so a v1
    # seal (no field) carries only into a v1 seal.
    same = [s for _, s in earlier if s["programme"] == seal["programme"]
            and s.get("methodology") == seal.get("methodology")]
    carry_in = int(same[-1]["totals"]["carry_over_g"]) if same else 0
    return {
        "batch_id": seal["batch_id"],
        "seal_totals": seal["totals"],
        "covered_count": len(covered),
        "covered_digest": hashlib.sha256(b"".join(j.leaf_hash for j in covered)).hexdigest(),
        "seal_covered": (seal["covered_count"], seal["covered_digest"]),
        "previous_seals": [i for i, s in earlier if _competes(s, seal)],
        "households": households,
        "exclusions": dict(sorted(exclusions.items())),
        "totals": _totals(sum(h["reduction_g"] for h in households), carry_in),
    }


# --------------------------------------------------------------------------------------------
# comparison and CLI


def _code(text: Any) -> Any:
    return text.split(":", 1)[0] if isinstance(text, str) else text


def compare(ours: dict[str, Any], report: dict[str, Any]) -> list[str]:
    """Every difference between the recomputation and the report, one line each."""
    diffs: list[str] = []

    def check(what: str, mine: Any, theirs: Any) -> None:
        if mine != theirs:
            diffs.append(f"{what}: ours {json.dumps(mine)} report {json.dumps(theirs)}")

    check("covered (count, digest) vs seal",
          [ours["covered_count"], ours["covered_digest"]], list(ours["seal_covered"]))
    check("seal batch_id", ours["batch_id"], report["batch_id"])
    check("seal totals", ours["totals"], ours["seal_totals"])
    check("totals", ours["totals"], report["totals"])
    check("exclusions", ours["exclusions"], report["exclusions"])
    # DOC-GAP (§5.5 "codes sorted"): sorted by the code's text, not by the Rule order of §2.4
    check("exclusions order", list(ours["exclusions"]), list(report["exclusions"]))
    check("previous_seals", ours["previous_seals"],
          [p["index"] for p in report["previous_seals"]])
    theirs_rows = {h["household"]: h for h in report["households"]}
    check("households", [h["household"] for h in ours["households"]],
          [h["household"] for h in report["households"]])
    for mine in ours["households"]:
        hh = mine["household"]
        row = theirs_rows.get(hh)
        if row is None:
            continue
        for key in ("devices", "readings", "reduction_g"):
            check(f"{hh} {key}", mine[key], row.get(key))
        check(f"{hh} excluded order", list(mine["readings"]["excluded"]),
              list(row.get("readings", {}).get("excluded", {})))
        check(f"{hh} zeroed_by (code)", mine["zeroed_by"], _code(row.get("zeroed_by")))
        check(f"{hh} flags (codes)", mine["flags"],
              sorted(_code(f) for f in row.get("flags", [])))
        theirs_months = {m["month"]: m for m in row.get("months", [])}
        check(f"{hh} months", [m["month"] for m in mine["months"]],
              [m["month"] for m in row.get("months", [])])
        for m in mine["months"]:
            t = theirs_months.get(m["month"])
            if t is None:
                continue
            for k in ENERGY_KEYS:
                check(f"{hh} {m['month']} {k}", m["energy_wh"][k], t["energy_wh"].get(k))
            check(f"{hh} {m['month']} energy_wh fields", sorted(ENERGY_KEYS),
                  sorted(t["energy_wh"]))
            check(f"{hh} {m['month']} reduction_g", m["reduction_g"], t["reduction_g"])
    return diffs


def load_entries(evidence_dir: Path) -> list[bytes]:
    entries: list[bytes] = []
    for n, line in enumerate((evidence_dir / "entries.jsonl").read_text().splitlines()):
        item = json.loads(line)
        if item["index"] != n:
            raise EvidenceError(f"entries.jsonl line {n} has index {item['index']}")
        try:
            entries.append(b64decode(item["entry_b64"]))
        except (ValueError, binascii.Error) as e:
            raise EvidenceError(f"entry {n}: {e}") from e
    return entries


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print("usage: python -m tests.e2e.cleanroom REPORT.json EVIDENCE_DIR", file=sys.stderr)
        return 2
    report = json.loads(Path(args[0]).read_text())
    try:
        ours = recompute(report, load_entries(Path(args[1])))
    except EvidenceError as e:
        print(f"FAIL: {e}", file=sys.stderr)
        return 1
    theirs = {h["household"]: h for h in report["households"]}
    print(f"{report['batch_id']}: {ours['covered_count']} covered readings")
    for h in ours["households"]:
        row = theirs.get(h["household"], {})
        their_months = {m["month"]: m for m in row.get("months", [])}
        print(f"{h['household']}  readings ours {json.dumps(h['readings'])} "
              f"report {json.dumps(row.get('readings'))}  zeroed_by ours {h['zeroed_by']} "
              f"report {_code(row.get('zeroed_by'))}")
        for m in h["months"]:
            t = their_months.get(m["month"], {})
            print(f"  {m['month']}  ours {json.dumps(m['energy_wh'])} {m['reduction_g']} g")
            print(f"  {m['month']}  rprt {json.dumps(t.get('energy_wh'))} "
                  f"{t.get('reduction_g')} g")
    print(f"totals ours {json.dumps(ours['totals'])}")
    print(f"totals rprt {json.dumps(report['totals'])}")
    diffs = compare(ours, report)
    for d in diffs:
        print(f"DIFF {d}", file=sys.stderr)
    print("AGREE" if not diffs else f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
