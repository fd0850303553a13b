"""The claim ledger: every use of a reading's energy is logged, and the replay (the verifier's,
the audit's) refuses a Wh claimed twice, naming both claims — across issuance and sealing, in
either order. Real signed logs, the real replay and evidence check; no mocks.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from eco_protocol.certificates import HOUR
from eco_protocol.claims import BundleRange, Claim, DoubleClaim, net_of_issued
from eco_protocol.coverage import LedgerReading
from eco_protocol.creditability import DEFAULT_RULES, CreditRules
from eco_protocol.errors import MalformedRecord
from eco_protocol.evidence import verify_evidence
from eco_protocol.merkle import leaf_hash
from eco_protocol.methodology import bucket_energy, household_terms
from eco_protocol.programme_records import Period
from eco_protocol.replay import EntryProblem, LedgerReplay
from eco_protocol.signing import sign_record
from tests.protocol.claims_kit import HOUR0, HOUR1, Log, two_hour_log
from tests.protocol.records_kit import (
    BASE_TIME,
    make_evidence_dir,
    make_log_signer,
    write_evidence_dir,
)


def _replay(log: Log) -> LedgerReplay:
    replay = LedgerReplay(log.signer.verifier.public_key)
    for e in log.entries:
        replay.add(e)
    return replay


def _refused(log: Log) -> EntryProblem:
    with pytest.raises(EntryProblem) as err:
        _replay(log)
    return err.value


def test_issued_claims_within_the_proven_energy_replay() -> None:
    log = two_hour_log()
    pv0, pv2 = log.at[(1, "pv1", 0)], log.at[(1, "pv1", 2)]
    log.issue("iss-1", HOUR0, [(pv0, 350)])
    log.issue("iss-2", HOUR0, [(pv0, 250)])  # the rest of hour 0: 600 in all
    log.issue("iss-3", HOUR1, [(pv2, 1000)])
    replay = _replay(log)
    assert replay.counts["eco.claim/v1"] == 3
    assert replay.claims.issued_wh(pv0) == 600 and replay.claims.next_id == 1601


def test_a_face_value_above_the_proven_energy_is_refused() -> None:
    log = two_hour_log()
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 601)])
    err = _refused(log)
    assert err.index == len(log.entries) - 1
    assert "more than the 600 Wh self-consumed" in err.detail


def test_double_issuance_is_refused_naming_both_claims() -> None:
    log = two_hour_log()
    pv0 = log.at[(1, "pv1", 0)]
    first = log.issue("iss-1", HOUR0, [(pv0, 600)])
    log.issue("iss-2", HOUR0, [(pv0, 1)])
    err = _refused(log)
    assert isinstance(err.__cause__, DoubleClaim)
    assert "claimed twice" in err.detail
    assert f"iss-1 (entry {first}" in err.detail and "iss-2" in err.detail


def test_issuance_after_sealing_is_refused_naming_the_batch_and_the_claim() -> None:
    log = two_hour_log()
    log.seal("b-1", BASE_TIME, BASE_TIME + 4 * HOUR)
    sealed_at = log.sealed_claim("sealed:b-1", "b-1")
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 100)])
    err = _refused(log)
    assert isinstance(err.__cause__, DoubleClaim)
    assert "batch b-1" in err.detail and f"entry {sealed_at}" in err.detail
    assert "iss-1" in err.detail


def test_a_reading_logged_after_the_seal_is_not_covered_and_may_be_issued() -> None:
    log = Log()
    log.enrol(1)
    log.seal("b-1", BASE_TIME, BASE_TIME + 4 * HOUR)
    log.slot(1, 0, 1000, 400)  # late: after the seal, so not covered by it
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    assert _replay(log).claims.issued_wh(log.at[(1, "pv1", 0)]) == 600


def test_sealing_after_issuance_credits_only_the_remainder() -> None:
    log = two_hour_log()
    pv0 = log.at[(1, "pv1", 0)]
    log.issue("iss-1", HOUR0, [(pv0, 400)])
    replay = _replay(log)
    covered = [LedgerReading(i, "d", "hh-0001", h.reading.quantity, h.reading.start,
                             h.reading.end, h.reading.energy_wh, leaf_hash(log.entries[i]))
               for i, h in sorted(replay.claims.held.items())]
    issued = {pv0: replay.claims.issued_wh(pv0)}
    terms = household_terms(replay.claims.enrolments["hh-0001"])

    def self_consumed(rows: list[LedgerReading]) -> int:
        return bucket_energy([r.facts for r in rows], terms, lambda _: "all")["all"][
            "self_consumed"]

    before, after = self_consumed(covered), self_consumed(net_of_issued(covered, issued))
    assert (before, after) == (1600, 1200)  # 600 + 1000 proven; 400 of them issued
    assert net_of_issued(covered, {}) == covered  # no certificates: the batch is unchanged


def test_a_claim_not_signed_by_the_log_key_is_refused() -> None:
    log = two_hour_log()
    record = log.claim_record("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 100)])
    forged = sign_record(record, make_log_signer(label="intruder").private_key)
    log.append(forged)
    assert "signature" in _refused(log).detail.lower()


def test_claims_name_the_right_reading_hour_and_ids() -> None:
    log = two_hour_log()
    pv0 = log.at[(1, "pv1", 0)]
    log.append(log.claim_record("iss-1", HOUR1, [(pv0, 100)]))
    assert "not in the hour" in _refused(log).detail
    log = two_hour_log()
    log.append(log.claim_record("iss-1", HOUR0, [(pv0, 100)], first=7))
    assert "next free id is 1" in _refused(log).detail
    log = two_hour_log()
    log.append(log.claim_record("iss-1", HOUR0, [(log.at[(1, "ex1", 0)], 100)]))
    assert "not PV generation" in _refused(log).detail


def test_a_certificate_id_cancelled_twice_is_refused_naming_both() -> None:
    log = two_hour_log()
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    for cid, lo, hi in (("c-1", 1, 300), ("c-2", 200, 400)):
        c = Claim(cid, "cancelled", "prog-2026", "2026-12-02T00:00:00Z", ref="iss-1",
                  bundle=BundleRange(lo, hi), account="acct-1",
                  period=Period("2026-11-22T00:00:00Z", "2026-11-22T01:00:00Z"))
        log.append(sign_record(c.to_dict(), log.signer.private_key))
    err = _refused(log)
    assert "c-1" in err.detail and "c-2" in err.detail and "claimed twice" in err.detail


def test_claim_shapes_are_checked_per_action() -> None:
    with pytest.raises(MalformedRecord, match="needs ref"):
        Claim("s", "sealed", "p", "2026-12-01T00:00:00Z")
    with pytest.raises(MalformedRecord, match="must not carry ref"):
        Claim("i", "issued", "p", "2026-12-01T00:00:00Z", ref="x")
    with pytest.raises(MalformedRecord, match="not one of"):
        Claim("x", "sold", "p", "2026-12-01T00:00:00Z")


def test_evidence_with_a_forged_double_claim_is_refused_naming_both(tmp_path: Path) -> None:
    log = two_hour_log()
    pv2 = log.at[(1, "pv1", 2)]
    log.issue("iss-a", HOUR1, [(pv2, 700)])
    log.issue("iss-b", HOUR1, [(pv2, 700)])
    ev = write_evidence_dir(tmp_path / "ev", log.entries, log.signer)
    with pytest.raises(EntryProblem) as err:
        verify_evidence(ev.checkpoint, ev.log_vkey, [], _lines(ev.path))
    assert "iss-a" in str(err.value) and "iss-b" in str(err.value)


def test_valid_claims_and_old_evidence_verify(tmp_path: Path) -> None:
    log = two_hour_log()
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    ev = write_evidence_dir(tmp_path / "ev", log.entries, log.signer)
    summary = verify_evidence(ev.checkpoint, ev.log_vkey, [], _lines(ev.path))
    assert summary.counts["eco.claim/v1"] == 1
    old = make_evidence_dir(tmp_path / "old")  # a log without claims, as before issue 19
    assert verify_evidence(old.checkpoint, old.log_vkey, [], _lines(old.path)).entries == \
        len(old.entries)


def _lines(evidence: Path) -> list[str]:
    return (evidence / "entries.jsonl").read_text("utf-8").splitlines()


@pytest.mark.integration  # eco-verify in its own process
def test_eco_verify_evidence_accepts_claims_and_refuses_a_double_one(tmp_path: Path) -> None:
    """The buyer's installed command, in its own process. An evidence directory carries no
    programme rules, so it holds claims to the bound true under any rules: the Wh a reading
    generated (1200 here; its proven self-consumption is 1000)."""
    log = two_hour_log()
    pv2 = log.at[(1, "pv1", 2)]
    log.issue("iss-a", HOUR1, [(pv2, 700)])
    good = write_evidence_dir(tmp_path / "good", log.entries, log.signer)
    ok = _eco_verify(good.path, good.log_vkey)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    log.issue("iss-b", HOUR1, [(pv2, 501)])
    bad = write_evidence_dir(tmp_path / "bad", log.entries, log.signer)
    refused = _eco_verify(bad.path, bad.log_vkey)
    assert refused.returncode != 0
    said = refused.stdout + refused.stderr
    assert "iss-a" in said and "iss-b" in said and "claimed twice" in said


def _eco_verify(path: Path, vkey: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "eco_protocol.verify_cli", "evidence", str(path),
                           "--log-key", vkey, "--lang", "en"], capture_output=True, text=True,
                          timeout=120, check=False)


def test_creditability_of_claimed_readings_is_judged_under_the_rules_given(
        tmp_path: Path) -> None:
    """Equipment installed five years before joining: excluded under the default rules (two
    years), creditable under a programme allowing ten. The claim replays under the programme's
    rules, is refused under the defaults, and evidence without rules still accepts it."""
    log = Log()
    log.enrol(1, {"status": "post_fit", "installed": "2021-06-01", "battery": False})
    log.slot(1, 0, 1000, 400)
    log.issue("iss-1", HOUR0, [(log.at[(1, "pv1", 0)], 600)])
    lenient_rules = CreditRules(max_equipment_age_years=10)
    replay = LedgerReplay(log.signer.verifier.public_key, rules=lenient_rules)
    for e in log.entries:
        replay.add(e)
    assert replay.claims.issued_wh(log.at[(1, "pv1", 0)]) == 600
    assert "not a creditable PV reading" in _refused(log).detail
    ev = write_evidence_dir(tmp_path / "ev", log.entries, log.signer)
    assert verify_evidence(ev.checkpoint, ev.log_vkey, [], _lines(ev.path)).counts[
        "eco.claim/v1"] == 1
    with pytest.raises(EntryProblem, match="not a creditable"):
        verify_evidence(ev.checkpoint, ev.log_vkey, [], _lines(ev.path), rules=DEFAULT_RULES)
