"""``eco-aggregator witness-key`` and ``witness``: a neighbour's witness that verifies and
cosigns a log's checkpoints (c2sp.org/tlog-cosignature; :mod:`aggregator.witness`)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any
from urllib.parse import quote

from eco_protocol.errors import NoteError
from eco_protocol.keyfile import atomic_write, load_or_create_private_key
from eco_protocol.messages import msg
from eco_protocol.note import CosignatureSigner, parse_verifier_key

from ..errors import ConfigError
from ..witness import (
    LogClient,
    WitnessConfig,
    load_witness_signer,
    vkey_path,
    witness_forever,
    witness_once,
)
from .common import on_stop_signal, print_json


def cmd_witness_key(args: argparse.Namespace) -> int:
    """Create (or show) a witness key: FILE holds the seed, FILE.vkey the public verifier key."""
    path = Path(args.file)
    try:
        signer = CosignatureSigner(args.name, load_or_create_private_key(path)[0])
    except NoteError as e:
        raise ConfigError(f"--name: {e}") from e
    vkey = signer.verifier.vkey
    vfile = vkey_path(path)
    if vfile.exists() and vfile.read_text("utf-8").strip() != vkey:
        raise ConfigError(msg("aggregator.witness.other_vkey", path=str(vfile),
                              vkey=vfile.read_text().strip()))
    atomic_write(vfile, (vkey + "\n").encode(), 0o644)
    print(vkey)
    return 0


def cmd_witness(args: argparse.Namespace) -> int:
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
        print_json({"size": out.size, "verdict": out.verdict, "submitted": out.submitted,
                    "accepted": list(out.accepted), "checkpoint": out.cosigned,
                    "state": str(state), "witness_vkey": signer.verifier.vkey})
        return 0
    witness_forever(cfg, client, on_stop_signal(), args.interval)
    return 0


def add_commands(sub: Any) -> None:
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
