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
    "eco_protocol.consortium.same_log_key": {
        "en": "{where}: {at}.log_key is the same key as member {other!r}'s log key: one "
              "key-holder would sign as two towns. Each member's log has its own key",
        "ja": "{where}: {at}.log_key は会員 '{other}' のログ鍵と同じ鍵です。一人の鍵の持ち主が"
              "二つの自治体として署名することになります。会員のログごとに別の鍵を使ってください"},
    "eco_protocol.consortium.log_key_witness": {
        "en": "{where}: {at}.key is the log key of member {member!r}: that log would witness "
              "its own checkpoints. A witness needs a key of its own (eco-aggregator "
              "consortium-witness makes one)",
        "ja": "{where}: {at}.key は会員 '{member}' のログ鍵です。そのログが自分のチェック"
              "ポイントを監視（連署）することになります。監視者には専用の鍵が必要です"
              "（eco-aggregator consortium-witness で作成できます）"},
    "eco_protocol.finding.cert.issuer_for": {
        "en": "the issuer in the name of {account} (without its signed request)",
        "ja": "発行者（{account} の名義、本人の署名付き依頼なし）"},
    "eco_protocol.matching.reason.unsigned": {
        "en": "the issuer cancelled it in this account's name without the account's signed "
              "request, so it is not the account's own cancellation; ask the issuer to transfer "
              "the ids and cancel them with your key",
        "ja": "発行者がこのアカウントの名義で、アカウントの署名付き依頼なしに取り消し（償却）"
              "たもので、アカウント自身の取消しではありません。番号を移転してもらい、ご自身の"
              "鍵で取り消してください"},
    "eco_protocol.certificates.as_of": {
        "en": "holders and cancellations below are as of the {n} entries shown (log size "
              "{size}): an inclusion proof never shows that another entry is absent, so a "
              "later transfer or cancellation left out of this export cannot be seen here — "
              "check the whole log (eco-verify evidence on the town's ledger export, or ask a "
              "witness or auditor) before relying on who holds the ids",
        "ja": "以下の保有者と取消し（償却）は、示された {n} 件のエントリ（ログのサイズ {size}）"
              "時点のものです。包含証明は別のエントリが無いことを示せないため、このエクスポート"
              "から抜かれた後の移転や取消しはここでは分かりません。番号の保有者に依拠する前に、"
              "ログ全体を確認してください（自治体の ledger export に eco-verify evidence を"
              "実行するか、監視者・監査人に確認）"},
    "eco_protocol.request.before_asked": {
        "en": "{what}: the claim is dated {claimed_at}, before its holder signed the request "
              "(requested_at {requested_at}): a move may not be dated before the holder asked",
        "ja": "{what}: クレームの日時 {claimed_at} が、保有者が依頼に署名した日時（requested_at "
              "{requested_at}）より前です。保有者が依頼する前の日付で移転・取消しはできません"},
    "eco_protocol.request.future": {
        "en": "the request's requested_at {requested_at} is in the future (more than {skew} "
              "minutes ahead of this server's clock): check the clock of the computer that "
              "signed it and sign the request again",
        "ja": "依頼の requested_at {requested_at} が未来の日時です（このサーバーの時計より "
              "{skew} 分以上先）。署名したコンピューターの時計を確認し、依頼に署名し直して"
              "ください"},
    "eco_protocol.request.stale": {
        "en": "the request's requested_at {requested_at} is more than {days} days old: a signed "
              "request is logged only while fresh. Sign a new request (eco-verify "
              "certificate-request) and hand that in",
        "ja": "依頼の requested_at {requested_at} は {days} 日より前です。署名付き依頼は新しい"
              "うちだけ記録します。新しい依頼に署名し（eco-verify certificate-request）、それを"
              "提出してください"},
    "eco_protocol.matching.csv.huge": {
        "en": "consumption CSV line {line}, column {column} ({header}): \"{value}\" is more "
              "than any consumer uses in one interval (at most {limit} Wh): check the unit in "
              "the header (kWh or Wh) and the value",
        "ja": "消費量 CSV の {line} 行目 {column} 列目（{header}）: \"{value}\" は一つの時間帯の"
              "消費量として大きすぎます（上限 {limit} Wh）。見出しの単位（kWh か Wh）と値を"
              "確認してください"},
    "eco_protocol.credential.err.not_pinned": {
        "en": "issuer {issuer} is not one whose DID document you gave ({pinned}): the "
              "credential is signed, but by someone else",
        "ja": "発行者 {issuer} は、指定した DID ドキュメントの発行者（{pinned}）ではありません。"
              "署名はありますが、別の者による署名です"},
    "eco_protocol.credential.meaning.not_pinned": {
        "en": "the credential was issued by someone other than the issuer whose DID document "
              "you gave (a did:key signs for itself): it is not that issuer's credential",
        "ja": "証明書は、指定した DID ドキュメントの発行者ではない者が発行したものです"
              "（did:key は自分自身で署名できます）。その発行者の証明書ではありません"},
    "eco_protocol.credential.ask.not_pinned": {
        "en": "do not accept it; ask the holder for the credential the issuer itself issued",
        "ja": "受け付けず、発行者自身が発行した証明書を持ち主に求めてください"},
    "eco_protocol.basket.incomparable": {
        "en": "NOTE {a_member}'s batch {a_batch} and {b_member}'s batch {b_batch} overlap in "
              "time, but their claim tokens were made under different secrets (key ids "
              "{a_keys} / {b_keys}): the basket cannot tell whether they credit the same "
              "equipment. Ask the consortium's secretariat which key ids are the consortium's, "
              "and the sellers for reports whose tokens use them",
        "ja": "注意 {a_member} のバッチ {a_batch} と {b_member} のバッチ {b_batch} は期間が重なり"
              "ますが、クレームトークンが別の秘密鍵で作られています（鍵ID {a_keys} / {b_keys}）。"
              "同じ設備を二重に計上していないか、このバスケットでは判定できません。コンソーシアム"
              "事務局にどの鍵IDがコンソーシアムのものかを確認し、それを使った報告書を販売者に"
              "求めてください"},
    "eco_protocol.consortium.key_ids": {
        "en": "{where}: claim_token_key_ids must be a list of key ids of 16 lowercase hex "
              "digits (the consortium's claim-token secrets, current and retired)",
        "ja": "{where}: claim_token_key_ids は 16 桁の小文字 16 進数の鍵IDのリストにしてください"
              "（コンソーシアムのクレームトークン秘密鍵の、現在と過去のもの）"},
    "eco_protocol.basket.foreign_secret": {
        "en": "{name}: {member}'s device {device} is credited with a {kind} claim token made "
              "under a secret the consortium does not name (key id {key_id}; the consortium's: "
              "{known}): no other member's token can match it, so a double credit would be "
              "hidden. Ask the seller why",
        "ja": "{name}: {member} の機器 {device} が、コンソーシアムが定めていない秘密鍵で作られた"
              "{kind}のクレームトークンで計上されています（鍵ID {key_id}、コンソーシアムの鍵ID: "
              "{known}）。他の会員のトークンと一致し得ないため、二重計上が隠れるおそれがあります。"
              "販売者に理由を尋ねてください"},
}

__all__ = ["CATALOG"]
