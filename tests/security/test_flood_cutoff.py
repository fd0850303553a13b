"""A native flood is cut off at the broker, and the operator lets the device back in (issue 14).

Real processes throughout: Mosquitto with access control as ``eco-aggregator broker-config``
writes it (a login per device, ``[mqtt] broker_pid_file`` set: bench/flood.py
``hardened_site``), one ``eco-aggregator serve``, an enrolled device flooding with
``mosquitto_pub -l`` (C, ~50 k messages/s on this machine, faster than one ``serve`` drains) and
an honest device publishing one reading every 100 ms and timing each receipt.

Without the cut-off this flood left the honest device a median of 18 s and 79 of 201 receipts
(bench/results.json ``flood_c_*``): the broker queues the flood in front of it. With it, serve
suspends the flooder's login within a fraction of a second. The on-time bound here is 5 s,
generous on purpose (the issue's target, p99 ≤ 1 s, is the benchmark's business:
``python -m bench.flood --flooder cut``, ``flood_cut_*``; a timed test on a shared machine would
be flaky), and still far from the 18 s median of an uncut native flood.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.broker_auth import PasswordFile
from aggregator.flood_cutoff import CUTOFF_DROPS, read_suspended
from aggregator.ingest_status import read_status
from bench.flood import HonestDevice, c_flood, flood_payloads, hardened_site
from bench.harness import cli_json
from bench.town import aligned_start, make_device
from tests.aggregator.broker_kit import V5, connect_when_reloaded

pytestmark = pytest.mark.integration

FLOOD_S = 5.0
PERIOD_S = 0.1
ON_TIME_S = 5.0  # generous on purpose: see the module docstring


def test_a_native_flood_is_cut_off_at_the_broker_and_the_operator_restores_it(
        tmp_path: Path) -> None:
    n = int(3 * FLOOD_S / PERIOD_S)
    honest = make_device(seed=43, number=0, intervals=n,
                         start=aligned_start(datetime.now(UTC), n), per_message=1)
    flooder = make_device(seed=43, number=1, intervals=600,
                          start=aligned_start(datetime.now(UTC), 600), per_message=1)
    with hardened_site(tmp_path, f"cut{tmp_path.name[-8:]}", [honest, flooder]) as site:
        passwd = site.agg.state / "broker" / "passwd"
        hash_before = PasswordFile(passwd).read()[flooder.device_id]
        password = site.logins[flooder.device_id]
        ws = site.agg.start_workers(1)
        dev = None
        try:
            ws.wait_connected()
            dev = HonestDevice(site.device_port, honest, "honest",
                               site.logins[honest.device_id])
            quiet = dev.run(1.0, PERIOD_S, ON_TIME_S)
            assert quiet.answered == quiet.sent  # the set-up works before the flood
            flood = threading.Thread(target=c_flood, args=(
                site.device_port, flooder.topic, flood_payloads(flooder), FLOOD_S,
                (flooder.device_id, password)))
            flood.start()
            during = dev.run(FLOOD_S, PERIOD_S, ON_TIME_S)
            flood.join()

            # cut off: disconnected, and its login is refused
            refused = V5(site.device_port, flooder.device_id, password)
            try:
                rc = refused.connect()
            finally:
                refused.close()
            assert rc.is_failure and "authori" in str(rc).lower(), rc
            assert set(read_suspended(passwd)) == {flooder.device_id}
            assert flooder.device_id not in PasswordFile(passwd).read()
            status = read_status(site.agg.state)
            assert status is not None and status.devices[flooder.device_id].flooding

            # the operator lets it back in; the device keeps its password
            out = cli_json("--config", str(site.agg.config), "broker-restore",
                           flooder.device_id)
            assert out["broker_login"] == "restored"
            assert out["broker_reload"].startswith("reloaded"), out
            back = connect_when_reloaded(
                lambda: V5(site.device_port, flooder.device_id, password))
            try:
                # it may publish again, and serve answers it
                assert back.subscribe(f"eco/v1/{flooder.device_id}/receipts").value == 1
                assert back.publish(flooder.topic, flooder.messages[-1]).value in (0, 16)
                topic, _ = back.expect(timeout=10)  # its receipt (the listener's mount
                assert topic.endswith(f"eco/v1/{flooder.device_id}/receipts")  # point aside)
            finally:
                back.close()
            assert PasswordFile(passwd).read()[flooder.device_id] == hash_before
            assert read_suspended(passwd) == {}
            # a second restore is refused (and recorded)
            with pytest.raises(RuntimeError, match="is not suspended"):
                cli_json("--config", str(site.agg.config), "broker-restore", flooder.device_id)
            (final,) = ws.stop()
        finally:
            ws.kill()
            if dev is not None:
                dev.close()
        audit = site.audit()

    # the honest device kept ≥ 95 % of its receipts within the bound, during the flood
    assert during.on_time >= 0.95, during
    assert final["stats"]["dropped"] >= CUTOFF_DROPS

    # one audit record by serve, then the operator's restore (and the refused second one)
    mine = [(r["action"], r["actor"], r["outcome"], r["broker_login"]) for r in audit
            if r["device_id"] == flooder.device_id and r["action"].startswith("broker-")]
    assert mine == [("broker-suspend", "serve", "ok", "suspended"),
                    ("broker-restore", "cli", "ok", "restored"),
                    ("broker-restore", "cli", "refused", None)], mine
    suspend = next(r for r in audit if r["action"] == "broker-suspend")
    assert suspend["via"] == "serve" and suspend["broker_reload"].startswith("reloaded")
    assert "messages over the rate" in suspend["target"]
    assert not [r for r in audit if r["device_id"] == honest.device_id
                and r["action"] == "broker-suspend"]

    # one WARNING line says so and how to undo it
    log = "\n".join(p.read_text(errors="replace") for p in ws.logs)
    cut = [line for line in log.splitlines()
           if "WARNING" in line and "broker login is suspended" in line]
    assert len(cut) == 1 and flooder.device_id in cut[0], cut
    assert f"eco-aggregator broker-restore {flooder.device_id}" in cut[0]
    assert "no automatic flood cut-off" not in log


def test_serve_says_once_why_it_cannot_cut_a_flooder_off(tmp_path: Path) -> None:
    """On a broker without device logins (no pid file, no password file) serve only
    rate-limits, and says so at start, once."""
    from aggregator.mosquitto import Mosquitto
    from bench.harness import AggregatorDir

    with Mosquitto(tmp_path / "broker") as broker:
        agg = AggregatorDir(tmp_path / "agg", f"nocut{tmp_path.name[-8:]}", broker.url).init()
        ws = agg.start_workers(1)
        try:
            ws.wait_connected()
            time.sleep(0.2)
            ws.stop()
        finally:
            ws.kill()
    log = "\n".join(p.read_text(errors="replace") for p in ws.logs)
    lines = [line for line in log.splitlines() if "no automatic flood cut-off" in line]
    assert len(lines) == 1 and "broker_pid_file is not set" in lines[0], lines
