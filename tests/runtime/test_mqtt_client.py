"""eco_runtime.mqtt_client: the one paho set-up (issue 15 seam 4), against a real Mosquitto.

The settings must reach the broker as given (login, TLS with a client certificate, a persistent
session), the queue cap must hold while the broker is away, and ``loop_alive`` must notice a
network loop that a callback's exception ended."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from paho.mqtt.enums import MQTTErrorCode

from aggregator.broker_auth import aggregator_acl_text, new_hash, render_password_file
from aggregator.ca import cert_pem, key_pem, make_ca_certificate, make_leaf_certificate, new_key
from aggregator.mosquitto import BrokerAuth, Mosquitto, TlsListener, free_port
from eco_runtime.mqtt_client import Client, ClientSettings, TLSFilesError, Will, new_client


def _settings(broker_port: int, **kw: Any) -> ClientSettings:
    base = ClientSettings(client_id=f"t-{time.monotonic_ns()}", host="127.0.0.1", port=1883,
                          max_queued_messages=8, keepalive_s=10, reconnect_delay=(1, 2))
    return replace(base, **{"port": broker_port, **kw})


def _wait_for(what: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if what():
            return True
        time.sleep(0.02)
    return what()


def _connect(c: Client, timeout: float = 10.0) -> Any:
    """Start ``c`` and return the reason code of its first CONNACK."""
    got: queue.SimpleQueue[Any] = queue.SimpleQueue()
    c.on_connect = lambda _c, _u, flags, rc, _p: got.put((flags, rc))
    c.connect_in_background()
    return got.get(timeout=timeout)


def _stop(c: Client) -> None:
    c.disconnect()
    c.loop_stop()


# -- settings ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("change", "message"), [
    ({"client_id": ""}, "client_id"),
    ({"host": ""}, "host"),
    ({"port": 0}, "port"),
    ({"max_queued_messages": 0}, "unbounded"),
    ({"max_inflight_messages": 0}, "max_inflight_messages"),
    ({"keepalive_s": 0}, "keepalive_s"),
    ({"session_expiry_s": -1}, "session_expiry_s"),
    ({"session_expiry_s": 2**32}, "session_expiry_s"),
    ({"password": "pw"}, "needs a username"),
    ({"ca_file": Path("/ca.crt")}, "need tls"),
    ({"tls": True, "key_file": Path("/k.pem")}, "key_file needs cert_file"),
    ({"reconnect_delay": (0, 5)}, "reconnect_delay"),
    ({"reconnect_delay": (10, 5)}, "reconnect_delay"),
])
def test_settings_refuse_what_cannot_work(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _settings(1883, **change)


@pytest.mark.parametrize("topic", ["", "a/+/b", "a/#"])
def test_a_will_needs_a_plain_topic(topic: str) -> None:
    with pytest.raises(ValueError, match="plain topic"):
        Will(topic, b"offline")


def test_settings_reach_the_client() -> None:
    log = logging.getLogger("test.mqtt")
    c = new_client(_settings(1883, username="u", password="p", max_queued_messages=5,
                            max_inflight_messages=3, logger=log, suppress_exceptions=True))
    assert (c.username, c.password) == ("u", "p")
    assert c.max_queued_messages == 5 and c.max_inflight_messages == 3
    assert c.protocol == 5 and c.suppress_exceptions and c.logger is log
    assert not c.loop_alive()


def test_an_unreadable_ca_file_is_a_tls_files_error(tmp_path: Path) -> None:
    missing = tmp_path / "nope.crt"
    with pytest.raises(TLSFilesError, match="ca_file") as e:
        new_client(_settings(1883, tls=True, ca_file=missing))
    assert isinstance(e.value.cause, OSError)
    (tmp_path / "junk.crt").write_text("not a certificate\n")
    with pytest.raises(TLSFilesError):
        new_client(_settings(1883, tls=True, ca_file=tmp_path / "junk.crt"))


# -- against a broker -------------------------------------------------------------------------


def test_connects_and_the_loop_is_alive_until_stopped(broker: Mosquitto) -> None:
    c = new_client(_settings(broker.port))
    _, rc = _connect(c)
    try:
        assert not rc.is_failure
        assert c.loop_alive()
    finally:
        _stop(c)
    assert not c.loop_alive()


def _subscribed(c: Client, topic: str) -> None:
    done = threading.Event()
    c.on_subscribe = lambda *_a: done.set()
    c.subscribe(topic, qos=1)
    assert done.wait(10)


def _send(port: int, topic: str) -> None:
    other = new_client(_settings(port))
    _connect(other)
    other.publish(topic, b"x", qos=1).wait_for_publish(5)
    _stop(other)


def test_a_callback_exception_ends_the_loop_and_loop_alive_says_so(
        broker: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> None:
    died: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda a: died.append(a.exc_value))
    c = new_client(_settings(broker.port))

    def boom(*_a: Any) -> None:
        raise RuntimeError("a bug in a callback")

    c.on_message = boom
    _connect(c)
    (paho_thread,) = [t for t in threading.enumerate()
                      if t.name == f"paho-mqtt-client-{c.settings.client_id}"]
    try:
        _subscribed(c, "t/boom")
        _send(broker.port, "t/boom")
        assert _wait_for(lambda: not c.loop_alive()), "the loop survived a raising callback"
        assert c.is_connected(), "paho still says connected: only loop_alive tells"
        paho_thread.join(5)
        assert [str(e) for e in died] == ["a bug in a callback"]
    finally:
        c.loop_stop()


def test_suppress_exceptions_keeps_the_loop_alive(broker: Mosquitto) -> None:
    c = new_client(_settings(broker.port, suppress_exceptions=True))
    got = threading.Event()

    def boom(*_a: Any) -> None:
        got.set()
        raise RuntimeError("a bug in a callback")

    c.on_message = boom
    _connect(c)
    try:
        _subscribed(c, "t/suppressed")
        _send(broker.port, "t/suppressed")
        assert got.wait(10)
        time.sleep(0.2)
        assert c.loop_alive()
    finally:
        _stop(c)


def test_the_queue_cap_holds_while_the_broker_is_away() -> None:
    """Nobody listens on the port: QoS 1 publishes queue up to the cap (paho answers NO_CONN
    but keeps them), then QUEUE_SIZE and nothing more is kept."""
    c = new_client(_settings(free_port(), max_queued_messages=5))
    c.connect_in_background()
    # alive at once, before paho's thread has run a line: a health check right after the
    # start must not report a dead loop
    assert c.loop_alive()
    assert c.loop_start() == MQTTErrorCode.MQTT_ERR_INVAL and c.loop_alive()
    try:
        rcs = [c.publish("t/q", b"%d" % i, qos=1).rc for i in range(8)]
        assert rcs[:5] == [MQTTErrorCode.MQTT_ERR_NO_CONN] * 5
        assert rcs[5:] == [MQTTErrorCode.MQTT_ERR_QUEUE_SIZE] * 3
        assert c.loop_alive(), "paho keeps trying"
    finally:
        c.loop_stop()


def test_the_connect_error_is_kept(tmp_path: Path) -> None:
    c = new_client(_settings(free_port()))
    failed = threading.Event()
    c.on_connect_fail = lambda *_a: failed.set()
    c.connect_in_background()
    try:
        assert failed.wait(10)
        assert isinstance(c.last_connect_error, ConnectionRefusedError)
    finally:
        c.loop_stop()


def test_a_persistent_session_keeps_messages_while_the_client_is_away(
        broker: Mosquitto) -> None:
    sub = _settings(broker.port, client_id=f"persist-{time.monotonic_ns()}", session_expiry_s=60)
    first = new_client(sub)
    got: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    _subscribed = threading.Event()
    first.on_subscribe = lambda *_a: _subscribed.set()
    flags, _ = _connect(first)
    assert not flags.session_present
    first.subscribe("t/persist", qos=1)
    assert _subscribed.wait(10)
    _stop(first)

    pub = new_client(_settings(broker.port))
    _connect(pub)
    pub.publish("t/persist", b"while away", qos=1).wait_for_publish(5)
    _stop(pub)

    again = new_client(sub)
    again.on_message = lambda _c, _u, m: got.put(bytes(m.payload))
    flags, _ = _connect(again)
    try:
        assert flags.session_present
        assert got.get(timeout=10) == b"while away"
    finally:
        _stop(again)


def test_clean_start_keeps_nothing(broker: Mosquitto) -> None:
    s = _settings(broker.port, client_id=f"clean-{time.monotonic_ns()}")
    c = new_client(s)
    _connect(c)
    _stop(c)
    again = new_client(s)
    flags, _ = _connect(again)
    _stop(again)
    assert not flags.session_present


def test_the_will_is_published_when_the_client_drops(broker: Mosquitto) -> None:
    topic = f"t/will/{time.monotonic_ns()}"
    watcher = new_client(_settings(broker.port))
    got: queue.SimpleQueue[bytes] = queue.SimpleQueue()
    watcher.on_message = lambda _c, _u, m: got.put(bytes(m.payload))
    _connect(watcher)
    watcher.subscribe(topic, qos=1)
    time.sleep(0.2)
    c = new_client(_settings(broker.port, will=Will(topic, b"offline", retain=False)))
    _connect(c)
    try:
        c.loop_stop()
        sock = c.socket()
        assert sock is not None
        sock.close()  # gone without a DISCONNECT, like a power cut
        assert got.get(timeout=30) == b"offline"
    finally:
        _stop(watcher)


def test_login_reaches_the_broker(tmp_path: Path) -> None:
    pw = tmp_path / "agg.passwd"
    pw.write_text(render_password_file({"agg": new_hash("s3cret")}))
    acl = tmp_path / "agg.acl"
    acl.write_text(aggregator_acl_text("agg"))
    dev_pw, dev_acl = tmp_path / "dev.passwd", tmp_path / "dev.acl"
    dev_pw.write_text("")
    dev_acl.write_text("")
    auth = BrokerAuth(dev_pw, dev_acl, pw, acl)
    with Mosquitto(tmp_path / "broker", auth=auth) as b:
        good = new_client(_settings(b.port, username="agg", password="s3cret"))
        _, rc = _connect(good)
        _stop(good)
        assert not rc.is_failure
        for user, password in (("agg", "wrong"), (None, None)):
            bad = new_client(_settings(b.port, username=user, password=password))
            _, rc = _connect(bad)
            _stop(bad)
            assert rc.is_failure, (user, rc)


def test_tls_with_a_client_certificate(tmp_path: Path) -> None:
    now = datetime.now(UTC)
    ca_key = new_key()
    ca = make_ca_certificate(ca_key, "test CA", now)
    files: dict[str, Path] = {}

    def write(name: str, data: bytes) -> Path:
        files[name] = tmp_path / name
        files[name].write_bytes(data)
        return files[name]

    write("ca.crt", cert_pem(ca))
    server_key = new_key()
    write("server.key", key_pem(server_key))
    write("server.crt", cert_pem(make_leaf_certificate(
        ca_key, ca, server_key.public_key(), "127.0.0.1", server=True, hosts=["127.0.0.1"],
        now=now)))
    client_key = new_key()
    write("client.key", key_pem(client_key))
    write("client.crt", cert_pem(make_leaf_certificate(
        ca_key, ca, client_key.public_key(), "device-1", server=False, now=now)))
    tls = TlsListener(free_port(), files["ca.crt"], files["server.crt"], files["server.key"],
                      bind="127.0.0.1", client_certs=True)
    with Mosquitto(tmp_path / "broker", tls=tls):
        s = _settings(tls.port, tls=True, ca_file=files["ca.crt"], cert_file=files["client.crt"],
                     key_file=files["client.key"])
        c = new_client(s)
        _, rc = _connect(c)
        _stop(c)
        assert not rc.is_failure
        # without the client certificate the broker refuses the handshake (with TLS 1.3 its
        # alert arrives after the client's side of the handshake): no CONNACK ever comes
        bare = new_client(replace(s, cert_file=None, key_file=None))
        accepted = threading.Event()
        bare.on_connect = lambda _c, _u, _f, rc, _p: None if rc.is_failure else accepted.set()
        bare.connect_in_background()
        try:
            assert not accepted.wait(3), "a TLS client without a certificate was let in"
        finally:
            bare.loop_stop()
