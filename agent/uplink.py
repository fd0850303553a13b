"""MQTT v5 uplink: publish outbox readings, act on signed receipts (docs/protocol.md §3).

paho-mqtt 2.x as :mod:`eco_runtime.mqtt_client` sets it up (``CallbackAPIVersion.VERSION2``,
``connect_async`` + ``loop_start``: the box must boot without a network); topics from
:mod:`eco_protocol.topics`. The sharp edges of docs/pitfalls.md §1 shape the design:

* paho callbacks run on paho's thread, and an exception there kills it, so every callback only
  puts a small event on a queue, inside ``try/except`` that logs. No lock is taken in a callback.
* :meth:`Uplink.pump`, called by the runner's main loop, does everything else: outbox reads and
  writes, receipt verification, publishing.
* At most ``max_in_flight`` readings messages await a receipt at once, and we publish only while
  connected; paho's own queue is capped with ``max_queued_messages_set`` as a backstop (its
  default is unbounded).
* A PUBACK never deletes anything (an ACL refusal is a v5 failure reason code, logged). A
  reading leaves the outbox only on a receipt item ``accepted``/``duplicate`` whose
  ``reading_sha256`` matches, in a receipt whose signature verifies under the pinned log key and
  whose ``device_id`` is ours; anything else is ignored and logged loudly.
* ``accepted`` with ``"creditable": false`` (docs/protocol.md v1.1 §3) → the reading *is* in the
  ledger, so it is delivered and deleted like any accepted one; the outbox records it (seq,
  hash, reason, time; the newest 100 and a total) in the same transaction, ``eco-agent status``
  shows it under ``non_creditable``, and it is logged once at WARNING with its reason.
  ``"creditable": true`` or no such field (an aggregator before v1.1) means creditable.
* ``rejected`` with reason code ``gap`` and ``expected_seq`` → the pending readings from
  ``expected_seq`` are sent again (except those already re-sent after the message that caused the
  gap). Decisions go by the reason *code* (docs/protocol.md §3.2: a reason is ``"<code>: <text>"``,
  the receipt has no separate code field), never by the wording of the text.
* ``rejected`` with reason code ``future`` (the part before the colon: the interval ends after
  the aggregator's clock plus its allowed skew, i.e. this device's clock runs ahead) → the
  reading is **not** set aside: setting it aside would stall the device's chain for good, since
  every later reading would then be answered ``gap``. It stays pending and is held back, with
  every later reading (they could only get ``gap`` before it enters the ledger), for
  ``resend_timeout_s`` (the normal resend delay), then sent again, until the aggregator's clock
  has passed its end and accepts it. The hold lives in memory only: after a restart the
  reading is simply sent again.
* any other rejection → the reading is set aside with its reason, never resent blindly, and
  shown by ``eco-agent status``.
* At-least-once: a message without a receipt after ``resend_timeout_s`` is sent again, and
  after every (re)connect everything pending is sent again; the aggregator drops duplicates.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from eco_protocol.canonical import parse_json
from eco_protocol.encoding import format_time
from eco_protocol.errors import MalformedRecord, ProtocolError
from eco_protocol.logkey import MAX_ANNOUNCEMENT_BYTES, next_keys
from eco_protocol.note import NoteVerifier
from eco_protocol.records import Receipt, ReceiptStatus
from eco_protocol.signing import verify_record
from eco_protocol.topics import LOG_KEYS_TOPIC, readings_topic, receipts_topic, status_topic
from eco_runtime.mqtt_client import ClientSettings, TLSFilesError, Will, new_client

from .config import UplinkConfig
from .diagnose import broker_message, classify_connect_error, tls_file_message
from .errors import ConfigError
from .outbox import Outbox, StoredReading

log = logging.getLogger(__name__)

MAX_RECEIPT_BYTES: Final = 256 * 1024
# the rejection codes of docs/protocol.md §3.3 that this device acts on (any other: set aside)
GAP: Final = "gap"
FUTURE: Final = "future"


def reason_code(reason: str | None) -> str:
    """The machine-readable part of a receipt reason: ``"future: interval ends …"`` →
    ``"future"`` (docs/protocol.md §3.2: ``"<code>: <text>"``; the text is for people)."""
    return (reason or "").split(":", 1)[0].strip()


def is_topic(delivered: str, ours: str) -> bool:
    """Whether a message delivered on ``delivered`` is one of ours on topic ``ours``.

    Why not just ``==``: the devices' listener has a ``mount_point`` (docs/protocol.md §3.5), and
    Mosquitto 2.0.11 (Debian bookworm) delivers with the mount point still in front
    (``dev/eco/v1/<id>/receipts``; fixed upstream in 2.0.12, eclipse-mosquitto#2244). We
    subscribe to exact topics only, so a delivered topic is one of them, with or without a
    prefix of whole levels; receipts and key announcements are verified by signature anyway."""
    return delivered == ours or delivered.endswith("/" + ours)


# -- events handed from paho's thread to the main loop -------------------------------------------


@dataclass(frozen=True, slots=True)
class _Connected:
    failure: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Disconnected:
    reason: str


@dataclass(frozen=True, slots=True)
class _ConnectFailed:
    error: BaseException | None = None


def check_tls_files(ca_file: Path | None, cert_file: Path | None = None,
                    key_file: Path | None = None) -> None:
    """Each TLS file of ``[uplink]`` can be read and parsed; the error names the config key
    and the path (``ssl`` itself says only "No such file or directory")."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    for key, path in (("ca_file", ca_file), ("cert_file", cert_file), ("key_file", key_file)):
        if path is None:
            continue
        try:
            with open(path, "rb"):
                pass
        except OSError as e:
            raise ConfigError.of(tls_file_message(key, path, e)) from e
    if ca_file is not None:
        try:
            ctx.load_verify_locations(cafile=str(ca_file))
        except ssl.SSLError as e:
            raise ConfigError.of(tls_file_message("ca_file", ca_file, e)) from e
    if cert_file is not None:
        try:
            ctx.load_cert_chain(str(cert_file), str(key_file) if key_file else None)
        except ssl.SSLError as e:
            raise ConfigError.of(tls_file_message("cert_file", cert_file, e)) from e


@dataclass(frozen=True, slots=True)
class _Published:
    mid: int
    failure: bool
    reason: str


@dataclass(frozen=True, slots=True)
class _Subscribed:
    failures: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Message:
    topic: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class _Wake:
    pass


_Event = _Connected | _Disconnected | _ConnectFailed | _Published | _Subscribed | _Message | _Wake


@dataclass(frozen=True, slots=True)
class _Sent:
    batch: int
    at: float  # monotonic


@dataclass(frozen=True, slots=True)
class UplinkStatus:
    connected: bool
    messages_in_flight: int
    readings_awaiting_receipt: int
    receipts_ignored: int
    last_error: str | None


class Uplink:
    """The device's MQTT session. ``start`` once, ``pump`` from the main loop, ``stop`` once."""

    def __init__(self, *, device_id: str, config: UplinkConfig, outbox: Outbox,
                 log_key: NoteVerifier, monotonic: Callable[[], float] = time.monotonic,
                 wall: Callable[[], float] = time.time,
                 reconnect_delay: tuple[int, int] = (1, 30),
                 on_log_key: Callable[[NoteVerifier, list[dict[str, Any]]], None] | None = None,
                 ) -> None:
        """``on_log_key(new key, records)`` persists a log key change this uplink followed
        (the records that lead from the previous pin to it) before receipts use it."""
        self.device_id = device_id
        self.config = config
        self.outbox = outbox
        self.log_key = log_key
        self._on_log_key = on_log_key
        self._monotonic = monotonic
        self._wall = wall
        self.readings_topic = readings_topic(device_id)
        self.receipts_topic = receipts_topic(device_id)
        self.status_topic = status_topic(device_id)
        # queue.Queue, not SimpleQueue: the main thread waits here with a timeout while SIGTERM
        # may arrive, and CPython 3.11's SimpleQueue.get(timeout) blocks for good when a signal
        # interrupts it near its deadline (the remaining time goes negative, which its lock
        # wait reads as "forever"; docs/pitfalls.md). An agent stuck so ignored its stop.
        self._events: queue.Queue[_Event] = queue.Queue()
        self.connected = False
        self._awaiting: dict[int, _Sent] = {}
        # seq → monotonic time before which it is not sent: readings refused as "future"
        self._held: dict[int, float] = {}
        self._next_batch = 0
        self.receipts_ignored = 0
        self.last_error: str | None = None
        self._started = False

        if config.tls:  # first: its errors name the [uplink] key
            check_tls_files(config.ca_file, config.cert_file, config.key_file)
        settings = ClientSettings(
            client_id=device_id, host=config.host, port=config.port,
            keepalive_s=config.keepalive_s,
            username=config.username or device_id, password=config.password,
            tls=config.tls,
            ca_file=config.ca_file if config.tls else None,
            cert_file=config.cert_file if config.tls else None,
            key_file=config.key_file if config.tls else None,
            will=Will(self.status_topic, b"offline", qos=1, retain=True),
            # our own window bounds what we hand to paho; these caps are the backstop
            # (docs/pitfalls.md §1)
            max_inflight_messages=config.max_in_flight + 4,
            max_queued_messages=config.max_in_flight + 8,
            reconnect_delay=reconnect_delay)
        try:
            c = new_client(settings)
        except TLSFilesError as e:
            raise ConfigError(f"[uplink] {e}") from e
        c.on_connect = self._on_connect
        c.on_connect_fail = self._on_connect_fail
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_subscribe = self._on_subscribe
        c.on_message = self._on_message
        self._client = c

    # -- paho callbacks: enqueue only, never raise ---------------------------------------------

    def _put(self, make: Callable[[], _Event]) -> None:
        try:
            self._events.put(make())
        except Exception:  # a raise here would kill paho's network thread
            log.exception("MQTT callback failed")

    def _on_connect(self, _c: mqtt.Client, _u: Any, _f: mqtt.ConnectFlags, rc: ReasonCode,
                    _p: Properties | None) -> None:
        self._put(lambda: _Connected(bool(rc.is_failure), str(rc)))

    def _on_connect_fail(self, _c: mqtt.Client, _u: Any) -> None:
        self._put(lambda: _ConnectFailed(self._client.last_connect_error))

    def _on_disconnect(self, _c: mqtt.Client, _u: Any, _f: mqtt.DisconnectFlags, rc: ReasonCode,
                       _p: Properties | None) -> None:
        self._put(lambda: _Disconnected(str(rc)))

    def _on_publish(self, _c: mqtt.Client, _u: Any, mid: int, rc: ReasonCode,
                    _p: Properties | None) -> None:
        self._put(lambda: _Published(mid, bool(rc.is_failure), str(rc)))

    def _on_subscribe(self, _c: mqtt.Client, _u: Any, _mid: int, rcs: list[ReasonCode],
                      _p: Properties | None) -> None:
        self._put(lambda: _Subscribed(tuple(str(r) for r in rcs if r.is_failure)))

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        self._put(lambda: _Message(msg.topic, bytes(msg.payload)))

    # -- lifecycle -------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; the box keeps reading meters while the network is down."""
        self._client.connect_in_background()  # clean start: the outbox holds what is unsent
        self._started = True

    def healthy(self) -> bool:
        """paho's network thread is alive (a dead one never reconnects; docs/pitfalls.md §1)."""
        return self._client.loop_alive()

    def notify(self) -> None:
        """Wake a waiting :meth:`pump` (the poll job calls this after committing readings)."""
        self._events.put(_Wake())

    def stop(self, timeout: float = 3.0) -> None:
        """Say ``offline`` (a clean disconnect sends no will), disconnect, stop the thread."""
        if not self._started:
            return
        if self.connected:
            info = self._client.publish(self.status_topic, b"offline", qos=1, retain=True)
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        self.connected = False
        self._started = False

    def status(self) -> UplinkStatus:
        return UplinkStatus(self.connected, len({s.batch for s in self._awaiting.values()}),
                            len(self._awaiting), self.receipts_ignored, self.last_error)

    # -- the main-loop side ----------------------------------------------------------------------

    def pump(self, wait_s: float = 0.0) -> None:
        """Handle every queued event, resend what timed out, publish what is due.

        Blocks up to ``wait_s`` for the first event (so the main loop reacts at once)."""
        events: list[_Event] = []
        with contextlib.suppress(queue.Empty):
            events.append(self._events.get(timeout=wait_s) if wait_s > 0
                          else self._events.get_nowait())
        while True:
            try:
                events.append(self._events.get_nowait())
            except queue.Empty:
                break
        failure: Exception | None = None
        for ev in events:
            try:
                self._handle(ev)
            except Exception as e:  # e.g. the outbox's disk is full while applying a receipt
                # handle the other events all the same: a lost "connected" event would stop
                # publishing until the next reconnect. The receipt's readings stay pending and
                # are sent again after resend_timeout_s.
                if failure is None:
                    failure = e
        if failure is not None:
            raise failure
        now = self._monotonic()
        expired = [s for s, sent in self._awaiting.items()
                   if now - sent.at >= self.config.resend_timeout_s]
        if expired:
            log.info("no receipt for %d reading(s) within %.0f s (seq %d…): sending again",
                     len(expired), self.config.resend_timeout_s, min(expired))
            for s in expired:
                del self._awaiting[s]
        if self.connected:
            self._publish_due(now)

    def _handle(self, ev: _Event) -> None:
        match ev:
            case _Connected(failure=True, reason=reason):
                self.last_error = f"broker refused the connection: {reason}"
                log.error("%s (check that the broker knows username %s and its ACL allows it)",
                          self.last_error, self.config.username or self.device_id)
            case _Connected():
                log.info("connected to %s", self.config.broker)
                self.connected = True
                # the log's key changes (retained) first, then receipts: the broker handles our
                # packets in order, so a receipt signed by a new log key arrives after the
                # announcement of that key, and no receipt for the readings below can be
                # published before this subscription exists
                self._client.subscribe(LOG_KEYS_TOPIC, qos=1)
                self._client.subscribe(self.receipts_topic, qos=1)
                self._client.publish(self.status_topic, b"online", qos=1, retain=True)
                # at-least-once: whatever was awaiting a receipt is sent again on this session
                self._awaiting.clear()
            case _Disconnected(reason=reason):
                if self.connected:
                    log.warning("disconnected from the broker (%s); readings stay in the outbox",
                                reason)
                self.connected = False
            case _ConnectFailed(error=error):
                why = broker_message(classify_connect_error(error), error,
                                     url=self.config.broker, ca_file=self.config.ca_file).text()
                if self.last_error != why:
                    log.warning("%s; retrying", why)
                self.last_error = why
            case _Published(failure=True, mid=mid, reason=reason):
                self.last_error = f"broker refused a message (mid {mid}): {reason}"
                log.error("%s; nothing is deleted, it is sent again after %.0f s",
                          self.last_error, self.config.resend_timeout_s)
            case _Published():
                pass  # a PUBACK deletes nothing: only a verified receipt does
            case _Subscribed(failures=failures) if failures:
                self.last_error = f"broker refused the receipts subscription: {failures[0]}"
                log.error("%s: no reading can be deleted until this is fixed", self.last_error)
            case _Subscribed():
                pass
            case _Message(topic=t, payload=payload):
                if is_topic(t, self.receipts_topic):
                    self.handle_receipt(payload)
                elif is_topic(t, LOG_KEYS_TOPIC):
                    self.handle_log_keys(payload)
                else:
                    log.warning("unexpected message on %s ignored", t)
            case _Wake():
                pass

    def _publish_due(self, now: float) -> None:
        cfg = self.config
        free = cfg.max_in_flight - len({s.batch for s in self._awaiting.values()})
        if free <= 0:
            return
        want = free * cfg.batch_max
        rows = self.outbox.pending(len(self._awaiting) + want)
        due: list[StoredReading] = []
        for r in rows:
            until = self._held.get(r.seq)
            if until is not None:
                if now < until:
                    break  # the chain waits for it: anything after it could only get "gap"
                del self._held[r.seq]
            if r.seq not in self._awaiting:
                due.append(r)
        due = due[:want]
        for i in range(0, len(due), cfg.batch_max):
            chunk = due[i:i + cfg.batch_max]
            if not self._publish(chunk, now):
                break

    def _publish(self, chunk: list[StoredReading], now: float) -> bool:
        # canonical JSON of an array is its canonical elements joined by commas (RFC 8785)
        payload = b"[" + b",".join(r.body for r in chunk) + b"]"
        # durable before the readings can leave: an outbox later found to end before this mark
        # has been rolled back and must not re-sign these seq numbers (agent.outbox.SentMark)
        self.outbox.note_sent(chunk[-1].seq, chunk[-1].sha256)
        info = self._client.publish(self.readings_topic, payload, qos=1)
        if info.rc == MQTTErrorCode.MQTT_ERR_QUEUE_SIZE:
            return False  # not queued; tried again on the next pump
        if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
            self.last_error = f"publish failed: {mqtt.error_string(info.rc)}"
            log.warning("%s", self.last_error)
            return False
        # NO_CONN still queues the message in paho (docs/pitfalls.md §1): count it as sent
        self._next_batch += 1
        for r in chunk:
            self._awaiting[r.seq] = _Sent(self._next_batch, now)
        log.debug("published seq %d–%d (%d readings)", chunk[0].seq, chunk[-1].seq, len(chunk))
        return True

    # -- receipts (docs/protocol.md §3) --------------------------------------------------------

    def _ignore(self, why: str) -> None:
        self.receipts_ignored += 1
        self.last_error = f"receipt ignored: {why}"
        log.error("RECEIPT IGNORED, nothing deleted: %s", why)

    def handle_log_keys(self, payload: bytes) -> None:
        """Follow the log key from the pinned one along the announced, signed changes.

        A change counts only if the key we trust signed it and the new key endorsed it
        (:func:`eco_protocol.logkey.next_keys`); anything else on this topic is reported and
        changes nothing, so a forged announcement cannot make us accept forged receipts."""
        if not payload:  # a cleared retained message: nothing announced
            return
        if len(payload) > MAX_ANNOUNCEMENT_BYTES:
            log.error("log key announcement of %d bytes ignored: too large", len(payload))
            return
        try:
            doc = parse_json(payload)
            if not isinstance(doc, list) or not all(isinstance(r, dict) for r in doc):
                raise MalformedRecord("log key announcement: expected a JSON array of records")
            changes = next_keys(self.log_key, doc)
        except ProtocolError as e:
            self.last_error = f"log key announcement ignored: {e}"
            log.error("%s (pinned log key %s)", self.last_error, self.log_key.vkey)
            return
        if not changes:
            return
        new = changes[-1].new
        if self._on_log_key is not None:
            self._on_log_key(new, [c.to_dict() for c in changes])
        log.warning("the log key changed: now trusting %s (announced by %s)", new.vkey,
                    self.log_key.vkey)
        self.log_key = new

    def handle_receipt(self, payload: bytes) -> None:
        """Verify one receipt and apply it to the outbox (delete / set aside / resend)."""
        if len(payload) > MAX_RECEIPT_BYTES:
            self._ignore(f"{len(payload)} bytes is larger than any valid receipt")
            return
        try:
            doc = parse_json(payload)
            if not isinstance(doc, dict):
                raise MalformedRecord("receipt: expected a JSON object")
            verify_record(doc, self.log_key.public_key, "receipt")
            receipt = Receipt.from_dict(doc)
        except ProtocolError as e:
            self._ignore(f"{e} (pinned log key {self.log_key.name}+{self.log_key.key_id:08x})")
            return
        if receipt.device_id != self.device_id:
            self._ignore(f"it is addressed to device {receipt.device_id}, not {self.device_id}")
            return

        acks: list[tuple[int, str]] = []
        not_creditable: list[tuple[int, str, str]] = []
        rejections: list[tuple[int, str, str]] = []
        futures: list[tuple[int, str, str]] = []
        gaps: list[tuple[int, int]] = []
        counts = {s.value: 0 for s in ReceiptStatus}
        for item in receipt.items:
            counts[item.status.value] += 1
            if item.status is ReceiptStatus.ACCEPTED and item.creditable is False:
                not_creditable.append((item.seq, item.reading_sha256,
                                       item.reason or "not creditable"))
            elif item.status in (ReceiptStatus.ACCEPTED, ReceiptStatus.DUPLICATE):
                acks.append((item.seq, item.reading_sha256))
            elif reason_code(item.reason) == GAP and item.expected_seq is not None:
                gaps.append((item.seq, item.expected_seq))
            elif reason_code(item.reason) == FUTURE:
                futures.append((item.seq, item.reading_sha256, item.reason or "future"))
            else:
                rejections.append((item.seq, item.reading_sha256, item.reason or "rejected"))
        seqs = [i.seq for i in receipt.items]
        at = format_time(datetime.fromtimestamp(self._wall(), UTC))
        summary = {"at": at, "first_seq": min(seqs), "last_seq": max(seqs), **counts,
                   "gap_expected_seq": min((e for _, e in gaps), default=None),
                   "not_creditable": len(not_creditable)}
        outcome = self.outbox.apply_receipt(acks, rejections, summary, not_creditable, at)
        for s in (*outcome.acknowledged, *outcome.set_aside):
            self._awaiting.pop(s, None)
            self._held.pop(s, None)
        for s in outcome.non_creditable:
            reason = next(r for q, _, r in not_creditable if q == s)
            log.warning("reading seq %d is in the ledger but NOT CREDITABLE: %s (see eco-agent "
                        "status)", s, reason)
        for s in outcome.set_aside:
            reason = next(r for q, _, r in rejections if q == s)
            log.error("reading seq %d REJECTED by the aggregator: %s (set aside, not resent; "
                      "see eco-agent status)", s, reason)
        for s, sha, reason in futures:
            self._hold_future(s, sha, reason)
        for s in outcome.mismatched:
            held = self.outbox.get(s)
            if held is None:
                log.debug("receipt for seq %d, which is no longer in the outbox", s)
            else:
                log.error("receipt for seq %d names a reading hash that is not ours (%s): the "
                          "aggregator holds a different reading with this seq; nothing deleted",
                          s, held.sha256)
        if gaps:
            self._resend_after_gap(gaps)

    def _hold_future(self, seq: int, sha: str, reason: str) -> None:
        """Keep a reading refused as ``future`` pending; send it (and what follows) again after
        ``resend_timeout_s``. Only our own pending reading under that hash is held."""
        held = self.outbox.get(seq)
        if held is None or held.sha256 != sha or held.status != "pending":
            log.debug("future receipt for seq %d, which is not a pending reading here", seq)
            return
        self._awaiting.pop(seq, None)
        again = seq in self._held
        self._held[seq] = self._monotonic() + self.config.resend_timeout_s
        (log.info if again else log.warning)(
            "reading seq %d refused for now: %s (this device's clock runs ahead of the "
            "aggregator's?); kept, sent again in %.0f s", seq, reason,
            self.config.resend_timeout_s)

    def _resend_after_gap(self, gaps: list[tuple[int, int]]) -> None:
        expected = min(e for _, e in gaps)
        # the message that caused the gap; readings sent again after it are already on their way
        caused_at = min((self._awaiting[s].at for s, _ in gaps if s in self._awaiting),
                        default=None)
        for s, _ in gaps:
            self._awaiting.pop(s, None)
        held = self.outbox.get(expected)
        if expected in self._held:
            log.info("the aggregator expects seq %d next, held back until its clock passes "
                     "the reading's end; the readings after it wait with it", expected)
        elif held is None or held.status != "pending":
            what = "no longer held (already receipted)" if held is None else (
                f"set aside as rejected ({held.reason})")
            log.error("the aggregator expects seq %d next, which this device has %s; readings "
                      "after it cannot enter the ledger until the operator resolves this",
                      expected, what)
        # everything pending from `expected` on is due again, except readings (re)sent after
        # the message that caused this gap: they are already on their way, in order
        for s, sent in list(self._awaiting.items()):
            if s >= expected and caused_at is not None and sent.at <= caused_at:
                del self._awaiting[s]
        if expected in self._held:
            return
        first = self.outbox.resend_from(expected, 1)
        log.warning("gap: the aggregator expects seq %d; sending pending readings again from "
                    "seq %s", expected, first[0].seq if first else "(none pending)")
