"""Changing the log key on disk: ``eco-aggregator logkey rotate`` and finishing a cut-short one.

The order makes every crash recoverable without a second history or a lost key:

1. the new key is written next to the old one (``log.key.next``, mode 0600, fsynced);
2. one store transaction appends the ``eco.logkey/v1`` entry (signed by the old key, endorsed by
   the new), records it in the store's meta, and signs the transition checkpoint with both keys;
3. ``log.key.next`` replaces ``log.key`` (an atomic rename: the old private key is gone).

A crash before 2 leaves a spare ``.next`` file that the next ``rotate`` reuses; a crash between 2
and 3 leaves a store whose key is the ``.next`` one, and :func:`load_log_signer` finishes step 3.
Old checkpoints, receipts and reports stay verifiable: they need only public keys, which the log
itself carries.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eco_protocol.canonical import canonical_bytes
from eco_protocol.keyfile import atomic_write, fsync_dir, load_private_key, save_private_key
from eco_protocol.keys import generate_private_key
from eco_protocol.messages import msg
from eco_protocol.note import NoteSigner

from .config import Config
from .errors import ConfigError
from .ledger import Ledger
from .store import open_store


def next_key_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".next")


def load_log_signer(cfg: Config, stored_vkey: str | None) -> NoteSigner:
    """The configured log key, after finishing a rotation that stopped between steps 2 and 3.

    ``stored_vkey`` is the key the store says it is signed with (None for a new store)."""
    if not cfg.key_file.exists():
        raise ConfigError(msg("aggregator.ledger.no_key", path=str(cfg.key_file)))
    signer = NoteSigner(cfg.origin, load_private_key(cfg.key_file))
    pending = next_key_path(cfg.key_file)
    if stored_vkey is None or stored_vkey == signer.verifier.vkey or not pending.exists():
        return signer
    new = NoteSigner(cfg.origin, load_private_key(pending))
    if new.verifier.vkey != stored_vkey:
        return signer  # not ours to fix: Ledger() names the mismatch
    try:
        os.replace(pending, cfg.key_file)
    except FileNotFoundError:  # the rotating process finished step 3 a moment ago
        return NoteSigner(cfg.origin, load_private_key(cfg.key_file))
    fsync_dir(cfg.key_file.parent)
    return new


def announcement(ledger: Ledger) -> bytes | None:
    """The retained payload that lets agents follow the log key (None: the key never changed)."""
    changes = ledger.key_changes()
    if not changes:
        return None
    return canonical_bytes([record for _, record in changes])


def rotate(cfg: Config, reason: str, now: datetime | None = None) -> dict[str, Any]:
    """Change the log key; returns what changed, for the CLI to print."""
    store = open_store(cfg)
    try:
        old = load_log_signer(cfg, store.get_meta("log_vkey"))
        ledger = Ledger(store, old, cfg.state_dir / "checkpoint.latest")
        pending = next_key_path(cfg.key_file)
        if pending.exists():  # a rotation that stopped after step 1: reuse its key
            new = NoteSigner(cfg.origin, load_private_key(pending))
        else:
            new = NoteSigner(cfg.origin, generate_private_key())
            save_private_key(pending, new.private_key)
        with store.transaction():
            row = ledger.change_key(new, reason,
                                    now or datetime.now(UTC).replace(microsecond=0))
        if ledger.latest_file is not None:
            atomic_write(ledger.latest_file, row.note.encode("utf-8"), 0o644)
        try:
            os.replace(pending, cfg.key_file)
        except FileNotFoundError:
            # A running serve saw the new key in the store and finished step 3 itself
            # (load_log_signer); that is only fine if the key file is now the new key.
            on_disk = NoteSigner(cfg.origin, load_private_key(cfg.key_file))
            if on_disk.verifier.vkey != new.verifier.vkey:
                raise
        fsync_dir(cfg.key_file.parent)
        return {"previous_key": old.verifier.vkey, "new_key": new.verifier.vkey,
                "change_entry": row.size - 1, "transition_checkpoint_size": row.size,
                "key_file": str(cfg.key_file),
                "next": "a running 'eco-aggregator serve' and the web UI take up the new key "
                        "by themselves; under systemd (run as root) restart eco-aggregator so "
                        "that the new key file is handed to the service's user"}
    finally:
        store.close()


__all__ = ["announcement", "load_log_signer", "next_key_path", "rotate"]
