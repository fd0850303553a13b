"""``eco-verify credential FILE``: check a credential offline; say plainly what the result means.

A shop, a buyer or a resident runs it on a points statement, a batch summary, an enrolment
credential or a status list (docs/protocol.md, "Identifiers and credentials"). Everything it
needs is given as files: the issuer's DID document (``--did-document``, a cached copy of the
issuer's ``did.json``) and, for a revocable credential, the issuer's status list
(``--status-list``). Nothing is fetched.

The verdict comes first (VALID, REVOKED or INVALID, with what it means and what to ask the
issuer), then the checks, as ``eco-verify report`` does. The checking itself is
:func:`eco_protocol.credentials.check_credential`; this module reads files and prints.
Exit status: 0 valid, 1 revoked or invalid, 2 a file could not be read.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from .canonical import parse_json
from .credentials import CredentialVerdict, check_credential
from .encoding import format_time
from .errors import ProtocolError
from .timestamps import parse_datetime

# (what the message says, what it means for the person holding the credential, what to ask);
# the first match wins, so a status list's own failure is named before the words it contains
_MEANINGS: tuple[tuple[tuple[str, ...], str, str], ...] = (
    (("no copy of the status list",),
     "it may have been revoked, and the issuer's status list was not given",
     "get the status list from the URL below and pass it with --status-list"),
    (("status list",),
     "the status list given does not check, so revocation cannot be ruled out",
     "get a current status list from the issuer and check again"),
    (("changed after signing", "does not start with the proof's"),
     "the credential was changed after its issuer signed it, or was not signed by its issuer",
     "do not accept it; ask the holder for the copy the issuer gave, or the issuer for a new one"),
    (("no DID document",),
     "it cannot be checked without the issuer's DID document",
     "get the issuer's did.json (the URL is below) and pass it with --did-document"),
    (("expired", "not valid yet", "from the future", "expires", "not yet in use"),
     "the credential is outside its validity period, or signed with a key not in force then",
     "ask the issuer for a current credential"),
    (("name field",),
     "the credential carries a person's name; these credentials carry pseudonyms only",
     "do not keep or pass it on; tell the issuer"),
    (("only the issuer's own keys", "not listed", "not a did:", "DID document given is for"),
     "the credential was not signed with a key its issuer publishes",
     "do not accept it; check that the DID document is the issuer's own, from its web site"),
)
_DEFAULT_MEANING = ("the file is not a credential this checker understands, or is malformed",
                    "ask the issuer for the credential file as it was issued")


def explain(error: ProtocolError) -> tuple[str, str]:
    """What a refusal means for the holder, and what to ask: a pure function of the error."""
    text = str(error)
    for needles, meaning, ask in _MEANINGS:
        if any(n in text for n in needles):
            return meaning, ask
    return _DEFAULT_MEANING


def valid_line(verdict: CredentialVerdict) -> str:
    """The one-line verdict for a credential that checked and is not revoked."""
    return (f"VALID — {verdict.kind} about {verdict.subject}, issued by {verdict.issuer}: "
            "checked offline, not changed since it was signed")


def revoked_line(verdict: CredentialVerdict) -> str:
    return (f"REVOKED — this {verdict.kind} about {verdict.subject} was revoked by its issuer "
            f"{verdict.issuer}: do not accept it; ask the issuer whether a new one was issued")


def _read_json(path: str, what: str) -> Any:
    try:
        return parse_json(Path(path).read_bytes())
    except OSError as e:
        raise SystemExit(f"eco-verify: cannot read {what} {path}: {e}") from e
    except ProtocolError as e:
        raise SystemExit(f"eco-verify: {what} {path} is not JSON: {e}") from e


def _by_id(paths: Sequence[str], what: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for p in paths:
        doc = _read_json(p, what)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("id"), str):
            raise SystemExit(f"eco-verify: {what} {p} has no \"id\"")
        out[doc["id"]] = doc
    return out


def register(sub: Any) -> None:
    """Add the ``credential`` command to ``eco-verify``'s subcommands."""
    cp = sub.add_parser("credential", help="check a W3C verifiable credential offline "
                        "(points statement, batch summary, enrolment, status list)")
    cp.add_argument("credential", help="the credential, a JSON file")
    cp.add_argument("--did-document", action="append", default=[], metavar="FILE",
                    help="the issuer's DID document (its did.json), cached; repeatable")
    cp.add_argument("--status-list", action="append", default=[], metavar="FILE",
                    help="a status list credential the credential points at; repeatable")
    cp.add_argument("--at", metavar="TIME",
                    help="check as of this time (e.g. 2026-12-01T00:00:00Z); default now")
    cp.add_argument("--json", action="store_true", help="print a JSON summary line at the end")


def run(args: argparse.Namespace) -> int:
    """The ``credential`` command: read the files, check, print the verdict and the checks."""
    credential = _read_json(args.credential, "credential")
    documents = _by_id(args.did_document, "DID document")
    lists = _by_id(args.status_list, "status list")
    now = args.at or format_time(datetime.now(UTC))
    try:
        parse_datetime(now, "--at")
    except ProtocolError as e:
        raise SystemExit(f"eco-verify: {e}") from e
    try:
        verdict = check_credential(credential, documents, lists, now)
    except ProtocolError as e:
        meaning, ask = explain(e)
        print(f"INVALID — {meaning}: {ask}", file=sys.stderr)
        print(f"FAIL {args.credential}: {e}", file=sys.stderr)
        _print_json(args, {"ok": False, "error": str(e)})
        return 1
    print(revoked_line(verdict) if verdict.revoked else valid_line(verdict))
    for line in verdict.checks:
        print(f"ok   {line}")
    for line in verdict.summary:
        print(f"     {line}")
    _print_json(args, {"ok": not verdict.revoked, "kind": verdict.kind,
                       "issuer": verdict.issuer, "subject": verdict.subject,
                       "revoked": verdict.revoked, "summary": list(verdict.summary)})
    return 1 if verdict.revoked else 0


def _print_json(args: argparse.Namespace, value: Mapping[str, Any]) -> None:
    if args.json:
        print(json.dumps(value, sort_keys=True, ensure_ascii=False))


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m eco_protocol.verify_credential_cli FILE …`` (the same as
    ``eco-verify credential FILE …``)."""
    parser = argparse.ArgumentParser(prog="eco-verify")
    register(parser.add_subparsers(dest="command", required=True))
    return run(parser.parse_args(["credential", *(sys.argv[1:] if argv is None else argv)]))


if __name__ == "__main__":
    sys.exit(main())
