"""The demo's consortium (issue 18 point 6; docs/consortium.md): the home town and a small
neighbouring town, each with its own ``eco-aggregator serve`` and Mosquitto broker, holding each
other's logs (``eco-aggregator mirror``) and witnessing each other (``consortium-witness``), with
the verification body's witness and mirror beside them — every party its own OS process, as a
deployment runs them.

What it shows, written to ``--out/consortium/``: a home-town inverter enrolled again in the
neighbouring town is refused, naming the member and the date (``duplicate-refused.json``); a
household moving from the home town to the neighbour (revoked, the revocation witnessed and
mirrored, then enrolled — ``move.json``); the home town's final checkpoint cosigned by the
neighbour and the verification body, which the consortium's policy (2 of the named witnesses)
accepts; each member's reports and evidence checked with ``eco-verify … --consortium``; and one
``eco-verify basket`` over both towns' batches (``basket.json``, ``basket.txt``).

The rounds (witness, then mirror) run at fixed points — before the enrolments, at first sight,
around the move and at the end — rather than as services polling all along: the home town's
agents run at thousands of times real speed and lose readings when the CPU is busy.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aggregator.mosquitto import Mosquitto, free_port
from eco_protocol.encoding import b64encode
from eco_protocol.keys import generate_private_key, public_key_raw

from .children import Procs, bin_path, run_command, run_json, run_text
from .households import enrol_town, equipment
from .second_town import (
    BODY_WITNESS,
    HOME,
    HOME_ORIGIN,
    HOME_WITNESS,
    PREFIX,
    QUORUM,
    SECOND,
    SECOND_ORIGIN,
    SECOND_PROGRAMME,
    SECOND_TOWN,
    SECOND_WITNESS,
)
from .town import PROGRAMME, PROTOCOL_NAME, Household

CONSORTIUM = "consortium"  # the directory under --out


@dataclass(frozen=True)
class Member:
    """One member town as the demo drives it: its CLI, state, read API and witness key."""

    name: str
    cmd: list[str]  # eco-aggregator --config ...
    state: Path  # the aggregator's state directory
    log_vkey: str  # the key on day 1 (the home town rotates it halfway)
    listen: str  # 127.0.0.1:PORT of its read API, as consortium.toml names it
    witness_key: Path
    mirrors: Path  # eco-aggregator mirror --state


@dataclass(frozen=True)
class Consortium:
    """The consortium's file and parties: both members, the verification body's witness key and
    mirrors, and the neighbouring town's broker."""

    dir: Path  # --out/consortium
    file: Path  # consortium.toml (public: no secret in it)
    home: Member
    second: Member
    body_key: Path
    body_mirrors: Path
    broker: Mosquitto  # the neighbouring town's own

    @property
    def members(self) -> tuple[Member, Member]:
        return (self.home, self.second)


def _witness_key(path: Path, name: str) -> str:
    """``eco-aggregator witness-key``: the key file (0600) and its vkey beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    run_text([bin_path("eco-aggregator"), "witness-key", str(path), "--name", name])
    return Path(f"{path}.vkey").read_text().strip()


def _add_vkeys(conf: Path, before: str, vkeys: Sequence[str]) -> None:
    """Put the witnesses' verifier keys into ``[witnesses] vkeys``: the log accepts (and its
    exports carry) cosignatures only from keys it knows."""
    text = conf.read_text()
    if before not in text:
        raise SystemExit(f"demo: {conf}: no '{before}' to add the consortium's witnesses to")
    conf.write_text(text.replace(before, "vkeys = [" + ", ".join(f'"{v}"' for v in vkeys) + "]"))


def _write_secret(path: Path, secret: str) -> None:
    """The claim-token secret, made at run time (never committed), readable by its owner only."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"# the demo consortium's claim-token secret, made by make demo\n{secret}\n")


def write_file(c: Consortium, home_vkey: str, witnesses: dict[str, str]) -> None:
    """consortium.toml: both members (log key, read API, own witness), the three witnesses and
    the policy. Rewritten with the home town's new key after its rotation, as the consortium
    must (docs/consortium.md, "Not yet")."""
    keys = {HOME: home_vkey, SECOND: c.second.log_vkey}
    own = {HOME: HOME_WITNESS, SECOND: SECOND_WITNESS}
    origins = {HOME: HOME_ORIGIN, SECOND: SECOND_ORIGIN}
    text = ('# the demo consortium (make demo): distributed out of band, like a log key\n'
            'name = "demo-consortium"\n\n')
    for m in c.members:
        text += (f'[[members]]\nname = "{m.name}"\norigin = "{origins[m.name]}"\n'
                 f'log_key = "{keys[m.name]}"\nurl = "http://{m.listen}"\n'
                 f'witness = "{own[m.name]}"\n\n')
    for name, vkey in witnesses.items():
        text += f'[[witnesses]]\nname = "{name}"\nkey = "{vkey}"\n\n'
    text += f"[policy]\nquorum = {QUORUM}\n"
    c.file.write_text(text)


def _init_second(out: Path, broker_url: str) -> tuple[list[str], Path, str]:
    """``eco-aggregator init`` for the neighbouring town (checkpoints every second) and its
    programme: its CLI, state directory and log key."""
    state = out / SECOND / "aggregator"
    conf = state / "aggregator.toml"
    cmd = [bin_path("eco-aggregator"), "--config", str(conf)]
    init = run_json([*cmd, "init", str(state), "--origin", SECOND_ORIGIN, "--broker", broker_url])
    conf.write_text(conf.read_text().replace("checkpoint_interval_s = 2.0",
                                             "checkpoint_interval_s = 1.0"))
    run_json([*cmd, "programme", "init", "--id", SECOND_PROGRAMME])
    return cmd, state, str(init["log_vkey"])


def set_up(out: Path, home_cmd: list[str], home_vkey: str, neighbour_key: Path,
           neighbour_vkey: str) -> Consortium:
    """The neighbouring town (its broker, ``init``, programme), the home town's and the
    verification body's witness keys, every log told its witnesses' keys, one claim-token
    secret for both members, consortium.toml, and each member's ``[consortium]`` section. Each
    log signs its first (empty) checkpoint so the other can mirror it before enrolling."""
    d = out / CONSORTIUM
    d.mkdir()
    broker = Mosquitto(out / SECOND / "broker")
    broker.start()
    print(f"demo: {SECOND}: Mosquitto on {broker.url}")
    try:
        return _set_up(out, d, broker, home_cmd, home_vkey, neighbour_key, neighbour_vkey)
    except BaseException:
        broker.stop()
        raise


def _set_up(out: Path, d: Path, broker: Mosquitto, home_cmd: list[str], home_vkey: str,
            neighbour_key: Path, neighbour_vkey: str) -> Consortium:
    second_cmd, second_state, second_vkey = _init_second(out, broker.url)
    home_state = Path(home_cmd[2]).parent
    home_wvkey = _witness_key(out / "witness-demo-city" / "witness.key", HOME_WITNESS)
    body_key = out / "verification-body" / "witness.key"
    body_vkey = _witness_key(body_key, BODY_WITNESS)
    _add_vkeys(Path(home_cmd[2]), f'vkeys = ["{neighbour_vkey}"]', [neighbour_vkey, body_vkey])
    _add_vkeys(Path(second_cmd[2]), "vkeys = []", [home_wvkey, body_vkey])
    c = Consortium(
        d, d / "consortium.toml",
        Member(HOME, home_cmd, home_state, home_vkey, f"127.0.0.1:{free_port()}",
               out / "witness-demo-city" / "witness.key", home_state / "mirrors"),
        Member(SECOND, second_cmd, second_state, second_vkey, f"127.0.0.1:{free_port()}",
               neighbour_key, second_state / "mirrors"),
        body_key, out / "verification-body" / "mirrors", broker)
    witnesses = {HOME_WITNESS: home_wvkey, neighbour_vkey.split("+", 1)[0]: neighbour_vkey,
                 BODY_WITNESS: body_vkey}
    write_file(c, home_vkey, witnesses)
    secret = os.urandom(32).hex()
    for m in c.members:
        _write_secret(m.state / "claim-tokens.key", secret)
        with Path(m.cmd[2]).open("a") as f:
            f.write(f'\n[consortium]\nclaim_secret_file = "{m.state / "claim-tokens.key"}"\n'
                    f'file = "{c.file}"\nmember = "{m.name}"\nmirrors = "{m.mirrors}"\n')
        with tempfile.TemporaryDirectory() as tmp:  # `ledger export` signs the first checkpoint
            run_json([*m.cmd, "ledger", "export", str(Path(tmp) / "e")])
    print(f"demo: consortium {c.file}: {HOME} and {SECOND}, witnesses {', '.join(witnesses)}; "
          f"a checkpoint is published with {QUORUM} of its log's named witnesses")
    return c


def witnesses_of(c: Consortium) -> dict[str, str]:
    """The witnesses' names and vkeys, read back from their .vkey files."""
    keys = [c.home.witness_key, c.second.witness_key, c.body_key]
    vkeys = [Path(f"{k}.vkey").read_text().strip() for k in keys]
    return {v.split("+", 1)[0]: v for v in vkeys}


def _run_all(argvs: Sequence[Sequence[str]]) -> list[dict[str, Any]]:
    """One-off ``eco-aggregator`` round commands side by side (each is a Python start-up, and
    the demo's clock is fast): each one's exit code and JSON output (or what it said)."""
    running = [subprocess.Popen(list(a), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True) for a in argvs]
    results = []
    for argv, p in zip(argvs, running, strict=True):
        stdout, stderr = p.communicate(timeout=120)
        try:
            out: dict[str, Any] = {"exit": p.returncode, **json.loads(stdout)}
        except json.JSONDecodeError:
            out = {"exit": p.returncode, "said": (stdout + stderr).strip()[-2000:]}
        if p.returncode != 0:
            print(f"demo: {' '.join(argv[1:3])} exited {p.returncode}: {stderr.strip()[-500:]}")
        results.append(out)
    return results


def consortium_round(procs: Procs, c: Consortium, why: str) -> dict[str, Any]:
    """Serve both logs' read APIs for a moment; every witness verifies and cosigns the logs it
    witnesses (``consortium-witness --once``, the three side by side), then every mirror copies
    the logs it holds (``mirror --once``: each member the other's, the verification body both).
    The round's output is appended to ``consortium/rounds.jsonl``."""
    ecoagg = bin_path("eco-aggregator")
    f = str(c.file)
    started = [(m, procs.start(f"consortium-http-{m.name}", [*m.cmd, "http", m.listen],
                               stdout_pipe=True)) for m in c.members]
    for m, http in started:
        assert http.stdout is not None
        if not http.stdout.readline():
            raise SystemExit(f"demo: the read API of {m.name} did not start on {m.listen}; "
                             f"see {procs.logs}")
    try:
        keys = (c.home.witness_key, c.second.witness_key, c.body_key)
        witnessed = _run_all([[ecoagg, "consortium-witness", "--consortium", f, "--key",
                               str(k), "--once"] for k in keys])
        holders: tuple[tuple[str, Path, list[str]], ...] = (
            (HOME, c.home.mirrors, [HOME]), (SECOND, c.second.mirrors, [SECOND]),
            ("verification-body", c.body_mirrors, []))
        mirrored = _run_all([[ecoagg, "mirror", "--consortium", f, "--state", str(state),
                              "--once", *(a for n in member for a in ("--member", n))]
                             for _, state, member in holders])
        result: dict[str, Any] = {
            "round": why,
            "witnesses": {Path(f"{k}.vkey").read_text().split("+", 1)[0]: w
                          for k, w in zip(keys, witnessed, strict=True)},
            "mirrors": {h[0]: m for h, m in zip(holders, mirrored, strict=True)}}
    finally:
        procs.stop("consortium-http-")
    with (c.dir / "rounds.jsonl").open("a") as out:
        out.write(json.dumps(result, ensure_ascii=False) + "\n")
    return result


def start_second_town(procs: Procs, c: Consortium) -> None:
    """The neighbouring town's ``serve`` on its own broker, and a first round so each member
    holds the other's (empty) log before anything is enrolled (enrolment looks equipment up in
    every member's log and refuses while one is not mirrored) and each witness sees each log
    first (trusted on first use; later rounds check each grew consistently)."""
    procs.start(f"{PREFIX}aggregator", [*c.second.cmd, "serve"])
    consortium_round(procs, c, "first sight, before enrolling: each member mirrors the other")


def _try_enrol(m: Member, household: str, meter: str, terms: Sequence[str],
               equipment_args: Sequence[str], *enrolled_at: str
               ) -> subprocess.CompletedProcess[str]:
    """``eco-aggregator enrol`` of a new box (a fresh key) with its equipment."""
    key = b64encode(public_key_raw(generate_private_key()))
    programme = SECOND_PROGRAMME if m.name == SECOND else PROGRAMME
    return run_command([*m.cmd, "enrol", "--public-key", key, "--household", household,
                        "--programme", programme, "--meter", meter, *terms, *enrolled_at,
                        *(a for e in equipment_args for a in ("--equipment", e))])


def refuse_duplicate(c: Consortium, hh: Household) -> dict[str, Any]:
    """An installer in the neighbouring town enrols the home town's first household's inverter
    again, once its mirror holds the home town's enrolments: refused, naming the home town and
    the date (``duplicate-refused.json``)."""
    m = next((m for m in hh.meters if m.kind == "sunspec"), hh.meters[0])
    eq = equipment(hh, m)
    r = _try_enrol(c.second, f"{hh.name} (second application)",
                   f"{m.id}:{m.quantity}:{PROTOCOL_NAME[m.kind]}:{m.rated_w}", hh.terms, eq)
    said = [ln for ln in r.stderr.splitlines() if ln.startswith("eco-aggregator:")]
    reason = said[-1].removeprefix("eco-aggregator:").strip() if said else r.stderr.strip()
    result = {"member": SECOND, "equipment": list(eq), "refused": r.returncode != 0,
              "exit_code": r.returncode, "reason": reason or r.stdout.strip()}
    (c.dir / "duplicate-refused.json").write_text(
        json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"demo: {SECOND}: enrolling {eq[0]} again: "
          + (str(result["reason"]) if result["refused"] else "ACCEPTED (it should be refused)"))
    return result


def enrol_second_town(procs: Procs, out: Path, c: Consortium, clock: dict[str, Any]
                      ) -> list[dict[str, Any]]:
    """The neighbouring town's household: its simulators, agent and enrolment (with its
    equipment, looked up in its own log and its mirror of the home town's). Its agents."""
    agents, _names, _terms = enrol_town(procs, out / SECOND, c.second.cmd, c.second.log_vkey,
                                        c.broker.url, clock, SECOND_TOWN,
                                        programme=SECOND_PROGRAMME, prefix=PREFIX)
    return agents


__all__ = ["CONSORTIUM", "Consortium", "Member", "consortium_round", "enrol_second_town",
           "refuse_duplicate", "set_up", "start_second_town", "witnesses_of", "write_file"]
