"""``eco-aggregator mirror`` and ``consortium-witness``: what a consortium member runs beside
its own log (issue 18; docs/consortium.md).

``mirror`` keeps a verified copy of every other member's log (:mod:`aggregator.mirror`) and,
with ``--http NAME=HOST:PORT``, serves each mirrored log's read API from that copy.
``consortium-witness`` runs the pull witness (:mod:`aggregator.witness`) for every member log but
the witness's own member's, with one key; each log keeps its own state file, named as
``eco-aggregator witness`` names it, so a member can move from one to the other.
"""

from __future__ import annotations

import argparse
import json
import logging
import threading
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eco_protocol.consortium import Consortium, ConsortiumError, Member, parse_consortium
from eco_protocol.errors import InvalidInput, ProtocolError
from eco_protocol.messages import msg
from eco_protocol.note import CosignatureSigner
from eco_protocol.os_messages import os_reason
from eco_protocol.witness_policy import quorum_of
from eco_runtime.sdnotify import sd_notify

from ..config import load_config
from ..consortium_audit import audit_sources, consortium_audit
from ..errors import AggregatorError, ConfigError, EnvironmentProblem, LogMisbehaviour, Rejected
from ..http_api import ApiConfig, ApiServer, parse_listen
from ..mirror import mirror_forever, mirror_round, mirrored_members
from ..mirror_store import MemberMirror
from ..store import open_store
from ..witness import LogClient, WitnessConfig, load_witness_signer, witness_once
from .common import on_stop_signal, print_json

log = logging.getLogger(__name__)


def load_consortium(path: Path) -> Consortium:
    """The consortium file, or a :class:`ConfigError` naming the file and the key."""
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(msg("aggregator.consortium.cannot_read", path=path,
                              reason=os_reason(e))) from e
    try:
        return parse_consortium(text, str(path))
    except ConsortiumError as e:
        raise ConfigError(msg("aggregator.as_is", error=e)) from e


def _member_arg(consortium: Consortium, name: str | None) -> str | None:
    if name is not None:
        try:
            consortium.member(name)
        except ConsortiumError as e:
            raise ConfigError(msg("aggregator.consortium.member", error=e)) from e
    return name


def _as_service() -> None:
    """Services log their progress (main() sets INFO only for the commands it lists)."""
    root = logging.getLogger()
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)


# --- mirror --------------------------------------------------------------------------------------


def start_mirror_servers(consortium: Consortium, me: str | None, state: Path,
                         specs: list[str]) -> list[tuple[str, ApiServer]]:
    """``NAME=HOST:PORT`` each: the read API of member NAME's mirror, from the mirror's store."""
    mirrored = {m.name: m for m in mirrored_members(consortium, me)}
    servers: list[tuple[str, ApiServer]] = []
    try:
        for spec in specs:
            name, sep, listen = spec.partition("=")
            if not sep or name not in mirrored:
                raise ConfigError(msg("aggregator.consortium.http_spec", spec=spec,
                                      members=", ".join(mirrored)))
            try:
                host, port = parse_listen(listen)
            except Rejected as e:
                raise ConfigError(msg("aggregator.as_is", error=e)) from e
            mirror = MemberMirror(state, name)
            mirror.open().close()  # the schema exists before the first request
            servers.append((name, ApiServer(
                host, port, lambda m=mirror: m.open(check_integrity=False),  # type: ignore[misc]
                ApiConfig(mirrored[name].log_key)).start()))
    except BaseException:
        for _, s in servers:
            s.stop()
        raise
    return servers


def cmd_mirror(args: argparse.Namespace) -> int:
    consortium = load_consortium(Path(args.consortium))
    me = _member_arg(consortium, args.member)
    state = Path(args.state)
    if args.once:
        if args.http:
            raise ConfigError(msg("aggregator.consortium.http_once"))
        report = mirror_round(consortium, me, state, args.timeout)
        print_json(report.to_dict())
        if report.forks:
            raise LogMisbehaviour(msg("aggregator.consortium.forks",
                                      forks=[report.forks[n] for n in sorted(report.forks)]))
        if report.failures:
            raise EnvironmentProblem(msg(
                "aggregator.consortium.not_mirrored",
                failures=[report.failures[n] for n in sorted(report.failures)]))
        return 0
    _as_service()
    servers = start_mirror_servers(consortium, me, state, list(args.http))
    print(json.dumps({"urls": {name: s.url for name, s in servers}}), flush=True)
    try:
        mirror_forever(consortium, me, state, on_stop_signal(), args.interval, args.timeout)
    finally:
        for _, s in servers:
            s.stop()
    return 0


# --- consortium-witness ---------------------------------------------------------------------------


def witnessed_members(consortium: Consortium, signer: CosignatureSigner) -> tuple[Member, ...]:
    """The logs this witness cosigns: every member's but its own member's. Its key must be one the
    consortium names, or its cosignatures would count for nobody."""
    me = signer.verifier
    if not any(w.key == me for w in consortium.witnesses):
        raise ConfigError(msg("aggregator.consortium.witness_not_named", vkey=me.vkey,
                              name=consortium.name))
    return tuple(m for m in consortium.members if m.witness != me.name)


def state_file(state_dir: Path, key: Path, member: Member) -> Path:
    """Where ``eco-aggregator witness`` keeps its state for this log by default."""
    return state_dir / f"{key.name}.{quote(member.origin, safe='')}.state.json"


def witness_round(consortium: Consortium, key: Path, signer: CosignatureSigner, state_dir: Path,
                  submit: bool, timeout_s: float) -> dict[str, Any]:
    """One witness round over every member log; a fork or failure of one does not stop the
    others. Returns ``{"members": {name: …}, "forks": [...], "failures": [...]}``."""
    members: dict[str, Any] = {}
    forks: list[str] = []
    failures: list[str] = []
    for member in witnessed_members(consortium, signer):
        cfg = WitnessConfig(member.log_key, signer, state_file(state_dir, key, member), submit)
        try:
            out = witness_once(cfg, LogClient(member.url, timeout_s))
        except LogMisbehaviour as e:
            log.critical("LOG MISBEHAVIOUR by %s: %s", member.name, e)
            members[member.name] = {"fork": str(e)}
            forks.append(member.name)
            continue
        except (AggregatorError, ProtocolError) as e:
            log.warning("witnessing %s failed: %s", member.name, e)
            members[member.name] = {"error": str(e)}
            failures.append(member.name)
            continue
        try:
            published = quorum_of(consortium, out.cosigned).reached
        except InvalidInput:
            published = False
        members[member.name] = {"size": out.size, "verdict": out.verdict,
                                "submitted": out.submitted, "accepted": list(out.accepted),
                                "published": published}
    return {"members": members, "forks": forks, "failures": failures}


def cmd_consortium_witness(args: argparse.Namespace) -> int:
    consortium = load_consortium(Path(args.consortium))
    key = Path(args.key)
    signer = load_witness_signer(key)
    state_dir = Path(args.state) if args.state else key.parent
    witnessed_members(consortium, signer)  # the key must be the consortium's before anything
    if args.once:
        result = witness_round(consortium, key, signer, state_dir, not args.no_submit,
                               args.timeout)
        print_json({**result, "witness_vkey": signer.verifier.vkey})
        if result["forks"]:
            raise LogMisbehaviour(msg("aggregator.consortium.witness_forks",
                                      members=result["forks"], path=state_dir))
        if result["failures"]:
            raise EnvironmentProblem(msg("aggregator.consortium.not_witnessed",
                                         members=result["failures"]))
        return 0
    _as_service()
    stop = on_stop_signal()
    _witness_forever(consortium, key, signer, state_dir, args, stop)
    return 0


def _witness_forever(consortium: Consortium, key: Path, signer: CosignatureSigner,
                     state_dir: Path, args: argparse.Namespace, stop: threading.Event) -> None:
    """Rounds until ``stop``: READY at once, WATCHDOG after each round (as the mirror)."""
    sd_notify("READY=1")
    while not stop.is_set():
        result = witness_round(consortium, key, signer, state_dir, not args.no_submit,
                               args.timeout)
        if result["forks"]:
            log.critical("forks recorded for %s: this witness no longer cosigns those logs",
                         ", ".join(result["forks"]))
        sd_notify("WATCHDOG=1")
        stop.wait(args.interval)
    sd_notify("STOPPING=1")


# --- consortium-audit (issue 18 point 4) ----------------------------------------------------------


def cmd_consortium_audit(args: argparse.Namespace) -> int:
    """Every claim token two live enrolments held at once, across the members' logs; exit 1
    while one is unresolved (both still live)."""
    consortium = load_consortium(Path(args.consortium))
    me = _member_arg(consortium, args.member)
    own = open_store(load_config(args.config)) if me is not None else None
    try:
        report = consortium_audit(consortium,
                                  audit_sources(consortium, Path(args.mirrors), me, own))
    finally:
        if own is not None:
            own.close()
    print_json(report)
    return 1 if report["unresolved"] else 0


# --- registration ---------------------------------------------------------------------------------


def add_commands(sub: Any) -> None:
    s = sub.add_parser("mirror", help="keep a verified copy of every other member's log")
    s.add_argument("--consortium", required=True, metavar="FILE", help="consortium.toml")
    s.add_argument("--state", required=True, metavar="DIR",
                   help="the mirrors: DIR/<member>/ledger.sqlite3 (and FORK.json on a fork)")
    s.add_argument("--member", default=None, metavar="NAME",
                   help="this member's name: its own log is not mirrored (default: mirror all, "
                        "as the verification body does)")
    s.add_argument("--once", action="store_true", help="one round over every member, then exit "
                   "(status 3 if a member's log forked, 1 if one could not be mirrored)")
    s.add_argument("--http", action="append", default=[], metavar="NAME=HOST:PORT",
                   help="serve member NAME's mirrored log's read API there (repeatable)")
    s.add_argument("--interval", type=float, default=60.0, metavar="SECONDS")
    s.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    s.set_defaults(func=cmd_mirror)
    s = sub.add_parser("consortium-witness",
                       help="verify and cosign every other member's log of a consortium")
    s.add_argument("--consortium", required=True, metavar="FILE", help="consortium.toml")
    s.add_argument("--key", required=True, metavar="FILE", help="witness key from witness-key")
    s.add_argument("--state", default=None, metavar="DIR",
                   help="one state file per log (default: beside the key)")
    s.add_argument("--once", action="store_true", help="one round over every member log, then "
                   "exit (status 3 if a log forked, 1 if one could not be witnessed)")
    s.add_argument("--interval", type=float, default=60.0, metavar="SECONDS")
    s.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    s.add_argument("--no-submit", action="store_true",
                   help="cosign and keep the result in the state files, but do not POST it")
    s.set_defaults(func=cmd_consortium_witness)
    s = sub.add_parser("consortium-audit",
                       help="list every claim token held by two live enrolments at once, "
                            "across every member's log")
    s.add_argument("--consortium", required=True, metavar="FILE", help="consortium.toml")
    s.add_argument("--mirrors", required=True, metavar="DIR",
                   help="the mirrors' directory (eco-aggregator mirror --state)")
    s.add_argument("--member", default=None, metavar="NAME",
                   help="this member's name: its own log is read from --config's store "
                        "(default: every log from the mirrors, as the verification body)")
    s.set_defaults(func=cmd_consortium_audit)
