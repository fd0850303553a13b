"""``eco-verify credential`` on a certificate bundle credential in the buyer's language (issue 17
point 1, issue 20): under ``LANG=ja_JP.UTF-8`` the verdict, the checks and what the credential
says — the bundle, its production hour in JST, its holder and the buyer's cancellation — are
Japanese with no English catalog text; under ``LANG=C`` the same run is English. A copy with a
raised face value is refused in either language."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from eco_protocol.verify_cli import main
from tests.protocol.certificate_credential_kit import BUYER, ISSUANCE, certificate
from tests.protocol.credential_kit import NOW, Town
from tests.support.lang_kit import (
    LOCALES,
    language_check,
)

TOWN = Town()


def _run(capsys: pytest.CaptureFixture[str], tmp: Path,
         cred: dict[str, Any]) -> tuple[int, str, str]:
    (tmp / "cred.json").write_text(json.dumps(cred, ensure_ascii=False), "utf-8")
    (tmp / "did.json").write_text(json.dumps(TOWN.document()), "utf-8")
    try:
        rc = main(["credential", str(tmp / "cred.json"), "--did-document",
                   str(tmp / "did.json"), "--at", NOW])
    except SystemExit as e:
        rc = 2
        print(e.code, file=sys.stderr)
    out, err = capsys.readouterr()
    return rc, out, err


@pytest.mark.parametrize("locale", LOCALES)
def test_a_certificate_credential_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    check = language_check(locale)
    for cred in (certificate(TOWN), certificate(TOWN, cancelled=False)):
        rc, out, err = _run(capsys, tmp_path, cred)
        assert rc == 0, err
        check(out)
    rc, out, _ = _run(capsys, tmp_path, certificate(TOWN))
    assert out.startswith(f"有効（VALID）— {ISSUANCE} についての証書バンドル" if ja else
                          f"VALID — certificate bundle about {ISSUANCE}")
    assert ("2026-11-22 12:00 JST から 2026-11-22 13:00 JST に発電" if ja else
            "from 2026-11-22 12:00 JST to 2026-11-22 13:00 JST") in out
    assert (f"{BUYER} が消費期間 2026-11-01 09:00 JST – 2026-12-01 09:00 JST のために 200 Wh"
            if ja else f"200 Wh (ids 1001..1200) cancelled by {BUYER} for consumption "
                       "2026-11-01 09:00 JST – 2026-12-01 09:00 JST, beneficiary "
                       "Example Steel Co.") in out
    assert ("状態：一部償却済み" if ja else "status: partly cancelled") in out

    raised = certificate(TOWN)
    raised["credentialSubject"]["certificate"]["bundle_quantity"] = 4800
    rc, out, err = _run(capsys, tmp_path, raised)
    assert rc == 1 and out == ""
    check(err)
    assert err.startswith("無効（INVALID）" if ja else "INVALID — ")


def test_certificates_is_refused_for_another_kind(tmp_path: Path) -> None:
    """``--certificates`` ties only a certificate bundle credential to an export."""
    (tmp_path / "cred.json").write_text(json.dumps(TOWN.points()), "utf-8")
    (tmp_path / "did.json").write_text(json.dumps(TOWN.document()), "utf-8")
    with pytest.raises(SystemExit) as exc:
        main(["credential", str(tmp_path / "cred.json"), "--did-document",
              str(tmp_path / "did.json"), "--at", NOW, "--certificates", str(tmp_path),
              "--lang", "en"])
    assert str(exc.value.code).endswith("cred.json is a points statement")
