"""Witness status (the web UI's Batches and Ledger pages) and the checkpoint a report is built on
so that it keeps a witness cosignature (issue 17); the CLI and the web UI share the rule.

A checkpoint's cosignatures are c2sp.org/tlog-cosignature ``cosignature/v1`` lines stored as
witnesses submit them (:mod:`aggregator.witness`, ``POST /cosignature``); each carries the
witness's timestamp, from which the page shows its age. A report is only as witnessed as the
checkpoint it is built on: a report regenerated on a fresh, not yet cosigned checkpoint would
make ``eco-verify --min-witnesses 1`` fail, so :func:`cosigned_checkpoint` finds the newest
checkpoint a witness cosigned that still holds everything the report draws on.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from eco_protocol.errors import NoteError
from eco_protocol.note import SIG_PREFIX, NoteSignature, cosignature_time

from .errors import Rejected
from .ledger import Ledger
from .store.interface import CheckpointRow, LedgerStore


@dataclass(frozen=True, slots=True)
class Cosigner:
    """One witness's line: its key name and, for a cosignature/v1, when it cosigned."""

    name: str
    at: datetime | None


@dataclass(frozen=True, slots=True)
class WitnessStatus:
    """The latest checkpoint's cosigners and, when it has none yet, the newest checkpoint that
    has some."""

    latest_size: int | None
    latest: tuple[Cosigner, ...]
    cosigned_size: int | None
    cosigned: tuple[Cosigner, ...]


def cosigners(lines: Iterable[str], log_name: str) -> tuple[Cosigner, ...]:
    """The witnesses among signature lines ``— name base64`` (the log's own line skipped)."""
    out = []
    for line in lines:
        line = line.strip()
        if not line.startswith(SIG_PREFIX):
            continue
        name, _, b64 = line[len(SIG_PREFIX):].partition(" ")
        if not name or name == log_name:
            continue
        try:
            at: datetime | None = datetime.fromtimestamp(
                cosignature_time(NoteSignature(name, 0, b64)), UTC)
        except (NoteError, OverflowError, OSError, ValueError):
            at = None  # a plain Ed25519 witness line carries no time
        out.append(Cosigner(name, at))
    return tuple(out)


def note_cosigners(note: str, log_name: str) -> tuple[Cosigner, ...]:
    """The witnesses that cosigned a checkpoint note as a report or evidence holds it."""
    _, _, signatures = note.partition("\n\n")
    return cosigners(signatures.splitlines(), log_name)


def report_cosigners(report_json: Path, log_name: str) -> tuple[Cosigner, ...] | None:
    """The cosigners of a stored report's checkpoint; None if there is no readable report."""
    try:
        note = json.loads(report_json.read_text("utf-8"))["checkpoint"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return note_cosigners(note, log_name) if isinstance(note, str) else None


def _cosigned_sizes(store: LedgerStore) -> list[int]:
    """Sizes of the checkpoints holding at least one cosignature, newest first."""
    sizes = {int(row[0]) for row in store.raw_rows("cosignature") if isinstance(row[0], int)}
    return sorted(sizes, reverse=True)


def witness_status(store: LedgerStore, log_name: str) -> WitnessStatus:
    row = store.latest_checkpoint()
    if row is None:
        return WitnessStatus(None, (), None, ())
    latest = cosigners(store.cosignatures(row.size), log_name)
    if latest:
        return WitnessStatus(row.size, latest, row.size, latest)
    sizes = _cosigned_sizes(store)
    if not sizes:
        return WitnessStatus(row.size, (), None, ())
    return WitnessStatus(row.size, (), sizes[0],
                         cosigners(store.cosignatures(sizes[0]), log_name))


def cosigned_checkpoint(ledger: Ledger, above: int) -> CheckpointRow | None:
    """The newest checkpoint a witness cosigned whose tree holds entry ``above`` (and so every
    entry before it) and that is signed by the log's current key (a report needs both); None
    if there is none yet."""
    store = ledger.store
    wanted = [s for s in _cosigned_sizes(store) if s > above]
    if not wanted:
        return None
    chain = ledger.key_chain()
    current = ledger.signer.verifier.vkey
    wanted = [s for s in wanted if chain.key_at(s).vkey == current]
    if not wanted:
        return None
    rows = {row.size: row for row in store.checkpoints() if row.size == wanted[0]}
    return rows.get(wanted[0])


class NeedsCosignature(Rejected):
    """Regenerating now would drop the stored report's witness cosignature."""

    def __init__(self, witnesses: tuple[str, ...]) -> None:
        self.witnesses = witnesses
        super().__init__(
            f"the stored report carries a cosignature of {', '.join(witnesses)}, but no "
            "cosigned checkpoint holds this batch yet: a report made now would have none and "
            "'eco-verify --min-witnesses 1' would fail. Run the witness (eco-aggregator "
            "witness) and make the report again; the stored report is unchanged")


def report_checkpoint(ledger: Ledger, last: int, stored_report: Path,
                      log_name: str) -> CheckpointRow | None:
    """The checkpoint to build a report on: the newest one a witness cosigned that holds entry
    ``last`` (the batch's seal or its latest certification), else None (a new checkpoint) —
    refused with :class:`NeedsCosignature` when the report already at ``stored_report`` carries
    a cosignature: regenerating must not silently drop it."""
    checkpoint = cosigned_checkpoint(ledger, last)
    stored = report_cosigners(stored_report, log_name)
    if checkpoint is None and stored:
        raise NeedsCosignature(tuple(c.name for c in stored))
    return checkpoint


def age_minutes(at: datetime | None, now: float) -> int | None:
    """Whole minutes since ``at`` (None if unknown); never negative."""
    return None if at is None else max(0, int((now - at.timestamp()) // 60))


__all__ = ["Cosigner", "NeedsCosignature", "WitnessStatus", "age_minutes", "cosigned_checkpoint",
           "cosigners", "note_cosigners", "report_checkpoint", "report_cosigners",
           "witness_status"]
