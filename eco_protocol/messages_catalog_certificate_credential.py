"""The texts of a certificate bundle credential (:mod:`eco_protocol.certificate_credential`) as
``eco-verify credential`` prints them, in English and Japanese (data, merged into
:mod:`eco_protocol.messages_catalog`)."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "eco_protocol.credential.kind.certificate": {"en": "certificate bundle",
                                                 "ja": "証書バンドル（グラニュラー証書）"},
    "eco_protocol.certificate_credential.line.bundle": {
        "en": "bundle {issuance}: {wh} Wh as 1 Wh certificates, ids {first}..{last}, "
              "energy source {source}",
        "ja": "バンドル {issuance}：1 Wh 証書 {wh} 件（{wh} Wh）、番号 {first}..{last}、"
              "エネルギー源 {source}"},
    "eco_protocol.certificate_credential.line.device": {
        "en": "produced by device {device} ({capacity} W) from {start} to {end}, "
              "dissemination level {level}; readings signed by {meters}",
        "ja": "発電設備 {device}（{capacity} W）が {start} から {end} に発電、"
              "利用形態 {level}。計測値の署名機器 {meters}"},
    "eco_protocol.certificate_credential.line.issuing": {
        "en": "issuing body {body}, market zone {zone}, country {country}, emission factor "
              "{factor} {unit}",
        "ja": "発行機関 {body}、市場区域 {zone}、国 {country}、排出係数 {factor} {unit}"},
    "eco_protocol.certificate_credential.status.held": {
        "en": "status: held by the issuer, none transferred or cancelled",
        "ja": "状態：発行者が保有（移転・償却なし）"},
    "eco_protocol.certificate_credential.status.transferred": {
        "en": "status: transferred to buyers' accounts, none cancelled",
        "ja": "状態：購入者の口座へ移転済み（償却なし）"},
    "eco_protocol.certificate_credential.status.partly_cancelled": {
        "en": "status: partly cancelled (retired)",
        "ja": "状態：一部償却済み"},
    "eco_protocol.certificate_credential.status.cancelled": {
        "en": "status: cancelled (retired) in full — it cannot be claimed again",
        "ja": "状態：全量償却済み（再び主張することはできません）"},
    "eco_protocol.certificate_credential.line.holders": {
        "en": "held by {holders}", "ja": "保有者：{holders}"},
    "eco_protocol.certificate_credential.line.cancelled": {
        "en": "{n} Wh (ids {first}..{last}) cancelled by {account} for consumption "
              "{period}{beneficiary}",
        "ja": "{account} が消費期間 {period} のために {n} Wh（番号 {first}..{last}）を"
              "償却{beneficiary}"},
    "eco_protocol.certificate_credential.line.beneficiary": {
        "en": ", beneficiary {beneficiary}", "ja": "（受益者 {beneficiary}）"},
    "eco_protocol.certificate_credential.line.checkpoint": {
        "en": "as of the log's checkpoint {origin} size {size}; bundle SHA-256 {sha}",
        "ja": "ログのチェックポイント {origin}（サイズ {size}）時点、バンドルの SHA-256 {sha}"},
    # --- eco-verify credential --certificates (verify_credential_cli) ---
    "eco_protocol.certificate_credential.check.export": {
        "en": "the export's proof checks ({bundles} bundles, checkpoint size {size}) and the "
              "credential's bundle is in it byte for byte, with the same face value",
        "ja": "エクスポートの証明を検証し（バンドル {bundles} 件、チェックポイントのサイズ "
              "{size}）、証明書のバンドルがその中に同一の内容・同じ額面で含まれています"},
    "eco_protocol.certificate_credential.check.holders": {
        "en": "holders and cancellations are the log's at the same checkpoint",
        "ja": "保有者と償却は同じチェックポイントでのログの内容と一致"},
    "eco_protocol.certificate_credential.check.other_checkpoint": {
        "en": "holders not compared: the credential is at checkpoint size {mine}, the export "
              "at {theirs} (ids may have moved in between; the export's are the later word "
              "if its size is larger)",
        "ja": "保有者は比較していません：証明書はチェックポイントのサイズ {mine}、エクスポートは "
              "{theirs} の時点です（その間に移転された可能性があります。サイズが大きい方が新しい"
              "状態です）"},
    "eco_protocol.certificate_credential.not_certificate": {
        "en": "eco-verify: --certificates checks a certificate bundle credential; {path} is a "
              "{kind}",
        "ja": "eco-verify: --certificates は証書バンドルの証明書にだけ使えます。{path} は{kind}"
              "です"},
    "eco_protocol.credential.file.certificates": {"en": "certificate export file",
                                                  "ja": "証書のエクスポートファイル"},
    "eco_protocol.certificate_credential.export_invalid": {
        "en": "INVALID — the certificate export given with --certificates does not check "
              "({meaning}); the credential cannot be tied to the log: ask the seller for the "
              "export (bundles.json and proofs.json) the municipality wrote",
        "ja": "無効（INVALID）— --certificates に指定したエクスポートを検証できません"
              "（{meaning}）。証明書をログと結び付けられません。自治体が出力した"
              "エクスポート（bundles.json と proofs.json）を販売者に求めてください"},
    "eco_protocol.certificate_credential.differs": {
        "en": "INVALID — the credential says something about the bundle that the log's proof "
              "does not: do not rely on the credential; ask the issuer for a new one",
        "ja": "無効（INVALID）— 証明書の内容がログの証明と食い違っています。この証明書に依拠"
              "せず、発行者に新しいものを求めてください"},
    "eco_protocol.certificate_credential.fail": {"en": "FAIL {error}", "ja": "不合格 {error}"},
}
