"""``eco-verify credential``: the verdict first, then the checks; a tampered, revoked or
uncheckable credential refused with what it means and what to ask the issuer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.errors import CredentialError
from eco_protocol.verify_cli import main
from eco_protocol.verify_credential_cli import explain
from tests.protocol.credential_kit import NOW, Town

TOWN = Town()


def _write(tmp: Path, name: str, value: Any) -> str:
    path = tmp / name
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), "utf-8")
    return str(path)


def _run(tmp: Path, cred: dict[str, Any], *extra: str, status: dict[str, Any] | None = None,
         document: bool = True) -> list[str]:
    argv = ["credential", _write(tmp, "cred.json", cred), "--at", NOW]
    if document:
        argv += ["--did-document", _write(tmp, "did.json", TOWN.document())]
    if status is not None:
        argv += ["--status-list", _write(tmp, "status.json", status)]
    return [str(main([*argv, *extra]))]


def test_a_points_statement_is_valid_and_says_so_first(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, TOWN.points()) == ["0"]
    out = capsys.readouterr().out.splitlines()
    assert out[0] == ("VALID — points statement about hh-10a2915c36ceeb3d1f15, issued by "
                      f"{TOWN.did}: checked offline, not changed since it was signed")
    assert out[1].startswith("ok   eddsa-jcs-2022 proof by did:web:")
    assert "     household hh-10a2915c36ceeb3d1f15: 1250 eco-points as of " \
           "2026-12-01T00:00:00Z" in out


def test_each_kind_checks_with_json_summary(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    for cred, kind in ((TOWN.summary(), "batch summary"), (TOWN.status_list(), "status list")):
        assert _run(tmp_path, cred, "--json") == ["0"]
        last = json.loads(capsys.readouterr().out.splitlines()[-1])
        assert (last["ok"], last["kind"], last["revoked"]) == (True, kind, False)
    assert _run(tmp_path, TOWN.enrolment(), status=TOWN.status_list((1,))) == ["0"]
    assert "ok   not revoked: entry 7" in capsys.readouterr().out


def test_a_revoked_enrolment_is_refused(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, TOWN.enrolment(), status=TOWN.status_list((7,))) == ["1"]
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("REVOKED — this enrolment about hh-0001 was revoked by its issuer")
    assert "ask the issuer whether a new one was issued" in out[0]


def test_a_tampered_statement_is_refused_with_what_it_means(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cred = TOWN.points()
    cred["credentialSubject"]["balance"] = 999999
    assert _run(tmp_path, cred) == ["1"]
    err = capsys.readouterr().err.splitlines()
    assert err[0] == ("INVALID — the credential was changed after its issuer signed it, or was "
                      "not signed by its issuer: do not accept it; ask the holder for the copy "
                      "the issuer gave, or the issuer for a new one")
    assert err[1].startswith("FAIL ") and "does not verify" in err[1]


def test_missing_document_or_status_list_says_what_to_fetch(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, TOWN.points(), document=False) == ["1"]
    err = capsys.readouterr().err
    assert "--did-document" in err and \
        "https://eco-ledger.example-city.lg.jp/.well-known/did.json" in err
    assert _run(tmp_path, TOWN.enrolment()) == ["1"]
    assert "pass it with --status-list" in capsys.readouterr().err


def test_an_unreadable_file_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="cannot read credential"):
        main(["credential", str(tmp_path / "missing.json")])
    with pytest.raises(SystemExit, match="--at: expected a date-time with a zone"):
        main(["credential", _write(tmp_path, "c.json", TOWN.points()), "--at", "2026-12-01"])
    (tmp_path / "bad.json").write_text("{", "utf-8")
    with pytest.raises(SystemExit, match="is not JSON"):
        main(["credential", str(tmp_path / "bad.json")])


@pytest.mark.parametrize("message, meaning", [
    ("status list https://x: proof.proofValue: … changed after signing", "status list given"),
    ("credential validUntil 2026-01-01T00:00:00Z: expired at …", "validity period"),
    ("credential.name: a name field — pseudonyms only", "person's name"),
    ("something else entirely", "not a credential this checker understands"),
])
def test_explain_names_the_status_list_before_the_words_it_contains(message: str,
                                                                      meaning: str) -> None:
    assert meaning in explain(CredentialError(message))[0]
