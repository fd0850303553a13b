"""What every ``eco-aggregator`` command module shares: the JSON it prints, the ledger it opens,
the clock it reads and the signals it waits for."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import threading
from datetime import UTC, datetime
from typing import Any, Protocol

from eco_protocol.did import device_id_from
from eco_protocol.encoding import format_time
from eco_protocol.errors import ProtocolError

from ..config import Config
from ..ledger import Ledger
from ..logkeys import load_log_signer
from ..store import open_store

DEFAULT_CONFIG = "/etc/eco-aggregator/aggregator.toml"


def print_json(obj: Any) -> None:
    """A command's result on stdout: indented, sorted, UTF-8 as is (scriptable)."""
    print(json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True))


def open_ledger(cfg: Config) -> Ledger:
    """The configured store, with the log key it was signed under (:mod:`aggregator.logkeys`)."""
    store = open_store(cfg)
    signer = load_log_signer(cfg, store.get_meta("log_vkey"))
    return Ledger(store, signer, cfg.state_dir / "checkpoint.latest")


def now_text() -> str:
    """Now, as the protocol spells a time (whole seconds, UTC)."""
    return format_time(datetime.now(UTC))


def on_stop_signal() -> threading.Event:
    """An event SIGTERM or SIGINT sets: a long-running command's way to end cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, _f: Any) -> None:
        # said, as the agent says it: a service that stops with no word of why (seen once in a
        # test run: serve gone 10 ms after its start, exit 0) leaves nobody knowing who asked
        logging.getLogger("aggregator.cli").info("signal %d: stopping", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    return stop


class _Server(Protocol):
    @property
    def url(self) -> str: ...

    def stop(self) -> None: ...


def serve_until_signal(server: _Server) -> None:
    """``http``, ``ui``: print the started server's ``{"url": ...}`` line, block until SIGTERM or
    SIGINT (the server runs in threads), then stop it."""
    print(json.dumps({"url": server.url}), flush=True)
    try:
        stop = on_stop_signal()
        while not stop.wait(1.0):
            pass
    finally:
        server.stop()


DEVICE_HELP = "the device: its id (32 hex) or its did:key (did:key:z6Mk…)"


def device_arg(text: str) -> str:
    """argparse ``type`` for a device argument: its id, or its ``did:key`` turned into the id
    (issue 20: a did:key is accepted wherever a device id is entered)."""
    try:
        return device_id_from(text)
    except ProtocolError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
