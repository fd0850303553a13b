"""``eco-aggregator credential …``: the Verifiable Credentials the municipality issues (a
household's points statement, a batch summary, a device's enrolment) and the did:web document
and status list a verifier checks them with. Each prints the signed JSON, or writes it to
``--out`` and prints where; the signing is :mod:`aggregator.credentials`'."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from eco_protocol.certificates import IssuerConfig
from eco_protocol.messages import msg

from .. import credentials, did_web, operator
from ..batches import build_report
from ..certificate_credentials import certificate_credential
from ..config import Config, load_config
from ..did_web import Issuer
from ..errors import Rejected
from ..ledger import Ledger
from ..programme import Programme, load_programme
from .common import open_ledger, print_json
from .programme import programme_option


def _emit(args: argparse.Namespace, what: str, obj: dict[str, Any]) -> int:
    if args.out is None:
        print_json(obj)
        return 0
    out = Path(args.out)
    credentials.write_json(out, obj)
    print_json({what: str(out), "id": obj.get("id"), "issuer": obj.get("issuer")})
    return 0


def _open(args: argparse.Namespace) -> tuple[Config, Issuer, Ledger]:
    """The configuration, its issuer (refused without one, before the store is opened) and the
    ledger with the log key."""
    cfg = load_config(args.config)
    issuer = did_web.issuer_of(cfg)
    return cfg, issuer, open_ledger(cfg)


def _programme(args: argparse.Namespace, cfg: Config) -> Programme:
    """``--programme-file``, else the programme beside the store (as the programme commands)."""
    return load_programme(Path(args.programme_file) if args.programme_file
                          else cfg.state_dir / "programme.toml")


def cmd_points(args: argparse.Namespace) -> int:
    cfg, issuer, ledger = _open(args)
    try:
        household = operator.resolve_household(cfg, args.household)
        cred = credentials.points_credential(issuer, ledger, _programme(args, cfg), household,
                                             args.history)
    finally:
        ledger.store.close()
    return _emit(args, "credential", cred)


def cmd_report(args: argparse.Namespace) -> int:
    cfg, issuer, ledger = _open(args)
    try:
        if args.report is not None:
            report = json.loads(Path(args.report).read_text("utf-8"))
            if not isinstance(report, dict) or report.get("batch_id") != args.batch_id:
                raise Rejected(msg("aggregator.credentials.not_report", path=args.report,
                                   batch=args.batch_id))
        else:
            ledger.checkpoint_now()
            row = ledger.latest_checkpoint()
            assert row is not None
            report = build_report(ledger, _programme(args, cfg), args.batch_id, row.note)
        cred = credentials.report_credential(issuer, ledger, report)
    finally:
        ledger.store.close()
    return _emit(args, "credential", cred)


def cmd_enrolment(args: argparse.Namespace) -> int:
    _, issuer, ledger = _open(args)
    try:
        cred = credentials.enrolment_credential(issuer, ledger, args.device)
    finally:
        ledger.store.close()
    return _emit(args, "credential", cred)


def cmd_certificate(args: argparse.Namespace) -> int:
    """A certificate bundle and its holders; the GC issuer fields as ``certificates export``
    takes them, so the credential's bundle is the exported one byte for byte."""
    cfg, issuer, ledger = _open(args)
    try:
        programme = _programme(args, cfg)
        gc_issuer = IssuerConfig(args.issuing_body or programme.operator, args.market_zone,
                                 args.country)
        cred = certificate_credential(issuer, ledger, programme, gc_issuer, args.issuance_id)
    finally:
        ledger.store.close()
    return _emit(args, "credential", cred)


def cmd_did_document(args: argparse.Namespace) -> int:
    _, issuer, ledger = _open(args)
    try:
        doc = did_web.document(issuer, ledger.store)
    finally:
        ledger.store.close()
    return _emit(args, "did_document", doc)


def cmd_status_list(args: argparse.Namespace) -> int:
    _, issuer, ledger = _open(args)
    try:
        status = credentials.status_list(issuer, ledger)
    finally:
        ledger.store.close()
    return _emit(args, "status_list", status)


def add_commands(sub: Any) -> None:
    s = sub.add_parser("credential", help="issue a signed Verifiable Credential (points "
                                          "statement, batch summary, enrolment, certificate "
                                          "bundle)")
    csub = s.add_subparsers(dest="credential_cmd", required=True)

    def out_option(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default=None, metavar="FILE",
                       help="write it there (default: print it)")

    p = csub.add_parser("points", help="a household's eco-points statement at the latest "
                                       "checkpoint (its pseudonym, balance; no name)")
    p.add_argument("household", help="the hh-… pseudonym or the household reference")
    p.add_argument("--history", action="store_true",
                   help="include the daily reductions (only at the resident's request)")
    out_option(p)
    programme_option(p)
    p.set_defaults(func=cmd_points)
    p = csub.add_parser("report", help="a batch's summary for buyers (names its report.json "
                                       "by hash)")
    p.add_argument("batch_id")
    p.add_argument("--report", default=None, metavar="REPORT_JSON",
                   help="summarise this report.json (default: build the report now)")
    out_option(p)
    programme_option(p)
    p.set_defaults(func=cmd_report)
    p = csub.add_parser("enrolment", help="a device's enrolment, revocable through the status "
                                          "list")
    p.add_argument("device", help="device id (32 hex) or its did:key")
    out_option(p)
    p.set_defaults(func=cmd_enrolment)
    p = csub.add_parser("certificate", help="a certificate bundle (EnergyTag GC fields), who "
                                            "holds it and its cancellations, linked to its "
                                            "export by SHA-256")
    p.add_argument("issuance_id", help="the bundle's issuance_id ('certificates list')")
    p.add_argument("--issuing-body", default=None,
                   help="as given to 'certificates export' (default: the programme's operator)")
    p.add_argument("--market-zone", default="JP", help="as given to 'certificates export'")
    p.add_argument("--country", default="JP", help="as given to 'certificates export'")
    out_option(p)
    programme_option(p)
    p.set_defaults(func=cmd_certificate)
    p = csub.add_parser("did-document", help="the municipality's did:web document (every log "
                                             "key with its validity)")
    out_option(p)
    p.set_defaults(func=cmd_did_document)
    p = csub.add_parser("status-list", help="the signed status list of enrolment credentials")
    out_option(p)
    p.set_defaults(func=cmd_status_list)


__all__ = ["add_commands"]
