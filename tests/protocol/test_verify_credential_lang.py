"""``eco-verify credential`` in the holder's language (issue 17 point 1): under
``LANG=ja_JP.UTF-8`` the verdict, the checks, what the credential says and every refusal are
Japanese with no English catalog text and no bare code; under ``LANG=C`` the same runs are
English (and ``str()`` of the errors stays English for logs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.credentials import check_credential
from eco_protocol.errors import CredentialError
from eco_protocol.messages import render
from eco_protocol.verify_cli import main
from tests.protocol.credential_kit import NOW, Town
from tests.support.lang_kit import (
    LOCALES,
    language_check,
)

TOWN = Town()


def _write(tmp: Path, name: str, value: Any) -> str:
    path = tmp / name
    path.write_text(json.dumps(value, ensure_ascii=False), "utf-8")
    return str(path)


def _run(capsys: pytest.CaptureFixture[str], tmp: Path, cred: dict[str, Any], *,
         status: dict[str, Any] | None = None, document: bool = True) -> tuple[int, str, str]:
    argv = ["credential", _write(tmp, "cred.json", cred), "--at", NOW]
    if document:
        argv += ["--did-document", _write(tmp, "did.json", TOWN.document())]
    if status is not None:
        argv += ["--status-list", _write(tmp, "status.json", status)]
    try:
        rc = main(argv)
    except SystemExit as e:  # a file that cannot be read: the command's one line
        rc = 2
        print(e.code, file=__import__("sys").stderr)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("locale", LOCALES)
def test_valid_credentials_of_each_kind_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    for cred, status in ((TOWN.points(), None), (TOWN.summary(), None),
                         (TOWN.enrolment(), TOWN.status_list((1,))), (TOWN.status_list(), None)):
        rc, out, err = _run(capsys, tmp_path, cred, status=status)
        assert rc == 0, err
        language_check(locale)(out)
        assert out.startswith("有効（VALID）" if ja else "VALID — ")
    rc, out, _ = _run(capsys, tmp_path, TOWN.points())
    assert ("世帯 hh-10a2915c36ceeb3d1f15：2026-12-01T00:00:00Z 時点で 1250 エコポイント" if ja
            else "household hh-10a2915c36ceeb3d1f15: 1250 eco-points as of "
                 "2026-12-01T00:00:00Z") in out


@pytest.mark.parametrize("locale", LOCALES)
def test_revoked_tampered_and_uncheckable_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja, check = locale.startswith("ja"), language_check(locale)
    rc, out, _ = _run(capsys, tmp_path, TOWN.enrolment(), status=TOWN.status_list((7,)))
    assert rc == 1
    check(out)
    assert out.startswith("失効（REVOKED）" if ja else "REVOKED — ")
    tampered = TOWN.points()
    tampered["credentialSubject"]["balance"] = 999999
    named = TOWN.points()
    named["credentialSubject"]["name"] = "Sato Hanako"  # refused before its proof is checked
    for cred, kw in ((tampered, {}), (TOWN.points(), {"document": False}),
                     (TOWN.enrolment(), {}), (named, {})):
        rc, out, err = _run(capsys, tmp_path, cred, **kw)
        assert rc == 1 and out == ""
        check(err)
        assert err.startswith("無効（INVALID）" if ja else "INVALID — ")
    bad = tmp_path / "bad.json"
    bad.write_text("{", "utf-8")
    for argv in (["credential", str(tmp_path / "missing.json")], ["credential", str(bad)]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        check(str(exc.value.code))


def test_errors_stay_english_for_logs_and_render_in_japanese() -> None:
    cred = TOWN.points()
    with pytest.raises(CredentialError) as exc:
        check_credential(cred, {}, {}, NOW)
    assert str(exc.value).startswith("credential: no DID document for the issuer did:web:")
    assert render(exc.value, "ja").startswith("証明書: 発行者 did:web:")
