"""OS and TOML errors in words (eco_protocol.os_messages, issue 17): each of tomllib's reasons
reads in Japanese with the line and column first, while the English stays tomllib's own text
byte for byte; an errno we know is said in both languages with the path; an errno or a reason
we do not know is kept as the system said it."""

from __future__ import annotations

import errno
import tomllib

import pytest

from eco_protocol.os_messages import ERRNO_NAMES, os_error, os_reason, toml_error
from tests.support.lang_kit import JAPANESE

# documents that make tomllib raise each of its common reasons
_BROKEN = [
    "[device\n", "a = = 1\n", "a = 1\na = 2\n", 'a = "x\n', "a = 1 b = 2\n", "a = [1,\n",
    "[a]\n[a]\n", 'a = "\\q"\n', "a", "a = {b = 1\n", "a = 1979-05-27T25:00:00\n",
    "[[a]\n", "= 1\n", "a = 0xZ\n", "a = {b = 1, b = 2}\n", "a = \x01\n",
]


@pytest.mark.parametrize("doc", _BROKEN)
def test_every_common_toml_reason_reads_in_japanese(doc: str) -> None:
    with pytest.raises(tomllib.TOMLDecodeError) as exc:
        tomllib.loads(doc)
    m = toml_error(exc.value, "/etc/eco-agent/agent.toml")
    assert m.text("en") == f"file /etc/eco-agent/agent.toml: {exc.value}"
    ja = m.text("ja")
    assert ja.startswith("ファイル /etc/eco-agent/agent.toml の "), ja
    assert " 行 " in ja or "末尾" in ja, ja
    assert "TOML の構文の誤り" not in ja, f"reason without a translation: {exc.value}"
    reason = ja.split(": ", 1)[1]
    assert JAPANESE.search(reason), ja


def test_an_unknown_toml_reason_is_kept_in_parentheses() -> None:
    m = toml_error(tomllib.TOMLDecodeError("Something new (at line 4, column 2)"))
    assert m.text("ja") == "4 行 2 列：TOML の構文の誤り（Something new）"
    assert m.text("en") == "Something new (at line 4, column 2)"


@pytest.mark.parametrize(("err", "ja"), [
    (FileNotFoundError(errno.ENOENT, "No such file or directory", "/etc/ca.crt"),
     "/etc/ca.crt: ファイルがありません"),
    (PermissionError(errno.EACCES, "Permission denied", "/dev/ttyUSB0"),
     "/dev/ttyUSB0: 読み書きの権限がありません"),
    (OSError(errno.EBUSY, "Device or resource busy", "/dev/ttyUSB0"),
     "/dev/ttyUSB0: 使用中です（別のプログラムが使っています）"),
    (ConnectionRefusedError(errno.ECONNREFUSED, "Connection refused"),
     "接続を拒否されました（そのポートで待ち受けているものがありません）"),
    (TimeoutError(errno.ETIMEDOUT, "Connection timed out"), "応答がありません（タイムアウト）"),
    (TimeoutError("timed out"), "応答がありません（タイムアウト）"),
    (OSError(errno.EHOSTUNREACH, "No route to host"), "ホストに到達できません"),
])
def test_os_errors_by_errno_with_the_path(err: OSError, ja: str) -> None:
    assert os_error(err).text("ja") == ja
    assert not JAPANESE.search(os_error(err).text("en"))


def test_every_errno_name_has_both_languages_and_an_unknown_one_is_the_systems() -> None:
    for code in ERRNO_NAMES:
        reason = os_reason(OSError(code, "x"))
        assert not isinstance(reason, str)
        assert JAPANESE.search(reason.text("ja")) and not JAPANESE.search(reason.text("en"))
    assert os_reason(OSError(errno.ELOOP, "Too many levels of symbolic links")) == \
        "Too many levels of symbolic links"
