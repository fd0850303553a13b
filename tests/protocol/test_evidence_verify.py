"""eco_protocol.evidence and the ``eco-verify evidence`` command on real directories."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.errors import NoteError, ProofError
from eco_protocol.evidence import parse_entry_line, verify_evidence
from eco_protocol.merkle import MemoryTree, leaf_hash
from eco_protocol.note import Checkpoint, sign_note
from eco_protocol.replay import EntryProblem
from eco_protocol.verify_cli import main
from tests.protocol.evidence_kit import lines, rewrite_entry
from tests.protocol.records_kit import (
    EvidenceDir,
    entries_jsonl,
    make_checkpoint,
    make_evidence_dir,
    make_log,
    make_log_signer,
    make_witness_signer,
    write_evidence_dir,
)


@pytest.fixture
def evidence(tmp_path: Path) -> EvidenceDir:
    return make_evidence_dir(tmp_path / "evidence", devices=3, readings_per_device=4)


def _run(ev: EvidenceDir, *extra: str, log_key: str | None = None) -> int:
    return main(["evidence", str(ev.path), "--log-key", log_key or ev.log_vkey, *extra])






# --- verify_evidence (pure) ---------------------------------------------------------------------


def test_verify_evidence_summary(evidence: EvidenceDir) -> None:
    s = verify_evidence(evidence.checkpoint, evidence.log_vkey, [], lines(evidence))
    assert s.checkpoint.size == s.entries == 3 + 12
    assert s.counts == {"eco.enrol/v1": 3, "eco.reading/v1": 12}
    assert s.devices == 3
    assert s.energy_wh == {"pv_generation": 12 * 500}
    assert sorted(s.readings_per_device.values()) == [4, 4, 4]
    assert s.witnesses_signed == ()


def test_witnesses_k_of_n(tmp_path: Path) -> None:
    log = make_log_signer()
    w1, w2 = make_witness_signer("w1.example"), make_witness_signer("w2.example")
    ev = make_evidence_dir(tmp_path, log_signer=log, witnesses=[w1])
    keys = [w1.verifier.vkey, w2.verifier.vkey]
    s = verify_evidence(ev.checkpoint, ev.log_vkey, keys, lines(ev), min_witnesses=1)
    assert s.witnesses_signed == ("w1.example",)
    with pytest.raises(NoteError, match="1 known witness signature\\(s\\), 2 required"):
        verify_evidence(ev.checkpoint, ev.log_vkey, keys, lines(ev), min_witnesses=2)
    with pytest.raises(NoteError, match="0 known witness"):
        verify_evidence(ev.checkpoint, ev.log_vkey, [], lines(ev), min_witnesses=1)


def test_missing_or_altered_entries_are_proof_errors(evidence: EvidenceDir) -> None:
    ls = lines(evidence)
    with pytest.raises(ProofError, match="has 14 entries, the checkpoint says 15"):
        verify_evidence(evidence.checkpoint, evidence.log_vkey, [], ls[:-1])
    shorter = make_checkpoint(evidence.entries[:14], evidence.log_signer)
    forged = shorter.replace("\n14\n", "\n15\n")  # signature no longer matches
    with pytest.raises(NoteError):
        verify_evidence(forged, evidence.log_vkey, [], ls)


def test_parse_entry_line() -> None:
    assert parse_entry_line('{"index": 4, "entry_b64": "e30="}', 4) == b"{}"
    with pytest.raises(EntryProblem, match="entry 4: line carries index 5, expected 4"):
        parse_entry_line('{"index": 5, "entry_b64": "e30="}', 4)
    with pytest.raises(EntryProblem, match="entry 0: entries.jsonl line is not valid JSON"):
        parse_entry_line("{", 0)
    with pytest.raises(EntryProblem, match='entry 2: entries.jsonl line must be'):
        parse_entry_line('{"index": 2}', 2)
    with pytest.raises(EntryProblem, match="entry 2: entry_b64: invalid base64"):
        parse_entry_line('{"index": 2, "entry_b64": "e30"}', 2)


def test_empty_log(tmp_path: Path) -> None:
    ev = make_evidence_dir(tmp_path, entries=[])
    s = verify_evidence(ev.checkpoint, ev.log_vkey, [], [])
    assert s.entries == 0 and s.counts == {}
    assert _run(ev) == 0


# --- eco-verify evidence ------------------------------------------------------------------------


def test_cli_ok(evidence: EvidenceDir, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(evidence, "--json") == 0
    out = capsys.readouterr().out
    assert "ok   checkpoint signed by the log key eco-ledger.example-city.lg.jp (size 15" in out
    assert "ok   root hash recomputed from 15 entries" in out
    assert "ok   12 readings" in out
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["ok"] is True and summary["size"] == 15 and summary["devices"] == 3


def test_cli_tampered_entry_names_it(evidence: EvidenceDir,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    entry = evidence.entries[7]
    obj = parse_json(entry)
    obj["energy_wh"] += 1
    obj["register_end_wh"] += 1
    rewrite_entry(evidence, 7, canonical_bytes(obj))
    assert _run(evidence) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAIL entry 7: reading ")
    assert "signature does not verify" in err


def test_cli_one_flipped_character_in_a_line(evidence: EvidenceDir,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    ls = lines(evidence)
    ls[5] = ls[5].replace('"entry_b64": "ey', '"entry_b64": "eZ', 1)
    assert '"eZ' in ls[5]
    evidence.entries_path.write_text("".join(ls), "utf-8")
    assert _run(evidence) == 1
    assert capsys.readouterr().err.startswith("FAIL entry 5: ")


def test_cli_lines_swapped(evidence: EvidenceDir, capsys: pytest.CaptureFixture[str]) -> None:
    ls = lines(evidence)
    ls[9], ls[10] = ls[10], ls[9]
    evidence.entries_path.write_text("".join(ls), "utf-8")
    assert _run(evidence) == 1
    assert "FAIL entry 9: line carries index 10, expected 9" in capsys.readouterr().err


def test_cli_entry_removed_from_the_end(evidence: EvidenceDir,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    evidence.entries_path.write_text("".join(lines(evidence)[:-1]), "utf-8")
    assert _run(evidence) == 1
    assert "entries.jsonl has 14 entries, the checkpoint says 15" in capsys.readouterr().err


def test_cli_extra_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = make_log_signer()
    entries = make_log(log, devices=1, readings_per_device=3)
    ev = write_evidence_dir(tmp_path, entries, log,
                            checkpoint=make_checkpoint(entries, log, size=3))
    assert _run(ev) == 1
    assert "FAIL entry 3: entries.jsonl has more entries than the checkpoint's size 3" in \
        capsys.readouterr().err


def test_cli_entry_replaced_by_another_valid_one(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """Every entry replays, but the log changed after the checkpoint was signed."""
    log = make_log_signer()
    signed_log = make_log(log, devices=1, readings_per_device=2)
    other_log = make_log(log, devices=1, readings_per_device=2, first_device=5)
    ev = write_evidence_dir(tmp_path, other_log, log,
                            checkpoint=make_checkpoint(signed_log, log))
    assert _run(ev) == 1
    assert "root recomputed from entries.jsonl differs" in capsys.readouterr().err


@pytest.mark.parametrize(("old", "new"), [("\n15\n", "\n14\n"), ("\n15\n", "\n16\n")])
def test_cli_tampered_checkpoint(evidence: EvidenceDir, capsys: pytest.CaptureFixture[str],
                                 old: str, new: str) -> None:
    text = evidence.checkpoint_path.read_text("utf-8")
    assert old in text
    evidence.checkpoint_path.write_text(text.replace(old, new, 1), "utf-8")
    assert _run(evidence) == 1
    err = capsys.readouterr().err
    assert err.startswith("FAIL invalid signature by eco-ledger.example-city.lg.jp+")


def test_cli_checkpoint_resigned_by_another_key(evidence: EvidenceDir,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    impostor = make_log_signer(label="impostor")
    evidence.checkpoint_path.write_text(make_checkpoint(evidence.entries, impostor), "utf-8")
    assert _run(evidence) == 1
    assert "FAIL note has no signature by a known key" in capsys.readouterr().err


def test_cli_log_signs_a_wrong_root(evidence: EvidenceDir,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    tree = MemoryTree(leaf_hash(e) for e in evidence.entries[:-1])
    wrong = Checkpoint(evidence.log_signer.name, len(evidence.entries), tree.root())
    evidence.checkpoint_path.write_text(sign_note(wrong.text(), [evidence.log_signer]), "utf-8")
    assert _run(evidence) == 1
    assert "differs from the checkpoint's root hash" in capsys.readouterr().err


def test_cli_checkpoint_with_a_non_ascii_root(evidence: EvidenceDir,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    text = f"{evidence.log_signer.name}\n15\n{'é' * 44}\n"
    evidence.checkpoint_path.write_text(sign_note(text, [evidence.log_signer]), "utf-8")
    assert _run(evidence) == 1
    assert "FAIL checkpoint root hash is not base64" in capsys.readouterr().err


def test_cli_pinned_key_differs_from_log_vkey(evidence: EvidenceDir,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    other = make_log_signer(label="impostor").verifier.vkey
    assert _run(evidence, log_key=other) == 1
    assert "FAIL log.vkey:" in capsys.readouterr().err


def test_cli_pinned_key_is_what_counts(evidence: EvidenceDir,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """An attacker who controls the directory re-signs everything with their own key."""
    impostor = make_log_signer(label="impostor")
    (evidence.path / "log.vkey").write_text(impostor.verifier.vkey + "\n", "utf-8")
    evidence.checkpoint_path.write_text(make_checkpoint(evidence.entries, impostor), "utf-8")
    assert _run(evidence) == 1  # the buyer pinned the real key
    capsys.readouterr()
    # and with the real key pinned, a log.vkey that differs is refused up front
    assert _run(evidence, log_key=evidence.log_vkey) == 1
    assert "FAIL log.vkey" in capsys.readouterr().err


def test_cli_witnesses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    w = make_witness_signer("witness.example")
    ev = make_evidence_dir(tmp_path, witnesses=[w])
    assert _run(ev, "--min-witnesses", "1") == 1
    assert "0 known witness signature(s), 1 required" in capsys.readouterr().err
    assert _run(ev, "--min-witnesses", "1", "--witnesses-from-dir") == 0
    assert _run(ev, "--min-witnesses", "1", "--witness", w.verifier.vkey) == 0
    assert "witnesses: witness.example" in capsys.readouterr().out


def test_cli_missing_file(evidence: EvidenceDir) -> None:
    evidence.entries_path.unlink()
    with pytest.raises(SystemExit, match="eco-verify: cannot read .*entries.jsonl"):
        _run(evidence)


def test_cli_bad_log_key_argument(evidence: EvidenceDir,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    (evidence.path / "log.vkey").unlink()
    assert _run(evidence, log_key="not-a-key") == 1
    assert "FAIL malformed verifier key" in capsys.readouterr().err


def test_entries_jsonl_format() -> None:
    text = entries_jsonl([b"{}", b"[]"])
    assert text.splitlines() == ['{"index": 0, "entry_b64": "e30="}',
                                 '{"index": 1, "entry_b64": "W10="}']
