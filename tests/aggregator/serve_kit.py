"""eco-aggregator serve for tests: start it, a device client on the broker, isolation of a test's
topics, waiting for a subscription, the CLI."""

from __future__ import annotations

import json
import os
import queue
import re
import select
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.cli import main as aggregator_main
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert aggregator_main(list(args)) == 0
    return json.loads(capsys.readouterr().out)


def isolate(conf: str, name: str) -> None:
    """Own client id and share group per test. Mosquitto hands an offline persistent member of
    a share group its turn of the messages, so an earlier test's session would take some."""
    text = Path(conf).read_text()
    text = re.sub(r'(?m)^client_id = ".*"$', f'client_id = "agg-{name}"', text)
    text = re.sub(r'(?m)^share_group = ".*"$', f'share_group = "g-{name}"', text)
    Path(conf).write_text(text)


def wait_subscribed(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Wait for serve's 'connected' log line (it subscribes right then), not a fixed time: a
    loaded machine starts Python slower than any fixed sleep assumes."""
    assert proc.stderr is not None
    deadline = time.monotonic() + timeout
    seen = b""
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stderr], [], [], 0.2)
        if ready:
            line = proc.stderr.readline()
            seen += line
            if b"connected to" in line:
                time.sleep(0.2)  # the SUBSCRIBE follows the CONNACK
                return
            if not line:
                break
    raise AssertionError(f"serve did not connect: {seen.decode(errors='replace')}")


def start_serve(conf: str) -> subprocess.Popen[bytes]:
    """``eco-aggregator serve`` as its own process, stdout and stderr piped."""
    return subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", conf, "serve"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(Path.cwd())})


class DeviceClient:
    def __init__(self, device: Device, port: int) -> None:
        self.device = device
        self.receipts: queue.Queue[bytes] = queue.Queue()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=device.device_id,
                        protocol=mqtt.MQTTv5)
        c.on_message = lambda _c, _u, m: self.receipts.put(bytes(m.payload))
        c.connect("127.0.0.1", port)
        c.subscribe(f"eco/v1/{device.device_id}/receipts", qos=1)
        c.loop_start()
        self.client = c

    def send(self, readings: list[dict[str, Any]]) -> None:
        self.client.publish(self.device.topic, canonical_bytes(readings), qos=1)

    def send_until_receipt(self, readings: list[dict[str, Any]],
                           timeout: float = 30.0) -> dict[str, Any]:
        """Resend until a receipt arrives, as an agent does: the worker may still be starting
        (a shared subscription keeps nothing for a group nobody has joined yet)."""
        deadline = time.monotonic() + timeout
        while True:
            self.send(readings)
            try:
                return self.receipt(timeout=1.0)
            except queue.Empty:
                if time.monotonic() > deadline:
                    raise

    def receipt(self, timeout: float = 10.0) -> dict[str, Any]:
        obj: dict[str, Any] = parse_json(self.receipts.get(timeout=timeout))
        return obj

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def enrolled_site(tmp_path: Path, broker_url: str, capsys: pytest.CaptureFixture[str],
                  name: str, household: str = "h") -> tuple[dict[str, Any], str, Device,
                                                           dict[str, Any]]:
    """``init`` a state directory with its own client id and share group, and ``enrol`` one PV
    device; returns (init output, config path, the device, enrol output)."""
    state = tmp_path / "agg"
    init = run_cli(capsys, "--config", str(state / "aggregator.toml"), "init", str(state),
                   "--origin", f"eco-ledger.{name}.test", "--broker", broker_url)
    conf = init["config"]
    isolate(conf, name)
    device = Device()
    enrolled = run_cli(capsys, "--config", conf, "enrol", "--public-key",
                       b64encode(public_key_raw(device.key)), "--household", household,
                       "--programme", "prog-1", "--meter", "pv1:pv_generation:sunspec-modbus:4500",
                       *PV_TERMS)
    return init, conf, device, enrolled
