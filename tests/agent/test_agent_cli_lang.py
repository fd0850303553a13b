"""``eco-agent`` in the installer's language (issue 17 point 1): under ``LANG=ja_JP.UTF-8`` the
human-readable status, the probe's power sentence and the main error paths (no config, no key
on a fresh box, a lost key on an enrolled box, no serial device, a missing ca_file, a bad
provisioning snippet, init over an existing file) are Japanese with no English catalog text;
under ``LANG=C`` the same runs are English. Real ptys, the simulated inverter, real files."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.cli import main
from agent.clock import ManualClock
from aggregator.mosquitto import Mosquitto, free_port
from firmware_sim.inverter import PtyInverter
from firmware_sim.solar import JST
from tests.agent.agent_kit import make_rig, write_config
from tests.support.lang_kit import LOCALES, assert_english, assert_japanese, check_language


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def _conf(tmp_path: Path, port: str = "/dev/x") -> Path:
    return write_config(tmp_path / "agent.toml", state_dir=tmp_path / "state", port=1,
                        meters=[{"id": "pv1", "quantity": "pv_generation", "port": port}])


@pytest.mark.parametrize("locale", LOCALES)
def test_status_in_the_locales_language_times_in_jst(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("TZ", "UTC")  # the box's own zone does not matter: people read JST
    time.tzset()
    try:
        rig = make_rig(tmp_path, port=free_port())
        rig.cycle(3)
        rig.agent.shutdown()
        monkeypatch.setenv("LANG", locale)
        code, out, err = _run(capsys, "status", str(rig.config.path))
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
    assert code == 0, err
    check_language(locale, out)
    assert "2026-11-22 10:30:00 JST" in out.splitlines()[0]
    assert out.splitlines()[0].startswith("計測 pv1: 遅れています" if locale.startswith("ja")
                                          else "reading pv1: LATE")
    code, out, _ = _run(capsys, "status", "--json", str(rig.config.path))
    assert code == 0 and json.loads(out)["pending"] == 3  # machine output as it was


@pytest.mark.integration  # a simulated inverter on a real pty
@pytest.mark.parametrize("locale", LOCALES)
def test_probe_and_its_serial_errors_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    night = ManualClock(dt.datetime(2024, 5, 14, 1, 0, tzinfo=JST))
    with PtyInverter(4500, 7, night, serial="SN-LANG") as inv:
        code, out, err = _run(capsys, "probe", "--protocol", "sunspec-modbus", "--port",
                              inv.port)
    assert code == 0, err
    power = json.loads(out)["power"]  # the JSON's one sentence for a person
    check_language(locale, power)
    port = str(tmp_path / "ttyUSB9")
    code, _, err = _run(capsys, "probe", "--protocol", "sunspec-modbus", "--port", port,
                        "--timeout", "0.2")
    assert code == 1 and port in err and len(err.strip().splitlines()) == 1
    check_language(locale, err)
    code, _, err = _run(capsys, "probe", "--protocol", "tasmota")
    assert code == 2
    check_language(locale, err)
    code, _, err = _run(capsys, "probe", "--protocol", "echonet-broute", "--port", port,
                        "--broute-id", "0123", "--broute-password", "pw",
                        "--quantity", "grid_import")
    assert code == 2 and "broute_id" in err and "[[meters]]" not in err
    check_language(locale, err)


@pytest.mark.parametrize("locale", LOCALES)
def test_config_and_key_errors_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    missing = tmp_path / "nope.toml"
    code, _, err = _run(capsys, "status", str(missing))
    assert code == 2 and str(missing) in err
    check_language(locale, err)
    conf = _conf(tmp_path)
    code, _, err = _run(capsys, "status", str(conf))  # a fresh box: keygen first
    assert code == 2 and f"eco-agent keygen {conf}" in err
    check_language(locale, err)
    good = conf.read_text()
    for broken, where in (("interval_minutes = 30", "interval_minutes = 7"),  # not a divisor
                          ("poll_seconds = 60", "poll_seconds = 0"),  # out of range
                          ("[device]\n", "[device]\nintervall = 30\n"),  # unknown key
                          ('quantity = "pv_generation"', 'quantity = "sunshine"'),
                          ("[device]\n", "[device\n")):  # not TOML
        conf.write_text(good.replace(broken, where, 1))
        code, _, err = _run(capsys, "status", str(conf))
        assert code == 2 and str(conf) in err, err
        check_language(locale, err)
    conf.write_text(good)
    code, _, err = _run(capsys, "init", str(conf))  # never overwrites
    assert code == 1
    check_language(locale, err)
    snippet = tmp_path / "snippet.toml"
    snippet.write_text('[device]\nlog_key = "not a key"\n')
    code, _, err = _run(capsys, "provision", str(conf), str(snippet))
    assert code == 2 and "[uplink] broker" in err
    check_language(locale, err)
    ca = tmp_path / "ca.crt"
    conf.write_text(conf.read_text().replace('broker = "mqtt://127.0.0.1:1"',
                                             f'broker = "mqtts://127.0.0.1:8883"\n'
                                             f'ca_file = "{ca}"'))
    assert main(["keygen", str(conf)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "run", str(conf))
    assert code == 2 and f"[uplink] ca_file = {ca}" in err
    check_language(locale, err)


@pytest.mark.parametrize("locale", LOCALES)
def test_a_lost_key_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    rig = make_rig(tmp_path, port=free_port())
    rig.cycle(2)
    rig.agent.shutdown()
    rig.config.device.key_path.unlink()
    monkeypatch.setenv("LANG", locale)
    code, _, err = _run(capsys, "keygen", str(rig.config.path))
    assert code == 1 and f"eco-aggregator rekey {rig.device_id}" in err
    check_language(locale, err)


def test_lang_flag_overrides_the_locale(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "C")
    code, _, err = _run(capsys, "status", "--lang", "ja", str(tmp_path / "nope.toml"))
    assert code == 2
    assert_japanese(err)
    monkeypatch.setenv("ECO_LANG", "ja")
    code, _, err = _run(capsys, "status", "--lang", "en", str(tmp_path / "nope.toml"))
    assert code == 2
    assert_english(err)


def test_status_reasons_are_the_catalogs_sentences_in_japanese() -> None:
    """A receipt's reason ("<code>: English") reads as the code's Japanese sentence, the code
    kept beside it; in English it stays the receipt's own text."""
    from agent.diagnose import render_status

    now = dt.datetime(2026, 12, 4, 3, 0, 10, tzinfo=dt.UTC)
    report = {"device_id": "d" * 32, "next_seq": 9, "pending": 0,
              "rejected": [{"seq": 4, "meter": "pv1", "start": "2026-12-04T01:00:00Z",
                            "end": "2026-12-04T01:30:00Z",
                            "reason": "future: the interval ends after the aggregator's now"}],
              "non_creditable": {"total": 1, "recent": [
                  {"seq": 3, "reason": "before_joining: the interval starts before the member "
                                       "joined the programme"}]},
              "outbox": "/var/lib/x", "last_receipt": None,
              "clock": {"known_unsynced": False},
              "today": {"day": "2026-12-04", "energy_wh": {"pv_generation": 1200},
                        "points_estimate": 0},
              "meters": [{"id": "pv1", "quantity": "pv_generation",
                          "protocol": "sunspec-modbus", "last_committed": None}]}
    ja = render_status(report, now=now, interval_s=1800, oldest_pending=None, lang="ja")
    assert_japanese(ja)
    assert "計測時刻が未来です" in ja and "（future）" in ja
    assert "加入より前" in ja and "（before_joining）" in ja
    assert "2026-12-04 10:00:00 JST–2026-12-04 10:30:00 JST" in ja
    en = render_status(report, now=now, interval_s=1800, oldest_pending=None, lang="en")
    assert_english(en)
    assert "future: the interval ends after the aggregator's now" in en


@pytest.mark.parametrize("locale", LOCALES)
def test_an_mqtt_device_that_says_nothing_in_the_locales_language(
        broker: Mosquitto, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    """A real Mosquitto; nobody publishes on the topic: what to check on the device."""
    monkeypatch.setenv("LANG", locale)
    code, out, err = _run(capsys, "probe", "--protocol", "shelly", "--broker", broker.url,
                          "--topic", "nobody-here", "--quantity", "grid_import",
                          "--field", "total_act", "--wait", "0.5")
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1
    assert "nobody-here/events/rpc" in err and "rpc_ntf" in err
    check_language(locale, err)


# three English words in a row: a sentence left untranslated (identifiers, keys, paths, commands
# with their options and protocol names are not words on their own)
_ENGLISH_SENTENCE = re.compile(r"(?<![-\w])[A-Za-z]{2,}(?: [A-Za-z]{2,}){2,}(?![-\w])")


def _fully_japanese(err: str) -> str:
    line = err.strip()
    assert len(line.splitlines()) == 1, err
    assert_japanese(line)
    assert not _ENGLISH_SENTENCE.search(line), line
    return line


def test_broken_toml_and_missing_ca_file_are_fully_japanese(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """tomllib's reason and the operating system's are English of their own: under a Japanese
    locale both are said in Japanese, with the file, the line and column, or the config key."""
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    conf = _conf(tmp_path)
    good = conf.read_text()
    line_no = good.splitlines().index("interval_minutes = 30") + 1
    for broken, where, said in (
            ("[device]\n", "[device\n", "1 行 8 列：テーブル見出しの末尾に ']' がありません"),
            ("interval_minutes = 30", "interval_minutes = = 30",
             f"{line_no} 行 20 列：値が正しくありません"),
            ("interval_minutes = 30", "interval_minutes = 30 poll = 1",
             f"{line_no} 行 23 列：一つの行に一つの設定だけを書きます")):
        conf.write_text(good.replace(broken, where, 1))
        code, _, err = _run(capsys, "status", str(conf))
        assert code == 2
        line = _fully_japanese(err)
        assert str(conf) in line and said in line, line
    ca = tmp_path / "missing-ca.crt"
    conf.write_text(good.replace('broker = "mqtt://127.0.0.1:1"',
                                 f'broker = "mqtts://127.0.0.1:8883"\nca_file = "{ca}"'))
    assert main(["keygen", str(conf)]) == 0
    capsys.readouterr()
    code, _, err = _run(capsys, "run", str(conf))
    assert code == 2
    line = _fully_japanese(err)
    assert f"[uplink] ca_file = {ca}" in line and "ファイルがありません" in line, line


@pytest.mark.integration  # a child process that drops to an unprivileged user
def test_permission_denied_serial_port_is_fully_japanese(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A serial port the agent's user may not open: the dialout advice, in Japanese, naming
    the port. As root (which opens anything) the probe runs in a child that drops to nobody."""
    port = tmp_path / "ttyUSB7"
    port.write_bytes(b"")
    port.chmod(0o600)
    argv = ["probe", "--protocol", "sunspec-modbus", "--port", str(port), "--timeout", "0.2"]
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    if os.geteuid() == 0:
        # nobody cannot read root's Python installation: a first run on a missing port, as
        # root, imports everything the second needs
        missing = [*argv[:4], str(tmp_path / "absent"), *argv[5:]]
        child = ("import contextlib, io, os, sys\nfrom agent.cli import main\n"
                 f"with contextlib.redirect_stderr(io.StringIO()):\n    main({missing!r})\n"
                 "os.setgroups([]); os.setgid(65534); os.setuid(65534)\n"
                 f"sys.exit(main({argv!r}))\n")
        r = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                           cwd=Path(__file__).parents[2], timeout=60, check=False,
                           env={**os.environ, "LANG": "ja_JP.UTF-8"})
        code, err = r.returncode, r.stderr
    else:
        port.chmod(0)
        code, _, err = _run(capsys, *argv)
    assert code == 1, err
    line = _fully_japanese(err)
    assert f"{port} へのアクセス権がありません" in line and "dialout" in line, line
