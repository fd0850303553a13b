"""``eco-verify matching FILE_OR_DIR --consumption CSV --account did:key:… --log-key VKEY --out
DIR``: the hourly matching report a 24/7 buyer files (issue 19 point 5; docs/certificates.md
"Hourly matching report").

The thin shell around :mod:`eco_protocol.hourly_matching` and :mod:`eco_protocol.matching_report`:
it reads the certificate export (``bundles.json`` and ``proofs.json``, as ``eco-verify
certificates`` does), runs the same offline check — a certificate that does not verify is
never counted, and nothing is written then — reads the consumption CSV, and writes
``matching.html``, ``matching.csv`` and ``matching.json`` to ``--out`` (atomically). Exit 0
when written, 1 when the certificates or the CSV are refused.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

from .accounts import account_field
from .errors import ProtocolError
from .hourly_matching import cancellations_of, match_hours, parse_consumption
from .keyfile import atomic_write
from .matching_report import Provenance, jst, to_csv, to_html, to_json
from .messages import add_lang_option, choose_lang, render, text
from .os_messages import read_text_or_exit
from .verify_certificates_cli import BUNDLES, PROOFS, checked_export

COMMAND: Final = "matching"
HTML: Final = "matching.html"
CSV: Final = "matching.csv"
JSON: Final = "matching.json"


def register(sub: Any) -> None:
    """Add ``matching`` to eco-verify's subcommands; it runs :func:`run`."""
    p = sub.add_parser(COMMAND, help="the hourly matching report: a buyer's hourly consumption "
                       "matched with the certificates it cancelled (checked offline first)")
    p.add_argument("path", metavar="FILE_OR_DIR",
                   help=f"an export directory ({BUNDLES} and {PROOFS}) or a bundles file")
    p.add_argument("--proofs", default=None, metavar="FILE",
                   help=f"the proof document (default: {PROOFS} beside the bundles)")
    p.add_argument("--consumption", required=True, metavar="CSV",
                   help="hourly (or half-hourly) consumption: hour start with UTC offset, kWh "
                        "or Wh (docs/certificates.md)")
    p.add_argument("--account", required=True, help="your account (did:key:z6Mk…): only its "
                                                    "cancellations are counted")
    p.add_argument("--out", required=True, metavar="DIR",
                   help=f"where {HTML}, {CSV} and {JSON} go")
    p.add_argument("--log-key", required=True, help="the log's verifier key, pinned by you")
    p.add_argument("--witness", action="append", default=[], help="a witness verifier key")
    p.add_argument("--min-witnesses", type=int, default=0)
    add_lang_option(p)


def _read(path: Path, lang: str) -> str:
    return read_text_or_exit(path, lang, "eco_protocol.matching.cannot_read")


def run(args: argparse.Namespace) -> int:
    lang = choose_lang(getattr(args, "lang", None))
    try:
        account = account_field(args.account.strip(), "--account")
    except ProtocolError as e:  # a mistyped account would match nothing, silently
        print(text("eco_protocol.matching.account", lang, account=args.account, error=e),
              file=sys.stderr)
        return 1
    check = checked_export(args, lang, "eco_protocol.matching.not_verified")
    if check is None:
        return 1
    try:
        consumption = parse_consumption(_read(Path(args.consumption), lang))
    except ProtocolError as e:
        print(text("eco_protocol.matching.refused", lang, error=render(e, lang)),
              file=sys.stderr)
        return 1
    report = match_hours(consumption, cancellations_of(check.bundles), account)
    prov = Provenance(check.checkpoint.origin, check.checkpoint.size,
                      datetime.now(UTC).replace(microsecond=0))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / HTML, to_html(report, prov, lang).encode("utf-8"))
    atomic_write(out / CSV, to_csv(report).encode("utf-8"))
    atomic_write(out / JSON, (json.dumps(to_json(report, prov), indent=1, ensure_ascii=False)
                              + "\n").encode("utf-8"))
    for c, why in report.not_counted:
        print(text("eco_protocol.matching.skipped", lang, issuance=c.issuance_id, wh=c.wh,
                   hour=jst(c.hour) + " JST",
                   reason=text(f"eco_protocol.matching.reason.{why}", lang)))
    print(text("eco_protocol.matching.written", lang, account=report.account,
               matched=f"{report.matched_wh / 1000:.3f}",
               consumption=f"{report.consumption_wh / 1000:.3f}",
               hourly=f"{report.hourly_share * 100:.1f}%",
               volumetric=f"{report.volumetric_share * 100:.1f}%", hours=len(report.hours),
               out=out))
    return 0


__all__ = ["COMMAND", "CSV", "HTML", "JSON", "register", "run"]
