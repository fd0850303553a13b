"""SIGKILL the aggregator's writer mid-append, many times: the store must always reopen to the
last committed state with entries, interior hashes, device table and checkpoints consistent."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from aggregator.audit import audit
from aggregator.ledger import Ledger
from aggregator.store import SqliteStore
from eco_protocol.keys import private_key_from_raw
from eco_protocol.note import NoteSigner

pytestmark = pytest.mark.integration

WRITER = textwrap.dedent("""
    import sys
    from pathlib import Path
    from aggregator.intake import IngestLimits, Intake
    from aggregator.ledger import Ledger
    from aggregator.store import SqliteStore
    from eco_protocol.canonical import canonical_bytes
    from eco_protocol.keys import private_key_from_raw
    from eco_protocol.note import NoteSigner
    from tests.aggregator.ledger_kit import Device, enrol_device

    db, latest = Path(sys.argv[1]), Path(sys.argv[2])
    signer = NoteSigner("eco-ledger.crash.test", private_key_from_raw(bytes(32)))
    ledger = Ledger(SqliteStore(db), signer, latest)
    ledger.check_against_last_checkpoint()
    devices = [Device(key=private_key_from_raw(bytes([i + 1]) * 32)) for i in range(3)]
    for d in devices:
        row = ledger.store.device(d.device_id)
        if row is None:
            enrol_device(ledger, d)
        else:  # resume each device's chain from what the ledger holds
            d.seq, d.prev = row.next_seq - 1, row.last_hash
    # the writer runs far ahead of the wall clock: no skew bound in this test
    intake = Intake(ledger, IngestLimits(max_future_skew_s=10**9))
    print("ready", flush=True)
    while True:
        msgs = [(d.topic, canonical_bytes([d.reading(energy=10) for _ in range(4)]))
                for d in devices]
        for o in intake.process(msgs, "2026-11-23T00:00:00Z"):
            assert o.receipt is not None
            assert all(i["status"] == "accepted" for i in o.receipt["items"]), o.receipt
        ledger.checkpoint_now()
""")


def test_sigkill_mid_append_never_corrupts_the_store(tmp_path: Path) -> None:
    db, latest = tmp_path / "ledger.sqlite3", tmp_path / "checkpoint.latest"
    rng = random.Random(6962)
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    sizes = []
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WRITER, str(db), str(latest)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
        assert proc.stdout is not None
        assert proc.stdout.readline() == b"ready\n", proc.stderr.read() if proc.stderr else ""
        time.sleep(rng.uniform(0.05, 0.4))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        signer = NoteSigner("eco-ledger.crash.test", private_key_from_raw(bytes(32)))
        ledger = Ledger(SqliteStore(db), signer, latest)
        report = audit(ledger)  # every leaf, interior hash, chain and the last checkpoint
        ledger.check_against_last_checkpoint()
        sizes.append(report.size)
        ledger.store.close()
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0], sizes
