"""``eco-verify certificates FILE_OR_DIR --log-key VKEY``: a buyer's offline check of exported
granular certificates (issue 19 point 4; docs/certificates.md).

Reads the bundles (``bundles.json``) and the proof document (``proofs.json``, beside them or
``--proofs``), runs :func:`eco_protocol.certificate_proofs.verify_certificate_proofs`, and prints
the verdict first in plain words — VALID with what the certificates are and who holds them, or
INVALID with what the failure means for the buyer and what to ask — then the checks. Exit 0 when
valid, 1 when not. English only for now (the other commands' Japanese catalogue does not cover
it yet).
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

BUNDLES: Final = "bundles.json"
PROOFS: Final = "proofs.json"

MEANING: Final[dict[str, str]] = {
    "checkpoint": "the proof is not signed by the log whose key you pinned (or lacks the witness "
                  "cosignatures you require), so nothing in it can be trusted. Ask the seller "
                  "for an export from that log.",
    "inclusion": "an entry these certificates rest on is not in the log at the checkpoint: the "
                 "readings or claims shown may be made up. Do not count these certificates.",
    "signature": "a record is not signed by the key it must be (a reading by its meter, a claim "
                 "by the log): it may be forged. Do not count these certificates.",
    "double_claim": "the same energy or certificate id is claimed twice in the log: these "
                    "certificates may also have been sold as J-Credits or to someone else. Do "
                    "not count them; ask the seller which claim is void.",
    "energy": "a certificate claims more energy than the readings prove was self-consumed: its "
              "face value is not backed. Do not count it.",
    "bundle": "a certificate says something its claim in the log does not (face value, hour, ids, "
              "readings or device): the file was altered. Ask the seller for the export again.",
    "missing": "a claim the log holds was left out of the proof: the seller may be hiding "
               "another claim on this energy. Do not count these certificates; ask for the "
               "complete export.",
    "holder": "certificates were moved or cancelled without the signed request of the account "
              "holding them: the operator may have moved a buyer's certificates. Whoever the log "
              "names as holder from there on is not proven; do not count them.",
    "format": "the export is incomplete or malformed, so it cannot prove the certificates. Ask "
              "the seller for the export again.",
}


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


def _read_json(path: Path) -> object:
    try:
        return parse_json(path.read_text("utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"eco-verify certificates: cannot read {path}: {e}") from e
    except ProtocolError as e:
        raise CertificateProblem("format", f"{path.name} is not JSON: {e}") from e


def _where(args: argparse.Namespace) -> tuple[Path, Path]:
    p = Path(args.path)
    bundles = p / BUNDLES if p.is_dir() else p
    return bundles, Path(args.proofs) if args.proofs else bundles.parent / PROOFS


def _owner_line(s: BundleStatus) -> str:
    held = "the issuer (not transferred)" if s.holder == ISSUER else s.holder
    line = (f"{s.issuance_id}: {s.face_value_wh} Wh, ids {s.first}..{s.last}, "
            f"{s.device_id}, hour from {s.hour}; held by {held}")
    if s.transfers:
        line += f" (transferred to {' → '.join(s.transfers)})"
    for account, period, n in s.cancelled:
        line += f"; {n} ids cancelled by {account} for consumption {period}"
    return line


def _valid(res: CertificateCheck) -> str:
    homes = len({b.device_id for b in res.bundles})
    cancelled = sum(n for b in res.bundles for _, _, n in b.cancelled)
    hours = sorted(b.hour for b in res.bundles)
    return (f"VALID certificates: {len(res.bundles)} bundles, {res.total_wh} Wh of self-consumed "
            f"solar from {homes} home(s), hours {hours[0]} to {hours[-1]}; proven in the log "
            f"{res.checkpoint.origin} at size {res.checkpoint.size}; no other claim on this "
            f"energy among the {res.claims} claims shown up to there; {cancelled} Wh cancelled "
            "(retired)")


def _checks(res: CertificateCheck) -> list[str]:
    cp = res.checkpoint
    return [f"checkpoint of {cp.origin} at size {cp.size}, signed by the pinned log key; "
            f"witnesses: {', '.join(res.witnesses_signed) or 'none'}",
            f"{res.entries} entries are in the log under the checkpoint (RFC 6962 inclusion "
            "proofs)",
            f"signatures: the log key on enrolments, seals and claims; each meter's key on "
            f"its {res.readings} PV and export readings",
            f"{res.claims} claims replayed in log order: every face value within the "
            "self-consumption its readings prove, no Wh and no certificate id claimed twice, no "
            "sealed (J-Credit) energy issued, issued ids consecutive",
            "each bundle agrees with the issued claim it names (ids, Wh, hour, device, "
            "readings)",
            "transfers and cancellations followed: each move of a buyer's ids carries the "
            "holding account's signed request"]


def run(args: argparse.Namespace) -> int:
    if args.command == REQUEST_COMMAND:
        return run_requests(args)
    bundles_path, proofs_path = _where(args)
    try:
        res = verify_certificate_proofs(_read_json(bundles_path), _read_json(proofs_path),
                                        args.log_key.strip(), list(args.witness),
                                        args.min_witnesses)
    except CertificateProblem as e:
        print(f"INVALID certificates: {MEANING.get(e.kind, MEANING['format'])}")
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    except ProtocolError as e:
        print(f"INVALID certificates: {MEANING['format']}")
        print(f"FAIL {e}", file=sys.stderr)
        return 1
    print(_valid(res))
    for line in _checks(res):
        print(f"ok   {line}")
    for b in res.bundles:
        print(f"     {_owner_line(b)}")
    if args.json:
        print(json.dumps({"ok": True, "bundles": len(res.bundles), "total_wh": res.total_wh,
                          "checkpoint_size": res.checkpoint.size,
                          "holders": {b.issuance_id: b.holder for b in res.bundles}},
                         sort_keys=True, ensure_ascii=False))
    return 0


__all__ = ["register", "run"]
