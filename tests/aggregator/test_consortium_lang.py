"""The consortium's commands in the operator's language (issue 17 point 1), on two real towns
behind their read APIs: ``enrol --equipment`` refused because the inverter is enrolled in the
other town (member, device, date in JST), the look-up refused without a mirror, ``mirror
--once`` normally (its JSON) and with a fork recorded (exit 3) or a damaged fork alarm, the
consortium file unreadable, and ``[consortium]`` half given — Japanese under
``LANG=ja_JP.UTF-8`` (no English catalog text, no bare code), English under ``LANG=C``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from aggregator.mirror_store import ForkAlarm, MemberMirror
from aggregator.witness import Misbehaviour
from tests.aggregator.consortium_kit import INVERTER, Town, enrol_equipment, mirror
from tests.aggregator.consortium_kit import towns as towns  # noqa: F401 (a fixture)
from tests.support.lang_kit import (
    LOCALES,
    check_language,
    language_check,
)

__all__ = ["towns"]  # the fixture, used by name below


def _said(err: str) -> str:
    """The command's own lines; the log records before them (eco.audit's JSON, the mirror's
    warnings) are for the operator's logs and stay English."""
    lines = [ln for ln in err.splitlines() if ln.startswith("eco-aggregator: ")]
    assert lines, err
    return "\n".join(lines)


@pytest.mark.parametrize("locale", LOCALES)
def test_equipment_enrolled_elsewhere_in_the_locales_language(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    check = language_check(locale)
    a, b, consortium = towns
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 1  # no mirror of town-b yet
    err = _said(capsys.readouterr().err)
    check(err)
    assert ("town-b のログのミラーがありません" if ja else "no mirror of town-b's log") in err
    mirror(a, consortium)
    assert enrol_equipment(a, "Sato, 1-2-3", INVERTER) == 0
    held = json.loads(capsys.readouterr().out)
    mirror(b, consortium)
    assert enrol_equipment(b, "Sato, 9-9-9", INVERTER) == 1
    err = _said(capsys.readouterr().err)
    check(err)
    assert held["device_id"] in err and "2026-05-01 00:00 JST" in err
    assert ("入力されたパワーコンディショナは、すでに town-a で登録されています" if ja
            else "the inverter entered is already enrolled at town-a") in err


@pytest.mark.parametrize("locale", LOCALES)
def test_mirror_and_its_fork_alarm_in_the_locales_language(
        towns: tuple[Town, Town, Path], capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch, locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    check = language_check(locale)
    a, b, consortium = towns
    once = ["mirror", "--consortium", str(consortium), "--state", str(a.mirrors), "--member",
            "town-a", "--once"]
    assert a.cli(*once) == 0  # normal output: the round's JSON, for scripts
    assert json.loads(capsys.readouterr().out)["forks"] == []
    m = MemberMirror(a.mirrors, "town-b")
    m.alarm_path.write_text("{not json", "utf-8")
    assert a.cli(*once) == 1
    err = _said(capsys.readouterr().err)
    check(err)
    assert "FORK.json" in err and ("決して削除しないでください" if ja else "never delete it") in err
    m.alarm_path.unlink()
    note = (b.state / "checkpoint.latest")
    cp = note.read_text("utf-8") if note.exists() else "eco-ledger.town-b.test\n0\n"
    reason = "the log signed two checkpoints of size 1 with different root hashes"
    m.raise_alarm(ForkAlarm("town-b", b.origin, Misbehaviour(reason, cp, cp, 0)))
    assert a.cli(*once) == 3
    err = _said(capsys.readouterr().err)
    assert reason in err  # the evidence's reason, quoted as FORK.json records it (English)
    check(err.replace(reason, ""))
    assert ("ログの不正（フォーク）を検出" if ja else "LOG MISBEHAVIOUR") in err
    assert ("コンソーシアムが対処するまで" if ja else "until the consortium has dealt with it") \
        in err
    assert a.cli("mirror", "--consortium", str(consortium) + ".missing", "--state",
                 str(a.mirrors), "--once") == 2  # a configuration error
    check(_said(capsys.readouterr().err))


@pytest.mark.parametrize("locale", LOCALES)
def test_half_a_consortium_section_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    ja = locale.startswith("ja")
    town = Town(tmp_path, "town-a")
    try:
        with town.conf.open("a", encoding="utf-8") as f:
            f.write('\n[consortium]\nclaim_secret_file = "claim.key"\nmember = "town-a"\n')
        assert town.cli("status") != 0
        err = _said(capsys.readouterr().err)
        check_language(locale, err)
        assert ("三つそろえて" if ja else "file, member and mirrors go together") in err
    finally:
        town.close()
