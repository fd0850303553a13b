"""``eco-aggregator serve``: the MQTT shell around :class:`~aggregator.intake.Intake`.

paho-mqtt 2.x with MQTT v5, a fixed client id and a persistent session (clean_start False plus a
session expiry), so the broker keeps queueing readings while we are down (docs/pitfalls.md §1, §5).
Messages are acknowledged manually, *after* the group that contains them is committed: a crash
between receipt and commit leaves them with the broker, and the device resends anyway until it
holds a receipt. Callbacks only enqueue; all store I/O happens on the main thread.

Fairness under a flood (issue 14; docs/architecture.md "Ingest"): messages wait in one bounded
queue per device (:class:`~aggregator.fair_queue.FairQueue`) and groups take them round-robin,
so one device's backlog delays another's receipt by at most one message per waiting device per
group. A message over its device's cap is acknowledged to the broker at once, in the network
thread, and dropped unanswered: it must not hold a slot of the broker's in-flight window for
this session (``max_inflight_messages``) nor keep the broker's queue for us growing, which is
what delays and finally drops every other device's messages.

A device that floods far beyond its rate (:mod:`aggregator.flood_cutoff`: 500 drops within 10 s)
is cut off at the broker: its login is suspended and the broker reloads, which disconnects it.
The network thread only counts; a thread of its own writes the files and signals the broker, so
the cut-off waits neither for the main loop's group commit nor holds up the network thread.

What serve publishes (receipts, the retained log key announcement) waits in paho's queue, which
is capped (:data:`MAX_QUEUED_PUBLISHES`; paho's default is unbounded, docs/pitfalls.md §1). A
receipt that finds it full is not sent and is counted in the problem log: the device resends its
readings after its resend timeout and is answered ``duplicate``. An announcement that finds it
full is tried again from the main loop.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.subscribeoptions import SubscribeOptions

from eco_protocol.canonical import canonical_bytes
from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.encoding import format_time
from eco_protocol.messages import msg
from eco_protocol.os_messages import os_reason
from eco_protocol.topics import LOG_KEYS_TOPIC, readings_device, receipts_topic
from eco_runtime.mqtt_client import ClientSettings, TLSFilesError, new_client
from eco_runtime.sdnotify import sd_notify, watchdog_interval_s

from .broker_auth import aggregator_password
from .config import Config
from .device_topics import from_broker, on_broker, shared_readings
from .errors import ConfigError, EnvironmentProblem, KeyChanged, Rejected
from .fair_queue import DEFAULT_PER_KEY, FairQueue
from .flood_cutoff import FloodDetector, cutoff_unavailable
from .ingest_status import IngestCounters, StatusFile, status_path
from .intake import Intake
from .ledger import Ledger
from .logkeys import announcement, load_log_signer
from .problem_log import ProblemLog
from .rate_gate import RateGate

log = logging.getLogger(__name__)

# paho's outgoing queue (receipts and announcements awaiting their PUBACK, or the broker): at most
# this many. A receipt holds up to 64 items (~13 KB), so the queue stays within ~50 MB through any
# outage; connected on loopback it holds a handful
MAX_QUEUED_PUBLISHES: Final = 4096


@dataclass
class Stats:
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    groups: int = 0
    checkpoints: int = 0
    dropped: int = 0  # over its rate or queue cap: acknowledged, dropped unprocessed
    receipts_unsent: int = 0  # paho's outgoing queue was full (MAX_QUEUED_PUBLISHES)
    started: float = field(default_factory=time.monotonic)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "started"}


class IngestWorker:
    def __init__(self, cfg: Config, ledger: Ledger,
                 rules: CreditRules = DEFAULT_RULES) -> None:
        self.cfg = cfg
        self.ledger = ledger
        # the per-device rate limit is applied in the network thread (self.gate), before the
        # queue; the intake must not count the same messages a second time
        self.intake = Intake(ledger, cfg.limits, rules=rules, rate_limit=False)
        self.gate = RateGate(cfg.limits.rate_per_device, cfg.limits.burst_per_device)
        # (mid, qos) of messages the network thread refused, for the main thread to acknowledge
        self._drop_acks: deque[tuple[int, int]] = deque()
        # device → (monotonic time of its last rate_limited rejection row, drops since)
        self._rate_rows: dict[str, tuple[float, int]] = {}
        # (topic, payload, mid, qos) per device id ("" for a topic that names none)
        self.inbox: FairQueue[str, tuple[str, bytes, int, int]] = FairQueue(
            DEFAULT_PER_KEY)
        # per-device counts for the operator: ingest-status.json, read by the web UI
        self.counters = IngestCounters()
        self.status_file = StatusFile(status_path(cfg.state_dir, cfg.mqtt.client_id))
        self.connected = threading.Event()
        self.stats = Stats()
        # flood cut-off at the broker: counted in the network thread, done in self._suspender
        self.cutoff: FloodDetector | None = None
        self._suspensions: queue.SimpleQueue[tuple[str, int] | None] = queue.SimpleQueue()
        self._suspender: threading.Thread | None = None
        why = cutoff_unavailable(cfg.mqtt.broker_passwd_file, cfg.mqtt.broker_pid_file)
        if why is None:
            self.cutoff = FloodDetector()
        else:
            log.warning("no automatic flood cut-off: %s. A flooding device is only rate-limited "
                        "here, and the broker's queue for serve can still fill up behind it "
                        "(docs/architecture.md \"Ingest under a flood\")", why)
        # refused messages: a few summary lines per device per minute, never one per message
        self.problems = ProblemLog()
        self._last_checkpoint = 0.0
        self._unsigned = False
        self._announcement = announcement(ledger)
        self._announce_due = False  # the announcement found paho's queue full: try again
        m = cfg.mqtt
        try:
            settings = ClientSettings(
                client_id=m.client_id, host=m.host, port=m.port, keepalive_s=30,
                # a persistent session: the broker queues readings while serve is down
                session_expiry_s=m.session_expiry_s,
                # docs/protocol.md §3: the aggregator's own login
                username=m.username,
                password=None if m.username is None else aggregator_password(m),
                tls=m.tls, ca_file=m.ca_file if m.tls else None,
                reconnect_delay=(1, 30), max_queued_messages=MAX_QUEUED_PUBLISHES,
                # acknowledged after the group commit; a callback's bug must not end the loop
                manual_ack=True, suppress_exceptions=True)
            c = new_client(settings)
        except TLSFilesError as e:
            raise ConfigError(msg("aggregator.serve.ca_file", path=str(m.ca_file),
                                  reason=os_reason(e.cause))) from e
        except ValueError as e:
            raise ConfigError(msg("aggregator.serve.mqtt", error=str(e))) from e
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_message = self._on_message
        self.client = c

    @property
    def subscription(self) -> str:
        return shared_readings(self.cfg.mqtt.device_prefix, self.cfg.mqtt.share_group)

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

    def _on_message(self, client: mqtt.Client, _ud: Any, msg: mqtt.MQTTMessage) -> None:
        topic = from_broker(self.cfg.mqtt.device_prefix, msg.topic)
        device = readings_device(topic) or ""
        if device and not self.gate.admit(device):
            code = "rate_limited"
        elif not self.inbox.offer(device, (topic, bytes(msg.payload), msg.mid, msg.qos)):
            code = "queue_full"
        else:
            return
        # refused here, answered never; the main thread acknowledges it within milliseconds
        # (freeing the broker's in-flight slot) while this thread reads the next message
        if msg.qos > 0:
            self._drop_acks.append((msg.mid, msg.qos))
            self.inbox.kick()
        self.counters.drop(device, code)
        if code == "rate_limited" and self.cutoff is not None:
            tripped = self.cutoff.note_drop(device)
            if tripped is not None:
                self._suspensions.put((device, tripped))

    def _suspend_loop(self) -> None:
        """Suspend the broker logins of flooding devices, one at a time, until told to stop.
        Its own thread: the file writes, fsync'd audit record and SIGHUP take milliseconds that
        neither the network thread nor the main loop's group commit should wait for."""
        from .operator import suspend_flooding_device  # operator is heavy; serve needs it rarely

        assert self.cutoff is not None
        while (item := self._suspensions.get()) is not None:
            device, dropped = item
            try:
                reload = suspend_flooding_device(self.cfg, device, dropped,
                                                 self.cutoff.window_s)
            except Rejected as e:  # another worker was first, or the login was withdrawn
                log.warning("%s floods (%d messages over %g messages/s within %g s) but there is "
                            "no login to suspend: %s", device, dropped, self.gate.rate,
                            self.cutoff.window_s, e)
                continue
            except Exception as e:  # reported; serve carries on
                log.error("%s floods (%d messages over %g messages/s within %g s) but could not "
                          "be cut off at the broker: %s", device, dropped, self.gate.rate,
                          self.cutoff.window_s, e)
                continue
            log.warning("%s floods: %d messages over %g messages/s within %g s; its broker login "
                        "is suspended (%s), and stays so until the operator runs "
                        "'eco-aggregator broker-restore %s'", device, dropped, self.gate.rate,
                        self.cutoff.window_s, reload, device)

    # --- main loop ---------------------------------------------------------------------

    def start(self) -> None:
        if self.cutoff is not None and self._suspender is None:
            self._suspender = threading.Thread(target=self._suspend_loop, name="flood-cutoff",
                                               daemon=True)
            self._suspender.start()
        self.client.connect_in_background()

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
                self._note_drops()
                if self.intake.rejections.pending():
                    self.intake.flush_rejections(format_time(datetime.now(UTC)))
                for line in self.problems.flush():
                    log.warning("%s", line)
                self.status_file.maybe_write(self.counters)
                if self._announce_due:
                    self._announce_keys()
                if not self.client.loop_alive():
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
            self._ack_drops()
            self._note_drops(force=True)
            self.intake.flush_rejections(format_time(datetime.now(UTC)), force=True)
            self.status_file.maybe_write(self.counters, force=True)
            for line in self.problems.flush(force=True):
                log.warning("%s", line)
            self._maybe_checkpoint(force=True)
            self.client.disconnect()
            self.client.loop_stop()
            if self._suspender is not None:
                self._suspensions.put(None)
                self._suspender.join(10)

    def _drain(self) -> list[tuple[str, bytes, int, int]]:
        """The next group: round-robin over the devices with messages waiting, topped up for
        up to ``group_wait_ms`` while it is not full."""
        if not self.inbox.wait(0.2):
            return []
        self._ack_drops()
        group = self.inbox.take(self.cfg.group_max)
        deadline = time.monotonic() + self.cfg.group_wait_ms / 1000
        while len(group) < self.cfg.group_max:
            timeout = deadline - time.monotonic()
            if timeout <= 0 or not self.inbox.wait(timeout):
                break
            self._ack_drops()
            group += self.inbox.take(self.cfg.group_max - len(group))
        return group

    def _ack_drops(self) -> None:
        """Acknowledge what the network thread refused. Here rather than there: the two
        threads then share the per-message work (the acknowledgement's socket writes release
        the GIL), which is what keeps the broker's queue for us moving under a flood."""
        acks = self._drop_acks
        while acks:
            mid, qos = acks.popleft()
            self.client.ack(mid, qos)

    def _note_drops(self, force: bool = False) -> None:
        """Drops counted by the network thread since last time: into the stats, the problem
        log (its summary lines, never one per message) and, for rate_limited, one rejection
        row per device per minute with the count (the table stays bounded under a flood)."""
        for (device, code), n in self.counters.take_new_drops().items():
            self.stats.dropped += n
            who = device or "(no device id)"
            if code == "rate_limited":
                problem = (f"{who}: rate_limited: {n} message(s) over "
                           f"{self.gate.rate:g} messages/s from this device dropped unanswered "
                           "(the device resends them later)")
                at, pending = self._rate_rows.get(device, (-1e9, 0))
                self._rate_rows[device] = (at, pending + n)
            else:
                problem = (f"{who}: queue_full: {n} message(s) dropped, more than "
                           f"{self.inbox.per_key} were waiting from this device; excess is "
                           "acknowledged and dropped unanswered (the device resends it later)")
            for line in self.problems.note(device or None, problem, count=n):
                log.warning("%s", line)
        now = time.monotonic()
        due = [(d, n) for d, (at, n) in self._rate_rows.items()
               if n and (force or now - at >= 60)]
        if due:
            stamp = format_time(datetime.now(UTC))
            with self.ledger.store.transaction():
                for device, n in due:
                    self.ledger.record_rejection(
                        device, None, f"rate_limited: {n} message(s) over "
                        f"{self.gate.rate:g} messages/s dropped unanswered since the last such "
                        "row", stamp)
            for device, _ in due:
                self._rate_rows[device] = (now, 0)

    def _announce_keys(self) -> None:
        """Publish the log key announcement (retained). Called on connect (network thread) and
        when the key changes or an earlier try found paho's queue full (main thread)."""
        payload = self._announcement
        if payload is None:
            self._announce_due = False
            return
        info = self.client.publish(on_broker(self.cfg.mqtt.device_prefix, LOG_KEYS_TOPIC),
                                   payload, qos=1, retain=True)
        due = info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE
        if due and not self._announce_due:
            log.warning("log key announcement not queued: paho's queue for the broker is full "
                        "(%d messages); trying again", MAX_QUEUED_PUBLISHES)
        self._announce_due = due

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
            self.counters.processed(o.device_id or "", o.problem)
            if o.problem:
                for line in self.problems.note(o.device_id, o.problem):
                    log.warning("%s", line)
            if o.receipt is not None and o.device_id is not None:
                info = self.client.publish(
                    on_broker(self.cfg.mqtt.device_prefix, receipts_topic(o.device_id)),
                    canonical_bytes(o.receipt), qos=1)
                if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
                    self.stats.receipts_unsent += 1
                    for line in self.problems.note(
                            o.device_id, f"receipt_unsent: paho's queue for the broker is full "
                            f"({MAX_QUEUED_PUBLISHES} messages); the readings are in the "
                            "ledger, the device resends them and is answered duplicate"):
                        log.warning("%s", line)
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
