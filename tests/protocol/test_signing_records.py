"""eco_protocol.signing: a signed record is the record plus "sig" over its RFC 8785 bytes."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.errors import BadSignature, InvalidInput, MalformedRecord
from eco_protocol.keys import public_key_from_raw, public_key_raw
from eco_protocol.signing import record_hash, sign_record, signing_bytes, verify_record
from tests.protocol.records_kit import make_device_key, make_reading

KEY = make_device_key(1)
PUB = KEY.public_key()


def test_signature_covers_the_canonical_bytes_without_sig() -> None:
    body = make_reading(KEY, sign=False)
    signed = sign_record(body, KEY)
    assert set(signed) == set(body) | {"sig"}
    raw_sig = base64.b64decode(signed["sig"], validate=True)
    assert len(raw_sig) == 64
    assert signing_bytes(signed) == canonical_bytes(body)
    # independent check with the library's raw verify over the RFC 8785 bytes
    PUB.verify(raw_sig, canonical_bytes(body))
    verify_record(signed, PUB, "reading")


def test_sign_record_replaces_an_existing_sig_and_does_not_mutate_its_input() -> None:
    body = make_reading(KEY, sign=False)
    body_copy = dict(body)
    first = sign_record(body, KEY)
    assert body == body_copy
    again = sign_record({**first, "energy_wh": 400, "register_end_wh": 1_000_400}, KEY)
    assert again["sig"] != first["sig"]
    verify_record(again, PUB, "reading")


def test_key_order_and_whitespace_do_not_matter_to_the_signature() -> None:
    signed = make_reading(KEY)
    reordered = dict(reversed(list(signed.items())))
    verify_record(reordered, PUB, "reading")
    spaced = parse_json(canonical_bytes(signed).decode().replace(",", ", "))
    verify_record(spaced, PUB, "reading")


def _tampered(record: dict[str, Any], key: str) -> dict[str, Any]:
    value = record[key]
    new: Any
    if isinstance(value, bool):
        new = not value
    elif isinstance(value, int):
        new = value + 1
    elif isinstance(value, str):
        new = value[:-1] + ("0" if value[-1] != "0" else "1")
    elif isinstance(value, list):
        new = [*value, "gap_filled"]
    else:
        new = {**value, "meter_serial": "SN-9999"}
    return {**record, key: new}


@pytest.mark.parametrize("field", [
    "type", "device_id", "seq", "prev", "meter", "quantity", "start", "end", "register_start_wh",
    "register_end_wh", "energy_wh", "flags", "source", "co2_g_estimate",
])
def test_tampering_with_any_field_breaks_the_signature(field: str) -> None:
    signed = make_reading(KEY)
    tampered = _tampered(signed, field)
    assert tampered[field] != signed[field]
    with pytest.raises(BadSignature, match="^reading dev#1: Ed25519 signature does not verify"):
        verify_record(tampered, PUB, "reading dev#1")


def test_adding_or_removing_a_field_breaks_the_signature() -> None:
    signed = make_reading(KEY)
    with pytest.raises(BadSignature):
        verify_record({**signed, "note": "extra"}, PUB, "reading")
    without = {k: v for k, v in signed.items() if k != "co2_g_estimate"}
    with pytest.raises(BadSignature):
        verify_record(without, PUB, "reading")


def test_wrong_key_is_a_bad_signature() -> None:
    signed = make_reading(KEY)
    with pytest.raises(BadSignature):
        verify_record(signed, make_device_key(2).public_key(), "reading")


@pytest.mark.parametrize(("sig", "message"), [
    (None, "reading: missing 'sig'"),
    ("not base64!", "reading: sig: invalid base64"),
    (base64.b64encode(bytes(63)).decode(), "reading: sig must be 64 bytes, got 63"),
    (base64.b64encode(bytes(65)).decode(), "reading: sig must be 64 bytes, got 65"),
    (12, "reading: sig: expected a base64 string"),
])
def test_malformed_sig_fields(sig: object, message: str) -> None:
    record = make_reading(KEY)
    if sig is None:
        del record["sig"]
    else:
        record["sig"] = sig
    with pytest.raises(MalformedRecord) as exc:
        verify_record(record, PUB, "reading")
    assert str(exc.value).startswith(message)


def test_record_hash_is_sha256_of_the_canonical_bytes_with_sig() -> None:
    signed = make_reading(KEY)
    assert record_hash(signed) == hashlib.sha256(canonical_bytes(signed)).digest()
    assert record_hash(signed) != hashlib.sha256(signing_bytes(signed)).digest()


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_any_flipped_byte_of_a_signed_entry_fails(data: st.DataObject) -> None:
    """Flip one byte of the entry bytes: it no longer parses, or no longer verifies."""
    signed = make_reading(KEY)
    entry = bytearray(canonical_bytes(signed))
    i = data.draw(st.integers(0, len(entry) - 1), label="index")
    bit = data.draw(st.integers(0, 7), label="bit")
    entry[i] ^= 1 << bit
    with pytest.raises(InvalidInput):
        obj = parse_json(bytes(entry))
        if not isinstance(obj, dict):
            raise MalformedRecord("not an object")
        verify_record(obj, public_key_from_raw(public_key_raw(KEY)), "entry")
        # The flip landed somewhere the canonical form does not see (impossible for a
        # canonical entry); make that visible rather than pass silently.
        if canonical_bytes(obj) != bytes(entry):
            raise MalformedRecord("not canonical")


# --- the fast path is the same function as the slow one -------------------------------------

_TEXT = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x10FFFF,
                                       blacklist_categories=("Cs",)), max_size=24)
# strings built to look like the member the fast path cuts out, wherever a string may go
_TRICKY = st.one_of(_TEXT, _TEXT.map(lambda t: ',"sig":"' + t), _TEXT.map(lambda t: t + '"'))


@settings(max_examples=300, deadline=None)
@given(meter=_TRICKY.filter(lambda t: 0 < len(t) <= 32),
       serial=_TRICKY.filter(lambda t: len(t) <= 64),
       model=_TRICKY.filter(lambda t: len(t) <= 64),
       protocol=_TRICKY.filter(lambda t: 0 < len(t) <= 64),
       flags=st.lists(st.sampled_from(["meter_reset", "gap_filled", "clock_unsynced"]),
                      unique=True, max_size=3),
       energy=st.integers(0, 2**40), seq=st.integers(1, 10**6), key_n=st.integers(1, 4))
def test_reading_signed_bytes_is_signing_bytes(meter: str, serial: str, model: str,
                                               protocol: str, flags: list[str], energy: int,
                                               seq: int, key_n: int) -> None:
    """``reading_signed_bytes`` (cut out of the entry) == ``signing_bytes`` (serialised again),
    for any reading ``Reading.from_dict`` accepts; the signature made over it verifies."""
    from eco_protocol.records import Reading
    from eco_protocol.signing import entry_hash, reading_signed_bytes

    key = make_device_key(key_n)
    rec = make_reading(key, seq, None if seq == 1 else "ab" * 32, meter=meter, flags=flags,
                       energy_wh=energy,
                       source={"protocol": protocol, "meter_serial": serial,
                               "meter_model": model})
    reading = Reading.from_dict(rec)
    assert reading.sig is not None
    entry = canonical_bytes(rec, validated=True)
    assert reading_signed_bytes(entry, rec, reading.sig) == signing_bytes(rec)
    verify_record(rec, key.public_key(), "reading")
    assert entry_hash(entry) == record_hash(rec).hex() == hashlib.sha256(entry).hexdigest()


def test_reading_signed_bytes_falls_back_when_the_member_is_not_there() -> None:
    from eco_protocol.signing import reading_signed_bytes

    rec = make_reading(KEY)
    entry = canonical_bytes(rec)
    other = base64.b64encode(bytes(64)).decode()
    # a sig that is not in the entry: the record is serialised, never a wrong cut
    assert reading_signed_bytes(entry, rec, other) == signing_bytes(rec)


def test_sign_record_signs_exactly_signing_bytes() -> None:
    body = make_reading(KEY, sign=False)
    signed = sign_record({**body, "sig": "stale"}, KEY)
    assert list(signed)[-1] == "sig"
    PUB.verify(base64.b64decode(signed["sig"]), signing_bytes(signed))
