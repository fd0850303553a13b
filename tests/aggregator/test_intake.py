"""Intake: what each kind of reading gets back, and what lands in the ledger."""

from __future__ import annotations

import json
from typing import Any

import pytest

from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.registry import revoke
from aggregator.store.interface import DeviceRow
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.keys import DeviceId
from eco_protocol.records import Receipt, ReceiptStatus
from eco_protocol.signing import verify_record
from tests.aggregator.ledger_kit import Device

NOW = "2026-11-23T00:00:00Z"


def _send(intake: Intake, device: Device, readings: list[dict[str, Any]],
         topic: str | None = None) -> Receipt:
    (outcome,) = intake.process([(topic or device.topic, canonical_bytes(readings))], NOW)
    assert outcome.receipt is not None, outcome.problem
    verify_record(outcome.receipt, intake.ledger.signer.private_key.public_key(), "receipt")
    return Receipt.from_dict(outcome.receipt)


def test_accepted_readings_enter_the_ledger_in_order(ledger: Ledger, device: Device) -> None:
    intake = Intake(ledger)
    size0 = ledger.size()
    batch = [device.reading(), device.reading(), device.reading()]
    r = _send(intake, device, batch)
    assert [i.status for i in r.items] == [ReceiptStatus.ACCEPTED] * 3
    assert [i.leaf_index for i in r.items] == [size0, size0 + 1, size0 + 2]
    assert ledger.store.entry(size0 + 1) == canonical_bytes(batch[1])


def test_resent_reading_is_a_duplicate_with_the_first_leaf(ledger: Ledger,
                                                           device: Device) -> None:
    intake = Intake(ledger)
    first = device.reading()
    a = _send(intake, device, [first])
    b = _send(intake, device, [first])
    assert b.items[0].status is ReceiptStatus.DUPLICATE
    assert b.items[0].leaf_index == a.items[0].leaf_index
    assert ledger.size() == a.items[0].leaf_index + 1  # nothing appended twice


def test_gap_is_rejected_with_expected_seq(ledger: Ledger, device: Device) -> None:
    intake = Intake(ledger)
    device.reading()  # seq 1 never sent
    r = _send(intake, device, [device.reading()])
    item = r.items[0]
    assert item.status is ReceiptStatus.REJECTED
    assert item.expected_seq == 1
    assert item.reason is not None and item.reason.startswith("gap:")


def test_fork_is_rejected_and_flags_the_device(ledger: Ledger, device: Device) -> None:
    intake = Intake(ledger)
    _send(intake, device, [device.reading(energy=100)])
    device.seq, device.prev = 0, "0" * 64
    r = _send(intake, device, [device.reading(energy=101)])
    assert r.items[0].status is ReceiptStatus.REJECTED
    assert r.items[0].reason is not None and r.items[0].reason.startswith("fork:")
    row = ledger.store.device(device.device_id)
    assert row is not None and row.flag == "quarantined by entry 2"
    quarantine = parse_json(ledger.store.entry(2))
    assert quarantine["type"] == "eco.quarantine/v1" and quarantine["reason"].startswith("fork:")
    assert quarantine["evidence"]["energy_wh"] == 101  # the refused reading, as it was signed


def test_forged_signature_is_rejected(ledger: Ledger, device: Device) -> None:
    intake = Intake(ledger)
    rec = device.reading()
    rec["energy_wh"] += 1
    rec["register_end_wh"] += 1
    r = _send(intake, device, [rec])
    assert r.items[0].reason is not None and r.items[0].reason.startswith("bad_signature:")
    assert ledger.store.reading(device.device_id, 1) is None


def test_reading_of_an_unenrolled_device(ledger: Ledger) -> None:
    stranger = Device()
    r = _send(Intake(ledger), stranger, [stranger.reading()])
    assert r.items[0].reason is not None and r.items[0].reason.startswith("unknown_device:")


def test_reading_on_another_devices_topic(ledger: Ledger, device: Device) -> None:
    other = Device()
    r = _send(Intake(ledger), device, [other.reading()], topic=device.topic)
    assert r.items[0].reason is not None and r.items[0].reason.startswith("wrong_topic:")


def test_implausible_energy_is_logged_but_not_creditable(ledger: Ledger,
                                                         device: Device) -> None:
    intake = Intake(ledger)
    r = _send(intake, device, [device.reading(energy=4500 // 2 + 1)])
    item = r.items[0]
    assert item.status is ReceiptStatus.ACCEPTED and item.creditable is False
    assert item.reason is not None and item.reason.startswith("implausible:")
    assert item.leaf_index is not None
    # the chain goes on: the next interval is accepted and creditable
    nxt = _send(intake, device, [device.reading(energy=400)]).items[0]
    assert nxt.status is ReceiptStatus.ACCEPTED and nxt.creditable is True
    assert nxt.reason is None


def test_revoked_device_is_rejected(ledger: Ledger, device: Device) -> None:
    revoke(ledger, DeviceId(device.device_id), "stolen", NOW)
    r = _send(Intake(ledger), device, [device.reading()])
    assert r.items[0].reason is not None and r.items[0].reason.startswith("revoked:")


def test_malformed_payloads_are_logged_not_answered(ledger: Ledger, device: Device) -> None:
    intake = Intake(ledger)
    outcomes = intake.process([(device.topic, b"{not json"), (device.topic, b"[]"),
                               ("eco/v1/nothex/readings", b"[]")], NOW)
    assert [o.receipt for o in outcomes] == [None, None, None]
    assert all(o.problem for o in outcomes)
    assert len(ledger.store.rejections()) == 2  # the bad topic names no device to file under


def test_malformed_item_among_good_ones(ledger: Ledger, device: Device) -> None:
    good = device.reading()
    r = _send(Intake(ledger), device, [good, {"seq": 2, "type": "eco.reading/v2"}])
    assert r.items[0].status is ReceiptStatus.ACCEPTED
    assert r.items[1].status is ReceiptStatus.REJECTED
    assert r.items[1].reason is not None and "eco.reading/v2" in r.items[1].reason


def test_a_group_is_one_transaction(ledger: Ledger, device: Device) -> None:
    """A failure inside a group leaves nothing of the group behind: here the group's last
    write (its device rows, after its entries and reading rows were written) fails."""
    intake = Intake(ledger)
    size0 = ledger.size()
    msgs = [(device.topic, canonical_bytes([device.reading()])) for _ in range(3)]

    class Boom(Exception):
        pass

    store = ledger.store
    written: list[int] = []

    def failing(rows: list[DeviceRow]) -> None:
        written.append(store.size())
        raise Boom

    store.put_devices = failing  # type: ignore[method-assign]
    with pytest.raises(Boom):
        intake.process(msgs, NOW)
    del store.put_devices  # the class's method again
    assert written == [size0 + 3]  # the entries were in, uncommitted
    assert ledger.size() == size0
    assert ledger.store.reading(device.device_id, 1) is None
    outcomes = intake.process(msgs, NOW)
    assert [json.loads(canonical_bytes(o.receipt or {}))["items"][0]["status"]
            for o in outcomes] == ["accepted"] * 3


def test_rekey_links_old_and_new_device_and_moves_the_household(ledger: Ledger,
                                                                device: Device) -> None:
    from aggregator.audit import audit
    from aggregator.registry import rekey
    from eco_protocol.keys import public_key_raw

    intake = Intake(ledger)
    _send(intake, device, [device.reading()])
    new = Device()
    enrolment = rekey(ledger, DeviceId(device.device_id), public_key_raw(new.key), NOW)
    assert enrolment.device_id == new.device_id and enrolment.fit["replaces"] == device.device_id
    old_row = ledger.store.device(device.device_id)
    assert old_row is not None and old_row.revoked_index is not None
    revocation = json.loads(ledger.store.entry(old_row.revoked_index))
    assert revocation["reason"] == f"key replaced by device {new.device_id}"
    assert _send(intake, device, [device.reading()]).items[0].reason.startswith("revoked:")
    assert _send(intake, new, [new.reading()]).items[0].status is ReceiptStatus.ACCEPTED
    assert audit(ledger).problems == ()
