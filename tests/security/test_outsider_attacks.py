"""The red-team suite, outsiders: the attacks that already hold, replayed against one real
``eco-aggregator serve`` (MQTT ingest behind a real Mosquitto, the read API and the web UI on
real sockets), so they keep holding. Each test names the attack and asserts what was measured.

The insiders' attacks are beside it: tests/security/test_broker_attacks.py (stolen readings,
client-id takeover, the plain listener), test_flood.py (one device floods), test_insider_fork.py
(a cloned device), test_erasure.py (personal data), tests/webui/test_webui_lockout.py and
tests/webui/test_webui_http.py (password guessing interleaved with another account's logins),
tests/aggregator/test_audit_tables.py (an insider with the database).
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pytest

from aggregator.cli import main as aggregator_main
from aggregator.mosquitto import Mosquitto, free_port
from aggregator.webui.auth import Role, UserStore, ui_dir
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import b64encode
from eco_protocol.keys import public_key_raw
from eco_protocol.records import Receipt, ReceiptStatus
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.aggregator.serve_kit import DeviceClient, isolate, wait_subscribed

pytestmark = pytest.mark.integration
OPERATOR = ("alice", "correct horse battery")
CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class _Town:
    conf: str
    api: str
    ui: str
    port: int  # the broker's
    device: Device  # enrolled
    proc: subprocess.Popen[bytes]


def _wait_http(url: str, deadline: float) -> None:
    while True:
        try:
            httpx.get(url, timeout=2)
            return
        except httpx.TransportError:
            assert time.monotonic() < deadline, f"{url} did not come up"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def town(tmp_path_factory: pytest.TempPathFactory, broker: Mosquitto) -> Iterator[_Town]:
    state = tmp_path_factory.mktemp("outsiders") / "agg"
    conf = _cli("--config", str(state / "aggregator.toml"), "init", str(state),
               "--origin", "eco-ledger.outsiders.test", "--broker", broker.url)["config"]
    isolate(conf, "outsiders")
    d = Device()
    _cli("--config", conf, "enrol", "--public-key", b64encode(public_key_raw(d.key)),
        "--household", "Outsider test home", "--programme", "p",
        "--meter", "pv1:pv_generation:sunspec-modbus:4500", *PV_TERMS)
    UserStore(ui_dir(state) / "users.json").add(*OPERATOR, Role.OPERATOR)
    api, ui = free_port(), free_port()
    proc = subprocess.Popen([sys.executable, "-m", "aggregator.cli", "--config", conf, "serve",
                             "--http", f"127.0.0.1:{api}", "--ui", f"127.0.0.1:{ui}"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env={"PYTHONPATH": str(Path.cwd()), "PATH": "/usr/bin:/bin"})
    try:
        wait_subscribed(proc)
        deadline = time.monotonic() + 20
        _wait_http(f"http://127.0.0.1:{api}/checkpoint", deadline)
        _wait_http(f"http://127.0.0.1:{ui}/login", deadline)
        yield _Town(conf, f"http://127.0.0.1:{api}", f"http://127.0.0.1:{ui}", broker.port, d,
                   proc)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=30)


def _cli(*args: str) -> Any:
    """``eco-aggregator ARGS`` in-process, its JSON output (a module fixture has no capsys)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert aggregator_main(list(args)) == 0
    return json.loads(out.getvalue())


def _send(town: _Town, readings: list[dict[str, Any]], device: Device | None = None,
          topic: str | None = None) -> Receipt:
    client = DeviceClient(device or town.device, town.port)
    try:
        if topic is None:
            return Receipt.from_dict(client.send_until_receipt(readings))
        client.client.publish(topic, canonical_bytes(readings), qos=1)
        return Receipt.from_dict(json.loads(client.receipts.get(timeout=20)))
    finally:
        client.close()


def test_forged_reading_is_rejected_and_logs_nothing(town: _Town) -> None:
    rec = copy.deepcopy(town.device).reading()  # the device's next seq, never logged
    rec["energy_wh"] += 1000  # after signing: the signature no longer covers it
    rec["register_end_wh"] += 1000
    item = _send(town, [rec]).items[0]
    assert item.status is ReceiptStatus.REJECTED and item.reason.startswith("bad_signature")


def test_replayed_reading_is_a_duplicate_never_a_second_entry(town: _Town) -> None:
    rec = town.device.reading()
    first = _send(town, [rec]).items[0]
    assert first.status is ReceiptStatus.ACCEPTED
    again = _send(town, [rec]).items[0]
    assert again.status is ReceiptStatus.DUPLICATE and again.leaf_index == first.leaf_index


def test_another_devices_reading_on_my_topic_is_refused(town: _Town) -> None:
    """Without broker logins (the test broker is open) the intake still binds a reading to its
    topic: a reading of device A published on B's topic is not A's to send."""
    stranger = Device()
    rec = copy.deepcopy(town.device).reading()
    item = _send(town, [rec], device=stranger,
                 topic=f"eco/v1/{stranger.device_id}/readings").items[0]
    assert item.status is ReceiptStatus.REJECTED and "topic" in (item.reason or "")


@pytest.mark.parametrize("path", ["/tile/../../../../etc/passwd", "/tile/0/..%2f..%2fetc",
                                  "/tile/entries/%2e%2e/%2e%2e/ledger.sqlite3"])
def test_tile_path_traversal_reads_no_file(town: _Town, path: str) -> None:
    r = httpx.get(town.api + path)
    assert r.status_code in (400, 404)
    assert b"root:" not in r.content and b"SQLite format" not in r.content


@pytest.mark.parametrize("query", ["/proof/inclusion?device_id=' OR 1=1 --&seq=1",
                                   "/proof/inclusion?index=1;DROP TABLE entry",
                                   "/proof/consistency?old=1&new=2 UNION SELECT data FROM entry"])
def test_sql_injection_in_read_api_parameters_is_a_named_400(town: _Town, query: str) -> None:
    r = httpx.get(town.api + query)
    assert r.status_code == 400 and r.json()["parameter"] in ("device_id", "index", "new")
    assert httpx.get(f"{town.api}/checkpoint").status_code == 200  # the log is still there


def test_oversize_body_is_refused_before_it_is_read(town: _Town) -> None:
    r = httpx.post(f"{town.api}/cosign", content=b"x" * (1024 * 1024))
    assert r.status_code == 413


def _login(town: _Town, client: httpx.Client) -> httpx.Response:
    token = CSRF_RE.search(client.get(f"{town.ui}/login").text)
    assert token is not None
    return client.post(f"{town.ui}/login", data={"csrf": token.group(1),
                                                 "username": OPERATOR[0],
                                                 "password": OPERATOR[1]})


def test_cross_site_post_without_the_csrf_token_is_forbidden(town: _Town) -> None:
    with httpx.Client(follow_redirects=False) as c:
        assert _login(town, c).status_code == 303
        for action, data in (("/security/lift", {"kind": "account", "name": "alice"}),
                             (f"/devices/{town.device.device_id}/revoke", {"reason": "x"})):
            assert c.post(f"{town.ui}{action}", data=data).status_code == 403
            assert c.post(f"{town.ui}{action}", data={**data, "csrf": "forged"}
                          ).status_code == 403


def test_session_fixation_and_cookie_flags(town: _Town) -> None:
    with httpx.Client(follow_redirects=False) as c:
        c.get(f"{town.ui}/login")
        planted = c.cookies.get("eco_session")
        r = _login(town, c)
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert c.cookies.get("eco_session") != planted  # a new session on login
        page = c.get(f"{town.ui}/fleet")
        assert page.status_code == 200
        assert page.headers["x-frame-options"] == "DENY"
        assert "script-src 'none'" in page.headers["content-security-policy"]
