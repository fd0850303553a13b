"""``eco-aggregator`` in the operator's language (issue 17 point 1): under ``LANG=ja_JP.UTF-8``
the refusals of enrol (public key, meter, the methodology's terms, a future participation date,
a device enrolled twice), revoke (a device not enrolled, not a device id), batch (a bad period,
an overlapping one, with its times in JST) and a missing configuration file are Japanese with no
English catalog text; under ``LANG=C`` the same runs are English. A real ledger on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.cli import main
from tests.aggregator.ledger_kit import PV_TERMS, Device
from tests.support.lang_kit import (
    LOCALES,
    Cli,
    assert_english,
    assert_japanese,
    check_language,
    refused,
)


@pytest.mark.parametrize("locale", LOCALES)
def test_enrol_and_revoke_refusals_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    d = Device()
    err = refused(cli, locale, cli.enrol(d, *PV_TERMS, key="not base64!"))
    assert "--public-key" in err
    err = refused(cli, locale, cli.enrol(d, *PV_TERMS, meter="pv1:pv_generation:4500"))
    assert "--meter 'pv1:pv_generation:4500'" in err
    err = refused(cli, locale, cli.enrol(d, *PV_TERMS, meter="pv1:sunshine:x:4500"))
    assert "'sunshine'" in err
    err = refused(cli, locale, cli.enrol(d, "--installed", "2026-04-01"))
    assert "fit.status" in err and "fit.battery" in err and "--fit-status" in err
    err = refused(cli, locale, cli.enrol(d, *PV_TERMS, "--enrolled-at", "2099-01-01"))
    assert "--enrolled-at '2099-01-01'" in err and "2099-01-01 00:00 JST" in err
    assert cli.enrol(d, *PV_TERMS)[0] == 0
    err = refused(cli, locale, cli.enrol(d, *PV_TERMS))
    assert d.device_id in err
    other = Device().device_id
    err = refused(cli, locale, cli.run("revoke", other, "--reason", "stolen"))
    assert other in err
    assert cli.run("revoke", d.device_id, "--reason", "stolen")[0] == 0
    err = refused(cli, locale, cli.run("revoke", d.device_id, "--reason", "again"))
    assert d.device_id in err


@pytest.mark.parametrize("locale", LOCALES)
def test_batch_refusals_in_the_locales_language_times_in_jst(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    err = refused(cli, locale, cli.run("batch", "create", "--period", "2026-11-01"))
    assert "--period '2026-11-01'" in err
    rc, _, err = cli.run("batch", "create", "--period", "2026-11-01..2026-11-08")
    assert rc == 0, err
    err = refused(cli, locale, cli.run("batch", "create", "--period", "2026-11-05..2026-11-06"))
    # the periods as the operator typed them (JST days), never the UTC the log stores
    assert "2026-11-05 00:00 → 2026-11-06 00:00 JST" in err
    assert "2026-11-01 00:00 → 2026-11-08 00:00 JST" in err
    assert "T15:00:00Z" not in err


@pytest.mark.parametrize("locale", LOCALES)
def test_a_missing_config_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    conf = tmp_path / "nowhere" / "aggregator.toml"
    rc = main(["--config", str(conf), "status"])
    _, err = capsys.readouterr()
    assert rc == 2 and str(conf) in err and "eco-aggregator init" in err
    check_language(locale, err)


def test_lang_flag_overrides_the_locale(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C")
    conf = str(tmp_path / "aggregator.toml")
    assert main(["--config", conf, "status", "--lang", "ja"]) == 2
    assert_japanese(capsys.readouterr().err)
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert main(["--config", conf, "revoke", "x" * 32, "--reason", "r", "--lang", "en"]) == 2
    assert_english(capsys.readouterr().err)


@pytest.mark.parametrize("locale", LOCALES)
def test_an_unusable_log_key_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    key = cli.state / "log.key"
    key.chmod(0o644)
    err = refused(cli, locale, cli.run("status"))
    assert f"chmod 600 {key}" in err
    key.write_text("this is not a key\n")
    key.chmod(0o600)
    err = refused(cli, locale, cli.run("status"))
    assert str(key) in err


@pytest.mark.parametrize("locale", LOCALES)
def test_a_mistyped_config_key_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    conf = Path(cli.conf)
    conf.write_text(conf.read_text("utf-8") + "\n[witnes]\nvkeys = []\n", "utf-8")
    err = refused(cli, locale, cli.run("status"), rc=2)
    assert "[witnes]" in err and "witnesses" in err
    conf.write_text(conf.read_text("utf-8") + "\n[witnes\n", "utf-8")
    err = refused(cli, locale, cli.run("status"), rc=2)
    assert "TOML" in err and str(conf) in err


@pytest.mark.parametrize("locale", LOCALES)
def test_redeem_refusals_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    cli = Cli(tmp_path, capsys)
    monkeypatch.setenv("LANG", locale)
    err = refused(cli, locale, cli.run("redeem", "--household", "hh-0", "--reward", "nope"))
    assert "'nope'" in err
    err = refused(cli, locale, cli.run("forget", "hh-00000000000000000000"))
    assert "hh-00000000000000000000" in err


@pytest.mark.parametrize("locale", LOCALES)
def test_a_bad_store_url_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    for url in ("mysql://db/eco", "sqlite://ledger.sqlite3"):
        rc = main(["init", str(tmp_path / "agg"), "--origin", "eco-ledger.lang.test",
                   "--store", url])
        _, err = capsys.readouterr()
        assert rc == 2 and url in err
        check_language(locale, err)
