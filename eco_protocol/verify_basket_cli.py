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


def _read(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"eco-verify basket: cannot read {path}: {e}") from e


def _lines(path: Path) -> list[str]:
    return _read(path).splitlines()


def run(args: argparse.Namespace) -> int:
    if args.evidence and len(args.evidence) != len(args.reports):
        raise SystemExit(f"eco-verify basket: {len(args.evidence)} --evidence directories for "
                         f"{len(args.reports)} reports: give one per report, in order, or none")
    try:
        consortium = parse_consortium(_read(Path(args.consortium)), args.consortium)
    except ProtocolError as e:
        print(f"FAIL --consortium: {e}", file=sys.stderr)
        return 1
    items = []
    for i, name in enumerate(args.reports):
        try:
            report: object = parse_json(_read(Path(name)))
        except ProtocolError as e:
            report = f"not JSON: {e}"
        evidence = None
        if args.evidence:
            d = Path(args.evidence[i])
            evidence = (_read(d / "checkpoint"), _lines(d / "entries.jsonl"))
        items.append(BasketItem(name, report, evidence))
    res = verify_basket(consortium, items)
    for b in res.batches:
        print(f"ok   {b.name}: {b.member} {b.batch_id}, {b.households} households, "
              f"{b.credits_t} t ({b.reduction_g / 1e6:.6f} t CO2); {b.published}; "
              f"{len(b.tokens)} claim tokens credited")
    for problem in res.problems:
        print(f"FAIL {problem}", file=sys.stderr)
    s = res.summary()
    if res.ok:
        print(f"VALID basket: {len(res.batches)} batches from {len(s['members'])} members "
              f"({', '.join(s['members'])}), {s['credits_t']} t in all; no equipment is "
              "credited twice in overlapping periods")
    else:
        print(f"INVALID basket: {len(res.problems)} problems (above); do not count these "
              "credits until each is resolved with the sellers", file=sys.stderr)
    if args.json:
        print(json.dumps(s, sort_keys=True, ensure_ascii=False))
    return 0 if res.ok else 1


__all__ = ["register", "run"]
