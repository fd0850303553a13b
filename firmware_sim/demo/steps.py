"""The demo's run, step by step: set up the aggregator and its witness, enrol the town, run the
simulated days (rotating the log key halfway), drain the agents, seal a batch per methodology,
report and verify each as a buyer would, check the whole log's evidence, issue the credentials
people carry and check them offline (with a tampered and a revoked copy), and summarise."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from aggregator.mosquitto import Mosquitto
from eco_protocol.coverage import METHODOLOGY_QUANTITIES
from eco_protocol.records import Quantity

from . import certificates, consortium, consortium_end
from .children import Procs, bin_path, run_command, run_json, run_text
from .credentials import certificate_and_check, issue_and_check
from .households import enrol_town
from .summary import batch_summary, print_summary, town_summary
from .town import JOINED, JST, ORIGIN, PROGRAMME, SIM_START, WITNESS, Household


@dataclass(frozen=True)
class Aggregator:
    """The demo's aggregator as its operator sees it: the command line that reaches it, the
    log key the buyers pin on day 1, and the neighbouring town's witness key (its witness in
    the consortium's rounds, firmware_sim/demo/consortium.py)."""

    cmd: list[str]  # eco-aggregator --config ...
    log_vkey: str
    witness_key: Path
    witness_vkey: str


@dataclass(frozen=True)
class LogCheck:
    """The whole log checked at the end: its evidence directory, ``points``, ``ledger verify``
    and the buyer's ``eco-verify evidence`` run over it."""

    evidence: Path
    points: dict[str, Any]
    audit: dict[str, Any]
    verify: subprocess.CompletedProcess[str]


def run(out: Path, days: float, speed: float, households: Sequence[Household]) -> int:
    t_begin = time.monotonic()
    # absolute: paths go into the towns' config files, which read a relative path against the
    # file's own directory (`make demo`'s --out demo-output doubled it)
    out = out.resolve()
    if out.exists():
        shutil.rmtree(out)
    logs = out / "logs"
    logs.mkdir(parents=True)
    procs = Procs(logs)
    broker = Mosquitto(out / "broker")
    cons: consortium.Consortium | None = None
    try:
        broker.start()
        print(f"demo: Mosquitto on {broker.url}")
        agg = set_up_aggregator(out, broker.url)
        # the neighbouring town joins as a consortium member (firmware_sim/demo/consortium.py)
        cons = consortium.set_up(out, agg.cmd, agg.log_vkey, agg.witness_key, agg.witness_vkey)
        procs.start("aggregator", [*agg.cmd, "serve"])
        # the neighbour's serve, and each member mirrors the other's (empty) log; each log's
        # witnesses see it first (trusted on first use) — before the clock starts
        consortium.start_second_town(procs, cons)
        # its household runs on a clock of its own started just before, so enrolling it takes
        # none of the home town's simulated day (its day ends a little earlier than the home's)
        second_agents = consortium.enrol_second_town(procs, out, cons, start_clock(speed))
        clock = start_clock(speed)
        agents, names, terms = enrol_town(procs, out, agg.cmd, agg.log_vkey, broker.url, clock,
                                          households)
        rotated = run_days(procs, agg, clock, days, speed)
        pending, statuses, bad = drain_and_stop(procs, agents)
        issued = certificates.issue(out, agg.cmd, terms, names)  # before sealing: batch nets it
        sealed = seal_batches(agg, days, households)
        buyer = certificates.buyer_cancels(out, agg.cmd, issued)
        # the neighbour drains and seals, a household moves there; the witnesses check each log
        # grew consistently since they last looked, and cosign
        consortium_run = consortium_end.finish(procs, cons, days, households, agents,
                                               second_agents)
        batches, all_verified = report_batches(out, agg, sealed, names, terms)
        log = check_log(out, agg)
        certs, certificates_ok = certificates.export_and_verify(
            out, agg.cmd, agg.log_vkey, agg.witness_vkey, issued, buyer)
        credentials_ok = issue_and_check(out, agg.cmd, procs, agents, log.points, out / "pv")
        if issued is not None:  # a short run (--days 0.25) has no self-consumed hour
            credentials_ok = certificate_and_check(out, agg.cmd) and credentials_ok
        consortium_ok = consortium_end.publish(out, cons, consortium_run)
        verified = log.verify.returncode == 0 and all_verified
        result = town_summary(
            households=len(households), devices=len(agents), pending=pending,
            statuses=statuses, verified=verified, verify=log.verify, audit=log.audit,
            points=log.points, rotated=rotated, batches=batches, names=names,
            seconds=time.monotonic() - t_begin, evidence=log.evidence)
        result["certificates"] = certs
        (out / "summary.json").write_text(json.dumps(result, indent=2, ensure_ascii=False)
                                          + "\n")
        print_summary(result, names)
        ok = verified and credentials_ok and consortium_ok and not bad and pending == 0
        ok = ok and certificates_ok
        return 0 if ok else 1
    finally:
        procs.kill_all()
        broker.stop()
        if cons is not None:
            cons.broker.stop()


def set_up_aggregator(out: Path, broker_url: str) -> Aggregator:
    """``eco-aggregator init`` (checkpoints every second), a witness key the log knows, and the
    demonstration programme."""
    agg_dir = out / "aggregator"
    conf = agg_dir / "aggregator.toml"
    agg = [bin_path("eco-aggregator"), "--config", str(conf)]
    init = run_json([*agg, "init", str(agg_dir), "--origin", ORIGIN, "--broker", broker_url])
    conf.write_text(
        conf.read_text().replace("checkpoint_interval_s = 2.0", "checkpoint_interval_s = 1.0")
    )
    log_vkey = init["log_vkey"]
    # a neighbouring town witnesses the log: its key is known to the log and the buyers
    wkey = out / "witness" / "witness.key"
    wkey.parent.mkdir()
    run_text([*agg, "witness-key", str(wkey), "--name", WITNESS])
    witness_vkey = Path(f"{wkey}.vkey").read_text().strip()
    conf.write_text(conf.read_text().replace("vkeys = []", f'vkeys = ["{witness_vkey}"]'))
    run_json([*agg, "programme", "init", "--id", PROGRAMME])
    print(f"demo: aggregator log key {log_vkey}")
    print(f"demo: programme {PROGRAMME} is a DEMONSTRATION (illustrative grid factors); "
          f"every household enrolled with participation date {JOINED}")
    return Aggregator(agg, log_vkey, wkey, witness_vkey)


def start_clock(speed: float) -> dict[str, Any]:
    """One clock for every process: sim = origin_sim + (wall - origin_wall) * speed; it reads
    SIM_START now, so no meter is read before the participation date."""
    return {
        "origin_sim": SIM_START.timestamp(),
        "origin_wall": time.time(),
        "speed": speed,
        "origin_sim_text": SIM_START.strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def sim_now(clock: dict[str, Any]) -> float:
    return float(clock["origin_sim"] + (time.time() - clock["origin_wall"]) * clock["speed"])


def run_days(procs: Procs, agg: Aggregator, clock: dict[str, Any], days: float,
             speed: float) -> dict[str, Any] | None:
    """Let the town run ``days`` simulated days; exit the demo if any child stops early. The
    log key rotation halfway (``log-key rotate``'s output), if the run got that far."""
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
            rotated = run_json([*agg.cmd, "log-key", "rotate", "--reason",
                                "demo: the yearly log key rotation"])
            print(f"demo: log key rotated at entry {rotated['change_entry']}: "
                  f"{rotated['new_key']}")
        for n, p in procs.children:
            if p.poll() is not None:
                raise SystemExit(
                    f"demo: {n} exited early with {p.returncode}; see {procs.logs / (n + '.log')}"
                )
    return rotated


def drain_and_stop(procs: Procs, agents: Sequence[dict[str, Any]]
                   ) -> tuple[int, dict[str, Any], dict[str, int]]:
    """Stop the meters, let the agents deliver what they signed (up to a minute), stop the
    agents and the aggregator: (readings still pending, each agent's status, unclean exits)."""
    procs.stop("sim-")
    deadline = time.monotonic() + 60
    pending = -1
    statuses: dict[str, Any] = {}
    while time.monotonic() < deadline:
        statuses = {a["name"]: run_json([bin_path("eco-agent"), "status", "--json",
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
        print(f"demo: processes exited uncleanly: {bad} (logs in {procs.logs})")
    return pending, statuses, bad


def seal_batches(agg: Aggregator, days: float, households: Sequence[Household]
                 ) -> dict[str, dict[str, Any]]:
    """The municipality's monthly work: seal the period once per methodology (household PV and
    EV are different J-Credit methodologies, never summed). Each batch by methodology."""
    start_jst = SIM_START + JST
    period = (f"{start_jst:%Y-%m-%d}.."
              f"{start_jst + timedelta(days=max(1, math.ceil(days))):%Y-%m-%d}")
    quantities = {Quantity(m.quantity) for hh in households for m in hh.meters}
    methodologies = [m for m, qs in METHODOLOGY_QUANTITIES.items() if qs & quantities]
    sealed = {}
    for m in methodologies:
        b = run_json([*agg.cmd, "batch", "create", "--period", period, "--methodology", m])
        sealed[m] = b
        excl = ", ".join(f"{k} {v}" for k, v in b["exclusions"].items()) or "none excluded"
        print(f"demo: sealed batch {b['batch_id']} ({b['covered_count']} readings, "
              f"{excl}; {b['totals']['reduction_g'] / 1000:.1f} kg-CO2)")
    return sealed


def report_batches(out: Path, agg: Aggregator, sealed: dict[str, dict[str, Any]],
                   names: dict[str, str], terms: dict[str, tuple[str, ...]]
                   ) -> tuple[dict[str, dict[str, Any]], bool]:
    """Report each batch and verify it offline as a buyer would, with the key pinned on day 1
    and the witness: (each batch's summary, whether all verified)."""
    batches: dict[str, dict[str, Any]] = {}
    all_verified = True
    for m, b in sealed.items():
        d = out / m
        run_json([*agg.cmd, "batch", "report", b["batch_id"], "--out", str(d)])
        v = run_command([bin_path("eco-verify"), "report", str(d / "report.json"),
                         "--log-key", agg.log_vkey,  # day 1's
                         "--witness", agg.witness_vkey, "--min-witnesses", "1",
                         "--evidence", str(d / "evidence"), "--json"])
        (d / "verify-report.txt").write_text(v.stdout + v.stderr)
        print(f"demo: eco-verify {d / 'report.json'}")
        print(v.stdout if v.returncode == 0 else v.stderr, end="")
        all_verified &= v.returncode == 0
        report = json.loads((d / "report.json").read_text())
        batches[m] = batch_summary(b, report, names, v.returncode == 0, d, terms)
    return batches, all_verified


def check_log(out: Path, agg: Aggregator) -> LogCheck:
    """The log's evidence at the reports' checkpoint (nothing was appended since): what an
    independent recomputation of every batch starts from, verified as a buyer would."""
    evidence = out / "evidence"
    run_json([*agg.cmd, "ledger", "export", str(evidence)])
    points = run_json([*agg.cmd, "points"])
    audit = run_json([*agg.cmd, "ledger", "verify"])
    # the log key pinned on day 1: evidence/log.vkeys shows the way to today's key
    r = run_command([bin_path("eco-verify"), "evidence", str(evidence),
                     "--log-key", agg.log_vkey, "--witnesses-from-dir", "--min-witnesses", "1",
                     "--json"])
    print(r.stdout if r.returncode == 0 else r.stderr, end="")
    return LogCheck(evidence, points, audit, r)


__all__ = ["Aggregator", "LogCheck", "run"]
