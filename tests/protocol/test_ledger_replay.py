"""eco_protocol.replay: a ledger replayed entry by entry; a bad entry is named by its index."""

from __future__ import annotations

import json
from typing import Any

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.records import Enrolment, Reading, Revocation
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.records_kit import (
    ReadingChain,
    device_id,
    entry_bytes,
    make_device_key,
    make_enrolment,
    make_log,
    make_log_signer,
    make_reading,
    make_receipt,
    make_revocation,
)

LOG = make_log_signer()
DEV1, DEV2 = make_device_key(1), make_device_key(2)


def _replay(entries: list[bytes]) -> LedgerReplay:
    r = LedgerReplay(LOG.private_key.public_key())
    for e in entries:
        r.add(e)
    return r


def _problem_at(entries: list[bytes], bad: bytes) -> EntryProblem:
    """Replay ``entries`` (all good), then ``bad``: it must be refused as the next index."""
    r = _replay(entries)
    with pytest.raises(EntryProblem) as exc:
        r.add(bad)
    assert exc.value.index == len(entries)
    assert str(exc.value).startswith(f"entry {len(entries)}: ")
    assert r.size == len(entries)  # a refused entry is not counted
    return exc.value


def test_good_log_replays_with_totals() -> None:
    entries = make_log(LOG, devices=2, readings_per_device=3)
    r = _replay(entries)
    assert r.size == len(entries) == 8
    assert r.counts == {"eco.enrol/v1": 2, "eco.reading/v1": 6}
    assert r.energy_wh == {"pv_generation": 6 * 500}
    state = r.devices[device_id(DEV1)]
    assert state.next_seq == 4 and not state.revoked


def test_add_returns_the_parsed_record() -> None:
    enrol = make_enrolment(DEV1, LOG)
    chain = ReadingChain(DEV1)
    r = LedgerReplay(LOG.private_key.public_key())
    assert isinstance(r.add(entry_bytes(enrol)), Enrolment)
    rec = r.add(entry_bytes(chain.next()))
    assert isinstance(rec, Reading) and rec.seq == 1
    assert isinstance(r.add(entry_bytes(make_revocation(DEV1, LOG))), Revocation)


def _base() -> tuple[list[bytes], ReadingChain]:
    chain = ReadingChain(DEV1)
    entries = [entry_bytes(make_enrolment(DEV1, LOG)), entry_bytes(chain.next()),
               entry_bytes(chain.next())]
    return entries, chain


def test_non_canonical_bytes() -> None:
    entries, chain = _base()
    reading = chain.next()
    spaced = json.dumps(reading).encode()  # valid JSON, valid signature, not RFC 8785
    p = _problem_at(entries, spaced)
    assert "not the RFC 8785 canonical form" in p.detail
    reordered = json.dumps(dict(sorted(reading.items(), reverse=True)),
                           separators=(",", ":")).encode()
    _problem_at(entries, reordered)


def test_entry_that_is_not_json_or_not_an_object() -> None:
    entries, _ = _base()
    assert "invalid JSON" in _problem_at(entries, b"{not json").detail
    assert "expected a JSON object" in _problem_at(entries, b"[1,2]").detail
    assert "non-integer" in _problem_at(entries, b'{"type":"eco.reading/v1","seq":1.5}').detail


def test_oversize_entry() -> None:
    entries, _ = _base()
    p = _problem_at(entries, b" " * 65536)
    assert "65536 bytes, over 65535" in p.detail


def test_bad_device_signature() -> None:
    entries, chain = _base()
    tampered = {**chain.next(), "energy_wh": 499, "register_end_wh": 1_002_499}
    p = _problem_at(entries, canonical_bytes(tampered))
    assert f"reading {device_id(DEV1)}#3: Ed25519 signature does not verify" in p.detail


def test_reading_signed_by_another_device_key() -> None:
    entries, chain = _base()
    forged = sign_record(chain.next(), DEV2)
    assert "signature does not verify" in _problem_at(entries, entry_bytes(forged)).detail


def test_reading_before_enrolment() -> None:
    p = _problem_at([], entry_bytes(make_reading(DEV1)))
    assert p.index == 0
    assert f"reading of device {device_id(DEV1)} precedes its enrolment" in p.detail
    # an enrolment of another device does not help
    p = _problem_at([entry_bytes(make_enrolment(DEV2, LOG))], entry_bytes(make_reading(DEV1)))
    assert "precedes its enrolment" in p.detail


def test_reading_after_revocation() -> None:
    entries, chain = _base()
    entries.append(entry_bytes(make_revocation(DEV1, LOG)))
    p = _problem_at(entries, entry_bytes(chain.next()))
    assert p.index == 4
    assert "after its revocation" in p.detail


def test_gap() -> None:
    entries, chain = _base()
    chain.next()  # seq 3 is never logged
    p = _problem_at(entries, entry_bytes(chain.next()))
    assert p.detail == "gap: expected 3"


def test_replayed_old_seq() -> None:
    entries, chain = _base()
    first = entries[1]
    assert _problem_at(entries, first).detail == "stale_seq: expected 3"


def test_bad_prev_fork() -> None:
    entries, chain = _base()
    fork = make_reading(DEV1, 3, "ab" * 32)
    p = _problem_at(entries, entry_bytes(fork))
    assert p.detail.startswith("bad_prev: ")


def test_enrolled_twice() -> None:
    entries, _ = _base()
    again = make_enrolment(DEV1, LOG, household="hh-other")
    p = _problem_at(entries, entry_bytes(again))
    assert p.detail == f"device {device_id(DEV1)} is enrolled twice"


def test_enrolment_not_signed_by_the_log_key() -> None:
    impostor = make_log_signer(label="impostor")
    p = _problem_at([], entry_bytes(make_enrolment(DEV1, impostor)))
    assert f"enrolment of {device_id(DEV1)}: Ed25519 signature does not verify" in p.detail


def test_revocation_problems() -> None:
    p = _problem_at([], entry_bytes(make_revocation(DEV1, LOG)))
    assert "never enrolled" in p.detail
    entries, _ = _base()
    impostor = make_log_signer(label="impostor")
    p = _problem_at(entries, entry_bytes(make_revocation(DEV1, impostor)))
    assert "revocation of" in p.detail and "signature does not verify" in p.detail


def test_semantic_rule_violation_is_a_valid_entry_that_credits_nothing() -> None:
    """docs/protocol.md §3: a signed, chained reading that claims too much is in the log (the
    log is not broken) and the replay marks it not creditable; the chain goes on."""
    entries, chain = _base()
    r = _replay(entries)
    r.add(entry_bytes(chain.next(energy_wh=2600)))
    bad = r.size - 1
    assert r.exclusions[bad].rule.value == "implausible"
    assert r.exclusions[bad].reason.startswith("implausible: 2600 Wh")
    r.add(entry_bytes(chain.next(energy_wh=300)))
    assert r.size - 1 not in r.exclusions
    assert dict(r.credit.excluded) == {r.exclusions[bad].rule: 1}


def test_unknown_and_foreign_record_types() -> None:
    entries, chain = _base()
    future = sign_record({**chain.next(sign=False), "type": "eco.reading/v2"}, DEV1)
    p = _problem_at(entries, entry_bytes(future))
    assert "'eco.reading/v2' is not known" in p.detail
    receipt = make_receipt(DEV1, LOG, [{"seq": 1, "reading_sha256": "ab" * 32,
                                        "status": "accepted", "reason": None, "leaf_index": 1}])
    p = _problem_at(entries, entry_bytes(receipt))
    assert "'eco.receipt/v1' does not belong in the ledger" in p.detail


def test_malformed_reading_names_the_field() -> None:
    entries, chain = _base()
    bad: dict[str, Any] = sign_record({**chain.next(sign=False), "quantity": "solar"}, DEV1)
    p = _problem_at(entries, entry_bytes(bad))
    assert "reading.quantity" in p.detail


def test_a_refused_entry_leaves_the_state_unchanged() -> None:
    entries, chain = _base()
    r = _replay(entries)
    with pytest.raises(EntryProblem):
        r.add(entry_bytes(make_reading(DEV1, 3, "ab" * 32)))
    r.add(entry_bytes(chain.next()))  # the correct seq 3 still fits
    assert r.size == 4 and r.devices[device_id(DEV1)].next_seq == 4
