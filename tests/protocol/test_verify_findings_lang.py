"""The report verifier's rarer findings in the buyer's language (issue 17 point 1): a report
whose structure is wrong — a list that is not one, a proof item of the wrong shape, an entry of
the wrong kind, a household row or count that cannot be read, a field a wire record refuses —
run through ``eco-verify report`` under ``LANG=ja_JP.UTF-8`` prints its finding after 不合格 in
Japanese with no English sentence left in it; under ``LANG=C`` the finding is the English it
always was. Each tampered report is re-signed with the log key, so the verifier gets past the
signature to the structural check the case is about (an unsigned change stops at ``sig``, which
tests/protocol/test_verify_cli_lang.py covers)."""

from __future__ import annotations

import copy
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.signing import sign_record
from eco_protocol.verify_cli import main
from tests.protocol.credential_kit import NOW, Town
from tests.protocol.evidence_kit import signed
from tests.protocol.records_kit import make_log, make_log_signer, write_evidence_dir
from tests.support.lang_kit import assert_english, assert_japanese

__all__ = ["signed"]

# three English words in a row: a sentence left untranslated (identifiers, keys, file names and
# record types are single tokens)
_ENGLISH_SENTENCE = re.compile(r"\b[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}\b")


def _set(path: str, value: Callable[[dict[str, Any]], Any]) -> Callable[[dict[str, Any]], None]:
    """A tamper: the report's member at dotted ``path`` (list indices as numbers) set to
    ``value(report)``."""
    def tamper(report: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = report
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        new = value(report)
        if isinstance(node, list):
            node[int(last)] = new
        else:
            node[last] = new
    return tamper


def _not_a_demonstration(report: dict[str, Any]) -> None:
    """The demonstration programme's report passed off as a real one: its illustrative,
    undated factors are then unfit for certification."""
    report["methodology"]["rules"]["demonstration"] = False
    del report["demonstration"]


# (case, tamper, the English finding's words, the Japanese finding's words)
_CASES = [
    ("not_list", _set("previous_seals", lambda r: "x"),
     "previous_seals must be a list", "previous_seals は配列でなければなりません"),
    ("proved_shape", _set("enrolments.0", lambda r: {"index": 0}),
     "enrolments[0]: expected {index, entry_b64, proof_b64}",
     "enrolments[0]: {index, entry_b64, proof_b64} の形でなければなりません"),
    ("index_range", _set("enrolments.0.index", lambda r: 10 ** 9),
     "enrolments[0].index 1000000000 is not below the checkpoint size",
     "enrolments[0].index 1000000000 がチェックポイントのサイズ"),
    ("not_enrolment", _set("enrolments.0", lambda r: r["seal"]),
     "is not an enrolment", "は機器の登録ではありません"),
    ("prev_after", _set("previous_seals", lambda r: [r["seal"]]),
     "is not before the seal", "がこのバッチの封印より前にありません"),
    ("not_seal", _set("seal", lambda r: r["enrolments"][0]),
     "is not an eco.batch/v1 record", "は eco.batch/v1 の記録ではありません"),
    ("demonstration", _set("demonstration", lambda r: False),
     "a demonstration programme's report must say", "デモプログラムの報告書には"),
    ("hh_object", _set("households.0", lambda r: 5),
     "households[0] must be an object", "households[0] はオブジェクトでなければなりません"),
    ("hh_device", _set("households.0.devices", lambda r: ["ghost"]),
     "households[0].devices: ghost has no enrolment for household",
     "households[0].devices: 機器 ghost に"),
    ("counts_int", _set("households.0.readings.covered", lambda r: -1),
     "households[0].readings: counts must be non-negative integers",
     "households[0].readings: 件数は 0 以上の整数でなければなりません"),
    ("not_reading", _set("sample.0", lambda r: r["seal"]),
     "sample[0] (entry", "は読み取り値ではありません"),
    ("field.time", _set("period.start", lambda r: "yesterday"),
     "expected RFC 3339 UTC time like 2026-11-22T09:30:00Z, got 'yesterday'",
     "RFC 3339 の UTC 時刻でなければなりません（'yesterday' です）"),
    ("field.unknown", _set("period.note", lambda r: 1),
     "unknown field(s) note", "不明な項目 note があります"),
    ("field.not_int", _set("totals.credits_t", lambda r: "many"),
     "expected an integer, got 'many'", "整数でなければなりません（'many' です）"),
    ("seal.unfit", _not_a_demonstration,
     "is marked illustrative; replace it with the published value",
     "年度（2026 年 4 月 – 2027 年 3 月）: 電力の排出係数"),
    ("record.period", _set("period.end", lambda r: r["period"]["start"]),
     "is not after start", "より後ではありません"),
]


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        rc = main(list(argv))
    except SystemExit as e:  # an unreadable file: the command's one line, as a shell shows it
        rc = 1
        print(e.code, file=sys.stderr)
    out, err = capsys.readouterr()
    return rc, out, err


def _says(locale: str, err: str, english: str, japanese: str, anywhere: bool = False) -> None:
    """stderr is in the locale's language, and the finding (the last line: the checker's own
    words, after 不合格/FAIL; or ``anywhere`` in stderr) says ``japanese`` or ``english``; a
    Japanese finding holds no English sentence."""
    finding = err.strip().splitlines()[-1]
    said = err if anywhere else finding
    if locale.startswith("ja"):
        assert_japanese(err)
        assert japanese in said, said
        assert not _ENGLISH_SENTENCE.search(finding), finding
    else:
        assert_english(err)
        assert english in said, said


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
@pytest.mark.parametrize(("case", "tamper", "english", "japanese"), _CASES,
                         ids=[c[0] for c in _CASES])
def test_a_structural_finding_reads_in_the_locales_language(
        signed: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str, case: str,
        tamper: Callable[[dict[str, Any]], None], english: str, japanese: str) -> None:
    monkeypatch.setenv("LANG", locale)
    report: dict[str, Any] = copy.deepcopy(
        json.loads((signed["dir"] / "report.json").read_text("utf-8")))
    tamper(report)
    path = tmp_path / f"{case}.json"
    path.write_text(json.dumps(sign_record(report, signed["key"])), "utf-8")
    rc, out, err = _run(capsys, "report", str(path), "--log-key", signed["vkey"])
    assert rc == 1 and out == "", err
    _says(locale, err, english, japanese)


def _evidence_with(tmp_path: Path, change: Callable[[list[bytes]], None]) -> tuple[str, str]:
    """A valid evidence directory (checkpoint over every entry, so only the replay can object)
    whose log ``change`` edited: (its path, the log key)."""
    signer = make_log_signer()
    entries = make_log(signer, devices=2, readings_per_device=2)
    assert json.loads(entries[0])["type"].startswith("eco.enrol")  # what _enrolled_twice copies
    change(entries)
    ev = write_evidence_dir(tmp_path / "evidence", entries, signer, ())
    return str(ev.path), ev.log_vkey


def _enrolled_twice(entries: list[bytes]) -> None:
    entries.append(entries[0])


def _not_canonical(entries: list[bytes]) -> None:
    entries.append(json.dumps(json.loads(entries[-1]), indent=1).encode())


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
@pytest.mark.parametrize(("change", "english", "japanese"), [
    (_enrolled_twice, "is enrolled twice", "が二度登録されています"),
    (_not_canonical, "entry bytes are not the RFC 8785 canonical form",
     "エントリのバイト列が記録の正規形（RFC 8785）ではありません"),
], ids=["enrolled_twice", "not_canonical"])
def test_a_replay_finding_reads_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str, change: Callable[[list[bytes]], None], english: str,
        japanese: str) -> None:
    monkeypatch.setenv("LANG", locale)
    path, vkey = _evidence_with(tmp_path, change)
    rc, out, err = _run(capsys, "evidence", path, "--log-key", vkey)
    assert rc == 1, out
    _says(locale, err, english, japanese)


_TOWN = Town()  # a town's signed credentials (tests/protocol/credential_kit.py)


def _credential_without(member: str, value: Any = None) -> dict[str, Any]:
    """The town's points credential with ``member`` removed, or set to ``value``."""
    cred = _TOWN.points()
    if value is None:
        del cred[member]
    else:
        cred[member] = value
    return cred


@pytest.mark.parametrize("locale", ["ja_JP.UTF-8", "C"])
@pytest.mark.parametrize(("member", "value", "english", "japanese"), [
    ("proof", None, "proof: missing — the document is not signed", "文書が署名されていません"),
    ("type", "VerifiableCredential", "type: must be a list containing VerifiableCredential",
     "VerifiableCredential を含む配列でなければなりません"),
    ("@context", ["https://example.org/ctx"], "@context: must be a list starting with",
     "で始まる配列でなければなりません"),
], ids=["no_proof", "type", "context"])
def test_a_credential_finding_reads_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str, member: str, value: Any, english: str, japanese: str) -> None:
    monkeypatch.setenv("LANG", locale)
    cred, did = tmp_path / "cred.json", tmp_path / "did.json"
    cred.write_text(json.dumps(_credential_without(member, value)), "utf-8")
    did.write_text(json.dumps(_TOWN.document()), "utf-8")
    rc, out, err = _run(capsys, "credential", str(cred), "--at", NOW, "--did-document", str(did))
    assert rc == 1 and out == "", out
    _says(locale, err, english, japanese, anywhere=True)
