"""eco-aggregator's credentials, did:web, certificates, ledger store, HTTP fetches and flood
cut-off in the operator's language (issue 17 point 1): on a real initialised state, under
``LANG=ja_JP.UTF-8`` each refusal is Japanese (no English catalog text, no bare code) and under
``LANG=C`` English; the normal output (the credential, the DID document) stays JSON for scripts.
The library errors keep an English ``str()`` for the logs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.errors import EnvironmentProblem
from aggregator.flood_cutoff import read_suspended, suspended_path
from aggregator.witness import LogClient
from eco_protocol.messages import render
from tests.support.lang_kit import LOCALES, Cli, language_check, refused

DEVICE = "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize("locale", LOCALES)
def test_credentials_and_did_web_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    err = refused(cli, locale, cli.run("credential", "enrolment", DEVICE))
    assert DEVICE in err and ("登録されていません" if ja else "is not enrolled") in err
    err = refused(cli, locale, cli.run("credential", "points", "hh-00000000000000000000"))
    assert "hh-00000000000000000000" in err
    rc, out, err = cli.run("credential", "did-document")
    if rc == 0:  # the log has signed a checkpoint: the document, as JSON
        assert json.loads(out)["id"].startswith("did:web:")
    else:
        line = refused(cli, locale, (rc, out, err))
        assert ("チェックポイント" if ja else "checkpoint") in line
    rc, out, err = cli.run("credential", "status-list")
    assert rc == 0, err
    assert "BitstringStatusListCredential" in json.loads(out)["type"]


@pytest.mark.parametrize("locale", LOCALES)
def test_certificates_and_a_damaged_store_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    err = refused(cli, locale, cli.run("certificates", "assign", "--ref", "x", "--ids", "7-9",
                                        "--to", "did:key:z6Mk"))
    assert "--ids '7-9'" in err
    err = refused(cli, locale, cli.run("certificates", "transfer",
                                        str(tmp_path / "missing.json")))
    assert str(tmp_path / "missing.json") in err
    err = refused(cli, locale, cli.run("certificates", "export", "--out",
                                        str(tmp_path / "export")))
    assert ("証書がありません" if locale.startswith("ja") else "no issued certificate") in err \
        or ("チェックポイント" if locale.startswith("ja") else "checkpoint") in err
    db = cli.state / "ledger.sqlite3"
    for wal in cli.state.glob("ledger.sqlite3-*"):
        wal.unlink()
    db.write_bytes(b"this is not a database" * 200)
    err = refused(cli, locale, cli.run("status"))
    assert str(db) in err


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_unreachable_log_and_damaged_cutoff_file_render_in_both(tmp_path: Path,
                                                                lang: str) -> None:
    check = language_check(lang)
    with pytest.raises(EnvironmentProblem) as exc:
        LogClient("http://127.0.0.1:9", 2).checkpoint()
    assert str(exc.value).startswith("GET http://127.0.0.1:9/checkpoint: ")
    check(render(exc.value, lang))
    passwd = tmp_path / "broker.passwd"
    suspended_path(passwd).write_text("[1, 2]", "utf-8")
    with pytest.raises(EnvironmentProblem) as exc:
        read_suspended(passwd)
    assert str(exc.value).endswith("is not a JSON object: the file is damaged")
    check(render(exc.value, lang))
