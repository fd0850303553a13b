"""The end of the demo's consortium run (issue 18 point 6): the neighbouring town drained and
sealed, a household moving from the home town to the neighbour, the final witnessed round, and
what a buyer checks — each member's reports and evidence under the consortium's policy and one
basket of both towns' batches — all kept in ``--out/consortium/``."""

from __future__ import annotations

import json
import math
import shutil
import subprocess
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from eco_protocol.encoding import b64encode
from eco_protocol.keys import generate_private_key, public_key_raw

from .children import Procs, bin_path, run_command, run_json, run_text
from .consortium import (
    Consortium,
    consortium_round,
    refuse_duplicate,
    witnesses_of,
    write_file,
)
from .households import equipment
from .second_town import HOME, PREFIX, SECOND, SECOND_PROGRAMME
from .town import JST, PROTOCOL_NAME, SIM_START, Household


def drain_second(procs: Procs, agents: Sequence[dict[str, Any]]) -> int:
    """The neighbouring town's meters stopped with the home town's: let its agents deliver
    what they signed (up to a minute), then stop them and its ``serve``. Readings pending."""
    deadline = time.monotonic() + 60
    pending = -1
    while time.monotonic() < deadline:
        pending = sum(run_json([bin_path("eco-agent"), "status", "--json",
                                str(a["config"])])["pending"] for a in agents)
        if pending == 0:
            break
        time.sleep(1.0)
    codes = {**procs.stop(f"{PREFIX}agent-"), **procs.stop(f"{PREFIX}aggregator")}
    bad = {n: c for n, c in codes.items() if c != 0}
    if bad:
        print(f"demo: {SECOND}: processes exited uncleanly: {bad} (logs in {procs.logs})")
    return pending if not bad else max(pending, 1)


def seal_second(c: Consortium, days: float) -> dict[str, Any]:
    """The neighbouring town seals its PV batch over the same period as the home town."""
    start_jst = SIM_START + JST
    period = (f"{start_jst:%Y-%m-%d}.."
              f"{start_jst + timedelta(days=max(1, math.ceil(days))):%Y-%m-%d}")
    b: dict[str, Any] = run_json([*c.second.cmd, "batch", "create", "--period", period,
                                  "--methodology", "pv"])
    print(f"demo: {SECOND}: sealed batch {b['batch_id']} ({b['covered_count']} readings; "
          f"{b['totals']['reduction_g'] / 1000:.1f} kg-CO2)")
    return b


def _home_size(round_result: dict[str, Any], witness: str) -> Any:
    return round_result["witnesses"].get(witness, {}).get("members", {}).get(HOME, {})


def mover(c: Consortium, home: Sequence[Household],
          agents: Sequence[dict[str, Any]]) -> int | None:
    """Which home household moves (its index): the last of those with the fewest points, so
    never the one whose credentials the demo issues next (the most points; the first on a
    tie) — a revoked box gets no enrolment credential. None with one household only."""
    if len(home) < 2:
        return None
    points = run_json([*c.home.cmd, "points"])
    balances = {h["household"]: h["balance"] for h in points["households"]}
    pseudonym = {int(a["name"].split("-")[0].removeprefix("hh")) - 1: a["household"]
                 for a in agents}
    return min(reversed(range(len(home))), key=lambda i: balances.get(pseudonym[i], 0))


def move_household(procs: Procs, c: Consortium, hh: Household,
                   boxes: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The household moves to the neighbouring town: the home town revokes its boxes, a round
    has the revocation witnessed and mirrored, and the neighbour enrols the same equipment —
    accepted, because the only enrolment holding it is now revoked in a checkpoint the
    consortium's witnesses cosigned before this enrolment (``move.json``)."""
    revoked = [run_json([*c.home.cmd, "revoke", str(a["device_id"]), "--reason",
                         f"demo: the household moved to {SECOND}"]) for a in boxes]
    after = consortium_round(procs, c, f"the move: {HOME}'s revocation witnessed and mirrored")
    main = [m for m in hh.meters if m.device == ""] or list(hh.meters)
    eq = [e for m in hh.meters for e in equipment(hh, m)]
    r = run_command(
        [*c.second.cmd, "enrol", "--public-key", _new_key(), "--household",
         f"{hh.name.split(',')[0]}, 5-1 Kawabata (moved from {HOME})", "--programme",
         SECOND_PROGRAMME, *(a for m in main for a in (
             "--meter", f"{m.id}:{m.quantity}:{PROTOCOL_NAME[m.kind]}:{m.rated_w}")),
         *hh.terms, *(a for e in eq for a in ("--equipment", e))])
    result = {
        "household": hh.name, "from": HOME, "to": SECOND, "equipment": eq,
        "revoked": revoked,
        "revocation_witnessed": {w: _home_size(after, w) for w in after["witnesses"]
                                 if _home_size(after, w)},
        "mirrored_by": {k: v.get("members", v) for k, v in after["mirrors"].items()},
        "accepted": r.returncode == 0,
        "enrolled": json.loads(r.stdout) if r.returncode == 0 else r.stderr.strip(),
    }
    (c.dir / "move.json").write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"demo: {hh.name} moves to {SECOND}: revoked in {HOME} at entry "
          f"{revoked[0]['index']}, witnessed and mirrored; enrolment in {SECOND} "
          + ("accepted" if r.returncode == 0 else f"REFUSED: {r.stderr.strip()}"))
    return result


def _new_key() -> str:
    """The household's new box in the neighbouring town: a fresh device key."""
    return b64encode(public_key_raw(generate_private_key()))


def finish(procs: Procs, c: Consortium, days: float, home: Sequence[Household],
           home_agents: Sequence[dict[str, Any]], second_agents: Sequence[dict[str, Any]]
           ) -> dict[str, Any]:
    """After the home town sealed its batches: the neighbour drained and sealed, the move, and
    the final round, in which the neighbour and the verification body cosign the home town's
    last checkpoint. Before it, consortium.toml is made to name the home town's current log key
    (it rotated halfway; the witnesses and mirrors followed the change the log announced in the
    move's round, and know the new key from then on)."""
    pending = drain_second(procs, second_agents)
    sealed = seal_second(c, days)
    i = mover(c, home, home_agents)
    if i is None:
        moved: dict[str, Any] = {"skipped": "the town has one household only: it stays"}
        print(f"demo: no household moves to {SECOND} (the town has one household only)")
        # the round the move would have made: the witnesses follow the home town's key change
        # and the neighbour's mirror takes in the home town's enrolments
        consortium_round(procs, c, "the witnesses and mirrors catch up")
    else:
        boxes = [a for a in home_agents if a["name"].split("-")[0] == f"hh{i + 1}"]
        moved = move_household(procs, c, home[i], boxes)
    # the witnesses and mirrors have followed the key change the log announced: the file now
    # names the current key, which the policy checks and the basket use
    write_file(c, run_text([*c.home.cmd, "log-key"]).strip(), witnesses_of(c))
    # the neighbour's mirror holds every home enrolment: one that stayed is tried again there
    refused = refuse_duplicate(c, home[1 if i == 0 else 0])
    final = consortium_round(procs, c, "the end: the final checkpoints cosigned")
    return {"pending": pending, "sealed": sealed, "moved": moved, "refused": refused,
            "final": final}


def _verify(argv: Sequence[str], log: Path) -> subprocess.CompletedProcess[str]:
    r = run_command([bin_path("eco-verify"), *argv])
    log.write_text(f"$ eco-verify {' '.join(argv)}\n{r.stdout}{r.stderr}exit {r.returncode}\n")
    return r


def _member_outputs(out: Path, c: Consortium, sealed: dict[str, Any]) -> dict[str, list[Path]]:
    """consortium/<member>/: each member's batch reports (with their evidence) and its whole
    log's evidence. The home town's are copies of what the demo wrote at the top level."""
    home = c.dir / HOME
    home.mkdir()
    reports: dict[str, list[Path]] = {HOME: [], SECOND: []}
    for m in ("pv", "ev"):
        if (out / m / "report.json").exists():
            shutil.copytree(out / m, home / m)
            reports[HOME].append(home / m)
    shutil.copytree(out / "evidence", home / "evidence")
    second = c.dir / SECOND
    second.mkdir()
    run_json([*c.second.cmd, "batch", "report", sealed["batch_id"], "--out", str(second / "pv")])
    reports[SECOND].append(second / "pv")
    run_json([*c.second.cmd, "ledger", "export", str(second / "evidence")])
    return reports


def publish(out: Path, c: Consortium, end: dict[str, Any]) -> bool:
    """What a buyer checks, with the consortium file alone pinned (each member's key through
    it): every member's reports and evidence under the policy, and the basket of all batches,
    each re-judged against its evidence (``basket.txt`` as printed, its verdict as
    ``basket.json``); the consortium audit of double claims (``audit.json``).
    True when all of it holds and the duplicate was refused and the move accepted."""
    reports = _member_outputs(out, c, end["sealed"])
    f = str(c.file)
    ok = True
    for member, dirs in reports.items():
        pinned = (c.home if member == HOME else c.second).log_vkey  # day 1's
        for d in dirs:  # (the basket below re-judges each against its evidence)
            r = _verify(["report", str(d / "report.json"), "--log-key", pinned, "--consortium",
                         f], d / "verify-consortium.txt")
            ok &= r.returncode == 0
        r = _verify(["evidence", str(c.dir / member / "evidence"), "--log-key", pinned,
                     "--consortium", f], c.dir / member / "verify-evidence.txt")
        said = r.stdout.strip().splitlines()[:1] if r.returncode == 0 else [r.stderr.strip()]
        print(f"demo: eco-verify evidence {member} --consortium: {' '.join(said)}")
        ok &= r.returncode == 0
    args = ["basket", *(str(d / "report.json") for ds in reports.values() for d in ds),
            "--consortium", f, *(a for ds in reports.values() for d in ds
                                 for a in ("--evidence", str(d / "evidence")))]
    b = _verify([*args, "--json"], c.dir / "basket.txt")
    lines = b.stdout.strip().splitlines()  # one line per report and problem, then the JSON
    print("\n".join(lines[:-1]) + "\n" + b.stderr, end="")
    (c.dir / "basket.json").write_text((lines[-1] if lines else json.dumps(
        {"ok": False, "said": b.stderr})) + "\n")
    ok &= b.returncode == 0
    audit = run_command([*c.home.cmd, "consortium-audit", "--consortium", f, "--mirrors",
                         str(c.home.mirrors), "--member", HOME])
    (c.dir / "audit.json").write_text(audit.stdout or audit.stderr)
    ok &= audit.returncode == 0
    return bool(ok and end["refused"]["refused"] and end["moved"].get("accepted", True)
                and end["pending"] == 0)


__all__ = ["drain_second", "finish", "move_household", "mover", "publish", "seal_second"]
