"""``eco-aggregator`` commands for people: the web UI, its accounts, household login codes, the
printable report.

* ``ui --listen HOST:PORT`` — the operator web UI alone (``serve --ui HOST:PORT`` runs it beside
  the ingest worker);
* ``ui-user add NAME [--role operator|shop]`` (password from the prompt, or the first line of
  stdin when it is not a terminal), ``ui-user list``, ``ui-user remove NAME``,
  ``ui-user locks``, ``ui-user unlock NAME [--address]`` (the login throttle's lock-outs);
* ``resident-code HOUSEHOLD`` — a new login code for a household (reference or pseudonym);
* ``report render REPORT.json --out DIR`` — report.html and, through headless Chromium,
  report.pdf.

:func:`add_commands` hooks them into the parser built by :mod:`aggregator.cli`; ``serve`` takes
the web UI's options from :func:`add_ui_options`.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from eco_protocol.messages import msg

from .. import operator
from ..config import Config, load_config
from ..errors import ConfigError, Rejected
from ..http_api import parse_listen
from ..store import open_store
from .common import print_json, serve_until_signal

if TYPE_CHECKING:
    from ..webui.server import UiServer


def _listen(text: str, what: str) -> tuple[str, int]:
    """:func:`~aggregator.http_api.parse_listen`, with the web UI's flag and example in its
    message (and, as a bad flag, a configuration error)."""
    try:
        return parse_listen(text)
    except Rejected:
        raise ConfigError(msg("aggregator.ui.listen", what=what, text=repr(text))) from None


def start_ui(cfg: Config, listen: str | None, programme_file: str | None = None,
             offline_after_minutes: float = 120.0, secure_cookies: bool = False,
             what: str = "--ui", trusted_proxies: tuple[str, ...] = (),
             online_clock: str = "wall", device_broker: str | None = None) -> UiServer | None:
    """Start the web UI in a thread if ``listen`` was given (``serve --ui``, ``ui``)."""
    if listen is None:
        return None
    from ..webui.app import UiConfig
    from ..webui.server import UiServer
    from ..webui.views import OnlineClock

    host, port = _listen(listen, what)
    ui = UiConfig(cfg, Path(programme_file) if programme_file else None,
                  timedelta(minutes=offline_after_minutes), secure_cookies,
                  trusted_proxies=trusted_proxies, online_clock=OnlineClock(online_clock),
                  device_broker=device_broker)
    return UiServer(ui, host, port).start()


def add_ui_options(p: argparse.ArgumentParser, ui_flag: bool) -> None:
    """The web UI's options, for ``ui`` and (``ui_flag``: with ``--ui HOST:PORT``) ``serve``."""
    if ui_flag:
        p.add_argument("--ui", default=None, metavar="HOST:PORT",
                       help="also serve the operator web UI, e.g. 127.0.0.1:8081")
    p.add_argument("--programme-file", default=None,
                   help="programme TOML for the web UI (default <state_dir>/programme.toml)")
    p.add_argument("--offline-after-minutes", type=float, default=120.0,
                   help="the web UI shows a device offline when its last reading ended longer "
                        "ago than this (default 120)")
    p.add_argument("--online-clock", choices=("wall", "data"), default="wall",
                   help="judge devices online against the wall clock (default) or, for the "
                        "demo and replays of simulated time, the newest reading in the log")
    p.add_argument("--device-broker", default=None, metavar="URL",
                   help="the broker URL devices connect to, printed on the enrolment page "
                        "(default: the devices' listener, mqtts://<[mqtt] broker host>:8883 "
                        "with device_prefix set, else [mqtt] broker)")
    p.add_argument("--secure-cookies", action="store_true",
                   help="mark session cookies Secure (when a reverse proxy serves HTTPS)")
    p.add_argument("--trusted-proxy", action="append", default=[], metavar="ADDRESS",
                   help="a reverse proxy in front of the UI: from this address only, the "
                        "client's own address is read from X-Forwarded-For (repeatable; for "
                        "login throttling and the audit log)")


def cmd_ui(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    server = start_ui(cfg, args.listen, args.programme_file, args.offline_after_minutes,
                      args.secure_cookies, "--listen", tuple(args.trusted_proxy),
                      args.online_clock, args.device_broker)
    assert server is not None
    serve_until_signal(server)
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise Rejected(msg("aggregator.ui.passwords_differ"))
        return first
    line = sys.stdin.readline()
    return line[:-1] if line.endswith("\n") else line


def cmd_ui_user(args: argparse.Namespace) -> int:
    from ..webui.auth import Role, UserStore, ui_dir

    cfg = load_config(args.config)
    users = UserStore(ui_dir(cfg.state_dir) / "users.json")
    if args.ui_user_cmd == "add":
        user = operator.set_ui_account(cfg, operator.Actor.cli(), users, args.name,
                                       _read_password(), Role(args.role))
        print_json({"user": user.name, "role": user.role.value, "file": str(users.path)})
    elif args.ui_user_cmd in ("locks", "unlock"):
        return _ui_locks(cfg, args)
    elif args.ui_user_cmd == "remove":
        operator.remove_ui_account(cfg, operator.Actor.cli(), users, args.name)
        print_json({"removed": args.name})
    else:
        print_json({"users": [{"user": u.name, "role": u.role.value}
                          for u in sorted(users.users().values(), key=lambda u: u.name)]})
    return 0


def _ui_locks(cfg: Config, args: argparse.Namespace) -> int:
    """The login throttle's lock-outs, shared with every running UI through its file."""
    import time

    from ..webui.auth import ui_dir
    from ..webui.throttle import THROTTLE_FILE, LoginThrottle

    throttle = LoginThrottle(path=ui_dir(cfg.state_dir) / THROTTLE_FILE)
    if args.ui_user_cmd == "locks":
        print_json({"locks": [{"kind": lk.kind, "name": lk.name, "failures": lk.failures,
                           "wait_s": round(lk.wait_s)} for lk in throttle.locks(time.time())]})
        return 0
    kind = "address" if args.address else "account"
    operator.lift_lockout(cfg, operator.Actor.cli(), throttle, kind, args.name)
    print_json({"lifted": args.name, "kind": kind})
    return 0


def enrolled_households(cfg: Config) -> set[str]:
    store = open_store(cfg)
    try:
        return {h for row in store.devices() if (h := operator.household_in(row)) is not None}
    finally:
        store.close()


def cmd_resident_code(args: argparse.Namespace) -> int:
    from ..webui.auth import ResidentCodes, ui_dir

    cfg = load_config(args.config)
    household = operator.resolve_household(cfg, args.household)
    if household not in enrolled_households(cfg):
        raise Rejected(msg("aggregator.ui.no_device", reference=repr(args.household),
                           household=household))
    code = operator.issue_resident_code(
        cfg, operator.Actor.cli(), ResidentCodes(ui_dir(cfg.state_dir) / "residents.json"),
        household)
    print_json({"household": household, "code": code,
            "note": "give the code to the household; only its hash is kept, and a new code "
                    "replaces this one"})
    return 0


def cmd_report_render(args: argparse.Namespace) -> int:
    from ..webui.report import render_report_files

    files = render_report_files(Path(args.report), Path(args.out), args.lang, not args.no_pdf)
    print_json(files)
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("ui", help="serve the operator web UI (no ingest)")
    p.add_argument("--listen", required=True, metavar="HOST:PORT",
                   help="e.g. 127.0.0.1:8081 (port 0: any free port; printed as JSON)")
    add_ui_options(p, ui_flag=False)
    p.set_defaults(func=cmd_ui)

    p = sub.add_parser("ui-user", help="web UI accounts (operators and shops)")
    usub = p.add_subparsers(dest="ui_user_cmd", required=True)
    a = usub.add_parser("add", help="create an account or set its password (from the prompt, "
                                    "or the first line of stdin)")
    a.add_argument("name")
    a.add_argument("--role", choices=["operator", "shop"], default="operator")
    a.set_defaults(func=cmd_ui_user)
    a = usub.add_parser("remove", help="delete an account (its sessions end)")
    a.add_argument("name")
    a.set_defaults(func=cmd_ui_user)
    a = usub.add_parser("list", help="list accounts")
    a.set_defaults(func=cmd_ui_user)
    a = usub.add_parser("locks", help="accounts and client addresses the login throttle makes "
                                      "wait now")
    a.set_defaults(func=cmd_ui_user)
    a = usub.add_parser("unlock", help="lift an account's login lock-out (recorded in the "
                                       "operator audit trail)")
    a.add_argument("name", help="the account (or, with --address, the client address)")
    a.add_argument("--address", action="store_true", help="NAME is a client address")
    a.set_defaults(func=cmd_ui_user)

    p = sub.add_parser("resident-code",
                       help="issue a household's web login code (replaces the previous one)")
    p.add_argument("household", help="household reference as enrolled, or its pseudonym hh-…")
    p.set_defaults(func=cmd_resident_code)

    p = sub.add_parser("report", help="render a batch report for people")
    rsub = p.add_subparsers(dest="report_cmd", required=True)
    r = rsub.add_parser("render", help="report.html and report.pdf (headless Chromium)")
    r.add_argument("report", help="report.json from 'batch report'")
    r.add_argument("--out", required=True, help="directory for report.html / report.pdf")
    r.add_argument("--lang", choices=["ja", "en"], default="ja")
    r.add_argument("--no-pdf", action="store_true", help="HTML only (no Chromium needed)")
    r.set_defaults(func=cmd_report_render)


__all__ = ["add_commands", "add_ui_options", "start_ui"]
