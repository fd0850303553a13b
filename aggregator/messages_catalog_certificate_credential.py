"""The aggregator's messages for a certificate bundle credential (``eco-aggregator credential
certificate``, :mod:`aggregator.certificate_credentials`), in English and Japanese (data, merged
into :mod:`aggregator.messages_catalog`)."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "aggregator.certificate_credential.unknown": {
        "en": "no certificate bundle {issuance} was issued in the log (as of checkpoint size "
              "{size}; {n} bundles issued: {some}); list them with 'eco-aggregator certificates "
              "list' and give an issuance_id from it",
        "ja": "証書バンドル {issuance} はログで発行されていません（チェックポイントのサイズ "
              "{size} の時点。発行済み {n} 件：{some}）。'eco-aggregator certificates list' で"
              "一覧を表示し、その issuance_id を指定してください"},
    "aggregator.certificate_credential.none": {"en": "none", "ja": "なし"},
}
