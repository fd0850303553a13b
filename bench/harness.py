"""Real processes for the benchmarks: an aggregator state directory, ``eco-aggregator serve``
workers, a device-side MQTT publisher and a receipt counter.

Nothing here is a mock: the workers are the console command a deployment runs, behind the real
Mosquitto, on a real SQLite file or PostgreSQL database.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.cli import main as aggregator_main
from aggregator.cli import open_ledger
from aggregator.config import load_config
from aggregator.ledger import Ledger
from eco_protocol.topics import RECEIPTS_FILTER, readings_topic
from firmware_sim.procs import kill_group

REPO = Path(__file__).resolve().parent.parent


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


def cli_json(*args: str) -> Any:
    """Run ``eco-aggregator ARGS`` (its ``main``, in this process: a one-off command, so the
    interpreter's start-up is not worth paying again) and return its JSON output."""
    out, err = io.StringIO(), io.StringIO()
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            rc = aggregator_main(list(args))
    finally:  # main() configures logging for itself: give ours back
        root.handlers[:] = handlers
        root.setLevel(level)
    if rc != 0:
        raise RuntimeError(f"eco-aggregator {' '.join(args[:4])} failed: {err.getvalue()}")
    return json.loads(out.getvalue())


@dataclass
class AggregatorDir:
    """An aggregator installation made by ``eco-aggregator init``, with per-benchmark MQTT
    identities (a persistent session of an earlier benchmark must not take our messages)."""

    state: Path
    name: str
    broker_url: str
    store_url: str = "sqlite:///ledger.sqlite3"
    group_max: int | None = None
    anonymous: bool = True  # False: keep init's aggregator login (a broker with access control)
    config: Path = field(init=False)
    log_vkey: str = field(init=False, default="")

    def __post_init__(self) -> None:
        self.config = self.state / "aggregator.toml"

    def init(self) -> AggregatorDir:
        out = cli_json("--config", str(self.config), "init", str(self.state), "--origin",
                       f"eco-ledger.{self.name}.bench", "--broker", self.broker_url,
                       "--store", self.store_url)
        self.log_vkey = out["log_vkey"]
        text = self.config.read_text()
        text = re.sub(r'(?m)^share_group = ".*"$', f'share_group = "bench-{self.name}"', text)
        if self.anonymous:
            # our loopback broker has no access control: connect anonymously, as the tests do
            text = re.sub(r"(?m)^(username|password_file) = .*\n", "", text)
        if self.group_max is not None:
            text = re.sub(r"(?m)^group_max = \d+$", f"group_max = {self.group_max}", text)
        self.config.write_text(text)
        return self

    def worker_config(self, i: int) -> Path:
        """Worker ``i``'s config: the same state and store, its own MQTT client id."""
        path = self.state / f"worker-{i}.toml"
        path.write_text(re.sub(r'(?m)^client_id = ".*"$', f'client_id = "bench-{self.name}-{i}"',
                               self.config.read_text()))
        return path

    def ledger(self) -> Ledger:
        return open_ledger(load_config(self.config))

    def start_workers(self, n: int) -> Workers:
        return Workers(self, n).start()


@dataclass
class Workers:
    """``n`` ``eco-aggregator serve`` processes on one shared subscription."""

    agg: AggregatorDir
    n: int
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    started_at: float = 0.0

    def start(self) -> Workers:
        self.started_at = time.monotonic()
        for i in range(self.n):
            conf = self.agg.worker_config(i)
            log_path = self.agg.state / f"worker-{i}-{len(self.logs)}.log"
            with open(log_path, "ab") as log:
                self.procs.append(subprocess.Popen(
                    [sys.executable, "-m", "aggregator.cli", "--config", str(conf), "serve"],
                    stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL, env=_env(),
                    cwd=REPO, start_new_session=True))
            self.logs.append(log_path)
        return self

    def wait_connected(self, timeout: float = 30.0) -> None:
        """Until every worker logged its connection (it subscribes in the same callback)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for p, log in zip(self.procs, self.logs, strict=True):
                if p.poll() is not None:
                    raise RuntimeError(f"worker exited with {p.returncode}: "
                                       f"{log.read_text()[-2000:]}")
            if all("connected to" in log.read_text() for log in self.logs):
                time.sleep(0.5)  # the SUBACK follows the CONNACK
                return
            time.sleep(0.05)
        raise RuntimeError(f"workers did not connect within {timeout} s")

    def stop(self, timeout: float = 60.0) -> list[dict[str, Any]]:
        """SIGTERM, wait, return each worker's final JSON (stats, size)."""
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        out = []
        for p, log in zip(self.procs, self.logs, strict=True):
            try:
                stdout, _ = p.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                kill_group(p)
                stdout, _ = p.communicate()
            if p.returncode != 0:
                raise RuntimeError(f"worker exited with {p.returncode}: "
                                   f"{log.read_text()[-2000:]}")
            out.append(json.loads(stdout))
        self.procs = []
        return out

    def cpu_seconds(self) -> float:
        """User + system CPU time of all workers so far (every thread: MQTT I/O included)."""
        return sum(process_cpu_seconds(p.pid) for p in self.procs)

    def kill(self) -> None:
        for p in self.procs:
            if p.poll() is None:
                kill_group(p)
        self.procs = []


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of a process from /proc/PID/stat (fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Receipts:
    """Counts receipts on ``eco/v1/+/receipts`` (what the devices would get), with arrival
    times. Subscribes before anything is published, so no receipt is missed."""

    def __init__(self, port: int, client_id: str) -> None:
        self.lock = threading.Lock()
        self.times: list[float] = []
        self.readings: list[int] = []
        self.accepted = 0
        self.other: dict[str, int] = {}
        self.subscribed = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id,
                        protocol=mqtt.MQTTv5)
        c.on_message = self._on_message
        c.on_subscribe = lambda *_a: self.subscribed.set()
        c.connect("127.0.0.1", port)
        c.subscribe(RECEIPTS_FILTER, qos=1)
        c.loop_start()
        self.client = c
        if not self.subscribed.wait(10):
            raise RuntimeError("receipt subscription not acknowledged")

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        t = time.monotonic()
        items = json.loads(msg.payload)["items"]
        acc = sum(1 for i in items if i["status"] == "accepted")
        with self.lock:
            self.times.append(t)
            self.readings.append(len(items))
            self.accepted += acc
            for i in items:
                if i["status"] != "accepted":
                    key = f"{i['status']}:{str(i.get('reason') or '').split(':', 1)[0]}"
                    self.other[key] = self.other.get(key, 0) + 1

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.times)

    def wait_for(self, n: int, timeout: float, idle: float | None = None) -> bool:
        """Until ``n`` receipts arrived (True), ``timeout`` passed, or, with ``idle``, that
        long passed without a new one (False): a lost message is never answered, so waiting
        out the whole ``timeout`` for it only hides the loss for longer."""
        deadline = time.monotonic() + timeout
        seen, last = self.count, time.monotonic()
        while time.monotonic() < deadline:
            now_count = self.count
            if now_count >= n:
                return True
            if now_count != seen:
                seen, last = now_count, time.monotonic()
            elif idle is not None and time.monotonic() - last > idle:
                return False
            time.sleep(0.02)
        return self.count >= n

    def reset(self) -> None:
        with self.lock:
            self.times.clear()
            self.readings.clear()
            self.accepted = 0
            self.other.clear()


    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


# At most this many of the publisher's messages unacknowledged at once, as a fleet of devices
# each waiting for its PUBACK would have. MQTT's packet identifiers are 16 bits: paho numbers a
# message when publish() is called, so with more than 65,535 queued a new message's mid collides
# with a waiting one and publish() refuses it (MQTT_ERR_QUEUE_SIZE) — unbounded, the 100,000-
# device backlog lost messages there and then waited for acknowledgements that never came.
PUBLISH_WINDOW = 1000
PUBLISH_INFLIGHT = 256  # of the window, on the wire at once (paho's in-flight limit)


class PublishFailed(RuntimeError):
    """The broker refused, did not route, or stopped acknowledging the publisher's messages."""


def publish(port: int, messages: Iterable[tuple[str, bytes]], client_id: str,
            timeout: float = 600.0, *, window: int = PUBLISH_WINDOW) -> int:
    """Publish every (topic, payload) at QoS 1 as fast as the broker acknowledges them, with at
    most ``window`` unacknowledged (``messages`` is consumed lazily: a generator is never held in
    memory whole); return the count once the broker has acknowledged them all (the devices' side
    of a burst).

    Nothing is counted that the broker did not take: a refused publish(), a PUBACK with a reason
    code other than success (MQTT v5: 16 "no matching subscribers" means nobody will ever receive
    it), or ``timeout`` seconds without any PUBACK raise :class:`PublishFailed`."""
    if not 1 <= window < 65536:
        raise ValueError(f"publish window {window}: must be 1..65535 (MQTT packet identifiers)")
    slots = threading.Semaphore(window)
    refused: list[str] = []

    def on_publish(_c: mqtt.Client, _u: Any, mid: int, reason: Any, _p: Any) -> None:
        if getattr(reason, "value", 0) != 0:  # a plain list, no lock held in the callback
            refused.append(f"mid {mid}: {reason}")
        slots.release()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv5)
    c.on_publish = on_publish
    c.max_inflight_messages_set(min(window, PUBLISH_INFLIGHT))
    c.max_queued_messages_set(window)  # a guard: the window keeps us below it
    c.connect("127.0.0.1", port)
    c.loop_start()
    n = 0
    try:
        for topic, payload in messages:
            _take(slots, timeout, n, window)
            info = c.publish(topic, payload, qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise PublishFailed(f"publish() of message {n + 1} to {topic} refused: "
                                    f"{mqtt.error_string(info.rc)}")
            n += 1
            if refused:
                break
        for _ in range(window):  # every slot back: every message acknowledged
            _take(slots, timeout, n, window)
    finally:
        c.disconnect()
        c.loop_stop()
    if refused:
        raise PublishFailed(f"the broker did not route {len(refused)} of {n} messages "
                            f"(first: {refused[0]}): are the subscribers' sessions there?")
    return n


def _take(slots: threading.Semaphore, timeout: float, sent: int, window: int) -> None:
    if not slots.acquire(timeout=timeout):
        raise PublishFailed(f"no PUBACK for {timeout:.0f} s after {sent} messages published "
                            f"({window} may be unacknowledged): the broker stopped taking them")


# Mosquitto 2.0's words for it: a full queue, and a message over max_packet_size either way
_DROPPED = re.compile(r"messages are being dropped|Dropped too large|Dropping too large")


def broker_drops(broker_log: Path) -> list[str]:
    """Mosquitto's notices that it dropped messages for a client whose queue was full
    (``max_queued_messages``, docs/pitfalls.md §5): it still acknowledges them to the publisher,
    so only its log says they are gone."""
    if not broker_log.exists():
        return []
    text = broker_log.read_text(errors="replace")
    return [line for line in text.splitlines() if _DROPPED.search(line)]


def probe(port: int, receipts: Receipts, topic_device: str, payload: bytes,
          timeout: float = 20.0) -> None:
    """Publish one message and wait for its receipt: the workers are subscribed and answering."""
    before = receipts.count
    publish(port, [(readings_topic(topic_device), payload)], f"probe-{time.time_ns()}")
    if not receipts.wait_for(before + 1, timeout):
        raise RuntimeError("no receipt for the probe message: are the workers subscribed?")
