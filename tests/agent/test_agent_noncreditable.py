"""docs/protocol.md v1.1 §3 on the device: non-creditable entries and readings refused as
``future``.

An ``accepted`` item with ``"creditable": false`` is delivered (deleted from the outbox) and
recorded for the owner in the same transaction; a ``future`` rejection (the device's clock runs
ahead of the aggregator's) keeps the reading pending and retries it, because setting it aside
would stall the device's chain for good. Real outboxes throughout; the end-to-end tests use the
real Mosquitto broker and the protocol responder of :mod:`agent_testkit`.
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from agent.cli import main as cli_main
from agent.cli import status_report
from agent.outbox import Outbox
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import canonical_bytes
from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.records import RECEIPT_TYPE
from eco_protocol.signing import sign_record
from tests.agent.agent_kit import LOG_SIGNER, P, Responder, Rig, kill_outbox_child, make_rig

KEY = private_key_from_raw(b"\x11" * 32)
DEVICE = device_id_of(public_key_raw(KEY))
AT = "2026-11-22T01:00:00Z"
OVERLAP = "overlap: starts 2026-11-22T00:00:00Z, before the end of meter 'pv1''s previous reading"

pytestmark = pytest.mark.timeout(60)


def _body(n: int) -> dict[str, Any]:
    start = datetime(2026, 11, 22) + timedelta(seconds=P * n)
    fmt = "%Y-%m-%dT%H:%M:%SZ"
    return {"type": "eco.reading/v1", "device_id": DEVICE, "meter": "pv1",
            "quantity": "pv_generation", "start": start.strftime(fmt),
            "end": (start + timedelta(seconds=P)).strftime(fmt),
            "register_start_wh": 100 * n, "register_end_wh": 100 * n + 100, "energy_wh": 100,
            "flags": [], "source": {"protocol": "sunspec-modbus", "meter_serial": "S",
                                    "meter_model": "M"}, "co2_g_estimate": 43}


def _sign(r: Any) -> dict[str, Any]:
    return sign_record(r, KEY)


def _receipt(device: str, items: list[dict[str, Any]]) -> bytes:
    return canonical_bytes(sign_record({"type": RECEIPT_TYPE, "device_id": device,
                                        "items": items}, LOG_SIGNER.private_key))


def _item(seq: int, sha: str, status: str = "accepted", **kw: Any) -> dict[str, Any]:
    return {"seq": seq, "reading_sha256": sha, "status": status, "reason": None,
            "leaf_index": 0 if status != "rejected" else None} | kw


@pytest.fixture
def offline_rig(tmp_path: Path) -> Iterator[Rig]:
    rig = make_rig(tmp_path, port=1)  # never connects: receipts are handed in directly
    yield rig
    rig.agent.shutdown()


# --- the outbox -----------------------------------------------------------------------------


def test_a_non_creditable_reading_is_deleted_and_recorded_once(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        s = box.commit_cycle([_body(0), _body(1), _body(2)], {}, _sign)
        out = box.apply_receipt([(1, s[0].sha256)], [], {"accepted": 3},
                                [(2, s[1].sha256, OVERLAP), (3, "f" * 64, "implausible: x")], AT)
        assert (out.acknowledged, out.non_creditable, out.mismatched) == ((1, 2), (2,), (3,))
        assert [r.seq for r in box.pending(10)] == [3]  # a wrong hash deletes nothing
        total, recent = box.non_creditable()
        assert total == 1
        assert [n.to_dict() for n in recent] == [{
            "seq": 2, "reading_sha256": s[1].sha256, "reason": OVERLAP, "at": AT,
            "meter": "pv1", "start": "2026-11-22T00:30:00Z", "end": "2026-11-22T01:00:00Z"}]
        # the same receipt again (QoS 1 redelivers): nothing is recorded twice
        again = box.apply_receipt([], [], None, [(2, s[1].sha256, OVERLAP)], AT)
        assert (again.non_creditable, again.mismatched) == ((), (2,))
        assert box.non_creditable()[0] == 1
        assert box.counts().rejected == 0


def test_the_record_is_bounded_and_the_total_counts_everything(tmp_path: Path) -> None:
    n = Outbox.NON_CREDITABLE_KEEP + 30
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        stored = box.commit_cycle([_body(i) for i in range(n)], {}, _sign)
        for r in stored:
            box.apply_receipt([], [], None, [(r.seq, r.sha256, f"implausible: seq {r.seq}")],
                              AT)
        total, recent = box.non_creditable()
        assert total == n and box.counts().pending == 0
        assert [x.seq for x in recent] == list(range(n, 30, -1))  # the newest, newest first
        assert [x.seq for x in box.non_creditable(limit=3)[1]] == [n, n - 1, n - 2]
        count = box._db.execute("SELECT COUNT(*) FROM non_creditable").fetchone()[0]
        assert count == Outbox.NON_CREDITABLE_KEEP


def test_an_outbox_from_before_v1_1_is_migrated_in_place(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        stored = box.commit_cycle([_body(0), _body(1)], {}, _sign)
    old = sqlite3.connect(path)  # what an outbox written by the previous release looks like
    old.execute("DROP TABLE non_creditable")
    old.commit()
    old.close()
    with Outbox.open(path, DEVICE, readonly=True) as box:  # `status` on the old file
        assert box.non_creditable() == (0, [])
        assert [r.seq for r in box.pending(10)] == [1, 2]
    with Outbox.open(path, DEVICE) as box:  # the agent's first start on the new release
        out = box.apply_receipt([], [], None, [(1, stored[0].sha256, OVERLAP)], AT)
        assert out.non_creditable == (1,)
    with Outbox.open(path, DEVICE) as box:  # and every start after it: nothing is redone
        assert box.non_creditable()[0] == 1 and [r.seq for r in box.pending(10)] == [2]
    with Outbox.open(path, DEVICE, readonly=True) as box:
        assert [n.seq for n in box.non_creditable()[1]] == [1]


def test_sigkill_while_recording_non_creditable_readings_loses_nothing(tmp_path: Path) -> None:
    """A power cut between the delete and the record is impossible: one transaction. Each
    reading is either still pending or gone *and* counted, never gone uncounted."""
    path = tmp_path / "outbox.sqlite3"
    rng = random.Random(1122)
    intent: set[int] = set()
    done: set[int] = set()
    for run in range(12):
        for parts in kill_outbox_child(path, run, rng, "noncreditable"):
            if len(parts) == 2 and parts[0] == "a":
                intent.add(int(parts[1]))
            elif len(parts) == 2 and parts[0] == "A":
                done.add(int(parts[1]))
        with Outbox.open(path, DEVICE) as box:
            top = box.counts().next_seq - 1
            held = {r.seq for r in box.pending(100_000)}
            total, recent = box.non_creditable(limit=1000)
        gone = {s for s in range(1, top + 1) if s not in held}
        assert gone <= intent, "a reading left the outbox without a receipt"
        assert not done & held, "a recorded reading came back"
        assert total == len(gone), "a delivered non-creditable reading went unrecorded"
        assert {n.seq for n in recent} <= gone
        assert all(n.reason == f"overlap: {n.seq}" for n in recent)
    assert done, "the child never got as far as a receipt"


# --- the uplink and `eco-agent status` --------------------------------------------------------


def test_non_creditable_items_are_delivered_logged_once_and_shown_in_status(
        offline_rig: Rig, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str]) -> None:
    rig = offline_rig
    for _ in range(4):
        rig.cycle()
    up, box = rig.agent.uplink, rig.agent.outbox
    rows = {r.seq: r.sha256 for r in box.pending(10)}
    implausible = "implausible: 9000 Wh in 1800 s exceeds the meter's rated 4500 W (2250 Wh)"
    receipt = _receipt(rig.device_id, [
        _item(1, rows[1], creditable=False, reason=OVERLAP),
        _item(2, rows[2], creditable=True),  # creditable: true is just accepted
        _item(3, rows[3]),  # no field at all: an aggregator before v1.1, creditable
        _item(4, rows[4], creditable=False, reason=implausible)])
    with caplog.at_level(logging.WARNING, logger="agent.uplink"):
        up.handle_receipt(receipt)
        up.handle_receipt(receipt)  # redelivered: already applied, not logged again
    assert rig.pending() == [] and up.receipts_ignored == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2 and all("\n" not in w for w in warnings)
    assert "seq 1" in warnings[0] and OVERLAP in warnings[0]
    assert "seq 4" in warnings[1] and implausible in warnings[1]

    report = status_report(rig.config)
    assert report["non_creditable"]["total"] == 2
    assert [(n["seq"], n["reason"], n["meter"]) for n in report["non_creditable"]["recent"]] \
        == [(4, implausible, "pv1"), (1, OVERLAP, "pv1")]
    assert report["rejected"] == [] and report["pending"] == 0
    assert report["last_receipt"]["accepted"] == 4 and report["last_receipt"]["rejected"] == 0
    # the keys status printed before v1.1 are all still there
    assert {"device_id", "next_seq", "pending", "rejected", "last_receipt", "outbox", "clock",
            "meters", "today"} <= set(report)
    capsys.readouterr()
    assert cli_main(["status", "--json", str(tmp_path / "agent.toml")]) == 0  # for scripts
    printed = json.loads(capsys.readouterr().out)
    assert printed["non_creditable"] == report["non_creditable"]


def test_status_of_a_device_without_an_outbox_has_an_empty_section(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)
    rig.agent.shutdown()
    rig.config.device.outbox_path.unlink()
    assert status_report(rig.config)["non_creditable"] == {"total": 0, "recent": []}


def test_a_future_rejection_is_held_with_the_chain_behind_it(offline_rig: Rig) -> None:
    rig = offline_rig
    rig.cycle()
    rig.cycle()
    up, box = rig.agent.uplink, rig.agent.outbox
    rows = {r.seq: r.sha256 for r in box.pending(10)}
    now = time.monotonic()
    up._publish_due(now)  # not connected: paho queues them, as after a broker outage
    up.handle_receipt(_receipt(rig.device_id, [
        _item(1, rows[1], "rejected", reason="future: interval ends 2026-11-22T00:30:00Z, "
                                             "after the aggregator's clock"),
        _item(2, rows[2], "rejected", reason="gap: expected 1", expected_seq=1)]))
    assert box.counts().rejected == 0 and rig.pending() == [1, 2]  # nothing set aside
    assert status_report(rig.config)["rejected"] == []
    # not sent again at once (that would loop as fast as the aggregator answers)…
    up._publish_due(time.monotonic())
    assert 1 not in up._awaiting and 2 not in up._awaiting
    # …but after the resend delay, from seq 1 on
    up._publish_due(time.monotonic() + rig.config.uplink.resend_timeout_s)
    assert {1, 2} <= set(up._awaiting)
    up.handle_receipt(_receipt(rig.device_id, [_item(1, rows[1]), _item(2, rows[2])]))
    assert rig.pending() == []


def test_other_rejections_are_still_set_aside(offline_rig: Rig) -> None:
    rig = offline_rig
    rig.cycle()
    rows = {r.seq: r.sha256 for r in rig.agent.outbox.pending(10)}
    # "future" must be the code, not just a word somewhere in the reason
    rig.agent.uplink.handle_receipt(_receipt(rig.device_id, [
        _item(1, rows[1], "rejected", reason="bad_signature: not the future key")]))
    assert [(r.seq, r.reason) for r in rig.agent.outbox.rejected()] == [
        (1, "bad_signature: not the future key")]
    assert rig.agent.uplink._held == {}


# --- end to end through the real broker --------------------------------------------------------


@pytest.mark.integration
def test_a_device_clock_running_ahead_is_accepted_once_the_aggregator_catches_up(
        broker: Mosquitto, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, broker.port, meter_ids=("pv1", "pv2"), resend_timeout_s=0.3)
    lag = [timedelta(seconds=3 * P)]  # the aggregator's clock is 90 min behind the device's
    try:
        with Responder(broker.port, now=lambda: rig.clock.now() - lag[0]) as agg:
            agg.add_device(rig.device_id, rig.key)
            assert rig.cycle() == 2 and rig.cycle() == 2
            rig.pump_until(lambda: False, timeout=1.2)  # several resend delays pass
            assert agg.seqs() == [] and rig.pending() == [1, 2, 3, 4]
            assert rig.agent.outbox.counts().rejected == 0
            tries = sum(1 for m in agg.received if 1 in m)
            assert 2 <= tries <= 8, f"seq 1 sent {tries} times in 1.2 s"
            lag[0] = timedelta(0)
            assert rig.pump_until(lambda: rig.pending() == [], timeout=10)
            assert agg.seqs(rig.device_id) == [1, 2, 3, 4]
            report = status_report(rig.config)
            assert report["rejected"] == [] and report["pending"] == 0
    finally:
        rig.agent.shutdown()


@pytest.mark.integration
def test_non_creditable_receipts_from_the_wire(broker: Mosquitto, tmp_path: Path) -> None:
    rig = make_rig(tmp_path, broker.port, meter_ids=("pv1", "pv2"), resend_timeout_s=5)
    try:
        with Responder(broker.port, not_creditable={2: OVERLAP}) as agg:
            agg.add_device(rig.device_id, rig.key)
            rig.cycle()
            assert rig.pump_until(lambda: rig.pending() == [])
            assert agg.seqs(rig.device_id) == [1, 2]  # both in the ledger
            nc = status_report(rig.config)["non_creditable"]
            assert nc["total"] == 1 and nc["recent"][0]["seq"] == 2
            assert nc["recent"][0]["meter"] == "pv2" and nc["recent"][0]["reason"] == OVERLAP
    finally:
        rig.agent.shutdown()
