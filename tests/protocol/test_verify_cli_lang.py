"""``eco-verify`` in the buyer's language (issue 17 point 1): under ``LANG=ja_JP.UTF-8`` every
line it prints for a valid report, a tampered one, an evidence directory, a tampered entry and
an unreadable file is Japanese, with no English catalog text and no bare message code; under
``LANG=C`` the same runs are English. The language comes from the environment as a shell gives
it, ``--lang`` overrides it.

:func:`assert_japanese` and :func:`assert_english` are the checks the eco-agent and
eco-aggregator language tests use too."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.verify_cli import main
from tests.protocol.evidence_kit import rewrite_entry, signed
from tests.protocol.records_kit import EvidenceDir, make_evidence_dir
from tests.support.lang_kit import (
    assert_english,
    assert_japanese,
    language_check,
)

__all__ = ["assert_english", "assert_japanese", "signed"]

# three English words in a row: a sentence left untranslated (identifiers, keys and file names
# are single tokens)
_ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")













@pytest.fixture
def evidence(tmp_path: Path) -> EvidenceDir:
    return make_evidence_dir(tmp_path / "evidence", devices=2, readings_per_device=3)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:  # an unreadable file: the command's one line, as a shell shows it
        rc = 1
        print(e.code, file=__import__("sys").stderr)
    out, err = capsys.readouterr()
    return rc, out, err


def _tampered(report_dir: Path, tmp_path: Path) -> Path:
    bad: dict[str, Any] = json.loads((report_dir / "report.json").read_text("utf-8"))
    bad["totals"]["reduction_g"] += 1000
    out = tmp_path / "tampered.json"
    out.write_text(json.dumps(bad), "utf-8")
    return out


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
def test_report_valid_and_tampered_in_the_locales_language(
        signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    check = language_check(locale)
    report = str(signed["dir"] / "report.json")
    rc, out, err = _run(capsys, "report", report, "--log-key", signed["vkey"], "--json")
    assert rc == 0, err
    check(out)
    assert out.splitlines()[0].startswith("有効（VALID）" if locale.startswith("ja") else "VALID")
    assert json.loads(out.splitlines()[-1])["ok"] is True  # the JSON line is for scripts
    rc, out, err = _run(capsys, "report", str(_tampered(signed["dir"], tmp_path)),
                        "--log-key", signed["vkey"])
    assert rc == 1 and out == ""
    check(err)
    assert err.startswith("無効（INVALID）" if locale.startswith("ja") else "INVALID")
    finding = err.strip().splitlines()[-1]  # the checker's own words, after 不合格/FAIL
    assert finding.endswith("sig: 報告書: Ed25519 署名を検証できません（改変されたか、別の鍵で"
                            "署名されています）" if locale.startswith("ja") else
                            "sig: report: Ed25519 signature does not verify"), finding
    if locale.startswith("ja"):
        assert not _ENGLISH_SENTENCE.search(finding), finding
    rc, out, err = _run(capsys, "report", str(tmp_path / "missing.json"),
                        "--log-key", signed["vkey"])
    assert rc == 1
    check(err)
    assert str(tmp_path / "missing.json") in err


def test_lang_flag_overrides_the_locale(signed: dict[str, Any],
                                        capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    report = str(signed["dir"] / "report.json")
    rc, out, _ = _run(capsys, "report", report, "--log-key", signed["vkey"], "--lang", "en")
    assert rc == 0
    assert_english(out)
    monkeypatch.setenv("LANG", "C")
    monkeypatch.setenv("ECO_LANG", "ja")
    rc, out, _ = _run(capsys, "report", report, "--log-key", signed["vkey"])
    assert rc == 0
    assert_japanese(out)


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
def test_evidence_valid_and_tampered_in_the_locales_language(
        evidence: EvidenceDir, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    check = language_check(locale)
    rc, out, err = _run(capsys, "evidence", str(evidence.path), "--log-key", evidence.log_vkey)
    assert rc == 0, err
    check(out)
    entries = evidence.entries_path.read_text("utf-8").splitlines()
    obj = parse_json(__import__("base64").b64decode(json.loads(entries[3])["entry_b64"]))
    assert isinstance(obj, dict)
    obj["energy_wh"] = int(obj["energy_wh"]) + 1
    rewrite_entry(evidence, 3, canonical_bytes(obj))
    rc, out, err = _run(capsys, "evidence", str(evidence.path), "--log-key", evidence.log_vkey)
    assert rc == 1
    check(err)
    ja = locale.startswith("ja")
    finding = err.strip().splitlines()[-1]
    assert ("エントリ 3: 機器 " if ja else "entry 3: reading ") in finding
    assert ("Ed25519 署名を検証できません" if ja else "Ed25519 signature does not verify") \
        in finding
    if ja:  # the checker's finding after 不合格 is Japanese too, not an English sentence
        assert not _ENGLISH_SENTENCE.search(finding), finding
