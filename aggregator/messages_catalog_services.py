"""The aggregator's messages for credentials, did:web, certificates, the store's environment,
the witness's HTTP fetches, the flood cut-off and the bundled Mosquitto, in English and
Japanese (data, merged into :mod:`aggregator.messages_catalog`)."""

from __future__ import annotations

from collections.abc import Mapping

CATALOG: dict[str, Mapping[str, str]] = {
    # --- credentials (aggregator.credentials, aggregator.status_list, cli/credentials.py) ---
    "aggregator.credentials.no_device": {
        "en": "household {household} has no device enrolled in programme {programme} (as of "
              "checkpoint size {size})",
        "ja": "世帯 {household} にはプログラム {programme} に登録された機器がありません"
              "（チェックポイントのサイズ {size} の時点）"},
    "aggregator.credentials.not_enrolled": {
        "en": "device {device} is not enrolled; see 'eco-aggregator {command}'",
        "ja": "機器 {device} は登録されていません。'eco-aggregator {command}' で確認してください"},
    "aggregator.credentials.revoked": {
        "en": "device {device} was revoked at entry {index}; an enrolment credential for it "
              "would be refused at once",
        "ja": "機器 {device} はエントリ {index} で失効しています。この機器の登録証明は発行しても"
              "すぐに拒否されます"},
    "aggregator.credentials.not_record": {
        "en": "device {device}: its stored enrolment is not a record; run 'eco-aggregator "
              "ledger verify'",
        "ja": "機器 {device}: 保存された登録が記録の形になっていません。'eco-aggregator ledger "
              "verify' を実行してください"},
    "aggregator.credentials.key_changed": {
        "en": "the log key file {path} holds {held}, but the ledger is signed with {vkey}; "
              "restart this process after 'eco-aggregator log-key rotate' has finished",
        "ja": "ログ鍵ファイル {path} の鍵は {held} ですが、台帳は {vkey} で署名されています。"
              "'eco-aggregator log-key rotate' が終わってから、このプロセスを再起動してください"},
    "aggregator.credentials.list_full": {
        "en": "every one of the status list's {n} positions is taken",
        "ja": "ステータスリストの {n} 個の位置がすべて使われています"},
    "aggregator.credentials.not_report": {
        "en": "{path} is not the report of batch {batch}",
        "ja": "{path} はバッチ {batch} の報告書ではありません。ファイルとバッチ ID を確認して"
              "ください"},
    # --- did:web (aggregator.did_web) ---
    "aggregator.did.no_host": {
        "en": "{path} [did]: the log origin {origin!r} is not a host name, so there is no "
              "default did:web; set [did] host (and path) to the host that will serve the "
              "municipality's DID document",
        "ja": "{path} [did]: ログの origin '{origin}' はホスト名ではないため、既定の did:web が"
              "ありません。自治体の DID ドキュメントを配信するホストを [did] host（と path）に"
              "設定してください"},
    "aggregator.did.no_key": {
        "en": "the ledger has no log key yet; run 'eco-aggregator init'",
        "ja": "台帳にまだログ鍵がありません。'eco-aggregator init' を実行してください"},
    "aggregator.did.change_not_record": {
        "en": "entry {index}, listed as a log key change, is not a record; run 'eco-aggregator "
              "ledger verify'",
        "ja": "ログ鍵の変更として記録されたエントリ {index} が記録の形になっていません。"
              "'eco-aggregator ledger verify' を実行してください"},
    "aggregator.did.chain": {
        "en": "the log's key changes do not verify: {error}; run 'eco-aggregator ledger verify'",
        "ja": "ログ鍵の変更を検証できません（{error}）。'eco-aggregator ledger verify' を実行"
              "してください"},
    "aggregator.did.chain_end": {
        "en": "the log's key changes end at {end}, not at the store's key {vkey}; run "
              "'eco-aggregator ledger verify'",
        "ja": "ログ鍵の変更の最後が {end} で、ストアの鍵 {vkey} ではありません。"
              "'eco-aggregator ledger verify' を実行してください"},
    "aggregator.did.no_checkpoint": {
        "en": "the log has not signed a checkpoint yet, so its DID document has no key in "
              "force; start 'eco-aggregator serve' or issue a command that signs one",
        "ja": "ログがまだチェックポイントに署名していないため、DID ドキュメントに有効な鍵が"
              "ありません。'eco-aggregator serve' を起動するか、チェックポイントに署名する"
              "コマンドを実行してください"},
    "aggregator.did.signed_at": {
        "en": "the first checkpoint's signed_at is not text; run 'eco-aggregator ledger verify'",
        "ja": "最初のチェックポイントの signed_at が文字列ではありません。'eco-aggregator "
              "ledger verify' を実行してください"},
    # --- certificates (aggregator.certificates, cli/certificates.py) ---
    "aggregator.certificates.nothing": {
        "en": "no certificate to issue for {start}..{end}: no hour of creditable self-consumed "
              "PV that is not already sealed into a J-Credit batch or issued",
        "ja": "{start}..{end} に発行できる証書はありません。J-クレジットのバッチに封印済みでも"
              "発行済みでもない、クレジット対象の太陽光の自家消費の時間がありません"},
    "aggregator.certificates.request_unreadable": {
        "en": "cannot read the request {path}: {reason}",
        "ja": "依頼ファイル {path} を読めません（{reason}）。パスを確認してください"},
    "aggregator.certificates.ids": {
        "en": "--ids {ids!r}: expected FIRST..LAST (certificate ids)",
        "ja": "--ids '{ids}': 最初..最後（証書の番号）の形で指定してください"},
    "aggregator.certificates.refused": {
        "en": "refused, the log is unchanged: {error}",
        "ja": "受け付けませんでした（ログは変わっていません）: {error}"},
    "aggregator.certificates.other_action": {
        "en": "this request asks to {action}, not to {expected}",
        "ja": "この依頼は {action} を求めるもので、{expected} ではありません。コマンドを確認して"
              "ください"},
    "aggregator.certificates.no_period": {
        "en": "a cancellation names the consumption period",
        "ja": "償却の依頼には消費期間が必要です"},
    "aggregator.certificates.no_checkpoint": {
        "en": "the log has no signed checkpoint yet; nothing can be proved",
        "ja": "ログにまだ署名済みのチェックポイントがないため、何も証明できません"},
    "aggregator.certificates.none_issued": {
        "en": "no issued certificate under the latest checkpoint (size {size}){household}"
              "{period}",
        "ja": "最新のチェックポイント（サイズ {size}）までに発行された証書がありません"
              "{household}{period}"},
    "aggregator.certificates.for_household": {"en": " for {household}",
                                              "ja": "（世帯 {household}）"},
    "aggregator.certificates.in_period": {"en": " in {start}..{end}",
                                          "ja": "（期間 {start}..{end}）"},
    # --- the ledger store's environment (aggregator.store) ---
    "aggregator.store.cannot_open": {
        "en": "cannot open ledger database {path}: {error} (is its filesystem full, read-only "
              "or failing?)",
        "ja": "台帳のデータベース {path} を開けません（{error}）。ファイルシステムが満杯、読み取り"
              "専用、または故障していないか確認してください"},
    "aggregator.store.damaged": {
        "en": "cannot open ledger database {path}: {error}",
        "ja": "台帳のデータベース {path} を開けません（{error}）。壊れている場合はバックアップか"
              "ミラーから復元し、'eco-aggregator ledger verify' を実行してください"},
    "aggregator.store.integrity": {
        "en": "ledger database {path} fails SQLite's integrity check: {bad}; restore it from a "
              "backup or a mirror, then run 'eco-aggregator ledger verify'",
        "ja": "台帳のデータベース {path} が SQLite の整合性検査に失敗しました（{bad}）。"
              "バックアップかミラーから復元し、'eco-aggregator ledger verify' を実行してください"},
    "aggregator.store.schema": {
        "en": "ledger database {path} has schema {version}, this program knows {known}",
        "ja": "台帳のデータベース {path} のスキーマは {version} ですが、このプログラムが扱えるのは "
              "{known} です。eco-aggregator のバージョンとデータベースを確認してください"},
    "aggregator.store.full": {
        "en": "ledger database {path}: {error} — the filesystem holding it is full, read-only "
              "or failing (check 'df -h' and the kernel log). Nothing of this transaction was "
              "committed and no receipt was sent for it: the broker keeps the readings and the "
              "devices keep them until they get one; restart once there is room again",
        "ja": "台帳のデータベース {path}: {error} — 置き場所のファイルシステムが満杯、読み取り"
              "専用、または故障しています（'df -h' とカーネルのログを確認してください）。この"
              "トランザクションは何も確定しておらず、受領通知も送っていません。計測値はブローカー"
              "と機器が受領通知を受けるまで保持します。空きができたら再起動してください"},
    "aggregator.store.pg_connect": {
        "en": "cannot connect to the PostgreSQL ledger store {location}: {error}; check [store] "
              "url, that the server runs and that the role may log in",
        "ja": "PostgreSQL の台帳ストア {location} に接続できません（{error}）。[store] url、"
              "サーバーが動いているか、ロールがログインできるかを確認してください"},
    "aggregator.store.meta_utf8": {
        "en": "meta row {key!r} of {path} is not UTF-8 text; run 'eco-aggregator ledger verify'",
        "ja": "{path} のメタ情報 '{key}' が UTF-8 の文字列ではありません。'eco-aggregator ledger "
              "verify' を実行してください"},
    "aggregator.store.no_entry": {
        "en": "entry {index} is missing from {where}",
        "ja": "{where} にエントリ {index} がありません。バックアップかミラーから復元し、"
              "'eco-aggregator ledger verify' を実行してください"},
    "aggregator.store.no_leaf": {
        "en": "leaf {index} is missing from {where}",
        "ja": "{where} に葉（エントリ {index} のハッシュ）がありません。'eco-aggregator ledger "
              "verify' を実行してください"},
    "aggregator.store.no_node": {
        "en": "interior hash (level {level}, index {index}) is missing from {where}; run "
              "'eco-aggregator ledger verify'",
        "ja": "{where} に内部ハッシュ（レベル {level}、番号 {index}）がありません。"
              "'eco-aggregator ledger verify' を実行してください"},
    "aggregator.store.not_blob": {
        "en": "{what} is stored as {stored}, not as a BLOB; restore the store from a backup or a "
              "mirror, then run 'eco-aggregator ledger verify'",
        "ja": "{what} が BLOB ではなく {stored} として保存されています。バックアップかミラーから"
              "ストアを復元し、'eco-aggregator ledger verify' を実行してください"},
    # --- the witness's and the mirror's HTTP fetches (aggregator.witness.LogClient) ---
    "aggregator.http.status": {
        "en": "GET {url}: HTTP {code} {error}",
        "ja": "GET {url}: HTTP {code} {error}（相手のサーバーが拒否しました。URL を確認して"
              "ください）"},
    "aggregator.http.unreachable": {
        "en": "GET {url}: {error}",
        "ja": "GET {url} に接続できません（{error}）。相手の読み取り API が動いているか、URL と"
              "ネットワークを確認してください"},
    "aggregator.http.too_large": {
        "en": "GET {url}: response larger than {limit} bytes",
        "ja": "GET {url}: 応答が {limit} バイトを超えています"},
    "aggregator.http.post_unreachable": {
        "en": "POST {url}: {error}",
        "ja": "POST {url} に接続できません（{error}）。相手の読み取り API が動いているか確認して"
              "ください"},
    # --- tiles a witness or a mirror fetched, checked against the signed root (aggregator.tiles)
    "aggregator.tiles.subtree": {
        "en": "subtree (level {level}, index {index}) is not in the tree of size {size}",
        "ja": "部分木（レベル {level}、番号 {index}）はサイズ {size} の木にありません"},
    "aggregator.tiles.length": {
        "en": "{path} has {got} bytes, expected {expected}",
        "ja": "{path} が {got} バイトです（{expected} バイトのはずです）"},
    "aggregator.tiles.outside": {
        "en": "tile {tile} is not in the tree of size {size}",
        "ja": "タイル {tile} はサイズ {size} の木にありません"},
    "aggregator.tiles.not_edge": {
        "en": "{path} is not on the right edge of the tree of size {size}",
        "ja": "{path} はサイズ {size} の木の右端にありません"},
    "aggregator.tiles.parent": {
        "en": "{path} does not hash to its entry in the tile above: the server's tiles are not "
              "those of the checkpoint of size {size}",
        "ja": "{path} のハッシュが上のタイルの値と一致しません。サーバーのタイルはサイズ {size} "
              "のチェックポイントのものではありません"},
    "aggregator.tiles.root": {
        "en": "the server's partial tiles do not reproduce the root hash of the checkpoint of "
              "size {size}",
        "ja": "サーバーの部分タイルから、サイズ {size} のチェックポイントのルートハッシュを再現"
              "できません"},
    # --- the witness's findings and key file (aggregator.witness) ---
    "aggregator.witness.two_roots": {
        "en": "the log signed two checkpoints of size {size} with different root hashes",
        "ja": "ログが同じサイズ {size} で、ルートハッシュの異なる二つのチェックポイントに署名"
              "しました"},
    "aggregator.witness.not_extending": {
        "en": "the log's checkpoint of size {size} does not extend the checkpoint of size "
              "{trusted} this witness cosigned: {error}",
        "ja": "ログのサイズ {size} のチェックポイントは、この監視者が連署したサイズ {trusted} の"
              "チェックポイントの続きになっていません（{error}）"},
    "aggregator.witness.vkey_bad": {
        "en": "{path}: {error}",
        "ja": "{path} の監視者の検証鍵が正しくありません: {error}"},
    "aggregator.witness.log_keys_shape": {
        "en": "GET /log-keys: a change is not {{index, entry_b64, proof_b64}}: {error}",
        "ja": "GET /log-keys: 鍵の変更が {{index, entry_b64, proof_b64}} の形ではありません: "
              "{error}"},
    "aggregator.witness.log_keys_record": {
        "en": "GET /log-keys: entry {index} is not a record",
        "ja": "GET /log-keys: エントリ {index} が記録の形になっていません"},
    # --- the flood cut-off (aggregator.flood_cutoff) ---
    "aggregator.flood.unreadable": {
        "en": "cannot read {path}: {error}; it holds the password hashes of devices suspended "
              "for flooding (restore it from a backup, or reissue their logins with "
              "'eco-aggregator broker-password DEVICE_ID')",
        "ja": "{path} を読めません（{error}）。送信過多で停止した機器のパスワードのハッシュが"
              "入っています。バックアップから復元するか、'eco-aggregator broker-password "
              "DEVICE_ID' でログインを再発行してください"},
    "aggregator.flood.not_object": {
        "en": "{path} is not a JSON object: the file is damaged",
        "ja": "{path} が JSON のオブジェクトではありません。ファイルが壊れています。バックアップ"
              "から復元してください"},
    "aggregator.flood.unwritable": {
        "en": "cannot write {path}: {reason}",
        "ja": "{path} を書けません（{reason}）。ディスクの空きと権限を確認してください"},
    # --- the bundled Mosquitto (aggregator.mosquitto) ---
    "aggregator.mosquitto.missing": {
        "en": "mosquitto is not installed: run 'make deps' (apt-get install mosquitto)",
        "ja": "mosquitto がインストールされていません。'make deps'（apt-get install mosquitto）"
              "を実行してください"},
    "aggregator.mosquitto.exited": {
        "en": "mosquitto exited with {code}; see {log}",
        "ja": "mosquitto が終了コード {code} で終了しました。{log} を確認してください"},
    "aggregator.mosquitto.no_listen": {
        "en": "mosquitto did not listen on port {port} within {timeout}s",
        "ja": "mosquitto が {timeout} 秒以内にポート {port} で待ち受けを始めませんでした。"
              "ポートが他で使われていないか確認してください"},
}
