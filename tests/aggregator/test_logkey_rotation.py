"""``eco-aggregator log-key rotate``: the log changes its key and nothing old stops verifying.

Issue 6 point 4: "key rotation for the log (old checkpoints stay verifiable; the new key is
announced in the log)". These tests rotate a real ledger (SQLite, and the running ``serve``
process behind a real broker), cut a rotation short at each step, and check a batch report and
the evidence offline with a buyer's pinned old key and with the new one."""

from __future__ import annotations

import json
import os
import queue
import signal
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aggregator import logkeys
from aggregator.audit import audit
from aggregator.cli import open_ledger
from aggregator.config import load_config
from aggregator.errors import StoreCorrupt
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.keyfile import load_private_key, save_private_key
from eco_protocol.logkey import LOG_KEYS_TOPIC, next_keys
from eco_protocol.note import NoteSigner, open_checkpoint, parse_verifier_key
from eco_protocol.report import verify_report
from eco_protocol.signing import verify_record
from eco_protocol.verify_cli import main as verify_main
from tests.aggregator.ledger_kit import Device
from tests.aggregator.serve_kit import DeviceClient, enrolled_site, start_serve, wait_subscribed
from tests.aggregator.serve_kit import run_cli as serve_cli
from tests.protocol.records_kit import make_log_signer
from tests.webui.webui_kit import make_world, run_cli


def _verify_evidence_cli(evidence: Path, vkey: str) -> int:
    return verify_main(["evidence", str(evidence), "--log-key", vkey])


def test_a_rotated_log_keeps_every_old_checkpoint_and_report_verifiable(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    old_vkey = world.log_vkey
    a = "Sato, 1-2 Chuo"
    world.enrol_pv(a)
    world.send(a, 24, energy=900)
    before = run_cli(world.conf, "status")["checkpoint"]

    rotated = world.cli("log-key", "rotate", "--reason", "yearly rotation")
    new_vkey = rotated["new_key"]
    assert rotated["previous_key"] == old_vkey and new_vkey != old_vkey
    assert parse_verifier_key(new_vkey).name == parse_verifier_key(old_vkey).name
    cfg = world.cfg
    assert stat.S_IMODE(cfg.key_file.stat().st_mode) == 0o600
    assert not logkeys.next_key_path(cfg.key_file).exists()
    assert NoteSigner(cfg.origin, load_private_key(cfg.key_file)).verifier.vkey == new_vkey
    history = world.cli("log-key", "history")
    assert history == {"keys": [old_vkey, new_vkey],
                       "changed_at_entries": [rotated["change_entry"]]}

    # after the change: a second household, more readings, a batch and its report
    b = "Suzuki, 3-4 Minami"
    world.enrol_pv(b)
    world.send(b, 24, energy=1200)
    world.send(a, 24, energy=900, start=24)
    batch = world.cli("batch", "create", "--period", "2026-11-22..2026-11-24")
    out = tmp_path / "report"
    world.cli("batch", "report", batch["batch_id"], "--out", str(out))
    report = json.loads((out / "report.json").read_text())
    assert report["log_key"] == new_vkey and len(report["log_key_changes"]) == 1

    # every checkpoint the log ever signed verifies under the key of its time; the transition
    # checkpoint carries both signatures
    with _opened(cfg) as ledger:
        assert not audit(ledger).problems
        rows = ledger.store.checkpoints()
    old_key, new_key = parse_verifier_key(old_vkey), parse_verifier_key(new_vkey)
    first = next(r for r in rows if r.size == before["size"])
    open_checkpoint(first.note, old_key)
    transition = next(r for r in rows if r.size == rotated["transition_checkpoint_size"])
    open_checkpoint(transition.note, old_key)
    open_checkpoint(transition.note, new_key)
    with pytest.raises(Exception, match="no signature by a known key"):
        open_checkpoint(rows[-1].note, old_key)  # later ones: the new key only

    # the buyer who pinned the old key and the one who pinned the new key both verify the
    # report, with and without the full evidence; a stranger's key does not
    evidence = out / "evidence"
    assert (evidence / "log.vkeys").read_text().split() == [old_vkey, new_vkey]
    lines = (evidence / "entries.jsonl").read_text().splitlines()
    for pinned in (old_vkey, new_vkey):
        res = verify_report(report, pinned,
                            evidence=((evidence / "checkpoint").read_text(), lines))
        assert res.credits_t >= 0 and any("log key change" in c for c in res.checks)
        assert _verify_evidence_cli(evidence, pinned) == 0
    stranger = make_log_signer(origin=cfg.origin, label="stranger").verifier.vkey
    with pytest.raises(Exception, match="not in the log's key chain"):
        verify_report(report, stranger)
    assert _verify_evidence_cli(evidence, stranger) == 1
    # a report stripped of its key changes does not verify for the old key's holder
    stripped = {k: v for k, v in report.items() if k != "log_key_changes"}
    with pytest.raises(Exception, match="no log key change leading to it"):
        verify_report(stripped, old_vkey)


class _opened:
    """``open_ledger`` as a context manager that closes the store."""

    def __init__(self, cfg: Any) -> None:
        self.ledger = open_ledger(cfg)

    def __enter__(self) -> Any:
        return self.ledger

    def __exit__(self, *_: object) -> None:
        self.ledger.store.close()


def test_a_rotation_cut_short_after_the_commit_is_finished_at_the_next_start(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    world = make_world(tmp_path)
    world.enrol_pv("Sato")
    world.send("Sato", 4)
    cfg = world.cfg
    real_replace = os.replace

    def power_cut(src: Any, dst: Any) -> None:
        if str(src).endswith(".next"):
            raise OSError("simulated power cut before the key file was replaced")
        real_replace(src, dst)

    monkeypatch.setattr(logkeys.os, "replace", power_cut)
    with pytest.raises(OSError, match="power cut"):
        logkeys.rotate(cfg, "cut short")
    monkeypatch.setattr(logkeys.os, "replace", real_replace)
    pending = logkeys.next_key_path(cfg.key_file)
    assert pending.exists()  # the store already signs with it; log.key is still the old one
    new_vkey = NoteSigner(cfg.origin, load_private_key(pending)).verifier.vkey

    with _opened(cfg) as ledger:  # the next start finishes step 3
        assert ledger.signer.verifier.vkey == new_vkey
        assert not audit(ledger).problems
    assert not pending.exists()
    assert NoteSigner(cfg.origin, load_private_key(cfg.key_file)).verifier.vkey == new_vkey
    world.send("Sato", 4, start=4)  # and the log goes on under the new key
    assert world.cli("log-key", "history")["keys"][-1] == new_vkey


def test_a_rotation_raced_by_a_running_serve_still_succeeds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """CI, 2026-12-05: serve noticed the new key in the store between rotate's commit and its
    rename and finished step 3 itself; rotate then failed on the rename although the key was in
    place. The race is replayed deterministically: another opener runs right before the rename."""
    world = make_world(tmp_path)
    world.enrol_pv("Sato")
    world.send("Sato", 4)
    cfg = world.cfg
    real_replace = os.replace

    raced: list[bool] = []

    def serve_gets_there_first(src: Any, dst: Any) -> None:
        if str(src).endswith(".next") and not raced:
            raced.append(True)
            with _opened(cfg):  # serve's own load_log_signer does the rename
                pass
        real_replace(src, dst)

    monkeypatch.setattr(logkeys.os, "replace", serve_gets_there_first)
    out = logkeys.rotate(cfg, "raced")
    monkeypatch.setattr(logkeys.os, "replace", real_replace)
    assert raced  # the other opener did run between the commit and the rename
    assert not logkeys.next_key_path(cfg.key_file).exists()
    assert NoteSigner(cfg.origin, load_private_key(cfg.key_file)).verifier.vkey == out["new_key"]
    world.send("Sato", 4, start=4)
    assert world.cli("log-key", "history")["keys"][-1] == out["new_key"]


def test_a_rotation_cut_short_before_the_commit_reuses_its_new_key(tmp_path: Path) -> None:
    world = make_world(tmp_path)
    cfg = world.cfg
    spare = make_log_signer(origin=cfg.origin, label="spare")
    save_private_key(logkeys.next_key_path(cfg.key_file), spare.private_key)
    out = world.cli("log-key", "rotate", "--reason", "second try")
    assert out["new_key"] == spare.verifier.vkey


def _watch_log_keys(port: int) -> tuple[mqtt.Client, queue.Queue[bytes]]:
    """A client subscribed to eco/v1/log/keys, as a device would be, and what it receives."""
    got: queue.Queue[bytes] = queue.Queue()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: got.put(bytes(m.payload))
    c.connect("127.0.0.1", port)
    c.subscribe(LOG_KEYS_TOPIC, qos=1)
    c.loop_start()
    return c, got


@pytest.mark.integration
def test_serve_takes_up_a_rotated_key_and_announces_it(tmp_path: Path, fresh_broker: Mosquitto,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    broker = fresh_broker  # its retained announcement must not reach other tests' agents
    init, conf, device, _ = enrolled_site(tmp_path, broker.url, capsys, "rotate")
    watcher, announcements = _watch_log_keys(broker.port)
    proc = start_serve(conf)
    client = DeviceClient(device, broker.port)
    old = parse_verifier_key(init["log_vkey"])
    try:
        wait_subscribed(proc)
        verify_record(client.send_until_receipt([device.reading()]), old.public_key, "receipt")
        rotated = serve_cli(capsys, "--config", conf, "log-key", "rotate", "--reason", "test")
        new = parse_verifier_key(rotated["new_key"])
        receipt = client.send_until_receipt([device.reading()])
        verify_record(receipt, new.public_key, "receipt")  # serve signs with the new key now
        assert receipt["items"][0]["status"] == "accepted"
        records = parse_json(announcements.get(timeout=20))
        followed = next_keys(old, records)
        assert [c.new.vkey for c in followed] == [new.vkey]
    finally:
        client.close()
        watcher.disconnect()
        watcher.loop_stop()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert b"the log key changed" in err
    verified = serve_cli(capsys, "--config", conf, "ledger", "verify")
    assert verified["ok"] and verified["counts"]["eco.logkey/v1"] == 1
    # the retained announcement greets a device that connects later
    c, late = _watch_log_keys(broker.port)
    try:
        assert next_keys(old, parse_json(late.get(timeout=10)))[-1].new.vkey == new.vkey
    finally:
        c.disconnect()
        c.loop_stop()
    cfg = load_config(Path(conf))
    assert NoteSigner(cfg.origin, load_private_key(cfg.key_file)).verifier.vkey == new.vkey


def test_a_key_change_on_each_store_backend(ledger: Any, device: Device) -> None:
    """The same change on SQLite and on the real PostgreSQL: the meta, the chain, the audit,
    and a second ledger opened with the old key refused by name."""
    old = ledger.signer
    intake = Intake(ledger)
    intake.process([(device.topic, canonical_bytes([device.reading()]))], "2026-12-01T00:00:00Z")
    ledger.checkpoint_now()
    new = make_log_signer(origin=old.name, label="backend-new")
    with ledger.store.transaction():
        # the time of signing: the audit holds checkpoints' signed_at to the clock's order
        row = ledger.change_key(new, "test", datetime.now(UTC).replace(microsecond=0))
    open_checkpoint(row.note, old.verifier)
    open_checkpoint(row.note, new.verifier)
    (o,) = intake.process([(device.topic, canonical_bytes([device.reading()]))],
                          "2026-12-01T00:00:00Z")
    verify_record(o.receipt, new.verifier.public_key, "receipt")
    ledger.checkpoint_now()
    chain = ledger.key_chain()
    assert chain.vkeys() == [old.verifier.vkey, new.verifier.vkey]
    assert chain.changed_at == (row.size - 1,)
    assert not audit(ledger).problems
    with pytest.raises(StoreCorrupt, match="signed with log key"):
        Ledger(ledger.store, old)
