"""The red-team suite, a cloned device: two boxes with one device key (an SD card copied, or an
old image restored) sign two histories. Against the real ``serve`` behind a real Mosquitto: the
contradicting reading is refused and the device quarantined in the log; its later readings are
logged but credit nothing, an honest neighbour is unaffected, ``ledger verify`` agrees, and only
the operator's ``release`` (recorded in the audit trail) lets it credit again."""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

import pytest

from aggregator.config import load_config
from aggregator.mosquitto import Mosquitto
from aggregator.operator import read_audit
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from eco_protocol.records import Receipt, ReceiptStatus
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.aggregator.serve_kit import (
    DeviceClient,
    isolate,
    run_cli,
    start_serve,
    wait_subscribed,
)

pytestmark = pytest.mark.integration


def test_a_cloned_device_is_quarantined_until_the_operator_releases_it(
        tmp_path: Path, broker: Mosquitto, capsys: pytest.CaptureFixture[str]) -> None:
    state = tmp_path / "agg"
    conf = run_cli(capsys, "--config", str(state / "aggregator.toml"), "init", str(state),
                   "--origin", "eco-ledger.clone.test", "--broker", broker.url)["config"]
    isolate(conf, "clone")
    box, neighbour = Device(), Device()
    for d, home in ((box, "Clone home"), (neighbour, "Neighbour home")):
        run_cli(capsys, "--config", conf, "enrol", "--public-key",
                b64encode(public_key_raw(d.key)), "--household", home, "--programme", "p",
                "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS,
                "--enrolled-at", "2026-11-01")  # before the readings, which start at T0
    proc = start_serve(conf)
    items: list[Any] = []

    def send(client: DeviceClient, d: Device, energy: int = 500) -> Any:
        (item,) = Receipt.from_dict(client.send_until_receipt([d.reading(energy)])).items
        return item

    try:
        wait_subscribed(proc)
        a, n = DeviceClient(box, broker.port), DeviceClient(neighbour, broker.port)
        items.append(send(a, box))
        clone = copy.deepcopy(box)  # the copied SD card, from here on a second history
        items += [send(a, box) for _ in range(2)]
        a.close()
        c = DeviceClient(clone, broker.port)
        forked = send(c, clone, 480)  # the clone's seq 2: the log already has another
        c.close()
        a = DeviceClient(box, broker.port)
        quarantined = [send(a, box) for _ in range(2)]
        neighbours = [send(n, neighbour) for _ in range(3)]
        before = run_cli(capsys, "--config", conf, "ledger", "verify")
        released = run_cli(capsys, "--config", conf, "release", box.device_id, "--reason",
                           "checked on site: the old SD card was destroyed")
        after = send(a, box)
        a.close()
        n.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=20)

    assert all(i.status is ReceiptStatus.ACCEPTED and i.creditable for i in items)
    assert forked.status is ReceiptStatus.REJECTED and forked.reason.startswith("fork:")
    assert [i.status for i in quarantined] == [ReceiptStatus.ACCEPTED] * 2  # never stalls
    assert all(i.creditable is False and i.reason.startswith("quarantined:")
               for i in quarantined)
    assert all(i.creditable for i in neighbours)
    assert before["ok"] is True and before["not_creditable"] == {"quarantined": 2}
    assert after.status is ReceiptStatus.ACCEPTED and after.creditable is True
    verified = run_cli(capsys, "--config", conf, "ledger", "verify")
    assert verified["ok"] is True and verified["not_creditable"] == {"quarantined": 2}
    (rec,) = [r for r in read_audit(load_config(Path(conf))) if r["action"] == "release"]
    assert (rec["device_id"], rec["index"], rec["outcome"]) == (
        box.device_id, released["index"], "ok")
