"""Counterparts for the agent's tests: a receipt responder, a simulated meter, config writers.

:class:`Responder` is the aggregator's side of docs/protocol.md §3, written here from the protocol
text: a real paho client on the real broker that verifies each readings message (device
signature, seq order, prev chain) and answers with one receipt signed by a test log key. It is a
party in the protocol, not a stand-in for the broker. Knobs make it misbehave on purpose.

:class:`SimMeter` implements :class:`agent.meters.interface.Meter` in memory for the runner's
tests (like python-tuf's repository simulator); the serial path is tested with the real
``firmware_sim`` inverter on a pty.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from agent.clock import ManualClock
from agent.config import AgentConfig, load_config
from agent.errors import MeterError
from agent.meters.interface import MeterIdentity, Snapshot
from agent.runner import Agent, build_agent
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.keyfile import load_or_create_private_key
from eco_protocol.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    private_key_from_raw,
)
from eco_protocol.note import NoteSigner
from eco_protocol.records import GENESIS_PREV, RECEIPT_TYPE, Reading
from eco_protocol.signing import record_hash, sign_record, verify_record

ORIGIN = "eco-ledger.example-city.lg.jp"
LOG_SIGNER = NoteSigner(ORIGIN, private_key_from_raw(b"\x42" * 32))
WRONG_SIGNER = NoteSigner(ORIGIN, private_key_from_raw(b"\x66" * 32))
LOG_VKEY = LOG_SIGNER.verifier.vkey


def wait_for(cond: Callable[[], bool], timeout: float = 10.0, step: float = 0.02,
             pump: Callable[[], None] | None = None) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pump is not None:
            pump()
        if cond():
            return True
        if pump is None:
            time.sleep(step)
    return cond()


class SimMeter:
    """An in-memory meter whose register the test moves."""

    def __init__(self, meter_id: str, register_wh: int = 1_000_000,
                 serial: str = "SIM-1") -> None:
        self.meter_id = meter_id
        self.register_wh = register_wh
        self.identity = MeterIdentity("sunspec-modbus", "EcoSim", "ES-SIM", serial)
        self.fail: str | None = None
        self.reads = 0

    def read(self) -> Snapshot:
        self.reads += 1
        if self.fail:
            raise MeterError(f"meter {self.meter_id!r}: {self.fail}")
        return Snapshot(self.meter_id, self.register_wh, self.identity, power_w=0, wrap_wh=2**32)

    def close(self) -> None:
        pass


@dataclass
class Responder:
    """Verifies readings on ``eco/v1/+/readings`` and answers with signed receipts."""

    port: int
    devices: dict[str, Ed25519PublicKey] = field(default_factory=dict)
    signer: NoteSigner = LOG_SIGNER
    silent: bool = False  # receive, do nothing (as if the aggregator were down)
    drop_next: int = 0  # forget this many messages entirely (lost on the way)
    swallow_receipts: bool = False  # append to the ledger but send no receipt
    reject: dict[int, str] = field(default_factory=dict)  # seq → reason (not a gap)
    # seq → reason: logged, but answered accepted with "creditable": false (docs/protocol.md §3)
    not_creditable: dict[int, str] = field(default_factory=dict)
    # the aggregator's clock: a reading ending after now() + max_skew_s is refused as "future"
    now: Callable[[], datetime] | None = None
    max_skew_s: int = 300
    ledger: list[tuple[str, int, str]] = field(default_factory=list)  # (device, seq, sha)
    received: list[list[int]] = field(default_factory=list)  # seqs of each message seen
    receipts: list[dict[str, Any]] = field(default_factory=list)
    records: list[dict[str, Any]] = field(default_factory=list)  # accepted readings, in order
    persistent: bool = False  # keep the session on the broker (clean_start=False + expiry)
    errors: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._ready = threading.Event()
        self._index: dict[tuple[str, int], tuple[str, int]] = {}
        self._next: dict[str, tuple[int, str]] = {}
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="test-aggregator",
                        protocol=mqtt.MQTTv5)
        c.on_connect = self._on_connect
        c.on_subscribe = lambda *_a: self._ready.set()
        c.on_message = self._on_message
        c.reconnect_delay_set(1, 2)
        self.client = c

    def __enter__(self) -> Responder:
        props = None
        if self.persistent:  # as the real aggregator does (docs/pitfalls.md §5)
            props = Properties(PacketTypes.CONNECT)
            props.SessionExpiryInterval = 3600
        self.client.connect_async("127.0.0.1", self.port, keepalive=10,
                                  clean_start=not self.persistent, properties=props)
        self.client.loop_start()
        assert self._ready.wait(10), "responder could not subscribe"
        return self

    def __exit__(self, *exc: object) -> None:
        self.client.disconnect()
        self.client.loop_stop()

    def _on_connect(self, c: mqtt.Client, *_a: Any) -> None:
        c.subscribe("eco/v1/+/readings", qos=1)

    def add_device(self, device_id: str, key: Ed25519PrivateKey | Ed25519PublicKey) -> None:
        pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
        self.devices[device_id] = pub

    def seqs(self, device_id: str | None = None) -> list[int]:
        with self._lock:
            return [s for d, s, _ in self.ledger if device_id in (None, d)]

    def _on_message(self, c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            self._handle(c, msg.topic, bytes(msg.payload))
        except Exception as e:  # never kill paho's thread
            self.errors.append(repr(e))

    def _handle(self, c: mqtt.Client, topic: str, payload: bytes) -> None:
        device = topic.split("/")[2]
        arr = parse_json(payload)
        assert isinstance(arr, list) and 1 <= len(arr) <= 64, "1–64 readings per message"
        with self._lock:
            self.received.append([r["seq"] for r in arr])
            if self.drop_next > 0:
                self.drop_next -= 1
                return
            if self.silent:
                return
            items = []
            for rec in arr:
                items.append(self._check(device, rec))
            receipt = sign_record({"type": RECEIPT_TYPE, "device_id": device, "items": items},
                                  self.signer.private_key)
            if self.swallow_receipts:
                return
            self.receipts.append(receipt)
        c.publish(f"eco/v1/{device}/receipts", canonical_bytes(receipt), qos=1)

    def _check(self, device: str, rec: dict[str, Any]) -> dict[str, Any]:
        sha = record_hash(rec).hex()
        seq = rec["seq"]
        verify_record(rec, self.devices[device], "reading")
        Reading.from_dict(rec)
        assert rec["device_id"] == device
        item: dict[str, Any] = {"seq": seq, "reading_sha256": sha, "reason": None,
                                "leaf_index": None}
        if self.now is not None:
            end = datetime.fromisoformat(rec["end"].replace("Z", "+00:00"))
            if (end - self.now()).total_seconds() > self.max_skew_s:
                return item | {"status": "rejected",
                               "reason": f"future: interval ends {rec['end']}, after the "
                                         "aggregator's clock plus its skew"}
        if (device, seq) in self._index:
            first_sha, leaf = self._index[(device, seq)]
            if first_sha == sha:
                return item | {"status": "duplicate", "leaf_index": leaf}
            return item | {"status": "rejected", "reason": "fork: another reading has this seq"}
        if seq in self.reject:
            return item | {"status": "rejected", "reason": self.reject[seq]}
        expected, prev = self._next.get(device, (1, GENESIS_PREV))
        if seq != expected:
            return item | {"status": "rejected", "reason": f"gap: expected {expected}",
                           "expected_seq": expected}
        if rec["prev"] != prev:
            return item | {"status": "rejected", "reason": "chain: prev does not match"}
        leaf = len(self.ledger)
        self.ledger.append((device, seq, sha))
        self.records.append(rec)
        self._index[(device, seq)] = (sha, leaf)
        self._next[device] = (seq + 1, sha)
        if seq in self.not_creditable:
            return item | {"status": "accepted", "leaf_index": leaf, "creditable": False,
                           "reason": self.not_creditable[seq]}
        return item | {"status": "accepted", "leaf_index": leaf}


class StatusWatcher:
    """Reads the retained ``eco/v1/<id>/status`` as a fresh subscriber would."""

    @staticmethod
    def retained(port: int, device_id: str, timeout: float = 5.0) -> str | None:
        got: list[str] = []
        done = threading.Event()

        def on_message(_c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
            if msg.retain:
                got.append(msg.payload.decode())
                done.set()

        c = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
        c.on_message = on_message
        c.on_connect = lambda cl, *_a: cl.subscribe(f"eco/v1/{device_id}/status", qos=1)
        c.connect("127.0.0.1", port, keepalive=10)
        c.loop_start()
        try:
            done.wait(timeout)
        finally:
            c.disconnect()
            c.loop_stop()
        return got[-1] if got else None


def write_config(path: Path, *, state_dir: Path, port: int, meters: list[dict[str, Any]],
                 log_key: str = LOG_VKEY, interval_minutes: int = 30, poll_seconds: int = 60,
                 resend_timeout_s: float = 30.0, batch_max: int = 64,
                 clock: dict[str, Any] | None = None) -> Path:
    lines = ["[device]", f'state_dir = "{state_dir}"', f"interval_minutes = {interval_minutes}",
             f"poll_seconds = {poll_seconds}", f'log_key = "{log_key}"', "",
             "[uplink]", f'broker = "mqtt://127.0.0.1:{port}"', f"batch_max = {batch_max}",
             "keepalive_s = 10", f"resend_timeout_s = {resend_timeout_s}", ""]
    if clock:
        lines += ["[clock]"] + [f"{k} = {v!r}".replace("'", '"') for k, v in clock.items()]
        lines.append("")
    for m in meters:
        lines.append("[[meters]]")
        lines += [f"{k} = {v!r}".replace("'", '"') for k, v in m.items()]
        lines.append("")
    path.write_text("\n".join(lines))
    return path


T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
P = 1800


@dataclass
class Rig:
    agent: Agent
    clock: ManualClock
    meters: dict[str, SimMeter]
    config: AgentConfig
    key: Ed25519PrivateKey

    @property
    def device_id(self) -> str:
        return self.agent.device_id

    def cycle(self, intervals: int = 1, wh: int = 100) -> int:
        """Advance the clock by whole intervals, move the registers, poll once."""
        self.clock.advance(intervals * P)
        for m in self.meters.values():
            m.register_wh += wh * intervals
        return self.agent.poll_once().readings

    def pump_until(self, cond: Any, timeout: float = 10.0) -> bool:
        return wait_for(cond, timeout, pump=lambda: self.agent.uplink.pump(0.02))

    def pending(self) -> list[int]:
        return [r.seq for r in self.agent.outbox.pending(1000)]


def make_rig(tmp_path: Path, port: int, meter_ids: tuple[str, ...] = ("pv1",),
             **cfg: Any) -> Rig:
    state_dir = tmp_path / "state"
    conf = write_config(tmp_path / "agent.toml", state_dir=state_dir, port=port,
                        meters=[{"id": m, "quantity": "pv_generation", "port": f"/dev/sim-{m}"}
                                for m in meter_ids], **cfg)
    key, _ = load_or_create_private_key(state_dir / "device.key")
    config = load_config(conf)
    meters = {m: SimMeter(m, serial=f"SIM-{m}") for m in meter_ids}
    clock = ManualClock(T0)
    agent = build_agent(config, meter_factory=lambda mc: meters[mc.id], clock=clock)
    agent.uplink.start()
    rig = Rig(agent, clock, meters, config, key)
    assert agent.poll_once().readings == 0  # the first snapshot anchors at T0
    return rig


CRASH_CHILD = Path(__file__).with_name("outbox_crash_child.py")


def kill_outbox_child(path: Path, run: int, rng: random.Random,
                      *mode: str) -> list[list[str]]:
    """Run ``outbox_crash_child.py`` on the outbox at ``path``, SIGKILL it at a random instant
    once it is working (after its first commit), and return the lines it printed before dying,
    split into words.

    Unbuffered: ``communicate`` reads the pipe's file descriptor, so whatever a buffered
    ``readline`` had read ahead was lost — on a loaded machine the first commit lines, which
    then looked like lost or never-committed readings. Waiting for the first commit keeps a
    loaded machine from spending every run before the child's first transaction."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    child = subprocess.Popen([sys.executable, str(CRASH_CHILD), str(path), str(run), *mode],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, bufsize=0)
    assert child.stdout is not None
    line = child.stdout.readline()
    assert line == b"READY\n", child.stderr.read() if child.stderr else line
    first = child.stdout.readline()  # the first commit's first line
    time.sleep(rng.uniform(0.0, 0.06))
    child.send_signal(signal.SIGKILL)
    out, err = child.communicate(timeout=10)
    assert child.returncode == -signal.SIGKILL, err.decode()
    return [ln.split() for ln in (first + out).decode().splitlines()]
