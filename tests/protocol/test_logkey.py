"""Log key rotation (eco.logkey/v1): the record, the chain, the replay and the offline verifier.

A buyer who pinned the old key and a buyer who pinned the new one must both verify the same
evidence; anyone else, or any entry signed by the wrong key on either side of the change, fails
with the entry named."""

from __future__ import annotations

from typing import Any

import pytest

from eco_protocol.canonical import canonical_bytes
from eco_protocol.errors import BadSignature, InvalidInput, MalformedRecord, NoteError
from eco_protocol.evidence import verify_evidence
from eco_protocol.logkey import (
    LogKeyChange,
    chain_from_changes,
    next_keys,
    sign_log_key_change,
    verify_log_key_change,
)
from eco_protocol.note import sign_note
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.records_kit import (
    ReadingChain,
    entries_jsonl,
    entry_bytes,
    make_checkpoint,
    make_device_key,
    make_enrolment,
    make_log_signer,
    make_witness_signer,
)

K0 = make_log_signer()
K1 = make_log_signer(label="log-key-2")
K2 = make_log_signer(label="log-key-3")
STRANGER = make_log_signer(label="someone-else")


def _change(old: Any = K0, new: Any = K1, reason: str = "yearly rotation") -> dict[str, Any]:
    return sign_log_key_change(LogKeyChange(old.verifier.vkey, new.verifier.vkey,
                                            "2026-12-01T00:00:00Z", reason), old, new)


def test_a_change_is_signed_by_the_old_key_and_endorsed_by_the_new() -> None:
    rec = _change()
    parsed = verify_log_key_change(rec, K0.verifier.public_key)
    assert parsed.new.vkey == K1.verifier.vkey and parsed.previous.vkey == K0.verifier.vkey
    # the old key's signature alone is not enough: the endorsement is checked too
    forged = dict(rec, new_key_sig=_change(K0, K1, "other")["new_key_sig"])
    forged = sign_record({k: v for k, v in forged.items() if k != "sig"}, K0.private_key)
    with pytest.raises(BadSignature, match="new key's endorsement"):
        verify_log_key_change(forged, K0.verifier.public_key)
    # nor is a change announced by a key that is not the one in effect
    with pytest.raises(BadSignature, match="not the log key in effect"):
        verify_log_key_change(_change(STRANGER, K1), K0.verifier.public_key)


def test_a_change_keeps_the_origin_and_really_changes_the_key() -> None:
    other_origin = make_log_signer(origin="another-log.example")
    with pytest.raises(MalformedRecord, match="keeps its origin"):
        LogKeyChange(K0.verifier.vkey, other_origin.verifier.vkey, "2026-12-01T00:00:00Z", "x")
    with pytest.raises(MalformedRecord, match="same key"):
        LogKeyChange(K0.verifier.vkey, K0.verifier.vkey, "2026-12-01T00:00:00Z", "x")


def test_the_chain_is_trusted_from_any_pinned_key_and_only_from_those() -> None:
    changes = [(10, _change(K0, K1)), (20, _change(K1, K2))]
    for pinned in (K0, K1, K2):
        chain = chain_from_changes(pinned.verifier, changes)
        assert chain.vkeys() == [K0.verifier.vkey, K1.verifier.vkey, K2.verifier.vkey]
    # entry n and a checkpoint of size n are signed by the key after changes below n
    assert [chain.key_at(n).vkey for n in (0, 10, 11, 20, 21)] == [
        K0.verifier.vkey, K0.verifier.vkey, K1.verifier.vkey, K1.verifier.vkey,
        K2.verifier.vkey]
    with pytest.raises(BadSignature, match="not in the log's key chain"):
        chain_from_changes(STRANGER.verifier, changes)
    with pytest.raises(BadSignature):  # a missing link breaks the chain
        chain_from_changes(K0.verifier, [(20, _change(K1, K2))] + [(10, _change(K0, K1))])
    with pytest.raises(MalformedRecord, match="out of order"):
        chain_from_changes(K0.verifier, [(10, _change(K0, K1)), (5, _change(K1, K2))])


def test_an_agent_follows_only_links_that_start_at_its_pin() -> None:
    records = [_change(K0, K1), _change(K1, K2)]
    assert [c.new.vkey for c in next_keys(K0.verifier, records)] == [K1.verifier.vkey,
                                                                    K2.verifier.vkey]
    assert [c.new.vkey for c in next_keys(K1.verifier, records)] == [K2.verifier.vkey]
    assert next_keys(K2.verifier, records) == []
    assert next_keys(STRANGER.verifier, records) == []  # nothing to follow from here
    # a forged second link (the attacker holds neither K1 nor a key K1 endorsed) is refused
    forged = [records[0], _change(STRANGER, K2)]
    forged[1]["previous_key"] = K1.verifier.vkey
    with pytest.raises(InvalidInput):
        next_keys(K0.verifier, forged)


def _rotated_log() -> tuple[list[bytes], int]:
    """Two devices enrolled under K0, a change to K1, a third device enrolled under K1."""
    d1, d2, d3 = (make_device_key(n) for n in (1, 2, 3))
    c1, c3 = ReadingChain(d1), ReadingChain(d3)
    entries = [entry_bytes(make_enrolment(d1, K0)), entry_bytes(make_enrolment(d2, K0)),
               entry_bytes(c1.next()), entry_bytes(c1.next())]
    at = len(entries)
    entries.append(entry_bytes(_change(K0, K1)))
    entries += [entry_bytes(make_enrolment(d3, K1, household="hh-0003")),
                entry_bytes(c3.next()), entry_bytes(c1.next())]
    return entries, at


def test_replay_switches_the_key_at_the_change() -> None:
    entries, at = _rotated_log()
    replay = LedgerReplay(K0.verifier.public_key)
    for e in entries:
        replay.add(e)
    assert replay.chain(K0.verifier).changed_at == (at,)
    assert replay.counts["eco.logkey/v1"] == 1 and len(replay.devices) == 3

    # after the change, the old key no longer signs for the log ...
    late = list(entries)
    late[at + 1] = entry_bytes(make_enrolment(make_device_key(3), K0, household="hh-0003"))
    replay = LedgerReplay(K0.verifier.public_key)
    with pytest.raises(EntryProblem, match=f"entry {at + 1}: enrolment of") as err:
        for e in late:
            replay.add(e)
    assert err.value.index == at + 1
    # ... and before it, the new key did not yet
    early = [entry_bytes(make_enrolment(make_device_key(1), K1)), *entries[1:]]
    with pytest.raises(EntryProblem, match="entry 0"):
        LedgerReplay(K0.verifier.public_key).add(early[0])


def _evidence(entries: list[bytes], signers: list[Any]) -> tuple[str, list[str]]:
    return make_checkpoint(entries, signers[0], signers[1:]), \
        entries_jsonl(entries).splitlines()


def test_evidence_verifies_for_a_buyer_who_pinned_either_key() -> None:
    entries, at = _rotated_log()
    checkpoint, lines = _evidence(entries, [K1])
    history = [K0.verifier.vkey, K1.verifier.vkey]
    for pinned in (K0, K1):
        s = verify_evidence(checkpoint, pinned.verifier.vkey, [], lines, log_history=history)
        assert s.entries == len(entries) and s.devices == 3
        assert s.log_keys.changed_at == (at,)
    with pytest.raises(NoteError, match="not among the log's keys"):
        verify_evidence(checkpoint, STRANGER.verifier.vkey, [], lines, log_history=history)


def test_evidence_refuses_a_history_the_log_does_not_confirm() -> None:
    entries, _ = _rotated_log()
    checkpoint, lines = _evidence(entries, [K1])
    # a history naming another key after K0: the change entry names K1, so the replay disagrees
    with pytest.raises(NoteError, match="log.vkeys lists"):
        verify_evidence(sign_note(checkpoint.split("\n\n")[0] + "\n", [K2]),
                        K0.verifier.vkey, [], lines,
                        log_history=[K0.verifier.vkey, K2.verifier.vkey])
    # without the history the pinned key must sign the checkpoint itself
    with pytest.raises(NoteError, match="no signature by a known key"):
        verify_evidence(checkpoint, K0.verifier.vkey, [], lines)


def test_a_checkpoint_after_the_change_signed_by_the_old_key_alone_is_refused() -> None:
    entries, _ = _rotated_log()
    checkpoint, lines = _evidence(entries, [K0])
    with pytest.raises(NoteError):
        verify_evidence(checkpoint, K0.verifier.vkey, [], lines,
                        log_history=[K0.verifier.vkey, K1.verifier.vkey])
    # ... while a checkpoint from before the change stays verifiable under the old key alone
    old = make_checkpoint(entries[:4], K0)
    s = verify_evidence(old, K0.verifier.vkey, [], entries_jsonl(entries[:4]).splitlines())
    assert s.entries == 4


def test_witness_signatures_still_count_across_a_change() -> None:
    entries, _ = _rotated_log()
    w = make_witness_signer("witness.example")
    checkpoint = make_checkpoint(entries, K1, [K0, w])  # the transition checkpoint: both keys
    s = verify_evidence(checkpoint, K0.verifier.vkey, [w.verifier.vkey],
                        entries_jsonl(entries).splitlines(), min_witnesses=1,
                        log_history=[K0.verifier.vkey, K1.verifier.vkey])
    # the old log key's line is not a witness: only the real witness counts
    assert s.witnesses_signed == ("witness.example",)


def test_the_change_record_is_canonical_and_round_trips() -> None:
    rec = _change()
    parsed = LogKeyChange.from_dict(rec)
    assert canonical_bytes(parsed.to_dict()) == canonical_bytes(rec)
    with pytest.raises(MalformedRecord, match="unknown|missing|expected"):
        LogKeyChange.from_dict({k: v for k, v in rec.items() if k != "new_key_sig"})
