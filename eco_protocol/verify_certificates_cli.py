"""``eco-verify certificates FILE_OR_DIR --log-key VKEY``: a buyer's offline check of exported
granular certificates (issue 19 point 4; docs/certificates.md).

Reads the bundles (``bundles.json``) and the proof document (``proofs.json``, beside them or
``--proofs``), runs :func:`eco_protocol.certificate_proofs.verify_certificate_proofs`, and prints
the verdict first in plain words — VALID with what the certificates are and who holds them, or
INVALID with what the failure means for the buyer and what to ask — then the checks. Exit 0 when
valid, 1 when not. In Japanese or English (``--lang``, ``ECO_LANG``, the locale; the texts are in
:mod:`eco_protocol.messages_catalog_verify`), and so is the checker's finding after ``FAIL``
(:mod:`eco_protocol.messages_catalog_findings`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, Final

from .account_cli import COMMAND as REQUEST_COMMAND
from .account_cli import register as register_requests
from .account_cli import run as run_requests
from .accounts import ISSUER
from .canonical import parse_json
from .certificate_proofs import (
    BundleStatus,
    CertificateCheck,
    CertificateProblem,
    verify_certificate_proofs,
)
from .errors import ProtocolError
from .messages import DEFAULT_LANG, Msg, add_lang_option, choose_lang, msg, text
from .os_messages import read_text_or_exit

BUNDLES: Final = "bundles.json"
PROOFS: Final = "proofs.json"

# the kinds of failure a buyer is told the meaning of (eco_protocol.certificates.meaning.<kind>)
MEANINGS: Final = frozenset({"checkpoint", "inclusion", "signature", "double_claim", "energy",
                             "bundle", "missing", "holder", "format"})


def meaning(kind: str, lang: str = DEFAULT_LANG) -> str:
    """What a failure of ``kind`` means for the buyer, and what to do, in ``lang``."""
    return text(f"eco_protocol.certificates.meaning.{kind if kind in MEANINGS else 'format'}",
                lang)


def register(sub: Any) -> None:
    """Add ``certificates`` (and the buyer's ``certificate-request``, :mod:`account_cli`) to
    eco-verify's subcommands; both run through :func:`run`."""
    register_requests(sub)
    p = sub.add_parser("certificates", help="verify exported granular certificates offline: "
                       "readings in the log, face value within proven self-consumption, no "
                       "other claim on the energy, transfers and cancellation")
    p.add_argument("path", metavar="FILE_OR_DIR",
                   help=f"an export directory ({BUNDLES} and {PROOFS}) or a bundles file")
    p.add_argument("--proofs", default=None, metavar="FILE",
                   help=f"the proof document (default: {PROOFS} beside the bundles)")
    p.add_argument("--log-key", required=True, help="the log's verifier key, pinned by you")
    p.add_argument("--witness", action="append", default=[], help="a witness verifier key")
    p.add_argument("--min-witnesses", type=int, default=0)
    p.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    add_lang_option(p)


def _read_json(path: Path, lang: str) -> object:
    data = read_text_or_exit(path, lang, "eco_protocol.certificates.cannot_read")
    try:
        return parse_json(data)
    except ProtocolError as e:
        raise CertificateProblem("format", msg("eco_protocol.finding.cert.not_json",
                                               file=path.name, error=e)) from e


def _where(args: argparse.Namespace) -> tuple[Path, Path]:
    p = Path(args.path)
    bundles = p / BUNDLES if p.is_dir() else p
    return bundles, Path(args.proofs) if args.proofs else bundles.parent / PROOFS


def checked_export(args: argparse.Namespace, lang: str,
                   refusal: str) -> CertificateCheck | None:
    """The offline check of an export (``args``: ``path``, ``proofs``, ``log_key``,
    ``witness``, ``min_witnesses``); None after printing ``refusal`` (a catalog code taking
    ``{meaning}``) and the finding. ``eco-verify certificates`` and
    ``eco-verify matching`` (which counts only what this accepts) share it."""
    bundles_path, proofs_path = _where(args)
    try:
        proofs = _read_json(proofs_path, lang)
        res = verify_certificate_proofs(_read_json(bundles_path, lang), proofs,
                                        args.log_key.strip(), list(args.witness),
                                        args.min_witnesses)
    except ProtocolError as e:
        kind = e.kind if isinstance(e, CertificateProblem) else "format"
        print(text(refusal, lang, meaning=meaning(kind, lang)))
        print(text("eco_protocol.certificates.fail", lang, error=e), file=sys.stderr)
        return None
    return res


def _owner_line(s: BundleStatus, lang: str = DEFAULT_LANG) -> str:
    held: Msg | str = msg("eco_protocol.certificates.issuer") if s.holder == ISSUER \
        else s.holder
    moves: list[Msg] = []
    if s.transfers:
        moves.append(msg("eco_protocol.certificates.transferred", chain=" → ".join(s.transfers)))
    moves += [msg("eco_protocol.certificates.cancelled", n=n, account=account, period=period)
              for account, period, n in s.cancelled]
    return text("eco_protocol.certificates.owner", lang, issuance=s.issuance_id,
                wh=s.face_value_wh, first=s.first, last=s.last, device=s.device_id,
                hour=s.hour, held=held, moves="".join(m.text(lang) for m in moves))


def _valid(res: CertificateCheck, lang: str = DEFAULT_LANG) -> str:
    hours = sorted(b.hour for b in res.bundles)
    return text("eco_protocol.certificates.valid", lang, bundles=len(res.bundles),
                wh=res.total_wh, homes=len({b.device_id for b in res.bundles}),
                first=hours[0], last=hours[-1], origin=res.checkpoint.origin,
                size=res.checkpoint.size, claims=res.claims,
                cancelled=sum(n for b in res.bundles for _, _, n in b.cancelled))


def _checks(res: CertificateCheck) -> list[Msg]:
    cp = res.checkpoint
    return [msg("eco_protocol.certificates.check.checkpoint", origin=cp.origin, size=cp.size,
                witnesses=res.witnesses_signed or msg("eco_protocol.verify.none")),
            msg("eco_protocol.certificates.check.inclusion", n=res.entries),
            msg("eco_protocol.certificates.check.signatures", readings=res.readings),
            msg("eco_protocol.certificates.check.claims", n=res.claims),
            msg("eco_protocol.certificates.check.bundles"),
            msg("eco_protocol.certificates.check.moves")]


def run(args: argparse.Namespace) -> int:
    if args.command == REQUEST_COMMAND:
        return run_requests(args)
    lang = choose_lang(getattr(args, "lang", None))
    res = checked_export(args, lang, "eco_protocol.certificates.invalid")
    if res is None:
        return 1
    print(_valid(res, lang))
    for line in _checks(res):
        print(text("eco_protocol.verify.ok", lang, check=line))
    # what the proof alone cannot show (docs/certificates.md): said before the holders it limits
    print(text("eco_protocol.verify.info", lang,
               line=text("eco_protocol.certificates.as_of", lang, n=res.entries,
                         size=res.checkpoint.size)))
    for b in res.bundles:
        print(text("eco_protocol.verify.info", lang, line=_owner_line(b, lang)))
    if args.json:
        print(json.dumps({"ok": True, "bundles": len(res.bundles), "total_wh": res.total_wh,
                          "checkpoint_size": res.checkpoint.size,
                          "holders": {b.issuance_id: b.holder for b in res.bundles},
                          # holders as of the entries shown: a move left out is not seen
                          "holders_as_of_entries": res.entries},
                         sort_keys=True, ensure_ascii=False))
    return 0


__all__ = ["register", "run"]
