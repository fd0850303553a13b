"""The aggregator's messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): what ``eco-aggregator`` prints when a command is refused, for
the municipality's operator. The web UI's own texts are in :mod:`aggregator.webui.i18n`."""

from __future__ import annotations

from collections.abc import Mapping

from .messages_catalog_certificate_credential import CATALOG as _CERT_CREDENTIAL
from .messages_catalog_consortium import CATALOG as _CONSORTIUM
from .messages_catalog_services import CATALOG as _SERVICES

CATALOG: dict[str, Mapping[str, str]] = {
    # --- the command line's frame ---
    "aggregator.cli.error": {"en": "eco-aggregator: {message}", "ja": "eco-aggregator: {message}"},
    "aggregator.cli.config_error": {"en": "eco-aggregator: configuration: {message}",
                                    "ja": "eco-aggregator: 設定の誤り: {message}"},
    "aggregator.cli.misbehaviour": {
        "en": "eco-aggregator: LOG MISBEHAVIOUR: {message}",
        "ja": "eco-aggregator: ログの不正（フォーク）を検出: {message}"},
    "aggregator.cli.protocol_error": {"en": "eco-aggregator: {message}{what}",
                                      "ja": "eco-aggregator: {message}{what}"},
    "aggregator.cli.repair_file": {
        "en": "; repair the file (its mode must be 0600) or restore it from a backup, then run "
              "the command again",
        "ja": "。ファイルを修復する（モードは 0600）かバックアップから復元してから、コマンドを"
              "もう一度実行してください"},
    "aggregator.cli.run_again": {
        "en": "; run the command again with -v, and report it if it persists",
        "ja": "。-v を付けてコマンドをもう一度実行し、続く場合は報告してください"},
    # --- the configuration file ---
    "aggregator.config.missing": {
        "en": "config file {path} not found; create one with 'eco-aggregator init DIR'",
        "ja": "設定ファイル {path} がありません。'eco-aggregator init DIR' で作成してください"},
    "aggregator.config.unreadable": {
        "en": "config file {path}: {error}",
        "ja": "設定ファイル {path} を読めません: {error}"},
    "aggregator.config.not_toml": {
        "en": "config file {path}: not valid TOML ({error}); fix the line it names",
        "ja": "設定ファイル {path} が TOML として正しくありません（{error}）。示された行を直して"
              "ください"},
    "aggregator.config.missing_key": {
        "en": "{where}: missing key '{key}'",
        "ja": "{where}: キー '{key}' がありません。追加してください"},
    "aggregator.config.wrong_type": {
        "en": "{where}: '{key}' must be {type}, got {value}",
        "ja": "{where}: '{key}' は {type} で指定してください（指定値 {value}）"},
    "aggregator.config.unknown_section": {
        "en": "{where}: unknown section [{section}]{hint}; the sections are {sections}",
        "ja": "{where}: 不明なセクション [{section}]{hint}。使えるセクションは {sections} です"},
    "aggregator.config.not_table": {"en": "{where}: [{section}] must be a table",
                                    "ja": "{where}: [{section}] はテーブルで指定してください"},
    "aggregator.config.unknown_key": {
        "en": "{where} [{section}]: unknown key '{key}'{hint}; remove it or see the README's "
              "configuration reference",
        "ja": "{where} [{section}]: 不明なキー '{key}'{hint}。削除するか、README の設定リファレンス"
              "を確認してください"},
    "aggregator.config.store_url": {"en": "{where}: 'url' {error}",
                                    "ja": "{where}: 'url' の誤り: {error}"},
    "aggregator.config.broker": {"en": "{where}: broker {error}",
                                 "ja": "{where}: broker の誤り: {error}"},
    "aggregator.config.group_max": {
        "en": "{where} [ingest]: group_max must be 1–10000",
        "ja": "{where} [ingest]: group_max は 1～10000 で指定してください"},
    "aggregator.config.share_group": {
        "en": "{where}: share_group {name} must be one topic level (no '/', '+', '#'); e.g. "
              "share_group = \"agg-\" followed by 32 random hex digits",
        "ja": "{where}: share_group {name} はトピックの 1 階層で指定してください（'/'、'+'、'#' は"
              "不可）。例: share_group = \"agg-\" に続けてランダムな 16 進数 32 桁"},
    "aggregator.config.url_replaces": {"en": "{where}: 'url' replaces {keys}; remove them",
                                       "ja": "{where}: 'url' は {keys} に代わるものです。削除して"
                                             "ください"},
    "aggregator.config.backend": {
        "en": "{where}: 'backend' {backend}: name the store with 'url' instead, e.g. url = "
              "\"postgresql://eco@db.example/eco_ledger\"",
        "ja": "{where}: 'backend' {backend}: 代わりに 'url' で保存先を指定してください（例 url = "
              "\"postgresql://eco@db.example/eco_ledger\"）"},
    "aggregator.config.must_be_table": {"en": "{where}: must be a table",
                                        "ja": "{where}: テーブルで指定してください"},
    "aggregator.config.vkeys_list": {
        "en": "{where}: 'vkeys' must be a list of verifier key strings",
        "ja": "{where}: 'vkeys' は検証鍵の文字列のリストで指定してください"},
    "aggregator.config.vkeys_bad": {"en": "{where}: 'vkeys': {error}",
                                    "ja": "{where}: 'vkeys' の誤り: {error}"},
    "aggregator.config.did_path_host": {"en": "{where}: 'path' needs 'host' too",
                                        "ja": "{where}: 'path' には 'host' も必要です"},
    "aggregator.config.did_host": {
        "en": "{where}: host {host} is not a host name; give the lowercase DNS name that serves "
              "the DID document, e.g. host = \"eco-ledger.example-city.lg.jp\" (a port as "
              "\"host:8443\")",
        "ja": "{where}: host {host} はホスト名ではありません。DID 文書を配信する小文字の DNS 名を"
              "指定してください（例 host = \"eco-ledger.example-city.lg.jp\"、ポートは "
              "\"host:8443\"）"},
    "aggregator.config.did_path": {
        "en": "{where}: path {path}: use segments of letters, digits, '.', '_', '~', '-' "
              "separated by '/', e.g. path = \"eco/credit\"",
        "ja": "{where}: path {path}: 英字・数字・'.'・'_'・'~'・'-' の区切りを '/' でつないで"
              "ください（例 path = \"eco/credit\"）"},
    "aggregator.config.tls_contradiction": {
        "en": "{where}: tls = false contradicts the mqtts:// broker URL",
        "ja": "{where}: tls = false は mqtts:// のブローカー URL と矛盾します"},
    "aggregator.config.tls_required": {
        "en": "{where}: broker {host} is not on loopback: TLS is required there "
              "(docs/protocol.md §3); use mqtts://HOST:8883 and ca_file",
        "ja": "{where}: ブローカー {host} はループバックではないため TLS が必要です"
              "（docs/protocol.md §3）。mqtts://HOST:8883 と ca_file を使ってください"},
    "aggregator.config.password_both": {
        "en": "{where}: set password or password_file, not both",
        "ja": "{where}: password と password_file はどちらか一方だけ指定してください"},
    "aggregator.config.password_no_user": {
        "en": "{where}: a password without a username; set username too",
        "ja": "{where}: username のない password です。username も指定してください"},
    "aggregator.config.in_section": {"en": "{where}: {error}", "ja": "{where}: {error}"},
    "aggregator.config.did_you_mean": {"en": " (did you mean '{word}'?)",
                                       "ja": "（'{word}' のことですか？）"},
    # --- the log and its store ---
    "aggregator.ledger.no_key": {
        "en": "log key {path} does not exist; run 'eco-aggregator init'",
        "ja": "ログ鍵 {path} がありません。'eco-aggregator init' を実行してください"},
    "aggregator.ledger.other_key": {
        "en": "this ledger is signed with log key {stored}, but the configured key is {vkey}; "
              "point the config at the right key file",
        "ja": "この台帳はログ鍵 {stored} で署名されていますが、設定の鍵は {vkey} です。設定を正しい"
              "鍵ファイルに向けてください"},
    "aggregator.ledger.old_backup": {
        "en": "the store holds {size} entries but the log already signed a checkpoint of size "
              "{signed}: this looks like an old backup. Restore the latest store (or a mirror); "
              "the log will not sign a second history",
        "ja": "保存先には {size} 件しかありませんが、ログはすでにサイズ {signed} のチェックポイント"
              "に署名しています（古いバックアップのようです）。最新の保存先（またはミラー）を復元"
              "してください。ログは二つ目の履歴には署名しません"},
    "aggregator.ledger.altered": {
        "en": "the stored tree's root at size {size} differs from the signed checkpoint: the "
              "store was altered. Run 'eco-aggregator ledger verify' to find the entry",
        "ja": "サイズ {size} での保存された木のルートが署名済みチェックポイントと異なります（保存先"
              "が改変されました）。'eco-aggregator ledger verify' で該当エントリを探してください"},
    "aggregator.ledger.key_changed": {
        "en": "the log key was changed by another process (eco-aggregator log-key rotate); "
              "restart this one so that it loads the new key",
        "ja": "ログ鍵が別のプロセスで変更されました（eco-aggregator log-key rotate）。新しい鍵を"
              "読み込むため、このプロセスを再起動してください"},
    "aggregator.ledger.rollback": {
        "en": "ROLLBACK: the log already published a checkpoint of size {size} ({file}), but the "
              "store holds {held} entries{different}. The store was restored from an old backup "
              "or altered. Restore the latest store or a mirror; the log will not sign a second "
              "history",
        "ja": "巻き戻し: ログはすでにサイズ {size} のチェックポイントを公開しています（{file}）が、"
              "保存先には {held} 件{different}。保存先が古いバックアップから復元されたか改変され"
              "ました。最新の保存先かミラーを復元してください。ログは二つ目の履歴には署名しません"},
    "aggregator.ledger.different_history": {"en": " with a different history",
                                            "ja": "（別の履歴）"},
    "aggregator.ledger.no_checkpoint": {
        "en": "the log has no signed checkpoint yet; nothing to publish",
        "ja": "ログにはまだ署名済みチェックポイントがありません。公開するものはありません"},
    "aggregator.store.bad_chars": {
        "en": "--store {url}: quotes, backslashes and newlines are not allowed in a store URL",
        "ja": "--store {url}: 保存先 URL に引用符・バックスラッシュ・改行は使えません"},
    "aggregator.store.not_sqlite": {
        "en": "{url} is not a SQLite URL: write sqlite:///relative/path or "
              "sqlite:////absolute/path",
        "ja": "{url} は SQLite の URL ではありません。sqlite:///相対パス か "
              "sqlite:////絶対パス の形で指定してください"},
    "aggregator.store.not_postgres": {"en": "{url} is not a PostgreSQL URL: {error}",
                                      "ja": "{url} は PostgreSQL の URL ではありません: {error}"},
    "aggregator.store.scheme": {
        "en": "{url}: a store URL starts with sqlite:/// (one file) or postgresql:// (a server)",
        "ja": "{url}: 保存先 URL は sqlite:///（ファイル）か postgresql://（サーバー）で始めて"
              "ください"},
    # --- release, the personal data store, serve, witness ---
    "aggregator.release.revoked": {
        "en": "device {device} is revoked (entry {index}); there is nothing to release",
        "ja": "機器 {device} は失効しています（エントリ {index}）。隔離を解除するものはありません"},
    "aggregator.release.not_quarantined": {"en": "device {device} is not quarantined{flag}",
                                           "ja": "機器 {device} は隔離されていません{flag}"},
    "aggregator.release.flag": {"en": " (its flag says {flag})",
                                "ja": "（機器の注意表示は {flag}）"},
    "aggregator.release.cannot": {"en": "cannot release: {error}",
                                  "ja": "隔離を解除できません: {error}"},
    "aggregator.personal.cannot_open": {
        "en": "cannot open the personal data store {path}: {reason}; check that the state "
              "directory exists and is writable by this user",
        "ja": "個人情報の保存先 {path} を開けません（{reason}）。状態ディレクトリがあり、この"
              "ユーザーが書き込めるか確認してください"},
    "aggregator.personal.damaged": {
        "en": "cannot open the personal data store {path}: {error}; if it is damaged, restore "
              "it from a backup",
        "ja": "個人情報の保存先 {path} を開けません: {error}。壊れている場合はバックアップから"
              "復元してください"},
    "aggregator.personal.write": {
        "en": "personal data store {path}: {error} (is its filesystem full or read-only? "
              "nothing was changed)",
        "ja": "個人情報の保存先 {path}: {error}（ファイルシステムが満杯か読み取り専用では？"
              "何も変更していません）"},
    "aggregator.serve.cannot_listen": {"en": "--http {listen}: cannot listen: {reason}",
                                       "ja": "--http {listen}: 待ち受けできません（{reason}）"},
    "aggregator.serve.ca_file": {
        "en": "[mqtt] ca_file {path}: {reason}; fix the path in the config or restore the file",
        "ja": "[mqtt] ca_file {path}: {reason}。設定のパスを直すか、ファイルを復元してください"},
    "aggregator.serve.mqtt": {"en": "[mqtt] {error}", "ja": "[mqtt] の誤り: {error}"},
    "aggregator.serve.no_log_key": {
        "en": "the ledger has no log key yet; run 'eco-aggregator init'",
        "ja": "台帳にまだログ鍵がありません。'eco-aggregator init' を実行してください"},
    "aggregator.witness.other_vkey": {
        "en": "{path} holds another verifier key ({vkey}); the witness name cannot change for "
              "an existing key",
        "ja": "{path} には別の検証鍵（{vkey}）があります。既存の鍵の監視者名は変更できません"},
    "aggregator.witness.origin": {"en": "checkpoint origin {new} is not {trusted}",
                                  "ja": "チェックポイントの origin {new} が {trusted} では"
                                        "ありません"},
    "aggregator.witness.older": {
        "en": "the log serves a checkpoint of size {size}, older than the size {trusted} this "
              "witness already cosigned (a stale mirror, or the log was rolled back); not "
              "cosigning",
        "ja": "ログが配信するチェックポイントのサイズ {size} は、この監視者が連署済みのサイズ "
              "{trusted} より古いです（古いミラーか、ログの巻き戻し）。連署しません"},
    "aggregator.witness.state_damaged": {
        "en": "witness state {where} is damaged: {error}; restore it from a backup (never delete "
              "it: it is what the witness trusts)",
        "ja": "監視者の状態ファイル {where} が壊れています: {error}。バックアップから復元して"
              "ください（削除しないでください。監視者が信頼する内容です）"},
    "aggregator.witness.state_unreadable": {
        "en": "cannot read witness state {path}: {reason}",
        "ja": "監視者の状態ファイル {path} を読めません（{reason}）"},
    "aggregator.witness.state_unwritable": {
        "en": "cannot write witness state {path}: {reason}",
        "ja": "監視者の状態ファイル {path} に書き込めません（{reason}）"},
    "aggregator.witness.vkey_unreadable": {
        "en": "{path}: cannot read the witness's verifier key ({reason}); create the key with "
              "'eco-aggregator witness-key FILE --name NAME'",
        "ja": "{path}: 監視者の検証鍵を読めません（{reason}）。'eco-aggregator witness-key FILE "
              "--name NAME' で鍵を作成してください"},
    "aggregator.witness.vkey_mismatch": {
        "en": "{path} does not belong to the private key {key} (or is not a cosignature/v1 key)",
        "ja": "{path} は秘密鍵 {key} のものではありません（または cosignature/v1 の鍵ではあり"
              "ません）"},
    "aggregator.witness.state_other": {
        "en": "witness state {path} belongs to log key {log_vkey} and witness key "
              "{witness_vkey}; use another --state file",
        "ja": "監視者の状態ファイル {path} はログ鍵 {log_vkey} と監視者の鍵 {witness_vkey} の"
              "ものです。別の --state ファイルを使ってください"},
    "aggregator.witness.fork_recorded": {
        "en": "this witness recorded a fork by {log} in {path} ({reason}); it will not cosign "
              "this log again",
        "ja": "この監視者は {log} のフォークを {path} に記録しています（{reason}）。このログには"
              "二度と連署しません"},
    "aggregator.witness.fork": {
        "en": "{reason}. Both signed checkpoints are kept in {path} as evidence; this witness "
              "will not cosign this log again",
        "ja": "{reason}。署名済みチェックポイントの両方を証拠として {path} に保存しました。この"
              "監視者はこのログに二度と連署しません"},
    "aggregator.witness.bad_checkpoint": {
        "en": "the log's checkpoint does not verify under {vkey}: {error}",
        "ja": "ログのチェックポイントを {vkey} で検証できません: {error}"},
    "aggregator.witness.refused": {"en": "the log refused the cosignature: HTTP {status} {error}",
                                   "ja": "ログが連署を拒否しました: HTTP {status} {error}"},
    "aggregator.witness.moving": {
        "en": "the log signed a new checkpoint each time this witness cosigned one ({n} "
              "attempts); try again later",
        "ja": "この監視者が連署するたびにログが新しいチェックポイントに署名しました（{n} 回）。"
              "後でもう一度試してください"},
    "aggregator.broker.set_login": {
        "en": "{path} [mqtt]: set username = \"eco-aggregator\" and password_file = "
              "\"broker/aggregator.password\" (the aggregator's own broker login), then run this "
              "again",
        "ja": "{path} [mqtt]: username = \"eco-aggregator\" と password_file = "
              "\"broker/aggregator.password\"（アグリゲータ自身のブローカーのログイン）を設定して"
              "から、もう一度実行してください"},
    "aggregator.broker.bind": {
        "en": "--bind {bind}: the plain listener must stay on loopback; devices elsewhere use "
              "the TLS listener (docs/protocol.md §3)",
        "ja": "--bind {bind}: 暗号化なしの待ち受けはループバックに限ります。ほかの機器は TLS の"
              "待ち受けを使います（docs/protocol.md §3）"},
    "aggregator.broker.client_certs": {
        "en": "--client-certs needs the TLS listener (drop --no-tls)",
        "ja": "--client-certs には TLS の待ち受けが必要です（--no-tls を外してください）"},
    "aggregator.broker.no_tls": {
        "en": "no TLS material ({missing}): run 'eco-aggregator ca init' and 'eco-aggregator ca "
              "server-cert --host NAME' first, or use --no-tls for a loopback-only broker",
        "ja": "TLS の証明書・鍵がありません（{missing}）。先に 'eco-aggregator ca init' と "
              "'eco-aggregator ca server-cert --host NAME' を実行するか、ループバック専用の"
              "ブローカーなら --no-tls を使ってください"},
    "aggregator.ui.listen": {
        "en": "{what} {text}: expected HOST:PORT, e.g. 127.0.0.1:8081 (port 0: any free port)",
        "ja": "{what} {text}: HOST:PORT の形で指定してください（例 127.0.0.1:8081、ポート 0 は"
              "空いている任意のポート）"},
    "aggregator.ui.passwords_differ": {"en": "the two passwords differ",
                                       "ja": "二つのパスワードが一致しません"},
    "aggregator.ui.no_device": {
        "en": "household {reference} ({household}) has no enrolled device; enrol it first",
        "ja": "世帯 {reference}（{household}）には登録された機器がありません。先に登録して"
              "ください"},
    "aggregator.ca.days": {"en": "--days {days}: a validity of 1–36500 days",
                           "ja": "--days {days}: 有効期間は 1～36500 日で指定してください"},
    "aggregator.ca.name": {"en": "CA name {name}: 1–64 characters",
                           "ja": "CA の名前 {name}: 1～64 文字で指定してください"},
    "aggregator.ca.host": {
        "en": "--host {host}: expected a DNS name (broker.example-city.lg.jp) or an IP address",
        "ja": "--host {host}: DNS 名（broker.example-city.lg.jp）か IP アドレスを指定して"
              "ください"},
    "aggregator.ca.half": {
        "en": "{dir} holds only half a CA (ca.key or ca.crt); move it away and run "
              "'eco-aggregator ca init' again",
        "ja": "{dir} には CA の片方（ca.key か ca.crt）しかありません。別の場所に移してから "
              "'eco-aggregator ca init' をもう一度実行してください"},
    "aggregator.ca.none": {"en": "no CA in {dir}: run 'eco-aggregator ca init' first",
                           "ja": "{dir} に CA がありません。先に 'eco-aggregator ca init' を"
                                 "実行してください"},
    "aggregator.ca.cert_unreadable": {
        "en": "cannot read the CA certificate {path}: {error}",
        "ja": "CA の証明書 {path} を読めません: {error}"},
    "aggregator.ca.not_ecdsa": {"en": "CA key {path} is not an ECDSA key",
                                "ja": "CA の鍵 {path} は ECDSA の鍵ではありません"},
    "aggregator.ca.no_host": {
        "en": "give the broker's name with --host (repeat it for more names)",
        "ja": "--host でブローカーの名前を指定してください（複数なら繰り返し指定）"},
    # --- broker logins and secret files ---
    "aggregator.broker.bad_line": {
        "en": "{where}:{n}: not a 'username:$7$…' line; the password file is damaged (restore "
              "it, or reissue passwords with 'eco-aggregator broker-password')",
        "ja": "{where}:{n}: 'username:$7$…' の行ではありません。パスワードファイルが壊れています"
              "（復元するか、'eco-aggregator broker-password' でパスワードを再発行してください）"},
    "aggregator.broker.twice": {"en": "{where}:{n}: user {user} appears twice",
                                "ja": "{where}:{n}: ユーザー {user} が二度現れます"},
    "aggregator.broker.own_login": {
        "en": "[mqtt] username and password_file (or password) are needed: the aggregator's "
              "listener admits only the aggregator's own login",
        "ja": "[mqtt] username と password_file（または password）が必要です。アグリゲータ用の"
              "待ち受けはアグリゲータ自身のログインだけを受け付けます"},
    "aggregator.broker.cannot_read": {
        "en": "cannot read the broker password file {path}: {reason}",
        "ja": "ブローカーのパスワードファイル {path} を読めません（{reason}）"},
    "aggregator.broker.too_large": {
        "en": "{path} is larger than any password file we write",
        "ja": "{path} は、このシステムが書くパスワードファイルより大きすぎます"},
    "aggregator.broker.not_utf8": {
        "en": "{path} is not UTF-8: the password file is damaged",
        "ja": "{path} が UTF-8 ではありません。パスワードファイルが壊れています"},
    "aggregator.broker.cannot_write": {
        "en": "cannot write the broker password file {path}: {reason}",
        "ja": "ブローカーのパスワードファイル {path} に書き込めません（{reason}）"},
    "aggregator.broker.login_not_stored": {
        "en": "device {device} is enrolled, but its broker login could not be stored: {error}; "
              "fix that, then run 'eco-aggregator broker-password {device}'",
        "ja": "機器 {device} は登録されましたが、ブローカーのログイン情報を保存できませんでした: "
              "{error}。原因を直してから 'eco-aggregator broker-password {device}' を実行して"
              "ください"},
    "aggregator.broker.revoked": {
        "en": "device {device} was revoked at entry {index}; it gets no broker access",
        "ja": "機器 {device} はログのエントリ {index} で失効しています。ブローカーには接続でき"
              "ません"},
    "aggregator.secret.missing": {
        "en": "{what} {path} does not exist; run 'eco-aggregator init'",
        "ja": "{what} {path} がありません。'eco-aggregator init' を実行してください"},
    "aggregator.secret.unreadable": {"en": "cannot read {what} {path}: {error}",
                                     "ja": "{what} {path} を読めません: {error}"},
    "aggregator.secret.readable_by_others": {
        "en": "{what} {path} is readable by others (mode {mode}); run: chmod 600 {path}",
        "ja": "{what} {path} が他のユーザーから読めます（モード {mode}）。chmod 600 {path} を"
              "実行してください"},
    "aggregator.secret.empty": {"en": "{what} {path} is empty",
                                "ja": "{what} {path} が空です"},
    # --- enrol ---
    "aggregator.enrol.enrolled_at_format": {
        "en": "--enrolled-at {text}: expected a JST day YYYY-MM-DD (its midnight) or a UTC "
              "instant YYYY-MM-DDTHH:MM:SSZ ({error})",
        "ja": "--enrolled-at {text}: 日本時間の日付 YYYY-MM-DD（その日の0時）か、UTC の時刻 "
              "YYYY-MM-DDTHH:MM:SSZ で指定してください（{error}）"},
    "aggregator.enrol.enrolled_at_future": {
        "en": "--enrolled-at {text}: {at} is in the future (now {now}); the participation date "
              "is the day the member joined, today or earlier",
        "ja": "--enrolled-at {text}: {at} は未来です（現在 {now}）。参加日は世帯が加入した日で、"
              "今日以前の日付を指定してください"},
    "aggregator.enrol.public_key": {
        "en": "--public-key: {error}; paste the public key 'eco-agent keygen' printed on the "
              "device (base64 of 32 bytes)",
        "ja": "--public-key: {error}。機器で 'eco-agent keygen' が表示した公開鍵（32 バイトの "
              "base64）を貼り付けてください"},
    "aggregator.enrol.fit_json": {"en": "--fit: {error}; give a JSON object",
                                  "ja": "--fit: {error}。JSON オブジェクトで指定してください"},
    "aggregator.enrol.fit_object": {"en": "--fit must be a JSON object",
                                    "ja": "--fit は JSON オブジェクトで指定してください"},
    "aggregator.enrol.terms": {
        "en": "the methodology needs more about this household: {problems} (use --installed, "
              "--fit-status, --battery/--no-battery, --ev-wh-per-km, --ev-petrol-km-per-l)",
        "ja": "方法論の計算に、この世帯についての情報が足りません: {problems}（--installed、"
              "--fit-status、--battery/--no-battery、--ev-wh-per-km、--ev-petrol-km-per-l で"
              "指定してください）"},
    "aggregator.enrol.meter_format": {
        "en": "{what} {text}: expected id:quantity:protocol:rated_w, e.g. "
              "pv1:pv_generation:sunspec-modbus:4500",
        "ja": "{what} {text}: id:quantity:protocol:rated_w の形で指定してください（例 "
              "pv1:pv_generation:sunspec-modbus:4500）"},
    "aggregator.enrol.meter_quantity": {
        "en": "{what} {text}: {value} is not a quantity; use one of {allowed}",
        "ja": "{what} {text}: {value} は計測対象ではありません。{allowed} のいずれかを指定して"
              "ください"},
    "aggregator.enrol.meter_rated_w": {
        "en": "{what} {text}: rated_w {value} is not a whole number of watts",
        "ja": "{what} {text}: rated_w {value} がワット単位の整数ではありません"},
    "aggregator.enrol.meter_field": {"en": "{what} {text}: {error}",
                                     "ja": "{what} {text} の誤り: {error}"},
    "aggregator.enrol.cannot": {"en": "cannot enrol: {error}", "ja": "登録できません: {error}"},
    "aggregator.enrol.already": {
        "en": "device {device} is already enrolled; revoke it and enrol a new key to replace it",
        "ja": "機器 {device} はすでに登録されています。置き換えるには失効させてから新しい鍵を"
              "登録してください"},
    # --- devices: revoke, rekey ---
    "aggregator.device.not_enrolled": {
        "en": "device {device} is not enrolled",
        "ja": "機器 {device} は登録されていません。機器 ID を確認してください"},
    "aggregator.device.bad_id": {
        "en": "{text} is not a device id (32 lowercase hex digits)",
        "ja": "{text} は機器 ID（小文字の 16 進数 32 桁）ではありません"},
    "aggregator.revoke.already": {
        "en": "device {device} was already revoked at entry {index}{removed}",
        "ja": "機器 {device} はすでにログのエントリ {index} で失効しています{removed}"},
    "aggregator.revoke.login_removed": {
        "en": "; its broker login, still present, was removed now",
        "ja": "。残っていたブローカーのログイン情報を今削除しました"},
    "aggregator.revoke.cannot": {"en": "cannot revoke: {error}", "ja": "失効できません: {error}"},
    "aggregator.device.no_login": {
        "en": "device {device} has no broker login in {file} (already suspended or revoked)",
        "ja": "機器 {device} のブローカーのログイン情報が {file} にありません（すでに停止または"
              "失効しています）"},
    "aggregator.device.revoked_not_restored": {
        "en": "device {device} was revoked at entry {index}; its suspended login was discarded, "
              "not restored",
        "ja": "機器 {device} はログのエントリ {index} で失効しています。停止中のログイン情報は"
              "復元せず破棄しました"},
    "aggregator.device.not_suspended": {
        "en": "device {device} is not suspended (see the fleet page)",
        "ja": "機器 {device} は停止されていません（機器の状況のページを確認してください）"},
    "aggregator.ui.no_lockout": {
        "en": "no failed logins are counted against {kind} {name}",
        "ja": "{kind} {name} にはログイン失敗の記録がありません"},
    "aggregator.ui.no_user": {"en": "no web UI user {name}",
                              "ja": "Web 画面の利用者 {name} はいません"},
    "aggregator.forget.nothing": {
        "en": "no personal data is kept for household {household} (already erased, never "
              "enrolled, or enrolled on another machine: run 'eco-aggregator forget' where its "
              "reference was typed)",
        "ja": "世帯 {household} の個人情報は保存されていません（消去済み、未登録、または別の"
              "マシンで登録。参照名を入力したマシンで 'eco-aggregator forget' を実行して"
              "ください）"},
    # --- points ---
    "aggregator.redeem.not_enrolled": {
        "en": "household {household} is not enrolled in {programme}",
        "ja": "世帯 {household} はプログラム {programme} に登録されていません"},
    "aggregator.redeem.balance": {
        "en": "{household} has {balance} points; {reward} needs {points}",
        "ja": "{household} のポイントは {balance} です。{reward} には {points} ポイント必要です"},
    "aggregator.redeem.no_reward": {
        "en": "no reward {reward} in the catalogue (have: {have})",
        "ja": "特典 {reward} はカタログにありません（あるもの: {have}）"},
    # --- programme.toml ---
    "aggregator.programme.missing": {
        "en": "programme file {path} not found; 'eco-aggregator init' writes an example",
        "ja": "プログラム設定 {path} がありません。'eco-aggregator init' が例を作成します"},
    "aggregator.programme.not_toml": {
        "en": "programme file {path}: not valid TOML ({error}); fix the line it names",
        "ja": "プログラム設定 {path} が TOML として正しくありません（{error}）。示された行を"
              "直してください"},
    "aggregator.programme.unreadable": {"en": "programme file {path}: {error}",
                                        "ja": "プログラム設定 {path} を読めません: {error}"},
    "aggregator.programme.key": {
        "en": "{where}: '{key}' is missing or not a {type}",
        "ja": "{where}: '{key}' がないか、{type} ではありません"},
    "aggregator.programme.rules_table": {"en": "{where}: 'rules' must be a table [rules]",
                                         "ja": "{where}: 'rules' はテーブル [rules] で指定して"
                                               "ください"},
    "aggregator.programme.demo_place": {
        "en": "{where} [rules]: 'demonstration' belongs under [programme] "
              "(demonstration = true|false), not [rules]",
        "ja": "{where} [rules]: 'demonstration' は [rules] ではなく [programme] に書いてください"
              "（demonstration = true|false）"},
    "aggregator.programme.rules_key": {
        "en": "{where} [rules]: unknown key {key} (known: {known})",
        "ja": "{where} [rules]: 不明なキー {key}（使えるキー: {known}）"},
    "aggregator.programme.demo_bool": {
        "en": "{where} [programme]: 'demonstration' must be true or false",
        "ja": "{where} [programme]: 'demonstration' は true か false で指定してください"},
    "aggregator.programme.rules": {"en": "{where} [rules]: {error}",
                                   "ja": "{where} [rules] の誤り: {error}"},
    "aggregator.programme.two_factors": {
        "en": "{where}: a fiscal year has two grid factors",
        "ja": "{where}: 同じ年度に電力の排出係数が二つあります"},
    # --- batches ---
    "aggregator.batch.period_format": {
        "en": "--period {text}: expected YYYY-MM-DD..YYYY-MM-DD (JST dates, end exclusive), "
              "end after start ({error})",
        "ja": "--period {text}: YYYY-MM-DD..YYYY-MM-DD（日本時間の日付、終了日は含まない）で、"
              "開始より後の終了日を指定してください（{error}）"},
    "aggregator.batch.methodology": {
        "en": "methodology {methodology}: a batch is 'pv' (household PV, EN-R-002) or 'ev' "
              "(electric vehicles)",
        "ja": "方法論 {methodology}: バッチは 'pv'（家庭の太陽光、EN-R-002）か 'ev'（電気自動車）"
              "です"},
    "aggregator.batch.overlap": {
        "en": "period {period} overlaps batch {batch} ({other}); periods of a programme's "
              "batches of one methodology never overlap, so no reading is credited twice: "
              "choose a period after it",
        "ja": "期間 {period} はバッチ {batch}（{other}）と重なっています。同じプログラム・同じ"
              "方法論のバッチの期間は重ねられません（同じ計測値を二重に計上しないため）。その後の"
              "期間を指定してください"},
    "aggregator.batch.factors": {
        "en": "the emission factors are not fit for certification: {problems}",
        "ja": "排出係数が認証に適していません: {problems}。programme.toml の "
              "[[methodology.grid_factors]] を確認してください"},
    "aggregator.batch.moved": {
        "en": "readings for this period arrived while the batch was being planned; preview "
              "again",
        "ja": "バッチの計画中にこの期間の計測値が届きました。もう一度プレビューしてください"},
    "aggregator.batch.not_sealed": {
        "en": "batch {batch} is not sealed in programme {programme}",
        "ja": "バッチ {batch} はプログラム {programme} で封印されていません"},
    "aggregator.batch.certified": {
        "en": "batch {batch} already has its serial range recorded",
        "ja": "バッチ {batch} のシリアル番号の範囲はすでに記録されています"},
    "aggregator.batch.not_sealed_below": {
        "en": "batch {batch} is not sealed below checkpoint size {size}",
        "ja": "バッチ {batch} はチェックポイント（サイズ {size}）より前に封印されていません"},
    "aggregator.batch.store_differs": {
        "en": "the store's covered readings of {batch} differ from its seal; run "
              "'eco-aggregator ledger verify'",
        "ja": "バッチ {batch} の対象の計測値が封印と異なります。'eco-aggregator ledger verify' "
              "を実行してください"},
}
CATALOG.update(_CONSORTIUM)  # mirror, consortium-witness/-audit, claim tokens (issue 18)
CATALOG.update(_SERVICES)  # credentials, did:web, certificates, store, HTTP, broker
CATALOG.update(_CERT_CREDENTIAL)  # a certificate bundle credential (issue 20)
