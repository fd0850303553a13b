"""A municipality's broker with access control for tests: its site (CA, logins, ACLs), the CLI, and
connecting or being refused once the broker has reloaded."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from aggregator.cli import main as aggregator_main
from aggregator.mosquitto import Mosquitto, free_port
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from tests.aggregator.ledger_kit import PV_TERMS, Device


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    rc = aggregator_main(list(args))
    out, err = capsys.readouterr()
    assert rc == 0, err
    return json.loads(out)


class V5:
    """A blocking MQTT v5 test client that reports the broker's reason codes."""

    def __init__(self, port: int, username: str | None, password: str | None, *,
                 client_id: str | None = None, ca_file: Path | None = None,
                 cert: tuple[Path, Path] | None = None) -> None:
        self.port = port
        self.messages: queue.Queue[tuple[str, bytes]] = queue.Queue()
        self._connack: queue.Queue[ReasonCode] = queue.Queue()
        self._acks: dict[int, queue.Queue[list[ReasonCode]]] = {}
        self._lock = threading.Lock()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "",
                        protocol=mqtt.MQTTv5, reconnect_on_failure=False)
        if username is not None:
            c.username_pw_set(username, password)
        if ca_file is not None or cert is not None:
            c.tls_set(ca_certs=None if ca_file is None else str(ca_file),
                      certfile=None if cert is None else str(cert[0]),
                      keyfile=None if cert is None else str(cert[1]))
        c.on_connect = lambda _c, _u, _f, rc, _p: self._connack.put(rc)
        c.on_publish = lambda _c, _u, mid, rc, _p: self._ack(mid).put([rc])
        c.on_subscribe = lambda _c, _u, mid, rcs, _p: self._ack(mid).put(list(rcs))
        c.on_message = lambda _c, _u, m: self.messages.put((m.topic, bytes(m.payload)))
        self.client = c

    def _ack(self, mid: int) -> queue.Queue[list[ReasonCode]]:
        with self._lock:
            return self._acks.setdefault(mid, queue.Queue())

    def connect(self, timeout: float = 5.0) -> ReasonCode:
        self.client.connect("127.0.0.1", self.port, keepalive=30)
        self.client.loop_start()
        return self._connack.get(timeout=timeout)

    def publish(self, topic: str, payload: bytes, qos: int = 1) -> ReasonCode:
        info = self.client.publish(topic, payload, qos=qos)
        return self._ack(info.mid).get(timeout=5)[0]

    def subscribe(self, topic: str) -> ReasonCode:
        _, mid = self.client.subscribe(topic, qos=1)
        assert mid is not None
        return self._ack(mid).get(timeout=5)[0]

    def expect(self, timeout: float = 5.0) -> tuple[str, bytes]:
        return self.messages.get(timeout=timeout)

    def nothing(self, wait: float = 0.7) -> bool:
        try:
            self.messages.get(timeout=wait)
        except queue.Empty:
            return True
        return False

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect_when_reloaded(make: Callable[[], V5], timeout: float = 5.0) -> V5:
    """Connect as a login added a moment ago: the broker reloads on SIGHUP asynchronously."""
    deadline = time.monotonic() + timeout
    while True:
        c = make()
        rc = c.connect()
        if not rc.is_failure:
            return c
        c.close()
        if time.monotonic() > deadline:
            raise AssertionError(f"the broker kept refusing the new login: {rc}")
        time.sleep(0.1)


def refused_when_reloaded(make: Callable[[], V5], timeout: float = 5.0) -> ReasonCode:
    """Connect as a login removed a moment ago, until the broker (reloading on SIGHUP
    asynchronously) refuses it or ``timeout`` passes; the last answer."""
    deadline = time.monotonic() + timeout
    while True:
        c = make()
        try:
            rc = c.connect()
        finally:
            c.close()
        if rc.is_failure or time.monotonic() > deadline:
            return rc
        time.sleep(0.1)


@dataclass
class Site:
    """An aggregator state dir with a CA and the broker it configured, running."""

    state: Path
    conf: str
    init: dict[str, Any]
    broker: Mosquitto
    tls_port: int
    capsys: pytest.CaptureFixture[str]

    @property
    def port(self) -> int:
        return self.broker.port

    @property
    def ca_file(self) -> Path:
        return self.state / "ca" / "ca.crt"

    @property
    def aggregator_password(self) -> str:
        return (self.state / "broker" / "aggregator.password").read_text().strip()

    def enrol(self, device: Device) -> dict[str, Any]:
        out: dict[str, Any] = cli(
            self.capsys, "--config", self.conf, "enrol", "--public-key",
            b64encode(public_key_raw(device.key)), "--household", f"h-{device.device_id[:6]}",
            "--programme", "p", "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
        assert out["broker_reload"].startswith("reloaded: SIGHUP"), out["broker_reload"]
        return out

    def device(self, device_id: str, password: str, **kw: Any) -> V5:
        """A device's client on the devices' (TLS) listener, not yet connected."""
        return V5(self.tls_port, device_id, password, ca_file=self.ca_file, **kw)

    def device_client(self, device_id: str, password: str, **kw: Any) -> V5:
        return connect_when_reloaded(lambda: self.device(device_id, password,
                                                         client_id=device_id, **kw))

    def aggregator_client(self) -> V5:
        c = V5(self.port, "eco-aggregator", self.aggregator_password, client_id="agg-test")
        assert not c.connect().is_failure
        return c


def make_site(tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *broker_config_args: str) -> Iterator[Site]:
    state = tmp_path / "agg"
    port, tls_port = free_port(), free_port()
    conf = str(state / "aggregator.toml")
    init = cli(capsys, "--config", conf, "init", str(state), "--origin", "eco-ledger.acl.test",
               "--broker", f"mqtt://127.0.0.1:{port}")
    pid_file = state / "broker" / "mosquitto.pid"
    text = Path(conf).read_text()
    Path(conf).write_text(text.replace('broker_passwd_file = "broker/passwd"\n',
                                       'broker_passwd_file = "broker/passwd"\n'
                                       f'broker_pid_file = "{pid_file}"\n'))
    cli(capsys, "--config", conf, "ca", "init")
    cli(capsys, "--config", conf, "ca", "server-cert", "--host", "localhost", "--host",
        "127.0.0.1")
    user = ["--user", "root"] if os.geteuid() == 0 else []
    cli(capsys, "--config", conf, "broker-config", "--out", str(state / "broker"), "--port",
        str(port), "--tls-port", str(tls_port), "--tls-bind", "127.0.0.1", "--persistence-dir",
        str(tmp_path / "persist"), "--pid-file", str(pid_file), *user, *broker_config_args)
    with Mosquitto(state / "broker", port=port,
                   config_file=state / "broker" / "mosquitto.conf") as broker:
        yield Site(state, conf, init, broker, tls_port, capsys)
