"""A forked device is quarantined in the log (``eco.quarantine/v1``): its later readings are still
logged but credit nothing — at ingest, in the books, in the audit and in a replay — until the
operator releases it (``eco.release/v1``); the device table's flag is a derived, audited mirror.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from aggregator.accounting import scan
from aggregator.audit import audit
from aggregator.errors import Rejected, StoreCorrupt
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.quarantine import append_release, quarantine_entry
from aggregator.store.interface import DeviceRow
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.errors import InvalidInput
from eco_protocol.records import Receipt, ReceiptStatus
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record, verify_record
from tests.aggregator.ledger_kit import Device, StoreBackend, enrol_device

NOW = "2026-11-23T00:00:00Z"


def _send(intake: Intake, device: Device, readings: list[dict[str, Any]]) -> Receipt:
    (out,) = intake.process([(device.topic, canonical_bytes(readings))], NOW)
    assert out.receipt is not None
    return Receipt.from_dict(out.receipt)


def _fork(intake: Intake, device: Device) -> Receipt:
    """Sign a second, different seq 1 — what a cloned box or an old SD image does."""
    clone = copy.deepcopy(device)
    clone.seq, clone.prev, clone.registers = 0, "0" * 64, {}
    return _send(intake, clone, [clone.reading(energy=77)])


def _started(ledger: Ledger) -> tuple[Device, Intake]:
    """An enrolled device whose first reading is logged, and the intake that took it."""
    dev = Device()
    enrol_device(ledger, dev)
    intake = Intake(ledger)
    _send(intake, dev, [dev.reading()])
    return dev, intake


def _replay_of(ledger: Ledger) -> LedgerReplay:
    rep = LedgerReplay(ledger.signer.private_key.public_key())
    for _, data in ledger.store.entries(0, ledger.size()):
        rep.add(data)
    return rep


def test_a_fork_quarantines_the_device_and_its_later_readings_credit_nothing(
        ledger: Ledger) -> None:
    dev, honest = Device(), Device()
    enrol_device(ledger, dev)
    enrol_device(ledger, honest)
    intake = Intake(ledger)
    assert _send(intake, dev, [dev.reading()]).items[0].creditable is True
    refused = _fork(intake, dev).items[0]
    assert refused.status is ReceiptStatus.REJECTED and refused.reason.startswith("fork:")
    quarantine_at = ledger.size() - 1
    entry = parse_json(ledger.store.entry(quarantine_at))
    assert entry["type"] == "eco.quarantine/v1" and entry["device_id"] == dev.device_id
    assert entry["evidence"]["energy_wh"] == 77  # the refused reading, as the device signed it
    row = ledger.store.device(dev.device_id)
    assert row is not None and row.flag == f"quarantined by entry {quarantine_at}"

    later = _send(intake, dev, [dev.reading(), dev.reading()]).items
    assert [i.status for i in later] == [ReceiptStatus.ACCEPTED] * 2  # never stalls
    assert all(i.creditable is False and i.reason.startswith("quarantined:") for i in later)
    assert _send(intake, honest, [honest.reading()]).items[0].creditable is True

    # every other party excludes the very same readings, by the same rule
    view = scan(ledger.store)
    excluded = {r.index: r.excluded for r in view.readings if r.excluded is not None}
    assert set(excluded.values()) == {"quarantined"} and len(excluded) == 2
    rep = _replay_of(ledger)
    assert {i: e.rule.value for i, e in rep.exclusions.items()} == excluded
    assert rep.devices[dev.device_id].quarantined == quarantine_at  # type: ignore[index]
    ledger.checkpoint_now()
    audit(ledger)


def test_release_lets_it_credit_again_and_what_it_sent_meanwhile_stays_excluded(
        ledger: Ledger) -> None:
    dev, intake = _started(ledger)
    with pytest.raises(Rejected, match="not quarantined"), ledger.store.transaction():
        append_release(ledger, dev.device_id, "checked", NOW)
    _fork(intake, dev)
    assert _send(intake, dev, [dev.reading()]).items[0].creditable is False
    with ledger.store.transaction():
        index = append_release(ledger, dev.device_id, "SD card restored from a backup", NOW)
    assert parse_json(ledger.store.entry(index))["type"] == "eco.release/v1"
    row = ledger.store.device(dev.device_id)
    assert row is not None and row.flag is None
    intake = Intake(ledger)  # a worker restarted after the release sees the cleared flag
    assert _send(intake, dev, [dev.reading()]).items[0].creditable is True
    excluded = [r.excluded for r in scan(ledger.store).readings]
    assert excluded == [None, "quarantined", None]
    ledger.checkpoint_now()
    audit(ledger)


def test_a_bad_prev_is_a_fork_too(ledger: Ledger) -> None:
    dev, intake = _started(ledger)
    dev.prev = "ab" * 32  # seq 2, but continuing a history the log never saw
    item = _send(intake, dev, [dev.reading()]).items[0]
    assert item.status is ReceiptStatus.REJECTED and item.reason.startswith("bad_prev:")
    row = ledger.store.device(dev.device_id)
    assert row is not None and row.flag is not None and row.flag.startswith("quarantined")


def test_ledger_verify_names_a_flag_that_disagrees_with_the_log(
        ledger: Ledger, store_backend: StoreBackend) -> None:
    dev, intake = _started(ledger)
    _fork(intake, dev)
    ledger.checkpoint_now()
    audit(ledger)
    # an insider clears the flag so the device credits again at ingest: the audit names it
    store_backend.execute(ledger.store, "UPDATE device SET flag = NULL WHERE device_id = ?",
                          (dev.device_id,))
    with pytest.raises(StoreCorrupt, match=rf"device table row {dev.device_id}: column "
                                           r"device.flag says None"):
        audit(ledger)


def test_a_replay_refuses_a_quarantine_whose_evidence_the_device_did_not_sign(
        ledger: Ledger) -> None:
    dev, intake = _started(ledger)
    forged = sign_record({**dev.reading(), "energy_wh": 1}, Ed25519PrivateKey.generate())
    entry = quarantine_entry(ledger.signer.private_key, dev.device_id, "fork: made up", NOW,
                             forged)
    with ledger.store.transaction():
        (index,) = ledger.append([entry])
    with pytest.raises(EntryProblem, match=rf"entry {index}: .*evidence"):
        _replay_of(ledger)


def test_a_replay_refuses_a_release_of_a_device_never_quarantined(ledger: Ledger) -> None:
    dev = Device()
    enrol_device(ledger, dev)
    release = sign_record({"type": "eco.release/v1", "device_id": dev.device_id,
                           "reason": "nothing", "released_at": NOW},
                          ledger.signer.private_key)
    with ledger.store.transaction():
        (index,) = ledger.append([canonical_bytes(release)])
    with pytest.raises(EntryProblem, match=rf"entry {index}: .*not quarantined"):
        _replay_of(ledger)


def test_a_flag_an_older_version_set_is_recorded_in_the_log_once(ledger: Ledger) -> None:
    dev = Device()
    enrol_device(ledger, dev)
    _send(Intake(ledger), dev, [dev.reading()])
    row = ledger.store.device(dev.device_id)
    assert row is not None
    with ledger.store.transaction():  # what the intake wrote before quarantines were logged
        ledger.store.put_device(DeviceRow(row.device_id, row.enrol_index, row.enrolment,
                                          row.next_seq, row.last_hash, None,
                                          "fork: seq 1 signed twice (at 2026-11-01T00:00:00Z)"))
    size = ledger.size()
    intake = Intake(ledger)
    Intake(ledger)  # a second start records nothing more
    assert ledger.size() == size + 1
    entry = parse_json(ledger.store.entry(size))
    assert entry["type"] == "eco.quarantine/v1" and "evidence" not in entry
    assert "signed twice" in entry["reason"]
    assert _send(intake, dev, [dev.reading()]).items[0].creditable is False
    audit(ledger)


def test_quarantine_records_refuse_bad_fields() -> None:
    key = Ed25519PrivateKey.generate()
    with pytest.raises(InvalidInput):
        quarantine_entry(key, "not-a-device-id", "fork", NOW, None)
    dev_id = Device().device_id
    entry = quarantine_entry(key, dev_id, "x" * 600, NOW, None)  # the reason is cut to 512
    assert len(parse_json(entry)["reason"]) == 512
    verify_record(parse_json(entry), key.public_key(), "quarantine")  # signed by the log key
