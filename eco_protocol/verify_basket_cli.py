"""``eco-verify basket REPORT… --consortium FILE``: the buyer's basket (issue 18 point 5).

Reads the files and prints; the checks are :func:`eco_protocol.basket.verify_basket`. One line
per report (``ok`` or ``FAIL``), one per problem of the basket as a whole, then one verdict for
the whole basket: ``VALID basket`` (exit 0) or ``INVALID basket`` (exit 1). ``--json`` adds the
summary as one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .basket import BasketItem, verify_basket
from .canonical import parse_json
from .consortium import parse_consortium
from .errors import ProtocolError
from .messages import add_lang_option, choose_lang, localize, said, text
from .os_messages import read_text_or_exit


def register(sub: Any) -> None:
    """Add ``basket`` to eco-verify's subcommands; it runs :func:`run`."""
    p = sub.add_parser("basket", help="verify batch reports of several consortium members as "
                       "one basket: each report, the witness policy, and no equipment credited "
                       "twice in overlapping periods")
    p.add_argument("reports", nargs="+", metavar="REPORT", help="report.json files")
    p.add_argument("--consortium", required=True, metavar="FILE",
                   help="consortium.toml: each report is checked under its member's log key "
                        "and its checkpoint must be published under the policy")
    p.add_argument("--evidence", action="append", default=[], metavar="DIR",
                   help="the evidence directory of each report, in the reports' order "
                        "(all or none): re-verify every reading")
    p.add_argument("--json", action="store_true", help="print the summary as a JSON line")
    add_lang_option(p)


def _read(path: Path, lang: str) -> str:
    return read_text_or_exit(path, lang, "eco_protocol.basket.cannot_read")


def _lines(path: Path, lang: str) -> list[str]:
    return _read(path, lang).splitlines()


def run(args: argparse.Namespace) -> int:
    lang = choose_lang(getattr(args, "lang", None))
    if args.evidence and len(args.evidence) != len(args.reports):
        raise SystemExit(text("eco_protocol.basket.evidence_count", lang,
                              given=len(args.evidence), reports=len(args.reports)))
    try:
        consortium = parse_consortium(_read(Path(args.consortium), lang), args.consortium)
    except ProtocolError as e:
        print(text("eco_protocol.basket.fail_consortium", lang, error=e), file=sys.stderr)
        return 1
    items = []
    for i, name in enumerate(args.reports):
        try:
            report: object = parse_json(_read(Path(name), lang))
        except ProtocolError as e:
            report = said("eco_protocol.basket.not_json", error=e)
        evidence = None
        if args.evidence:
            d = Path(args.evidence[i])
            evidence = (_read(d / "checkpoint", lang), _lines(d / "entries.jsonl", lang))
        items.append(BasketItem(name, report, evidence))
    res = verify_basket(consortium, items)
    for b in res.batches:
        print(text("eco_protocol.basket.ok", lang, name=b.name, member=b.member,
                   batch=b.batch_id, households=b.households, credits=b.credits_t,
                   tonnes=f"{b.reduction_g / 1e6:.6f}", published=localize(b.published, lang),
                   tokens=len(b.tokens)))
    for problem in res.problems:
        print(text("eco_protocol.basket.fail", lang, problem=localize(problem, lang)),
              file=sys.stderr)
    for note in res.notes:  # what the basket could not compare, before the verdict it limits
        print(text("eco_protocol.verify.info", lang, line=localize(note, lang)))
    s = res.summary()
    if res.ok:
        print(text("eco_protocol.basket.valid", lang, batches=len(res.batches),
                   n=len(s["members"]), members=s["members"], credits=s["credits_t"]))
    else:
        print(text("eco_protocol.basket.invalid", lang, n=len(res.problems)), file=sys.stderr)
    if args.json:
        print(json.dumps(s, sort_keys=True, ensure_ascii=False))
    return 0 if res.ok else 1


__all__ = ["register", "run"]
