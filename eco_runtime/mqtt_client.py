"""The one MQTT client set-up: the agent's uplink and MQTT meters, ``eco-aggregator serve`` and the
simulated MQTT devices all build their paho client here (issue 15, seam 4).

Each used to set up paho on its own, and they had drifted: ``serve`` had no cap on paho's queue
(unbounded by default, so RAM grows through a long outage), and two of them read paho's private
``_thread`` to tell whether the network thread still runs. What is fixed here for everyone, and
why (docs/pitfalls.md §1):

* ``CallbackAPIVersion.VERSION2`` (VERSION1 is deprecated) and MQTT v5, whose reason codes make an
  ACL refusal visible (docs/protocol.md §3: 3.1.1 acknowledges a refused publish as a success);
* ``reconnect_on_failure``: paho reconnects by itself, with :attr:`ClientSettings.reconnect_delay`;
* a cap on paho's outgoing queue (``max_queued_messages``, required and at least 1: paho's 0
  means unbounded); a publish beyond it returns ``MQTT_ERR_QUEUE_SIZE`` and is not queued;
* :meth:`Client.connect_in_background`: ``connect_async`` + ``loop_start``, because a box must
  boot without a network (``connect`` raises ``OSError`` then);
* :meth:`Client.loop_alive`: whether the network loop still runs. An exception in a callback ends
  it (unless ``suppress_exceptions``) and a dead loop never reconnects, while ``is_connected``
  may still say True; a service's watchdog asks this.

Callbacks are the caller's: set ``on_connect`` and the others on the client returned.
"""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

# MQTT v5 Session Expiry Interval is a four-byte integer (MQTT 5.0 §3.1.2.11.2)
MAX_SESSION_EXPIRY_S: Final = 2**32 - 1
MAX_KEEPALIVE_S: Final = 65535


class TLSFilesError(Exception):
    """A TLS file of the settings cannot be read or used; ``cause`` is the ``OSError`` (or
    ``ssl.SSLError``, one of them) that paho's ``tls_set`` raised. The caller names its config
    key in the message it shows."""

    def __init__(self, settings: ClientSettings, cause: OSError) -> None:
        files = ", ".join(f"{k} {p}" for k, p in (("ca_file", settings.ca_file),
                                                    ("cert_file", settings.cert_file),
                                                    ("key_file", settings.key_file)) if p)
        super().__init__(f"TLS set-up failed ({files or 'system trust store'}): {cause}")
        self.cause = cause


@dataclass(frozen=True, slots=True)
class Will:
    """The last will: published by the broker when the client drops without a clean disconnect."""

    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = True

    def __post_init__(self) -> None:
        if not self.topic or any(c in self.topic for c in "+#"):
            raise ValueError(f"will topic {self.topic!r} must be a plain topic")
        if self.qos not in (0, 1, 2):
            raise ValueError(f"will qos {self.qos} is not 0, 1 or 2")


@dataclass(frozen=True, slots=True, kw_only=True)
class ClientSettings:
    """Everything that differs between the project's MQTT clients.

    ``session_expiry_s``: ``None`` → clean start, the session ends with the connection (the
    devices and meters: the outbox, not the broker, holds what is unsent); a number → a
    persistent session (``clean_start`` False plus that Session Expiry Interval), so the broker
    keeps queueing QoS 1 messages for a fixed ``client_id`` while it is away (``serve``).
    ``max_queued_messages`` caps paho's outgoing queue (docs/pitfalls.md §1: 0 would mean
    unbounded, so it is refused). ``logger``: where paho logs (``enable_logger``); None: paho
    logs nothing, as before.
    """

    client_id: str
    host: str
    port: int
    max_queued_messages: int
    max_inflight_messages: int = 20  # paho's default
    keepalive_s: int = 60
    session_expiry_s: int | None = None
    username: str | None = None
    password: str | None = None
    tls: bool = False
    ca_file: Path | None = None  # None with tls: the system trust store
    cert_file: Path | None = None  # a client certificate (login by its CN)
    key_file: Path | None = None  # None: the key is in cert_file
    reconnect_delay: tuple[int, int] = (1, 30)  # seconds, first and longest
    will: Will | None = None
    manual_ack: bool = False  # acknowledge received QoS>0 messages with Client.ack
    suppress_exceptions: bool = False  # a callback's exception is logged, the loop goes on
    logger: logging.Logger | None = None

    def __post_init__(self) -> None:
        if not self.client_id:
            raise ValueError("client_id must not be empty")
        if not self.host:
            raise ValueError("host must not be empty")
        if not 0 < self.port < 65536:
            raise ValueError(f"port {self.port} not in 1..65535")
        if self.max_queued_messages < 1:
            raise ValueError(f"max_queued_messages {self.max_queued_messages}: at least 1 "
                             "(paho's 0 means unbounded; docs/pitfalls.md §1)")
        if self.max_inflight_messages < 1:
            raise ValueError(f"max_inflight_messages {self.max_inflight_messages}: at least 1")
        if not 0 < self.keepalive_s <= MAX_KEEPALIVE_S:
            raise ValueError(f"keepalive_s {self.keepalive_s} not in 1..{MAX_KEEPALIVE_S}")
        if self.session_expiry_s is not None and \
                not 0 <= self.session_expiry_s <= MAX_SESSION_EXPIRY_S:
            raise ValueError(f"session_expiry_s {self.session_expiry_s} not in "
                             f"0..{MAX_SESSION_EXPIRY_S}")
        if self.password is not None and self.username is None:
            raise ValueError("a password needs a username")
        if not self.tls and (self.ca_file or self.cert_file or self.key_file):
            raise ValueError("ca_file, cert_file and key_file need tls")
        if self.key_file is not None and self.cert_file is None:
            raise ValueError("key_file needs cert_file")
        first, longest = self.reconnect_delay
        if not 0 < first <= longest:
            raise ValueError(f"reconnect_delay {self.reconnect_delay}: need 0 < first <= longest")


class Client(mqtt.Client):
    """paho's client as :func:`new_client` configures it, with the settings it was built from.

    Adds what paho does not say publicly: :meth:`loop_alive`, and :attr:`last_connect_error`,
    the exception of the last failed connection attempt (paho's network thread swallows it and
    calls ``on_connect_fail`` without it)."""

    last_connect_error: BaseException | None = None

    def __init__(self, settings: ClientSettings) -> None:
        super().__init__(CallbackAPIVersion.VERSION2, client_id=settings.client_id,
                         protocol=mqtt.MQTTv5, reconnect_on_failure=True,
                         manual_ack=settings.manual_ack)
        self.settings = settings
        self._looping = False

    def reconnect(self) -> MQTTErrorCode:
        try:
            return super().reconnect()
        except OSError as e:
            self.last_connect_error = e
            raise

    def loop_start(self) -> MQTTErrorCode:
        # alive from here, not only once the new thread has entered loop_forever: a health
        # check right after the start must not see a dead loop
        was = self._looping
        self._looping = True
        rc = super().loop_start()
        if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:  # a loop already runs (or none could start)
            self._looping = was
        return rc

    def loop_forever(self, *args: Any, **kwargs: Any) -> MQTTErrorCode:
        # loop_start's thread runs in here (paho documents that it does): False once it returns,
        # whatever ends it (loop_stop, disconnect, a callback's exception). Overriding public
        # methods, not reading paho's ``_thread`` (which paho sets to None when the loop ends).
        self._looping = True
        try:
            return super().loop_forever(*args, **kwargs)
        finally:
            self._looping = False

    def loop_alive(self) -> bool:
        """Whether the network loop (started by :meth:`connect_in_background`) still runs. False
        before the start and after ``loop_stop``; False too after a callback raised, which ends
        paho's thread for good: no reconnect follows, so a service should restart."""
        return self._looping

    def connect_in_background(self) -> None:
        """``connect_async`` + ``loop_start`` with the settings' keepalive and session: returns at
        once, and paho keeps trying while the broker is unreachable."""
        s = self.settings
        props: Properties | None = None
        if s.session_expiry_s is not None:
            props = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            props.SessionExpiryInterval = s.session_expiry_s
        self.connect_async(s.host, s.port, keepalive=s.keepalive_s,
                           clean_start=s.session_expiry_s is None, properties=props)
        self.loop_start()


def new_client(settings: ClientSettings) -> Client:
    """A paho client configured by ``settings``, not yet connected (callbacks are the caller's;
    then :meth:`Client.connect_in_background`). Raises :class:`TLSFilesError` when a TLS file
    cannot be loaded."""
    c = Client(settings)
    if settings.username is not None:
        c.username_pw_set(settings.username, settings.password)
    if settings.will is not None:
        w = settings.will
        c.will_set(w.topic, w.payload, qos=w.qos, retain=w.retain)
    c.max_inflight_messages_set(settings.max_inflight_messages)
    c.max_queued_messages_set(settings.max_queued_messages)
    c.reconnect_delay_set(*settings.reconnect_delay)
    c.suppress_exceptions = settings.suppress_exceptions
    if settings.logger is not None:
        c.enable_logger(settings.logger)
    if settings.tls:
        try:
            c.tls_set(ca_certs=None if settings.ca_file is None else str(settings.ca_file),
                      certfile=None if settings.cert_file is None else str(settings.cert_file),
                      keyfile=None if settings.key_file is None else str(settings.key_file))
        except (OSError, ssl.SSLError) as e:
            raise TLSFilesError(settings, e) from e
    return c


__all__ = ["MAX_SESSION_EXPIRY_S", "Client", "ClientSettings", "TLSFilesError", "Will",
           "new_client"]
