"""``eco-aggregator``: the municipality operator's command line.

Every command prints JSON on success (scriptable) and one line on stderr saying what is wrong and
what to do on failure: exit 2 for configuration problems, 1 for everything else.
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
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode, format_time
from eco_protocol.errors import InvalidInput
from eco_protocol.keyfile import atomic_write, load_or_create_private_key, load_private_key
from eco_protocol.keys import DeviceId
from eco_protocol.note import NoteSigner
from eco_protocol.records import MeterSpec, Quantity

from .audit import audit
from .config import Config, example_config, load_config
from .errors import AggregatorError, ConfigError, Rejected
from .export import export_evidence
from .ledger import Ledger
from .registry import build_enrolment, enrol, pseudonym, revoke
from .store import SqliteStore

DEFAULT_CONFIG = "/etc/eco-aggregator/aggregator.toml"


def _print(obj: Any) -> None:
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True))


def open_ledger(cfg: Config) -> Ledger:
    key = load_private_key(cfg.key_file) if cfg.key_file.exists() else None
    if key is None:
        raise ConfigError(f"log key {cfg.key_file} does not exist; run 'eco-aggregator init'")
    return Ledger(SqliteStore(cfg.sqlite_path), NoteSigner(cfg.origin, key),
                  cfg.state_dir / "checkpoint.latest")


def _now() -> str:
    return format_time(datetime.now(UTC))


def cmd_init(args: argparse.Namespace) -> int:
    state = Path(args.dir).resolve()
    state.mkdir(parents=True, exist_ok=True)
    os.chmod(state, 0o700)
    conf = state / "aggregator.toml"
    if conf.exists():
        cfg = load_config(conf)
    else:
        atomic_write(conf, example_config(args.origin, state, args.broker).encode(), 0o600)
        cfg = load_config(conf)
    key, created = load_or_create_private_key(cfg.key_file)
    if not cfg.pseudonym_key_file.exists():
        atomic_write(cfg.pseudonym_key_file, secrets.token_hex(32).encode() + b"\n", 0o600)
    ledger = Ledger(SqliteStore(cfg.sqlite_path), NoteSigner(cfg.origin, key))
    _print({"config": str(conf), "log_vkey": ledger.signer.verifier.vkey,
            "log_key_created": created, "size": ledger.size()})
    return 0


def _parse_meter(text: str) -> MeterSpec:
    parts = text.split(":")
    if len(parts) != 4:
        raise Rejected(f"--meter {text!r}: expected id:quantity:protocol:rated_w, e.g. "
                       "pv1:pv_generation:sunspec-modbus:4500")
    try:
        return MeterSpec(parts[0], Quantity(parts[1]), parts[2], int(parts[3]))
    except (ValueError, InvalidInput) as e:
        raise Rejected(f"--meter {text!r}: {e}") from e


def cmd_enrol(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    try:
        public = b64decode(args.public_key, "--public-key")
        fit = parse_json(args.fit) if args.fit else {}
    except InvalidInput as e:
        raise Rejected(str(e)) from e
    if not isinstance(fit, dict):
        raise Rejected("--fit must be a JSON object")
    pkey = bytes.fromhex(cfg.pseudonym_key_file.read_text().strip())
    pseud = pseudonym(pkey, args.household)
    enrolment = build_enrolment(public, pseud, args.programme,
                                [_parse_meter(m) for m in args.meter], fit, _now())
    with ledger.store.transaction():
        ledger.store.put_household(pseud, args.household)
    index, _ = enrol(ledger, enrolment)
    _print({"device_id": enrolment.device_id, "household": pseud, "index": index})
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    ledger = open_ledger(load_config(args.config))
    index = revoke(ledger, DeviceId(args.device_id), args.reason, _now())
    _print({"device_id": args.device_id, "index": index})
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from .serve import IngestWorker

    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    last = ledger.check_against_last_checkpoint()
    logging.getLogger(__name__).info("ledger %s: %d entries, last checkpoint %s",
                                     cfg.sqlite_path, ledger.size(),
                                     None if last is None else last.size)
    stop = threading.Event()

    def on_signal(_s: int, _f: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    worker = IngestWorker(cfg, ledger)
    worker.run(stop, args.exit_after_idle)
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
    ledger = open_ledger(load_config(args.config))
    ledger.checkpoint_now()
    size = export_evidence(ledger, Path(args.dir))
    _print({"dir": str(args.dir), "size": size})
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    report = audit(open_ledger(load_config(args.config)))
    _print({"ok": True, "size": report.size, "checkpoint_size": report.checkpoint_size,
            "counts": report.counts, "devices": report.devices, "root": report.root_hex})
    return 0


def cmd_log_key(args: argparse.Namespace) -> int:
    print(open_ledger(load_config(args.config)).signer.verifier.vkey)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="eco-aggregator", description=__doc__)
    p.add_argument("--config", type=Path,
                   default=Path(os.environ.get("ECO_AGGREGATOR_CONFIG", DEFAULT_CONFIG)),
                   help=f"configuration file (default $ECO_AGGREGATOR_CONFIG or {DEFAULT_CONFIG})")
    p.add_argument("-v", "--verbose", action="store_true")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("init", help="create a state directory: config, log key, empty ledger")
    s.add_argument("dir")
    s.add_argument("--origin", required=True, help="log origin, e.g. eco-ledger.example-city.lg.jp")
    s.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    s.set_defaults(func=cmd_init)
    s = sub.add_parser("serve", help="ingest readings from the broker")
    s.add_argument("--exit-after-idle", type=float, default=None, metavar="SECONDS")
    s.set_defaults(func=cmd_serve)
    s = sub.add_parser("enrol", help="enrol a device (appends eco.enrol/v1)")
    s.add_argument("--public-key", required=True, help="device public key, base64 of 32 bytes")
    s.add_argument("--household", required=True,
                   help="household reference (kept off the ledger; only its pseudonym is logged)")
    s.add_argument("--programme", required=True)
    s.add_argument("--meter", action="append", required=True,
                   help="id:quantity:protocol:rated_w (repeatable)")
    s.add_argument("--fit", default=None, help="FIT exclusion terms as a JSON object")
    s.set_defaults(func=cmd_enrol)
    s = sub.add_parser("revoke", help="revoke a device (appends eco.revoke/v1)")
    s.add_argument("device_id")
    s.add_argument("--reason", required=True)
    s.set_defaults(func=cmd_revoke)
    s = sub.add_parser("status", help="ledger size, checkpoint, devices, recent rejections")
    s.add_argument("--rejections", type=int, default=20)
    s.set_defaults(func=cmd_status)
    s = sub.add_parser("log-key", help="print the log's verifier key")
    s.set_defaults(func=cmd_log_key)
    s = sub.add_parser("ledger", help="ledger export / verify")
    lsub = s.add_subparsers(dest="ledger_cmd", required=True)
    e = lsub.add_parser("export", help="write the evidence directory (PROTOCOL.md section 5)")
    e.add_argument("dir")
    e.set_defaults(func=cmd_export)
    e = lsub.add_parser("verify", help="recompute everything from the store")
    e.set_defaults(func=cmd_verify)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else (
        logging.INFO if args.cmd == "serve" else logging.WARNING)
    logging.basicConfig(level=level, stream=sys.stderr, force=True,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        rc: int = args.func(args)
        return rc
    except ConfigError as e:
        print(f"eco-aggregator: configuration: {e}", file=sys.stderr)
        return 2
    except (AggregatorError, InvalidInput) as e:
        print(f"eco-aggregator: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
