"""An enrolment carries its claim tokens additively: an old enrolment keeps its exact bytes and
signature, a new one round-trips and replays, and a malformed token list is refused."""

from __future__ import annotations

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.claim_tokens import ClaimSecret, claim_tokens, parse_equipment
from eco_protocol.errors import MalformedRecord
from eco_protocol.records import Enrolment
from eco_protocol.replay import LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.records_kit import make_device_key, make_enrolment, make_log_signer

LOG = make_log_signer()
TOKENS = claim_tokens(ClaimSecret(b"\x07" * 32), [
    parse_equipment("inverter=SMA:3001234567"),
    parse_equipment("supply-point=0312345678901234567890")])


def test_an_enrolment_without_tokens_keeps_its_bytes() -> None:
    old = make_enrolment(make_device_key(1), LOG)
    rec = Enrolment.from_dict(old)
    assert rec.claim_tokens == ()
    assert canonical_bytes(rec.to_dict()) == canonical_bytes(old)
    assert "claim_tokens" not in rec.to_dict()


def test_an_enrolment_with_tokens_round_trips_and_replays() -> None:
    wire = [t.to_dict() for t in TOKENS]
    new = make_enrolment(make_device_key(2), LOG, claim_tokens=wire)
    rec = Enrolment.from_dict(new)
    assert rec.claim_tokens == TOKENS
    assert canonical_bytes(rec.to_dict()) == canonical_bytes(new)
    replay = LedgerReplay(LOG.private_key.public_key())
    replay.add(canonical_bytes(make_enrolment(make_device_key(1), LOG)))
    replay.add(canonical_bytes(new))
    assert replay.size == 2


@pytest.mark.parametrize(("tokens", "error"), [
    ([], "1–32"),
    ("abc", "1–32"),
    ([{"kind": "inverter", "key_id": "00" * 8}], "missing field"),
    ([{"kind": "inverter", "key_id": "00" * 8, "token": "zz" * 32}], "token"),
])
def test_a_malformed_token_list_is_refused(tokens: object, error: str) -> None:
    bad = make_enrolment(make_device_key(3), LOG, claim_tokens=tokens)
    with pytest.raises(MalformedRecord, match=error):
        Enrolment.from_dict(bad)


def test_tokens_out_of_order_are_refused_even_when_signed() -> None:
    wire = [t.to_dict() for t in reversed(TOKENS)]
    bad = sign_record(make_enrolment(make_device_key(4), LOG, sign=False, claim_tokens=wire),
                      LOG.private_key)
    with pytest.raises(MalformedRecord, match="sorted and unique"):
        Enrolment.from_dict(bad)
