"""Writing the evidence directory of docs/protocol.md §5 (``ledger export``).

Files are written to a temporary sibling directory and renamed into place, so a reader never
sees a half-written export and a power cut leaves the previous export intact.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from eco_protocol.encoding import b64encode
from eco_protocol.note import Checkpoint

from .errors import EnvironmentProblem
from .ledger import Ledger
from .progress import ProgressCallback, every
from .store.interface import CheckpointRow


def export_evidence(ledger: Ledger, out: Path,
                    witness_vkeys: Sequence[str] | None = None,
                    progress: ProgressCallback | None = None,
                    checkpoint: CheckpointRow | None = None) -> int:
    """Export the latest signed checkpoint (or ``checkpoint``, an earlier one: a report built
    on the newest checkpoint a witness cosigned) and every entry below its size; returns the
    size.

    ``checkpoint`` carries the witness cosignature lines the log collected for it (verified when
    they were submitted), ``witnesses.vkeys`` the keys of the witnesses the log accepts."""
    row = checkpoint or ledger.latest_checkpoint()
    if row is None:
        raise EnvironmentProblem("the log has no signed checkpoint yet; nothing to export")
    size = Checkpoint.from_text(row.note.split("\n\n", 1)[0] + "\n").size
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    (tmp / "checkpoint").write_text(row.note + "".join(ledger.store.cosignatures(row.size)),
                                    "utf-8")
    (tmp / "log.vkey").write_text(ledger.signer.verifier.vkey + "\n", "utf-8")
    chain = ledger.key_chain()
    if chain.changed_at:  # every key the log has had, oldest first; the replay confirms it
        (tmp / "log.vkeys").write_text("".join(f"{k}\n" for k in chain.vkeys()), "utf-8")
    (tmp / "witnesses.vkeys").write_text("".join(f"{w}\n" for w in witness_vkeys or []),
                                         "utf-8")
    with open(tmp / "entries.jsonl", "w", encoding="utf-8") as f:
        for index, data in ledger.store.entries(0, size):
            f.write(json.dumps({"index": index, "entry_b64": b64encode(data)},
                               separators=(",", ":")) + "\n")
            every(progress, "export", index + 1, size)
        f.flush()
        os.fsync(f.fileno())
    old = out.with_name(out.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return size
