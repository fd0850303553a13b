"""``eco-aggregator`` commands on the log itself: ``init``, ``status``, ``log-key`` (history,
rotate) and ``ledger`` (export, verify, tiles: docs/protocol.md §5, c2sp.org/tlog-tiles)."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from eco_protocol.keyfile import atomic_write, load_or_create_private_key
from eco_protocol.messages import msg
from eco_protocol.note import NoteSigner, parse_witness_key

from .. import operator
from ..audit import audit
from ..broker_auth import ensure_aggregator_login
from ..config import example_config, load_config
from ..errors import ConfigError, Rejected
from ..export import export_evidence
from ..ledger import Ledger
from ..progress import Progress
from ..store import DEFAULT_URL, StoreUrl, open_store
from ..tiles import write_static
from .common import open_ledger, print_json
from .programme import programme_option, programme_rules


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
    if not conf.exists():
        if any(c in args.store for c in '"\\\n'):
            raise ConfigError(msg("aggregator.store.bad_chars", url=repr(args.store)))
        StoreUrl.parse(args.store, state)  # a bad URL fails before anything is written
        atomic_write(conf, example_config(args.origin, state, args.broker,
                                          args.store).encode(), conf_mode)
    cfg = load_config(conf)
    key, created = load_or_create_private_key(cfg.key_file)
    if not cfg.pseudonym_key_file.exists():
        atomic_write(cfg.pseudonym_key_file, secrets.token_hex(32).encode() + b"\n", 0o600)
    ensure_aggregator_login(cfg.mqtt)  # the aggregator's own broker login (docs/protocol.md §3)
    ledger = Ledger(open_store(cfg), NoteSigner(cfg.origin, key))
    print_json({"config": str(conf), "log_vkey": ledger.signer.verifier.vkey,
                "log_key_created": created, "size": ledger.size(),
                "store": cfg.store.redacted(), "broker_user": cfg.mqtt.username})
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    ledger = open_ledger(load_config(args.config))
    cp = ledger.latest_checkpoint()
    devices = ledger.store.devices()
    print_json({
        "log_vkey": ledger.signer.verifier.vkey, "size": ledger.size(),
        "checkpoint": None if cp is None else {"size": cp.size, "signed_at": cp.signed_at},
        "devices": [{"device_id": d.device_id, "next_seq": d.next_seq,
                     "revoked": d.revoked_index is not None, "flag": d.flag} for d in devices],
        "recent_rejections": [{"device_id": d, "seq": s, "reason": r, "at": a}
                              for d, s, r, a in ledger.store.rejections(args.rejections)],
    })
    return 0


def cmd_log_key(args: argparse.Namespace) -> int:
    ledger = open_ledger(load_config(args.config))
    if args.log_key_cmd == "history":
        chain = ledger.key_chain()
        print_json({"keys": chain.vkeys(), "changed_at_entries": list(chain.changed_at)})
    else:
        print(ledger.signer.verifier.vkey)
    return 0


def cmd_log_key_rotate(args: argparse.Namespace) -> int:
    print_json(operator.rotate_log_key(load_config(args.config), operator.Actor.cli(),
                                      args.reason))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    ledger.checkpoint_now()
    with Progress() as progress:
        size = export_evidence(ledger, Path(args.dir), cfg.witness_vkeys, progress)
    print_json({"dir": str(args.dir), "size": size})
    return 0


def cmd_verify(args: argparse.Namespace) -> int:
    cfg = load_config(args.config)
    with Progress() as progress:
        report = audit(open_ledger(cfg), progress, args.all,
                       rules=programme_rules(args, cfg),
                       witnesses=[parse_witness_key(v) for v in cfg.witness_vkeys])
    print_json({"ok": not report.problems, "size": report.size,
                "checkpoint_size": report.checkpoint_size, "checkpoints": report.checkpoints,
                "counts": report.counts, "devices": report.devices, "root": report.root_hex,
                "not_creditable": report.excluded,
                **({"problems": list(report.problems)} if args.all else {})})
    for p in report.problems:
        print(f"eco-aggregator: ledger: {p}", file=sys.stderr)
    return 1 if report.problems else 0


def cmd_ledger_tiles(args: argparse.Namespace) -> int:
    """Write the c2sp.org/tlog-tiles layout (checkpoint, tiles, entry bundles) to DIR."""
    ledger = open_ledger(load_config(args.config))
    ledger.checkpoint_now()
    row = ledger.latest_checkpoint()
    if row is None:
        raise Rejected(msg("aggregator.ledger.no_checkpoint"))
    store = ledger.store

    def entries(lo: int, hi: int) -> Iterator[bytes]:
        return (data for _, data in store.entries(lo, hi))

    note = row.note + "".join(store.cosignatures(row.size))
    files = write_static(Path(args.dir), note, store.node, entries)
    print_json({"dir": str(args.dir), "size": row.size, "files_written": files})
    return 0


def add_init(sub: Any) -> None:
    s = sub.add_parser("init", help="create a state directory: config, log key, empty ledger")
    s.add_argument("dir")
    s.add_argument("--origin", required=True, help="log origin, e.g. eco-ledger.example-city.lg.jp")
    s.add_argument("--broker", default="mqtt://127.0.0.1:1883")
    s.add_argument("--store", default=DEFAULT_URL, metavar="URL",
                   help=f"ledger store: sqlite:///path (relative to DIR) or "
                        f"postgresql://user@host/db (default {DEFAULT_URL})")
    s.set_defaults(func=cmd_init)


def add_commands(sub: Any) -> None:
    """``status``, ``log-key`` and ``ledger`` (``init``, first in the help: :func:`add_init`)."""
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
    programme_option(e, "programme TOML whose crediting rules judge the readings (default "
                        "<state_dir>/programme.toml if present, else the protocol defaults)")
    e.set_defaults(func=cmd_verify)
    e = lsub.add_parser("tiles", help="write the c2sp.org/tlog-tiles static layout to DIR")
    e.add_argument("dir")
    e.set_defaults(func=cmd_ledger_tiles)
