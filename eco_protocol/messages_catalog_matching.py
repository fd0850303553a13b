"""The messages of ``eco-verify matching`` (the hourly matching report, issue 19 point 5) in
English and Japanese (data, merged into :mod:`eco_protocol.messages_catalog`): the consumption
CSV's refusals (:mod:`eco_protocol.hourly_matching`), the command's output and the report page's
words (:mod:`eco_protocol.matching_report`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_FIX: Final = {"en": " — correct that row in the CSV (docs/certificates.md \"Hourly matching "
                     "report\" gives the format) and run again",
               "ja": "。CSV のその行を直して（形式は docs/certificates.md の毎時マッチングの節）、"
                     "もう一度実行してください"}


def _csv(en: str, ja: str) -> Mapping[str, str]:
    return {"en": en + _FIX["en"], "ja": ja + _FIX["ja"]}


CATALOG: Final[dict[str, Mapping[str, str]]] = {
    "eco_protocol.matching.csv.time": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" is not an ISO 8601 "
        "time like 2026-11-22T09:00:00+09:00",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は "
        "2026-11-22T09:00:00+09:00 のような ISO 8601 の時刻ではありません"),
    "eco_protocol.matching.csv.no_offset": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" has no UTC offset "
        "(add +09:00 for JST)",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" に UTC からの時差が"
        "ありません（日本時間なら +09:00 を付けてください）"),
    "eco_protocol.matching.csv.not_interval": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" is not the start of "
        "an hour or half hour",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は毎時 0 分または "
        "30 分の開始時刻ではありません"),
    "eco_protocol.matching.csv.number": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" is not a "
        "non-negative number",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は 0 以上の数値では"
        "ありません"),
    "eco_protocol.matching.csv.fraction": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" is finer than "
        "1 Wh (certificates are whole Wh)",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は 1 Wh 未満の端数を"
        "含みます（証書は 1 Wh 単位です）"),
    "eco_protocol.matching.csv.missing": _csv(
        "consumption CSV line {line}: column {column} ({header}) is missing",
        "消費量 CSV の {line} 行目: {column} 列目（{header}）がありません"),
    "eco_protocol.matching.csv.twice": _csv(
        "consumption CSV line {line}, column {column} ({header}): \"{value}\" is the same "
        "interval as line {other}",
        "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は {other} 行目と同じ"
        "時間帯です"),
    "eco_protocol.matching.csv.too_many": _csv(
        "consumption CSV line {line}: more than {limit} rows (a year of half hours is "
        "17568); split the file by year",
        "消費量 CSV の {line} 行目: 行数が上限 {limit} を超えています（30 分値 1 年分は "
        "17568 行）。年ごとにファイルを分けてください"),
    "eco_protocol.matching.csv.long": _csv(
        "consumption CSV line {line}: the line is too long",
        "消費量 CSV の {line} 行目: 行が長すぎます"),
    "eco_protocol.matching.csv.header": _csv(
        "consumption CSV line {line}: the header \"{header}\" names no consumption column "
        "in kWh or Wh (e.g. hour_start,consumption_kwh)",
        "消費量 CSV の {line} 行目: 見出し \"{header}\" に kWh または Wh の消費量の列が"
        "ありません（例: hour_start,consumption_kwh）"),
    "eco_protocol.matching.csv.empty_header": _csv(
        "consumption CSV: the file is empty (a header row and one row per hour are expected)",
        "消費量 CSV: ファイルが空です（見出し行と 1 時間ごとの行が必要です）"),
    "eco_protocol.matching.csv.no_rows": _csv(
        "consumption CSV: the header has no rows under it",
        "消費量 CSV: 見出しの下に行がありません"),
    # the command
    "eco_protocol.matching.cannot_read": {
        "en": "eco-verify matching: cannot read {path}: {reason}",
        "ja": "eco-verify matching: {path} を読めません: {reason}"},
    "eco_protocol.matching.account": {
        "en": "eco-verify matching: --account {account} is not an account ({error}); give the "
              "did:key that 'eco-verify certificate-request account' printed for your key",
        "ja": "eco-verify matching: --account {account} はアカウントではありません（{error}）。"
              "'eco-verify certificate-request account' が鍵について表示した did:key を指定して"
              "ください"},
    "eco_protocol.matching.refused": {
        "en": "eco-verify matching: {error}",
        "ja": "eco-verify matching: {error}"},
    "eco_protocol.matching.not_verified": {
        "en": "NO REPORT: the certificates do not verify, so none is counted: {meaning}",
        "ja": "レポートを作成しません: 証書の検証に失敗したため、1 件も計上できません: {meaning}"},
    "eco_protocol.matching.written": {
        "en": "hourly matching for {account}: {matched} of {consumption} kWh matched hour by "
              "hour ({hourly}); volumetric {volumetric}; {hours} hours; report in {out}",
        "ja": "{account} の毎時マッチング: 消費 {consumption} kWh のうち {matched} kWh が"
              "時間単位で一致（{hourly}）。年間量ベースでは {volumetric}。{hours} 時間分。"
              "レポート: {out}"},
    "eco_protocol.matching.skipped": {
        "en": "not counted: {issuance} ({wh} Wh, hour {hour}): {reason}",
        "ja": "計上しません: {issuance}（{wh} Wh、{hour}）: {reason}"},
    "eco_protocol.matching.reason.period": {
        "en": "the consumption period it was cancelled for does not cover its hour",
        "ja": "取消し（償却）時に指定した消費期間がこの時間を含みません"},
    "eco_protocol.matching.reason.no_consumption": {
        "en": "its hour is not in the consumption CSV",
        "ja": "この時間が消費量 CSV にありません"},
    # the report page
    "eco_protocol.matching.page.title": {
        "en": "Hourly matching report", "ja": "毎時マッチング報告書"},
    "eco_protocol.matching.page.lede": {
        "en": "Electricity consumption of {account} matched hour by hour with the granular "
              "certificates it cancelled (EnergyTag Granular Certificates, 1 certificate = 1 Wh, "
              "production hour = consumption hour). Hours in JST.",
        "ja": "{account} の電力消費を、同アカウントが取消し（償却）した時間単位の証書"
              "（EnergyTag Granular Certificate、1 証書 = 1 Wh、発電時間 = 消費時間）と"
              "1 時間ごとに突き合わせた結果です。時刻は日本時間（JST）。"},
    "eco_protocol.matching.page.period": {
        "en": "Hours: {first} – {last} ({hours} hours)",
        "ja": "対象時間: {first} 〜 {last}（{hours} 時間）"},
    "eco_protocol.matching.page.consumption": {"en": "Consumption", "ja": "消費量"},
    "eco_protocol.matching.page.certificates": {"en": "Certificates cancelled",
                                                "ja": "取消し（償却）済み証書"},
    "eco_protocol.matching.page.matched": {"en": "Matched", "ja": "一致量"},
    "eco_protocol.matching.page.share": {"en": "Share matched", "ja": "一致率"},
    "eco_protocol.matching.page.hour": {"en": "Hour (JST)", "ja": "時間（JST）"},
    "eco_protocol.matching.page.hourly": {"en": "Hourly matched share (24/7)",
                                          "ja": "時間単位の一致率（24/7）"},
    "eco_protocol.matching.page.volumetric": {"en": "Volumetric share (annual-style)",
                                              "ja": "量ベースの一致率（年間方式）"},
    "eco_protocol.matching.page.proof": {
        "en": "Certificates checked offline against log {origin} at checkpoint size {size} "
              "(eco-verify certificates: readings in the log, face value within proven "
              "self-consumption, no other claim on the energy, cancellation by the holder).",
        "ja": "証書はログ {origin} のチェックポイント（サイズ {size}）に対してオフラインで"
              "検証済み（eco-verify certificates: 計測値がログにあること、額面が証明された"
              "自家消費量以下であること、同じ電力への他の主張がないこと、保有者による取消し）。"},
    "eco_protocol.matching.page.rule": {
        "en": "Counted: only cancellations by this account, whose consumption period covers the "
              "certificate's hour; per hour never more than the consumption. The volumetric "
              "share counts the same certificates without regard to the hour.",
        "ja": "計上の条件: このアカウント自身の取消しで、指定した消費期間が証書の発電時間を"
              "含むものに限ります。1 時間あたり消費量を上限とします。量ベースの一致率は同じ"
              "証書を時間を問わずに数えたものです。"},
    "eco_protocol.matching.page.not_counted": {"en": "Not counted", "ja": "計上しなかった取消し"},
    "eco_protocol.matching.page.made": {"en": "Made {at} by eco-verify matching.",
                                        "ja": "{at} に eco-verify matching で作成。"},
    "eco_protocol.matching.page.chart": {
        "en": "Consumption (grey) and matched (green) per hour, Wh",
        "ja": "1 時間ごとの消費量（灰色）と一致量（緑）、Wh"},
}

__all__ = ["CATALOG"]
