"""Messages of the red-team fixes (issue 19/18 hardening): the consortium file's key reuse, the
certificate check's limits as the buyer reads them, unsigned cancellations in hourly matching,
and a request's time against its claim. Data only, merged by :mod:`messages_catalog`."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "eco_protocol.consortium.same_key": {
        "en": "{where}: {at}.key is the same key as witness {other!r}: one key-holder would "
              "count as two witnesses toward the quorum. Give each witness its own key, or "
              "list the witness once",
        "ja": "{where}: {at}.key は監視者 '{other}' と同じ鍵です。一人の鍵の持ち主が定足数で"
              "二人の監視者として数えられてしまいます。監視者ごとに別の鍵を使うか、一度だけ"
              "書いてください"},
    "eco_protocol.consortium.log_key_witness": {
        "en": "{where}: {at}.key is the log key of member {member!r}: that log would witness "
              "its own checkpoints. A witness needs a key of its own (eco-aggregator "
              "consortium-witness makes one)",
        "ja": "{where}: {at}.key は会員 '{member}' のログ鍵です。そのログが自分のチェック"
              "ポイントを監視（連署）することになります。監視者には専用の鍵が必要です"
              "（eco-aggregator consortium-witness で作成できます）"},
}

__all__ = ["CATALOG"]
