"""``eco-aggregator certificates issue`` and ``certificates list``: hourly granular
certificates from the log's self-consumed PV (issue 19; :mod:`aggregator.certificates`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from eco_protocol.accounts import CANCEL, TRANSFER, ClaimRequest
from eco_protocol.canonical import parse_json
from eco_protocol.certificates import IssuerConfig
from eco_protocol.claims import BundleRange
from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason

from .. import operator
from ..accounting import scan
from ..batches import period_from_dates
from ..certificate_export import export_certificates
from ..certificate_moves import assign, submit_request
from ..certificates import issued_bundles, write_bundles
from ..claims import claim_book
from ..config import Config, load_config
from ..errors import EnvironmentProblem, Rejected
from ..ledger import Ledger
from ..programme import Programme, load_programme
from .common import open_ledger, print_json


def _open(args: argparse.Namespace) -> tuple[Config, Ledger, Programme]:
    cfg = load_config(args.config)
    path = Path(args.programme_file) if args.programme_file else \
        cfg.state_dir / "programme.toml"
    return cfg, open_ledger(cfg), load_programme(path)


def _issuer(args: argparse.Namespace, programme: Programme) -> IssuerConfig:
    return IssuerConfig(args.issuing_body or programme.operator, args.market_zone, args.country)


def cmd_issue(args: argparse.Namespace) -> int:
    cfg, ledger, programme = _open(args)
    period = period_from_dates(args.period)
    households = [args.household] if args.household else None
    done = operator.issue_certificates(cfg, ledger, operator.Actor.cli(), programme, period,
                                       _issuer(args, programme), households)
    out = Path(args.out) if args.out else cfg.state_dir / "certificates"
    path = write_bundles(done.bundles, out)
    print_json({"issued": len(done.bundles), "total_wh": done.total_wh,
                "period": period.to_dict(), "file": str(path),
                "claims": [b.claim_index for b in done.bundles]})
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    _, ledger, programme = _open(args)
    view = scan(ledger.store, rules=programme.rules)
    book = claim_book(view, ledger.store)
    rows: list[dict[str, Any]] = []
    for bundle, status in issued_bundles(view, book, _issuer(args, programme), args.household):
        d = bundle.to_dict()
        rows.append({"issuance_id": bundle.issuance_id, "status": status,
                     "household": bundle.device.device_id,
                     "hour": d["production_starting_interval"],
                     "face_value_wh": bundle.face_value_wh,
                     "ids": f"{bundle.first}..{bundle.last}", "claim_index": bundle.claim_index,
                     "holders": book.holders(BundleRange(bundle.first, bundle.last))})
    print_json({"programme": programme.id, "bundles": rows,
                "total_wh": sum(r["face_value_wh"] for r in rows)})
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    _, ledger, programme = _open(args)
    period = period_from_dates(args.period) if args.period else None
    done = export_certificates(ledger, programme, _issuer(args, programme), Path(args.out),
                               args.household, period)
    print_json({"exported": len(done.bundles), "total_wh": done.total_wh,
                "checkpoint_size": done.checkpoint_size, "proved_entries": done.entries,
                "bundles_file": str(done.bundles_file), "proofs_file": str(done.proofs_file)})
    return 0


def _request(path: str) -> ClaimRequest:
    try:
        text = Path(path).read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise EnvironmentProblem(msg("aggregator.certificates.request_unreadable", path=path,
                                     reason=os_reason(e))) from e
    return ClaimRequest.from_dict(parse_json(text))


def _moved(index: int, action: str, target: str) -> int:
    print_json({"entry": index, "action": action, "certificates": target})
    return 0


def cmd_move(args: argparse.Namespace) -> int:
    """``transfer REQUEST.json`` / ``cancel REQUEST.json``: what a buyer signed."""
    cfg, ledger, programme = _open(args)
    request = _request(args.request)
    action = TRANSFER if args.certificates_cmd == "transfer" else CANCEL
    target = f"{request.ref} {request.first}..{request.last}"
    index = operator.move_certificates(
        cfg, operator.Actor.cli(), action, target,
        lambda: submit_request(ledger, programme, request, action)[0])
    return _moved(index, action, target)


def cmd_assign(args: argparse.Namespace) -> int:
    """``assign --ref ID --ids A..B --to ACCOUNT``: the issuer sells ids it still holds."""
    cfg, ledger, programme = _open(args)
    first, _, last = args.ids.partition("..")
    if not (first.isdigit() and last.isdigit()):
        raise Rejected(msg("aggregator.certificates.ids", ids=args.ids))
    ids = BundleRange(int(first), int(last))
    target = f"{args.ref} {ids.first}..{ids.last}"
    index = operator.move_certificates(
        cfg, operator.Actor.cli(), "assign", target,
        lambda: assign(ledger, programme, args.ref, ids, args.to)[0])
    return _moved(index, "assign", target)


def _common(s: Any) -> None:
    s.add_argument("--programme-file", default=None, metavar="FILE",
                   help="programme file (default <state_dir>/programme.toml)")
    s.add_argument("--household", default=None, help="only this household (pseudonym)")
    s.add_argument("--issuing-body", default=None,
                   help="the GC issuer named on each bundle (default: the programme's operator)")
    s.add_argument("--market-zone", default="JP", help="bidding/market zone on each bundle")
    s.add_argument("--country", default="JP", help="country of issuance (ISO 3166)")


def add_commands(sub: Any) -> None:
    c = sub.add_parser("certificates", help="hourly granular certificates (EnergyTag GC fields)")
    csub = c.add_subparsers(dest="certificates_cmd", required=True)
    s = csub.add_parser("issue", help="issue certificates for the self-consumed PV of a period "
                                      "that no batch sealed and no certificate claimed yet")
    s.add_argument("--period", required=True,
                   help="YYYY-MM-DD..YYYY-MM-DD (JST dates, end exclusive)")
    s.add_argument("--out", default=None, metavar="DIR",
                   help="where the bundles' JSON goes (default <state_dir>/certificates)")
    _common(s)
    s.set_defaults(func=cmd_issue)
    s = csub.add_parser("export", help="write the issued bundles (EnergyTag GC registry field "
                                       "names) and their offline proof for eco-verify "
                                       "certificates")
    s.add_argument("--out", required=True, metavar="DIR",
                   help="where bundles.json and proofs.json go")
    s.add_argument("--period", default=None,
                   help="only hours inside YYYY-MM-DD..YYYY-MM-DD (JST dates, end exclusive)")
    _common(s)
    s.set_defaults(func=cmd_export)
    for name, what in (("transfer", "a buyer's signed transfer to another account"),
                       ("cancel", "a buyer's signed cancellation (retirement) for a consumption "
                                  "period")):
        s = csub.add_parser(name, help=f"log {what} (made with eco-verify certificate-request)")
        s.add_argument("request", metavar="REQUEST.json")
        s.add_argument("--programme-file", default=None, metavar="FILE")
        s.set_defaults(func=cmd_move)
    s = csub.add_parser("assign", help="the issuer transfers ids it still holds to a buyer's "
                                       "account (a sale)")
    s.add_argument("--ref", required=True, help="the issuance id (issued claim) of the bundle")
    s.add_argument("--ids", required=True, help="FIRST..LAST certificate ids")
    s.add_argument("--to", required=True, help="the buyer's account (did:key:z6Mk…)")
    s.add_argument("--programme-file", default=None, metavar="FILE")
    s.set_defaults(func=cmd_assign)
    s = csub.add_parser("list", help="the bundles the log issued, with their status")
    _common(s)
    s.set_defaults(func=cmd_list)
