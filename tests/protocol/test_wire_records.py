"""eco_protocol.records: strict wire records; every refusal names the field that is wrong."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from eco_protocol.dispatch import parse_record
from eco_protocol.errors import MalformedRecord, UnknownType
from eco_protocol.records import (
    GENESIS_PREV,
    MAX_READINGS_PER_MESSAGE,
    Enrolment,
    Flag,
    MeterSpec,
    Quantity,
    Reading,
    Receipt,
    ReceiptItem,
    ReceiptStatus,
    Revocation,
    Source,
)
from eco_protocol.signing import record_hash
from tests.protocol.records_kit import (
    ReadingChain,
    device_id,
    make_device_key,
    make_enrolment,
    make_log_signer,
    make_reading,
    make_receipt,
    make_revocation,
)

KEY = make_device_key(1)
LOG = make_log_signer()
SIG64 = base64.b64encode(bytes(64)).decode()


def _reading_dict() -> dict[str, Any]:
    chain = ReadingChain(KEY)
    chain.next()
    return chain.next(flags=["clock_unsynced"])  # seq 2, so prev is a real hash


def _receipt_dict() -> dict[str, Any]:
    r = _reading_dict()
    return make_receipt(KEY, LOG, [
        {"seq": 1, "reading_sha256": "ab" * 32, "status": "duplicate", "reason": None,
         "leaf_index": 4},
        {"seq": 2, "reading_sha256": record_hash(r).hex(), "status": "accepted",
         "reason": None, "leaf_index": 9},
        {"seq": 5, "reading_sha256": "cd" * 32, "status": "rejected",
         "reason": "gap: expected 3", "leaf_index": None, "expected_seq": 3},
    ])


def _enrol_dict() -> dict[str, Any]:
    return make_enrolment(KEY, LOG, meters=[
        {"id": "pv1", "quantity": "pv_generation", "protocol": "sunspec-modbus", "rated_w": 5000},
        {"id": "grid", "quantity": "grid_export", "protocol": "echonet-lite", "rated_w": 8000},
    ])


def _revoke_dict() -> dict[str, Any]:
    return make_revocation(KEY, LOG)


# --- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "cls"), [
    (_reading_dict, Reading), (_receipt_dict, Receipt), (_enrol_dict, Enrolment),
    (_revoke_dict, Revocation),
])
def test_round_trip(build: Callable[[], dict[str, Any]], cls: Any) -> None:
    d = build()
    rec = cls.from_dict(d)
    assert rec.to_dict() == d
    assert cls.from_dict(rec.to_dict()) == rec
    assert parse_record(d) == rec
    assert type(parse_record(d)) is cls


def test_parsed_reading_exposes_typed_fields() -> None:
    r = Reading.from_dict(_reading_dict())
    assert r.seq == 2
    assert r.quantity is Quantity.PV_GENERATION
    assert r.flags == (Flag.CLOCK_UNSYNCED,)
    assert r.source == Source("sunspec-modbus", "SN-0001", "TEST-METER")
    assert (r.end_dt - r.start_dt).total_seconds() == 1800
    assert r.device_id == device_id(KEY)


def test_unsigned_reading_parses_only_when_sig_not_required() -> None:
    body = make_reading(KEY, sign=False)
    r = Reading.from_dict(body, require_sig=False)
    assert r.sig is None
    assert "sig" not in r.to_dict()
    with pytest.raises(MalformedRecord, match="reading: missing field.*sig"):
        Reading.from_dict(body)


def test_enrolment_helpers() -> None:
    e = Enrolment.from_dict(_enrol_dict())
    assert e.public_key_raw == base64.b64decode(e.public_key)
    grid = e.meter("grid")
    assert grid == MeterSpec("grid", Quantity.GRID_EXPORT, "echonet-lite", 8000)
    assert e.meter("nope") is None


def test_receipt_items() -> None:
    rc = Receipt.from_dict(_receipt_dict())
    assert [i.status for i in rc.items] == [ReceiptStatus.DUPLICATE, ReceiptStatus.ACCEPTED,
                                           ReceiptStatus.REJECTED]
    assert rc.items[2].expected_seq == 3
    assert "expected_seq" not in rc.items[0].to_dict()


# --- every validation error names its field ----------------------------------------------------

Mutation = Callable[[dict[str, Any]], None]


def _setf(key: str, value: Any) -> Mutation:
    def m(d: dict[str, Any]) -> None:
        d[key] = value
    return m


def _delf(key: str) -> Mutation:
    def m(d: dict[str, Any]) -> None:
        del d[key]
    return m


def _sub(key: str, inner: str, value: Any) -> Mutation:
    def m(d: dict[str, Any]) -> None:
        d[key] = {**d[key], inner: value}
    return m


READING_ERRORS: list[tuple[str, Mutation, str]] = [
    ("device_id short", _setf("device_id", "ab" * 15), "reading.device_id"),
    ("device_id upper", _setf("device_id", "AB" * 16), "reading.device_id"),
    ("device_id int", _setf("device_id", 5), "reading.device_id"),
    ("seq zero", _setf("seq", 0), "reading.seq"),
    ("seq bool", _setf("seq", True), "reading.seq: expected an integer"),
    ("seq str", _setf("seq", "2"), "reading.seq: expected an integer"),
    ("seq float", _setf("seq", 2.0), "reading.seq: expected an integer"),
    ("seq huge", _setf("seq", 2**53), "reading.seq"),
    ("prev short", _setf("prev", "00" * 31), "reading.prev"),
    ("prev genesis at seq 2", _setf("prev", GENESIS_PREV), "reading.prev"),
    ("meter empty", _setf("meter", ""), "reading.meter: must not be empty"),
    ("meter long", _setf("meter", "m" * 33), "reading.meter: longer than 32"),
    ("meter int", _setf("meter", 1), "reading.meter"),
    ("quantity unknown", _setf("quantity", "solar"), "reading.quantity: 'solar' is not one of"),
    ("start offset", _setf("start", "2026-11-22T09:00:00+09:00"), "reading.start"),
    ("start fraction", _setf("start", "2026-11-22T09:00:00.5Z"), "reading.start"),
    ("start date", _setf("start", "2026-02-30T09:00:00Z"), "reading.start"),
    ("end missing Z", _setf("end", "2026-11-22T09:30:00"), "reading.end"),
    ("register_start negative", _setf("register_start_wh", -1), "reading.register_start_wh"),
    ("register_end str", _setf("register_end_wh", "5"), "reading.register_end_wh"),
    ("energy negative", _setf("energy_wh", -5), "reading.energy_wh"),
    ("energy null", _setf("energy_wh", None), "reading.energy_wh"),
    ("flags not list", _setf("flags", "rollover"), "reading.flags"),
    ("flags too many", _setf("flags", ["rollover"] * 9), "reading.flags"),
    ("flags unknown", _setf("flags", ["hot"]), "reading.flags[]: 'hot' is not one of"),
    ("flags repeated", _setf("flags", ["rollover", "rollover"]), "reading.flags: repeated"),
    ("source not object", _setf("source", "modbus"), "reading.source: expected a JSON object"),
    ("source missing", _sub("source", "protocol", None), "reading.source.protocol"),
    ("source extra", _sub("source", "firmware", "1.0"),
     "reading.source: unknown field(s) firmware"),
    ("source.meter_serial int", _sub("source", "meter_serial", 7), "reading.source.meter_serial"),
    ("co2 float", _setf("co2_g_estimate", 1.5), "reading.co2_g_estimate"),
    ("sig not base64", _setf("sig", "!!"), "reading.sig: invalid base64"),
    ("sig short", _setf("sig", base64.b64encode(bytes(63)).decode()), "reading.sig: must be 64"),
    ("sig int", _setf("sig", 64), "reading.sig"),
    ("missing energy", _delf("energy_wh"), "reading: missing field(s) energy_wh"),
    ("missing sig", _delf("sig"), "reading: missing field(s) sig"),
    ("unknown field", _setf("note", "hi"), "reading: unknown field(s) note"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in READING_ERRORS],
                         ids=[n for n, _, _ in READING_ERRORS])
def test_reading_errors_name_the_field(mutate: Mutation, message: str) -> None:
    d = _reading_dict()
    mutate(d)
    with pytest.raises(MalformedRecord) as exc:
        Reading.from_dict(d)
    assert message in str(exc.value)


def test_source_missing_key_is_named() -> None:
    d = _reading_dict()
    d["source"] = {"protocol": "x", "meter_serial": "y"}
    with pytest.raises(MalformedRecord, match=r"reading.source: missing field\(s\) meter_model"):
        Reading.from_dict(d)


def test_seq_one_needs_genesis_prev() -> None:
    d = make_reading(KEY, 1, sign=False, prev="ab" * 32)
    with pytest.raises(MalformedRecord, match="reading.prev: must be 64 zeros exactly when seq"):
        Reading.from_dict(d, require_sig=False)


def test_from_dict_builds_what_the_constructor_builds() -> None:
    """from_dict checks each field once and skips __post_init__: every field is set, and the
    record equals one the (checking) constructor builds from the same values."""
    for d in (_reading_dict(), make_reading(KEY, 3, "ab" * 32, sign=False, flags=["gap_filled"])):
        r = Reading.from_dict(d, require_sig="sig" in d)
        fields = {f: getattr(r, f) for f in r.__dataclass_fields__}
        assert Reading(**fields) == r and r.to_dict() == d


def test_from_dict_refuses_a_repeated_flag() -> None:
    d = make_reading(KEY, 2, "ab" * 32, sign=False, flags=["gap_filled", "gap_filled"])
    with pytest.raises(MalformedRecord, match="reading.flags: repeated flag"):
        Reading.from_dict(d, require_sig=False)


def test_direct_construction_is_validated_too() -> None:
    good = Reading.from_dict(_reading_dict())
    fields = {f: getattr(good, f) for f in good.__dataclass_fields__}
    with pytest.raises(MalformedRecord, match="reading.energy_wh"):
        Reading(**{**fields, "energy_wh": -1})
    with pytest.raises(MalformedRecord, match="reading.flags: repeated"):
        Reading(**{**fields, "flags": (Flag.ROLLOVER, Flag.ROLLOVER)})
    with pytest.raises(MalformedRecord, match="meters\\[\\].rated_w"):
        MeterSpec("pv1", Quantity.PV_GENERATION, "sunspec", 0)


ENROL_ERRORS: list[tuple[str, Mutation, str]] = [
    ("device_id of another key", _setf("device_id", device_id(make_device_key(2))),
     "enrol.device_id: does not match"),
    ("public_key short", _setf("public_key", base64.b64encode(bytes(31)).decode()),
     "enrol.public_key: must be 32 raw bytes"),
    ("public_key not base64", _setf("public_key", "??"), "enrol.public_key: invalid base64"),
    ("public_key int", _setf("public_key", 5), "enrol.public_key"),
    ("household empty", _setf("household", ""), "enrol.household"),
    ("programme long", _setf("programme", "p" * 129), "enrol.programme"),
    ("meters not list", _setf("meters", {"id": "pv1"}), "enrol.meters: expected a list"),
    ("meters empty", _setf("meters", []), "enrol.meters: expected 1–16"),
    ("meters 17", _setf("meters", [{"id": f"m{i}", "quantity": "ev_charge", "protocol": "p",
                                   "rated_w": 1} for i in range(17)]), "enrol.meters: expected"),
    ("meter ids repeat", _setf("meters", [{"id": "m", "quantity": "ev_charge", "protocol": "p",
                                          "rated_w": 1}] * 2), "enrol.meters: meter ids"),
    ("meter rated_w 0", _setf("meters", [{"id": "m", "quantity": "ev_charge", "protocol": "p",
                                         "rated_w": 0}]), "enrol.meters[].rated_w"),
    ("meter quantity", _setf("meters", [{"id": "m", "quantity": "heat", "protocol": "p",
                                        "rated_w": 1}]), "enrol.meters[].quantity"),
    ("meter extra", _setf("meters", [{"id": "m", "quantity": "ev_charge", "protocol": "p",
                                     "rated_w": 1, "phase": 3}]), "enrol.meters[]: unknown"),
    ("meter not object", _setf("meters", ["pv1"]), "enrol.meters[]: expected a JSON object"),
    ("fit not object", _setf("fit", []), "enrol.fit: expected a JSON object"),
    ("fit float", _setf("fit", {"rate": 0.5}), "enrol.fit.rate"),
    ("fit deep float", _setf("fit", {"a": [{"b": 1.5}]}), "enrol.fit.a[0].b"),
    ("fit too deep", _setf("fit", {"a": {"b": {"c": {"d": {"e": {}}}}}}), "enrol.fit"),
    ("fit huge int", _setf("fit", {"n": 2**60}), "enrol.fit.n"),
    ("enrolled_at", _setf("enrolled_at", "yesterday"), "enrol.enrolled_at"),
    ("sig missing", _delf("sig"), "enrol: missing field(s) sig"),
    ("unknown", _setf("comment", "x"), "enrol: unknown field(s) comment"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in ENROL_ERRORS],
                         ids=[n for n, _, _ in ENROL_ERRORS])
def test_enrolment_errors_name_the_field(mutate: Mutation, message: str) -> None:
    d = _enrol_dict()
    mutate(d)
    with pytest.raises(MalformedRecord) as exc:
        Enrolment.from_dict(d)
    assert message in str(exc.value)


def _item(**kw: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"seq": 1, "reading_sha256": "ab" * 32, "status": "accepted",
                            "reason": None, "leaf_index": 0}
    base.update(kw)
    return base


RECEIPT_ERRORS: list[tuple[str, Mutation, str]] = [
    ("device_id", _setf("device_id", "x"), "receipt.device_id"),
    ("items not list", _setf("items", {}), "receipt.items: expected a list"),
    ("items empty", _setf("items", []), "receipt.items: expected 1–64"),
    ("items too many", _setf("items", [_item(seq=i) for i in range(MAX_READINGS_PER_MESSAGE + 1)]),
     "receipt.items: expected 1–64"),
    ("rejected without reason", _setf("items", [_item(status="rejected", leaf_index=None)]),
     "receipt.items[].reason: a rejection must give a reason"),
    ("rejected with leaf", _setf("items", [_item(status="rejected", reason="gap: expected 2")]),
     "receipt.items[].leaf_index: a rejected reading has none"),
    ("accepted without leaf", _setf("items", [_item(leaf_index=None)]),
     "receipt.items[].leaf_index: required for accepted"),
    ("duplicate without leaf", _setf("items", [_item(status="duplicate", leaf_index=None)]),
     "receipt.items[].leaf_index: required for duplicate"),
    ("status unknown", _setf("items", [_item(status="ok")]), "receipt.items[].status"),
    ("sha256 short", _setf("items", [_item(reading_sha256="ab")]),
     "receipt.items[].reading_sha256"),
    ("leaf negative", _setf("items", [_item(leaf_index=-1)]), "receipt.items[].leaf_index"),
    ("expected_seq 0", _setf("items", [_item(expected_seq=0)]), "receipt.items[].expected_seq"),
    ("seq str", _setf("items", [_item(seq="1")]), "receipt.items[].seq"),
    ("reason int", _setf("items", [_item(status="rejected", reason=5, leaf_index=None)]),
     "receipt.items[].reason"),
    ("item missing reason", _setf("items", [{"seq": 1, "reading_sha256": "ab" * 32,
                                            "status": "accepted", "leaf_index": 0}]),
     "receipt.items[]: missing field(s) reason"),
    ("item unknown", _setf("items", [_item(extra=1)]), "receipt.items[]: unknown field(s) extra"),
    ("sig missing", _delf("sig"), "receipt: missing field(s) sig"),
    ("sig bad", _setf("sig", "AAAA"), "receipt.sig: must be 64 bytes"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in RECEIPT_ERRORS],
                         ids=[n for n, _, _ in RECEIPT_ERRORS])
def test_receipt_errors_name_the_field(mutate: Mutation, message: str) -> None:
    d = _receipt_dict()
    mutate(d)
    with pytest.raises(MalformedRecord) as exc:
        Receipt.from_dict(d)
    assert message in str(exc.value)


REVOKE_ERRORS: list[tuple[str, Mutation, str]] = [
    ("device_id", _setf("device_id", "ab"), "revoke.device_id"),
    ("reason empty", _setf("reason", ""), "revoke.reason"),
    ("reason long", _setf("reason", "r" * 513), "revoke.reason"),
    ("revoked_at", _setf("revoked_at", "2026-12-01"), "revoke.revoked_at"),
    ("sig", _setf("sig", SIG64[:-4]), "revoke.sig"),
    ("unknown", _setf("by", "admin"), "revoke: unknown field(s) by"),
]


@pytest.mark.parametrize(("mutate", "message"), [(m, msg) for _, m, msg in REVOKE_ERRORS],
                         ids=[n for n, _, _ in REVOKE_ERRORS])
def test_revocation_errors_name_the_field(mutate: Mutation, message: str) -> None:
    d = _revoke_dict()
    mutate(d)
    with pytest.raises(MalformedRecord) as exc:
        Revocation.from_dict(d)
    assert message in str(exc.value)


# --- types and versions -------------------------------------------------------------------------


@pytest.mark.parametrize("bad_type", ["eco.reading/v2", "eco.reading", "eco.readings/v1",
                                      "ECO.READING/V1", "eco.redeem/v9"])
def test_unknown_type_or_version_is_refused_by_name(bad_type: str) -> None:
    d = {**_reading_dict(), "type": bad_type}
    with pytest.raises(UnknownType) as exc:
        parse_record(d)
    assert repr(bad_type) in str(exc.value)
    assert "eco.reading/v1" in str(exc.value)  # and says what it does know
    with pytest.raises(UnknownType, match=f"got {bad_type!r}"):
        Reading.from_dict(d)


@pytest.mark.parametrize(("cls", "expected"), [(Reading, "eco.reading/v1"),
                                               (Receipt, "eco.receipt/v1"),
                                               (Enrolment, "eco.enrol/v1"),
                                               (Revocation, "eco.revoke/v1")])
def test_each_record_refuses_another_records_type(cls: Any, expected: str) -> None:
    with pytest.raises(UnknownType, match=f"expected type {expected!r}, got 'eco.other/v1'"):
        cls.from_dict({"type": "eco.other/v1"})


def test_missing_type_and_non_objects() -> None:
    d = _reading_dict()
    del d["type"]
    with pytest.raises(UnknownType, match="record type None is not known"):
        parse_record(d)
    with pytest.raises(UnknownType, match="record type 5 is not known"):
        parse_record({"type": 5})
    values: list[object] = [[], "eco.reading/v1", None, 3]
    for value in values:
        with pytest.raises(MalformedRecord, match="record: expected a JSON object"):
            parse_record(value)


def test_receipt_item_direct_construction() -> None:
    item = ReceiptItem(3, "ab" * 32, ReceiptStatus.REJECTED, "gap: expected 2", None, 2)
    assert item.to_dict()["expected_seq"] == 2
    assert ReceiptItem.from_dict(item.to_dict()) == item
