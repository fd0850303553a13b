"""``eco-verify certificate-request``: the buyer's side of accounts (issue 19 point 3;
:mod:`eco_protocol.accounts`). Runs where the buyer keeps its key, never at the operator.

- ``account --key FILE``: create the key file on first use (mode 0600) and print the account
  (``did:key``) to give the seller;
- ``transfer --key FILE --ref ID --ids A..B --to ACCOUNT``: a signed request moving ids the
  account holds to another account;
- ``cancel --key FILE --ref ID --ids A..B --period START..END --beneficiary NAME``: a signed
  request cancelling (retiring) them for a consumption period.

The request goes to the operator, who logs it with ``eco-aggregator certificates transfer|cancel
REQUEST.json``; the operator cannot change it without breaking the buyer's signature.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .accounts import CANCEL, TRANSFER, ClaimRequest, account_of, sign_request
from .encoding import format_time
from .errors import ProtocolError
from .keyfile import load_or_create_private_key, load_private_key
from .messages import choose_lang
from .messages import text as message_text
from .programme_records import Period

COMMAND = "certificate-request"


def register(sub: Any) -> None:
    """Add ``certificate-request`` to eco-verify's subcommands; it runs :func:`run`."""
    p = sub.add_parser(COMMAND, help="a buyer's account key, and signed requests to transfer "
                                     "or cancel certificates it holds")
    rsub = p.add_subparsers(dest="request_cmd", required=True)
    a = rsub.add_parser("account", help="create the key file if absent; print the account")
    a.add_argument("--key", required=True, metavar="FILE")
    for name in (TRANSFER, CANCEL):
        r = rsub.add_parser(name, help=f"a signed request to {name} certificate ids")
        r.add_argument("--key", required=True, metavar="FILE", help="the holder's key file")
        r.add_argument("--ref", required=True, help="the bundle's issuance_id")
        r.add_argument("--ids", required=True, help="FIRST..LAST certificate ids")
        r.add_argument("--out", default=None, metavar="FILE", help="default: stdout")
        if name == TRANSFER:
            r.add_argument("--to", required=True, help="the new holder (did:key:z6Mk…)")
        else:
            r.add_argument("--period", required=True,
                           help="consumption period START..END (RFC 3339 UTC, or dates)")
            r.add_argument("--beneficiary", required=True,
                           help="whose consumption the certificates are cancelled for")


def _instant(text: str) -> str:
    return f"{text}T00:00:00Z" if len(text) == 10 else text


def _request(args: argparse.Namespace) -> ClaimRequest:
    key = load_private_key(Path(args.key))
    first, _, last = args.ids.partition("..")
    if not (first.isdigit() and last.isdigit()):
        raise SystemExit(message_text("eco_protocol.certificates.request_ids",
                                      choose_lang(getattr(args, "lang", None)),
                                      command=COMMAND, ids=args.ids))
    now = format_time(datetime.now(UTC).replace(microsecond=0))
    period = None
    if args.request_cmd == CANCEL:
        start, _, end = args.period.partition("..")
        period = Period(_instant(start), _instant(end))
    r = ClaimRequest(args.request_cmd, args.ref, int(first), int(last), account_of(key), now,
                     to=getattr(args, "to", None), period=period,
                     beneficiary=getattr(args, "beneficiary", None))
    return sign_request(r, key)


def run(args: argparse.Namespace) -> int:
    try:
        if args.request_cmd == "account":
            key, created = load_or_create_private_key(Path(args.key))
            print(json.dumps({"account": account_of(key), "created": created}))
            return 0
        text = json.dumps(_request(args).to_dict(), indent=1, ensure_ascii=False) + "\n"
    except ProtocolError as e:
        print(message_text("eco_protocol.certificates.request_error",
                           choose_lang(getattr(args, "lang", None)), command=COMMAND, error=e),
              file=sys.stderr)
        return 1
    if args.out:
        Path(args.out).write_text(text, "utf-8")
    else:
        sys.stdout.write(text)
    return 0


__all__ = ["COMMAND", "register", "run"]
