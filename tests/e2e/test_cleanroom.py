"""The clean-room recomputation (tests/e2e/cleanroom.py, written from the docs alone) agrees
with the aggregator's batch reports, to the gram and to the count.

The project is used here only to *produce* reports (ledger, intake, seal, report writer), as a
black box; cleanroom.py itself imports nothing from it. Two kinds of data:

- the four homes of tests/methodology/test_report_exclusions.py (overlap, implausible, an
  unmetered home, a battery home, an EV);
- a harsher town over two JST days that cross a month and a fiscal-year boundary, with every
  reading rule, gap-filled spans matched and unmatched, several devices per household, battery
  netting across JST midnight, negative EV months, carry-in from earlier seals and readings that
  arrive after the seal; under two sets of programme rules.
"""

from __future__ import annotations

import copy
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.batches import period_from_dates, plan_batch, seal_batch, write_report
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.programme import example_programme, load_programme
from aggregator.quarantine import append_release
from aggregator.registry import build_enrolment, enrol
from aggregator.store import SqliteStore
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time
from eco_protocol.keys import public_key_raw
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec, Quantity
from tests.aggregator.ledger_kit import Device
from tests.e2e import cleanroom
from tests.methodology.exclusions_kit import report_of
from tests.methodology.exclusions_kit import world as world  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]


def _entries_of(out: Path) -> list[bytes]:
    return cleanroom.load_entries(out / "evidence")


def _assert_agrees(report: dict[str, Any], out: Path) -> dict[str, Any]:
    ours = cleanroom.recompute(report, _entries_of(out))
    assert cleanroom.compare(ours, report) == []
    return ours


def _run_cli(out: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "tests.e2e.cleanroom", str(out / "report.json"),
                           str(out / "evidence")], capture_output=True, text=True, cwd=ROOT,
                          timeout=120)


# --------------------------------------------------------------------------------------------
# the four homes of the methodology tests


def test_pv_and_ev_batches_of_the_four_homes_agree(world: dict[str, Any]) -> None:  # noqa: F811
    pv, pv_out = report_of(world, "pv")
    ev, ev_out = report_of(world, "ev")
    ours = _assert_agrees(pv, pv_out)
    rows = {h["household"]: h for h in ours["households"]}
    assert ours["exclusions"] == {"implausible": 1, "overlap": 1}
    assert rows["unmetered"]["zeroed_by"] == "export_unmetered"
    assert rows["battery"]["flags"] == ["battery"]
    assert rows["battery"]["months"][0]["energy_wh"]["self_consumed"] == 22_000
    ours_ev = _assert_agrees(ev, ev_out)
    assert [h["household"] for h in ours_ev["households"]] == ["ev"]
    for out in (pv_out, ev_out):
        r = _run_cli(out)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "AGREE" in r.stdout


def test_a_single_gram_of_difference_is_caught(world: dict[str, Any]) -> None:  # noqa: F811
    pv, out = report_of(world, "pv")
    edited = json.loads(json.dumps(pv))
    edited["households"][0]["months"][0]["reduction_g"] += 1
    edited["households"][1]["readings"]["excluded"] = {"overlap": 2}
    (out / "report.json").write_text(json.dumps(edited))
    diffs = cleanroom.compare(cleanroom.recompute(edited, _entries_of(out)), edited)
    assert any("2026-11 reduction_g" in d for d in diffs)
    assert any("readings" in d for d in diffs)
    r = _run_cli(out)
    assert r.returncode == 1 and "DIFF" in r.stderr


# --------------------------------------------------------------------------------------------
# a harsher town

PROG = "harsh-prog"
NOW = "2027-06-01T00:00:00Z"
P = 1800
DAY0 = datetime(2027, 3, 29, 15, 0, tzinfo=UTC)  # 2027-03-30 00:00 JST: the first batch's day
MAIN = DAY0 + timedelta(days=1)  # 2027-03-31 00:00 JST; April (FY2027) begins at k = 48
ENROLLED = format_time(DAY0 - timedelta(days=1))

FY2027 = """
[[methodology.grid_factors]]
fiscal_year = 2027
g_per_kwh = 457
source = "ILLUSTRATIVE"
published = "n/a"
illustrative = true
"""

RULES_DAILY = """
project_emission_ppm = 1234
ev_real_wh_per_km = 180
max_equipment_age_years = 1
max_gap_intervals = 4
"""

RULES_STRICT = """
battery = "exclude"
project_emission_ppm = 0
registered = "2019-04-01"
crediting_years = 8
max_gap_intervals = 2
"""


def _t(k: int, base: datetime = MAIN, shift: int = 0) -> str:
    return format_time(base + timedelta(seconds=P * k + shift))


PV = MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec-modbus", 5000)
EXP = MeterSpec("exp1", Quantity.GRID_EXPORT, "echonet-broute", 8000)
IMP = MeterSpec("imp1", Quantity.GRID_IMPORT, "echonet-broute", 8000)
EV = MeterSpec("ev1", Quantity.EV_CHARGE, "openevse", 7000)
FIT = {"installed": "2026-06-01", "status": "post_fit", "battery": False}


class _Town:
    def __init__(self, tmp: Path, rules: str) -> None:
        self.tmp = tmp
        signer = NoteSigner("eco-ledger.harsh.test", Ed25519PrivateKey.generate())
        self.ledger = Ledger(SqliteStore(tmp / "l.sqlite3"), signer, tmp / "cp.latest")
        text = example_programme(PROG).replace("[rules]", FY2027 + "\n[rules]\n" + rules)
        (tmp / "programme.toml").write_text(text)
        self.programme = load_programme(tmp / "programme.toml")
        self.intake = Intake(self.ledger, rules=self.programme.rules)
        self.devices: dict[str, Device] = {}
        self.pending: dict[str, list[dict[str, Any]]] = {}

    def enrol(self, name: str, household: str, meters: list[MeterSpec],
              fit: dict[str, Any]) -> None:
        d = Device()
        enrol(self.ledger, build_enrolment(public_key_raw(d.key), household, PROG, meters, fit,
                                           ENROLLED))
        self.devices[name] = d

    def send(self, name: str, energy: int, k: int, meter: str = "pv1",
             quantity: str = "pv_generation", n: int = 1, base: datetime = MAIN,
             **override: Any) -> None:
        d = self.devices[name]
        fields: dict[str, Any] = {"meter": meter, "quantity": quantity, "start": _t(k, base),
                                  "end": _t(k + n, base), **override}
        self.pending.setdefault(name, []).append(d.reading(energy=energy, **fields))

    def flush(self) -> None:
        """Deliver what each device has signed, 64 readings a message (as an agent's backlog
        drains), well within the broker's rate limit."""
        for name, readings in self.pending.items():
            topic = self.devices[name].topic
            for i in range(0, len(readings), 64):
                (o,) = self.intake.process([(topic, canonical_bytes(readings[i:i + 64]))], NOW)
                assert o.receipt is not None, o
                assert all(it["status"] == "accepted" for it in o.receipt["items"]), o.receipt
        self.pending.clear()

    def fork(self, name: str) -> None:
        """A second box with the device's key signs another version of a logged seq: refused,
        and the device quarantined in the log (protocol.md §4.4a)."""
        self.flush()
        clone = copy.deepcopy(self.devices[name])
        clone.seq -= 1
        (o,) = self.intake.process([(clone.topic, canonical_bytes([clone.reading(energy=1)]))],
                                   NOW)
        assert o.receipt is not None and o.receipt["items"][0]["reason"].startswith("fork:")

    def release(self, name: str) -> None:
        self.flush()
        with self.ledger.store.transaction():
            append_release(self.ledger, self.devices[name].device_id, "checked on site", NOW)

    def seal(self, period: str, methodology: str) -> tuple[dict[str, Any], Path]:
        self.flush()
        self.ledger.checkpoint_now()
        plan = plan_batch(scan(self.ledger.store, rules=self.programme.rules), self.programme,
                          period_from_dates(period), methodology)
        seal_batch(self.ledger, plan)
        self.ledger.checkpoint_now()
        out = self.tmp / plan.batch_id.replace(":", "_")
        return write_report(self.ledger, self.programme, plan.batch_id, out), out


def _pv_of(k: int) -> int:
    """A PV curve over JST daytime (k counts half hours from JST midnight)."""
    h = k % 48
    return 0 if not 12 <= h < 36 else 200 + 97 * (h - 12) % 1300


def _build_town(tmp: Path, rules: str) -> dict[str, tuple[dict[str, Any], Path]]:
    town = _Town(tmp, rules)
    # split: two inverters and a smart meter on three devices of one household
    town.enrol("inv-a", "split", [PV], FIT)
    town.enrol("inv-b", "split", [PV], FIT)
    town.enrol("meter", "split", [EXP, IMP], FIT)
    town.enrol("battery", "battery", [PV, EXP], {**FIT, "battery": True})
    town.enrol("late-joiner", "late-joiner", [PV, EXP], {**FIT, "joined": "2027-04-01"})
    town.enrol("old-pv", "old-pv", [PV, EXP], {**FIT, "installed": "2025-03-30"})
    town.enrol("bad-joined", "bad-joined", [PV, EXP], {**FIT, "joined": "2027-4-1"})
    town.enrol("unmetered", "unmetered", [PV], {**FIT, "zero_export": True})
    # what `eco-aggregator enrol` would refuse but a record may carry (protocol.md §4.3)
    town.enrol("no-installed", "no-installed", [PV, EXP], {"status": "post_fit", "battery": False})
    town.enrol("feb30", "feb30", [PV, EXP], {**FIT, "installed": "2026-02-30"})
    town.enrol("import-only", "import-only", [IMP], {})
    town.enrol("hybrid", "ev-hybrid", [EV], {"ev": {"wh_per_km": 150, "petrol_m_per_l": 30000}})
    town.enrol("ev", "ev-car", [EV], {"ev": {"wh_per_km": 200, "petrol_m_per_l": 15000}})
    town.enrol("cloned", "cloned", [PV, EXP], FIT)
    town.enrol("pv-ev", "pv-ev", [PV, EXP, EV],
               {**FIT, "battery": True, "ev": {"wh_per_km": 160, "petrol_m_per_l": 14000}})

    # day 0: an earlier PV and EV batch, so that the main batches carry something in
    for k in range(48):
        town.send("inv-a", _pv_of(k) * 3, k, base=DAY0)
        town.send("meter", 120 if _pv_of(k) else 0, k, "exp1", "grid_export", base=DAY0)
        town.send("ev", 2100 if k % 3 == 0 else 0, k, "ev1", "ev_charge", base=DAY0)
        town.send("hybrid", 6000 if k % 8 == 0 else 0, k, "ev1", "ev_charge", base=DAY0)
    first = {"pv0": town.seal("2027-03-30..2027-03-31", "pv"),
             "ev0": town.seal("2027-03-30..2027-03-31", "ev")}

    special = {30, 31, 32, 33, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47}
    for k in range(96):
        pv, h = _pv_of(k), k % 48
        exported = max(0, pv - 450) + (350 if h in (4, 40, 44, 47) else 0)
        if k not in special:
            town.send("inv-a", pv, k)
        # the special intervals of inverter a, one rule each (in seq order)
        if k == 30:  # a gap-filled hour, the export meter reports two half hours: unmatched
            town.send("inv-a", pv + _pv_of(31), 30, n=2, flags=["gap_filled"])
        elif k == 32:  # a gap-filled hour, matched by a gap-filled export hour
            town.send("inv-a", pv + _pv_of(33), 32, n=2, flags=["gap_filled"])
        elif k == 36:  # misaligned by 10 minutes: its end moves the cursor into k = 37
            town.send("inv-a", pv, 0, start=_t(36, shift=600), end=_t(37, shift=600))
        elif k == 37:  # so this one overlaps
            town.send("inv-a", pv, 37)
        elif k == 38:  # an hour without gap_filled
            town.send("inv-a", pv + _pv_of(39), 38, n=2)
        elif k == 40:  # energy differs from the register
            town.send("inv-a", pv, 40, energy_wh=pv + 1)
        elif k == 41:  # register jumps
            reg = town.devices["inv-a"].registers["pv1"]
            town.send("inv-a", pv, 41, register_start_wh=reg + 50, register_end_wh=reg + 50 + pv)
        elif k == 42:  # a reset: new register, excused
            town.send("inv-a", pv, 42, register_start_wh=0, register_end_wh=pv,
                      flags=["meter_reset"])
        elif k == 43:  # clock unsynced
            town.send("inv-a", pv, 43, flags=["clock_unsynced"])
        elif k == 44:  # unknown meter, then the real one
            town.send("inv-a", 10, 44, meter="pv9")
            town.send("inv-a", pv, 44)
        elif k == 45:  # wrong quantity on pv1 (a grid_import, so a PV batch covers it)
            town.send("inv-a", pv, 45, quantity="grid_import")
        elif k == 46:  # an empty interval: end = start
            town.send("inv-a", 0, 46, n=0)
            town.send("inv-a", pv, 46)
        elif k == 47:  # rollover: the register wraps, energy counts the wrap
            reg = town.devices["inv-a"].registers["pv1"]
            town.send("inv-a", pv + 7, 47, register_start_wh=reg, register_end_wh=5,
                      flags=["rollover"])
        if k == 50:  # too much for 5 kW in half an hour
            town.send("inv-b", 2600, k)
        elif k < 90 or rules is RULES_DAILY:
            town.send("inv-b", pv // 4, k)
        if k == 30:
            town.send("meter", 0, 30, "exp1", "grid_export")
            town.send("meter", exported, 31, "exp1", "grid_export")
        elif k == 32:
            town.send("meter", exported, 32, "exp1", "grid_export", n=2, flags=["gap_filled"])
        elif k not in (31, 33):
            town.send("meter", exported, k, "exp1", "grid_export")
        town.send("meter", 300 if pv == 0 else 20, k, "imp1", "grid_import")
        # battery: PV by day, the battery exports in the evening and across JST midnight
        town.send("battery", pv, k)
        town.send("battery", 0 if pv else (900 if h in (40, 44, 47) else 0), k, "exp1",
                  "grid_export")
        for name in ("late-joiner", "old-pv", "bad-joined", "no-installed",
                     "feb30"):
            town.send(name, pv // 2, k)
            town.send(name, pv // 5, k, "exp1", "grid_export")
        town.send("unmetered", pv // 3, k)
        town.send("import-only", 250, k, "imp1", "grid_import")
        town.send("ev", 3300 if k % 5 == 0 else 0, k, "ev1", "ev_charge")
        town.send("hybrid", 3500 if k % 7 == 0 else 0, k, "ev1", "ev_charge")
        town.send("pv-ev", pv, k)
        town.send("pv-ev", 0 if pv else 100, k, "exp1", "grid_export")
        town.send("pv-ev", 2000 if k in (44, 47, 60) else 0, k, "ev1", "ev_charge")
        # a cloned box: quarantined from k = 60 (its readings logged, uncredited), released at 80
        town.send("cloned", pv // 2, k)
        town.send("cloned", pv // 6, k, "exp1", "grid_export")
        if k == 60:
            town.fork("cloned")
        elif k == 80:
            town.release("cloned")
    main = {"pv": town.seal("2027-03-31..2027-04-02", "pv"),
            "ev": town.seal("2027-03-31..2027-04-02", "ev")}
    # late: inverter b's last intervals arrive after the seals of their period
    if rules is not RULES_DAILY:
        for k in range(90, 96):
            town.send("inv-b", _pv_of(k) // 4, k)
        town.flush()
    return {**first, **main}


@pytest.fixture(scope="module", params=["daily", "strict"])
def town(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
         ) -> tuple[str, dict[str, tuple[dict[str, Any], Path]]]:
    rules = RULES_DAILY if request.param == "daily" else RULES_STRICT
    return request.param, _build_town(tmp_path_factory.mktemp(request.param), rules)


def test_every_batch_of_the_harsh_town_agrees(
        town: tuple[str, dict[str, tuple[dict[str, Any], Path]]]) -> None:
    name, reports = town
    for label, (report, out) in reports.items():
        ours = cleanroom.recompute(report, _entries_of(out))
        assert cleanroom.compare(ours, report) == [], (name, label)
        r = _run_cli(out)
        assert r.returncode == 0, r.stdout + r.stderr


def test_the_harsh_town_exercises_what_it_claims(
        town: tuple[str, dict[str, tuple[dict[str, Any], Path]]]) -> None:
    name, reports = town
    pv, pv_out = reports["pv"]
    ev, _ = reports["ev"]
    rows = {h["household"]: h for h in pv["households"]}
    excl = pv["exclusions"]
    for code in ("misaligned", "overlap", "over_long", "energy_mismatch",
                 "register_discontinuity", "clock_unsynced", "unknown_meter",
                 "quantity_mismatch", "bad_interval", "implausible", "bad_enrolment"):
        assert excl.get(code), (code, excl)
    # the cloned box: k = 60..79 of both its meters, between its quarantine and its release
    assert excl.get("quarantined") == 40, excl
    assert rows["cloned"]["readings"]["excluded"]["quarantined"] == 40
    assert pv["totals"]["carry_in_g"] == reports["pv0"][0]["totals"]["carry_over_g"] != 0
    assert ev["totals"]["carry_in_g"] == reports["ev0"][0]["totals"]["carry_over_g"]
    # April is FY2027; under the strict rules crediting ends with FY2026 (2019 + 8 years)
    months = ["2027-03", "2027-04"] if name == "daily" else ["2027-03"]
    assert [m["month"] for m in rows["split"]["months"]] == months
    if name == "daily":  # the hybrid at the real-world 180 Wh/km emits more than it saves
        assert any(m["reduction_g"] < 0 for h in ev["households"] for m in h["months"])
        assert excl.get("before_joining") and excl.get("equipment_too_old")
        assert rows["battery"]["zeroed_by"] is None
    else:
        assert excl.get("outside_crediting_period")
        assert (rows["battery"]["zeroed_by"] or "").startswith("battery_excluded")
    assert (rows["unmetered"]["zeroed_by"] or "").startswith("export_unmetered")


def test_joined_null_means_absent_and_conflicting_fits_merge_alike(tmp_path: Path) -> None:
    """protocol.md §2.4 rule 11 and §4.3: `"joined": null` is absent; a household whose two
    devices disagree (one declares a battery, the other does not) is merged the same way by
    the clean room and the aggregator: in (enrolled_at, device_id) order, battery if any."""
    town = _Town(tmp_path, "")
    town.enrol("null-joined", "null-joined", [PV, EXP], {**FIT, "joined": None})
    town.enrol("split-a", "split", [PV], {**FIT, "battery": False})
    town.enrol("split-b", "split", [EXP], {**FIT, "battery": True, "installed": None})
    for k in range(24, 28):
        town.send("null-joined", 1000, k)
        town.send("null-joined", 100, k, "exp1", "grid_export")
        town.send("split-a", 1000, k)
        town.send("split-b", 100 if k < 27 else 900, k, "exp1", "grid_export")
    report, out = town.seal("2027-03-31..2027-04-01", "pv")
    rows = {r["household"]: r for r in report["households"]}
    assert rows["null-joined"]["readings"] == {"covered": 8, "creditable": 8, "excluded": {}}
    assert any(f.startswith("battery") for f in rows["split"]["flags"])
    ours = cleanroom.recompute(report, _entries_of(out))
    assert cleanroom.compare(ours, report) == []
