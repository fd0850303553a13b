"""Operating-system and TOML errors in English and Japanese (data for
:mod:`eco_protocol.os_messages`, merged into :mod:`eco_protocol.messages_catalog`). The English
of a TOML error is tomllib's own text, so logs and tests read as before; the Japanese puts the
line and column first. The errno names complete ``eco_protocol.os.*`` (the first five, by
exception type, are in :mod:`eco_protocol.messages_catalog`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_OS: Final[Mapping[str, tuple[str, str]]] = {
    "error": ("{reason}", "{reason}"),
    "error_at": ("{path}: {reason}", "{path}: {reason}"),
    "command_failed": ("{command}: {error}; check the path, its permissions and the service it "
                       "names",
                       "{command}: {error}。パスとその権限、指定したサービスを確認してください"),
    "not_permitted": ("operation not permitted", "操作が許可されていません"),
    "busy": ("device or resource busy (another program uses it)",
             "使用中です（別のプログラムが使っています）"),
    "exists": ("it already exists", "すでに存在します"),
    "no_space": ("no space left on the device", "ディスクの空きがありません"),
    "read_only": ("the file system is read-only", "読み取り専用のファイルシステムです"),
    "not_a_tty": ("not a serial device (not a terminal)",
                  "シリアルデバイスではありません（端末ではありません）"),
    "no_device": ("no such device", "デバイスがありません"),
    "io": ("input/output error", "入出力エラー"),
    "refused": ("connection refused (nothing listens on that port)",
                "接続を拒否されました（そのポートで待ち受けているものがありません）"),
    "reset": ("connection reset by the other side", "相手側から接続が切断されました"),
    "timed_out": ("timed out", "応答がありません（タイムアウト）"),
    "host_unreachable": ("no route to the host", "ホストに到達できません"),
    "net_unreachable": ("network unreachable", "ネットワークに到達できません"),
    "address_in_use": ("the address is already in use", "アドレスはすでに使用中です"),
}

_TOML: Final[Mapping[str, tuple[str, str]]] = {
    "error": ("{reason} (at {where})", "{where}：{reason}"),
    "file_error": ("file {path}: {reason} (at {where})", "ファイル {path} の {where}: {reason}"),
    "at": ("line {line}, column {column}", "{line} 行 {column} 列"),
    "at_end": ("end of document", "末尾"),
    "other": ("{reason}", "TOML の構文の誤り（{reason}）"),
    "invalid_value": ("Invalid value", "値が正しくありません（文字列は \"…\" で囲みます）"),
    "expected_equals": ("Expected '=' after a key in a key/value pair",
                        "キーの後に '=' がありません"),
    "expected_table_end": ("Expected ']' at the end of a table declaration",
                           "テーブル見出しの末尾に ']' がありません"),
    "expected_array_end": ("Expected ']]' at the end of an array declaration",
                           "配列テーブル見出しの末尾に ']]' がありません"),
    "expected_newline": ("Expected newline or end of document after a statement",
                         "一つの行に一つの設定だけを書きます（設定の後に改行がありません）"),
    "invalid_statement": ("Invalid statement", "正しくない文です"),
    "invalid_key": ("Invalid initial character for a key part",
                    "キーの最初の文字が正しくありません"),
    "overwrite": ("Cannot overwrite a value", "同じ値を二度設定しています"),
    "declared_twice": ("Cannot declare {value} twice", "{value} を二度宣言しています"),
    "immutable": ("Cannot mutate immutable namespace {value}",
                  "変更できない名前空間 {value} を変更しようとしています"),
    "redefine": ("Cannot redefine namespace {value}", "名前空間 {value} を定義し直しています"),
    "duplicate_key": ("Duplicate inline table key {value}",
                      "インラインテーブルのキー {value} が重複しています"),
    "unterminated_string": ("Unterminated string", "文字列が閉じられていません（\" が足りません）"),
    "unclosed_array": ("Unclosed array", "配列が閉じられていません（']' が足りません）"),
    "unclosed_table": ("Unclosed inline table",
                       "インラインテーブルが閉じられていません（'}}' が足りません）"),
    "illegal_character": ("Illegal character {value}", "使えない文字 {value} があります"),
    "found_invalid": ("Found invalid character {value}", "使えない文字 {value} があります"),
    "invalid_datetime": ("Invalid date or datetime", "日付または日時が正しくありません"),
    "invalid_hex": ("Invalid hex value", "16 進数の値が正しくありません"),
    "unescaped_backslash": ("Unescaped '\\' in a string",
                            "文字列の中の '\\' がエスケープされていません（'\\\\' と書きます）"),
    "expected": ("Expected {value}", "{value} が必要です"),
}

CATALOG: Final[dict[str, Mapping[str, str]]] = {
    **{f"eco_protocol.os.{k}": {"en": en, "ja": ja} for k, (en, ja) in _OS.items()},
    **{f"eco_protocol.toml.{k}": {"en": en, "ja": ja} for k, (en, ja) in _TOML.items()},
}
