"""Issue 14, point 1: attacks that succeeded on a real instance, replayed against the broker
configuration ``eco-aggregator broker-config`` now generates (the real Mosquitto 2.0.11, the real
``serve``; docs/protocol.md §3 "Broker access", docs/pitfalls.md §5).

Each test names the attack and asserts the measured outcome. The site is built as an operator
builds it (``init``, ``ca``, ``broker-config``; :func:`tests.aggregator.test_broker_acl.make_site`):
the aggregator on the loopback listener with its own login, devices on the TLS listener.
"""

from __future__ import annotations

import queue
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from aggregator.cli import main as aggregator_main
from aggregator.config import LEGACY_CLIENT_ID, LEGACY_SHARE_GROUP, load_config
from aggregator.device_topics import DEFAULT_DEVICE_PREFIX
from aggregator.operator import read_audit
from eco_protocol.canonical import canonical_bytes, parse_json
from tests.aggregator.broker_kit import V5, Site, cli, connect_when_reloaded, make_site
from tests.aggregator.ledger_kit import Device
from tests.aggregator.serve_kit import start_serve, wait_subscribed

pytestmark = pytest.mark.integration

READINGS = 20


@pytest.fixture
def site(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Iterator[Site]:
    yield from make_site(tmp_path, capsys)


def _set_mqtt(site: Site, key: str, value: str) -> None:
    conf = Path(site.conf)
    conf.write_text(re.sub(rf'(?m)^{key} = ".*"$', f'{key} = "{value}"', conf.read_text()))


def _enrolled(site: Site) -> tuple[Device, V5]:
    """An enrolled device, connected on the devices' (TLS) listener with its own client id."""
    d = Device()
    login = site.enrol(d)
    return d, site.device_client(d.device_id, login["broker_password"])


class _Serving:
    """``eco-aggregator serve`` on the site's config, subscribed; its log kept."""

    def __init__(self, site: Site) -> None:
        self.proc = start_serve(site.conf)
        wait_subscribed(self.proc)
        self.rest = b""

    def stop(self) -> bytes:
        """Stop it; what it logged after its first 'connected to' line."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        self.rest += err
        return self.rest


def _send_and_count_receipts(honest: Device, client: V5, n: int, wait: float = 8.0) -> list[Any]:
    """Publish ``n`` readings once each (no resend, unlike an agent) and collect the receipts
    that arrive; a reading whose message the broker gave to someone else never gets one."""
    assert client.subscribe(f"eco/v1/{honest.device_id}/receipts").value == 1
    for _ in range(n):
        rc = client.publish(honest.topic, canonical_bytes([honest.reading()]))
        assert not rc.is_failure, rc
    receipts: list[Any] = []
    deadline = time.monotonic() + wait
    while len(receipts) < n and time.monotonic() < deadline:
        try:
            _, payload = client.expect(timeout=max(0.05, deadline - time.monotonic()))
        except queue.Empty:
            break
        receipts.append(parse_json(payload))
    return receipts


def _assert_every_receipt_and_nothing_stolen(honest: Device, client: V5,
                                            attackers: list[V5]) -> None:
    """The honest device gets a receipt for each of its readings, all accepted; no attacker's
    subscription delivered anything."""
    receipts = _send_and_count_receipts(honest, client, READINGS)
    assert len(receipts) == READINGS, f"{len(receipts)} of {READINGS} receipts"
    assert all(i["status"] == "accepted" for r in receipts for i in r["items"])
    for a in attackers:
        assert a.nothing(0.3), "an attacker received another device's reading"


ATTACK_FILTERS = ("$share/{group}/eco/v1/+/readings", "$share/aggregators/eco/v1/+/readings",
                  "$share/eco/eco/v1/+/readings", "eco/v1/+/readings", "#")


def test_stolen_readings_honest_device_keeps_all_receipts_while_three_devices_subscribe(
        site: Site) -> None:
    """Attack: enrolled devices subscribe to ``$share/<group>/eco/v1/+/readings`` to take the
    aggregator's turn of the shared subscription (with the old fixed group "aggregators" an
    honest device got 5 of 20 receipts). Now the group name is random: three attackers
    subscribing to every guess, ``eco/v1/+/readings`` and ``#`` take nothing."""
    cfg = load_config(Path(site.conf))
    assert re.fullmatch(r"agg-[0-9a-f]{32}", cfg.mqtt.share_group), cfg.mqtt.share_group
    honest, honest_client = _enrolled(site)
    attackers = [_enrolled(site)[1] for _ in range(3)]
    serve = _Serving(site)
    try:
        subacks = []
        for a in attackers:
            for f in ATTACK_FILTERS:
                subacks.append(a.subscribe(f.format(group="g")).value)
        # measured: Mosquitto 2.0.11's acl_file grants every SUBSCRIBE (QoS 1); only delivery
        # is checked. A future broker refusing them (135) is fine too.
        assert set(subacks) <= {1, 135}, subacks
        _assert_every_receipt_and_nothing_stolen(honest, honest_client, attackers)
    finally:
        for c in (honest_client, *attackers):
            c.close()
        serve.stop()


@pytest.mark.parametrize("name", ["old fixed", "leaked"])
def test_a_device_that_knows_the_share_group_takes_no_turn(site: Site, name: str) -> None:
    """Attack: devices that know the aggregator's share group name (the old fixed "aggregators",
    or the random one leaked) subscribe to ``$share/<group>/eco/v1/+/readings``. Mosquitto
    2.0.11's acl_file grants that SUBSCRIBE, and before the mount point each attacker joined the
    group and every turn it got was lost (an honest device got 5 of 20 receipts with three).
    Now the devices' listener has ``mount_point dev/``: the broker turns the filter into the
    plain ``dev/$share/<group>/…``, which matches nothing, so the attackers are never in the
    group, whatever they name (with or without the prefix, or ``#``): 20 of 20 receipts, and the
    attackers receive nothing."""
    if name == "old fixed":
        _set_mqtt(site, "share_group", LEGACY_SHARE_GROUP)
    mqtt = load_config(Path(site.conf)).mqtt
    group, prefix = mqtt.share_group, mqtt.device_prefix
    assert prefix == DEFAULT_DEVICE_PREFIX  # broker-config set it along with the mount point
    conf = (site.state / "broker" / "mosquitto.conf").read_text()
    assert f"mount_point {prefix}" in conf
    honest, honest_client = _enrolled(site)
    attackers = [_enrolled(site)[1] for _ in range(3)]
    serve = _Serving(site)
    try:
        for a in attackers:
            for f in (f"$share/{group}/eco/v1/+/readings",
                      f"$share/{group}/{prefix}eco/v1/+/readings", f"$share/{group}/#", "#"):
                # still granted (acl_file does not check SUBSCRIBE); a refusal would do too
                assert a.subscribe(f).value in (1, 135), f
        _assert_every_receipt_and_nothing_stolen(honest, honest_client, attackers)
    finally:
        for c in (honest_client, *attackers):
            c.close()
        serve.stop()
    out = cli(site.capsys, "--config", site.conf, "broker-config", "--out",
              str(site.state / "broker-check"), "--no-tls", "--persistence-dir",
              str(site.state / "p"))
    flagged = any(f"share_group {group!r} is guessable" in n for n in out["notes"])
    assert flagged == (name == "old fixed"), out["notes"]


def test_client_id_takeover_of_the_aggregator_leaves_its_session_alone(site: Site) -> None:
    """Attack: a device connects with the aggregator's client id (its configured one and the
    old fixed ``eco-aggregator-1``), again and again. Before, the aggregator was kicked into a
    connect/kick loop and its persistent session wiped. Now the devices' listener replaces a
    device's client id with its username (use_username_as_clientid): the aggregator stays
    connected, keeps its subscription and answers the honest device."""
    cfg = load_config(Path(site.conf))
    assert re.fullmatch(r"eco-aggregator-[0-9a-f]{16}", cfg.mqtt.client_id), cfg.mqtt.client_id
    honest, honest_client = _enrolled(site)
    attacker = Device()
    login = site.enrol(attacker)["broker_password"]
    serve = _Serving(site)
    takers: list[V5] = []
    try:
        for cid in (cfg.mqtt.client_id, LEGACY_CLIENT_ID) * 3:
            t = connect_when_reloaded(lambda cid=cid: site.device(attacker.device_id, login,
                                                                   client_id=cid))
            takers.append(t)
            time.sleep(0.2)
        # each taker knocked the previous one off (they all became the attacker's own id)
        assert [t.client.is_connected() for t in takers] == [False] * 5 + [True]
        receipts = _send_and_count_receipts(honest, honest_client, 3)
        assert len(receipts) == 3
    finally:
        for c in (honest_client, *takers):
            c.close()
        log = serve.stop()
    assert b"disconnected from broker" not in log, log.decode(errors="replace")
    assert b"connected to" not in log, "serve reconnected: " + log.decode(errors="replace")


def test_client_id_takeover_of_another_device_does_not_knock_it_off(site: Site) -> None:
    """Attack: a device connects with another device's client id, which used to knock that
    device off. Now its client id is its own device id whatever it sends."""
    victim, victim_client = _enrolled(site)
    attacker = Device()
    login = site.enrol(attacker)["broker_password"]
    taker = connect_when_reloaded(lambda: site.device(attacker.device_id, login,
                                                      client_id=victim.device_id))
    try:
        assert victim_client.subscribe(f"eco/v1/{victim.device_id}/receipts").value == 1
        time.sleep(0.5)
        assert victim_client.client.is_connected(), "the victim was knocked off"
        assert taker.client.is_connected()
        # the taker did not get the victim's session either: it may not publish as the victim
        rc = taker.publish(victim.topic, canonical_bytes([victim.reading()]))
        assert rc.value == 135, rc
    finally:
        taker.close()
        victim_client.close()


def test_device_login_on_the_plain_loopback_listener_is_refused(site: Site) -> None:
    """Attack: a device logs in on the plain (non-TLS) listener. That listener now has its own
    password file with the aggregator's login only: the device's valid login is refused there,
    while it works on the TLS listener; and the aggregator's login on the devices' listener may
    read and write nothing of the aggregator's."""
    d = Device()
    password = site.enrol(d)["broker_password"]
    site.device_client(d.device_id, password).close()  # valid, on the TLS listener
    plain = V5(site.port, d.device_id, password, client_id=d.device_id)
    try:
        rc = plain.connect()
    finally:
        plain.close()
    assert rc.is_failure and rc.value in (134, 135), rc
    agg = site.aggregator_client()  # the aggregator's own login works on its listener
    agg.close()
    conf = (site.state / "broker" / "mosquitto.conf").read_text()
    assert "per_listener_settings true" in conf
    agg_passwd = (site.state / "broker" / "passwd-aggregator").read_text()
    assert [line.split(":")[0] for line in agg_passwd.splitlines()] == ["eco-aggregator"]
    # the aggregator's login on the devices' listener: nothing of the aggregator's role
    on_tls = connect_when_reloaded(lambda: V5(site.tls_port, "eco-aggregator",
                                              site.aggregator_password, ca_file=site.ca_file))
    other, other_client = _enrolled(site)
    try:
        assert on_tls.subscribe("eco/v1/+/readings").value in (1, 135)
        assert on_tls.publish(f"eco/v1/{other.device_id}/receipts", b"{}").value == 135
        assert other_client.publish(other.topic, b"[]").value in (0, 16)
        assert on_tls.nothing(0.5)
    finally:
        on_tls.close()
        other_client.close()


def test_init_generates_unguessable_identities_and_old_configs_still_load(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two installations get different random client ids and share groups; a config written
    before (``eco-aggregator-1``, ``aggregators``) still loads, and broker-config says what to
    change."""
    ids = []
    for name in ("a", "b"):
        conf = tmp_path / name / "aggregator.toml"
        cli(capsys, "--config", str(conf), "init", str(tmp_path / name), "--origin",
            f"{name}.test")
        m = load_config(conf).mqtt
        ids.append((m.client_id, m.share_group))
    assert ids[0][0] != ids[1][0] and ids[0][1] != ids[1][1]
    conf = tmp_path / "a" / "aggregator.toml"
    text = re.sub(r'(?m)^client_id = ".*"$', f'client_id = "{LEGACY_CLIENT_ID}"',
                  conf.read_text())
    conf.write_text(re.sub(r'(?m)^share_group = ".*"$', f'share_group = "{LEGACY_SHARE_GROUP}"',
                           text))
    m = load_config(conf).mqtt
    assert (m.client_id, m.share_group) == (LEGACY_CLIENT_ID, LEGACY_SHARE_GROUP)
    out = cli(capsys, "--config", str(conf), "broker-config", "--out", str(tmp_path / "etc"),
              "--no-tls", "--persistence-dir", str(tmp_path / "p"))
    assert sum("is guessable" in n for n in out["notes"]) == 2, out["notes"]
    conf.write_text(conf.read_text().replace(f'share_group = "{LEGACY_SHARE_GROUP}"',
                                             'share_group = "a/b"'))
    assert aggregator_main(["--config", str(conf), "status"]) != 0
    assert "one topic level" in capsys.readouterr().err


def test_broker_password_leaves_an_audit_record(site: Site) -> None:
    """``broker-password`` issues a new way in: it is audited like enrol and revoke (the 0600
    operator-audit.jsonl and the eco.audit log line), refused attempts included."""
    d = Device()
    site.enrol(d)
    cfg = load_config(Path(site.conf))
    before = len(read_audit(cfg))
    out = cli(site.capsys, "--config", site.conf, "broker-password", d.device_id)
    assert out["broker_password"]
    unknown = Device().device_id
    assert aggregator_main(["--config", site.conf, "broker-password", unknown]) == 1
    assert "not enrolled" in site.capsys.readouterr().err
    assert aggregator_main(["--config", site.conf, "broker-password", "not-an-id"]) == 1
    site.capsys.readouterr()
    records = read_audit(cfg)[before:]
    assert [(r["action"], r["device_id"], r["outcome"]) for r in records] == [
        ("broker-password", d.device_id, "ok"), ("broker-password", unknown, "refused"),
        ("broker-password", None, "refused")]
    assert records[0]["broker_login"] == "reissued"
    assert records[0]["broker_reload"].startswith("reloaded")
    assert records[0]["household"] is not None and records[0]["os_user"]
    trail = cfg.state_dir / "operator-audit.jsonl"
    assert trail.stat().st_mode & 0o777 == 0o600
    assert out["broker_password"] not in trail.read_text()
