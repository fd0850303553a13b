"""``eco-aggregator serve`` as a real process behind a real Mosquitto broker."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from aggregator.mosquitto import Mosquitto
from aggregator.store import SqliteStore
from eco_protocol.note import open_checkpoint, parse_verifier_key
from eco_protocol.records import Receipt
from eco_protocol.signing import verify_record
from tests.aggregator.serve_kit import (
    DeviceClient,
    enrolled_site,
    run_cli,
    start_serve,
    wait_subscribed,
)

pytestmark = pytest.mark.integration














def test_serve_accepts_receipts_and_checkpoints(tmp_path: Path, broker: Mosquitto,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    init, conf, device, enrolled = enrolled_site(tmp_path, broker.url, capsys, "serve",
                                                 household="Sato, 1-2-3")
    assert enrolled["device_id"] == device.device_id
    store = SqliteStore(tmp_path / "agg" / "ledger.sqlite3")
    (enrol_entry,) = [d for _, d in store.entries(0, store.size())]
    store.close()
    assert b"Sato" not in enrol_entry and enrolled["household"].encode() in enrol_entry
    proc = start_serve(conf)
    client = DeviceClient(device, broker.port)
    try:
        wait_subscribed(proc)  # the broker keeps nothing for an absent share
        client.send([device.reading(), device.reading()])
        receipt = client.receipt()
        log_vkey = parse_verifier_key(init["log_vkey"])
        verify_record(receipt, log_vkey.public_key, "receipt")
        items = Receipt.from_dict(receipt).items
        assert [i.status.value for i in items] == ["accepted", "accepted"]
        assert [i.leaf_index for i in items] == [1, 2]
        client.send([device.reading()])
        assert client.receipt()["items"][0]["leaf_index"] == 3
    finally:
        client.close()
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert json.loads(out)["stats"]["accepted"] == 3
    status = run_cli(capsys, "--config", conf, "status")
    assert status["size"] == 4 and status["checkpoint"]["size"] == 4
    verified = run_cli(capsys, "--config", conf, "ledger", "verify")
    assert verified["counts"] == {"eco.enrol/v1": 1, "eco.reading/v1": 3}
    run_cli(capsys, "--config", conf, "ledger", "export", str(tmp_path / "ev"))
    cp, _ = open_checkpoint((tmp_path / "ev" / "checkpoint").read_text(), log_vkey)
    assert cp.size == 4


def test_readings_sent_while_the_aggregator_is_down_are_kept(
        tmp_path: Path, broker: Mosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    """Persistent session: the broker queues for the aggregator's fixed client id."""
    _, conf, device, _ = enrolled_site(tmp_path, broker.url, capsys, "down")
    first = start_serve(conf)
    client = DeviceClient(device, broker.port)
    try:
        wait_subscribed(first)
        client.send([device.reading()])
        client.receipt()
        first.send_signal(signal.SIGTERM)
        first.communicate(timeout=20)
        client.send([device.reading()])
        client.send([device.reading()])
        second = start_serve(conf)
        try:
            got = [client.receipt(timeout=15)["items"][0]["status"] for _ in range(2)]
        finally:
            second.send_signal(signal.SIGTERM)
            second.communicate(timeout=20)
    finally:
        client.close()
    assert got == ["accepted", "accepted"]
    assert run_cli(capsys, "--config", conf, "status")["size"] == 4
