"""An operating-system error a command did not expect (issue 17): ``eco-aggregator`` says it in
one line in the reader's language — the path, the errno in words, what to check — instead of a
Python traceback. Here ``broker-config --out`` under a regular file (ENOTDIR)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.lang_kit import LOCALES, Cli, check_language


@pytest.mark.parametrize("locale", LOCALES)
def test_an_unexpected_os_error_is_one_line_in_the_locales_language(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
        locale: str) -> None:
    monkeypatch.setenv("LANG", locale)
    cli = Cli(tmp_path, capsys)
    (tmp_path / "afile").write_text("")
    out_dir = tmp_path / "afile" / "broker"
    rc, out, err = cli.run("broker-config", "--out", str(out_dir))
    assert rc == 1 and out == ""
    line = err.strip()
    assert len(line.splitlines()) == 1 and "Traceback" not in err, err
    check_language(locale, line)
    assert line.startswith(f"eco-aggregator: {out_dir}: "), line
    assert ("パスの途中がディレクトリではありません" if locale.startswith("ja")
            else "a part of the path is not a directory") in line
