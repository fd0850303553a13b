"""An enrolled device floods; an honest device keeps getting its receipts (issue 14, point 2).

Real processes throughout: Mosquitto, one ``eco-aggregator serve`` on SQLite (bench/harness.py
``AggregatorDir``/``Workers``: the console command a deployment runs), a flooding device in its
own process publishing QoS 1 as fast as the broker acknowledges — copies of a valid message,
garbage payloads and new valid readings on its own topic, in turn — and an honest device
publishing one reading every 100 ms and timing each receipt.

The on-time bound here is deliberately generous, 5 s (the issue's target is p99 ≤ 1 s; the
measured percentiles are the benchmark's business, ``python -m bench.flood``, because a timed
test on a shared machine would be flaky). Before fair ingest the honest device's median on this
machine was 18–20 s during such a flood, with most of its messages never answered (the broker
dropped them from a full queue), so the bound still separates fair from unfair by a wide margin.
"""

from __future__ import annotations

import multiprocessing as mp
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from aggregator.ingest_status import read_status
from aggregator.mosquitto import Mosquitto
from bench.flood import HonestDevice, flood_payloads, flood_process
from bench.harness import AggregatorDir
from bench.town import aligned_start, enrol_town, make_device

pytestmark = pytest.mark.integration

FLOOD_S = 5.0
PERIOD_S = 0.1
ON_TIME_S = 5.0  # generous on purpose: see the module docstring
RATE_PER_DEVICE = 20.0  # serve's default per-device rate: aggregator.toml [ingest] rate_per_device


def _rejections(agg: AggregatorDir) -> list[tuple[str, str]]:
    db = sqlite3.connect(agg.state / "ledger.sqlite3")
    try:
        return [(str(d), str(r)) for d, r in
                db.execute("SELECT device_id, reason FROM rejection ORDER BY id")]
    finally:
        db.close()


def test_an_honest_device_keeps_its_receipts_while_another_floods(
        tmp_path: Path, broker: Mosquitto) -> None:
    n = int(3 * FLOOD_S / PERIOD_S)
    honest = make_device(seed=41, number=0, intervals=n,
                         start=aligned_start(datetime.now(UTC), n), per_message=1)
    flooder = make_device(seed=41, number=1, intervals=600,
                          start=aligned_start(datetime.now(UTC), 600), per_message=1)
    agg = AggregatorDir(tmp_path / "agg", f"flood-{tmp_path.name[-12:]}", broker.url).init()
    ledger = agg.ledger()
    enrol_town(ledger, [honest, flooder])
    ledger.store.close()
    ws = agg.start_workers(1)
    dev = None
    try:
        ws.wait_connected()
        dev = HonestDevice(broker.port, honest, f"honest-{tmp_path.name[-12:]}")
        quiet = dev.run(1.0, PERIOD_S, ON_TIME_S)
        assert quiet.answered == quiet.sent  # the set-up works before the flood
        ctx = mp.get_context("fork")
        ready, go, result = ctx.Event(), ctx.Event(), ctx.Queue()
        proc = ctx.Process(target=flood_process, args=(
            broker.port, flooder.topic, flood_payloads(flooder), FLOOD_S, ready, go, result))
        proc.start()
        try:
            assert ready.wait(10), "the flooder did not connect"
            go.set()
            during = dev.run(FLOOD_S, PERIOD_S, ON_TIME_S)
            published, acked, _ = result.get(timeout=60)
        finally:
            proc.join(10)
            if proc.is_alive():
                proc.kill()
        (final,) = ws.stop()
    finally:
        ws.kill()
        if dev is not None:
            dev.close()

    # the flood was one: far more messages than the rate limit lets through (five times: the
    # Python flooder's pace is the machine's, and beside four busy test workers it once
    # reached 9.3 times, not the 10 asked before)
    assert acked > 5 * RATE_PER_DEVICE * FLOOD_S, (published, acked)
    # ≥ 95 % of the honest device's messages answered within the bound, during the flood
    assert during.on_time >= 0.95, during
    stats = final["stats"]
    assert stats["dropped"] > 0  # refused in the network thread, acknowledged, unanswered

    # the serve log: a few summary lines per device, not one per message
    log = "\n".join(p.read_text(errors="replace") for p in ws.logs)
    warnings = [line for line in log.splitlines() if "WARNING" in line]
    about_flooder = [line for line in warnings if flooder.device_id in line]
    assert 1 <= len(about_flooder) <= 4, about_flooder
    assert len(warnings) <= 10, warnings
    assert any(re.search(r"\d+ more problem message\(s\)", line) for line in about_flooder)

    # the rejection table grew by a bounded amount, though hundreds of refused messages were
    # within the rate (garbage is a third of what was admitted)
    rows = [r for d, r in _rejections(agg) if d == flooder.device_id]
    assert stats["messages"] - quiet.sent - during.sent > 30  # admitted flood messages
    assert 1 <= len(rows) <= 14, rows
    assert any(r.startswith("suppressed: ") or r.startswith("rate_limited: ") for r in rows)
    assert not [d for d, _ in _rejections(agg) if d == honest.device_id]

    # what the fleet page shows: the flooder is flagged, the honest device is not
    status = read_status(agg.state)
    assert status is not None
    assert status.devices[flooder.device_id].flooding
    assert status.devices[flooder.device_id].dropped > 0
    assert honest.device_id not in status.devices  # nothing of it refused or dropped
