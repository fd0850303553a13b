"""``eco-aggregator``: the municipality operator's command line.

Every command prints JSON on success (scriptable) and one line on stderr saying what is wrong and
what to do on failure: exit 2 for configuration problems, 3 when a witness saw the log sign a
fork (``witness``), 1 for everything else.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import secrets
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

from eco_protocol.canonical import parse_json
from eco_protocol.creditability import JST
from eco_protocol.encoding import b64decode, format_time, parse_time
from eco_protocol.errors import InvalidInput
from eco_protocol.keyfile import atomic_write, load_or_create_private_key
from eco_protocol.methodology import terms_problems
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec

from . import operator
from .audit import audit
from .broker_auth import ensure_aggregator_login
from .cli_broker import add_commands as add_broker_commands
from .config import Config, example_config, load_config
from .errors import AggregatorError, ConfigError, LogMisbehaviour, Rejected
from .export import export_evidence
from .http_api import ApiConfig, ApiServer, parse_listen
from .ledger import Ledger
from .logkeys import load_log_signer
from .progress import Progress
from .registry import methodology_terms, parse_meter
from .store import DEFAULT_URL, StoreUrl, open_store

DEFAULT_CONFIG = "/etc/eco-aggregator/aggregator.toml"
T = TypeVar("T")


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True))


def open_ledger(cfg: Config) -> Ledger:
    store = open_store(cfg)
    signer = load_log_signer(cfg, store.get_meta("log_vkey"))
    return Ledger(store, signer, cfg.state_dir / "checkpoint.latest")


def _now() -> str:
    return format_time(datetime.now(UTC))


def cmd_init(args: argparse.Namespace) -> int:
    state = Path(args.dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    # with --config (as the systemd unit reads /etc/eco-aggregator/aggregator.toml) the config
    # goes there; it holds no secret (keys and passwords are files in the state directory), so
    # outside the state directory it is world-readable for the service's dynamic user
    conf = Path(args.config).resolve() if getattr(args, "config_given", False) \
        else state / "aggregator.toml"
    conf_mode = 0o600 if conf.parent == state else 0o644
    if conf.exists():
        cfg = load_config(conf)
    else:
        if any(c in args.store for c in '"\\\n'):
            raise ConfigError(f"--store {args.store!r}: quotes, backslashes and newlines are not "
                              "allowed in a store URL")
        StoreUrl.parse(args.store, state)  # a bad URL fails before anything is written
        atomic_write(conf, example_config(args.origin, state, args.broker,
                                          args.store).encode(), conf_mode)
        cfg = load_config(conf)
    key, created = load_or_create_private_key(cfg.key_file)
    if not cfg.pseudonym_key_file.exists():
        atomic_write(cfg.pseudonym_key_file, secrets.token_hex(32).encode() + b"\n", 0o600)
    ensure_aggregator_login(cfg.mqtt)  # the aggregator's own broker login (docs/protocol.md §3)
    ledger = Ledger(open_store(cfg), NoteSigner(cfg.origin, key))
    _print({"config": str(conf), "log_vkey": ledger.signer.verifier.vkey,
            "log_key_created": created, "size": ledger.size(), "store": cfg.store.redacted(),
            "broker_user": cfg.mqtt.username})
    return 0


def _parse_meter(text: str) -> MeterSpec:
    return parse_meter(text)


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
        raise Rejected(f"--enrolled-at {text!r}: expected a JST day YYYY-MM-DD (its midnight) "
                       f"or a UTC instant YYYY-MM-DDTHH:MM:SSZ ({e})") from e
    if at > now:
        raise Rejected(f"--enrolled-at {text!r}: {format_time(at)} is in the future (now "
                       f"{format_time(now)}); the participation date is the day the member "
                       "joined, today or earlier")
    return format_time(at)


def cmd_enrol(args: argparse.Namespace) -> int:
    enrolled_at = enrolled_at_from_flag(args.enrolled_at)
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    try:
        public = b64decode(args.public_key, "--public-key")
        fit = parse_json(args.fit) if args.fit else {}
    except InvalidInput as e:
        raise Rejected(str(e)) from e
    if not isinstance(fit, dict):
        raise Rejected("--fit must be a JSON object")
    fit = {**fit, **_terms_from_flags(args)}
    meters = [_parse_meter(m) for m in args.meter]
    problems = terms_problems([m.quantity for m in meters], fit)
    if problems:
        raise Rejected("the methodology needs more about this household: " + "; ".join(problems)
                       + " (use --installed, --fit-status, --battery/--no-battery, "
                       "--ev-wh-per-km, --ev-petrol-km-per-l)")
    done = operator.enrol(cfg, ledger, operator.Actor.cli(), public_key=public,
                          reference=args.household, programme=args.programme, meters=meters,
                          fit=fit, enrolled_at=enrolled_at, contact=args.contact)
    _print({"device_id": done.device_id, "household": done.household, "index": done.index,
            "enrolled_at": done.enrolled_at, **done.login})
    return 0


def _device_decision(args: argparse.Namespace,
                     act: Callable[[Config, Ledger, operator.Actor, str, str, str], T]) -> T:
    """An operator's decision on one device (revoke, release): DEVICE_ID, --reason, now."""
    cfg = load_config(args.config)
    return act(cfg, open_ledger(cfg), operator.Actor.cli(), args.device_id, args.reason, _now())


def cmd_revoke(args: argparse.Namespace) -> int:
    done = _device_decision(args, operator.revoke)
    _print({"device_id": done.device_id, "index": done.index, **done.login})
    return 0


def cmd_release(args: argparse.Namespace) -> int:
    done = _device_decision(args, operator.release)
    _print({"device_id": done.device_id, "household": done.household, "index": done.index})
    return 0


def cmd_rekey(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    try:
        public = b64decode(args.public_key, "--public-key")
    except InvalidInput as e:
        raise Rejected(str(e)) from e
    done = operator.rekey(cfg, ledger, operator.Actor.cli(), args.device_id, public, _now())
    _print({"replaced": done.replaced, "device_id": done.device_id,
            "household": done.household, "old_login": done.old_login, **done.login})
    return 0


def cmd_forget(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    open_store(cfg).close()  # moves references an older version kept in the ledger store
    done = operator.forget(cfg, operator.Actor.cli(), args.household)
    _print({"household": done.household, "personal_data": "erased",
            "note": "the pseudonym, its readings and its points stay in the log"})
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import IngestWorker

    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    last = ledger.check_against_last_checkpoint()
    logging.getLogger(__name__).info("ledger %s: %d entries, last checkpoint %s",
                                     cfg.store.redacted(), ledger.size(),
                                     None if last is None else last.size)
    stop = threading.Event()

    def on_signal(_s: int, _f: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    from .cli_programme import programme_rules

    worker = IngestWorker(cfg, ledger, programme_rules(args, cfg))
    api = _start_http(cfg, ledger.signer.verifier.vkey, args.http)
    from .cli_ui import start_ui

    try:
        ui = start_ui(cfg, args.ui, args.programme_file, args.offline_after_minutes,
                      args.secure_cookies, "--ui", tuple(args.trusted_proxy))
    except BaseException:
        if api is not None:
            api.stop()
        raise
    try:
        worker.run(stop, args.exit_after_idle)
    finally:
        if ui is not None:
            ui.stop()
        if api is not None:
            api.stop()
    _print({"stats": worker.stats.as_dict(), "size": ledger.size()})
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    ledger = open_ledger(load_config(args.config))
    cp = ledger.latest_checkpoint()
    devices = ledger.store.devices()
    _print({
        "log_vkey": ledger.signer.verifier.vkey, "size": ledger.size(),
        "checkpoint": None if cp is None else {"size": cp.size, "signed_at": cp.signed_at},
        "devices": [{"device_id": d.device_id, "next_seq": d.next_seq,
                     "revoked": d.revoked_index is not None, "flag": d.flag} for d in devices],
        "recent_rejections": [{"device_id": d, "seq": s, "reason": r, "at": a}
                              for d, s, r, a in ledger.store.rejections(args.rejections)],
    })
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    ledger.checkpoint_now()
    with Progress() as progress:
        size = export_evidence(ledger, Path(args.dir), cfg.witness_vkeys, progress)
    _print({"dir": str(args.dir), "size": size})
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    from eco_protocol.note import parse_witness_key

    from .cli_programme import programme_rules

    cfg = load_config(args.config)
    with Progress() as progress:
        report = audit(open_ledger(cfg), progress, args.all,
                       rules=programme_rules(args, cfg),
                       witnesses=[parse_witness_key(v) for v in cfg.witness_vkeys])
    _print({"ok": not report.problems, "size": report.size,
            "checkpoint_size": report.checkpoint_size, "checkpoints": report.checkpoints,
            "counts": report.counts, "devices": report.devices, "root": report.root_hex,
            "not_creditable": report.excluded,
            **({"problems": list(report.problems)} if args.all else {})})
    for p in report.problems:
        print(f"eco-aggregator: ledger: {p}", file=sys.stderr)
    return 1 if report.problems else 0


def cmd_log_key(args: argparse.Namespace) -> int:
    ledger = open_ledger(load_config(args.config))
    if args.log_key_cmd == "history":
        chain = ledger.key_chain()
        _print({"keys": chain.vkeys(), "changed_at_entries": list(chain.changed_at)})
    else:
        print(ledger.signer.verifier.vkey)
    return 0


def cmd_log_key_rotate(args: argparse.Namespace) -> int:
    _print(operator.rotate_log_key(load_config(args.config), operator.Actor.cli(), args.reason))
    return 0


# --- public read API, static tiles, witness (c2sp.org/tlog-tiles, tlog-cosignature) ----------


def _start_http(cfg: Config, log_vkey: str, listen: str | None) -> ApiServer | None:
    """Start the read API (:mod:`aggregator.http_api`) in a thread if ``--http`` was given."""
    if listen is None:
        return None
    from eco_protocol.note import parse_verifier_key, parse_witness_key

    from .store import Backend, LedgerStore, SqliteStore

    host, port = parse_listen(listen)
    api_cfg = ApiConfig(parse_verifier_key(log_vkey),
                        tuple(parse_witness_key(v) for v in cfg.witness_vkeys))
    sqlite_path = cfg.store.sqlite_path if cfg.store.backend is Backend.SQLITE else None

    def store_factory() -> LedgerStore:
        # one store per request (a SQLite connection belongs to one thread); the integrity scan
        # already ran when the process opened the store
        if sqlite_path is not None:
            return SqliteStore(sqlite_path, check_integrity=False)
        return open_store(cfg)

    try:
        return ApiServer(host, port, store_factory, api_cfg).start()
    except OSError as e:
        raise ConfigError(f"--http {listen}: cannot listen: {e}") from e


def _wait_for_signal() -> None:
    stop = threading.Event()

    def on_signal(_s: int, _f: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    while not stop.wait(1.0):
        pass


def cmd_http(args: argparse.Namespace) -> int:
    """The read API alone, without ingest (a mirror host, or while serve is stopped)."""
    cfg = load_config(args.config)
    store = open_store(cfg)
    try:
        log_vkey = store.get_meta("log_vkey")
    finally:
        store.close()
    if log_vkey is None:
        raise ConfigError("the ledger has no log key yet; run 'eco-aggregator init'")
    api = _start_http(cfg, log_vkey, args.listen)
    assert api is not None
    print(json.dumps({"url": api.url}), flush=True)
    try:
        _wait_for_signal()
    finally:
        api.stop()
    return 0


def cmd_ledger_tiles(args: argparse.Namespace) -> int:
    """Write the c2sp.org/tlog-tiles layout (checkpoint, tiles, entry bundles) to DIR."""
    from collections.abc import Iterator

    from .tiles import write_static

    ledger = open_ledger(load_config(args.config))
    ledger.checkpoint_now()
    row = ledger.latest_checkpoint()
    if row is None:
        raise Rejected("the log has no signed checkpoint yet; nothing to publish")
    store = ledger.store

    def entries(lo: int, hi: int) -> Iterator[bytes]:
        return (data for _, data in store.entries(lo, hi))

    note = row.note + "".join(store.cosignatures(row.size))
    files = write_static(Path(args.dir), note, store.node, entries)
    _print({"dir": str(args.dir), "size": row.size, "files_written": files})
    return 0


def cmd_witness_key(args: argparse.Namespace) -> int:
    """Create (or show) a witness key: FILE holds the seed, FILE.vkey the public verifier key."""
    from eco_protocol.errors import NoteError
    from eco_protocol.note import CosignatureSigner

    from .witness import vkey_path

    path = Path(args.file)
    try:
        signer = CosignatureSigner(args.name, load_or_create_private_key(path)[0])
    except NoteError as e:
        raise ConfigError(f"--name: {e}") from e
    vkey = signer.verifier.vkey
    vfile = vkey_path(path)
    if vfile.exists() and vfile.read_text("utf-8").strip() != vkey:
        raise ConfigError(f"{vfile} holds another verifier key ({vfile.read_text().strip()}); "
                          "the witness name cannot change for an existing key")
    atomic_write(vfile, (vkey + "\n").encode(), 0o644)
    print(vkey)
    return 0


def cmd_witness(args: argparse.Namespace) -> int:
    from urllib.parse import quote

    from eco_protocol.errors import NoteError
    from eco_protocol.note import parse_verifier_key

    from .witness import (
        LogClient,
        WitnessConfig,
        load_witness_signer,
        witness_forever,
        witness_once,
    )

    try:
        log_key = parse_verifier_key(args.log_key)
    except NoteError as e:
        raise ConfigError(f"--log-key: {e}") from e
    key = Path(args.key)
    signer = load_witness_signer(key)
    state = Path(args.state) if args.state else \
        key.with_name(f"{key.name}.{quote(log_key.name, safe='')}.state.json")
    cfg = WitnessConfig(log_key, signer, state, submit=not args.no_submit)
    client = LogClient(args.log, args.timeout)
    if args.once:
        out = witness_once(cfg, client)
        _print({"size": out.size, "verdict": out.verdict, "submitted": out.submitted,
                "accepted": list(out.accepted), "checkpoint": out.cosigned,
                "state": str(state), "witness_vkey": signer.verifier.vkey})
        return 0
    stop = threading.Event()

    def on_signal(_s: int, _f: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    witness_forever(cfg, client, stop, args.interval)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eco-aggregator", description=__doc__)
    p.add_argument("--config", type=Path, default=None,
                   help=f"configuration file (default $ECO_AGGREGATOR_CONFIG or {DEFAULT_CONFIG}; "
                        "init writes it there when given, else into its state directory)")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("init", help="create a state directory: config, log key, empty ledger")
    s.add_argument("dir")
    s.add_argument("--origin", required=True, help="log origin, e.g. eco-ledger.example-city.lg.jp")
    s.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    s.add_argument("--store", default=DEFAULT_URL, metavar="URL",
                   help=f"ledger store: sqlite:///path (relative to DIR) or "
                        f"postgresql://user@host/db (default {DEFAULT_URL})")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("serve", help="ingest readings from the broker")
    s.add_argument("--exit-after-idle", type=float, default=None, metavar="SECONDS")
    s.add_argument("--http", default=None, metavar="HOST:PORT",
                   help="also serve the public read API (tlog-tiles, proofs, cosignatures)")
    s.set_defaults(func=cmd_serve)
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
    s.set_defaults(func=cmd_enrol)
    s = sub.add_parser("rekey", help="replace a device's key: revoke the old id, enrol the new "
                       "one for the same household and meters (linked both ways)")
    s.add_argument("device_id")
    s.add_argument("--public-key", required=True, help="the new key, base64 of 32 bytes")
    s.set_defaults(func=cmd_rekey)
    s = sub.add_parser("revoke", help="revoke a device (appends eco.revoke/v1)")
    s.add_argument("device_id")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=cmd_revoke)
    s = sub.add_parser("release", help="let a quarantined (forked) device credit again "
                       "(appends eco.release/v1); revoke or rekey it instead if the box was "
                       "cloned or its key leaked")
    s.add_argument("device_id")
    s.add_argument("--reason", required=True, help="what you checked (kept in the log: no "
                   "personal names)")
    s.set_defaults(func=cmd_release)
    s = sub.add_parser("forget", help="erase a household's personal data (the right to be "
                       "forgotten); its pseudonym and readings stay in the log")
    s.add_argument("household", help="household reference as enrolled, or its pseudonym hh-…")
    s.set_defaults(func=cmd_forget)
    s = sub.add_parser("status", help="ledger size, checkpoint, devices, recent rejections")
    s.add_argument("--rejections", type=int, default=20)
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("log-key", help="print the log's verifier key (or: rotate, history)")
    s.set_defaults(func=cmd_log_key, log_key_cmd=None)
    ksub = s.add_subparsers(dest="log_key_cmd")
    e = ksub.add_parser("history", help="every key the log has had, and where each took over")
    e.set_defaults(func=cmd_log_key)
    e = ksub.add_parser("rotate", help="replace the log key: the change is announced in the log "
                                       "and old checkpoints stay verifiable")
    e.add_argument("--reason", required=True, help="recorded in the log, e.g. 'yearly rotation'")
    e.set_defaults(func=cmd_log_key_rotate)
    s = sub.add_parser("ledger", help="ledger export / verify")
    lsub = s.add_subparsers(dest="ledger_cmd", required=True)
    e = lsub.add_parser("export", help="write the evidence directory (docs/protocol.md §5)")
    e.add_argument("dir")
    e.set_defaults(func=cmd_export)
    e = lsub.add_parser("verify", help="recompute everything from the store")
    e.add_argument("--all", action="store_true",
                   help="keep going after the first problem and list every one")
    e.add_argument("--programme-file", default=None,
                   help="programme TOML whose crediting rules judge the readings (default "
                        "<state_dir>/programme.toml if present, else the protocol defaults)")
    e.set_defaults(func=cmd_verify)
    e = lsub.add_parser("tiles", help="write the c2sp.org/tlog-tiles static layout to DIR")
    e.add_argument("dir")
    e.set_defaults(func=cmd_ledger_tiles)
    s = sub.add_parser("http", help="serve the public read API only (no ingest)")
    s.add_argument("listen", metavar="HOST:PORT", help="e.g. 127.0.0.1:8080 (port 0: any free)")
    s.set_defaults(func=cmd_http)
    s = sub.add_parser("witness-key", help="create a witness key (cosignature/v1); print its vkey")
    s.add_argument("file", help="private key file (mode 0600); FILE.vkey gets the verifier key")
    s.add_argument("--name", required=True, help="witness name, e.g. witness.example-town.lg.jp")
    s.set_defaults(func=cmd_witness_key)
    s = sub.add_parser("witness", help="verify and cosign a log's checkpoints")
    s.add_argument("--log", required=True, metavar="URL", help="the log's read API, e.g. "
                   "https://eco-ledger.example-city.lg.jp")
    s.add_argument("--log-key", required=True, metavar="VKEY", help="the log's verifier key")
    s.add_argument("--key", required=True, metavar="FILE", help="witness key from witness-key")
    s.add_argument("--state", default=None, metavar="FILE",
                   help="what this witness trusts (default: beside the key, per log)")
    s.add_argument("--once", action="store_true",
                   help="one round: fetch, verify, cosign, submit, exit")
    s.add_argument("--interval", type=float, default=60.0, metavar="SECONDS")
    s.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS")
    s.add_argument("--no-submit", action="store_true",
                   help="cosign and keep the result in the state file, but do not POST it")
    s.set_defaults(func=cmd_witness)
    from .cli_programme import add_commands

    add_commands(sub)
    add_broker_commands(sub)
    from . import cli_ui

    cli_ui.add_commands(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    env_config = os.environ.get("ECO_AGGREGATOR_CONFIG")
    args.config_given = args.config is not None or env_config is not None
    if args.config is None:
        args.config = Path(env_config or DEFAULT_CONFIG)
    level = logging.DEBUG if args.verbose else (
        logging.INFO if args.cmd in ("serve", "http", "witness", "ui") else logging.WARNING)
    logging.basicConfig(level=level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rc: int = args.func(args)
        return rc
    except ConfigError as e:
        print(f"eco-aggregator: configuration: {e}", file=sys.stderr)
        return 2
    except LogMisbehaviour as e:
        print(f"eco-aggregator: LOG MISBEHAVIOUR: {e}", file=sys.stderr)
        return 3
    except (AggregatorError, InvalidInput) as e:
        print(f"eco-aggregator: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
