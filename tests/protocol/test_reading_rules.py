"""eco_protocol.rules: the chain rules that decide whether a reading may enter the log."""

from __future__ import annotations

import pickle

import pytest

from eco_protocol.errors import InvalidInput
from eco_protocol.messages import render
from eco_protocol.records import GENESIS_PREV, Reading
from eco_protocol.rules import RuleViolation, check_chain
from tests.protocol.records_kit import ReadingChain, make_device_key

KEY = make_device_key(1)


def test_chain_accepts_the_next_reading() -> None:
    chain = ReadingChain(KEY)
    r1 = Reading.from_dict(chain.next())
    check_chain(r1, 1, GENESIS_PREV)
    prev = chain.prev
    r2 = Reading.from_dict(chain.next())
    check_chain(r2, 2, prev)


def test_gap_stale_and_bad_prev() -> None:
    chain = ReadingChain(KEY)
    chain.next()
    r2 = Reading.from_dict(chain.next())
    with pytest.raises(RuleViolation) as gap:
        check_chain(r2, 1, GENESIS_PREV)
    assert gap.value.code == "gap" and gap.value.detail == "expected 1"
    assert str(gap.value) == "gap: expected 1"  # the receipt's "gap: expected <n>" reason
    with pytest.raises(RuleViolation) as stale:
        check_chain(r2, 3, chain.prev)
    assert stale.value.code == "stale_seq"
    with pytest.raises(RuleViolation) as fork:
        check_chain(r2, 2, "ab" * 32)
    assert fork.value.code == "bad_prev"
    assert "seq 1" in fork.value.detail


def test_violations_are_invalid_input() -> None:
    assert issubclass(RuleViolation, InvalidInput)


def test_a_rule_violation_crosses_a_process_boundary_as_the_same_finding() -> None:
    """Pickled (as a worker process hands it back), a finding keeps its code, text and
    translation parameters; the default reduction passed its text alone and failed."""
    e = RuleViolation("gap", "expected 3", want=3)
    back = pickle.loads(pickle.dumps(e))
    assert (back.code, back.detail, str(back)) == ("gap", "expected 3", "gap: expected 3")
    assert render(back, "ja") == render(e, "ja") != str(e)
