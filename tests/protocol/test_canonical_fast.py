"""canonical_bytes' fast path (sorted compact json.dumps) must give exactly rfc8785's bytes, or
step aside: generated JSON values of every kind, including the ones it must hand over (floats,
large integers, non-ASCII and astral keys, lone surrogates, subclasses)."""

from __future__ import annotations

import enum
from typing import Any

import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.canonical import MAX_SAFE_INTEGER, _fast_canonical, canonical_bytes, parse_json
from eco_protocol.errors import MalformedRecord

_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)
_ascii_key = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x7F), max_size=8)
_scalars = (st.none() | st.booleans() | _text
            | st.integers(-MAX_SAFE_INTEGER - 3, MAX_SAFE_INTEGER + 3)
            | st.integers(-(2**64), 2**64) | st.floats(allow_nan=True, allow_infinity=True))
_values = st.recursive(
    _scalars,
    lambda inner: (st.lists(inner, max_size=5) | st.tuples(inner, inner)
                   | st.dictionaries(_ascii_key | _text, inner, max_size=5)),
    max_leaves=25)


def _reference(value: Any) -> bytes | type[Exception]:
    try:
        return rfc8785.dumps(value)
    except (rfc8785.CanonicalizationError, TypeError, ValueError):
        return MalformedRecord


@settings(max_examples=1500, deadline=None)
@given(_values)
def test_fast_path_equals_rfc8785_or_steps_aside(value: Any) -> None:
    want = _reference(value)
    fast = _fast_canonical(value)
    if fast is not None:
        assert fast == want
    if want is MalformedRecord:
        try:
            canonical_bytes(value)
        except MalformedRecord:
            return
        raise AssertionError(f"{value!r} should be refused")
    assert canonical_bytes(value) == want


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_ascii_key, _text | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER)
                       | st.booleans() | st.none(), max_size=12))
def test_plain_records_take_the_fast_path(value: dict[str, Any]) -> None:
    if any(0xD800 <= ord(c) <= 0xDFFF for v in value.values() if isinstance(v, str) for c in v):
        return  # a lone surrogate is refused, by rfc8785
    assert _fast_canonical(value) == rfc8785.dumps(value)


def test_what_the_fast_path_leaves_to_rfc8785() -> None:
    class Colour(enum.StrEnum):
        RED = "red"

    for value in ({"a": 1.5}, {"a": MAX_SAFE_INTEGER + 1}, {"é": 1}, {"\U0001f600": 1, "\ufb33": 2},
                  {"a": "\ud800"}, {"a": Colour.RED}, {1: "x"}):
        assert _fast_canonical(value) is None
    # RFC 8785 orders keys by UTF-16 code units: the emoji precedes U+FB33 there
    assert canonical_bytes({"\ufb33": 2, "\U0001f600": 1}) == \
        '{"\U0001f600":1,"\ufb33":2}'.encode()
    assert canonical_bytes({"a": Colour.RED}) == b'{"a":"red"}'


def test_every_control_character_escapes_as_rfc8785_does() -> None:
    text = "".join(chr(c) for c in range(0x80)) + "\u2028\u2029\ufeff\u00e9"
    assert _fast_canonical({"k": text}) == rfc8785.dumps({"k": text})


def test_duplicate_keys_are_still_named() -> None:
    try:
        parse_json(b'{"a": 1, "b": {"c": 1, "c": 2}}')
    except MalformedRecord as e:
        assert "duplicate JSON key 'c'" in str(e)
    else:
        raise AssertionError("duplicate key accepted")


_free_text = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=0x10FFFF,
                                            blacklist_categories=("Cs",)), max_size=20)


@settings(max_examples=300, deadline=None)
@given(serial=_free_text, model=_free_text, protocol=_free_text.filter(bool),
       seq=st.integers(1, 50))
def test_signed_bytes_cut_from_the_entry_equal_signing_bytes(serial: str, model: str,
                                                             protocol: str, seq: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from eco_protocol.keys import device_id_of, public_key_raw
    from eco_protocol.records import GENESIS_PREV, Reading
    from eco_protocol.signing import reading_signed_bytes, sign_record, signing_bytes

    key = Ed25519PrivateKey.from_private_bytes(bytes(32))
    rec = sign_record({
        "type": "eco.reading/v1", "device_id": device_id_of(public_key_raw(key)), "seq": seq,
        "prev": GENESIS_PREV if seq == 1 else "ab" * 32, "meter": "pv1",
        "quantity": "pv_generation", "start": "2026-11-22T00:00:00Z",
        "end": "2026-11-22T00:30:00Z", "register_start_wh": 1, "register_end_wh": 2,
        "energy_wh": 1, "flags": [], "co2_g_estimate": 0,
        "source": {"protocol": protocol[:64], "meter_serial": serial,
                   "meter_model": ',"sig":"' + model[:40]},
    }, key)
    reading = Reading.from_dict(rec)
    assert reading.sig is not None
    entry = canonical_bytes(rec, validated=True)
    assert entry == rfc8785.dumps(rec)
    assert reading_signed_bytes(entry, rec, reading.sig) == signing_bytes(rec)
