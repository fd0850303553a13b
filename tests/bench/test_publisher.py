"""The benchmark's device-side publisher and its loss checks, against a real Mosquitto.

The 100,000-device long run once stalled: its publisher queued every message in paho at once,
and past 65,535 unacknowledged messages MQTT's 16-bit packet identifiers collide, so paho refused
the rest while the harness went on waiting for their acknowledgements. These tests pin the bounded
publisher (a window of unacknowledged messages, every refusal raised) and the two ways a broker
loses messages without the publisher noticing: no subscriber (MQTT v5 reason 16) and a full
session queue (``max_queued_messages``, which Mosquitto acknowledges and only logs). No timing
thresholds.
"""

from __future__ import annotations

import os
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from aggregator.mosquitto import Mosquitto, broker_config, free_port
from bench.harness import PublishFailed, broker_drops, publish

pytestmark = pytest.mark.integration


def _subscriber(port: int, client_id: str, topic: str, *, persistent: bool
                ) -> tuple[mqtt.Client, list[bytes]]:
    """A QoS 1 subscriber; ``persistent``: a session that outlives its connection (as the
    aggregator's workers have), so the broker queues for it while it is away."""
    got: list[bytes] = []
    subscribed = threading.Event()
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_message = lambda _c, _u, m: got.append(bytes(m.payload))
    c.on_subscribe = lambda *_a: subscribed.set()
    props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
    props.SessionExpiryInterval = 3600 if persistent else 0
    c.connect("127.0.0.1", port, clean_start=not persistent, properties=props)
    c.subscribe(topic, qos=1)
    c.loop_start()
    assert subscribed.wait(10), "subscription not acknowledged"
    return c, got


def _wait(pred: Callable[[], bool], timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def _native_subscriber(port: int, topic: str, count: int) -> subprocess.Popen[str]:
    """Mosquitto's own ``mosquitto_sub`` at QoS 1, printing each payload in hex until ``count``
    messages arrived: the receiving side of a 70,000-message test in C, not in this process (a
    second paho client here doubled the test's CPU), and an implementation independent of ours.
    Returns once the subscription is in place: a probe to ``topic``'s ``ready`` is routed (MQTT v5
    reason 16 until then) and counts as the first of ``count``."""
    sub = subprocess.Popen(["mosquitto_sub", "-h", "127.0.0.1", "-p", str(port), "-V", "mqttv5",
                            "-q", "1", "-t", topic, "-C", str(count), "-F", "%x"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    probe = topic.removesuffix("#") + "ready"
    deadline = time.monotonic() + 10
    while True:
        try:
            publish(port, [(probe, b"")], "pub-test-probe")
            return sub
        except PublishFailed:
            if time.monotonic() > deadline or sub.poll() is not None:
                sub.kill()
                raise
            time.sleep(0.05)


def test_more_messages_than_packet_identifiers_all_arrive(broker: Mosquitto) -> None:
    """70,000 messages, more than MQTT's 65,535 packet identifiers: all acknowledged, all
    received, and the messages are taken from a generator as the window frees up."""
    n = 70_000
    sub = _native_subscriber(broker.port, "bench-test/70k/#", n + 1)
    taken = 0

    def messages() -> Iterator[tuple[str, bytes]]:
        nonlocal taken
        for k in range(n):
            taken += 1
            yield f"bench-test/70k/{k % 7}", k.to_bytes(4, "big")

    try:
        assert publish(broker.port, messages(), "pub-test-tx-70k", window=500) == n
        assert taken == n
        out, err = sub.communicate(timeout=120)
        assert sub.returncode == 0, err
        got = out.splitlines()
        assert got[0] == "" and len(got) == n + 1, f"{len(got) - 1} of {n} received"  # the probe
        assert sorted(int(h, 16) for h in got[1:]) == list(range(n))
    finally:
        sub.kill()
        sub.wait()


def test_a_window_of_one_still_delivers_everything(broker: Mosquitto) -> None:
    sub, got = _subscriber(broker.port, "pub-test-rx-w1", "bench-test/w1", persistent=False)
    try:
        msgs = [("bench-test/w1", bytes([k])) for k in range(40)]
        assert publish(broker.port, msgs, "pub-test-tx-w1", window=1) == 40
        assert _wait(lambda: len(got) >= 40)
        assert got == [bytes([k]) for k in range(40)]  # one at a time: in order
    finally:
        sub.disconnect()
        sub.loop_stop()


def test_a_message_nobody_subscribed_to_is_reported_not_counted(broker: Mosquitto) -> None:
    """MQTT v5 reason 16, "no matching subscribers", is a successful PUBACK for the protocol,
    but for a benchmark that counts receipts it is a lost message."""
    with pytest.raises(PublishFailed, match="did not route"):
        publish(broker.port, [("bench-test/nobody-listens", b"x")], "pub-test-tx-none")


def test_window_outside_packet_identifiers_is_refused(broker: Mosquitto) -> None:
    with pytest.raises(ValueError, match="65535"):
        publish(broker.port, [], "pub-test-tx-big", window=65_536)


@pytest.fixture
def small_queue_broker(tmp_path: Path) -> Iterator[Mosquitto]:
    """The project's broker configuration with ``max_queued_messages 5`` instead of 100,000."""
    port = free_port()
    state = tmp_path / "mosquitto"
    state.mkdir()
    text = broker_config(port, state, user="root" if os.geteuid() == 0 else None)
    assert "max_queued_messages 100000" in text
    conf = tmp_path / "small.conf"
    conf.write_text(text.replace("max_queued_messages 100000", "max_queued_messages 5"))
    with Mosquitto(state, port=port, config_file=conf) as b:
        yield b


def test_a_full_session_queue_is_found_in_the_broker_log(small_queue_broker: Mosquitto) -> None:
    """An offline persistent session with room for 5: Mosquitto acknowledges all 20 messages to
    the publisher and drops 15; only its log says so, and broker_drops finds it."""
    b = small_queue_broker
    log = b.state_dir / "mosquitto.log"
    sub, _ = _subscriber(b.port, "pub-test-away", "bench-test/queue", persistent=True)
    sub.disconnect()
    sub.loop_stop()
    assert broker_drops(log) == []
    assert publish(b.port, [("bench-test/queue", b"m")] * 20, "pub-test-tx-queue") == 20
    assert _wait(lambda: bool(broker_drops(log)), 10), log.read_text()[-2000:]
    assert "pub-test-away" in broker_drops(log)[0]
