"""The runtime helpers' messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): a TOML table's keys (:mod:`eco_runtime.toml_section`), as the
agent's configuration errors print them."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "eco_runtime.section.unknown_keys": {
        "en": "{name}: unknown key(s) {keys}; allowed: {allowed}",
        "ja": "{name}: 不明なキー {keys}。使えるキー: {allowed}"},
    "eco_runtime.section.missing": {"en": "{where} is missing: add {key} = \"…\"",
                                    "ja": "{where} がありません。{key} = \"…\" を追加してください"},
    "eco_runtime.section.not_string": {
        "en": "{where} must be a string in quotes, got {value}",
        "ja": "{where} は引用符で囲んだ文字列で指定してください（指定値 {value}）"},
    "eco_runtime.section.empty": {"en": "{where} must not be empty",
                                  "ja": "{where} が空です。値を指定してください"},
    "eco_runtime.section.not_int": {"en": "{where} must be a whole number, got {value}",
                                    "ja": "{where} は整数で指定してください（指定値 {value}）"},
    "eco_runtime.section.not_number": {"en": "{where} must be a number, got {value}",
                                       "ja": "{where} は数値で指定してください（指定値 {value}）"},
    "eco_runtime.section.range": {
        "en": "{where} = {value} is out of range: use {lo}–{hi}",
        "ja": "{where} = {value} は範囲外です。{lo}～{hi} で指定してください"},
    "eco_runtime.section.not_bool": {
        "en": "{where} must be true or false, got {value}",
        "ja": "{where} は true か false で指定してください（指定値 {value}）"},
    "eco_runtime.section.not_table": {
        "en": "[{key}] must be a table ([{key}] header), got {type}",
        "ja": "[{key}] はテーブル（[{key}] の見出し）で指定してください（指定値の型 {type}）"},
}
