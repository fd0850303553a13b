"""Canonical bytes (RFC 8785, JSON Canonicalization Scheme) and strict JSON parsing.

Every signature in PROTOCOL.md section 1 covers RFC 8785 bytes, so signer and verifier must call
the same function: :func:`canonical_bytes`. Parsing is strict because a lenient parser is a
signature-confusion bug waiting to happen: duplicate keys, NaN and non-integral numbers are refused
(signed records contain no floating-point numbers).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import rfc8785

from .errors import MalformedRecord

MAX_SAFE_INTEGER = 2**53 - 1


def canonical_bytes(obj: Mapping[str, Any] | list[Any]) -> bytes:
    """RFC 8785 serialisation of a JSON value, UTF-8 encoded."""
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise MalformedRecord(f"value cannot be canonicalised (RFC 8785): {e}") from e


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise MalformedRecord(f"duplicate JSON key {key!r}")
        out[key] = value
    return out


def _reject_float(text: str) -> Any:
    raise MalformedRecord(f"non-integer number {text!r}: signed records carry integers only")


def _reject_constant(text: str) -> Any:
    raise MalformedRecord(f"JSON constant {text!r} is not allowed")


def parse_json(data: bytes | str, *, allow_floats: bool = False) -> Any:
    """Parse JSON strictly: no duplicate keys, no NaN/Infinity, integers only unless allowed.

    Integers beyond ±(2^53−1) are refused too: they would not survive an I-JSON round trip
    (RFC 7493), which RFC 8785 assumes.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedRecord(f"not UTF-8 at byte {e.start}") from e
    else:
        text = data
    try:
        value = json.loads(
            text,
            object_pairs_hook=_reject_duplicates,
            parse_float=None if allow_floats else _reject_float,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except json.JSONDecodeError as e:
        raise MalformedRecord(f"invalid JSON at line {e.lineno} column {e.colno}: {e.msg}") from e
    except RecursionError as e:
        raise MalformedRecord("JSON nested too deeply") from e
    return value


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise MalformedRecord(f"integer {text[:20]}… is outside ±(2^53−1)")
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise MalformedRecord(f"integer {value} is outside ±(2^53−1)")
    return value
