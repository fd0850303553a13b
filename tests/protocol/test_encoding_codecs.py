"""eco_protocol.encoding: one accepted spelling per value (base64, hex, RFC 3339 UTC times)."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eco_protocol.encoding import b64decode, b64encode, format_time, hex_field, parse_time
from eco_protocol.errors import MalformedRecord

# RFC 4648 section 10 test vectors (BASE64).
RFC4648_BASE64 = [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="),
                  ("fooba", "Zm9vYmE="), ("foobar", "Zm9vYmFy")]


@pytest.mark.parametrize(("raw", "encoded"), RFC4648_BASE64)
def test_base64_rfc4648_vectors(raw: str, encoded: str) -> None:
    assert b64encode(raw.encode()) == encoded
    assert b64decode(encoded, "x") == raw.encode()


@given(st.binary(max_size=200))
def test_base64_round_trip(data: bytes) -> None:
    assert b64decode(b64encode(data), "x") == data


@pytest.mark.parametrize(("text", "reason"), [
    ("Zg", "invalid base64"),            # missing padding
    ("Zg===", "invalid base64"),
    ("Zm9v\n", "invalid base64"),        # whitespace
    ("Zm 9v", "invalid base64"),
    ("Zm9v-_", "invalid base64"),        # URL-safe alphabet
    ("Zh==", "non-canonical base64"),    # non-zero padding bits: decodes to "f" as well
    ("Zm9=", "non-canonical base64"),
    ("ÿÿÿÿ", "invalid base64"),          # non-ASCII
])
def test_base64_refuses_non_canonical_spellings(text: str, reason: str) -> None:
    with pytest.raises(MalformedRecord, match=f"^sig: {reason}"):
        b64decode(text, "sig")


@pytest.mark.parametrize("value", [None, 5, b"Zg==", ["Zg=="]])
def test_base64_refuses_non_strings(value: object) -> None:
    with pytest.raises(MalformedRecord, match="public_key: expected a base64 string"):
        b64decode(value, "public_key")  # type: ignore[arg-type]


def test_hex_field() -> None:
    assert hex_field("ab" * 16, "device_id", 32) == "ab" * 16
    for bad in ["AB" * 16, "ab" * 15, "ab" * 17, "zz" * 16, 12, None, " " + "a" * 31,
                "a" * 31 + "\n"]:  # $ would match before a trailing newline
        with pytest.raises(MalformedRecord, match="device_id: expected 32 lowercase hex"):
            hex_field(bad, "device_id", 32)


def test_format_and_parse_time() -> None:
    moment = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
    assert format_time(moment) == "2026-11-22T09:30:00Z"
    assert parse_time("2026-11-22T09:30:00Z", "start") == moment
    jst = timezone(timedelta(hours=9))
    assert format_time(datetime(2026, 11, 22, 18, 30, tzinfo=jst)) == "2026-11-22T09:30:00Z"
    # whole seconds only: fractions are dropped, never rounded up past the signed second
    assert format_time(moment.replace(microsecond=999_999)) == "2026-11-22T09:30:00Z"


def test_format_time_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="naive datetime"):
        format_time(datetime(2026, 11, 22, 9, 30))


@pytest.mark.parametrize("text", [
    "2026-11-22T09:30:00+00:00", "2026-11-22T09:30:00+09:00", "2026-11-22 09:30:00Z",
    "2026-11-22T09:30:00.000Z", "2026-11-22T09:30Z", "2026-11-22t09:30:00z", "2026-11-22",
    "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-22T24:00:00Z", "", None, 1_700_000_000,
])
def test_parse_time_refuses_other_spellings(text: object) -> None:
    with pytest.raises(MalformedRecord, match="^start: "):
        parse_time(text, "start")


@given(st.datetimes(min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31),
                    timezones=st.just(UTC)))
def test_time_round_trip(moment: datetime) -> None:
    whole = moment.replace(microsecond=0)
    assert parse_time(format_time(moment), "t") == whole


def test_b64encode_is_standard_padded_base64() -> None:
    data = bytes(range(256))
    assert b64encode(data) == base64.standard_b64encode(data).decode()
