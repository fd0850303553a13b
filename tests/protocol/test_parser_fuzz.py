"""Parsers never leak ValueError / KeyError / TypeError / binascii.Error (docs/style.md, point 4).

Every parser that takes untrusted input is fed arbitrary input; the only exception allowed out
is the package's own :class:`~eco_protocol.errors.ProtocolError` family.
"""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.dispatch import parse_record
from eco_protocol.encoding import b64decode, hex_field, parse_time
from eco_protocol.errors import InvalidInput, ProtocolError
from eco_protocol.evidence import parse_entry_line, verify_evidence
from eco_protocol.logkey import LogKeyChange, next_keys, sign_log_key_change, verify_log_key_change
from eco_protocol.records import Enrolment, Reading, Receipt, Revocation
from eco_protocol.replay import LedgerReplay
from tests.protocol.records_kit import (
    entries_jsonl,
    make_checkpoint,
    make_device_key,
    make_log,
    make_log_signer,
    make_reading,
)

LOG = make_log_signer()
GOOD_READING = make_reading(make_device_key(1))

json_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=12) | \
    st.floats(allow_nan=False, allow_infinity=False)
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@given(st.binary(max_size=200))
def test_parse_json_on_bytes(data: bytes) -> None:
    with contextlib.suppress(InvalidInput):
        parse_json(data)


@given(json_values)
def test_parse_record_on_any_json(value: Any) -> None:
    for parse in (parse_record, Reading.from_dict, Receipt.from_dict, Enrolment.from_dict,
                  Revocation.from_dict):
        with contextlib.suppress(InvalidInput):
            parse(value)


@settings(max_examples=300)
@given(st.sampled_from(sorted(GOOD_READING)), json_values)
def test_reading_with_one_field_replaced_by_anything(key: str, value: Any) -> None:
    with contextlib.suppress(InvalidInput):
        Reading.from_dict({**GOOD_READING, key: value})
    with contextlib.suppress(InvalidInput):
        parse_record({**GOOD_READING, key: value})


@given(json_values)
def test_canonical_bytes_on_any_json(value: Any) -> None:
    with contextlib.suppress(InvalidInput):
        canonical_bytes(value if isinstance(value, dict | list) else [value])


@given(st.text(max_size=60) | st.none() | st.integers())
def test_codecs(value: Any) -> None:
    for call in (lambda: b64decode(value, "f"), lambda: hex_field(value, "f", 8),
                 lambda: parse_time(value, "f")):
        with contextlib.suppress(InvalidInput):
            call()


@given(st.text(max_size=120))
def test_entry_lines(line: str) -> None:
    with contextlib.suppress(InvalidInput):
        parse_entry_line(line, 0)


@given(st.binary(max_size=300))
def test_replay_on_arbitrary_entries(entry: bytes) -> None:
    replay = LedgerReplay(LOG.private_key.public_key())
    with contextlib.suppress(InvalidInput):
        replay.add(entry)


ENTRIES = make_log(LOG, devices=1, readings_per_device=2)
CHECKPOINT = make_checkpoint(ENTRIES, LOG)
JSONL = entries_jsonl(ENTRIES)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_verify_evidence_on_mutated_inputs(data: st.DataObject) -> None:
    which = data.draw(st.sampled_from(["checkpoint", "entries", "vkey"]), label="which")
    text = {"checkpoint": CHECKPOINT, "entries": JSONL, "vkey": LOG.verifier.vkey}[which]
    i = data.draw(st.integers(0, len(text) - 1), label="position")
    ch = data.draw(st.characters(), label="char")
    mutated = text[:i] + ch + text[i + 1:]
    args = {"checkpoint": CHECKPOINT, "entries": JSONL, "vkey": LOG.verifier.vkey, which: mutated}
    # Most mutations are refused; a few are harmless (JSON whitespace, unused base64 padding
    # bits of a signature, which Go's note.Open ignores as well). None may crash.
    with contextlib.suppress(ProtocolError):
        verify_evidence(args["checkpoint"], args["vkey"], [], args["entries"].splitlines())


_CHANGE = sign_log_key_change(
    LogKeyChange(LOG.verifier.vkey, make_log_signer(label="fuzz-new").verifier.vkey,
                 "2026-12-01T00:00:00Z", "fuzz"), LOG, make_log_signer(label="fuzz-new"))


@settings(max_examples=300)
@given(st.sampled_from(sorted(_CHANGE)), json_values)
def test_log_key_change_with_one_field_replaced_by_anything(key: str, value: Any) -> None:
    """The announcement parsers (ledger replay, agents, witnesses) on hostile fields: a
    ProtocolError or a verified change, nothing else."""
    changed = dict(_CHANGE, **{key: value})
    with contextlib.suppress(InvalidInput):
        verify_log_key_change(changed, LOG.verifier.public_key)
    with contextlib.suppress(InvalidInput):
        next_keys(LOG.verifier, [changed])


@given(json_values)
def test_log_key_announcement_of_any_json(value: Any) -> None:
    with contextlib.suppress(InvalidInput):
        LogKeyChange.from_dict(value)
    if isinstance(value, list) and all(isinstance(v, dict) for v in value):
        with contextlib.suppress(InvalidInput):
            next_keys(LOG.verifier, value)
