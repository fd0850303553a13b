"""``make demo``: a small simulated town, end to end, in a few minutes.

Starts a real Mosquitto broker on a free loopback port, the aggregator, the simulated meters of
six households (SunSpec inverters and Wi-SUN B-route smart meters on ptys, Tasmota, Shelly and
OpenEVSE devices on the broker) and one agent per device, all sharing one accelerated clock; runs
at least two simulated days; stops everything; seals one batch per methodology (household PV and
EV), reports each and verifies each offline exactly as a buyer would. Every party runs as its own
OS process, started through its console command, so the demo exercises what a deployment runs.
Everything lives under ``--out`` and is recreated on each run; no process outlives the demo (each
child gets its own process group, killed at exit).

What the town shows (the programme's rules, docs/methodology.md): a zero-export shop credited
because a second device reads its smart meter's export register (0 exported); a home without
export metering logged but zeroed (``export_unmetered``); a battery home netted per JST day
(its battery exports in the evening); an EV household in its own EV batch; an inverter whose
register jumps once mid-run (one ``implausible`` reading, logged and not credited, its later
readings credited as usual); and a demonstration programme (illustrative factors, said so in
every report).

The simulated data is dated from ``SIM_START`` (a fixed spring day, so the factor table's fiscal
year applies) while the enrolments happen now: each is enrolled with ``--enrolled-at`` = the
participation date the municipality declares (the first simulated day), which is in the past.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from aggregator.mosquitto import Mosquitto
from eco_protocol.coverage import METHODOLOGY_QUANTITIES
from eco_protocol.records import Quantity

ORIGIN = "eco-ledger.demo-city.example"
# B-route credentials of the simulated smart meters (demo only; real ones come from the utility)
BROUTE_ID = "00112233445566778899AABBCCDDEEFF"
BROUTE_PW = "DEMOPASSWORD"
WITNESS = "witness.neighbour-town.example"
PROTOCOL_NAME = {"sunspec": "sunspec-modbus", "broute": "echonet-broute", "tasmota": "tasmota",
                 "shelly": "shelly", "openevse": "openevse"}
PROGRAMME = "demo-city-pv-2026"
# Simulated time starts at midnight JST on a spring day, so the first day has a sunrise.
SIM_START = datetime(2026, 4, 30, 15, 0, tzinfo=UTC)
JST = timedelta(hours=9)
# The participation date every demo household is enrolled with (eco-aggregator enrol
# --enrolled-at): the JST day the simulated data begins. Readings starting earlier would be
# logged as before_joining; PV installed more than two years earlier would be excluded.
JOINED = f"{SIM_START + JST:%Y-%m-%d}"
# Sato's inverter: its energy register jumps by 10 kWh at 12:10 JST on the first day (more
# than its 4.5 kW can make in the 30-minute interval), then counts on normally
JUMP_AT = SIM_START + timedelta(hours=12, minutes=10)
JUMP_WH = 10_000


@dataclass(frozen=True)
class MeterSim:
    """One meter of a household and the simulator that plays it."""

    id: str
    quantity: str
    kind: str  # sunspec | broute | tasmota | shelly | openevse
    rated_w: int  # enrolled plausibility bound
    pv_w: int = 0  # the household's PV rating (the smart meter's export follows it)
    device: str = ""  # which box of the household reads it ("": the main one)
    sim_args: tuple[str, ...] = ()  # fault injection and extras for the simulator


def pv_terms(installed: str, fit: str = "fit", *, battery: bool = False,
             zero_export: bool = False) -> tuple[str, ...]:
    return ("--installed", installed, "--fit-status", fit,
            "--battery" if battery else "--no-battery",
            *(("--zero-export",) if zero_export else ()))


EV_CAR = ("--ev-wh-per-km", "150", "--ev-petrol-km-per-l", "15")


@dataclass(frozen=True)
class Household:
    name: str  # the household reference (stays in the aggregator's erasable table)
    seed: int
    meters: tuple[MeterSim, ...]
    terms: tuple[str, ...] = pv_terms("2025-06-01")  # enrolment terms of the main device
    note: str = ""

    @property
    def devices(self) -> list[str]:
        return sorted({m.device for m in self.meters})


TOWN = (
    Household("Sato house, 1-2 Chuo", 11, (
        MeterSim("pv1", "pv_generation", "sunspec", 4500,
                 sim_args=("--jump-at", f"{JUMP_AT.isoformat()},{JUMP_WH}")),
        MeterSim("grid-out", "grid_export", "broute", 4500, pv_w=4500)),
        note="PV (SunSpec) + smart meter export (Wi-SUN B-route, BP35A1); the inverter's "
             f"register jumps {JUMP_WH / 1000:g} kWh at {JUMP_AT + JST:%m-%d %H:%M} JST"),
    Household("Suzuki house, 3-4 Minami", 12, (
        MeterSim("pv1", "pv_generation", "sunspec", 3000),
        MeterSim("grid-out", "grid_export", "broute", 3000, pv_w=3000),
        MeterSim("ev1", "ev_charge", "openevse", 7400)),
        terms=(*pv_terms("2024-09-01", "none"), *EV_CAR),
        note="PV (no FIT) + B-route + EV charger (OpenEVSE over MQTT): in both batches"),
    Household("Takahashi house, 5-6 Kita", 13, (
        MeterSim("pv-plug", "pv_generation", "tasmota", 6000),
        MeterSim("grid-out", "grid_export", "shelly", 6000, pv_w=6000,
                 sim_args=("--battery-wh", "7000", "--battery-w", "2000"))),
        terms=pv_terms("2025-03-01", battery=True),
        note="PV (Tasmota) + Shelly Pro 3EM export; home battery exporting in the evening: "
             "netted per day"),
    # a shop whose inverter is set for zero export (no reverse power flow); the declaration is
    # confirmed by the smart meter's export register, read by a second box on the B-route
    Household("Tanaka bakery, 7-8 Ekimae", 14, (
        MeterSim("pv1", "pv_generation", "sunspec", 20000),
        MeterSim("grid-out", "grid_export", "broute", 20000, pv_w=0, device="sm")),
        terms=pv_terms("2025-10-01", "none", zero_export=True),
        note="shop, 20 kW PV, zero export declared; a second box reads the smart meter's "
             "export register (0 exported)"),
    Household("Ito house, 9-10 Nishi", 15, (
        MeterSim("ev1", "ev_charge", "openevse", 7400),), terms=EV_CAR,
        note="EV only (OpenEVSE)"),
    Household("Watanabe house, 11-12 Higashi", 16, (
        MeterSim("pv1", "pv_generation", "sunspec", 4000),),
        note="PV without export metering: logged, zeroed (export_unmetered)"),
)


class Procs:
    """Children in their own process groups; all are terminated, then killed, at exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: Sequence[str], *, stdout_pipe: bool = False
    ) -> subprocess.Popen[bytes]:
        log: IO[bytes] = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE if stdout_pipe else log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.children.append((name, proc))
        return proc

    def stop(self, name_prefix: str = "", timeout: float = 20.0) -> dict[str, int]:
        chosen = [(n, p) for n, p in self.children if n.startswith(name_prefix)]
        for _, p in chosen:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        codes: dict[str, int] = {}
        deadline = time.monotonic() + timeout
        for n, p in chosen:
            try:
                p.wait(max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
            codes[n] = p.returncode
        self.children = [(n, p) for n, p in self.children if (n, p) not in chosen]
        return codes

    def kill_all(self) -> None:
        for _, p in self.children:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
        self.children = []


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def _run_json(argv: Sequence[str]) -> Any:
    r = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: {' '.join(argv[:3])} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def agent_config(state_dir: Path, log_vkey: str, broker: str, meters: str,
                 clock: dict[str, Any], poll_seconds: int) -> str:
    return f"""\
# generated by make demo
[device]
state_dir = "{state_dir}"
log_key = "{log_vkey}"
interval_minutes = 30
poll_seconds = {poll_seconds}

[uplink]
broker = "{broker}"
resend_timeout_s = {max(5.0, 1800 / clock["speed"] * 4):.1f}

[clock]
mode = "accelerated"
origin_sim = "{clock["origin_sim_text"]}"
origin_wall = {clock["origin_wall"]:.3f}
speed = {clock["speed"]}
{meters}"""


def start_meter(procs: Procs, name: str, hh: Household, m: MeterSim, broker: str,
                clock_args: list[str]) -> str:
    """Start the simulator of one meter; return its [[meters]] table for the agent."""
    head = f'\n[[meters]]\nid = "{m.id}"\nquantity = "{m.quantity}"\n'
    if m.kind in ("sunspec", "broute"):
        if m.kind == "sunspec":
            argv = [_bin("eco-sim"), "inverter", "--rated-w", str(m.rated_w), "--seed",
                    str(hh.seed), "--serial", f"SIM-PV-{hh.seed:04d}", *clock_args,
                    *m.sim_args]
        else:
            argv = [_bin("eco-sim"), "broute", "--seed", str(hh.seed), "--rbid", BROUTE_ID,
                    "--password", BROUTE_PW, "--pv-rated-w", str(m.pv_w),
                    "--family", "bp35a1" if hh.seed % 2 else "bp35c0", *clock_args,
                    *m.sim_args]
        sim = procs.start(f"sim-{name}-{m.id}", argv, stdout_pipe=True)
        assert sim.stdout is not None
        line = sim.stdout.readline()
        if not line:
            raise SystemExit(f"demo: the {m.kind} simulator for {name} did not start; see "
                             f"{procs.logs}")
        port = json.loads(line)["port"]
        if m.kind == "sunspec":
            return head + f'protocol = "sunspec-modbus"\nport = "{port}"\ntimeout_s = 0.5\n'
        return head + (f'protocol = "echonet-broute"\nport = "{port}"\n'
                       f'broute_id = "{BROUTE_ID}"\nbroute_password = "{BROUTE_PW}"\n'
                       'family = "auto"\nechonet_object = "smart_meter"\n'
                       "timeout_s = 3.0\nwisun_channel = 0x21\npan_id = 0x8888\n"
                       'meter_mac = "001C6400030C12A4"\n')
    topic = f"{m.kind}-{hh.seed}"
    device = {"tasmota": "tasmota", "shelly": "shelly-pro3em", "openevse": "openevse"}[m.kind]
    argv = [_bin("eco-sim"), "mqtt", "--broker", broker, "--device", device, "--topic", topic,
            "--seed", str(hh.seed), *clock_args]
    if m.kind in ("tasmota", "shelly"):
        argv += ["--rated-w", str(m.pv_w or m.rated_w)]
    if m.kind == "tasmota":
        argv += ["--period", "60"]
    argv += m.sim_args
    procs.start(f"sim-{name}-{m.id}", argv)
    extra = 'field = "total_act_ret"\n' if m.kind == "shelly" else ""
    return head + f'protocol = "{m.kind}"\ntopic = "{topic}"\n{extra}'


def witness_round(procs: Procs, agg: list[str], log_vkey: str, key: Path) -> None:
    """Serve the log's read API for a moment and let the witness fetch, verify and cosign."""
    http = procs.start("http", [*agg, "http", "127.0.0.1:0"], stdout_pipe=True)
    try:
        assert http.stdout is not None
        url = json.loads(http.stdout.readline())["url"]
        _run_json_or_text([*agg, "witness", "--log", url, "--log-key", log_vkey, "--key",
                           str(key), "--once"])
    finally:
        procs.stop("http")


def _run_json_or_text(argv: Sequence[str]) -> str:
    r = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: {' '.join(argv[3:5])} failed ({r.returncode}): "
                         f"{r.stderr.strip()}")
    return r.stdout


def sim_now(clock: dict[str, Any]) -> float:
    return float(clock["origin_sim"] + (time.time() - clock["origin_wall"]) * clock["speed"])


def enrol_town(procs: Procs, out: Path, agg: list[str], log_vkey: str, broker: str,
               clock: dict[str, Any], households: Sequence[Household]
               ) -> tuple[list[dict[str, Any]], dict[str, str], dict[str, tuple[str, ...]]]:
    """Start every meter simulator, and for every box of every household: its agent config,
    key, enrolment (participation date ``JOINED``) and agent. Returns the agents and, by
    household pseudonym, "hhN <reference>" and the enrolment terms."""
    poll_seconds = 300
    clock_args = ["--speed", str(clock["speed"]), "--origin-sim", SIM_START.isoformat(),
                  "--origin-wall", f"{clock['origin_wall']:.3f}"]
    agents: list[dict[str, Any]] = []
    names: dict[str, str] = {}
    terms_of: dict[str, tuple[str, ...]] = {}
    for i, hh in enumerate(households):
        hh_name = f"hh{i + 1}"
        for device in hh.devices:
            name = f"{hh_name}-{device}" if device else hh_name
            meters = [m for m in hh.meters if m.device == device]
            tables = "".join(start_meter(procs, hh_name, hh, m, broker, clock_args)
                             for m in meters)
            state = out / "agents" / name
            state.mkdir(parents=True)
            cfg = state / "agent.toml"
            cfg.write_text(agent_config(state, log_vkey, broker, tables, clock, poll_seconds))
            key = _run_json([_bin("eco-agent"), "keygen", str(cfg)])
            meter_args = [a for m in meters for a in (
                "--meter", f"{m.id}:{m.quantity}:{PROTOCOL_NAME[m.kind]}:{m.rated_w}")]
            # the methodology terms go with the main box; a second box only adds its meters
            terms = hh.terms if device == "" else ()
            e = _run_json([*agg, "enrol", "--public-key", key["public_key"], "--household",
                           hh.name, "--programme", PROGRAMME, "--enrolled-at", JOINED,
                           *meter_args, *terms])
            agents.append({"name": name, "config": cfg, **e})
            procs.start(f"agent-{name}", [_bin("eco-agent"), "run", str(cfg)])
            names[e["household"]] = f"{hh_name} {hh.name}"
            terms_of[e["household"]] = hh.terms
        print(f"demo: {hh_name} {agents[-1]['household']}: {hh.note}")
    return agents, names, terms_of


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


def print_summary(result: dict[str, Any], names: dict[str, str]) -> None:
    print("demo: summary")
    for k, v in result.items():
        if k != "batches":
            print(f"  {k:26} {v}")
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


def run(out: Path, days: float, speed: float, households: Sequence[Household]) -> int:
    t_begin = time.monotonic()
    if out.exists():
        shutil.rmtree(out)
    logs = out / "logs"
    logs.mkdir(parents=True)
    procs = Procs(logs)
    broker = Mosquitto(out / "broker")
    try:
        broker.start()
        print(f"demo: Mosquitto on {broker.url}")
        agg_dir = out / "aggregator"
        conf = agg_dir / "aggregator.toml"
        agg = [_bin("eco-aggregator"), "--config", str(conf)]
        init = _run_json([*agg, "init", str(agg_dir), "--origin", ORIGIN, "--broker", broker.url])
        conf.write_text(
            conf.read_text().replace("checkpoint_interval_s = 2.0", "checkpoint_interval_s = 1.0")
        )
        log_vkey = init["log_vkey"]
        # a neighbouring town witnesses the log: its key is known to the log and the buyers
        wkey = out / "witness" / "witness.key"
        wkey.parent.mkdir()
        subprocess.run([*agg, "witness-key", str(wkey), "--name", WITNESS], check=True,
                       capture_output=True)
        witness_vkey = Path(f"{wkey}.vkey").read_text().strip()
        conf.write_text(conf.read_text().replace("vkeys = []", f'vkeys = ["{witness_vkey}"]'))
        _run_json([*agg, "programme", "init", "--id", PROGRAMME])
        print(f"demo: aggregator log key {log_vkey}")
        print(f"demo: programme {PROGRAMME} is a DEMONSTRATION (illustrative grid factors); "
              f"every household enrolled with participation date {JOINED}")
        procs.start("aggregator", [*agg, "serve"])
        # one clock for every process: sim = origin_sim + (wall - origin_wall) * speed; it
        # reads SIM_START now, so no meter is read before the participation date
        origin_wall = time.time()
        clock = {
            "origin_sim": SIM_START.timestamp(),
            "origin_wall": origin_wall,
            "speed": speed,
            "origin_sim_text": SIM_START.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        agents, names, terms = enrol_town(procs, out, agg, log_vkey, broker.url, clock,
                                          households)
        witness_round(procs, agg, log_vkey, wkey)  # first sight: trusted on first use
        end_sim = SIM_START.timestamp() + days * 86400 + 1800 * 1.5
        print(
            f"demo: running {days:g} simulated days at {speed:g}× "
            f"(~{(end_sim - SIM_START.timestamp()) / speed:.0f} s)"
        )
        # halfway, the municipality changes its log key while everything runs: serve takes it
        # up, the agents follow the signed announcement, the witness follows it in the log, and
        # the buyer below still verifies with the key pinned at the start
        rotate_at = SIM_START.timestamp() + days * 86400 / 2
        rotated: dict[str, Any] | None = None
        while sim_now(clock) < end_sim:
            time.sleep(1.0)
            if rotated is None and sim_now(clock) >= rotate_at:
                rotated = _run_json([*agg, "log-key", "rotate", "--reason",
                                     "demo: the yearly log key rotation"])
                print(f"demo: log key rotated at entry {rotated['change_entry']}: "
                      f"{rotated['new_key']}")
            for n, p in procs.children:
                if p.poll() is not None:
                    raise SystemExit(
                        f"demo: {n} exited early with {p.returncode}; see {logs / (n + '.log')}"
                    )
        # stop the meters, let the agents deliver what they signed
        procs.stop("sim-")
        deadline = time.monotonic() + 60
        pending = -1
        statuses: dict[str, Any] = {}
        while time.monotonic() < deadline:
            statuses = {a["name"]: _run_json([_bin("eco-agent"), "status", "--json",
                                              str(a["config"])])
                        for a in agents}
            pending = sum(s["pending"] for s in statuses.values())
            if pending == 0:
                break
            time.sleep(1.0)
        codes = procs.stop("agent-")
        codes.update(procs.stop("aggregator"))
        bad = {n: c for n, c in codes.items() if c != 0}
        if bad:
            print(f"demo: processes exited uncleanly: {bad} (logs in {logs})")
        # the municipality's monthly work: seal the period once per methodology (household PV
        # and EV are different J-Credit methodologies, never summed), report each, show points
        start_jst = SIM_START + JST
        period = (f"{start_jst:%Y-%m-%d}.."
                  f"{start_jst + timedelta(days=max(1, math.ceil(days))):%Y-%m-%d}")
        quantities = {Quantity(m.quantity) for hh in households for m in hh.meters}
        methodologies = [m for m, qs in METHODOLOGY_QUANTITIES.items() if qs & quantities]
        sealed = {}
        for m in methodologies:
            b = _run_json([*agg, "batch", "create", "--period", period, "--methodology", m])
            sealed[m] = b
            excl = ", ".join(f"{k} {v}" for k, v in b["exclusions"].items()) or "none excluded"
            print(f"demo: sealed batch {b['batch_id']} ({b['covered_count']} readings, "
                  f"{excl}; {b['totals']['reduction_g'] / 1000:.1f} kg-CO2)")
        # the witness checks the log grew consistently since it last looked, and cosigns
        witness_round(procs, agg, log_vkey, wkey)
        batches: dict[str, dict[str, Any]] = {}
        all_verified = True
        for m, b in sealed.items():
            d = out / m
            _run_json([*agg, "batch", "report", b["batch_id"], "--out", str(d)])
            v = subprocess.run(
                [_bin("eco-verify"), "report", str(d / "report.json"),
                 "--log-key", log_vkey,  # day 1's
                 "--witness", witness_vkey, "--min-witnesses", "1",
                 "--evidence", str(d / "evidence"), "--json"],
                capture_output=True, text=True, check=False)
            (d / "verify-report.txt").write_text(v.stdout + v.stderr)
            print(f"demo: eco-verify {d / 'report.json'}")
            print(v.stdout if v.returncode == 0 else v.stderr, end="")
            all_verified &= v.returncode == 0
            report = json.loads((d / "report.json").read_text())
            batches[m] = batch_summary(b, report, names, v.returncode == 0, d, terms)
        # the log's evidence at the reports' checkpoint (nothing was appended since): what an
        # independent recomputation of every batch starts from
        evidence = out / "evidence"
        _run_json([*agg, "ledger", "export", str(evidence)])
        points = _run_json([*agg, "points"])
        audit = _run_json([*agg, "ledger", "verify"])
        r = subprocess.run(
            [
                _bin("eco-verify"),
                "evidence",
                str(evidence),
                "--log-key",
                log_vkey,  # pinned on day 1; evidence/log.vkeys shows the way to today's key
                "--witnesses-from-dir",
                "--min-witnesses",
                "1",
                "--json",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        verified = r.returncode == 0 and all_verified
        summary = json.loads(r.stdout.strip().splitlines()[-1]) if r.returncode == 0 else {}
        print(r.stdout if r.returncode == 0 else r.stderr, end="")
        readings = audit["counts"].get("eco.reading/v1", 0)
        wh = summary.get("energy_wh", {}).get("pv_generation", 0)
        result = {
            "households": len(households),
            "devices": len(agents),
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
            "verification": "ok" if verified else (r.stderr or "a batch report failed"),
            "witnessed_by": WITNESS,
            "log_key_rotated_at_entry": None if rotated is None else rotated["change_entry"],
            "demonstration": all(b["demonstration"] for b in batches.values()),
            "points": dict(sorted((names.get(p["household"], p["household"]), p["balance"])
                                  for p in points["households"])),
            "seconds": round(time.monotonic() - t_begin, 1),
            "evidence": str(evidence),
            "batches": batches,
        }
        (out / "summary.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                          + "\n")
        print_summary(result, names)
        return 0 if verified and not bad and pending == 0 else 1
    finally:
        procs.kill_all()
        broker.stop()


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="eco-demo", description=__doc__)
    p.add_argument("--out", type=Path, default=Path("demo-output"))
    p.add_argument("--days", type=float, default=2.0)
    p.add_argument(
        "--speed",
        type=float,
        default=2400.0,
        help="simulated seconds per wall second (default 2400: 2 days in 72 s)",
    )
    p.add_argument("--households", type=int, default=len(TOWN))
    p.add_argument("--serve", action="store_true",
                   help="afterwards, serve the operator web UI on the demo's data until Ctrl-C")
    args = p.parse_args(argv)
    rc = run(args.out, args.days, args.speed, TOWN[: max(1, min(args.households, len(TOWN)))])
    return serve_dashboard(args.out) if args.serve and rc == 0 else rc


def serve_dashboard(out: Path) -> int:
    """``--serve`` (``make demo SERVE=1``): an operator account with a random password, a login
    code for the first household, and ``eco-aggregator ui`` on a free loopback port."""
    import secrets

    agg = [_bin("eco-aggregator"), "--config", str(out / "aggregator" / "aggregator.toml")]
    password = secrets.token_urlsafe(12)
    r = subprocess.run([*agg, "ui-user", "add", "demo"], input=password + "\n", text=True,
                       capture_output=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: cannot create the web UI account: {r.stderr.strip()}")
    code = _run_json([*agg, "resident-code", TOWN[0].name])["code"]
    ui = subprocess.Popen([*agg, "ui", "--listen", "127.0.0.1:0"], stdout=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        assert ui.stdout is not None
        line = ui.stdout.readline()
        if not line:
            raise SystemExit("demo: the web UI did not start; run eco-aggregator ui by hand")
        url = json.loads(line)["url"]
        print(f"demo: dashboard   {url}/   (Ctrl-C to stop)")
        print(f"demo: operator    user demo, password {password}")
        print(f"demo: resident    {url}/resident/login with code {code} ({TOWN[0].name})")
        ui.wait()
    except KeyboardInterrupt:
        print()
    finally:
        if ui.poll() is None:
            os.killpg(ui.pid, signal.SIGTERM)
            try:
                ui.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(ui.pid, signal.SIGKILL)
                ui.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
