"""``eco-verify report``'s plain verdict (issue 17 point 5), on real reports the aggregator sealed
and signed: the first line says VALID with the report's own figures, or INVALID with what that
means for the buyer and what to ask the seller."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from eco_protocol.errors import NoteError, ProofError
from eco_protocol.note import CosignatureSigner, NoteSigner
from eco_protocol.report import ReportProblem
from eco_protocol.verdict import FAILURES, classify, mass, valid_verdict
from eco_protocol.verify_cli import main
from tests.protocol.evidence_kit import ORIGIN, PROG
from tests.protocol.evidence_kit import signed as signed  # noqa: F401 (a fixture)


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    rc = main(args)
    out, err = capsys.readouterr()
    return rc, out, err


def test_valid_verdict_comes_first_with_the_reports_own_figures(
        signed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report = signed["report"]
    rc, out, _ = _run(["report", str(signed["dir"] / "report.json"), "--log-key",
                       signed["vkey"], "--json"], capsys)
    assert rc == 0
    lines = out.splitlines()
    verdict = lines[0]
    totals = report["totals"]
    assert totals["reduction_g"] > 0
    assert verdict.startswith(f"VALID — {mass(totals['reduction_g'])} reduced by 3 households")
    assert f"{totals['reduction_g'] / 1000:.1f} kg-CO2" in verdict
    assert len(report["households"]) == 3
    assert f"batch {report['batch_id']}" in verdict
    # 2026-11-22 JST is 2026-11-21T15:00Z .. 2026-11-22T15:00Z in the report
    assert report["period"] == {"start": "2026-11-21T15:00:00Z", "end": "2026-11-22T15:00:00Z"}
    assert "period 2026-11-22 00:00 → 2026-11-23 00:00 JST" in verdict
    assert f"programme {PROG}" in verdict and "methodology pv " in verdict
    key_id = signed["vkey"].split("+")[1]
    assert f"signed by {ORIGIN} (key id {key_id})" in verdict
    assert "not witnessed" in verdict
    # the individual checks follow the verdict, as before
    assert lines[1].startswith("ok   checkpoint signed by the log key")
    assert json.loads(lines[-1])["verdict"] == verdict


def test_a_zero_credit_batch_names_the_carry_over_on_the_verdict_line(
        signed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    totals = signed["report"]["totals"]
    assert totals["credits_t"] == 0 and totals["carry_over_g"] == totals["reduction_g"] > 0
    rc, out, _ = _run(["report", str(signed["dir"] / "report.json"), "--log-key",
                       signed["vkey"]], capsys)
    verdict = out.splitlines()[0]
    assert rc == 0 and verdict.startswith("VALID")
    assert (f"; 0 whole J-Credits (0 t-CO2), {mass(totals['carry_over_g'])} carried to the next "
            "batch") in verdict
    # example_programme is a demonstration: the verdict says so on the same line
    assert signed["report"]["demonstration"] is True
    assert verdict.endswith("; DEMONSTRATION programme: illustrative factors, not for "
                            "certification — do not buy these as J-Credits")


def test_a_tampered_report_says_what_it_means_and_what_to_ask(
        signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = json.loads((signed["dir"] / "report.json").read_text())
    bad["households"][0]["months"][0]["reduction_g"] += 1_000_000
    bad["households"][0]["reduction_g"] += 1_000_000
    bad["totals"]["reduction_g"] += 1_000_000
    bad["totals"]["credits_t"] += 1
    (tmp_path / "report.json").write_text(json.dumps(bad))
    rc, out, err = _run(["report", str(tmp_path / "report.json"), "--log-key", signed["vkey"]],
                        capsys)
    assert rc == 1 and out == ""
    verdict, detail = err.splitlines()[:2]
    assert verdict.startswith("INVALID — this report was changed after the municipality signed "
                              "it, or it was not signed by the log key you gave.")
    assert "Do not rely on its figures; ask the seller for the original report.json" in verdict
    assert detail.startswith("FAIL sig:")


def test_a_witness_key_given_as_the_log_key_is_named_as_such(
        signed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    witness = CosignatureSigner("witness.example", Ed25519PrivateKey.generate()).verifier
    rc, _, err = _run(["report", str(signed["dir"] / "report.json"), "--log-key",
                       witness.vkey], capsys)
    assert rc == 1
    assert "unknown algorithm" not in err
    assert (f"is a witness key (witness.example, key id {witness.key_id:08x}, cosignature/v1), "
            "not the log's key: pass it with --witness") in err.splitlines()[0]


def test_another_logs_key_and_missing_witnesses_get_their_own_advice(
        signed: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    report = str(signed["dir"] / "report.json")
    other = NoteSigner(ORIGIN, Ed25519PrivateKey.generate()).verifier.vkey
    rc, _, err = _run(["report", report, "--log-key", other], capsys)
    assert rc == 1
    assert err.startswith("INVALID — this report was signed by a different log than the key "
                          "you pinned")
    rc, _, err = _run(["report", report, "--log-key", signed["vkey"], "--min-witnesses", "1"],
                      capsys)
    assert rc == 1
    assert err.startswith("INVALID — the log's checkpoint does not carry enough signatures "
                          "from the witnesses you named")


def test_an_edited_table_beside_the_report_is_not_blamed_on_the_report(
        signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "report.json").write_text((signed["dir"] / "report.json").read_text())
    csv = (signed["dir"] / "results.csv").read_text()
    (tmp_path / "results.csv").write_text(csv.replace("\n", "\n9", 1))
    rc, _, err = _run(["report", str(tmp_path / "report.json"), "--log-key", signed["vkey"]],
                      capsys)
    assert rc == 1
    assert err.startswith("INVALID — a table beside the report was edited")
    assert "FAIL " in err and "results.csv" in err


def test_the_table_routes_by_failed_check_and_cause() -> None:
    def problem(msg: str, cause: Exception | None = None) -> ReportProblem:
        e = ReportProblem(msg)
        e.__cause__ = cause
        return e

    assert classify(problem("sample[3] (entry 12): inclusion proof fails: x",
                            ProofError("x"))).kind == "proof"
    assert classify(problem("sample: 3 readings covering 1 of 3 households")).kind == "sample"
    assert classify(problem("checkpoint: note has no signature by a known key",
                            NoteError("n"))).kind == "checkpoint"
    assert classify(problem("period overlaps previous batch b1 (…)")).kind == "double_counting"
    assert classify(problem("households[0].months[1] (2026-11): reduction_g 1 ≠ 2 recomputed"
                            )).kind == "arithmetic"
    assert classify(problem("something new")).kind == "other"
    assert len({r.kind for r in FAILURES}) == len(FAILURES)
    # every row speaks both languages
    assert all(r.meaning and r.ask and "無効" in r.text("ja") for r in FAILURES)


def test_valid_verdict_names_witnesses_and_a_deficit(signed: dict[str, Any]) -> None:
    report = json.loads(json.dumps(signed["report"]))
    report["totals"] = {"reduction_g": -2_500_000, "carry_in_g": 0, "credits_t": 0,
                        "carry_over_g": -2_500_000}
    line = valid_verdict(report, 3, ["w1.example", "w2.example"], demonstration=True)
    assert "witnessed by 2 witnesses (w1.example, w2.example)" in line
    assert "-2.500 t-CO2 reduced" in line
    assert "a deficit of 2.500 t-CO2 carried to the next batch" in line
    assert line.endswith("not for certification — do not buy these as J-Credits")


def test_japanese_verdicts_come_from_the_same_figures_and_table(
        signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    totals = signed["report"]["totals"]
    rc, out, _ = _run(["report", str(signed["dir"] / "report.json"), "--log-key",
                       signed["vkey"], "--lang", "ja"], capsys)
    verdict = out.splitlines()[0]
    assert rc == 0
    assert verdict.startswith(f"有効（VALID）— 3 世帯による {mass(totals['reduction_g'])} の削減")
    assert (f"J-クレジット 0 件（0 t-CO2）、{mass(totals['carry_over_g'])} を次のバッチへ繰越"
            in verdict)
    bad = json.loads((signed["dir"] / "report.json").read_text())
    bad["programme"] = "another-prog"
    (tmp_path / "report.json").write_text(json.dumps(bad))
    rc, _, err = _run(["report", str(tmp_path / "report.json"), "--log-key", signed["vkey"],
                       "--lang", "ja"], capsys)
    assert rc == 1
    assert err.startswith("無効（INVALID）— この報告書は自治体の署名後に改変されたか")
    assert "\n不合格（検証器の所見）: sig: 報告書: Ed25519 署名を検証できません" in err
