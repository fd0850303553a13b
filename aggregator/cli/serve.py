"""``eco-aggregator serve`` (ingest, with the read API and the web UI beside it if asked) and
``eco-aggregator http`` (the read API alone: a mirror host, or while serve is stopped)."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from eco_protocol.messages import msg
from eco_protocol.note import parse_verifier_key, parse_witness_key
from eco_protocol.os_messages import os_reason

from ..config import Config, load_config
from ..credentials import api_options
from ..errors import ConfigError
from ..http_api import ApiConfig, ApiServer, parse_listen
from ..store import Backend, LedgerStore, SqliteStore, open_store
from .common import on_stop_signal, open_ledger, print_json, serve_until_signal
from .programme import programme_rules
from .ui import add_ui_options, start_ui

log = logging.getLogger(__name__)


def start_http(cfg: Config, log_vkey: str, listen: str | None) -> ApiServer | None:
    """Start the read API (:mod:`aggregator.http_api`) in a thread if ``--http`` was given."""
    if listen is None:
        return None
    host, port = parse_listen(listen)
    api_cfg = ApiConfig(parse_verifier_key(log_vkey),
                        tuple(parse_witness_key(v) for v in cfg.witness_vkeys),
                        **api_options(cfg))  # the did:web document and status list
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
        raise ConfigError(msg("aggregator.serve.cannot_listen", listen=listen,
                              reason=os_reason(e))) from e


def cmd_serve(args: argparse.Namespace) -> int:
    from ..serve import IngestWorker  # paho and the ingest path: only for this command

    cfg = load_config(args.config)
    ledger = open_ledger(cfg)
    last = ledger.check_against_last_checkpoint()
    log.info("ledger %s: %d entries, last checkpoint %s", cfg.store.redacted(), ledger.size(),
             None if last is None else last.size)
    stop = on_stop_signal()
    worker = IngestWorker(cfg, ledger, programme_rules(args, cfg))
    api = start_http(cfg, ledger.signer.verifier.vkey, args.http)
    try:
        ui = start_ui(cfg, args.ui, args.programme_file, args.offline_after_minutes,
                      args.secure_cookies, "--ui", tuple(args.trusted_proxy),
                      args.online_clock, args.device_broker)
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
    print_json({"stats": worker.stats.as_dict(), "size": ledger.size()})
    return 0


def cmd_http(args: argparse.Namespace) -> int:
    """The read API alone, without ingest (a mirror host, or while serve is stopped)."""
    cfg = load_config(args.config)
    store = open_store(cfg)
    try:
        log_vkey = store.get_meta("log_vkey")
    finally:
        store.close()
    if log_vkey is None:
        raise ConfigError(msg("aggregator.serve.no_log_key"))
    api = start_http(cfg, log_vkey, args.listen)
    assert api is not None
    serve_until_signal(api)
    return 0


def add_serve(sub: Any) -> None:
    s = sub.add_parser("serve", help="ingest readings from the broker")
    s.add_argument("--exit-after-idle", type=float, default=None, metavar="SECONDS")
    s.add_argument("--http", default=None, metavar="HOST:PORT",
                   help="also serve the public read API (tlog-tiles, proofs, cosignatures)")
    add_ui_options(s, ui_flag=True)
    s.set_defaults(func=cmd_serve)


def add_http(sub: Any) -> None:
    s = sub.add_parser("http", help="serve the public read API only (no ingest)")
    s.add_argument("listen", metavar="HOST:PORT", help="e.g. 127.0.0.1:8080 (port 0: any free)")
    s.set_defaults(func=cmd_http)
