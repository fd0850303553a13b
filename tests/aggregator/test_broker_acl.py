"""Broker access control (docs/protocol.md §3 "Broker access"; issue 6) against a real Mosquitto.

Each test builds a site the way an operator would: ``eco-aggregator init``, ``ca init``,
``ca server-cert``, ``broker-config --out`` and then starts the real broker on the generated
``mosquitto.conf`` (free loopback ports). Devices are enrolled *after* the broker started, so every
login also proves that ``enrol`` made the running broker reload its password file (SIGHUP via
``[mqtt] broker_pid_file``). The refusals are MQTT v5 reason codes: 135 Not authorized on a PUBACK
or SUBACK, a failure code in the CONNACK.
"""

from __future__ import annotations

import json
import os
import queue
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.device_topics import DEFAULT_DEVICE_PREFIX
from tests.aggregator.broker_kit import (
    V5,
    Site,
    cli,
    connect_when_reloaded,
    make_site,
    refused_when_reloaded,
)
from tests.aggregator.ledger_kit import PV_TERMS, Device

pytestmark = pytest.mark.integration

NOT_AUTHORIZED = 135
# the devices' listener's mount point: the aggregator (loopback listener, no mount point) names
# the devices' topics with it; devices name them as docs/protocol.md §3.1 does
P = DEFAULT_DEVICE_PREFIX


def _device_sees(topic: str, payload: bytes) -> set[tuple[str, bytes]]:
    """What a device may receive for a message on ``P + topic``: Mosquitto 2.0.11 leaves the
    mount point in front (measured; eclipse-mosquitto#2244, fixed in 2.0.12), later versions
    remove it as mosquitto.conf(5) says."""
    return {(P + topic, payload), (topic, payload)}
ROOT = Path(__file__).resolve().parents[2]














@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    yield from make_site(tmp_path, capsys)


def test_generated_config_turns_anonymous_access_off_and_uses_the_pattern_acl(
        site: Site) -> None:
    conf = (site.state / "broker" / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in conf and "allow_anonymous true" not in conf
    assert f"password_file {site.state / 'broker' / 'passwd'}" in conf
    acl = (site.state / "broker" / "acl").read_text()
    assert f"pattern write {P}eco/v1/%u/readings" in acl
    assert f"pattern read {P}eco/v1/%u/receipts" in acl
    assert f"mount_point {P}" in conf
    anonymous = V5(site.port, None, None)
    try:
        assert anonymous.connect().is_failure
    finally:
        anonymous.close()


def test_device_publishes_its_own_readings_and_reads_its_own_receipts(site: Site) -> None:
    a = Device()
    login = site.enrol(a)
    assert login["broker_username"] == a.device_id
    agg = site.aggregator_client()
    dev = site.device_client(a.device_id, login["broker_password"])
    try:
        assert agg.subscribe(f"$share/aggregators/{P}eco/v1/+/readings").value == 1  # granted QoS 1
        assert dev.subscribe(f"eco/v1/{a.device_id}/receipts").value == 1
        assert dev.publish(f"eco/v1/{a.device_id}/readings", b"[1]").value == 0
        assert agg.expect() == (f"{P}eco/v1/{a.device_id}/readings", b"[1]")
        assert dev.publish(f"eco/v1/{a.device_id}/status", b"online").value in (0, 16)
        assert not agg.publish(f"{P}eco/v1/{a.device_id}/receipts", b"{}").is_failure
        assert dev.expect() in _device_sees(f"eco/v1/{a.device_id}/receipts", b"{}")
    finally:
        dev.close()
        agg.close()


def test_device_cannot_publish_as_another_device_or_forge_receipts(site: Site) -> None:
    a, b = Device(), Device()
    login_a = site.enrol(a)
    site.enrol(b)
    agg = site.aggregator_client()
    dev = site.device_client(a.device_id, login_a["broker_password"])
    try:
        assert agg.subscribe(f"$share/aggregators/{P}eco/v1/+/readings").value == 1
        rc = dev.publish(f"eco/v1/{b.device_id}/readings", b"[forged]")
        assert rc.value == NOT_AUTHORIZED, rc
        assert dev.publish(f"eco/v1/{a.device_id}/receipts", b"{}").value == NOT_AUTHORIZED
        assert dev.publish("eco/v1/other/readings", b"[x]").value == NOT_AUTHORIZED
        assert agg.nothing(), "a refused publish reached the aggregator"
        # the same session still works for its own topic
        assert dev.publish(f"eco/v1/{a.device_id}/readings", b"[ok]").value == 0
        assert agg.expect() == (f"{P}eco/v1/{a.device_id}/readings", b"[ok]")
    finally:
        dev.close()
        agg.close()


def test_device_cannot_read_another_devices_receipts_or_readings(site: Site) -> None:
    """Mosquitto 2.0's acl_file check does not refuse a SUBSCRIBE (the SUBACK grants it, see
    eclipse-mosquitto/mosquitto#2296 and #1318); the read check runs on every delivery instead.
    So a foreign subscription may be "granted", but nothing is ever delivered on it."""
    a, b = Device(), Device()
    login_a, login_b = site.enrol(a), site.enrol(b)
    agg = site.aggregator_client()
    dev_a = site.device_client(a.device_id, login_a["broker_password"])
    dev_b = site.device_client(b.device_id, login_b["broker_password"])
    try:
        for foreign in (f"eco/v1/{b.device_id}/receipts", "eco/v1/+/receipts",
                        "eco/v1/+/readings", f"eco/v1/{b.device_id}/#", "#",
                        "$share/x/eco/v1/+/readings"):
            assert dev_a.subscribe(foreign).value in (1, NOT_AUTHORIZED), foreign
        assert agg.subscribe(f"$share/aggregators/{P}eco/v1/+/readings").value == 1
        assert dev_b.subscribe(f"eco/v1/{b.device_id}/receipts").value == 1
        assert dev_b.publish(f"eco/v1/{b.device_id}/readings", b"[b]").value == 0
        assert agg.expect() == (f"{P}eco/v1/{b.device_id}/readings", b"[b]")
        assert not agg.publish(f"{P}eco/v1/{b.device_id}/receipts", b"{}").is_failure
        assert dev_b.expect() in _device_sees(f"eco/v1/{b.device_id}/receipts", b"{}")
        assert dev_a.nothing(), "device A received device B's receipt or reading"
        # the aggregator's own login may not pose as a device either
        assert agg.publish(f"{P}eco/v1/{b.device_id}/readings", b"[1]").value == NOT_AUTHORIZED
    finally:
        dev_a.close()
        dev_b.close()
        agg.close()


def test_only_the_aggregator_announces_log_key_changes_and_every_device_reads_them(
        site: Site) -> None:
    """eco/v1/log/keys (retained, our addition to docs/protocol.md §3): a device may read it, so it
    can follow a log key change, but never write it; the aggregator writes it."""
    a = Device()
    login = site.enrol(a)
    agg = site.aggregator_client()
    dev = site.device_client(a.device_id, login["broker_password"])
    try:
        assert dev.subscribe("eco/v1/log/keys").value == 1
        assert dev.publish("eco/v1/log/keys", b"[forged]").value == NOT_AUTHORIZED
        assert dev.nothing(), "a device's announcement reached the devices"
        assert not agg.publish(f"{P}eco/v1/log/keys", b"[]").is_failure
        assert dev.expect() in _device_sees("eco/v1/log/keys", b"[]")
        # retained under the mount point: a device subscribing later still gets the last one
        info = agg.client.publish(f"{P}eco/v1/log/keys", b"[r]", qos=1, retain=True)
        info.wait_for_publish(5)
        late = site.device_client(a.device_id, login["broker_password"])
        try:
            assert late.subscribe("eco/v1/log/keys").value == 1
            assert late.expect() in _device_sees("eco/v1/log/keys", b"[r]")
        finally:
            late.close()
    finally:
        dev.close()
        agg.close()


def test_wrong_password_unknown_user_and_revoked_device_are_refused_at_connect(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    a = Device()
    login = site.enrol(a)
    ok = site.device_client(a.device_id, login["broker_password"])
    ok.close()
    for user, password in ((a.device_id, login["broker_password"] + "x"),
                           (a.device_id, site.aggregator_password),
                           (Device().device_id, login["broker_password"]),
                           ("eco-aggregator", login["broker_password"])):
        c = site.device(user, password)
        try:
            rc = c.connect()
        finally:
            c.close()
        assert rc.is_failure and rc.value in (134, NOT_AUTHORIZED), rc
    out = cli(capsys, "--config", site.conf, "revoke", a.device_id, "--reason", "stolen")
    assert out["broker_login_removed"] is True
    assert out["broker_reload"].startswith("reloaded")
    rc = refused_when_reloaded(lambda: site.device(a.device_id, login["broker_password"]))
    assert rc.is_failure, "a revoked device can still log in"


def test_broker_password_reissues_a_login_and_the_old_one_stops_working(
        site: Site, capsys: pytest.CaptureFixture[str]) -> None:
    a = Device()
    old = site.enrol(a)["broker_password"]
    new = cli(capsys, "--config", site.conf, "broker-password", a.device_id)
    assert new["broker_password"] != old
    site.device_client(a.device_id, new["broker_password"]).close()
    c = site.device(a.device_id, old)
    try:
        assert c.connect().is_failure
    finally:
        c.close()
    assert aggregator_main(["--config", site.conf, "broker-password", Device().device_id]) == 1
    assert "not enrolled" in capsys.readouterr().err


def test_tls_listener_accepts_a_client_trusting_the_ca_and_refuses_one_without(
        site: Site, tmp_path: Path) -> None:
    a = Device()
    login = site.enrol(a)
    good = connect_when_reloaded(lambda: V5(site.tls_port, a.device_id, login["broker_password"],
                                            ca_file=site.ca_file))
    try:
        assert good.subscribe(f"eco/v1/{a.device_id}/receipts").value == 1
        assert good.publish(f"eco/v1/{a.device_id}/status", b"online").value in (0, 16)
    finally:
        good.close()
    # the system trust store does not know the municipality CA
    bad = V5(site.tls_port, a.device_id, login["broker_password"])
    bad.client.tls_set()
    with pytest.raises(ssl.SSLCertVerificationError):
        bad.connect()
    bad.close()
    # nor does a client trusting some other CA
    other = tmp_path / "other"
    cli(site.capsys, "--config", str(other / "aggregator.toml"), "init", str(other), "--origin",
        "other.test")
    cli(site.capsys, "--config", str(other / "aggregator.toml"), "ca", "init")
    wrong = V5(site.tls_port, a.device_id, login["broker_password"],
               ca_file=other / "ca" / "ca.crt")
    with pytest.raises(ssl.SSLCertVerificationError):
        wrong.connect()
    wrong.close()
    # and the plain listener is bound to loopback only
    conf = (site.state / "broker" / "mosquitto.conf").read_text()
    assert f"listener {site.port} 127.0.0.1" in conf


def test_client_certificate_cn_is_the_username(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """``broker-config --client-certs``: the TLS listener takes the device id from the client
    certificate's CN (use_identity_as_username), and the same pattern ACL applies."""
    for site in make_site(tmp_path, capsys, "--client-certs"):
        a, b = Device(), Device()
        site.enrol(a)
        site.enrol(b)
        issued = cli(capsys, "--config", site.conf, "ca", "client-cert", a.device_id)
        assert issued["subject"] == f"CN={a.device_id}"
        assert os.stat(issued["key"]).st_mode & 0o777 == 0o600
        dev = V5(site.tls_port, None, None, ca_file=site.ca_file,
                 cert=(Path(issued["cert"]), Path(issued["key"])))
        try:
            assert not dev.connect().is_failure
            assert dev.subscribe(f"eco/v1/{a.device_id}/receipts").value == 1
            assert dev.publish(f"eco/v1/{a.device_id}/readings", b"[1]").value in (0, 16)
            assert dev.publish(f"eco/v1/{b.device_id}/readings", b"[1]").value == NOT_AUTHORIZED
        finally:
            dev.close()
        # no client certificate: the TLS handshake fails (with TLS 1.3 the broker's alert
        # arrives after the client's side of the handshake, so no CONNACK ever comes)
        nocert = V5(site.tls_port, a.device_id, "x", ca_file=site.ca_file)
        try:
            rc = nocert.connect(timeout=3)
            refused = rc.is_failure
        except (ssl.SSLError, OSError, queue.Empty):
            refused = True
        finally:
            nocert.close()
        assert refused, "a TLS client without a certificate was let in"


AGENT_CONFIG = """\
[device]
state_dir = "{state_dir}"
log_key = "{log_vkey}"
interval_minutes = 30
poll_seconds = 300

[uplink]
broker = "{broker}"
resend_timeout_s = 5.0

[clock]
mode = "accelerated"
origin_sim = "2026-05-01T00:00:00Z"
origin_wall = {origin_wall:.3f}
speed = {speed}

[[meters]]
id = "pv1"
quantity = "pv_generation"
protocol = "sunspec-modbus"
port = "{port}"
timeout_s = 0.5
"""


@pytest.mark.parametrize("login", ["password", "client-cert"])
def test_agent_and_aggregator_end_to_end_with_credentials_over_tls(
        login: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """eco-agent run (over the TLS listener, pinned CA; logging in with the password from enrol,
    or with a client certificate whose CN is its device id) ↔ eco-aggregator serve (its own login
    on the loopback listener): readings are accepted and receipted."""
    extra = ("--client-certs",) if login == "client-cert" else ()
    for site in make_site(tmp_path, capsys, *extra):
        _agent_end_to_end(site, tmp_path, login)


def _agent_end_to_end(site: Site, tmp_path: Path, login: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    procs: list[subprocess.Popen[bytes]] = []

    def start(name: str, argv: list[str], pipe: bool = False) -> subprocess.Popen[bytes]:
        log = open(tmp_path / f"{name}.log", "wb")  # noqa: SIM115 - owned by the process
        p = subprocess.Popen(argv, stdout=subprocess.PIPE if pipe else log, stderr=log,
                             stdin=subprocess.DEVNULL, env=env, start_new_session=True)
        log.close()
        procs.append(p)
        return p

    speed = 1800.0  # one 30-minute interval per wall second
    origin_wall = time.time() + 1.0
    try:
        sim = start("sim", [sys.executable, "-m", "firmware_sim.cli", "inverter", "--rated-w",
                            "4500", "--seed", "7", "--speed", str(speed), "--origin-sim",
                            "2026-05-01T00:00:00+00:00", "--origin-wall", f"{origin_wall:.3f}"],
                    pipe=True)
        assert sim.stdout is not None
        port = json.loads(sim.stdout.readline())["port"]
        agent_dir = tmp_path / "agent"
        agent_dir.mkdir()
        cfg = agent_dir / "agent.toml"
        text = AGENT_CONFIG.format(state_dir=agent_dir, log_vkey=site.init["log_vkey"],
                                   broker=f"mqtts://127.0.0.1:{site.tls_port}",
                                   origin_wall=origin_wall, speed=speed, port=port)
        cfg.write_text(text)
        keygen = subprocess.run([sys.executable, "-m", "agent.cli", "keygen", str(cfg)],
                                capture_output=True, text=True, env=env, check=True)
        device_id = json.loads(keygen.stdout)["device_id"]
        enrolled = cli(site.capsys, "--config", site.conf, "enrol", "--public-key",
                       json.loads(keygen.stdout)["public_key"], "--household", "e2e",
                       "--programme", "p", "--meter", "pv1:pv_generation:sunspec-modbus:4500",
                       *PV_TERMS)
        assert enrolled["device_id"] == device_id
        if login == "password":
            uplink = (f'username = "{device_id}"\npassword = "{enrolled["broker_password"]}"\n'
                      f'ca_file = "{site.ca_file}"\n')
        else:
            issued = cli(site.capsys, "--config", site.conf, "ca", "client-cert", device_id,
                         "--out", str(agent_dir))
            uplink = (f'ca_file = "{site.ca_file}"\ncert_file = "{issued["cert"]}"\n'
                      f'key_file = "{issued["key"]}"\n')
        cfg.write_text(text.replace("[uplink]\n", "[uplink]\n" + uplink))
        serve = start("serve", [sys.executable, "-m", "aggregator.cli", "--config", site.conf,
                                "serve"])
        start("agent", [sys.executable, "-m", "agent.cli", "run", str(cfg)])
        deadline = time.monotonic() + 60
        status: dict[str, Any] = {}
        agent: dict[str, Any] = {}
        while time.monotonic() < deadline:
            status = cli(site.capsys, "--config", site.conf, "status")
            r = subprocess.run([sys.executable, "-m", "agent.cli", "status", "--json", str(cfg)],
                               capture_output=True, text=True, env=env, check=False)
            if r.returncode == 0:  # the outbox may not exist yet while the agent starts
                agent = json.loads(r.stdout)
                if status["devices"][0]["next_seq"] >= 4 and agent["last_receipt"] is not None:
                    break
            time.sleep(0.5)
        assert status["devices"][0]["next_seq"] >= 4, (tmp_path / "agent.log").read_text()
        assert agent["rejected"] == []
        receipt = agent["last_receipt"]
        assert receipt["accepted"] >= 1
        serve.send_signal(signal.SIGTERM)
        serve.wait(20)
        assert serve.returncode == 0
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
    agent_log = (tmp_path / "agent.log").read_text()
    assert "refused" not in agent_log and "Not authorized" not in agent_log, agent_log
    assert "unexpected message" not in agent_log, agent_log
