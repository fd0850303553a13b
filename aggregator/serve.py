"""``eco-aggregator serve``: the MQTT shell around :class:`~aggregator.intake.Intake`.

paho-mqtt 2.x with MQTT v5, a fixed client id and a persistent session (clean_start False plus a
session expiry), so the broker keeps queueing readings while we are down (docs/pitfalls.md §1, §5).
Messages are acknowledged manually, *after* the group that contains them is committed: a crash
between receipt and commit leaves them with the broker, and the device resends anyway until it
holds a receipt. Callbacks only enqueue; all store I/O happens on the main thread.
"""

from __future__ import annotations

import logging
import queue
import ssl
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.subscribeoptions import SubscribeOptions

from agent.sdnotify import sd_notify, watchdog_interval_s
from eco_protocol.canonical import canonical_bytes
from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.encoding import format_time
from eco_protocol.logkey import LOG_KEYS_TOPIC

from .broker_auth import aggregator_password
from .config import Config
from .errors import ConfigError, EnvironmentProblem
from .intake import Intake, receipts_topic
from .ledger import KeyChanged, Ledger
from .logkeys import announcement, load_log_signer
from .problem_log import ProblemLog

log = logging.getLogger(__name__)


@dataclass
class Stats:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    groups: int = 0
    checkpoints: int = 0
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "started"}


class IngestWorker:
    def __init__(self, cfg: Config, ledger: Ledger,
                 rules: CreditRules = DEFAULT_RULES) -> None:
        self.cfg = cfg
        self.ledger = ledger
        self.intake = Intake(ledger, cfg.limits, rules=rules)
        self.inbox: queue.Queue[tuple[str, bytes, int, int]] = queue.Queue()
        self.connected = threading.Event()
        self.stats = Stats()
        # refused messages: a few summary lines per device per minute, never one per message
        self.problems = ProblemLog()
        self._last_checkpoint = 0.0
        self._unsigned = False
        self._announcement = announcement(ledger)
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=cfg.mqtt.client_id,
                        protocol=mqtt.MQTTv5, manual_ack=True)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        c.suppress_exceptions = True
        c.reconnect_delay_set(1, 30)
        if cfg.mqtt.username is not None:  # docs/protocol.md §3: the aggregator's own login
            c.username_pw_set(cfg.mqtt.username, aggregator_password(cfg.mqtt))
        if cfg.mqtt.tls:
            try:
                c.tls_set(ca_certs=None if cfg.mqtt.ca_file is None else str(cfg.mqtt.ca_file))
            except (OSError, ssl.SSLError) as e:
                raise ConfigError(f"[mqtt] ca_file {cfg.mqtt.ca_file}: {e}") from e
        self.client = c

    @property
    def subscription(self) -> str:
        return f"$share/{self.cfg.mqtt.share_group}/eco/v1/+/readings"

    # --- callbacks: enqueue only -------------------------------------------------------

    def _on_connect(self, client: mqtt.Client, _ud: Any, flags: Any, rc: Any,
                    _props: Any) -> None:
        if rc.is_failure:
            log.error("broker refused the connection: %s", rc)
            return
        log.info("connected to %s:%d (session present: %s)", self.cfg.mqtt.host,
                 self.cfg.mqtt.port, flags.session_present)
        client.subscribe(self.subscription, options=SubscribeOptions(qos=1))
        self._announce_keys()
        self.connected.set()

    def _on_disconnect(self, _c: mqtt.Client, _ud: Any, _flags: Any, rc: Any,
                       _props: Any) -> None:
        self.connected.clear()
        if rc != 0:
            log.warning("disconnected from broker: %s; paho reconnects", rc)

    def _on_message(self, _c: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        self.inbox.put((msg.topic, bytes(msg.payload), msg.mid, msg.qos))

    # --- main loop ---------------------------------------------------------------------

    def start(self) -> None:
        props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
        props.SessionExpiryInterval = self.cfg.mqtt.session_expiry_s
        self.client.connect_async(self.cfg.mqtt.host, self.cfg.mqtt.port, keepalive=30,
                                  clean_start=False, properties=props)
        self.client.loop_start()

    def run(self, stop: threading.Event, exit_after_idle: float | None = None) -> None:
        self.start()
        last_activity = time.monotonic()
        sd_notify("READY=1")
        ping_every = watchdog_interval_s()
        last_ping = 0.0
        try:
            while not stop.is_set():
                group = self._drain()
                if group:
                    self._process(group)
                    last_activity = time.monotonic()
                self._maybe_checkpoint()
                for line in self.problems.flush():
                    log.warning("%s", line)
                thread = getattr(self.client, "_thread", None)
                if thread is not None and not thread.is_alive():
                    raise EnvironmentProblem("the MQTT network thread died; restarting")
                if ping_every is not None and time.monotonic() - last_ping >= ping_every:
                    # health: the loop turns, the network thread lives, the store answers
                    self.ledger.store.size()
                    sd_notify("WATCHDOG=1")
                    last_ping = time.monotonic()
                if exit_after_idle is not None and \
                        time.monotonic() - last_activity > exit_after_idle:
                    log.info("idle for %.0f s, exiting", exit_after_idle)
                    break
        finally:
            sd_notify("STOPPING=1")
            for line in self.problems.flush(force=True):
                log.warning("%s", line)
            self._maybe_checkpoint(force=True)
            self.client.disconnect()
            self.client.loop_stop()

    def _drain(self) -> list[tuple[str, bytes, int, int]]:
        try:
            first = self.inbox.get(timeout=0.2)
        except queue.Empty:
            return []
        group = [first]
        deadline = time.monotonic() + self.cfg.group_wait_ms / 1000
        while len(group) < self.cfg.group_max:
            timeout = deadline - time.monotonic()
            try:
                group.append(self.inbox.get(timeout=timeout) if timeout > 0
                             else self.inbox.get_nowait())
            except queue.Empty:
                break
        return group

    def _announce_keys(self) -> None:
        payload = self._announcement
        if payload is not None:
            self.client.publish(LOG_KEYS_TOPIC, payload, qos=1, retain=True)

    def _follow_key(self) -> None:
        """Take up a log key that 'eco-aggregator log-key rotate' installed while we ran, before
        signing another receipt or checkpoint with the old one, and tell the agents."""
        stored = self.ledger.store.get_meta("log_vkey")
        if stored is None or stored == self.ledger.signer.verifier.vkey:
            return
        signer = load_log_signer(self.cfg, stored)
        if signer.verifier.vkey != stored:
            raise KeyChanged(f"the store is now signed with {stored}, but {self.cfg.key_file} "
                             f"holds {signer.verifier.vkey}; finish the rotation")
        log.warning("the log key changed to %s; signing with it from now on", stored)
        self.ledger.signer = signer
        self._announcement = announcement(self.ledger)
        self._announce_keys()

    def _process(self, group: list[tuple[str, bytes, int, int]]) -> None:
        self._follow_key()
        now = format_time(datetime.now(UTC))
        outcomes = self.intake.process([(t, p) for t, p, _, _ in group], now)
        # durable now: acknowledge to the broker, then answer the devices
        for _, _, mid, qos in group:
            if qos > 0:
                self.client.ack(mid, qos)
        for o in outcomes:
            if o.problem:
                for line in self.problems.note(o.device_id, o.problem):
                    log.warning("%s", line)
            if o.receipt is not None and o.device_id is not None:
                self.client.publish(receipts_topic(o.device_id), canonical_bytes(o.receipt),
                                    qos=1)
            self.stats.accepted += o.accepted
            self.stats.duplicates += o.duplicates
            self.stats.rejected += o.rejected
        self.stats.messages += len(group)
        self.stats.groups += 1
        if any(o.accepted for o in outcomes):
            self._unsigned = True

    def _maybe_checkpoint(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self._unsigned:
            return
        if not force and now - self._last_checkpoint < self.cfg.checkpoint_interval_s:
            return
        self._follow_key()
        row = self.ledger.checkpoint_now()
        self._last_checkpoint = now
        self._unsigned = False
        if row is not None:
            self.stats.checkpoints += 1
            log.info("checkpoint size %d (%s)", row.size, self.stats.as_dict())
