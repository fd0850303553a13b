"""eco_protocol.canonical: RFC 8785 canonical bytes and the strict JSON parser.

Vectors: tests/vectors/rfc8785.json (RFC 8785 sections 3.2.2-3.2.4, appendices B, C, E, and the
RFC authors' testdata). See tests/vectors/README.md for sources.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import MAX_SAFE_INTEGER, canonical_bytes, parse_json
from eco_protocol.errors import MalformedRecord

VECTORS: dict[str, Any] = json.loads(
    (Path(__file__).parent.parent / "vectors" / "rfc8785.json").read_text("utf-8"))
DOCUMENTS: list[dict[str, Any]] = VECTORS["documents"]
NUMBERS: dict[str, Any] = VECTORS["numbers"]


def _names(cases: list[dict[str, Any]], key: str = "name") -> list[str]:
    return [str(c[key]) for c in cases]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_names(DOCUMENTS))
def test_rfc8785_documents_canonicalise_as_published(doc: dict[str, Any]) -> None:
    # Python's own parser accepts every document (floats included), so this checks the
    # serialiser against the published output independently of our strict parser.
    out = canonical_bytes(json.loads(doc["input"]))
    if "canonical" in doc:
        assert out == doc["canonical"].encode("utf-8")
    if "canonical_utf8_hex" in doc:
        assert out.hex() == doc["canonical_utf8_hex"]
    if "expected_value_order" in doc:
        parsed = json.loads(out)
        assert list(parsed.values()) == doc["expected_value_order"]
        # RFC 8785 sorts by UTF-16 code units: the emoji (D83D DE00) precedes U+FB33, the
        # reverse of code-point order, so this vector fails a naive sorted().
        assert list(parsed) != sorted(parsed)
    if "expected_key_order" in doc:
        assert list(json.loads(out)) == doc["expected_key_order"]


@pytest.mark.parametrize("doc", DOCUMENTS, ids=_names(DOCUMENTS))
def test_strict_parser_accepts_integer_documents_and_refuses_float_ones(
        doc: dict[str, Any]) -> None:
    if doc["strict_parse"] == "accepted":
        value = parse_json(doc["input"].encode("utf-8"))
        assert value == json.loads(doc["input"])
        if "canonical" in doc:
            assert canonical_bytes(value) == doc["canonical"].encode("utf-8")
    else:
        assert doc["strict_parse"] == "refused"
        with pytest.raises(MalformedRecord, match="non-integer number"):
            parse_json(doc["input"])


@pytest.mark.parametrize("case", NUMBERS["integers_accepted"],
                         ids=_names(NUMBERS["integers_accepted"], "json"))
def test_appendix_b_integers_in_range(case: dict[str, str]) -> None:
    value = parse_json(case["json"])
    assert isinstance(value, int)
    assert canonical_bytes([value]) == f"[{case['canonical']}]".encode()


@pytest.mark.parametrize("case", NUMBERS["integers_refused"],
                         ids=_names(NUMBERS["integers_refused"], "json"))
def test_appendix_b_integers_beyond_safe_range_are_refused(case: dict[str, str]) -> None:
    with pytest.raises(MalformedRecord, match=r"outside ±\(2\^53−1\)"):
        parse_json(case["json"])
    with pytest.raises(MalformedRecord, match=r"outside ±\(2\^53−1\)"):
        parse_json('{"energy_wh": ' + case["json"] + "}")


@pytest.mark.parametrize("case", NUMBERS["non_finite_refused"],
                         ids=_names(NUMBERS["non_finite_refused"], "json"))
def test_nan_and_infinity_are_refused(case: dict[str, str]) -> None:
    with pytest.raises(MalformedRecord, match="not allowed"):
        parse_json("[" + case["json"] + "]")
    with pytest.raises(MalformedRecord, match="not allowed"):
        parse_json("[" + case["json"] + "]", allow_floats=True)


@pytest.mark.parametrize("case", NUMBERS["floats"], ids=_names(NUMBERS["floats"], "ieee754"))
def test_appendix_b_float_serialisation(case: dict[str, str]) -> None:
    # Signed records never carry floats, but canonical_bytes must still be RFC 8785 for any
    # JSON value it is handed: this pins the serialiser to the RFC's table.
    value = struct.unpack(">d", bytes.fromhex(case["ieee754"]))[0]
    assert canonical_bytes([value]) == f"[{case['canonical']}]".encode()
    # ...while the strict parser refuses the same number spelled as JSON.
    with pytest.raises(MalformedRecord):
        parse_json(case["canonical"])


def test_canonical_bytes_refuses_nan_and_lone_surrogates() -> None:
    with pytest.raises(MalformedRecord, match="RFC 8785"):
        canonical_bytes([float("nan")])
    with pytest.raises(MalformedRecord, match="RFC 8785"):
        canonical_bytes([float("inf")])
    with pytest.raises(MalformedRecord, match="RFC 8785"):
        canonical_bytes({"s": "\udead"})  # RFC 8785 section 3.2.2.2: lone surrogates are errors
    with pytest.raises(MalformedRecord, match="RFC 8785"):
        canonical_bytes({"s": object()})


def test_duplicate_keys_are_refused_by_name() -> None:
    with pytest.raises(MalformedRecord, match="duplicate JSON key 'seq'"):
        parse_json('{"seq": 1, "seq": 2}')
    with pytest.raises(MalformedRecord, match="duplicate JSON key 'a'"):
        parse_json('{"outer": [{"a": 1, "b": 2, "a": 1}]}')
    # escapes are decoded before comparison: "\u0061" is "a"
    with pytest.raises(MalformedRecord, match="duplicate JSON key 'a'"):
        parse_json('{"a": 1, "\\u0061": 1}')


@pytest.mark.parametrize("text", ["1.0", "1e3", "1E3", "-0.0", "0.5", "[1, 2.5]",
                                  '{"energy_wh": 544.0}'])
def test_floats_are_refused_with_the_spelling(text: str) -> None:
    with pytest.raises(MalformedRecord, match="non-integer number") as exc:
        parse_json(text)
    assert "signed records carry integers only" in str(exc.value)


def test_floats_are_allowed_only_when_asked() -> None:
    assert parse_json('{"x": 2.5}', allow_floats=True) == {"x": 2.5}


def test_integer_bounds_are_exactly_the_safe_range() -> None:
    assert parse_json(str(MAX_SAFE_INTEGER)) == MAX_SAFE_INTEGER
    assert parse_json(str(-MAX_SAFE_INTEGER)) == -MAX_SAFE_INTEGER
    with pytest.raises(MalformedRecord, match="outside"):
        parse_json(str(MAX_SAFE_INTEGER + 1))
    with pytest.raises(MalformedRecord, match="outside"):
        parse_json(str(-MAX_SAFE_INTEGER - 1))
    with pytest.raises(MalformedRecord, match="outside"):
        parse_json("1" + "0" * 400)  # refused by length before int() sees it


@pytest.mark.parametrize(("data", "message"), [
    (b"\xff{}", "not UTF-8 at byte 0"),
    (b'{"a": "\xc3"}', "not UTF-8 at byte 7"),
    ("{", "invalid JSON at line 1"),
    ('{"a": 1,}', "invalid JSON at line 1 column 9"),
    ("", "invalid JSON"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
])
def test_malformed_json_is_reported_without_foreign_exceptions(data: bytes | str,
                                                               message: str) -> None:
    with pytest.raises(MalformedRecord, match=message):
        parse_json(data)


def test_round_trip_of_a_record_is_byte_identical() -> None:
    text = ('{"type":"eco.reading/v1","seq":17,"flags":[],"source":{"protocol":"p",'
            '"meter_model":"m","meter_serial":"s"},"quantity":"pv_generation"}')
    canon = canonical_bytes(parse_json(text))
    assert canon == canonical_bytes(parse_json(canon))
    assert canon.startswith(b'{"flags":[],"quantity":"pv_generation","seq":17,"source":'
                            b'{"meter_model":"m","meter_serial":"s","protocol":"p"}')
