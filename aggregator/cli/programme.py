"""``eco-aggregator`` commands for the programme: points, redemptions, batches, reports.

:func:`add_commands` hooks them into the parser :mod:`aggregator.cli` builds; ``serve`` and
``ledger verify`` take their crediting rules from :func:`programme_rules`. The programme file
is ``<state_dir>/programme.toml`` unless ``--programme-file`` says otherwise.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.encoding import format_time
from eco_protocol.keyfile import atomic_write

from .. import operator
from ..accounting import late_readings, points_statement, scan
from ..batches import period_from_dates, plan_batch, report_anchor, write_report
from ..config import Config, load_config
from ..credentials import configured_issuer
from ..errors import Rejected
from ..ledger import Ledger
from ..programme import Programme, example_programme, load_programme
from ..progress import Progress
from ..witness_status import report_checkpoint
from .common import open_ledger, print_json


def _programme_path(args: argparse.Namespace, cfg: Config) -> Path:
    given = getattr(args, "programme_file", None)
    return Path(given) if given else cfg.state_dir / "programme.toml"


def programme_rules(args: argparse.Namespace, cfg: Config) -> CreditRules:
    """The programme's crediting rules, for commands that judge readings (serve's receipts,
    ``ledger verify``): from the programme file if there is one, else the protocol's
    defaults (a log can run before its programme is configured; reports always carry the
    rules they were computed under)."""
    path = _programme_path(args, cfg)
    return load_programme(path).rules if path.exists() else DEFAULT_RULES


def _open(args: argparse.Namespace) -> tuple[Config, Ledger, Programme]:
    cfg = load_config(args.config)
    return cfg, open_ledger(cfg), load_programme(_programme_path(args, cfg))


def cmd_programme_init(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    path = _programme_path(args, cfg)
    if path.exists():
        raise Rejected(f"{path} exists; edit it instead")
    atomic_write(path, example_programme(args.id).encode("utf-8"), 0o644)
    load_programme(path)
    print_json({"programme_file": str(path)})
    return 0


def cmd_points(args: argparse.Namespace) -> int:
    _, ledger, programme = _open(args)
    view = scan(ledger.store, rules=programme.rules)
    households = [args.household] if args.household else sorted(
        view.household_devices(programme.id))
    out = []
    for hh in households:
        st = points_statement(view, programme, hh)
        row: dict[str, Any] = {"household": hh, "reduction_g": st.reduction_g,
                               "earned": st.earned, "redeemed": st.redeemed,
                               "balance": st.balance}
        if args.household:
            row["days"] = [{"day": d, "reduction_g": g} for d, g in st.days]
        out.append(row)
    print_json({"programme": programme.id, "points_per_kg": programme.points_per_kg,
            "households": out})
    return 0


def cmd_redeem(args: argparse.Namespace) -> int:
    cfg, ledger, programme = _open(args)
    res = operator.redeem_points(cfg, ledger, operator.Actor.cli(), programme, args.household,
                                 args.reward, datetime.now(UTC))
    print_json({"household": res.household, "reward": res.reward.id, "points": res.reward.points,
            "balance": res.balance, "index": res.index})
    return 0


def cmd_batch_create(args: argparse.Namespace) -> int:
    cfg, ledger, programme = _open(args)
    period = period_from_dates(args.period)
    with Progress() as progress:
        plan = plan_batch(scan(ledger.store, progress=progress, rules=programme.rules),
                          programme, period, args.methodology)
    if args.preview:
        print_json({"preview": True, **plan.preview()})
        return 0
    index = operator.seal(cfg, ledger, operator.Actor.cli(), plan)
    print_json({"sealed": True, "index": index, **plan.preview()})
    return 0


def cmd_batch_certify(args: argparse.Namespace) -> int:
    cfg, ledger, programme = _open(args)
    index = operator.certify(cfg, ledger, operator.Actor.cli(), programme, args.batch_id,
                             args.first, args.last)
    print_json({"batch_id": args.batch_id, "index": index,
            "certified_serials": {"first": args.first, "last": args.last}})
    return 0


def cmd_batch_report(args: argparse.Namespace) -> int:
    cfg, ledger, programme = _open(args)
    out = Path(args.out)
    last = report_anchor(scan(ledger.store), programme.id, args.batch_id)
    # on the newest cosigned checkpoint that holds the batch, so that regenerating a report
    # never silently drops its witness cosignature (the web UI keeps the same rule)
    checkpoint = None if last is None else report_checkpoint(
        ledger, last, out / "report.json", cfg.origin)
    with Progress() as progress:
        report = write_report(ledger, programme, args.batch_id, out,
                              list(getattr(cfg, "witness_vkeys", ()) or ()), progress,
                              checkpoint=checkpoint, issuer=configured_issuer(cfg))
    print_json({"report": str(out / "report.json"), "evidence": str(out / "evidence"),
            "results_csv": str(out / "results.csv"), "totals": report["totals"],
            "households": len(report["households"]), "sample": len(report["sample"])})
    return 0


def cmd_batch_late(args: argparse.Namespace) -> int:
    _, ledger, programme = _open(args)
    late = late_readings(scan(ledger.store, rules=programme.rules), programme.id)
    print_json({"late_readings": [{"batch_id": b, "index": r.index, "device_id": r.device_id,
                               "start": format_time(r.start), "energy_wh": r.energy_wh}
                              for b, r in late]})
    return 0


def programme_option(p: argparse.ArgumentParser,
                     help: str = "programme TOML (default <state_dir>/programme.toml)") -> None:
    p.add_argument("--programme-file", default=None, help=help)


def add_commands(sub: Any) -> None:

    s = sub.add_parser("programme", help="programme configuration")
    psub = s.add_subparsers(dest="programme_cmd", required=True)
    p = psub.add_parser("init", help="write a commented programme.toml")
    p.add_argument("--id", required=True, help="programme id, as used in enrolments")
    programme_option(p)
    p.set_defaults(func=cmd_programme_init)

    p = sub.add_parser("points", help="eco-points balances (derived from the ledger)")
    p.add_argument("--household", help="one household's statement with daily accrual")
    programme_option(p)
    p.set_defaults(func=cmd_points)

    p = sub.add_parser("redeem", help="spend points on a reward (appends eco.redeem/v1)")
    p.add_argument("--household", required=True)
    p.add_argument("--reward", required=True)
    programme_option(p)
    p.set_defaults(func=cmd_redeem)

    s = sub.add_parser("batch", help="J-Credit batches")
    bsub = s.add_subparsers(dest="batch_cmd", required=True)
    p = bsub.add_parser("create", help="seal a monitoring period (appends eco.batch/v1)")
    p.add_argument("--period", required=True, help="YYYY-MM-DD..YYYY-MM-DD, JST, end exclusive")
    p.add_argument("--preview", action="store_true", help="show totals, seal nothing")
    p.add_argument("--methodology", choices=("pv", "ev"), default="pv",
                   help="pv: household PV (EN-R-002, self-consumption); ev: electric vehicles. "
                        "Each methodology has its own batches, totals and carry-over")
    programme_option(p)
    p.set_defaults(func=cmd_batch_create)
    p = bsub.add_parser("certify", help="record the official serial range (eco.certify/v1)")
    p.add_argument("batch_id")
    p.add_argument("--first", required=True)
    p.add_argument("--last", required=True)
    programme_option(p)
    p.set_defaults(func=cmd_batch_certify)
    p = bsub.add_parser("report", help="write report.json, results.csv and evidence/")
    p.add_argument("batch_id")
    p.add_argument("--out", required=True)
    programme_option(p)
    p.set_defaults(func=cmd_batch_report)
    p = bsub.add_parser("late", help="readings that arrived after their period was sealed")
    programme_option(p)
    p.set_defaults(func=cmd_batch_late)


__all__ = ["add_commands", "programme_option", "programme_rules"]
