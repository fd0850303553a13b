"""The device agent's messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): ``eco-agent``'s output and the errors it prints, for the
installer at the box."""

# Over the 600-line rule on purpose: the lines are the catalogue, each message with its English
# and Japanese side by side, so that a missing or stale translation shows in review; split in
# two, one command's messages would be looked for in several files.

from __future__ import annotations

from collections.abc import Mapping

from .messages_catalog_meters import CATALOG as _METERS_CATALOG

_BROKER_CAUSES: dict[str, tuple[str, str]] = {
    "refused": ("connection refused", "接続を拒否されました"),
    "name": ("name not resolved", "ホスト名を解決できません"),
    "tls_untrusted": ("TLS handshake failed: certificate not signed by ca_file",
                      "TLS の接続確立に失敗：証明書が ca_file で署名されていません"),
    "tls_not_yet_valid": ("TLS handshake failed: the broker's certificate is not yet valid",
                          "TLS の接続確立に失敗：ブローカーの証明書がまだ有効期間前です"),
    "tls_expired": ("TLS handshake failed: the broker's certificate has expired",
                    "TLS の接続確立に失敗：ブローカーの証明書の有効期限が切れています"),
    "tls_hostname": ("TLS handshake failed: the certificate is for another host name",
                     "TLS の接続確立に失敗：証明書が別のホスト名のものです"),
    "tls": ("TLS handshake failed", "TLS の接続確立に失敗しました"),
    "timeout": ("timeout", "応答がありません（タイムアウト）"),
    "unreachable": ("network unreachable", "ネットワークに到達できません"),
    "other": ("connection failed", "接続に失敗しました"),
}
_BROKER_WHAT: dict[str, tuple[str, str]] = {
    "refused": ("nothing listens on that port: check [uplink] broker (host and port) and that "
                "the broker runs",
                "そのポートで待ち受けているものがありません。[uplink] broker（ホストとポート）と、"
                "ブローカーが動いていることを確認してください"),
    "name": ("check the host name in [uplink] broker and the box's DNS",
             "[uplink] broker のホスト名と、この機器の DNS 設定を確認してください"),
    "tls_untrusted": ("the broker's certificate is not signed by {ca_file}: check [uplink] "
                      "ca_file and [uplink] broker",
                      "ブローカーの証明書が {ca_file} で署名されていません。[uplink] ca_file と "
                      "[uplink] broker を確認してください"),
    "tls_not_yet_valid": ("the box's clock is probably behind (a Pi without RTC boots in the "
                          "past): wait for NTP, check timedatectl",
                          "この機器の時計が遅れている可能性があります（RTC のない Pi は過去の時刻で"
                          "起動します）。NTP の同期を待ち、timedatectl で確認してください"),
    "tls_expired": ("check the box's clock (timedatectl); if it is right, the municipality "
                    "must renew the broker's certificate",
                    "この機器の時計を確認してください（timedatectl）。正しければ、自治体がブローカー"
                    "の証明書を更新する必要があります"),
    "tls_hostname": ("[uplink] broker must use the host name the certificate names",
                     "[uplink] broker には証明書に記載されたホスト名を使ってください"),
    "tls": ("check [uplink] tls and ca_file, and that the port speaks TLS",
            "[uplink] tls と ca_file、そのポートが TLS で待ち受けていることを確認してください"),
    "timeout": ("no answer: check the network, a firewall, and [uplink] broker",
                "応答がありません。ネットワーク、ファイアウォール、[uplink] broker を"
                "確認してください"),
    "unreachable": ("check the box's network connection",
                    "この機器のネットワーク接続を確認してください"),
    "other": ("check [uplink] broker and the network",
              "[uplink] broker とネットワークを確認してください"),
}

CATALOG: dict[str, Mapping[str, str]] = {
    # --- the command line's frame ---
    "agent.cli.error": {"en": "eco-agent: {message}", "ja": "eco-agent: {message}"},
    "agent.cli.message": {"en": "{message}", "ja": "{message}"},
    "agent.cli.config_error": {"en": "eco-agent: configuration error: {message}",
                               "ja": "eco-agent: 設定の誤り: {message}"},
    "agent.cli.os_error": {
        "en": "eco-agent: {reason}{where}: check the path and its permissions",
        "ja": "eco-agent: {reason}{where}。パスとその権限を確認してください"},
    "agent.cli.os_where": {"en": " ({path})", "ja": "（{path}）"},
    "agent.words.the_config": {"en": "the agent's config", "ja": "エージェントの設定ファイル"},
    "agent.error.with_advice": {"en": "{error}; {advice}", "ja": "{error}。{advice}"},
    # --- init / provision / keygen ---
    "agent.init.exists": {
        "en": "{path} already exists; not overwriting it. Edit it, or choose another path",
        "ja": "{path} はすでにあります。上書きしません。そのファイルを編集するか、別のパスを"
              "指定してください"},
    "agent.init.cannot_write": {
        "en": "cannot write {path}: {reason}; check that its directory is writable",
        "ja": "{path} に書き込めません（{reason}）。ディレクトリに書き込めるか確認して"
              "ください"},
    "agent.init.wrote": {
        "en": "wrote {path}; edit [device] state_dir, log_key and [[meters]], then run "
              "'eco-agent keygen {path}'",
        "ja": "{path} を作成しました。[device] state_dir、log_key と [[meters]] を編集してから "
              "'eco-agent keygen {path}' を実行してください"},
    "agent.provision.paste": {
        "en": "paste the snippet from the enrolment page (or its QR code's text), then Ctrl-D:",
        "ja": "登録結果のページの設定断片（または QR コードの文字列）を貼り付け、Ctrl-D を押して"
              "ください:"},
    "agent.provision.cannot_read": {
        "en": "cannot read the snippet {path}: {reason}; check the file, or pipe the snippet "
              "into 'eco-agent provision CONFIG -'",
        "ja": "設定断片 {path} を読めません（{reason}）。ファイルを確認するか、設定断片を "
              "'eco-agent provision CONFIG -' に標準入力で渡してください"},
    "agent.provision.bad_log_key": {
        "en": "provisioning snippet: [device] log_key is not a log verifier key ({error}); scan "
              "or copy the enrolment page again",
        "ja": "設定断片: [device] log_key がログ検証鍵ではありません（{error}）。登録結果のページを"
              "もう一度読み取るかコピーしてください"},
    "agent.provision.bad_broker": {"en": "provisioning snippet: [uplink] broker {error}",
                                   "ja": "設定断片: [uplink] broker の誤り: {error}"},
    "agent.provision.bad_username": {
        "en": "provisioning snippet: [uplink] username must be the device id (32 lowercase hex "
              "digits)",
        "ja": "設定断片: [uplink] username は機器 ID（小文字の 16 進数 32 桁）である必要が"
              "あります"},
    "agent.provision.empty_password": {"en": "provisioning snippet: [uplink] password is empty",
                                       "ja": "設定断片: [uplink] password が空です"},
    "agent.provision.too_long": {
        "en": "provisioning snippet: longer than {n} bytes; is this the text of the enrolment "
              "page's QR code?",
        "ja": "設定断片: {n} バイトを超えています。登録結果のページの QR コードの文字列ですか？"},
    "agent.provision.not_toml": {
        "en": "provisioning snippet: not valid TOML ({error}); copy or scan it again from the "
              "enrolment page",
        "ja": "設定断片: TOML として正しくありません（{error}）。登録結果のページからもう一度"
              "コピーするか読み取ってください"},
    "agent.provision.unknown_sections": {
        "en": "provisioning snippet: unknown section(s) {sections}; it may only set [device] "
              "log_key and [uplink] broker, username, password",
        "ja": "設定断片: 不明なセクション {sections}。設定できるのは [device] log_key と "
              "[uplink] broker、username、password だけです"},
    "agent.provision.not_table": {"en": "provisioning snippet: [{section}] must be a table",
                                  "ja": "設定断片: [{section}] はテーブルである必要があります"},
    "agent.provision.unknown_keys": {
        "en": "provisioning snippet: unknown key(s) in [{section}]: {keys}",
        "ja": "設定断片: [{section}] に不明なキー: {keys}"},
    "agent.provision.not_string": {
        "en": "provisioning snippet: [{section}] {key} must be a string",
        "ja": "設定断片: [{section}] {key} は文字列である必要があります"},
    "agent.provision.missing_key": {
        "en": "provisioning snippet: [{section}] {key} is missing; copy or scan the whole "
              "snippet from the enrolment page",
        "ja": "設定断片: [{section}] {key} がありません。登録結果のページから設定断片の全体を"
              "コピーするか読み取ってください"},
    "agent.provision.config_not_toml": {
        "en": "{path}: not valid TOML ({error}); fix the line it names, then run provision again",
        "ja": "{path}: TOML として正しくありません（{error}）。示された行を直してから provision を"
              "もう一度実行してください"},
    "agent.provision.other_log_key": {
        "en": "{path}: [device] log_key is already {old}, the snippet has {new}. A box pins its "
              "log key; if the municipality changed it (a log-key rotation), run provision again "
              "with --force, otherwise check that this page is for this installation. Nothing "
              "was changed",
        "ja": "{path}: [device] log_key はすでに {old} で、設定断片は {new} です。機器はログ鍵を"
              "固定します。自治体が鍵を変更した（ログ鍵の更新）場合は --force を付けて provision を"
              "もう一度実行し、そうでなければこのページがこの設置先のものか確認してください。"
              "何も変更していません"},
    "agent.provision.unusual_layout": {
        "en": "{path}: could not set the snippet's keys in this file (an unusual layout); copy "
              "them into [device] and [uplink] by hand",
        "ja": "{path}: このファイルに設定断片のキーを書き込めませんでした（通常と異なる構成）。"
              "[device] と [uplink] に手で写してください"},
    "agent.provision.unreadable_key": {
        "en": "cannot read the device key {path} to check the snippet is for this box: {error}",
        "ja": "設定断片がこの機器のものか確かめるための機器の鍵 {path} を読めません: {error}"},
    "agent.provision.other_device": {
        "en": "this snippet is for device {device}, but this box's key ({path}) is device "
              "{own}: print the enrolment page of this device, or enrol this box's public key "
              "(eco-agent keygen prints it). Nothing was changed",
        "ja": "この設定断片は機器 {device} のものですが、この機器の鍵（{path}）は機器 {own} "
              "です。この機器の登録結果のページを印刷するか、この機器の公開鍵（eco-agent keygen "
              "が表示）を登録してください。何も変更していません"},
    "agent.provision.cannot_write": {
        "en": "cannot write {path}: {reason}; check that its directory is writable by this user",
        "ja": "{path} に書き込めません（{reason}）。このユーザーがそのディレクトリに書き込めるか"
              "確認してください"},
    "agent.provision.wrote": {
        "en": "wrote {path} (mode 0600: it holds the broker login)",
        "ja": "{path} を書き込みました（ブローカーのログイン情報を含むためモード 0600）"},
    "agent.provision.wrote_new": {
        "en": "wrote {path} (mode 0600: it holds the broker login); it is new: set [device] "
              "state_dir and the [[meters]] of this box in it",
        "ja": "{path} を書き込みました（ブローカーのログイン情報を含むためモード 0600）。新しい"
              "ファイルです。この機器の [device] state_dir と [[meters]] を設定してください"},
    "agent.provision.no_password": {
        "en": "no broker password yet: the snippet had none (it is shown only once). Ask the "
              "municipality to issue one (the device's page in the web UI, or 'eco-aggregator "
              "broker-password DEVICE_ID') and run provision again with the new page",
        "ja": "ブローカーのパスワードがまだありません。設定断片に含まれていませんでした（表示は"
              "一度だけです）。自治体に発行を依頼し（Web 画面の機器のページ、または "
              "'eco-aggregator broker-password DEVICE_ID'）、新しいページで provision をもう一度"
              "実行してください"},
    "agent.provision.no_key": {
        "en": "no device key in [device] state_dir: the enrolled public key came from "
              "'eco-agent keygen' on this box; check state_dir, or restore the key from its "
              "backup (a new key is a new, unenrolled device)",
        "ja": "[device] state_dir に機器の鍵がありません。登録された公開鍵はこの機器の "
              "'eco-agent keygen' で作られたものです。state_dir を確認するか、鍵をバックアップから"
              "復元してください（新しい鍵は未登録の別の機器になります）"},
    "agent.provision.then": {
        "en": "then: 'eco-agent probe {path} METER_ID' for each meter, 'systemctl restart "
              "eco-agent' (or 'eco-agent run {path}'), and 'eco-agent status {path}' to see it "
              "deliver; for an mqtts:// broker with the municipality's own CA, set [uplink] "
              "ca_file to its ca.crt",
        "ja": "次に: 各計測器で 'eco-agent probe {path} METER_ID'、'systemctl restart eco-agent'"
              "（または 'eco-agent run {path}'）を実行し、'eco-agent status {path}' で送信を確認"
              "してください。自治体独自の CA の mqtts:// ブローカーなら [uplink] ca_file にその "
              "ca.crt を指定してください"},
    "agent.config.missing": {
        "en": "config file {path} does not exist: create one with 'eco-agent init {path}'",
        "ja": "設定ファイル {path} がありません。'eco-agent init {path}' で作成してください"},
    "agent.config.in_file": {"en": "{path}: {error}", "ja": "{path}: {error}"},
    "agent.config.not_toml": {
        "en": "not valid TOML ({error}); fix the line it names",
        "ja": "TOML として正しくありません（{error}）。示された行を直してください"},
    "agent.config.file_not_toml": {
        "en": "{path}: not valid TOML ({error}); fix the line it names",
        "ja": "{path}: TOML として正しくありません（{error}）。示された行を直してください"},
    "agent.config.log_key_empty": {
        "en": "[device] log_key is empty: paste the log's verifier key (name+keyid+base64) from "
              "your enrolment letter",
        "ja": "[device] log_key が空です。登録通知書にあるログの検証鍵（name+keyid+base64）を"
              "貼り付けてください"},
    "agent.config.log_key_invalid": {
        "en": "[device] log_key is not a valid verifier key ({error}); copy it exactly as "
              "name+keyid+base64 from your enrolment letter",
        "ja": "[device] log_key が検証鍵として正しくありません（{error}）。登録通知書から "
              "name+keyid+base64 のとおり正確に写してください"},
    "agent.config.no_such_meter": {
        "en": "no meter '{meter}' in the config (configured: {known})",
        "ja": "設定に計測器 '{meter}' がありません（設定済み: {known}）"},
    "agent.config.tls_contradiction": {
        "en": "[uplink] tls = false contradicts the mqtts:// broker URL: remove tls or use "
              "mqtt://",
        "ja": "[uplink] tls = false は mqtts:// のブローカー URL と矛盾します。tls を削除するか "
              "mqtt:// を使ってください"},
    "agent.config.tls_required": {
        "en": "[uplink] broker {host} is not on loopback: TLS is required there "
              "(docs/protocol.md §3); use mqtts://HOST:8883",
        "ja": "[uplink] broker {host} はループバックではないため TLS が必要です"
              "（docs/protocol.md §3）。mqtts://HOST:8883 を使ってください"},
    "agent.config.unknown_sections": {
        "en": "unknown section(s) {sections}; allowed: [device], [uplink], [clock], [[meters]]",
        "ja": "不明なセクション {sections}。使えるのは [device]、[uplink]、[clock]、[[meters]] "
              "です"},
    "agent.config.no_device": {
        "en": "[device] section is missing: add it with at least state_dir",
        "ja": "[device] セクションがありません。少なくとも state_dir を書いて追加してください"},
    "agent.config.no_meters": {
        "en": "no [[meters]] configured: add at least one [[meters]] table",
        "ja": "[[meters]] が設定されていません。[[meters]] テーブルを一つ以上追加してください"},
    "agent.config.duplicate_meter": {
        "en": "[[meters]] id '{meter}' is used twice: meter ids must be unique",
        "ja": "[[meters]] の id '{meter}' が二度使われています。計測器の id は重複できません"},
    "agent.config.interval": {
        "en": "[device] interval_minutes = {interval} does not divide a day (1440 minutes): use "
              "one of {divisors}, …",
        "ja": "[device] interval_minutes = {interval} は 1 日（1440 分）を割り切れません。"
              "{divisors} などを指定してください"},
    "agent.config.broker": {"en": "[uplink] broker = {error}",
                            "ja": "[uplink] broker の誤り: {error}"},
    "agent.config.cert_and_key": {
        "en": "[uplink] cert_file and key_file go together (the device certificate from "
              "'eco-aggregator ca client-cert' and its key)",
        "ja": "[uplink] cert_file と key_file は両方指定してください（'eco-aggregator ca "
              "client-cert' で作った機器の証明書とその鍵）"},
    "agent.config.cert_needs_tls": {
        "en": "[uplink] cert_file needs TLS: use mqtts://HOST:8883",
        "ja": "[uplink] cert_file には TLS が必要です。mqtts://HOST:8883 を使ってください"},
    "agent.config.clock_time": {
        "en": "[clock] {key} = {value}: use an RFC 3339 UTC time like \"2026-06-21T00:00:00Z\"",
        "ja": "[clock] {key} = {value}: \"2026-06-21T00:00:00Z\" のような RFC 3339 の UTC 時刻で"
              "指定してください"},
    "agent.config.clock_invalid": {"en": "[clock] {key} = {value} is not a valid date-time",
                                   "ja": "[clock] {key} = {value} は正しい日時ではありません"},
    "agent.config.clock_mode": {
        "en": "[clock] mode = {value}: use \"system\" or \"accelerated\"",
        "ja": "[clock] mode = {value}: \"system\" か \"accelerated\" を指定してください"},
    "agent.config.clock_extra": {
        "en": "[clock] {keys} only apply to mode = \"accelerated\": remove them or set the mode",
        "ja": "[clock] {keys} は mode = \"accelerated\" のときだけ使えます。削除するか mode を"
              "設定してください"},
    "agent.config.clock_missing": {"en": "[clock] mode = \"accelerated\" needs {keys}",
                                   "ja": "[clock] mode = \"accelerated\" には {keys} が必要です"},
    "agent.config.clock_jump": {
        "en": "[clock] boot_at and jump_after_s go together: the clock reads boot_at at "
              "origin_sim and is set jump_after_s clock seconds later",
        "ja": "[clock] boot_at と jump_after_s は両方指定してください（時計は origin_sim に "
              "boot_at を示し、jump_after_s 秒後に合わせられます）"},
    "agent.config.meter_table": {"en": "{where} must be a table ([[meters]] header)",
                                 "ja": "{where} はテーブル（[[meters]] の見出し）で指定して"
                                       "ください"},
    "agent.config.meter_id": {
        "en": "{where} id = {value}: use 1–32 letters, digits, '_', '.' or '-', starting with a "
              "letter or digit (e.g. \"pv1\")",
        "ja": "{where} id = {value}: 英字・数字・'_'・'.'・'-' の 1～32 文字で、英字か数字で"
              "始めてください（例 \"pv1\"）"},
    "agent.config.meter_quantity": {
        "en": "{where} quantity = {value}: use one of {allowed}",
        "ja": "{where} quantity = {value}: {allowed} のいずれかを指定してください"},
    "agent.config.meter_protocol": {
        "en": "{where} protocol = {value}: this agent supports {allowed}",
        "ja": "{where} protocol = {value}: このエージェントが対応するのは {allowed} です"},
    "agent.config.broute_id": {
        "en": "{where} broute_id must be the 32-character B-route ID from your power company "
              "(got {n} characters)",
        "ja": "{where} broute_id には電力会社から通知された 32 文字の B ルート ID を指定して"
              "ください（{n} 文字でした）"},
    "agent.config.broute_password_one": {
        "en": "{where}: set exactly one of broute_password and broute_password_file (a file "
              "only the agent can read is better)",
        "ja": "{where}: broute_password と broute_password_file のどちらか一方だけを指定して"
              "ください（エージェントだけが読めるファイルの方が安全です）"},
    "agent.config.broute_password": {
        "en": "{where} broute_password must be 1–32 printable ASCII characters without spaces "
              "(got {n} characters)",
        "ja": "{where} broute_password は空白を含まない 1～32 文字の ASCII 文字で指定してください"
              "（{n} 文字でした）"},
    "agent.config.broute_family": {
        "en": "{where} family = {value}: use one of {allowed} (auto detects it)",
        "ja": "{where} family = {value}: {allowed} のいずれかを指定してください（auto は"
              "自動判別）"},
    "agent.config.echonet_object": {
        "en": "{where} echonet_object = {value}: use one of {allowed}",
        "ja": "{where} echonet_object = {value}: {allowed} のいずれかを指定してください"},
    "agent.config.echonet_quantity": {
        "en": "{where} quantity = {value} cannot be read from echonet_object = {obj}: use "
              "{allowed}",
        "ja": "{where} quantity = {value} は echonet_object = {obj} からは読めません。{allowed} "
              "を指定してください"},
    "agent.config.broute_cached": {
        "en": "{where}: wisun_channel, pan_id and meter_mac are a cached scan result; give all "
              "three or none",
        "ja": "{where}: wisun_channel、pan_id、meter_mac はスキャン結果の控えです。三つとも指定"
              "するか、どれも指定しないでください"},
    "agent.config.meter_mac": {
        "en": "{where} meter_mac = {value}: use the 16 hex digits of the EPANDESC Addr line",
        "ja": "{where} meter_mac = {value}: EPANDESC の Addr 行の 16 桁の 16 進数を指定して"
              "ください"},
    "agent.config.mqtt_broker": {"en": "{where} {key} = {error}",
                                 "ja": "{where} {key} の誤り: {error}"},
    "agent.config.mqtt_field": {
        "en": "{where} field = {value}: use one of {allowed}",
        "ja": "{where} field = {value}: {allowed} のいずれかを指定してください"},
    "agent.config.mqtt_topic": {"en": "{where} topic = {value}: {error}",
                                "ja": "{where} topic = {value} の誤り: {error}"},
    "agent.config.key_not_for_protocol": {
        "en": "{where} {key} does not apply to protocol = \"{protocol}\" ({why}): remove it",
        "ja": "{where} {key} は protocol = \"{protocol}\" には使えません（{why}）。削除して"
              "ください"},
    "agent.config.cannot_read": {
        "en": "cannot read config file {path}: {reason}",
        "ja": "設定ファイル {path} を読めません（{reason}）"},
    "agent.keygen.cannot_create": {
        "en": "cannot create {path}: {reason}; check that {state_dir} is writable",
        "ja": "{path} を作成できません（{reason}）。{state_dir} に書き込めるか確認して"
              "ください"},
    # --- the device key ---
    "agent.key.missing_fresh": {
        "en": "no device key at {path}: run 'eco-agent keygen {conf}' first",
        "ja": "機器の鍵 {path} がありません。先に 'eco-agent keygen {conf}' を実行してください"},
    "agent.key.readings_signed": {"en": ", {n} readings signed", "ja": "、署名済みの計測値 {n} 件"},
    "agent.key.missing_enrolled": {
        "en": "no device key at {path}, but this box already has an identity ({evidence}"
              "{signed}, device {device}). Restore {path} from your backup. Without a backup, do "
              "not mint a new identity silently: ask the municipality for a rekey "
              "('eco-aggregator rekey {device} --public-key NEW'), after creating the new key "
              "with 'eco-agent keygen --new-identity {conf}'",
        "ja": "機器の鍵 {path} がありませんが、この機器にはすでに識別情報があります（{evidence}"
              "{signed}、機器 {device}）。{path} をバックアップから復元してください。バックアップが"
              "ない場合、黙って新しい識別情報を作らず、'eco-agent keygen --new-identity {conf}' "
              "で新しい鍵を作ってから、自治体に鍵の交換を依頼してください（'eco-aggregator rekey "
              "{device} --public-key NEW'）"},
    # --- the log key pinned by the box (agent.runner) ---
    "agent.logkey.changes_bad": {
        "en": "the log key changes recorded in the state file do not verify: {error}; restore "
              "[device] log_key to the key you trust and run with --accept-new-log-key",
        "ja": "状態ファイルに記録されたログ鍵の変更を検証できません: {error}。[device] log_key を"
              "信頼できる鍵に戻し、--accept-new-log-key を付けて実行してください"},
    "agent.logkey.differs": {
        "en": "[device] log_key ({name}) differs from the key pinned earlier ({old}). If the "
              "municipality really changed its log key, run 'eco-agent run --accept-new-log-key "
              "CONFIG' once.",
        "ja": "[device] log_key（{name}）が以前に固定した鍵（{old}）と異なります。自治体が本当に"
              "ログ鍵を変更した場合は、'eco-agent run --accept-new-log-key CONFIG' を一度実行して"
              "ください。"},
    # --- the box's durable state (agent.outbox, agent.state) ---
    "agent.outbox.cannot_open": {
        "en": "cannot open outbox {path}: {error}",
        "ja": "送信待ちの保存先 {path} を開けません: {error}。state_dir のファイルシステムを確認"
              "してください"},
    "agent.outbox.other_device": {
        "en": "outbox {path} belongs to device {owner}, but the key in the state directory is "
              "device {device}: the device key was replaced. Restore the original device.key, "
              "or move the outbox aside (keep it) and have the device re-enrolled.",
        "ja": "送信待ちの保存先 {path} は機器 {owner} のものですが、状態ディレクトリの鍵は機器 "
              "{device} です（機器の鍵が置き換えられました）。元の device.key を復元するか、"
              "送信待ちの保存先を別の場所に移して（保管して）機器を登録し直してください。"},
    "agent.outbox.sent_open": {
        "en": "cannot open {path}: {reason}; check that the filesystem holding it is writable "
              "and not full ('df -h {parent}')",
        "ja": "{path} を開けません（{reason}）。そのファイルシステムが書き込み可能で満杯でないか"
              "確認してください（'df -h {parent}'）"},
    "agent.outbox.sent_write": {
        "en": "cannot record the sent mark in {path}: {reason}; nothing new is sent until it "
              "can be (the readings stay in the outbox)",
        "ja": "{path} に送信済みの印を記録できません（{reason}）。記録できるまで新たには送信しま"
              "せん（計測値は送信待ちの保存先に残ります）"},
    "agent.state.cannot_write": {"en": "cannot write state file {path}: {error}",
                                 "ja": "状態ファイル {path} に書き込めません: {error}"},
    "agent.state.both_bad": {
        "en": "state file {path} is {problem} and its backup {bak} is {bak_problem}. Stop the "
              "agent, move both files aside and start again: meter identities are re-learnt, "
              "the log key is re-pinned from the config, enrolment details must be entered "
              "again.",
        "ja": "状態ファイル {path} は {problem}、そのバックアップ {bak} は {bak_problem} です。"
              "エージェントを止め、両方のファイルを別の場所に移してから起動し直してください"
              "（計測器の識別情報は再取得され、ログ鍵は設定から固定し直され、登録の詳細は再入力が"
              "必要です）。"},
    # --- serial ports (agent.diagnose) ---
    "agent.serial.permission": {
        "en": "permission denied on {port}: add the agent's user to the dialout group "
              "(sudo usermod -aG dialout {user}; log in again / restart the unit)",
        "ja": "{port} へのアクセス権がありません。エージェントのユーザーを dialout グループに追加"
              "してください（sudo usermod -aG dialout {user}。ログインし直すか、サービスを"
              "再起動）"},
    "agent.serial.no_device": {
        "en": "no device at {port}: check [[meters]] port in {conf} and `ls /dev/serial/by-id/`",
        "ja": "{port} に機器がありません。{conf} の [[meters]] port と `ls /dev/serial/by-id/` "
              "を確認してください"},
    "agent.serial.busy": {
        "en": "another program holds {port} (ModemManager? another agent?): find it with "
              "`fuser -v {port}` and stop it",
        "ja": "別のプログラムが {port} を使用中です（ModemManager や別のエージェント）。"
              "`fuser -v {port}` で見つけて停止してください"},
    "agent.serial.no_answer": {
        "en": "the meter did not answer at {baudrate} baud on {port}: check [[meters]] "
              "baudrate/address in {conf} and the wiring (A/B swapped?)",
        "ja": "{port} で {baudrate} baud では計測器が応答しません。{conf} の [[meters]] "
              "baudrate/address と配線（A/B の入れ違い）を確認してください"},
    "agent.serial.other": {
        "en": "serial port error on {port}: check the cable and [[meters]] port in {conf}",
        "ja": "{port} のシリアルポートの誤り。ケーブルと {conf} の [[meters]] port を確認して"
              "ください"},
    "agent.meter.sunspec": {
        "en": "meter '{meter}' (SunSpec unit {unit} on {port}): {cause}",
        "ja": "計測器 '{meter}'（{port} の SunSpec ユニット {unit}）: {cause}"},
    "agent.meter.broute": {
        "en": "meter '{meter}' (ECHONET Lite over Wi-SUN on {port}): {cause}",
        "ja": "計測器 '{meter}'（{port} の Wi-SUN 経由 ECHONET Lite）: {cause}"},
    "agent.meter.layout": {"en": "unexpected SunSpec layout: {error}",
                           "ja": "想定外の SunSpec のレジスタ構成です: {error}"},
    "agent.meter.attempts": {"en": "{error} (after {n} attempts)",
                             "ja": "{error}（{n} 回試行しました）"},
    # --- MQTT devices (agent.meters.mqtt_devices, agent.meters.mqtt_meter) ---
    "agent.mqtt.meter": {"en": "meter '{meter}' ({device} on {url}): {error}",
                         "ja": "計測器 '{meter}'（{url} の {device}）: {error}"},
    "agent.mqtt.hint.tasmota": {
        "en": "check the device's MQTT Topic (it publishes tele/<topic>/SENSOR every TelePeriod, "
              "300 s by default) and that energy monitoring is on",
        "ja": "機器の MQTT Topic（TelePeriod ごと、既定 300 秒ごとに tele/<topic>/SENSOR を送信）"
              "と、電力量の計測が有効かを確認してください"},
    "agent.mqtt.hint.shelly": {
        "en": "check the topic prefix in its MQTT settings and that RPC status notifications "
              "(rpc_ntf) or generic status updates (status_ntf) are on",
        "ja": "MQTT 設定のトピックの接頭辞と、RPC status notifications（rpc_ntf）または generic "
              "status updates（status_ntf）が有効かを確認してください"},
    "agent.mqtt.hint.openevse": {
        "en": "check the base topic on its MQTT page (it publishes <base>/total_energy every "
              "30 s)",
        "ja": "MQTT のページのベーストピックを確認してください（30 秒ごとに <base>/total_energy を"
              "送信します）"},
    "agent.mqtt.offline": {
        "en": "the device announced it is offline ({text}) on {topic} at {at}{before}; check "
              "its power supply and network",
        "ja": "機器が {at} に {topic} でオフライン（{text}）を通知しました{before}。電源と"
              "ネットワークを確認してください"},
    "agent.mqtt.offline_last": {"en": "; its last reading was heard {s} s before that",
                                "ja": "（最後の計測値はその {s} 秒前）"},
    "agent.mqtt.unusable_yet": {
        "en": "nothing usable heard yet: the last payload on {topic} was unusable: {problem}",
        "ja": "まだ使える値を受信していません。{topic} の最後のメッセージは使えませんでした: "
              "{problem}"},
    "agent.mqtt.retained_only": {
        "en": "only a retained value of unknown age is known on {topic}; waiting for the device "
              "to publish a fresh one ({hint})",
        "ja": "{topic} には時刻不明の保持値しかありません。機器が新しい値を送るのを待っています"
              "（{hint}）"},
    "agent.mqtt.in_seconds": {"en": " in {s} s", "ja": "（{s} 秒間）"},
    "agent.mqtt.nothing_heard": {
        "en": "nothing heard on {topic}{since} since subscribing; {hint}",
        "ja": "購読してから {topic} で何も受信していません{since}。{hint}"},
    "agent.mqtt.unusable_since": {
        "en": "; since then the payload on {topic} was unusable: {problem}",
        "ja": "。その後の {topic} のメッセージは使えませんでした: {problem}"},
    "agent.mqtt.link": {"en": "; {problem}", "ja": "。{problem}"},
    "agent.mqtt.stale": {
        "en": "last heard {age} s ago on {topic} (at {at}), more than stale_after_s = "
              "{stale}{unusable}{link}; check that the device is powered and connected to the "
              "broker",
        "ja": "最後の受信は {age} 秒前（{topic}、{at}）で、stale_after_s = {stale} を超えています"
              "{unusable}{link}。機器の電源とブローカーへの接続を確認してください"},
    "agent.mqtt.link.not_yet": {"en": "not connected to the broker yet",
                                "ja": "まだブローカーに接続していません"},
    "agent.mqtt.link.refused": {
        "en": "the broker {url} refused the connection ({rc}); check the username and password "
              "of this meter's broker",
        "ja": "ブローカー {url} が接続を拒否しました（{rc}）。この計測器のブローカーのユーザー名と"
              "パスワードを確認してください"},
    "agent.mqtt.link.not_subscribed": {"en": "connected to {url} but not yet subscribed",
                                       "ja": "{url} に接続しましたが、まだ購読していません"},
    "agent.mqtt.link.unreachable": {
        "en": "cannot reach the broker at {url}; check that it runs and that the address is "
              "right",
        "ja": "ブローカー {url} に接続できません。動いているか、アドレスが正しいかを確認して"
              "ください"},
    "agent.mqtt.link.disconnected": {"en": "disconnected from the broker {url} ({rc}); retrying",
                                     "ja": "ブローカー {url} から切断されました（{rc}）。再接続中"},
    "agent.mqtt.link.subscription": {
        "en": "the broker {url} refused the subscription to {topics} ({rc}); check its ACL",
        "ja": "ブローカー {url} が {topics} の購読を拒否しました（{rc}）。ACL を確認してください"},
    # --- the broker and its TLS files (agent.diagnose) ---
    "agent.broker.unreachable": {"en": "cannot reach the broker at {url}: {why}; {what}",
                                 "ja": "ブローカー {url} に接続できません: {why}。{what}"},
    "agent.broker.unreachable_detail": {
        "en": "cannot reach the broker at {url}: {why} ({detail}); {what}",
        "ja": "ブローカー {url} に接続できません: {why}（{detail}）。{what}"},
    "agent.broker.what.tls_untrusted_system": {
        "en": "the broker's certificate is not trusted by the system store: set [uplink] "
              "ca_file to the municipality's CA",
        "ja": "ブローカーの証明書がシステムの証明書ストアで信頼されていません。[uplink] ca_file に"
              "自治体の CA を指定してください"},
    "agent.tls.permission": {
        "en": "permission denied (the agent's user must be able to read it)",
        "ja": "読み取り権限がありません（エージェントのユーザーが読める必要があります）"},
    "agent.tls.not_pem": {"en": "not a PEM certificate/key file ({reason})",
                          "ja": "PEM 形式の証明書・鍵ファイルではありません（{reason}）"},
    "agent.tls.file_problem": {
        "en": "[uplink] {key} = {path}: {why}; fix the path in the config or restore the file",
        "ja": "[uplink] {key} = {path}: {why}。設定のパスを直すか、ファイルを復元してください"},
    # --- eco-agent status ---
    "agent.status.never": {"en": "never", "ja": "なし"},
    "agent.age.seconds": {"en": "{n} s", "ja": "{n} 秒"},
    "agent.age.minutes": {"en": "{n} min", "ja": "{n} 分"},
    "agent.age.hours": {"en": "{h} h {m} min", "ja": "{h} 時間 {m} 分"},
    "agent.age.days": {"en": "{n} days", "ja": "{n} 日"},
    "agent.status.reading_none": {"en": "reading {meter}: NO READING YET",
                                  "ja": "計測 {meter}: まだ計測値がありません"},
    "agent.status.reading_ok": {
        "en": "reading {meter}: ok (last interval ended {last}, {age} ago)",
        "ja": "計測 {meter}: 正常（最後の計測時間帯の終了 {last}、{age}前）"},
    "agent.status.reading_late": {
        "en": "reading {meter}: LATE (last interval ended {last}, {age} ago)",
        "ja": "計測 {meter}: 遅れています（最後の計測時間帯の終了 {last}、{age}前）"},
    "agent.status.delivering_ok": {"en": "delivering: ok (nothing waiting)",
                                   "ja": "送信: 正常（未送信なし）"},
    "agent.status.oldest": {"en": ", oldest {age} old", "ja": "、最も古いものは {age}前"},
    "agent.status.delivering_waiting": {"en": "delivering: ok ({n} waiting{oldest})",
                                        "ja": "送信: 正常（受領待ち {n} 件{oldest}）"},
    "agent.status.delivering_behind": {
        "en": "delivering: BEHIND ({n} waiting{oldest})",
        "ja": "送信: 遅れています（受領待ち {n} 件{oldest}）。ネットワークとブローカーへの接続を"
              "確認してください"},
    "agent.status.receipts_none": {"en": "receipts: none yet", "ja": "受領証: まだありません"},
    "agent.status.receipts_none_behind": {
        "en": "receipts: none yet — NOT CURRENT",
        "ja": "受領証: まだありません — 最新ではありません"},
    "agent.status.receipts_current": {"en": "receipts: current (last {last})",
                                      "ja": "受領証: 最新（最後 {last}）"},
    "agent.status.receipts_not_current": {"en": "receipts: NOT CURRENT (last {last})",
                                          "ja": "受領証: 最新ではありません（最後 {last}）"},
    "agent.status.rejected": {
        "en": "rejected: {n} reading(s) refused by the aggregator (see below)",
        "ja": "拒否: アグリゲータが受け付けなかった計測値 {n} 件（下記参照）"},
    "agent.status.clock_unsynced": {
        "en": "clock: NOT synchronised (NTP has not synced since boot)",
        "ja": "時計: 同期されていません（起動後 NTP が同期していません）。timedatectl で確認して"
              "ください"},
    "agent.status.clock_ok": {"en": "clock: synchronised (or not known to be unsynchronised)",
                              "ja": "時計: 同期済み（または未同期と判明していません）"},
    "agent.status.device": {"en": "device {device}  (now {now})",
                            "ja": "機器 {device}（現在 {now}）"},
    "agent.status.outbox": {
        "en": "next seq {seq}, {n} waiting for a receipt; outbox {outbox}",
        "ja": "次の連番 {seq}、受領待ち {n} 件。送信待ちの保存先 {outbox}"},
    "agent.status.register": {"en": ", register {wh} Wh", "ja": "、積算値 {wh} Wh"},
    "agent.status.meter": {"en": "meter {meter}: {quantity} via {protocol}{register}",
                           "ja": "計測器 {meter}: {quantity}（{protocol}）{register}"},
    "agent.status.energy": {"en": "{quantity} {wh} Wh", "ja": "{quantity} {wh} Wh"},
    "agent.status.no_energy": {"en": "no energy yet", "ja": "まだ電力量がありません"},
    "agent.status.today": {
        "en": "today ({day}): {energy}; about {points} points (device estimate)",
        "ja": "今日（{day}）: {energy}。約 {points} ポイント（機器での概算）"},
    "agent.status.not_creditable": {
        "en": "not creditable: {n} reading(s); newest:",
        "ja": "クレジット対象外: 計測値 {n} 件。新しいもの:"},
    "agent.status.not_creditable_row": {"en": "  seq {seq}: {reason}",
                                        "ja": "  連番 {seq}: {reason}"},
    "agent.status.rejected_row": {"en": "rejected seq {seq} ({meter}, {start}–{end}): {reason}",
                                  "ja": "拒否 連番 {seq}（{meter}、{start}–{end}）: {reason}"},
    "agent.status.json_hint": {"en": "(--json for the machine-readable report)",
                               "ja": "（機械処理用の報告は --json）"},
    # --- eco-agent probe ---
    "agent.power.not_reported": {"en": "not reported by the meter",
                                 "ja": "計測器が報告していません"},
    "agent.power.watts": {"en": "{w} W", "ja": "{w} W（発電・通電中）"},
    "agent.power.pv_idle_night": {"en": "{w} W (no sun / inverter idle)",
                                  "ja": "{w} W（日照なし／パワーコンディショナ停止中）"},
    "agent.power.pv_idle_day": {
        "en": "{w} W (inverter idle or in standby: normal at dawn, dusk, or under snow; a fault "
              "only if it stays at 0 W in full sun)",
        "ja": "{w} W（パワーコンディショナが停止または待機中：明け方・夕方・積雪時は正常。晴天で"
              "0 W が続く場合のみ故障の可能性）"},
    "agent.power.zero": {"en": "{w} W (nothing flowing now; normal when idle)",
                         "ja": "{w} W（現在は流れていません。使っていなければ正常）"},
    "agent.probe.needs": {"en": "probe --protocol {protocol} needs {missing}",
                          "ja": "probe --protocol {protocol} には {missing} が必要です"},
    "agent.probe.error": {"en": "probe: {error}", "ja": "probe: {error}"},
    "agent.probe.unit": {"en": "probe: --unit must be within 1–247",
                         "ja": "probe: --unit は 1～247 の範囲で指定してください"},
    "agent.probe.needs_config": {
        "en": "probe --protocol {protocol} needs a config: use 'eco-agent probe CONFIG METER_ID'",
        "ja": "probe --protocol {protocol} には設定ファイルが必要です。'eco-agent probe CONFIG "
              "METER_ID' を使ってください"},
    "agent.probe.needs_port": {
        "en": "probe --protocol {protocol} needs --port (e.g. /dev/ttyUSB0)",
        "ja": "probe --protocol {protocol} には --port が必要です（例 /dev/ttyUSB0）"},
    "agent.probe.usage": {
        "en": "probe needs CONFIG METER_ID, or --protocol … --broker … --topic … --quantity … "
              "for an MQTT device without a config",
        "ja": "probe には CONFIG METER_ID、または設定ファイルのない MQTT 機器なら --protocol … "
              "--broker … --topic … --quantity … を指定してください"},
}
CATALOG.update({f"agent.broker.cause.{k}": {"en": en, "ja": ja}
                for k, (en, ja) in _BROKER_CAUSES.items()})
CATALOG.update({f"agent.broker.what.{k}": {"en": en, "ja": ja}
                for k, (en, ja) in _BROKER_WHAT.items()})
CATALOG.update(_METERS_CATALOG)  # the meter protocols' errors (Modbus RTU, SKSTACK-IP)
