"""Several ingest workers, one sequencer (docs/architecture.md, Scale).

Worker processes judge and append concurrently to one store — a PostgreSQL database, or the
SQLite file — and the store's sequencer (``pg_advisory_xact_lock`` / ``BEGIN IMMEDIATE``) must
keep leaf indexes dense and every device's readings in seq order, each appended exactly once.
Then the same through the real thing: two ``eco-aggregator serve`` processes on one shared
subscription of a real Mosquitto, on a PostgreSQL store.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import pytest

from aggregator.audit import audit
from aggregator.ledger import Ledger
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.encoding import b64encode
from eco_protocol.keys import private_key_from_raw, public_key_raw
from eco_protocol.note import NoteSigner, parse_verifier_key
from eco_protocol.records import Receipt, ReceiptItem, ReceiptStatus
from eco_protocol.signing import verify_record
from tests.aggregator.ledger_kit import PV_TERMS, Device, StoreBackend, enrol_device
from tests.aggregator.serve_kit import DeviceClient, isolate, run_cli

ORIGIN = "eco-ledger.concurrency.test"
LOG_KEY = private_key_from_raw(bytes(32))
NOW = "2026-11-23T00:00:00Z"

WORKER = textwrap.dedent("""
    import json, sys, time
    from aggregator.intake import Intake
    from aggregator.ledger import Ledger
    from aggregator.store import open_store
    from eco_protocol.keys import private_key_from_raw
    from eco_protocol.note import NoteSigner

    url, messages_file, group = sys.argv[1], sys.argv[2], int(sys.argv[3])
    pending = [(t, bytes.fromhex(p)) for t, p in json.load(open(messages_file))]
    ledger = Ledger(open_store(url), NoteSigner(sys.argv[4], private_key_from_raw(bytes(32))))
    intake = Intake(ledger)
    print("ready", flush=True)
    sys.stdin.readline()  # all workers start together
    receipts, gaps, rounds = [], 0, 0
    while pending:
        rounds += 1
        assert rounds < 5000, "no progress"
        batch, pending = pending[:group], pending[group:]
        retry = []
        for msg, o in zip(batch, intake.process(batch, sys.argv[5])):
            if any(i["status"] == "rejected" and i["reason"].startswith("gap:")
                   for i in o.receipt["items"]):
                retry.append(msg)  # an earlier reading is at another worker: the device resends
            else:
                receipts.append(o.receipt)
        gaps += len(retry)
        pending += retry
        if rounds % 5 == 0:  # workers sign checkpoints concurrently too
            with ledger.store.transaction():
                ledger.sign_checkpoint()
        time.sleep(0.002 if retry else 0.0005)
    print(json.dumps({"receipts": receipts, "gaps": gaps}), flush=True)
""")


def _readings_in_ledger_order(ledger: Ledger) -> list[tuple[str, int, int]]:
    """(device_id, seq, leaf index) of every reading entry, in ledger order."""
    out = []
    for index, data in ledger.store.entries(0, ledger.size()):
        obj = parse_json(data)
        assert isinstance(obj, dict)
        if obj["type"] == "eco.reading/v1":
            out.append((obj["device_id"], obj["seq"], index))
    return out


@pytest.mark.parametrize("workers", [3])
def test_concurrent_workers_append_each_reading_once_in_order(
        store_backend: StoreBackend, tmp_path: Path, workers: int) -> None:
    """A shared subscription with redelivery: each message reaches two of the workers, so a
    device's readings are spread over all of them and some arrive twice. A worker that gets a
    reading before the device's previous one is in the ledger gets a gap rejection and sees it
    again later, as the device would resend it."""
    n_devices, n_readings, group = 4, 25, 4
    url = store_backend.new_url()
    ledger = Ledger(store_backend.open(url), NoteSigner(ORIGIN, LOG_KEY))
    devices = [Device(key=private_key_from_raw(bytes([i + 1]) * 32)) for i in range(n_devices)]
    for d in devices:
        enrol_device(ledger, d)
    readings = {d.device_id: [canonical_bytes([d.reading()]) for _ in range(n_readings)]
                for d in devices}
    topics = {d.device_id: d.topic for d in devices}
    env = {**os.environ, "PYTHONPATH": str(Path.cwd())}
    procs, delivered = [], []
    published = [(topics[d.device_id], readings[d.device_id][s].hex())
                 for s in range(n_readings) for d in devices]
    for w in range(workers):
        msgs = [m for i, m in enumerate(published) if w in (i % workers, (i + 1) % workers)]
        delivered.append(len(msgs))
        f = tmp_path / f"messages-{w}.json"
        f.write_text(json.dumps(msgs))
        procs.append(subprocess.Popen(
            [sys.executable, "-c", WORKER, url, str(f), str(group), ORIGIN, NOW],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env))
    try:
        for p in procs:
            assert p.stdout is not None and p.stdout.readline() == b"ready\n", \
                p.stderr.read() if p.stderr else ""
        for p in procs:
            assert p.stdin is not None
            p.stdin.write(b"go\n")
            p.stdin.flush()
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, err.decode()
            results.append(json.loads(out))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()

    accepted: dict[tuple[str, int], int] = {}
    accepted_by = Counter[int]()
    answers: dict[tuple[str, int], set[tuple[int | None, str]]] = defaultdict(set)
    for w, result in enumerate(results):
        # every message got a final receipt (accepted or duplicate) from each worker it reached
        assert len(result["receipts"]) == delivered[w]
        for raw in result["receipts"]:
            assert raw is not None
            verify_record(raw, LOG_KEY.public_key(), "receipt")
            r = Receipt.from_dict(raw)
            for item in r.items:
                key = (r.device_id, item.seq)
                assert item.status in (ReceiptStatus.ACCEPTED, ReceiptStatus.DUPLICATE), item
                answers[key].add((item.leaf_index, item.reading_sha256))
                if item.status is ReceiptStatus.ACCEPTED:
                    assert key not in accepted, f"{key} accepted twice"
                    accepted[key] = w
                    accepted_by[w] += 1
    assert len(accepted) == n_devices * n_readings
    assert all(len(a) == 1 for a in answers.values()), "duplicates must name the first leaf"
    assert len(accepted_by) >= 2, f"the workers did not overlap: {accepted_by}"

    in_ledger = _readings_in_ledger_order(ledger)
    assert ledger.size() == n_devices + n_devices * n_readings
    assert len({(d, s) for d, s, _ in in_ledger}) == len(in_ledger)  # no (device, seq) twice
    for d in devices:
        seqs = [s for dev, s, _ in in_ledger if dev == d.device_id]
        assert seqs == list(range(1, n_readings + 1))  # ledger order is seq order
        for dev, s, index in in_ledger:
            if dev == d.device_id:
                assert answers[(dev, s)] == {(index, _readings_sha(readings[dev][s - 1]))}
                row = ledger.store.reading(dev, s)
                assert row is not None and row.leaf_index == index
    report = audit(ledger)  # dense indexes, every leaf and interior hash, device table
    assert report.size == ledger.size()
    with ledger.store.transaction():
        ledger.sign_checkpoint()
    assert ledger.check_against_last_checkpoint() is not None
    ledger.store.close()


def _readings_sha(message: bytes) -> str:
    """The reading_sha256 of the single reading in a one-reading message."""
    (obj,) = parse_json(message)
    return hashlib.sha256(canonical_bytes(obj)).hexdigest()


class _ServeProcess:
    """``eco-aggregator serve`` as a subprocess, its stderr watched for the broker connection."""

    def __init__(self, conf: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "aggregator.cli", "--config", str(conf), "serve"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path.cwd())})
        self.log: list[str] = []
        self.connected = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            text = line.decode(errors="replace")
            self.log.append(text)
            if "connected to" in text:
                self.connected.set()

    def stop(self) -> dict[str, Any]:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=30)
        self._reader.join(5)
        assert self.proc.returncode == 0, "".join(self.log)
        result: dict[str, Any] = json.loads(out)
        return result


@pytest.mark.integration
def test_two_serve_workers_on_one_shared_subscription_and_postgresql(
        tmp_path: Path, broker: Mosquitto, postgres_db: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    init = run_cli(capsys, "--config", str(state / "aggregator.toml"), "init", str(state),
                   "--origin", "eco-ledger.scale.test", "--broker", broker.url,
                   "--store", postgres_db)
    assert init["store"].startswith("postgresql://")
    conf = Path(init["config"])
    isolate(str(conf), "pg-shared")
    conf2 = state / "worker2.toml"  # same store, key and share group; its own client id
    conf2.write_text(conf.read_text().replace('client_id = "agg-pg-shared"',
                                              'client_id = "agg-pg-shared-2"'))
    devices = [Device() for _ in range(4)]
    for d in devices:
        run_cli(capsys, "--config", str(conf), "enrol", "--public-key",
                b64encode(public_key_raw(d.key)), "--household", f"house {d.device_id[:6]}",
                "--programme", "prog-1", "--meter", "pv1:pv_generation:sunspec-modbus:4500",
                *PV_TERMS)
    workers = [_ServeProcess(conf), _ServeProcess(conf2)]
    clients = [DeviceClient(d, broker.port) for d in devices]
    results = []
    try:
        for w in workers:
            assert w.connected.wait(20), "".join(w.log)
        time.sleep(0.5)  # subscriptions acknowledged: the broker keeps nothing for an absent share
        got: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for _ in range(5):  # every device has one message in flight at a time, like an agent
            for c in clients:
                c.send([c.device.reading(), c.device.reading()])
            for c in clients:
                got[c.device.device_id].append(c.receipt(timeout=20))
    finally:
        for c in clients:
            c.close()
        for w in workers:
            results.append(w.stop())
    log_vkey = parse_verifier_key(init["log_vkey"])
    leaves: list[int] = []
    for d in devices:
        items: list[ReceiptItem] = []
        for raw in got[d.device_id]:
            verify_record(raw, log_vkey.public_key, "receipt")
            items += Receipt.from_dict(raw).items
        assert [i.status for i in items] == [ReceiptStatus.ACCEPTED] * 10
        assert [i.seq for i in items] == list(range(1, 11))
        indexes = [i.leaf_index for i in items if i.leaf_index is not None]
        # the device's order is the ledger's order
        assert len(indexes) == 10 and indexes == sorted(indexes)
        leaves += indexes
    assert sorted(leaves) == list(range(len(devices), len(devices) + 40))  # dense, no repeats
    per_worker = [r["stats"]["messages"] for r in results]
    assert sum(per_worker) == 20 and min(per_worker) > 0, per_worker  # both did share the work
    verified = run_cli(capsys, "--config", str(conf), "ledger", "verify")
    assert verified["counts"] == {"eco.enrol/v1": 4, "eco.reading/v1": 40}
    status = run_cli(capsys, "--config", str(conf), "status")
    assert status["size"] == 44 and status["checkpoint"]["size"] == 44
