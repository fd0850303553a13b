"""serve's cap on paho's outgoing queue (docs/pitfalls.md §1: unbounded by default, so RAM grows
through a broker outage). In-process, with the broker away: receipts beyond the cap are counted,
not queued, and the readings stay committed; a log key announcement that finds the queue full is
tried again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from paho.mqtt.enums import MQTTErrorCode

import aggregator.serve as serve
from aggregator.cli import main as aggregator_main
from aggregator.config import load_config
from aggregator.ledger import Ledger
from aggregator.logkeys import load_log_signer
from aggregator.mosquitto import free_port
from aggregator.store import open_store
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from eco_protocol.topics import readings_topic
from tests.aggregator.ledger_kit import PV_TERMS, Device


def test_receipts_over_the_cap_are_counted_not_queued(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "agg"
    # a broker URL nobody listens on: everything serve publishes stays in paho's queue
    assert aggregator_main(["--config", str(state / "aggregator.toml"), "init", str(state),
                            "--origin", "eco-ledger.cap.test",
                            "--broker", f"mqtt://127.0.0.1:{free_port()}"]) == 0
    conf = json.loads(capsys.readouterr().out)["config"]
    device = Device()
    assert aggregator_main(["--config", conf, "enrol", "--public-key",
                            b64encode(public_key_raw(device.key)), "--household", "h",
                            "--programme", "prog-1", "--meter",
                            "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS]) == 0
    capsys.readouterr()
    cfg = load_config(Path(conf))
    store = open_store(cfg)
    ledger = Ledger(store, load_log_signer(cfg, store.get_meta("log_vkey")),
                    cfg.state_dir / "checkpoint.latest")
    monkeypatch.setattr(serve, "MAX_QUEUED_PUBLISHES", 2)
    worker = serve.IngestWorker(cfg, ledger)
    try:
        assert worker.client.max_queued_messages == 2
        topic = readings_topic(device.device_id)
        group = [(topic, canonical_bytes([device.reading()]), 0, 0) for _ in range(5)]
        worker._process(group)
        assert worker.stats.accepted == 5, "every reading is committed all the same"
        assert worker.stats.receipts_unsent == 3
        assert ledger.size() == 6
        # the announcement: not queued while the queue is full, so it is due again
        worker._announcement = b"[]"
        worker._announce_keys()
        assert worker._announce_due
        assert worker.client.publish("x", b"", qos=1).rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
    finally:
        store.close()
