"""agent.uplink with a real Mosquitto and a receipt responder (docs/protocol.md §3).

The agent runs in-process with simulated meters and a manual clock so each test decides when
intervals complete; everything on the wire is real: the broker, MQTT v5, the signed readings and
the signed receipts. Receipt edge cases that need no broker call ``handle_receipt`` directly on a
real outbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from agent.cli import status_report
from agent.runner import build_agent
from aggregator.mosquitto import Mosquitto
from eco_protocol.canonical import canonical_bytes
from eco_protocol.keys import device_id_of, private_key_from_raw, public_key_raw
from eco_protocol.logkey import LogKeyChange, sign_log_key_change
from eco_protocol.note import NoteSigner
from eco_protocol.records import RECEIPT_TYPE
from eco_protocol.signing import sign_record
from eco_protocol.topics import LOG_KEYS_TOPIC
from tests.agent.agent_kit import LOG_SIGNER, WRONG_SIGNER, Responder, Rig, make_rig


@pytest.fixture
def rig_factory(tmp_path: Path) -> Iterator[Any]:
    made: list[Rig] = []

    def make(port: int, **kw: Any) -> Rig:
        r = make_rig(tmp_path, port, **kw)
        made.append(r)
        return r

    yield make
    for r in made:
        r.agent.shutdown()


pytestmark = pytest.mark.timeout(60)


@pytest.mark.integration
def test_readings_are_deleted_only_after_a_verified_accepted_receipt(
        broker: Mosquitto, rig_factory: Any) -> None:
    rig = rig_factory(broker.port, resend_timeout_s=0.7)
    with Responder(broker.port) as agg:
        agg.add_device(rig.device_id, rig.key)
        agg.silent = True
        assert rig.cycle() == 1 and rig.cycle() == 1
        assert rig.pump_until(lambda: sum(len(m) for m in agg.received) >= 2)
        rig.pump_until(lambda: False, timeout=0.3)  # PUBACKs arrive; nothing may be deleted
        assert rig.pending() == [1, 2]
        assert agg.ledger == []
        agg.silent = False  # the aggregator comes back: the resend after the timeout is receipted
        assert rig.pump_until(lambda: rig.pending() == [], timeout=10)
        assert agg.seqs(rig.device_id) == [1, 2]
        report = status_report(rig.config)
        assert report["pending"] == 0 and report["next_seq"] == 3
        assert report["last_receipt"]["accepted"] >= 1


@pytest.mark.integration
def test_a_receipt_signed_by_another_key_deletes_nothing(
        broker: Mosquitto, rig_factory: Any, caplog: pytest.LogCaptureFixture) -> None:
    rig = rig_factory(broker.port, resend_timeout_s=30)
    with Responder(broker.port, signer=WRONG_SIGNER) as agg:
        agg.add_device(rig.device_id, rig.key)
        with caplog.at_level(logging.ERROR, logger="agent.uplink"):
            rig.cycle()
            assert rig.pump_until(lambda: rig.agent.uplink.receipts_ignored >= 1)
        assert agg.seqs() == [1]  # the aggregator accepted it ...
        assert rig.pending() == [1]  # ... but the device cannot know that: nothing deleted
        assert "does not verify" in (rig.agent.uplink.last_error or "")
        assert any("RECEIPT IGNORED" in r.getMessage() for r in caplog.records)


@pytest.mark.integration
def test_a_gap_receipt_makes_the_agent_resend_from_expected_seq(
        broker: Mosquitto, rig_factory: Any) -> None:
    rig = rig_factory(broker.port, meter_ids=("pv1", "pv2"), resend_timeout_s=60)
    with Responder(broker.port) as agg:
        agg.add_device(rig.device_id, rig.key)
        agg.drop_next = 1  # the message with seq 1–2 is lost on the way
        assert rig.cycle() == 2
        assert rig.pump_until(lambda: agg.received == [[1, 2]])
        assert rig.cycle() == 2  # seq 3–4: the aggregator answers "gap: expected 1"
        # long before the 60 s resend timeout, the gap receipt brings 1–4 again
        assert rig.pump_until(lambda: rig.pending() == [], timeout=10)
        assert agg.seqs(rig.device_id) == [1, 2, 3, 4]
        gap_items = [i for r in agg.receipts for i in r["items"] if i.get("expected_seq")]
        assert gap_items and gap_items[0]["expected_seq"] == 1
        assert agg.received[1] == [3, 4] and agg.received[2][:2] == [1, 2]


@pytest.mark.integration
def test_a_rejected_reading_is_set_aside_shown_in_status_and_not_resent(
        broker: Mosquitto, rig_factory: Any) -> None:
    rig = rig_factory(broker.port, meter_ids=("pv1", "pv2"), resend_timeout_s=0.3)
    reason = "implausible: 9000 Wh exceeds rated power × interval"
    with Responder(broker.port, reject={2: reason}) as agg:
        agg.add_device(rig.device_id, rig.key)
        rig.cycle()
        assert rig.pump_until(lambda: rig.pending() == [])
        seen = len(agg.received)
        rig.pump_until(lambda: False, timeout=1.0)  # several resend timeouts pass
        assert not any(2 in m for m in agg.received[seen:]), "a rejected reading was resent"
        report = status_report(rig.config)
        assert report["pending"] == 0
        assert [(r["seq"], r["reason"], r["meter"]) for r in report["rejected"]] == [
            (2, reason, "pv2")]
        assert report["last_receipt"]["rejected"] == 1


@pytest.mark.integration
def test_broker_restart_mid_run_loses_nothing_and_tolerates_duplicates(
        tmp_path: Path, rig_factory: Any) -> None:
    # a broker with persistence, so the aggregator's session (its subscription) survives the
    # restart as in production; the agent itself keeps nothing on the broker
    with Mosquitto(tmp_path / "mosquitto", persistence=True) as mq:
        rig = rig_factory(mq.port, resend_timeout_s=30)
        with Responder(mq.port, persistent=True) as agg:
            agg.add_device(rig.device_id, rig.key)
            agg.swallow_receipts = True  # seq 1 enters the ledger, its receipt is lost
            rig.cycle()
            assert rig.pump_until(lambda: agg.seqs() == [1])
            mq.stop()
            assert rig.pump_until(lambda: not rig.agent.uplink.connected, timeout=5)
            assert rig.cycle() == 1 and rig.cycle() == 1  # meters are read while offline
            rig.pump_until(lambda: False, timeout=0.3)
            assert rig.pending() == [1, 2, 3]
            agg.swallow_receipts = False
            mq.start()
            # after the reconnect everything pending is sent again, long before the 30 s timeout
            assert rig.pump_until(lambda: rig.pending() == [], timeout=20)
            assert agg.seqs(rig.device_id) == [1, 2, 3]  # exactly once in the ledger
            statuses = [i["status"] for r in agg.receipts for i in r["items"] if i["seq"] == 1]
            assert "duplicate" in statuses


# --- receipt handling without a broker --------------------------------------------------------


def _receipt(device: str, items: list[dict[str, Any]], signer: Any = LOG_SIGNER) -> bytes:
    return canonical_bytes(sign_record({"type": RECEIPT_TYPE, "device_id": device,
                                        "items": items}, signer.private_key))


def _item(seq: int, sha: str, status: str = "accepted", **kw: Any) -> dict[str, Any]:
    return {"seq": seq, "reading_sha256": sha, "status": status, "reason": None,
            "leaf_index": 0 if status != "rejected" else None} | kw


def test_receipt_rules_on_a_real_outbox(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)  # never connects: nothing here needs the broker
    try:
        rig.meters["pv1"].register_wh += 0
        for _ in range(4):
            rig.cycle()
        up, box = rig.agent.uplink, rig.agent.outbox
        rows = {r.seq: r.sha256 for r in box.pending(10)}
        dev = rig.device_id
        other = device_id_of(public_key_raw(WRONG_SIGNER.private_key))

        up.handle_receipt(_receipt(other, [_item(1, rows[1])]))  # someone else's receipt
        up.handle_receipt(b"{not json")
        up.handle_receipt(_receipt(dev, [_item(1, rows[1])], WRONG_SIGNER))
        up.handle_receipt(_receipt(dev, [_item(1, rows[1])])[:-3] + b'A"}')
        assert up.receipts_ignored == 4 and rig.pending() == [1, 2, 3, 4]

        up.handle_receipt(_receipt(dev, [_item(1, rows[2])]))  # accepted, but not our hash
        assert rig.pending() == [1, 2, 3, 4]
        up.handle_receipt(_receipt(dev, [_item(1, rows[1]), _item(2, rows[2], "duplicate"),
                                         _item(3, rows[3], "rejected", reason="fork: x")]))
        assert rig.pending() == [4]
        assert [(r.seq, r.reason) for r in box.rejected()] == [(3, "fork: x")]
        assert box.last_receipt() is not None
    finally:
        rig.agent.shutdown()


def test_healthy_follows_the_network_loop(tmp_path: Path) -> None:
    """The runner's watchdog asks ``healthy``: true from the start, even before the broker is
    reachable (paho keeps trying), false once the loop is gone."""
    rig = make_rig(tmp_path, port=1)  # nothing listens there; make_rig starts the uplink
    try:
        up = rig.agent.uplink
        assert up.healthy()
        up.stop()
        assert not up.healthy()
    finally:
        rig.agent.shutdown()


def test_a_rejection_is_read_by_its_reason_code_not_its_wording(tmp_path: Path) -> None:
    """docs/protocol.md §3.2: a reason is ``"<code>: <text>"``. Only the code ``gap`` (with
    ``expected_seq``) means "send again from there"; a code that merely begins with the letters
    g-a-p is some other rejection, set aside like any unknown one."""
    rig = make_rig(tmp_path, port=1)
    try:
        for _ in range(3):
            rig.cycle()
        up, box = rig.agent.uplink, rig.agent.outbox
        rows = {r.seq: r.sha256 for r in box.pending(10)}
        dev = rig.device_id
        up.handle_receipt(_receipt(dev, [_item(2, rows[2], "rejected", reason="gap : expected 1",
                                               expected_seq=1)]))
        assert rig.pending() == [1, 2, 3] and box.rejected() == []
        assert box.last_receipt() is not None
        up.handle_receipt(_receipt(dev, [_item(3, rows[3], "rejected",
                                               reason="gapped_clock: not a code we know",
                                               expected_seq=1)]))
        assert rig.pending() == [1, 2]
        assert [(r.seq, r.reason) for r in box.rejected()] == [
            (3, "gapped_clock: not a code we know")]
    finally:
        rig.agent.shutdown()


@pytest.mark.integration
def test_backlog_drains_in_batches_with_bounded_messages_in_flight(
        broker: Mosquitto, rig_factory: Any) -> None:
    rig = rig_factory(broker.port, meter_ids=("pv1", "pv2", "pv3"), batch_max=2,
                      resend_timeout_s=1.0)
    with Responder(broker.port) as agg:
        agg.add_device(rig.device_id, rig.key)
        agg.silent = True
        for _ in range(4):
            rig.cycle()
        assert rig.pending() == list(range(1, 13))
        rig.pump_until(lambda: False, timeout=0.5)
        # max_in_flight = 4 messages of at most batch_max = 2 readings, in seq order
        assert agg.received == [[1, 2], [3, 4], [5, 6], [7, 8]]
        agg.silent = False
        assert rig.pump_until(lambda: rig.pending() == [], timeout=15)
        assert agg.seqs(rig.device_id) == list(range(1, 13))
        assert all(1 <= len(m) <= 2 for m in agg.received)


def test_no_receipt_payload_can_crash_the_main_loop_or_delete(tmp_path: Path) -> None:
    rig = make_rig(tmp_path, port=1)
    try:
        rig.cycle()
        rig.cycle()
        up = rig.agent.uplink
        rows = {r.seq: r.sha256 for r in rig.agent.outbox.pending(10)}
        valid = _receipt(rig.device_id, [_item(1, rows[1]), _item(2, rows[2], "duplicate")])

        @settings(max_examples=300, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])
        @given(st.one_of(
            st.binary(max_size=300),
            st.tuples(st.integers(0, len(valid) - 1), st.integers(1, 255)).map(
                lambda p: valid[:p[0]] + bytes([valid[p[0]] ^ p[1]]) + valid[p[0] + 1:]),
            st.integers(0, len(valid) - 1).map(lambda n: valid[:n])))
        def check(payload: bytes) -> None:
            up.handle_receipt(payload)  # never raises
            assert rig.pending() == [1, 2]  # and never deletes on an unverified receipt

        check()
        up.handle_receipt(valid)
        assert rig.pending() == []
    finally:
        rig.agent.shutdown()


def _key_change(old: Any, new: Any) -> dict[str, Any]:
    return sign_log_key_change(LogKeyChange(old.verifier.vkey, new.verifier.vkey,
                                            "2026-12-01T00:00:00Z", "rotation"), old, new)


@pytest.mark.integration
def test_the_agent_follows_a_log_key_change_announced_by_its_pinned_key(
        fresh_broker: Mosquitto, tmp_path: Path) -> None:
    """Issue 6: the log rotates its key; the agent learns the new key from the retained,
    signed announcement, keeps deleting readings only on receipts it can verify, and a restart
    keeps the followed key without --accept-new-log-key. A forged announcement changes nothing."""
    new = NoteSigner(LOG_SIGNER.name, private_key_from_raw(b"\x77" * 32))
    rig = make_rig(tmp_path, fresh_broker.port, resend_timeout_s=0.7)
    try:
        with Responder(fresh_broker.port) as agg:
            agg.add_device(rig.device_id, rig.key)
            rig.cycle()
            assert rig.pump_until(lambda: rig.pending() == [])
            # a forgery: WRONG_SIGNER claims to hand LOG_SIGNER's role to itself
            forged = _key_change(WRONG_SIGNER, new)
            forged["previous_key"] = LOG_SIGNER.verifier.vkey
            agg.client.publish(LOG_KEYS_TOPIC, canonical_bytes([forged]), qos=1, retain=True)
            assert rig.pump_until(lambda: "announcement ignored" in (
                rig.agent.uplink.last_error or ""))
            assert rig.agent.uplink.log_key.vkey == LOG_SIGNER.verifier.vkey
            # the real change: the log now signs receipts with the new key
            agg.signer = new
            agg.client.publish(LOG_KEYS_TOPIC, canonical_bytes([_key_change(LOG_SIGNER, new)]),
                               qos=1, retain=True)
            assert rig.pump_until(lambda: rig.agent.uplink.log_key.vkey == new.verifier.vkey)
            rig.cycle()
            assert rig.pump_until(lambda: rig.pending() == [], timeout=10)
            assert agg.seqs(rig.device_id) == [1, 2]
            assert rig.agent.state.pinned_log_key() == new.verifier.vkey
    finally:
        rig.agent.shutdown()
    # a restart: the config still names the old key, the state shows the way to the new one
    again = build_agent(rig.config, meter_factory=lambda mc: rig.meters[mc.id], clock=rig.clock)
    try:
        assert again.uplink.log_key.vkey == new.verifier.vkey
    finally:
        again.shutdown()
