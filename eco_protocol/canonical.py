"""Canonical bytes (RFC 8785, JSON Canonicalization Scheme) and strict JSON parsing.

Every signature in docs/protocol.md §1 covers RFC 8785 bytes, so signer and verifier must call
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


def canonical_bytes(obj: Mapping[str, Any] | list[Any], *, validated: bool = False) -> bytes:
    """RFC 8785 serialisation of a JSON value, UTF-8 encoded.

    ``validated=True`` promises that a record's ``from_dict`` has accepted ``obj``: its keys are
    the record's own ASCII field names and its numbers integers within ±(2^53−1), so the check
    the fast path makes before it serialises (:func:`_fast_canonical`) can be skipped. Anything
    the promise does not cover (a lone surrogate, a Mapping that is not a dict) still falls back
    to ``rfc8785`` and is refused there as before.
    """
    fast = _fast_canonical(obj, checked=validated)
    if fast is not None:
        return fast
    try:
        return rfc8785.dumps(obj)
    except (rfc8785.CanonicalizationError, TypeError, ValueError) as e:
        raise MalformedRecord.coded("eco_protocol.finding.json.not_canonical", error=str(e)) from e


def _fast_canonical(obj: object, checked: bool = False) -> bytes | None:
    """The same bytes as ``rfc8785.dumps`` from the C JSON encoder, or None when unsure.

    Speed: every reading is canonicalised on ingest, on audit and on verification, and the pure
    Python RFC 8785 serialiser costs more than the Ed25519 check itself. For the values our
    records hold, sorted compact ``json.dumps`` with ``ensure_ascii=False`` *is* RFC 8785
    (tests/protocol/test_canonical_fast.py compares the two on generated values): strings are
    escaped with the same table (quote, backslash, the five short control escapes, other control
    characters as lowercase six-character escapes, everything else literal), integers print
    alike, and ASCII keys sort the same by code point as by UTF-16 code unit. It is used only
    when every key is an ASCII ``str``, every value a plain dict, list, tuple, str, bool, None or
    int within ±(2^53−1), and the text encodes as UTF-8 (a lone surrogate does not). Floats,
    large integers, non-ASCII keys, subclasses and anything else go to ``rfc8785``, which
    serialises or refuses them as before.
    """
    try:
        if not checked and not _plain(obj):
            return None
        return json.dumps(obj, ensure_ascii=False, sort_keys=True,
                          separators=(",", ":")).encode("utf-8")
    except (RecursionError, UnicodeEncodeError, TypeError, ValueError):
        return None


def _plain(v: object) -> bool:
    t = type(v)
    if t is str or t is bool or v is None:
        return True
    if t is int:
        return -MAX_SAFE_INTEGER <= v <= MAX_SAFE_INTEGER  # type: ignore[operator]
    if t is dict:
        for k, x in v.items():  # type: ignore[attr-defined]
            if type(k) is not str or not k.isascii() or not _plain(x):
                return False
        return True
    if t is list or t is tuple:
        return all(_plain(x) for x in v)  # type: ignore[attr-defined]
    return False


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # dict() in C, then a look for the culprit only when something collapsed (speed: this runs
    # for every object of every message)
    out = dict(pairs)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise MalformedRecord.coded("eco_protocol.finding.json.duplicate", key=repr(key))
            seen.add(key)
    return out


def _reject_float(text: str) -> Any:
    raise MalformedRecord.coded("eco_protocol.finding.json.float", value=repr(text))


def _reject_constant(text: str) -> Any:
    raise MalformedRecord.coded("eco_protocol.finding.json.constant", value=repr(text))


def parse_json(data: bytes | str, *, allow_floats: bool = False) -> Any:
    """Parse JSON strictly: no duplicate keys, no NaN/Infinity, integers only unless allowed.

    Integers beyond ±(2^53−1) are refused too: they would not survive an I-JSON round trip
    (RFC 7493), which RFC 8785 assumes.
    """
    if isinstance(data, bytes):
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as e:
            raise MalformedRecord.coded("eco_protocol.finding.json.not_utf8", at=e.start) from e
    else:
        text = data
    try:
        if isinstance(text, str):
            # json.loads with hooks builds a new decoder per call; ours are built once (speed:
            # every message and every entry is parsed here). The BOM check is json.loads' own.
            if text.startswith("\ufeff"):
                raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)",
                                           text, 0)
            value = _DECODERS[allow_floats].decode(text)
        else:
            value = json.loads(
                text,
                object_pairs_hook=_reject_duplicates,
                parse_float=None if allow_floats else _reject_float,
                parse_constant=_reject_constant,
                parse_int=_parse_int,
            )
    except json.JSONDecodeError as e:
        raise MalformedRecord.coded("eco_protocol.finding.json.invalid",
                                    line=e.lineno, column=e.colno,
                                    error=e.msg) from e
    except RecursionError as e:
        raise MalformedRecord.coded("eco_protocol.finding.json.too_deep") from e
    return value


def _parse_int(text: str) -> int:
    if len(text) > 17:
        raise MalformedRecord.coded("eco_protocol.finding.json.int_long", digits=text[:20])
    value = int(text)
    if abs(value) > MAX_SAFE_INTEGER:
        raise MalformedRecord.coded("eco_protocol.finding.json.int_range", value=value)
    return value


_DECODERS = {
    allow: json.JSONDecoder(object_pairs_hook=_reject_duplicates,
                            parse_float=None if allow else _reject_float,
                            parse_constant=_reject_constant, parse_int=_parse_int)
    for allow in (False, True)
}
