"""``eco-verify``: the buyer's and verification body's offline checker.

Installable with the protocol package alone. ``eco-verify evidence DIR --log-key VKEY`` checks an
evidence directory (docs/protocol.md §5): checkpoint signatures under the pinned log key (and
witnesses), the RFC 6962 root recomputed from ``entries.jsonl``, and every entry replayed. The log
key must come from the buyer, not from the directory under test: ``log.vkey`` in the directory is
only compared with it.

``eco-verify report`` prints the buyer's verdict first (VALID with the figures, or INVALID with
what it means and what to ask the seller), built by :mod:`eco_protocol.verdict` from the
verifier's result or error; this module only reads files and prints.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from .canonical import parse_json
from .errors import ProtocolError
from .evidence import verify_evidence
from .messages import (
    LANGS,
    Msg,
    add_lang_option,
    choose_lang,
    localize,
    msg,
    render,
    text,
)
from .messages_rules import quantity_name, rule_counts
from .os_messages import os_reason
from .results import TABLES
from .verdict import (
    failure,
    invalid_verdict,
    valid_verdict,
    witness_key_instead_of_log_key,
)
from .verify_basket_cli import register as register_basket
from .verify_basket_cli import run as run_basket
from .verify_certificates_cli import register as register_certificates
from .verify_certificates_cli import run as run_certificates
from .verify_credential_cli import register as register_credential
from .verify_credential_cli import run as run_credential
from .verify_matching_cli import register as register_matching
from .verify_matching_cli import run as run_matching
from .witness_policy import check_policy

_RUN: dict[str, str] = {"lang": "en"}  # this run's language, for the file readers: main sets it


def _unreadable(path: Path, e: Exception) -> SystemExit:
    """Exit with the one line saying which file could not be read and why."""
    return SystemExit(text("eco_protocol.verify.cannot_read", _RUN["lang"], path=path,
                           reason=os_reason(e)))


def _ok(lang: str, code: str, /, **params: object) -> None:
    print(text("eco_protocol.verify.ok", lang, check=Msg(code, params)))


def _info(lang: str, line: Msg) -> None:
    print(text("eco_protocol.verify.info", lang, line=line))


def _read_text(path: Path) -> str:
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _unreadable(path, e) from e


def _lines(path: Path) -> Iterator[str]:
    try:
        with path.open("r", encoding="utf-8") as f:
            for line in f:
                yield line.rstrip("\n")
    except (OSError, UnicodeDecodeError) as e:
        raise _unreadable(path, e) from e


def _evidence(args: argparse.Namespace) -> int:
    d = Path(args.dir)
    log_vkey = args.log_key.strip()
    lang = args.lang
    swapped = witness_key_instead_of_log_key(log_vkey, lang)
    if swapped is not None:
        return _fail(swapped, msg("eco_protocol.verify.fail_swapped_key"), lang)
    dir_vkey = (d / "log.vkey")
    # log.vkeys: every key the log has had, oldest first (only once it changed its key); the
    # replay must confirm it from the log's own eco.logkey/v1 entries
    history_file = d / "log.vkeys"
    history = ([v.strip() for v in _read_text(history_file).splitlines() if v.strip()]
               if history_file.exists() else [])
    current = history[-1] if history else log_vkey
    if dir_vkey.exists() and _read_text(dir_vkey).strip() != current:
        return _fail_evidence(msg("eco_protocol.verify.fail_vkey_history" if history
                                  else "eco_protocol.verify.fail_vkey_pinned", path=dir_vkey),
                              lang)
    if args.consortium:  # the consortium's witness policy (docs/consortium.md)
        try:
            quorum = check_policy(_read_text(Path(args.consortium)), args.consortium,
                                  _read_text(d / "checkpoint"))
        except ProtocolError as e:
            print(text("eco_protocol.policy.fail", lang, error=e), file=sys.stderr)
            return 1
        print(text("eco_protocol.verify.ok", lang, check=localize(quorum.describe(), lang)))
    witnesses = list(args.witness)
    wfile = d / "witnesses.vkeys"
    if args.witnesses_from_dir and wfile.exists():
        witnesses += [w for w in _read_text(wfile).splitlines() if w.strip()]
    started = time.monotonic()
    try:
        summary = verify_evidence(_read_text(d / "checkpoint"), log_vkey, witnesses,
                                  _lines(d / "entries.jsonl"), args.min_witnesses,
                                  log_history=history)
    except ProtocolError as e:
        return _fail_evidence(render(e, lang), lang)
    took = time.monotonic() - started
    cp = summary.checkpoint
    readings = summary.counts.get("eco.reading/v1", 0)
    excluded = summary.excluded
    if lang != "en":  # the English output starts with the checks, as it always did
        print(text("eco_protocol.verify.evidence_valid", lang, entries=summary.entries,
                   readings=readings, devices=summary.devices, origin=cp.origin))
    _ok(lang, "eco_protocol.verify.ev_checkpoint", origin=cp.origin, size=cp.size,
        witnesses=", ".join(summary.witnesses_signed) or msg("eco_protocol.verify.none"))
    _ok(lang, "eco_protocol.verify.ev_root", entries=summary.entries)
    if len(summary.log_keys.keys) > 1:
        _ok(lang, "eco_protocol.verify.ev_key_changes", n=len(summary.log_keys.keys) - 1)
    _ok(lang, "eco_protocol.verify.ev_enrolments", n=summary.counts.get("eco.enrol/v1", 0))
    _ok(lang, "eco_protocol.verify.ev_readings", n=readings, devices=summary.devices)
    creditable = readings - sum(excluded.values())
    _info(lang, msg("eco_protocol.verify.ev_creditable_excl", n=creditable,
                    excluded=rule_counts(excluded)) if excluded
          else msg("eco_protocol.verify.ev_creditable", n=creditable))
    for quantity, wh in sorted(summary.energy_wh.items()):
        _info(lang, msg("eco_protocol.verify.ev_energy", quantity=quantity_name(quantity),
                        kwh=f"{wh / 1000:.3f}"))
    _info(lang, msg("eco_protocol.verify.ev_rate",
                    rate=f"{summary.entries / took if took > 0 else 0:.0f}"))
    if args.json:
        print(json.dumps({"ok": True, "size": cp.size, "entries": summary.entries,
                          "readings": readings, "devices": summary.devices,
                          "energy_wh": summary.energy_wh, "counts": summary.counts,
                          "not_creditable": excluded,
                          "witnesses": list(summary.witnesses_signed)}, sort_keys=True))
    return 0


def _fail(verdict: str, detail: str | Msg, lang: str = "en") -> int:
    """A failed check: the buyer's verdict first, then the verifier's exact finding."""
    print(verdict, file=sys.stderr)
    print(text("eco_protocol.verify.fail", lang, detail=detail), file=sys.stderr)
    return 1


def _fail_evidence(detail: str | Msg, lang: str) -> int:
    """A failed evidence check: ``FAIL <finding>`` as it always was in English; in another
    language the buyer's verdict in it first."""
    if lang != "en":
        print(text("eco_protocol.verify.evidence_invalid", lang), file=sys.stderr)
    print(text("eco_protocol.verify.fail", lang, detail=detail), file=sys.stderr)
    return 1


def _report(args: argparse.Namespace) -> int:
    from .report import verify_report

    path = Path(args.report)
    log_vkey = args.log_key.strip()
    lang = args.lang
    swapped = witness_key_instead_of_log_key(log_vkey, lang)
    if swapped is not None:
        return _fail(swapped, msg("eco_protocol.verify.fail_swapped_key"), lang)
    try:
        report = parse_json(_read_text(path))
    except ProtocolError as e:
        return _fail(failure("not_a_report").text(lang), f"{path}: {render(e, lang)}", lang)
    policy_checks = []
    if args.consortium:  # the consortium's witness policy (docs/consortium.md)
        try:
            quorum = check_policy(_read_text(Path(args.consortium)), args.consortium,
                                  report.get("checkpoint") if isinstance(report, dict) else None)
        except ProtocolError as e:
            return _fail(invalid_verdict(e, lang), msg("eco_protocol.policy.detail", error=e),
                         lang)
        policy_checks.append(text("eco_protocol.verify.ok", lang,
                                  check=localize(quorum.describe(), lang)))
    witnesses = list(args.witness)
    evidence = None
    if args.evidence:
        d = Path(args.evidence)
        evidence = (_read_text(d / "checkpoint"), _lines(d / "entries.jsonl"))
    try:
        res = verify_report(report, log_vkey, witnesses, args.min_witnesses, evidence)
    except ProtocolError as e:
        return _fail(invalid_verdict(e, lang), render(e, lang), lang)
    checks = [*policy_checks, *(text("eco_protocol.verify.ok", lang, check=localize(line, lang))
                                for line in res.checks)]
    # the CSV tables beside the report are pure functions of it: regenerate and compare
    for name, table in TABLES.items():
        beside = path.parent / name
        if beside.exists():
            if _read_text(beside) != table(report):
                return _fail(failure("table").text(lang),
                             msg("eco_protocol.verify.table_differs", path=beside,
                                 report=path.name), lang)
            checks.append(text("eco_protocol.verify.ok", lang,
                               check=msg("eco_protocol.verify.table_ok", name=name)))
    verdict = valid_verdict(report, res.households, res.witnesses_signed, res.demonstration,
                            lang)
    print(verdict)
    for line in checks:
        print(line)
    _info(lang, msg("eco_protocol.verify.batch", batch=report["batch_id"],
                    tonnes=f"{res.reduction_g / 1e6:.6f}", households=res.households,
                    credits=res.credits_t))
    if res.excluded:
        _info(lang, msg("eco_protocol.verify.not_creditable", excluded=rule_counts(res.excluded)))
    if res.demonstration:
        _info(lang, msg("eco_protocol.verify.demonstration"))
    if args.json:
        print(json.dumps({"ok": True, "batch_id": report["batch_id"],
                          "credits_t": res.credits_t, "reduction_g": res.reduction_g,
                          "households": res.households, "sample": res.sample,
                          "evidence_readings": res.evidence_readings,
                          "not_creditable": res.excluded,
                          "demonstration": res.demonstration, "verdict": verdict},
                         sort_keys=True))
    return 0


_LANG_HELP = ("language of the output: ja or en (default: $ECO_LANG, else the locale's "
              "LC_ALL/LC_MESSAGES/LANG, else en)")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="eco-verify", description=__doc__.split("\n\n")[0])
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] not in ("evidence", "report", "-h", "--help") and \
            argv[0].endswith(".json"):
        argv.insert(0, "report")  # `eco-verify report.json --log-key ...`
    sub = parser.add_subparsers(dest="command", required=True)
    rp = sub.add_parser("report", help="verify a batch report offline (docs/protocol.md §5)")
    rp.add_argument("report")
    rp.add_argument("--log-key", required=True, help="the log's verifier key, pinned by you")
    rp.add_argument("--witness", action="append", default=[], help="a witness verifier key")
    rp.add_argument("--min-witnesses", type=int, default=0)
    rp.add_argument("--consortium", metavar="FILE", help="consortium.toml: the checkpoint must "
                    "be cosigned by the quorum of the witnesses it names for the log")
    rp.add_argument("--evidence", help="evidence directory: re-verify every reading")
    rp.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    rp.add_argument("--lang", choices=LANGS, default=None, help=_LANG_HELP)
    ev = sub.add_parser("evidence", help="verify an evidence directory offline")
    ev.add_argument("dir")
    ev.add_argument("--log-key", required=True, help="the log's verifier key, pinned by you")
    ev.add_argument("--witness", action="append", default=[], help="a witness verifier key")
    ev.add_argument("--witnesses-from-dir", action="store_true",
                    help="also accept the witness keys listed in DIR/witnesses.vkeys")
    ev.add_argument("--min-witnesses", type=int, default=0)
    ev.add_argument("--consortium", metavar="FILE", help="consortium.toml: the checkpoint must "
                    "be cosigned by the quorum of the witnesses it names for the log")
    ev.add_argument("--json", action="store_true", help="print a JSON summary line at the end")
    ev.add_argument("--lang", choices=LANGS, default=None, help=_LANG_HELP)
    register_credential(sub)  # eco-verify credential FILE (verify_credential_cli)
    register_basket(sub)  # eco-verify basket REPORT… --consortium FILE (verify_basket_cli)
    register_certificates(sub)  # certificates DIR, certificate-request (verify_certificates_cli)
    register_matching(sub)  # matching DIR --consumption CSV (verify_matching_cli)
    add_lang_option(parser)  # --lang on the commands registered above that lack it
    args = parser.parse_args(argv)
    args.lang = _RUN["lang"] = choose_lang(getattr(args, "lang", None))
    if args.command == "evidence":
        return _evidence(args)
    if args.command == "report":
        return _report(args)
    if args.command == "credential":
        return run_credential(args)
    if args.command == "basket":
        return run_basket(args)
    if args.command in ("certificates", "certificate-request"):
        return run_certificates(args)
    if args.command == "matching":
        return run_matching(args)
    parser.error(f"unknown command {args.command}")
    return 2


if __name__ == "__main__":
    sys.exit(main())
