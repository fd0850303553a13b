"""``eco-aggregator`` commands on devices and households: ``enrol``, ``rekey``, ``revoke``,
``release``, ``forget``. Each parses its flags and calls the one action in
:mod:`aggregator.operator` (the web UI calls the same ones)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from eco_protocol.canonical import parse_json
from eco_protocol.did import did_key
from eco_protocol.encoding import JST, b64decode, format_time, parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.messages import msg
from eco_protocol.messages_rules import jst
from eco_protocol.methodology import terms_problem_codes

from .. import operator
from ..config import Config, load_config
from ..equipment_claims import equipment_arg
from ..errors import Rejected
from ..ledger import Ledger
from ..registry import methodology_terms, parse_meter
from ..store import open_store
from .common import DEVICE_HELP, device_arg, now_text, open_ledger, print_json

T = TypeVar("T")


def _terms_from_flags(args: argparse.Namespace) -> dict[str, Any]:
    """The enrolment attributes the methodology needs, kept in the record's ``fit`` object
    (the web UI's enrolment form builds it with the same function)."""
    return methodology_terms(installed=args.installed, fit_status=args.fit_status,
                             fit_until=args.fit_until, battery=args.battery,
                             zero_export=args.zero_export, ev_wh_per_km=args.ev_wh_per_km,
                             ev_petrol_km_per_l=args.ev_petrol_km_per_l)


def enrolled_at_from_flag(text: str | None, now: datetime | None = None) -> str:
    """``--enrolled-at``: the participation date the operator declares, as the enrolment's
    ``enrolled_at``. ``YYYY-MM-DD`` is that day's JST midnight; ``YYYY-MM-DDTHH:MM:SSZ`` an
    instant. Never in the future: a reading is creditable only from this instant on, and a
    future date would be a promise, not a fact. Without the flag: now."""
    now = (now or datetime.now(UTC)).replace(microsecond=0)
    if text is None:
        return format_time(now)
    t = text.strip()
    try:
        if len(t) == 10:
            day = date.fromisoformat(t)
            if day.isoformat() != t:
                raise ValueError("not spelled YYYY-MM-DD")
            at = datetime.combine(day, datetime.min.time(), JST)
        else:
            at = parse_time(t, "--enrolled-at")
    except (ValueError, InvalidInput) as e:
        raise Rejected(msg("aggregator.enrol.enrolled_at_format", text=repr(text),
                           error=str(e))) from e
    if at > now:
        raise Rejected(msg("aggregator.enrol.enrolled_at_future", text=repr(text), at=jst(at),
                           now=jst(now)))
    return format_time(at)


def _public_key(text: str) -> bytes:
    try:
        return b64decode(text, "--public-key")
    except InvalidInput as e:
        raise Rejected(msg("aggregator.enrol.public_key", error=e)) from e


def cmd_enrol(args: argparse.Namespace) -> int:
    enrolled_at = enrolled_at_from_flag(args.enrolled_at)
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    public = _public_key(args.public_key)
    try:
        fit = parse_json(args.fit) if args.fit else {}
    except InvalidInput as e:
        raise Rejected(msg("aggregator.enrol.fit_json", error=e)) from e
    if not isinstance(fit, dict):
        raise Rejected(msg("aggregator.enrol.fit_object"))
    fit = {**fit, **_terms_from_flags(args)}
    meters = [parse_meter(m) for m in args.meter]
    equipment = [equipment_arg(e) for e in args.equipment]
    problems = terms_problem_codes([m.quantity for m in meters], fit)
    if problems:
        raise Rejected(msg("aggregator.enrol.terms", problems=[
            msg(f"eco_protocol.terms.{code}") for code in problems]))
    done = operator.enrol(cfg, ledger, operator.Actor.cli(), public_key=public,
                          reference=args.household, programme=args.programme, meters=meters,
                          fit=fit, enrolled_at=enrolled_at, contact=args.contact,
                          equipment=equipment)
    print_json({"device_id": done.device_id, "did": did_key(public),
                "household": done.household, "index": done.index,
                "enrolled_at": done.enrolled_at, **done.login})
    return 0


def _device_decision(args: argparse.Namespace,
                     act: Callable[[Config, Ledger, operator.Actor, str, str, str], T]) -> T:
    """An operator's decision on one device (revoke, release): DEVICE_ID, --reason, now."""
    cfg = load_config(args.config)
    return act(cfg, open_ledger(cfg), operator.Actor.cli(), args.device_id, args.reason,
               now_text())


def cmd_revoke(args: argparse.Namespace) -> int:
    done = _device_decision(args, operator.revoke)
    print_json({"device_id": done.device_id, "index": done.index, **done.login})
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    done = _device_decision(args, operator.release)
    print_json({"device_id": done.device_id, "household": done.household, "index": done.index})
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    public = _public_key(args.public_key)
    done = operator.rekey(cfg, ledger, operator.Actor.cli(), args.device_id, public, now_text())
    print_json({"replaced": done.replaced, "device_id": done.device_id,
                "household": done.household, "old_login": done.old_login, **done.login})
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    open_store(cfg).close()  # moves references an older version kept in the ledger store
    done = operator.forget(cfg, operator.Actor.cli(), args.household)
    print_json({"household": done.household, "personal_data": "erased",
                "note": "the pseudonym, its readings and its points stay in the log"})
    return 0


def _add_enrol(sub: Any) -> None:
    s = sub.add_parser("enrol", help="enrol a device (appends eco.enrol/v1)")
    s.add_argument("--public-key", required=True, help="device public key, base64 of 32 bytes")
    s.add_argument("--household", required=True,
                   help="household reference (kept off the ledger; only its pseudonym is logged)")
    s.add_argument("--contact", default=None,
                   help="phone or e-mail of the household (kept with the reference, off the "
                        "ledger; erased by 'forget')")
    s.add_argument("--programme", required=True)
    s.add_argument("--meter", action="append", required=True,
                   help="id:quantity:protocol:rated_w (repeatable)")
    s.add_argument("--fit", default=None, help="FIT exclusion terms as a JSON object")
    s.add_argument("--installed", help="PV installation date, YYYY-MM-DD")
    s.add_argument("--fit-status", choices=["none", "fit", "post_fit"])
    s.add_argument("--fit-until", help="end of the FIT contract, YYYY-MM-DD")
    s.add_argument("--battery", action=argparse.BooleanOptionalAction, default=None,
                   help="a home battery is installed (flagged in reports)")
    s.add_argument("--zero-export", action="store_true",
                   help="the PV system cannot export (so all generation is self-consumed)")
    s.add_argument("--ev-wh-per-km", type=int, help="the EV's consumption, Wh/km")
    s.add_argument("--ev-petrol-km-per-l", type=float,
                   help="fuel economy of the equivalent petrol car, km/L")
    s.add_argument("--enrolled-at", metavar="DATE",
                   help="the participation date you declare, signed into the enrolment as "
                        "enrolled_at: a JST day YYYY-MM-DD (its midnight) or a UTC instant "
                        "YYYY-MM-DDTHH:MM:SSZ; today or earlier, never in the future (default: "
                        "now). Readings starting before it are logged but never credit "
                        "(before_joining), and PV installed more than the programme's "
                        "max_equipment_age_years before it is excluded")
    s.add_argument("--equipment", action="append", default=[], metavar="KIND=IDENTITY",
                   help="the equipment's identity, for its claim token (repeatable): "
                        "inverter=MANUFACTURER:SERIAL, supply-point=22 DIGITS, "
                        "ev-charger=MANUFACTURER:SERIAL, vin=VIN; refused when it is enrolled "
                        "and not revoked in this town or another member's (docs/consortium.md)")
    s.set_defaults(func=cmd_enrol)


def add_commands(sub: Any) -> None:
    _add_enrol(sub)
    s = sub.add_parser("rekey", help="replace a device's key: revoke the old id, enrol the new "
                       "one for the same household and meters (linked both ways)")
    s.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    s.add_argument("--public-key", required=True, help="the new key, base64 of 32 bytes")
    s.set_defaults(func=cmd_rekey)
    s = sub.add_parser("revoke", help="revoke a device (appends eco.revoke/v1)")
    s.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    s.add_argument("--reason", required=True)
    s.set_defaults(func=cmd_revoke)
    s = sub.add_parser("release", help="let a quarantined (forked) device credit again "
                       "(appends eco.release/v1); revoke or rekey it instead if the box was "
                       "cloned or its key leaked")
    s.add_argument("device_id", type=device_arg, help=DEVICE_HELP)
    s.add_argument("--reason", required=True, help="what you checked (kept in the log: no "
                   "personal names)")
    s.set_defaults(func=cmd_release)
    s = sub.add_parser("forget", help="erase a household's personal data (the right to be "
                       "forgotten); its pseudonym and readings stay in the log")
    s.add_argument("household", help="household reference as enrolled, or its pseudonym hh-…")
    s.set_defaults(func=cmd_forget)
