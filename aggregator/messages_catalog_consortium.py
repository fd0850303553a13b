"""The aggregator's consortium messages in English and Japanese (data, merged into
:mod:`aggregator.messages_catalog`): ``eco-aggregator mirror``, ``consortium-witness`` and
``consortium-audit``, the mirrors and their fork alarm, claim tokens and ``[consortium]`` in
aggregator.toml, and the refusal of equipment enrolled elsewhere (times in JST)."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    "aggregator.as_is": {"en": "{error}", "ja": "{error}"},
    # --- the consortium file, as the consortium commands and [consortium] read it ---
    "aggregator.consortium.cannot_read": {
        "en": "--consortium {path}: cannot read it: {reason}",
        "ja": "--consortium {path} を読めません（{reason}）。パスと権限を確認してください"},
    "aggregator.consortium.file_unreadable": {
        "en": "consortium file {path}: cannot read it: {reason}",
        "ja": "コンソーシアムのファイル {path} を読めません（{reason}）。aggregator.toml の "
              "[consortium] file を確認してください"},
    "aggregator.consortium.member": {"en": "--member: {error}", "ja": "--member の誤り: {error}"},
    "aggregator.consortium.http_spec": {
        "en": "--http {spec!r}: expected NAME=HOST:PORT with NAME one of the mirrored members "
              "({members})",
        "ja": "--http '{spec}': NAME=HOST:PORT の形で、NAME はミラーする会員（{members}）の"
              "いずれかを指定してください"},
    "aggregator.consortium.http_once": {
        "en": "--http serves the mirrors while the service runs; drop --once",
        "ja": "--http はサービスとして動いている間ミラーを公開するものです。--once を外して"
              "ください"},
    "aggregator.consortium.forks": {"en": "{forks}", "ja": "{forks}"},
    "aggregator.consortium.not_mirrored": {
        "en": "not every member could be mirrored: {failures} (the rest was mirrored; run again "
              "once the member's read API answers)",
        "ja": "ミラーできなかった会員があります: {failures}（他の会員はミラー済み。その会員の"
              "読み取り API が応答するようになったら、もう一度実行してください）"},
    "aggregator.consortium.witness_not_named": {
        "en": "the witness key {vkey} is not one of the [[witnesses]] of consortium {name!r}: "
              "its cosignatures would not count; add it to the consortium file first",
        "ja": "監視者の鍵 {vkey} はコンソーシアム '{name}' の [[witnesses]] にありません。この鍵の"
              "連署は数えられません。先にコンソーシアムのファイルに追加してください"},
    "aggregator.consortium.witness_forks": {
        "en": "this witness saw a fork by {members}; the evidence is in its state files under "
              "{path}",
        "ja": "この監視者は {members} のフォーク（矛盾する二つの署名）を検出しました。証拠は "
              "{path} の状態ファイルにあります"},
    "aggregator.consortium.not_witnessed": {
        "en": "not every member log could be witnessed: {members} (run again later)",
        "ja": "連署できなかった会員のログがあります: {members}（後でもう一度実行してください）"},
    # --- the mirrors (aggregator.mirror, aggregator.mirror_store) ---
    "aggregator.mirror.fork_recorded": {
        "en": "{member}: this mirror recorded a fork by {origin} in {path} ({reason}); it "
              "refuses this log until the consortium has dealt with it",
        "ja": "{member}: このミラーは {origin} のフォークを {path} に記録しています（記録された"
              "理由、証拠の原文のまま: {reason}）。コンソーシアムが対処するまで、このログを受け"
              "付けません"},
    "aggregator.mirror.fork": {
        "en": "{member}: {reason}. Both signed checkpoints are kept in {path}; the mirror keeps "
              "its earlier view and refuses this log from now on",
        "ja": "{member}: ログの不正（フォーク）です — {reason}。署名済みチェックポイントの両方を "
              "{path} に保存しました。ミラーは以前の内容を保ち、今後このログを受け付けません。"
              "コンソーシアムの他の会員と監視者に知らせてください"},
    "aggregator.mirror.not_utf8": {
        "en": "{member}: the checkpoint served is not UTF-8",
        "ja": "{member}: 配信されたチェックポイントが UTF-8 ではありません"},
    "aggregator.mirror.bad_checkpoint": {
        "en": "{member}: the checkpoint served by {url} does not verify under the log key "
              "{vkey}: {error}",
        "ja": "{member}: {url} が配信したチェックポイントをログ鍵 {vkey} で検証できません: "
              "{error}。コンソーシアムのファイルの log_key を確認してください"},
    "aggregator.mirror.internal": {
        "en": "internal error: {kind}: {error}",
        "ja": "内部エラー: {kind}: {error}。-v を付けて再実行し、続く場合は報告してください"},
    "aggregator.mirror.alarm_damaged": {
        "en": "fork alarm {path} is damaged: {error}; restore it from a backup (it is evidence: "
              "never delete it)",
        "ja": "フォークの警報ファイル {path} が壊れています（{error}）。バックアップから復元して"
              "ください（証拠なので、決して削除しないでください）"},
    "aggregator.mirror.member_name": {
        "en": "member name {name!r} cannot name a directory",
        "ja": "会員名 '{name}' はディレクトリ名に使えません。コンソーシアムのファイルの name を"
              "直してください"},
    "aggregator.mirror.alarm_unreadable": {
        "en": "cannot read fork alarm {path}: {reason}",
        "ja": "フォークの警報ファイル {path} を読めません（{reason}）。権限を確認してください"},
    "aggregator.mirror.alarm_unwritable": {
        "en": "cannot write fork alarm {path}: {reason}",
        "ja": "フォークの警報ファイル {path} を書けません（{reason}）。ディスクの空きと権限を"
              "確認してください"},
    "aggregator.mirror.altered": {
        "en": "the mirror holds {size} entries but its last verified checkpoint has size "
              "{checkpoint}: the mirror's store was altered; restore it",
        "ja": "ミラーには {size} 件のエントリがありますが、最後に検証したチェックポイントの"
              "サイズは {checkpoint} です。ミラーのストアが改変されています。復元してください"},
    "aggregator.mirror.count": {
        "en": "{origin}: {n} entries after {first} do not make the checkpoint's size {size}",
        "ja": "{origin}: {first} 以降の {n} 件のエントリでは、チェックポイントのサイズ {size} に"
              "なりません"},
    "aggregator.mirror.root": {
        "en": "{origin}: the entries served do not hash to the root of the signed checkpoint "
              "of size {size}; nothing was stored",
        "ja": "{origin}: 配信されたエントリのハッシュが、署名済みチェックポイント（サイズ "
              "{size}）のルートと一致しません。何も保存していません"},
    "aggregator.mirror.not_canonical": {
        "en": "entry {index} is not a canonical JSON record: {error}",
        "ja": "エントリ {index} は正規形の JSON の記録ではありません: {error}"},
    "aggregator.mirror.no_type": {"en": "entry {index} has no type",
                                  "ja": "エントリ {index} に type がありません"},
    # --- claim tokens and equipment (aggregator.equipment_claims, aggregator.claim_settings) ---
    "aggregator.claims.secret_unreadable": {
        "en": "claim-token secret file {path}: cannot read it: {reason}",
        "ja": "クレーム・トークンの秘密ファイル {path} を読めません（{reason}）。aggregator.toml "
              "の [consortium] claim_secret_file を確認してください"},
    "aggregator.claims.secret_open": {
        "en": "claim-token secret file {path} may be read by others (mode {mode}): chmod 600 "
              "it; the consortium's secret must stay with its members",
        "ja": "クレーム・トークンの秘密ファイル {path} を他のユーザーが読めます（モード {mode}）。"
              "chmod 600 {path} を実行してください。コンソーシアムの秘密は会員の外に出しては"
              "いけません"},
    "aggregator.claims.no_mirror": {
        "en": "no mirror of {member}'s log in {path}: equipment cannot be looked up in it; run "
              "'eco-aggregator mirror --once' first",
        "ja": "{path} に {member} のログのミラーがありません。設備を照会できません。先に "
              "'eco-aggregator mirror --once' を実行してください"},
    "aggregator.claims.no_secret": {
        "en": "equipment was given but aggregator.toml has no [consortium] claim_secret_file to "
              "make its claim tokens with (docs/consortium.md)",
        "ja": "設備が指定されましたが、aggregator.toml にクレーム・トークンを作るための "
              "[consortium] claim_secret_file がありません（docs/consortium.md 参照）"},
    "aggregator.claims.equipment_missing": {
        "en": "refused: this town is in a consortium, so each crediting meter names its "
              "equipment for the claim-token look-up; missing for {meters}: enter {kinds} "
              "(--equipment inverter=MANUFACTURER:SERIAL, ev-charger=MANUFACTURER:SERIAL or "
              "vin=VIN; the web UI's equipment rows)",
        "ja": "登録できません。この自治体はコンソーシアムに参加しているため、算定対象の計測器ごとに"
              "設備の識別情報（クレーム・トークン照会用）が必要です。{meters} の設備がありません。"
              "{kinds} を入力してください（--equipment inverter=メーカー:製造番号、"
              "ev-charger=メーカー:製造番号 または vin=車台番号。Web画面では設備の行）"},
    "aggregator.claims.secret_not_named": {
        "en": "refused: this town's current claim-token secret (key id {key_id}) is not one the "
              "consortium names in {path} (claim_token_key_ids: {named}); tokens made with it "
              "would match no other member's and fail every basket: install the consortium's "
              "secret in claim_secret_file",
        "ja": "登録できません。この自治体の現在のクレーム・トークン秘密鍵（鍵ID {key_id}）は、"
              "{path} でコンソーシアムが指定する鍵（claim_token_key_ids: {named}）ではありません。"
              "この鍵で作るトークンは他の参加自治体のものと照合できず、バスケット検証で不合格に"
              "なります。claim_secret_file にコンソーシアムの秘密鍵を置いてください"},
    "aggregator.claims.holding": {
        "en": "the {kind} entered is already enrolled at {member} (device {device}, household "
              "{household}, enrolled {at}, log entry {index})",
        "ja": "入力された{kind}は、すでに {member} で登録されています（機器 {device}、世帯 "
              "{household}、登録 {at}、ログのエントリ {index}）"},
    "aggregator.claims.claimed": {
        "en": "refused: {clashes}. One piece of equipment is credited once: the holder revokes "
              "its enrolment first (a household moving between towns), or correct the identity",
        "ja": "登録できません: {clashes}。一つの設備は一度しか計上できません。転居の場合は先に"
              "登録元で登録を取り消してもらうか、設備の識別番号を訂正してください"},
    "aggregator.claims.contested": {
        "en": "device {device}: {reason}", "ja": "機器 {device}: {reason}"},
    "aggregator.claims.not_sealed": {
        "en": "batch {batch} not sealed: {devices}. Settle the double claim (revoke one of the "
              "enrolments; eco-aggregator consortium-audit lists them), then plan the batch "
              "again",
        "ja": "バッチ {batch} を封印しませんでした: {devices}。二重登録を解消し（どちらかの登録を"
              "取り消す。一覧は eco-aggregator consortium-audit）、バッチを計画し直してください"},
    "aggregator.claims.also_enrolled": {
        "en": "its {kind} is also enrolled at {member} (device {device})",
        "ja": "その{kind}は {member} でも登録されています（機器 {device}）"},
    "aggregator.claims.audit_no_mirror": {
        "en": "no mirror of {member}'s log in {path}: run 'eco-aggregator mirror --once' first",
        "ja": "{path} に {member} のログのミラーがありません。先に 'eco-aggregator mirror "
              "--once' を実行してください"},
    "aggregator.claims.settings_table": {
        "en": "{where}: [consortium] must be a table",
        "ja": "{where}: [consortium] はテーブルで指定してください"},
    "aggregator.claims.settings_unknown": {
        "en": "{where} [consortium]: unknown key {key} (allowed: {allowed})",
        "ja": "{where} [consortium]: 不明なキー {key}（使えるキー: {allowed}）"},
    "aggregator.claims.settings_text": {
        "en": "{where} [consortium]: {key} must be a non-empty string",
        "ja": "{where} [consortium]: {key} は空でない文字列で指定してください"},
    "aggregator.claims.settings_secret": {
        "en": "{where} [consortium]: claim_secret_file is missing (the file of claim-token "
              "secrets the consortium gave this town; docs/consortium.md)",
        "ja": "{where} [consortium]: claim_secret_file がありません（コンソーシアムからこの町に"
              "渡されたクレーム・トークンの秘密のファイル。docs/consortium.md 参照）"},
    "aggregator.claims.settings_together": {
        "en": "{where} [consortium]: file, member and mirrors go together (the consortium file, "
              "this town's name in it, and the mirrors' directory)",
        "ja": "{where} [consortium]: file、member、mirrors は三つそろえて指定してください"
              "（コンソーシアムのファイル、その中のこの町の名前、ミラーのディレクトリ）"},
}
