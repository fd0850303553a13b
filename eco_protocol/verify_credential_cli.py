"""``eco-verify credential FILE``: check a credential offline; say plainly what the result means.

A shop, a buyer or a resident runs it on a points statement, a batch summary, an enrolment
credential or a status list (docs/protocol.md, "Identifiers and credentials"). Everything it
needs is given as files: the issuer's DID document (``--did-document``, a cached copy of the
issuer's ``did.json``) and, for a revocable credential, the issuer's status list
(``--status-list``). Nothing is fetched. A certificate bundle credential can also be tied to the
offline proof of its export (``--certificates``): the export is checked as ``eco-verify
certificates`` checks it, with the log key from the same DID document, and the credential must
name a bundle in it byte for byte, with the same holders and cancellations at the same checkpoint.

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
from .certificate_credential import cross_check, log_key_of
from .certificate_proofs import CertificateProblem, verify_certificate_proofs
from .credentials import CredentialVerdict, check_credential
from .encoding import format_time
from .errors import CredentialError, ProtocolError
from .messages import (
    DEFAULT_LANG,
    Msg,
    add_lang_option,
    choose_lang,
    localize,
    msg,
    text,
)
from .os_messages import os_reason
from .timestamps import parse_datetime

# (what the message says, the kind of refusal: its meaning and what to ask are in the catalog,
# eco_protocol.credential.meaning.<kind> and .ask.<kind>); the first match wins, so a status
# list's own failure is named before the words it contains
_MEANINGS: tuple[tuple[tuple[str, ...], str], ...] = (
    (("not one whose DID document you gave",), "not_pinned"),
    (("no copy of the status list",), "no_status_list"),
    (("status list",), "status_list"),
    (("changed after signing", "does not start with the proof's"), "changed"),
    (("no DID document",), "no_document"),
    (("expired", "not valid yet", "from the future", "expires", "not yet in use"), "validity"),
    (("name field",), "name"),
    (("only the issuer's own keys", "not listed", "not a did:", "DID document given is for"),
     "wrong_key"),
)
_KIND_CODES = {"points statement": "points", "batch summary": "summary",
               "enrolment": "enrolment", "status list": "status_list",
               "certificate bundle": "certificate"}


def explain(error: ProtocolError, lang: str = DEFAULT_LANG) -> tuple[str, str]:
    """What a refusal means for the holder, and what to ask, in ``lang``: a pure function of
    the error (matched on its English text)."""
    english = str(error)
    kind = next((k for needles, k in _MEANINGS if any(n in english for n in needles)), "other")
    return (text(f"eco_protocol.credential.meaning.{kind}", lang),
            text(f"eco_protocol.credential.ask.{kind}", lang))


def _kind(verdict: CredentialVerdict) -> Msg | str:
    code = _KIND_CODES.get(verdict.kind)
    return msg(f"eco_protocol.credential.kind.{code}") if code else verdict.kind


def valid_line(verdict: CredentialVerdict, lang: str = DEFAULT_LANG) -> str:
    """The one-line verdict for a credential that checked and is not revoked."""
    return text("eco_protocol.credential.valid", lang, kind=_kind(verdict),
                subject=verdict.subject, issuer=verdict.issuer)


def revoked_line(verdict: CredentialVerdict, lang: str = DEFAULT_LANG) -> str:
    return text("eco_protocol.credential.revoked", lang, kind=_kind(verdict),
                subject=verdict.subject, issuer=verdict.issuer)


def _exit(lang: str, code: str, /, **params: Any) -> SystemExit:
    return SystemExit(text(code, lang, **params))


def _read_json(path: str, what: str, lang: str) -> Any:
    name = msg(f"eco_protocol.credential.file.{what}")
    try:
        return parse_json(Path(path).read_bytes())
    except OSError as e:
        raise _exit(lang, "eco_protocol.credential.cannot_read", what=name, path=path,
                    reason=os_reason(e)) from e
    except ProtocolError as e:
        raise _exit(lang, "eco_protocol.credential.not_json", what=name, path=path,
                    error=e) from e


def _by_id(paths: Sequence[str], what: str, lang: str) -> dict[str, Mapping[str, Any]]:
    out: dict[str, Mapping[str, Any]] = {}
    for p in paths:
        doc = _read_json(p, what, lang)
        if not isinstance(doc, Mapping) or not isinstance(doc.get("id"), str):
            raise _exit(lang, "eco_protocol.credential.no_id",
                        what=msg(f"eco_protocol.credential.file.{what}"), path=p)
        out[doc["id"]] = doc
    return out


def register(sub: Any) -> None:
    """Add the ``credential`` command to ``eco-verify``'s subcommands."""
    cp = sub.add_parser("credential", help="check a W3C verifiable credential offline "
                        "(points statement, batch summary, enrolment, status list, "
                        "certificate bundle)")
    cp.add_argument("credential", help="the credential, a JSON file")
    cp.add_argument("--did-document", action="append", default=[], metavar="FILE",
                    help="the issuer's DID document (its did.json), cached; repeatable")
    cp.add_argument("--status-list", action="append", default=[], metavar="FILE",
                    help="a status list credential the credential points at; repeatable")
    cp.add_argument("--certificates", metavar="FILE_OR_DIR", default=None,
                    help="a certificate bundle credential only: cross-check it against this "
                         "export (bundles.json and proofs.json, as 'eco-aggregator certificates "
                         "export' writes them), checked offline as 'eco-verify certificates'")
    cp.add_argument("--log-key", default=None, metavar="VKEY",
                    help="with --certificates: the log key the export's checkpoint is signed "
                         "with (default: the did:web key that signed the credential)")
    cp.add_argument("--at", metavar="TIME",
                    help="check as of this time (e.g. 2026-12-01T00:00:00Z); default now")
    cp.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    add_lang_option(cp)


def run(args: argparse.Namespace) -> int:
    """The ``credential`` command: read the files, check, print the verdict and the checks."""
    lang = choose_lang(getattr(args, "lang", None))
    credential = _read_json(args.credential, "credential", lang)
    documents = _by_id(args.did_document, "did_document", lang)
    lists = _by_id(args.status_list, "status_list", lang)
    now = args.at or format_time(datetime.now(UTC))
    try:
        parse_datetime(now, "--at")
    except ProtocolError as e:
        raise _exit(lang, "eco_protocol.credential.bad_at", error=e) from e
    try:
        verdict = check_credential(credential, documents, lists, now)
        if documents and verdict.issuer not in documents:  # a did:key needs no document
            raise CredentialError.coded("eco_protocol.credential.err.not_pinned",
                                        issuer=verdict.issuer, pinned=", ".join(sorted(documents)))
    except ProtocolError as e:
        meaning, ask = explain(e, lang)
        print(text("eco_protocol.credential.invalid", lang, meaning=meaning, ask=ask),
              file=sys.stderr)
        print(text("eco_protocol.credential.fail", lang, path=args.credential, error=e),
              file=sys.stderr)
        _print_json(args, {"ok": False, "error": str(e)})
        return 1
    export_checks: list[Msg] = []
    if args.certificates is not None and not verdict.revoked:
        found = _against_export(args, verdict, credential, documents, lang)
        if isinstance(found, int):
            _print_json(args, {"ok": False, "kind": verdict.kind, "export": args.certificates})
            return found
        export_checks = found
    print(revoked_line(verdict, lang) if verdict.revoked else valid_line(verdict, lang))
    for line in verdict.checks:
        print(text("eco_protocol.verify.ok", lang, check=localize(line, lang)))
    for check in export_checks:
        print(text("eco_protocol.verify.ok", lang, check=check))
    for line in verdict.summary:
        print(text("eco_protocol.verify.info", lang, line=localize(line, lang)))
    _print_json(args, {"ok": not verdict.revoked, "kind": verdict.kind,
                       "issuer": verdict.issuer, "subject": verdict.subject,
                       "revoked": verdict.revoked, "summary": list(verdict.summary)})
    return 1 if verdict.revoked else 0


def _against_export(args: argparse.Namespace, verdict: CredentialVerdict,
                    credential: Mapping[str, Any], documents: Mapping[str, Mapping[str, Any]],
                    lang: str) -> list[Msg] | int:
    """``--certificates``: check the export offline (:func:`verify_certificate_proofs`, with
    the log key the credential's DID document gives) and compare the credential with it; the
    checks passed, or the exit status after printing why not."""
    if verdict.kind != "certificate bundle":
        raise _exit(lang, "eco_protocol.certificate_credential.not_certificate",
                    path=args.credential, kind=_kind(verdict))
    path = Path(args.certificates)
    bundles_path = path / "bundles.json" if path.is_dir() else path
    bundles = _read_json(str(bundles_path), "certificates", lang)
    proofs = _read_json(str(bundles_path.parent / "proofs.json"), "certificates", lang)
    try:
        vkey = args.log_key.strip() if args.log_key else log_key_of(credential, documents)
        res = verify_certificate_proofs(bundles, proofs, vkey)
    except ProtocolError as e:
        kind = e.kind if isinstance(e, CertificateProblem) else "format"
        print(text("eco_protocol.certificate_credential.export_invalid", lang,
                   meaning=text(f"eco_protocol.certificates.meaning.{kind}", lang)),
              file=sys.stderr)
        print(text("eco_protocol.certificate_credential.fail", lang, error=e), file=sys.stderr)
        return 1
    listed = [b for b in bundles["bundles"] if isinstance(b, Mapping)]
    problems = cross_check(credential["credentialSubject"], verdict.issuer, listed,
                           res.bundles, res.checkpoint.size)
    if problems:
        print(text("eco_protocol.certificate_credential.differs", lang), file=sys.stderr)
        for p in problems:
            print(text("eco_protocol.certificate_credential.fail", lang, error=p),
                  file=sys.stderr)
        return 1
    checks = [msg("eco_protocol.certificate_credential.check.export", bundles=len(res.bundles),
                  size=res.checkpoint.size)]
    mine = credential["credentialSubject"]["checkpoint"].get("size")
    checks.append(msg("eco_protocol.certificate_credential.check.holders")
                  if mine == res.checkpoint.size else
                  msg("eco_protocol.certificate_credential.check.other_checkpoint", mine=mine,
                      theirs=res.checkpoint.size))
    return checks


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
