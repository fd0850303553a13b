"""``ledger verify`` re-derives every derived table from the log: flip one stored value at a time,
in every table and column it covers, and the audit names the table and the row (never a crash).
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from aggregator.audit import audit
from aggregator.errors import StoreCorrupt
from aggregator.intake import Intake
from aggregator.ledger import Ledger
from aggregator.registry import revoke
from eco_protocol.canonical import canonical_bytes
from eco_protocol.encoding import format_time, parse_time
from eco_protocol.keys import DeviceId
from eco_protocol.note import CosignatureSigner, open_checkpoint
from tests.aggregator.ledger_kit import Device, StoreBackend, enrol_device
from tests.protocol.records_kit import fixed_key

WITNESS = CosignatureSigner("witness.example-town.lg.jp", fixed_key("audit-tables/witness"))
NOW = "2026-11-23T00:00:00Z"


@dataclass
class _Built:
    a: str  # 3 readings
    b: str  # 2 readings, then revoked
    size: int  # the latest checkpoint's
    first: int  # the size of the checkpoint before it
    signed_at: str  # the latest checkpoint's


def _build(ledger: Ledger) -> _Built:
    a, b = Device(), Device()
    enrol_device(ledger, a)
    enrol_device(ledger, b)
    intake = Intake(ledger)
    intake.process([(a.topic, canonical_bytes([a.reading() for _ in range(3)])),
                    (b.topic, canonical_bytes([b.reading() for _ in range(2)]))], NOW)
    intake.process([(a.topic, b"not json")], NOW)  # one rejection row, sealed
    ledger.checkpoint_now()
    first = ledger.size()
    revoke(ledger, DeviceId(b.device_id), "test", NOW)
    row = ledger.checkpoint_now() or ledger.latest_checkpoint()
    assert row is not None
    _, note = open_checkpoint(row.note, ledger.signer.verifier)
    line = WITNESS.cosign(note.text, 1_800_000_000).line
    with ledger.store.transaction():
        ledger.store.add_cosignature(row.size, WITNESS.name, line)
    return _Built(a.device_id, b.device_id, row.size, first, row.signed_at)


Run = Callable[[str, tuple[object, ...]], object]


def _second_on(t: _Built) -> str:
    """The latest checkpoint's signed_at plus one second: plausible, in order, not sealed."""
    return format_time(parse_time(t.signed_at, "signed_at") + timedelta(seconds=1))


@dataclass(frozen=True)
class _Flip:
    name: str
    sql: str
    params: Callable[[_Built], tuple[object, ...]]
    expect: tuple[str, ...]  # formatted with the Built's fields
    sqlite_only: bool = False  # PostgreSQL enforces the column's type

    def __str__(self) -> str:
        return self.name


def _flip_b64(line: str) -> str:
    name, b64 = line.rstrip("\n").rsplit(" ", 1)
    raw = bytearray(base64.b64decode(b64))
    raw[-1] ^= 1
    return f"{name} {base64.b64encode(bytes(raw)).decode()}\n"


FLIPS = [
    # --- the (device, seq) → entry, sha256 index ---
    _Flip("reading.sha256", "UPDATE reading SET sha256=? WHERE device_id=? AND seq=2",
         lambda t: ("ab" * 32, t.a), ("reading index row (device {a}, seq 2)", "sha256")),
    _Flip("reading.leaf_index", "UPDATE reading SET leaf_index=1 WHERE device_id=? AND seq=2",
         lambda t: (t.a,), ("reading index row (device {a}, seq 2)", "entry 1")),
    _Flip("reading deleted", "DELETE FROM reading WHERE device_id=? AND seq=3",
         lambda t: (t.a,), ("reading index row (device {a}, seq 3) is missing",)),
    _Flip("reading added", "INSERT INTO reading(device_id, seq, leaf_index, sha256) "
         "VALUES(?, 9, 2, ?)", lambda t: (t.a, "cd" * 32),
         ("reading index row (device {a}, seq 9)",)),
    _Flip("reading.leaf_index as TEXT",
         "UPDATE reading SET leaf_index='two' WHERE device_id=? AND seq=1",
         lambda t: (t.a,), ("reading index row (device {a}, seq 1)", "reading.leaf_index",
                            "TEXT"), sqlite_only=True),
    _Flip("reading.sha256 as BLOB", "UPDATE reading SET sha256=X'00' WHERE device_id=? AND seq=1",
         lambda t: (t.a,), ("reading index row (device {a}, seq 1)", "reading.sha256", "BLOB"),
         sqlite_only=True),
    # --- the device table ---
    _Flip("device.revoked_index set", "UPDATE device SET revoked_index=4 WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.revoked_index")),
    _Flip("device.revoked_index cleared",
         "UPDATE device SET revoked_index=NULL WHERE device_id=?",
         lambda t: (t.b,), ("device table row {b}", "device.revoked_index")),
    _Flip("device.next_seq", "UPDATE device SET next_seq=next_seq+1 WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.next_seq")),
    _Flip("device.last_hash", "UPDATE device SET last_hash=? WHERE device_id=?",
         lambda t: ("ef" * 32, t.a), ("device table row {a}", "device.last_hash")),
    _Flip("device.enrol_index", "UPDATE device SET enrol_index=5 WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.enrol_index")),
    _Flip("device.enrolment bytes", "UPDATE device SET enrolment=? WHERE device_id=?",
         lambda t: (b"\xff\xfe not an enrolment", t.a), ("device table row {a}",
                                                         "device.enrolment")),
    _Flip("device deleted", "DELETE FROM device WHERE device_id=?",
         lambda t: (t.b,), ("device {b}", "no device table row")),
    _Flip("device added", "INSERT INTO device(device_id, enrol_index, enrolment, next_seq, "
         "last_hash) VALUES(?, 0, ?, 1, ?)", lambda t: ("0" * 32, b"{}", "00" * 32),
         ("device table lists " + "0" * 32,)),
    _Flip("device.enrolment as TEXT",
         "UPDATE device SET enrolment=CAST(enrolment AS TEXT) WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.enrolment", "TEXT"),
         sqlite_only=True),
    _Flip("device.next_seq as TEXT", "UPDATE device SET next_seq='four' WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.next_seq", "TEXT"),
         sqlite_only=True),
    _Flip("device.last_hash not UTF-8",
         "UPDATE device SET last_hash=CAST(X'FFFE41' AS TEXT) WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.last_hash", "not UTF-8"),
         sqlite_only=True),
    _Flip("device.flag as BLOB", "UPDATE device SET flag=X'07' WHERE device_id=?",
         lambda t: (t.a,), ("device table row {a}", "device.flag", "BLOB"),
         sqlite_only=True),
    # --- entries ---
    _Flip("entry.type", "UPDATE entry SET type='eco.enrol/v1' WHERE idx=2", lambda t: (),
         ("entry 2", "entry.type")),
    _Flip("entry.data as TEXT", "UPDATE entry SET data=CAST(data AS TEXT) WHERE idx=3",
         lambda t: (), ("entry 3", "entry.data", "TEXT"), sqlite_only=True),
    _Flip("entry.leaf as TEXT", "UPDATE entry SET leaf=hex(leaf) WHERE idx=4", lambda t: (),
         ("entry 4", "entry.leaf", "TEXT"), sqlite_only=True),
    _Flip("node.hash as TEXT", "UPDATE node SET hash=hex(hash) WHERE level=1 AND idx=0",
         lambda t: (), ("interior hash (level 1, index 0)", "TEXT"), sqlite_only=True),
    # --- checkpoints and witness lines ---
    _Flip("checkpoint.signed_at in the future", "UPDATE checkpoint SET signed_at=? WHERE size=?",
         lambda t: ("2999-01-01T00:00:00Z", t.size),
         ("checkpoint of size {size}", "checkpoint.signed_at", "future")),
    _Flip("checkpoint.signed_at garbage", "UPDATE checkpoint SET signed_at=? WHERE size=?",
         lambda t: ("last Tuesday", t.size),
         ("checkpoint of size {size}", "checkpoint.signed_at")),
    _Flip("checkpoint.signed_at out of order", "UPDATE checkpoint SET signed_at=? WHERE size=?",
         lambda t: ("2001-01-01T00:00:00Z", t.size),
         ("checkpoint of size {size}", "checkpoint.signed_at", "before the previous")),
    # a plausible time, in order: only the seal can tell
    _Flip("checkpoint.signed_at one second on", "UPDATE checkpoint SET signed_at=? WHERE size=?",
         lambda t: (_second_on(t), t.size),
         ("checkpoint of size {size}", "checkpoint.signed_at", "sealed")),
    _Flip("checkpoint.seal cleared", "UPDATE checkpoint SET seal=NULL WHERE size=?",
         lambda t: (t.first,), ("checkpoint of size {first}", "checkpoint.seal")),
    # --- the rejection rows (the operator's record of refused messages), sealed ---
    _Flip("rejection.reason", "UPDATE rejection SET reason='nothing to see' WHERE device_id=?",
         lambda t: (t.a,), ("rejection row 1 (device {a}", "sealed")),
    _Flip("rejection.at", "UPDATE rejection SET at='2026-11-24T00:00:00Z' WHERE device_id=?",
         lambda t: (t.a,), ("rejection row 1 (device {a}", "sealed")),
    _Flip("rejection.device_id", "UPDATE rejection SET device_id=? WHERE device_id=?",
         lambda t: (t.b, t.a), ("rejection row 1 (device {b}", "sealed")),
    _Flip("rejection.seal cleared", "UPDATE rejection SET seal=NULL WHERE device_id=?",
         lambda t: (t.a,), ("rejection row 1 (device {a}", "sealed")),
    _Flip("rejection added", "INSERT INTO rejection(device_id, seq, reason, at) "
         "VALUES(?, 3, 'made up', '2026-11-23T00:00:00Z')", lambda t: (t.b,),
         ("rejection row 2 (device {b}", "sealed")),
    _Flip("meta row_seals_from moved", "UPDATE meta SET value='9 999 AAAA' "
         "WHERE key='row_seals_from'", lambda t: (),
         ("meta row 'row_seals_from' is not sealed",)),
    _Flip("rejection.seq as TEXT", "UPDATE rejection SET seq='x' WHERE device_id=?",
         lambda t: (t.a,), ("rejection row 1", "rejection.seq", "TEXT"), sqlite_only=True),
    _Flip("checkpoint.root as TEXT", "UPDATE checkpoint SET root=hex(root) WHERE size=?",
         lambda t: (t.first,), ("checkpoint row (size {first})", "checkpoint.root", "TEXT"),
         sqlite_only=True),
    _Flip("cosignature.line signature", "UPDATE cosignature SET line=? WHERE size=?",
         lambda t: (None, t.size), (f"cosignature row (size {{size}}, witness '{WITNESS.name}'",)),
    _Flip("cosignature.name", "UPDATE cosignature SET name='other.example' WHERE size=?",
         lambda t: (t.size,), ("cosignature row (size {size}, witness 'other.example')",)),
    _Flip("cosignature.size", "UPDATE cosignature SET size=2 WHERE size=?",
         lambda t: (t.size,), ("cosignature row (size 2, witness",)),
    _Flip("cosignature.line garbage", "UPDATE cosignature SET line='hello' WHERE size=?",
         lambda t: (t.size,), ("cosignature row (size {size}, witness",)),
    # --- meter cursors and the derived meta keys ---
    _Flip("meter_cursor.register_end_wh",
         "UPDATE meter_cursor SET register_end_wh=register_end_wh+1 WHERE device_id=?",
         lambda t: (t.a,), ("meter cursor of {a}/pv1", "meter_cursor")),
    _Flip("meter_cursor.end_at", "UPDATE meter_cursor SET end_at=? WHERE device_id=?",
         lambda t: ("2026-11-21T00:00:00Z", t.a), ("meter cursor of {a}/pv1",)),
    _Flip("meter_cursor deleted", "DELETE FROM meter_cursor WHERE device_id=?",
         lambda t: (t.b,), ("meter cursor of {b}/pv1", "None")),
    _Flip("meter_cursor added", "INSERT INTO meter_cursor(device_id, meter, end_at, "
         "register_end_wh) VALUES(?, 'grid9', '2026-11-22T00:00:00Z', 5)", lambda t: (t.a,),
         ("meter cursor of {a}/grid9", "no reading of that meter")),
    _Flip("meter_cursor.register_end_wh as TEXT",
         "UPDATE meter_cursor SET register_end_wh='lots' WHERE device_id=?", lambda t: (t.a,),
         ("meter cursor of {a}/pv1", "meter_cursor.register_end_wh", "TEXT"),
         sqlite_only=True),
    _Flip("meta log_vkey", "UPDATE meta SET value='someone+01020304+AAAA' WHERE key='log_vkey'",
         lambda t: (), ("meta row 'log_vkey'",)),
    _Flip("meta meter_cursors", "UPDATE meta SET value='0' WHERE key='meter_cursors'",
         lambda t: (), ("meta row 'meter_cursors'",)),
    _Flip("meta log_key_changes", "INSERT INTO meta(key, value) VALUES('log_key_changes', '[0]')",
         lambda t: (), ("meta row 'log_key_changes'", "key changes")),
    _Flip("meta log_key_changes not JSON",
         "INSERT INTO meta(key, value) VALUES('log_key_changes', '[0')",
         lambda t: (), ("meta row 'log_key_changes'",)),
    _Flip("meta log_key_changes not UTF-8",
         "INSERT INTO meta(key, value) VALUES('log_key_changes', CAST(X'FF5B' AS TEXT))",
         lambda t: (), ("meta row 'log_key_changes'", "meta.value", "not UTF-8"),
         sqlite_only=True),
]


@pytest.fixture
def built(ledger: Ledger) -> _Built:
    return _build(ledger)


def test_an_untouched_ledger_audits_clean(ledger: Ledger, built: _Built) -> None:
    report = audit(ledger, all_problems=True, witnesses=[WITNESS.verifier])
    assert report.problems == ()
    assert audit(ledger).problems == ()  # and without the witness keys, form only


def _check_flip(ledger: Ledger, built: _Built, store_backend: StoreBackend, flip: _Flip) -> None:
    params = flip.params(built)
    if flip.name == "cosignature.line signature":
        (line,) = ledger.store.cosignatures(built.size)
        params = (_flip_b64(line), built.size)
    store_backend.execute(ledger.store, flip.sql, params)
    expect = [e.format(a=built.a, b=built.b, size=built.size, first=built.first)
              for e in flip.expect]
    problems = audit(ledger, all_problems=True, witnesses=[WITNESS.verifier]).problems
    assert any(all(e in p for e in expect) for p in problems), (expect, problems)
    with pytest.raises(StoreCorrupt):  # fail-fast mode raises the first problem, by name
        audit(ledger, witnesses=[WITNESS.verifier])


@pytest.mark.parametrize("flip", [f for f in FLIPS if not f.sqlite_only], ids=str)
def test_one_flipped_value_is_named(ledger: Ledger, built: _Built, store_backend: StoreBackend,
                                    flip: _Flip) -> None:
    _check_flip(ledger, built, store_backend, flip)


# values of the wrong SQL type: SQLite stores them, PostgreSQL's column types refuse them
@pytest.mark.parametrize("store_backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("flip", [f for f in FLIPS if f.sqlite_only], ids=str)
def test_a_wrongly_typed_value_is_named(ledger: Ledger, built: _Built,
                                        store_backend: StoreBackend, flip: _Flip) -> None:
    _check_flip(ledger, built, store_backend, flip)


def test_a_witness_line_is_checked_for_form_without_the_keys(
        ledger: Ledger, built: _Built, store_backend: StoreBackend) -> None:
    store_backend.execute(ledger.store, "UPDATE cosignature SET line='— x' WHERE size=?",
                          (built.size,))
    problems = audit(ledger, all_problems=True).problems
    assert any(f"cosignature row (size {built.size}" in p for p in problems), problems


def test_signed_at_in_the_future_is_judged_against_now(ledger: Ledger, built: _Built) -> None:
    latest = ledger.latest_checkpoint()
    assert latest is not None
    past = datetime(2000, 1, 1, tzinfo=UTC)
    problems = audit(ledger, all_problems=True, now=past).problems
    assert any("checkpoint.signed_at" in p and "future" in p for p in problems), problems
