"""Every string the web UI and the printable report show, in Japanese (default) and English.

One small catalogue: ``key: (ja, en)``. Templates call ``t("key")``; a key missing from the
catalogue shows as the key itself (and a test fails), never as an empty string. Placeholders are
``{name}``, replaced by the caller. What the code writes in English is translated by its code,
never shown as is on a Japanese page (issue 17.1): creditability rules (``rule.*``,
``ruletext.*``), household flags (``zero.*``, ``flag.*``), rejection reasons (``reject.*``),
methodology problems (``problem.*``), enrolment refusals (``enrol.err.*``, from
:class:`aggregator.registry.EnrolRefused` and
:func:`eco_protocol.methodology.terms_problem_codes`). Data is shown as configured:
reward names via ``Reward.label``, programme.toml's other texts via ``Programme.text`` (their
``*_ja`` keys), pseudonyms as they are; the broker's reload result via
:func:`broker_reload_text`. tests/webui/test_webui_translated.py walks every page in Japanese
and checks both languages; the browser walks (tests/webui/walk.py) check every page they open.
"""

# Japanese sentences are kept whole on one line (wide characters count double for E501).
# Over the 600-line rule on purpose: ~620 of the lines are the catalogue, one key per line with
# both languages side by side, so that a missing or stale translation shows in review; split by
# page, the same key would be looked for in several files.
# ruff: noqa: E501

from __future__ import annotations

import re
from collections.abc import Callable

from eco_protocol.creditability import RULE_TEXT, Rule
from eco_protocol.messages_catalog import CATALOG as PROTOCOL_CATALOG

from .i18n_certificates import CATALOGUE as CERTIFICATES

LANGUAGES = ("ja", "en")
DEFAULT_LANGUAGE = "ja"

Translator = Callable[[str], str]

CATALOGUE: dict[str, tuple[str, str]] = {
    # frame
    "app.name": ("エコクレジット 運用画面", "eco-credit console"),
    "app.footer": ("台帳の記録はすべて署名付きで、誰でも eco-verify で検証できます。",
                   "Every ledger entry is signed; anyone can check it with eco-verify."),
    "nav.fleet": ("機器の状況", "Fleet"),
    "nav.households": ("世帯", "Households"),
    "nav.enrol": ("機器の登録", "Enrol"),
    "nav.ledger": ("台帳", "Ledger"),
    "nav.points": ("ポイント", "Points"),
    "nav.batches": ("J-クレジット", "Batches"),
    "nav.shop": ("ポイント交換", "Redeem"),
    "nav.mypage": ("わが家のページ", "My page"),
    "nav.logout": ("ログアウト", "Log out"),
    "role.operator": ("職員", "operator"),
    "role.shop": ("協力店", "shop"),
    "role.resident": ("住民", "resident"),
    "yes": ("あり", "yes"),
    "no": ("なし", "no"),
    "or": ("または", "or"),
    "pt": ("pt", "pt"),
    # login
    "login.title": ("職員・協力店ログイン", "Staff and shop login"),
    "login.user": ("ユーザー名", "User name"),
    "login.password": ("パスワード", "Password"),
    "login.submit": ("ログイン", "Log in"),
    "login.resident_link": ("住民の方はこちら（ログインコード）", "Residents: log in with your code"),
    "login.failed": ("ユーザー名またはパスワードが違います。", "Wrong user name or password."),
    "login.throttled": ("ログインの失敗が続いたため、しばらくしてからお試しください。",
                        "Too many failed logins; please wait a few minutes."),
    "rlogin.title": ("住民ログイン", "Resident login"),
    "rlogin.hint": ("市役所からお知らせしたログインコード（16文字）を入力してください。",
                    "Enter the 16-character login code the municipality gave you."),
    "rlogin.code": ("ログインコード", "Login code"),
    "rlogin.failed": ("ログインコードが正しくありません。", "That login code is not valid."),
    "rlogin.staff_link": ("職員・協力店の方はこちら", "Staff and shops log in here"),
    # errors
    "error.title": ("エラー", "Error"),
    "error.home": ("トップへ戻る", "Back to the start page"),
    "error.csrf": ("フォームの有効期限が切れたか、不正な送信です。ページを開き直してください。",
                   "The form expired or was not sent from this site; reload the page and try "
                   "again."),
    "error.forbidden": ("この操作の権限がありません。必要な場合は、権限のあるアカウント（職員）でログインし直してください。",
                        "You are not allowed to do this; if you need to, log in with an account that is (an operator)."),
    "error.not_found": ("ページが見つかりません。上のメニューから選び直してください。", "Page not found: choose again from the menu above."),
    "problem.no_factor": ("{fy} 年度の電力の排出係数が programme.toml にないため、CO2削減量とポイントを計算できません。programme.toml の [[methodology.grid_factors]] に {fy} 年度の係数を出典とともに追加してください。",
                          "No grid emission factor for fiscal year {fy} in programme.toml, so CO2 and points cannot be computed: add FY{fy}'s factor with its source to [[methodology.grid_factors]]."),
    "problem.ev_terms": ("EV充電の計測値がありますが、登録情報にEVの電費（Wh/km）と比較するガソリン車の燃費がありません。機器を登録し直して、両方を入力してください。",
                         "EV charging is metered, but the enrolment lacks the EV's Wh/km and the petrol car's km/L: enrol the device again with both."),
    "problem.no_programme": ("プログラム設定（programme.toml）がないため、ポイントを計算できません。eco-aggregator programme init で作成してください。",
                             "No programme configuration (programme.toml), so no points: create it with eco-aggregator programme init."),
    "error.reason_required": ("「{f}」が入力されていません。確認した内容を入力してから、もう一度ボタンを押してください（操作記録に残ります）。",
                              "“{f}” is empty: write what you checked, then press the button again (it goes into the audit trail)."),
    "error.decision_refused": ("機器 {d} への操作はできませんでした（すでに失効している、または隔離中ではない可能性があります）。ページを開き直して機器の状態を確認してください。詳細はサーバーのログにあります。",
                               "The action on device {d} was refused (it may already be revoked, or not quarantined). Reload the page and check the device's state; the details are in the server's log."),
    "error.no_programme": ("プログラム設定（programme.toml）が見つかりません: {e}",
                           "No programme configuration (programme.toml): {e}"),
    # states and quantities
    "state.online": ("稼働中", "online"),
    "state.offline": ("停止中", "offline"),
    "state.never": ("未受信", "no reading yet"),
    "state.revoked": ("失効", "revoked"),
    "q.pv_generation": ("太陽光発電", "PV generation"),
    "q.grid_export": ("売電（逆潮流）", "Exported"),
    "q.grid_import": ("買電", "Imported"),
    "q.self_consumed": ("自家消費", "Self-consumed"),
    "q.ev_charge": ("EV充電", "EV charging"),
    "fit.none": ("FITなし", "no FIT"),
    "fit.fit": ("FIT適用中", "under FIT"),
    "fit.post_fit": ("FIT終了（卒FIT）", "FIT ended"),
    "fit.unset": ("未設定", "not set"),
    # columns
    "col.device": ("機器ID", "Device"),
    "col.devices": ("機器数", "Devices"),
    "col.household": ("世帯（仮名ID）", "Household (pseudonym)"),
    "col.state": ("状態", "State"),
    "col.meters": ("計測対象", "Meters"),
    "col.readings": ("計測値の数", "Readings"),
    "col.last_reading": ("最新の計測", "Last reading"),
    "col.flags": ("注意", "Flags"),
    "col.time": ("日時", "Time"),
    "col.reason": ("理由", "Reason"),
    "col.co2_kg": ("CO2削減量 (kg)", "CO2 avoided (kg)"),
    "col.earned": ("獲得pt", "Earned"),
    "col.redeemed": ("交換済pt", "Redeemed"),
    "col.balance": ("残高pt", "Balance"),
    "col.reward": ("特典", "Reward"),
    "col.entry": ("台帳番号", "Entry"),
    "col.interval": ("計測時間帯（30分）", "Interval (30 min)"),
    "col.day": ("日付", "Day"),
    # fleet
    "fleet.title": ("機器の状況", "Fleet overview"),
    "fleet.devices": ("登録機器", "Devices"),
    "fleet.silent": ("停止・未受信", "Silent"),
    "fleet.flagged": ("注意が必要な機器", "Flagged devices"),
    "fleet.health": ("稼働状況", "Fleet health"),
    "fleet.online_rule": ("最新の計測が {h} 時間以内に終わった機器を「稼働中」としています。",
                          "A device is online if its latest reading ended within {h} h."),
    "fleet.data_clock": ("デモ表示: 稼働状況は現在時刻ではなく、台帳で最も新しい計測の終了時刻（{t}）を基準に判定しています。",
                         "Demo view: online/offline is judged against the newest reading in the ledger ({t}), not the current time."),
    "fleet.readings_per_day": ("日別の計測値の数", "Readings per day"),
    "fleet.rejections": ("受け付けなかった計測値（新しい順）", "Rejected readings (latest first)"),
    "fleet.no_rejections": ("ありません。", "None."),
    "fleet.none": ("登録された機器はまだありません。", "No devices enrolled yet."),
    # ingest under a flood (issue 14): serve's per-device counts, aggregator/ingest_status.py
    "fleet.ingest": ("受信の状況（拒否・破棄したメッセージ）", "Ingest: refused and dropped messages"),
    "fleet.ingest_hint": ("直近 {m} 分間に受信を拒否した、または処理せず破棄したメッセージのある機器です。大量に送り続ける機器には「過剰送信」と表示します。", "Devices whose messages were refused or dropped unprocessed in the last {m} minutes. A device that keeps sending far too much is marked \"flooding\"."),
    "fleet.ingest_as_of": ("集計時刻:", "As of"),
    "fleet.ingest_stale": ("受信処理（serve）からの更新が止まっています。", "serve has not updated these figures recently."),
    "fleet.ingest_none": ("ありません。", "None."),
    "fleet.ingest_unknown": ("受信処理（serve）の集計はまだありません。", "No figures from serve yet."),
    "fleet.flooding": ("過剰送信", "flooding"),
    # serve's flood cut-off at the broker (aggregator/flood_cutoff.py)
    "fleet.suspended": ("接続停止中", "cut off"),
    "fleet.suspended_title": ("過剰送信で接続を停止した機器", "Devices cut off at the broker for flooding"),
    "fleet.suspended_hint": ("許容量をはるかに超えて送り続けたため、受信処理（serve）がブローカーへのログインを停止した機器です。機器を確認してから、表示のコマンドで元のパスワードのまま接続を再開できます。計測値は機器に残っており、再開後に送られます。", "serve suspended these devices' broker logins because they sent far more than allowed. Check the device, then run the command shown to let it reconnect with its old password. Its readings stay on the device and are sent after the restore."),
    "col.suspended_at": ("停止日時（日本時間）", "Cut off at (JST)"),
    "col.restore": ("再開のコマンド", "To restore"),
    "col.messages": ("処理した数", "Processed"),
    "col.refused": ("拒否", "Refused"),
    "col.dropped": ("破棄", "Dropped"),
    "chart.devices": ("台", "devices"),
    "chart.readings": ("件", "readings"),
    # households
    "households.title": ("参加世帯", "Households"),
    "households.privacy": ("台帳と報告書には仮名IDだけが載ります。氏名・住所は台帳の外に保管し、消去できます。",
                           "Only pseudonyms reach the ledger and reports; names and addresses "
                           "stay outside the ledger and can be erased."),
    "households.search": ("氏名・住所・電話番号で探す", "Find by name, address or phone"),
    "households.search_placeholder": ("例: 佐藤、中央1-2、090-1234-5678", "e.g. Sato, 1-2 Chuo, 090-1234-5678"),
    "households.search_submit": ("検索", "Search"),
    "households.search_hint": ("全角・半角、大文字・小文字、電話番号のハイフンや空白は区別しません。検索は操作記録に残ります（検索語と氏名は残しません）。",
                               "Full-/half-width, case, hyphens and spaces are ignored. Each search is recorded in the audit trail (without the words searched or the names)."),
    "households.search_results": ("「{q}」の検索結果", "Households matching “{q}”"),
    "households.search_none": ("該当する世帯がありません。個人情報が消去された世帯は、氏名などでは見つかりません。",
                               "No household matches. A household whose personal data was erased cannot be found by name."),
    "households.reference": ("氏名・住所（登録時の参照）", "Name, address (reference at enrolment)"),
    "households.contact": ("連絡先", "Contact"),
    "households.all": ("すべての世帯", "All households"),
    "household.title": ("世帯", "Household"),
    "household.person_hint": ("（個人情報。台帳の外に保管、閲覧は操作記録に残ります）",
                              "(personal data, kept outside the ledger; viewing it is audited)"),
    "household.no_person": ("氏名・住所の記録はありません（消去済みか、登録されていません）。",
                            "No name or address on record (erased, or never given)."),
    "household.daily_energy": ("日別の電力量 (kWh)", "Daily energy (kWh)"),
    "household.daily_co2": ("日別のCO2削減量 (kg)", "Daily CO2 avoided (kg)"),
    "household.terms": ("算定に使う登録情報", "Methodology attributes"),
    "household.devices": ("この世帯の機器", "Devices of this household"),
    "household.redeem": ("ポイント交換（窓口）", "Redeem points (counter)"),
    "household.login_code": ("住民用ログインコード", "Resident login code"),
    "household.has_code": ("発行済みです。再発行すると古いコードは使えなくなります。",
                           "A code is issued; a new one replaces it."),
    "household.no_code": ("まだ発行していません。", "No code issued yet."),
    "household.issue_code": ("ログインコードを発行", "Issue a login code"),
    "household.code_issued": ("住民用ログインコード:", "Resident login code:"),
    "household.code_once": ("このコードは今回だけ表示されます。住民の方に渡してください（保存されるのはハッシュ値のみ）。",
                            "Shown only now: hand it to the household (only its hash is "
                            "kept)."),
    "revoke.reason": ("失効の理由", "reason"),
    "revoke.submit": ("失効させる", "Revoke"),
    "revoke.already": ("機器 {d} はすでに失効しています（台帳番号 {i}）。もう一度失効させる必要はありません。", "Device {d} was already revoked (entry {i}); there is nothing more to revoke."),
    "revoke.login_removed_now": ("残っていたブローカーのログインは、いま削除しました（ブローカーの再読み込み後に接続できなくなります）。",
                                 "Its broker login, still present, was removed now (it stops working when the broker reloads)."),
    "release.reason": ("確認した内容（解除の理由）", "what you checked (reason)"),
    "release.submit": ("隔離を解除する", "Release"),
    "release.hint": ("同じ鍵で二つの履歴が署名されたため隔離中です。機器を確認し、複製なら失効、問題なければ解除してください。",
                     "Quarantined: its key signed two histories. Check the box: revoke it if it was cloned, release it if not."),
    "redeem.submit": ("交換する", "Redeem"),
    "slots.title": ("計測値ごとの削減量とポイント", "What each reading earned"),
    "slots.hint": ("30分ごとの計測値から計算した削減量です。ポイントは合計に対して付与され、端数は繰り越されます。",
                   "CO2 avoided per 30-minute interval; points are granted on the total, so "
                   "fractions carry over."),
    "slots.none": ("まだ計測値がありません。", "No readings yet."),
    "slots.units": ("電力量の単位は Wh です。", "Energy in Wh."),
    "redemptions.title": ("ポイント交換の履歴", "Redemptions"),
    "redemptions.none": ("まだありません。", "None yet."),
    # enrolment
    "enrol.title": ("機器の登録", "Enrol a device"),
    "enrol.public_key": ("機器の公開鍵（base64）", "Device public key (base64)"),
    "enrol.public_key_hint": ("機器で eco-agent keygen を実行すると表示されます。",
                              "Printed by 'eco-agent keygen' on the device."),
    "enrol.household": ("世帯の参照（氏名・住所・契約番号など）", "Household reference (name, address, contract no.)"),
    "enrol.household_hint": ("台帳には載らず、仮名IDに変換されます。",
                             "Kept off the ledger; only its pseudonym is logged."),
    "enrol.programme": ("プログラム", "Programme"),
    "enrol.installed": ("太陽光の設置日", "PV installed on"),
    "enrol.fit_status": ("FIT（固定価格買取）", "FIT status"),
    "enrol.fit_until": ("FIT契約の終了日", "FIT contract ends"),
    "enrol.battery": ("家庭用蓄電池", "Home battery"),
    "enrol.zero_export": ("逆潮流なしと申告（売電量を計量する計測器で売電ゼロが確認できる場合のみ算定）",
                          "Zero export declared (counts only with a metered export register showing no export)"),
    "enrol.zero_export_hint": ("申告だけでは算定されません。売電（逆潮流）を計量する計測器（スマートメーターのBルートのE3など）を、この機器か同じ世帯の別の機器で登録してください。",
                               "A declaration alone earns nothing: enrol a meter of the export "
                               "register (grid_export, e.g. the smart meter's E3 over the "
                               "B-route) on this or another device of the household."),
    "enrol.ev_wh_per_km": ("EVの電費 (Wh/km)", "EV consumption (Wh/km)"),
    "enrol.ev_petrol": ("比較するガソリン車の燃費 (km/L)", "Equivalent petrol car (km/L)"),
    "enrol.meters": ("計測器", "Meters"),
    "enrol.quantity": ("計測対象", "Quantity"),
    "enrol.protocol": ("通信方式", "Protocol"),
    "enrol.rated_w": ("定格 (W)", "Rated (W)"),
    "enrol.meters_hint": ("使う行だけ入力してください（IDが空の行は無視します）。",
                          "Fill in the rows you need; rows without an ID are ignored."),
    "enrol.equipment": ("設備の識別情報", "Equipment identity"),
    "enrol.equipment_kind": ("種類", "Kind"),
    "enrol.equipment_id": ("識別情報", "Identity"),
    "enrol.equipment_hint": ("コンソーシアムに参加している自治体では、太陽光の計測器にはパワーコンディショナ（メーカー:製造番号）、EV充電の計測器には充電器（メーカー:製造番号）または車台番号が必要です。同じ設備が他の世帯・他の自治体で二重に登録されていないかを照会します（識別情報そのものは台帳に記録されません）。",
                             "In a town that is a consortium member, a PV meter needs its inverter (manufacturer:serial) and an EV meter its charger (manufacturer:serial) or the vehicle's VIN. They are looked up so the same equipment is not enrolled twice, here or in another town (the identity itself is never written to the ledger)."),
    "equipment.inverter": ("パワーコンディショナ", "Inverter"),
    "equipment.supply-point": ("供給地点特定番号", "Supply point number"),
    "equipment.ev-charger": ("EV充電器", "EV charger"),
    "equipment.vin": ("車台番号（VIN）", "Vehicle identification number (VIN)"),
    "enrol.err.equipment.format": ("「{f}」の {n} 行目が正しくありません。パワーコンディショナと充電器は「メーカー:製造番号」、供給地点特定番号は22桁の数字、車台番号は17文字で入力してください。",
                                   "Row {n} of “{f}” is not valid: an inverter or a charger is MANUFACTURER:SERIAL, a supply point number 22 digits, a VIN 17 characters."),
    "enrol.submit": ("登録する", "Enrol"),
    "enrol.done": ("登録しました（台帳に eco.enrol/v1 を追記）。", "Enrolled (eco.enrol/v1 appended)."),
    "enrol.broker_login": ("ブローカーのログイン（機器の [uplink] username / password）:",
                           "Broker login (the device's [uplink] username / password):"),
    "enrol.broker_once": ("パスワードは今回だけ表示されます（保存されるのはハッシュ値のみ）。",
                          "The password is shown only now (only its hash is kept)."),
    "enrol.broker_reload": ("ブローカー:", "Broker:"),
    "broker.reloaded": ("ブローカーは新しいパスワードファイルを読み込みました（mosquitto pid {pid} に SIGHUP を送信）。", "The broker loaded the new password file (SIGHUP sent to mosquitto pid {pid})."),
    "broker.not_signalled": ("ブローカーにはまだ反映されていません。サーバーで「systemctl reload mosquitto」を実行し（または mosquitto に SIGHUP を送り）、新しいパスワードファイルを読み込ませてください。", "Not in the broker yet: run 'systemctl reload mosquitto' on the server (or send mosquitto SIGHUP) so it loads the new password file."),
    "enrol.meter_id": ("計測器ID", "Meter ID"),
    "enrol.ev": ("EVの電費と比較するガソリン車の燃費", "EV consumption and equivalent petrol car"),
    # enrolment errors: what is wrong, in which field, what to enter (the registry's and the
    # methodology's error codes, aggregator.registry.EnrolRefused, terms_problem_codes)
    "enrol.err.public_key": ("「{f}」が正しくありません。機器で eco-agent keygen を実行したときに表示された公開鍵（base64、32バイト）をそのまま貼り付けてください。",
                             "“{f}” is not valid: paste the public key that 'eco-agent keygen' printed on the device (32 bytes in base64), unchanged."),
    "enrol.err.empty": ("「{f}」が入力されていません。入力してから、もう一度「登録する」を押してください。",
                        "“{f}” is empty: fill it in and press Enrol again."),
    "enrol.err.programme": ("「{f}」が入力されていないか、長すぎます（128文字まで）。programme.toml の id を入力してください。",
                            "“{f}” is empty or too long (128 characters at most): enter the id from programme.toml."),
    "enrol.no_meter": ("「{f}」が1つも入力されていません。少なくとも1行に計測器IDと定格を入力してください。",
                       "No “{f}” entered: fill in at least one row with a meter ID and its rating."),
    "enrol.bad_number": ("「{f}」が数値ではありません。数字だけを入力してください（例: 150）。",
                         "“{f}” is not a number: enter digits only (e.g. 150)."),
    "enrol.err.date": ("「{f}」の日付が正しくありません。YYYY-MM-DD の形で入力してください（例: 2020-04-01）。",
                       "“{f}” is not a date: enter it as YYYY-MM-DD (e.g. 2020-04-01)."),
    "enrol.err.meter.format": ("計測器 {n} 行目の入力が正しくありません。計測器IDには「:」を使わず、各欄を入力し直してください。",
                               "Meter row {n} is not valid: do not use “:” in the meter ID, and fill in each column again."),
    "enrol.err.meter.id": ("計測器 {n} 行目の「{f}」が正しくありません（1〜32文字）。短いIDにしてください（例: pv1）。",
                           "Meter row {n}: “{f}” is not valid (1 to 32 characters); use a short ID (e.g. pv1)."),
    "enrol.err.meter.quantity": ("計測器 {n} 行目の「{f}」が一覧にありません。一覧から選び直してください。",
                                 "Meter row {n}: “{f}” is not one of the list; choose it again from the list."),
    "enrol.err.meter.protocol": ("計測器 {n} 行目の「{f}」が、機器のエージェントが対応する方式ではありません。一覧から選び直してください。",
                                 "Meter row {n}: “{f}” is not a protocol the agent reads; choose it again from the list."),
    "enrol.err.meter.rated_w": ("計測器 {n} 行目の「{f}」が正しくありません。計測器の定格出力をワット単位の整数で入力してください（1〜10000000、例: 4500）。",
                                "Meter row {n}: “{f}” is not valid; enter the meter's rated power in whole watts (1 to 10000000, e.g. 4500)."),
    "enrol.err.meter.duplicate": ("「{f}」に同じ計測器IDが2回あります。行ごとに別のID（例: pv1、e3）にしてください。",
                                  "The same meter ID appears twice under “{f}”: give each row its own ID (e.g. pv1, e3)."),
    "enrol.err.terms.installed": ("太陽光の計測器があるので「{f}」が必要です。設置日を入力してください（設置日から算定対象かどうかを判定します）。",
                                  "A PV meter needs “{f}”: enter the installation date (it decides whether the PV can earn credits)."),
    "enrol.err.terms.status": ("太陽光の計測器があるので「{f}」が必要です。FITなし・FIT適用中・FIT終了（卒FIT）から選んでください。",
                               "A PV meter needs “{f}”: choose no FIT, under FIT or FIT ended."),
    "enrol.err.terms.battery": ("太陽光の計測器があるので「{f}」が必要です。あり・なしを選んでください。",
                                "A PV meter needs “{f}”: choose yes or no."),
    "enrol.err.terms.ev": ("EV充電の計測器があるので「{f}」が必要です。EVの電費（Wh/km）と比較するガソリン車の燃費（km/L）の両方を入力してください。",
                           "An EV charging meter needs “{f}”: enter both the EV's Wh/km and the equivalent petrol car's km/L."),
    "enrol.err.already_enrolled": ("この「{f}」の機器はすでに登録されています。機器を入れ替える場合は、古い機器を世帯のページで失効させてから、新しい機器の鍵で登録してください。",
                                   "The device of this “{f}” is already enrolled. To replace it, revoke the old device on its household page, then enrol the new device's key."),
    "enrol.err.failed": ("登録できませんでした（サーバー側の問題です）。詳しい内容はサーバーのログにあります。台帳に記録されたかを世帯のページで確認し、システム担当者に連絡してください。",
                         "The enrolment failed on the server; the details are in the server's log. Check on the household page whether it was logged, and contact the system administrator."),
    # the agent's meter protocols (agent.meters.meter_config.MeterProtocol)
    "proto.sunspec-modbus": ("SunSpec Modbus（パワーコンディショナ）", "SunSpec Modbus (inverter)"),
    "proto.echonet-broute": ("ECHONET Lite Bルート（スマートメーター）", "ECHONET Lite B-route (smart meter)"),
    "proto.tasmota": ("Tasmota（MQTT）", "Tasmota (MQTT)"),
    "proto.shelly": ("Shelly（MQTT）", "Shelly (MQTT)"),
    "proto.openevse": ("OpenEVSE（EV充電器、MQTT）", "OpenEVSE (EV charger, MQTT)"),
    # ledger
    # the installer's page after an enrolment (agent.toml snippet, QR)
    "provision.title": ("機器の設定票（設置担当者へ）", "Device set-up sheet (for the installer)"),
    "provision.qr": ("agent.toml の設定（QRコード）", "agent.toml settings (QR code)"),
    "provision.revoked": ("この機器は失効しています。設定票は出せません。", "This device is revoked: there is no set-up sheet for it."),
    "provision.reissued": ("新しいブローカーのパスワードを発行しました。古いパスワードはブローカーの再読み込み後に使えなくなります。",
                           "A new broker password was issued; the old one stops working when the broker reloads."),
    "provision.broker": ("ブローカー（機器の接続先）", "Broker (where the device connects)"),
    "provision.no_password": ("パスワードは登録時に一度だけ表示され、保存されていません。機器に設定していない場合は、新しいパスワードを発行してください（古いパスワードは使えなくなります）。",
                              "The password was shown once at enrolment and is not kept. If the device does not have it, issue a new one (the old one stops working)."),
    "provision.issue_password": ("新しいブローカーのパスワードを発行", "Issue a new broker password"),
    "provision.snippet": ("機器の設定（agent.toml の一部）", "The device's settings (part of agent.toml)"),
    "provision.secret": ("この紙にはパスワードが載っています。設置が終わったら破棄するか、鍵のかかる場所に保管してください。",
                         "This sheet holds the password: destroy it after the installation or keep it locked away."),
    "provision.no_secret": ("この設定にはパスワードが含まれていません。", "These settings do not include the password."),
    "provision.qr_hint": ("機器の設置時にスマートフォンでQRコードを読み取り、その文字列を eco-agent provision に貼り付けます。",
                          "At the box, scan the QR code with a phone and paste its text into eco-agent provision."),
    "provision.steps": ("設置の手順", "At the box"),
    "provision.step_scan": ("設定を取り込みます（上の設定を貼り付けて Ctrl-D。ファイルに保存した場合はそのパスを続けて指定）:",
                            "Take in the settings (paste the text above, then Ctrl-D; or give the path of a file holding it):"),
    "provision.step_meters": ("計測器ごとに読み取りを確認します:", "Check that each meter answers:"),
    "provision.step_run": ("エージェントを再起動し、送信できていることを確認します:", "Restart the agent and check that it delivers:"),
    "provision.step_ca": ("mqtts:// のブローカーが自治体のCAの証明書を使う場合は、ca.crt を機器にコピーし [uplink] ca_file に指定します。",
                          "If the mqtts:// broker's certificate is from the municipality's own CA, copy ca.crt to the box and set [uplink] ca_file."),
    "provision.print_hint": ("このページは印刷できます。パスワードなしの設定票はあとで機器ごとに再表示できます:",
                             "This page is printable. The sheet without the password can be shown again for the device:"),
    "provision.again": ("設定票を再表示", "Show the set-up sheet again"),
    "provision.enrol_another": ("続けて別の機器を登録する", "Enrol another device"),
    "provision.reissue_failed": ("新しいブローカーのパスワードを発行できませんでした。詳細はサーバーのログにあります。ブローカーのパスワードファイルの書き込み権限を確認し、システム担当者に連絡してください。",
                                 "No new broker password could be issued; the details are in the server's log. Check that the broker's password file is writable, and contact the system administrator."),
    "household.provisioning": ("設定票", "Set-up sheet"),
    "ledger.title": ("台帳（透明性ログ）", "Ledger (transparency log)"),
    "ledger.size": ("台帳の記録数", "Ledger entries"),
    "ledger.checkpoint_size": ("最新チェックポイントの記録数", "Latest checkpoint size"),
    "ledger.witnesses": ("立会人の連署", "Witness cosignatures"),
    "ledger.latest": ("最新の署名付きチェックポイント", "Latest signed checkpoint"),
    "ledger.signed_at": ("署名日時", "Signed at"),
    "ledger.cosignatures": ("立会人の連署", "Witness cosignatures"),
    "ledger.no_cosignatures": ("まだありません。", "None yet."),
    "ledger.no_checkpoint": ("まだチェックポイントがありません。", "No checkpoint yet."),
    "ledger.vkey": ("台帳の検証鍵", "Log verifier key"),
    "ledger.proof": ("包含証明の確認", "Inclusion proof lookup"),
    "ledger.index": ("台帳番号", "Entry index"),
    "ledger.lookup": ("証明を表示", "Show proof"),
    "ledger.verified": ("台帳番号 {i} は記録数 {n} のチェックポイントに含まれています（この場で検証済み）。",
                        "Entry {i} is included in the checkpoint of size {n} (verified here)."),
    "ledger.leaf_hash": ("葉ハッシュ", "Leaf hash"),
    "ledger.root": ("ルートハッシュ", "Root hash"),
    "ledger.path": ("監査パス", "Audit path"),
    "ledger.proof_hint": ("同じ証明は公開API /proof/inclusion からも取得できます（RFC 6962）。",
                          "The same proof is served by the public API at /proof/inclusion "
                          "(RFC 6962)."),
    "ledger.bad_query": ("台帳番号、または機器IDとseqを指定してください。",
                         "Give an entry index, or a device id and seq."),
    "ledger.not_found": ("該当する記録がありません。台帳番号（0 から記録数より1少ない数まで）か、機器IDと seq を確かめてください。",
                         "No such entry: check the entry index (0 to the number of entries minus one), or the device id and seq."),
    "ledger.not_yet": ("その記録はまだ署名付きチェックポイントに含まれていません。数秒後にもう一度お試しください。",
                       "That entry is not in a signed checkpoint yet; try again in a few seconds."),
    # points
    "points.title": ("エコポイント", "Eco-points"),
    "points.rate": ("CO2 1kgあたりのポイント", "Points per kg-CO2"),
    "points.monthly": ("月別のCO2削減量 (kg)", "CO2 avoided per month (kg)"),
    "points.catalogue": ("特典カタログ", "Reward catalogue"),
    "points.catalogue_hint": ("特典とポイント率は programme.toml で設定します。",
                              "Rewards and the rate are set in programme.toml."),
    "points.balances": ("世帯ごとの残高", "Balances"),
    # creditability: why a logged reading earns nothing (eco_protocol.creditability.Rule) and
    # why a household's PV is zeroed (eco_protocol.methodology.zero_reason); the English
    # sentences of the rules are RULE_TEXT itself (added below), so they never drift apart
    "rule.quarantined": ("隔離中の機器", "quarantined device"),
    "rule.unknown_meter": ("未登録の計測器", "unknown meter"),
    "rule.quantity_mismatch": ("計測対象の不一致", "quantity mismatch"),
    "rule.bad_interval": ("不正な計測時間帯", "bad interval"),
    "rule.misaligned": ("計測間隔とのずれ", "misaligned interval"),
    "rule.over_long": ("長すぎる計測時間帯", "over-long interval"),
    "rule.overlap": ("重複", "overlap"),
    "rule.register_discontinuity": ("積算値の不連続", "register discontinuity"),
    "rule.energy_mismatch": ("電力量の不一致", "energy mismatch"),
    "rule.implausible": ("定格出力超過", "above rated power"),
    "rule.clock_unsynced": ("時刻未同期", "clock not synchronised"),
    "rule.before_joining": ("加入前", "before joining"),
    "rule.outside_crediting_period": ("クレジット認証対象期間外", "outside the crediting period"),
    "rule.equipment_too_old": ("設備の設置が古すぎる", "equipment too old"),
    "rule.bad_enrolment": ("登録情報の不備", "incomplete enrolment"),
    "zero.export_unmetered": ("売電量の計量なし：太陽光は算定しません（逆潮流なしの申告だけでは根拠になりません）",
                              "export not metered: PV earns nothing (a zero-export declaration "
                              "alone is not evidence)"),
    "zero.battery_excluded": ("蓄電池のある世帯：プログラムの規則（rules.battery = \"exclude\"）により太陽光は算定しません",
                              "home battery: PV earns nothing under the programme's rules "
                              "(rules.battery = \"exclude\")"),
    "flag.battery_daily": ("蓄電池あり：自家消費は日ごと（日本時間）に差し引きして計算",
                           "battery: PV self-consumption netted per JST day"),
    "flag.battery": ("蓄電池あり", "battery"),
    "excluded.title": ("算定に含めない計測値", "Readings that earn nothing"),
    "excluded.hint": ("台帳には記録されていますが、プログラムの規則によりポイントとクレジットの算定から除いた計測値です（規則ごとの件数）。",
                      "Logged, but excluded from points and credits by the programme's rules "
                      "(count by rule)."),
    "excluded.none": ("ありません（すべての計測値が算定対象です）。", "None: every reading counts."),
    # why the aggregator refused a message (the code before the first colon of a rejection row:
    # aggregator.checks, eco_protocol.rules, aggregator.serve, aggregator.rejection_budget)
    "reject.malformed": ("形式が正しくない計測値です。機器のエージェント（eco-agent）のバージョンと設定を確認してください。",
                         "A malformed reading: check the version and settings of the device's eco-agent."),
    "reject.unknown_device": ("登録されていない機器からの送信です。「機器の登録」で登録したか、公開鍵が正しいかを確認してください。",
                              "Sent by a device that is not enrolled: check that it was enrolled, with the right public key."),
    "reject.revoked": ("失効した機器からの送信です。機器を撤去するか、新しい鍵で登録し直してください。",
                       "Sent by a revoked device: remove the box, or enrol it again with a new key."),
    "reject.bad_signature": ("署名が検証できません（鍵の違いか、途中での改ざん）。機器の鍵と登録された公開鍵を確認してください。",
                             "The signature does not verify (another key, or altered on the way): check the device's key against the enrolled one."),
    "reject.fork": ("同じ番号（seq）で内容の違う計測値が届きました。鍵が複製されたおそれがあるため機器を隔離しました。世帯のページで確認し、解除か失効を選んでください。",
                    "A second, different reading with the same seq: the key may be cloned, so the device is quarantined. Check it on its household page, then release or revoke it."),
    "reject.bad_prev": ("直前の計測値とのつながり（prev）が一致しません。機器の記録が置き換えられたおそれがあるため隔離しました。世帯のページで確認してください。",
                        "The link to the previous reading (prev) does not match: the device's history may have been replaced, so it is quarantined. Check it on its household page."),
    "reject.gap": ("計測値の番号（seq）に抜けがあります。機器は抜けた分から送り直します。続く場合は機器の保存領域を確認してください。",
                   "Readings are missing before this one (a seq gap); the device resends from the gap. If it persists, check the device's storage."),
    "reject.stale_seq": ("すでに受け付けた番号（seq）より古い計測値です。機器の記録が巻き戻っていないか確認してください。",
                         "Older than the readings already accepted (a stale seq): check that the device's history was not rolled back."),
    "reject.future": ("計測時刻が未来になっています。機器の時計（NTP の同期）を確認してください。",
                      "The reading is timed in the future: check the device's clock (NTP synchronisation)."),
    "reject.wrong_topic": ("別の機器の宛先（トピック）で送られてきました。機器の設定（device_id）を確認してください。",
                           "Sent on another device's topic: check the device's settings (device_id)."),
    "reject.rate_limited": ("送信が多すぎたため、一部のメッセージを処理せずに破棄しました。機器の送信間隔の設定を確認してください。",
                            "The device sent too often: some messages were dropped unprocessed. Check its sending interval."),
    "reject.queue_full": ("受信処理が混み合っていたため破棄しました。機器は送り直します。続く場合はシステム担当者に連絡してください。",
                          "Dropped because the intake was overloaded; the device resends. Contact the system administrator if it persists."),
    "reject.suppressed": ("同じ機器からの拒否が続いたため、個々の記録を省略しました（上の行と同じ理由です）。",
                          "More rejections from this device, not recorded one by one (the same reasons as above)."),
    "col.rule": ("規則", "Rule"),
    "col.count": ("件数", "Count"),
    "col.excluded": ("算定外", "Excluded"),
    # batches
    "batches.title": ("J-クレジットのバッチ", "J-Credit batches"),
    "batches.methodology": ("方法論", "methodology"),
    "batches.monthly": ("月別のCO2削減量 (kg)", "CO2 avoided per month (kg)"),
    "batches.new": ("新しいバッチ（モニタリング期間）", "New batch (monitoring period)"),
    "batches.start": ("開始日", "Start"),
    "batches.end": ("終了日（この日を含まない）", "End (exclusive)"),
    "batches.preview": ("集計を確認", "Preview totals"),
    "batches.kind": ("方法論の区分", "Methodology"),
    "batches.kind_hint": ("太陽光と電気自動車は別の方法論なので、バッチも別々に作ります。",
                          "PV and EV are different methodologies: each has its own batches."),
    "method.pv": ("PV 太陽光（自家消費）", "PV (household solar, self-consumption)"),
    "method.ev": ("EV 電気自動車", "EV (electric vehicles)"),
    "method.all": ("すべての計測対象（旧形式）", "all quantities (v1 seal)"),
    "batches.exclusions": ("算定外の計測値（規則ごと）", "Excluded readings (by rule)"),
    "batches.creditable": ("算定対象の計測値", "Creditable readings"),
    "batches.period_hint": ("日付は日本時間。期間は既存のバッチと重ねられません。",
                            "Dates in JST; periods never overlap an existing batch."),
    "batches.preview_of": ("集計（まだ封印していません）", "Preview (nothing sealed yet)"),
    "batches.covered": ("対象の計測値", "Covered readings"),
    "batches.carry_in": ("前回からの繰越 (kg)", "Carried in (kg)"),
    "batches.carry_over": ("次回への繰越 (kg)", "Carried over (kg)"),
    "batches.credits": ("クレジット (t-CO2)", "Credits (t-CO2)"),
    "batches.seal": ("この内容で封印する", "Seal this batch"),
    "batches.seal_hint": ("封印すると台帳に eco.batch/v1 が追記され、取り消せません。",
                          "Sealing appends eco.batch/v1 to the ledger; it cannot be undone."),
    "batches.sealed": ("封印済みのバッチ", "Sealed batches"),
    "batches.batch": ("バッチ", "Batch"),
    "batches.period": ("期間", "Period"),
    "batches.certified": ("認証済みシリアル", "Certified serials"),
    "batches.report": ("報告書", "Report"),
    "batches.view": ("印刷用ページ", "Printable page"),
    "batches.zip": ("一式をZIPで", "Everything (zip)"),
    "batches.generate": ("報告書を作成", "Generate report"),
    "batches.regenerate": ("報告書を作り直す", "Regenerate report"),
    "batches.needs_witness": ("保存済みの報告書には立会人（{w}）の連署がありますが、このバッチを含むチェックポイントにはまだ連署がありません。今作り直すと連署のない報告書になり、eco-verify --min-witnesses 1 で不合格になります。立会人の連署（eco-aggregator witness）が届いてから作り直してください。報告書は変更していません。",
                              "The stored report carries a witness cosignature ({w}), but no checkpoint holding this batch is cosigned yet. Regenerating now would drop it and eco-verify --min-witnesses 1 would fail. Regenerate once the witness has cosigned (eco-aggregator witness); the stored report was left unchanged."),
    # witness cosignatures (Batches and Ledger pages)
    "witness.title": ("立会人の連署の状況", "Witness cosignatures"),
    "witness.latest_cosigned": ("最新のチェックポイント（記録数 {n}）は次の立会人が連署しています:", "The latest checkpoint (size {n}) is cosigned by:"),
    "witness.latest_none": ("最新のチェックポイント（記録数 {n}）にはまだ連署がありません。", "The latest checkpoint (size {n}) is not cosigned yet."),
    "witness.newest_cosigned": ("連署のある最新のチェックポイント: 記録数 {n}", "Newest cosigned checkpoint: size {n}"),
    "witness.never": ("まだどの立会人も連署していません。報告書は連署なしになります（立会人を設定し eco-aggregator witness を実行してください）。",
                      "No witness has cosigned yet: reports carry no cosignature (configure a witness and run eco-aggregator witness)."),
    "witness.age_min": ("{n} 分前", "{n} min ago"),
    "witness.age_h": ("{n} 時間前", "{n} h ago"),
    "witness.age_d": ("{n} 日前", "{n} days ago"),
    "witness.report_cosigned": ("連署あり", "Cosigned"),
    "witness.report_uncosigned": ("連署なし", "Not cosigned"),
    "witness.report_without": ("この報告書には立会人の連署がありません（このバッチを含むチェックポイントに連署がまだありません）。立会人の連署が届いてから作り直すと連署付きになります。",
                               "This report carries no witness cosignature (no checkpoint holding the batch is cosigned yet); regenerate it once the witness has cosigned."),
    "batches.none": ("まだありません。", "None yet."),
    "batches.bad_period": ("期間（開始日 {start}、終了日 {end}）が正しくありません。開始日と終了日をどちらも日付（日本時間）で入力し、終了日は開始日より後にしてください（終了日は含みません）。",
                           "The period (start {start}, end {end}) is not valid: enter both dates (JST), the end after the start (the end day is not included)."),
    "batches.overlap": ("期間 {start}〜{end}（終了日を含まない）は、封印済みのバッチ {batch}（{bstart}〜{bend}）と重なっています。同じ計測値を二重に算定しないよう、同じ方法論のバッチの期間は重ねられません。開始日を {bend} 以降にしてください。",
                        "The period {start} to {end} (end exclusive) overlaps the sealed batch {batch} ({bstart} to {bend}). Batches of one methodology never overlap, so no reading is credited twice: start on {bend} or later."),
    "batches.factors": ("この期間の電力の排出係数が認証に使えません（例示値であるか、年度の係数がありません）。programme.toml の [[methodology.grid_factors]] を公表値で設定してください。詳細はサーバーのログにあります。",
                        "The grid emission factors for this period are not fit for certification (illustrative, or a fiscal year is missing): set [[methodology.grid_factors]] in programme.toml to published values. The details are in the server's log."),
    "batches.bad_methodology": ("方法論の区分「{m}」はありません。「PV 太陽光（EN-R-002）」か「EV 電気自動車」を選び直してください。",
                                "There is no methodology “{m}”: choose PV (EN-R-002) or EV again."),
    "batches.seal_failed": ("バッチを封印できませんでした（サーバー側の問題です）。詳細はサーバーのログにあります。台帳に記録されたかをこのページで確認し、システム担当者に連絡してください。",
                            "The batch could not be sealed (a problem on the server; the details are in its log). Check on this page whether it was logged, and contact the system administrator."),
    "batches.report_failed": ("報告書を作成できませんでした（サーバー側の問題です）。詳細はサーバーのログにあります。しばらくしてからもう一度「報告書を作成」を押し、解決しない場合はシステム担当者に連絡してください。",
                              "The report could not be generated (a problem on the server; the details are in its log). Try Generate report again later, and contact the system administrator if it persists."),
    "batches.refused": ("この期間ではバッチを作れませんでした。詳細はサーバーのログにあります。期間と方法論の区分を確認し、解決しない場合はシステム担当者に連絡してください。",
                        "No batch can be made for this period; the details are in the server's log. Check the period and the methodology, and contact the system administrator if it persists."),
    "batches.changed": ("確認後に計測値が届きました。もう一度集計を確認してください。",
                        "Readings arrived after the preview; preview again."),
    "batches.unknown": ("そのバッチは封印されていません。下の「封印済みのバッチ」から選び直してください。", "No such sealed batch: choose one from the sealed batches below."),
    "batches.no_report": ("報告書がまだ作成されていません。J-クレジットのページで「報告書を作成」を押してください。", "The report has not been generated yet: press Generate report on the Batches page."),
    # resident
    "resident.title": ("わが家のエコポイント", "Our eco-points"),
    "resident.balance": ("ポイント残高", "Points balance"),
    "resident.co2": ("これまでに減らしたCO2: {kg} kg", "CO2 avoided so far: {kg} kg"),
    "resident.rate": ("CO2 1kg につき {n} ポイント", "{n} point(s) per kg of CO2"),
    "resident.rewards": ("交換できる特典", "Rewards"),
    "resident.no_rewards": ("特典はまだありません。", "No rewards yet."),
    "resident.qr_hint": ("協力店の窓口でこのQRコードを見せてください。",
                         "Show this QR code at a participating shop."),
    "resident.qr_valid": ("QRコードの有効期限は {m} 分です。期限が切れたらページを開き直してください。",
                          "The code is valid for {m} minutes; reload the page for a new one."),
    "resident.qr_link": ("（QRコードのリンク）", "(the QR code's link)"),
    # the resident's page on a phone (issue 17): no operator words, reasons as plain sentences
    "app.name_shop": ("エコポイント 協力店の画面", "Eco-points: shop counter"),
    "app.name_resident": ("エコポイント わが家のページ", "Eco-points: my household"),
    "app.footer_resident": ("ポイントは、お宅の計測器が送った署名付きの計測値から計算しています。ご不明な点は市役所の担当窓口へお問い合わせください。",
                            "Your points are computed from the signed readings your meters sent. Questions? Please ask the town hall."),
    "resident.next_reward": ("次の特典", "Next reward"),
    "resident.next_needs": ("「{reward}」（{points} pt）まで あと {n} pt", "{n} more points for “{reward}” ({points} pt)"),
    "resident.all_rewards": ("どの特典とも交換できます。協力店でQRコードを見せてください。",
                             "You have enough points for every reward: show the QR code at a shop."),
    "resident.can_redeem": ("交換できます", "enough points"),
    "resident.needs": ("あと {n} pt", "{n} more points needed"),
    "resident.rewards_hint": ("交換は協力店の窓口で、このページのQRコードを見せて行います。",
                              "To redeem, show this page's QR code at a participating shop."),
    "resident.daily": ("日別のCO2削減量（最近{d}日）", "CO2 avoided per day (last {d} days)"),
    "resident.co2_series": ("CO2削減量", "CO2 avoided"),
    "resident.daily_empty": ("まだ計測値がありません。太陽光の計測が届くと、ここに日ごとの棒グラフが出ます。",
                             "No readings yet. Once your meters report, a bar per day appears here."),
    "resident.qr_title": ("交換用のQRコード", "QR code for rewards"),
    "resident.details": ("くわしい記録", "Details"),
    "resident.days_table": ("日別の内訳（表）", "Day by day (table)"),
    "resident.slots_table": ("30分ごとの計測値（最新 {n} 件）", "Half-hour readings (latest {n})"),
    "resident.not_counted": ("ポイントにならなかった計測値", "Readings that earned no points"),
    "resident.not_counted_hint": ("次の理由で、記録はされていますがポイントの計算に入っていません。ご不明な点は市役所へお問い合わせください。",
                                  "They are recorded, but not counted for points, for the reasons below. Ask the town hall if this looks wrong."),
    "resident.not_counted_n": ("{n} 件", "{n} readings"),
    "resident.problem": ("いまはポイントを計算できません。市役所の担当窓口へお問い合わせください。",
                         "Your points cannot be computed right now; please ask the town hall."),
    "resident.household_no": ("お問い合わせ用の世帯番号:", "Your household number (for enquiries):"),
    "col.pv_wh": ("太陽光発電 (Wh)", "PV generation (Wh)"),
    "col.export_wh": ("売電 (Wh)", "Exported (Wh)"),
    "col.self_wh": ("自家消費 (Wh)", "Self-consumed (Wh)"),
    "col.ev_wh": ("EV充電 (Wh)", "EV charging (Wh)"),
    "col.co2_g": ("CO2削減量 (g)", "CO2 avoided (g)"),
    "col.points": ("ポイント (pt)", "Points (pt)"),
    "col.pv_kwh": ("太陽光発電 (kWh)", "PV generation (kWh)"),
    "col.self_kwh": ("自家消費 (kWh)", "Self-consumed (kWh)"),
    "col.ev_kwh": ("EV充電 (kWh)", "EV charging (kWh)"),
    "shop.short": ("残高が足りません: 「{reward}」は {points} pt、残高は {balance} pt です（あと {n} pt）。",
                   "Not enough points: “{reward}” costs {points} pt and the balance is {balance} pt ({n} more needed)."),
    "shop.none_affordable": ("残高 {balance} pt では、交換できる特典がまだありません（いちばん少ない特典まで あと {n} pt）。",
                             "With {balance} pt there is no reward to redeem yet ({n} more points for the cheapest)."),
    "shop.unknown_reward": ("その特典はカタログにありません。一覧から選んでください。",
                            "That reward is not in the catalogue; choose one from the list."),
    "shop.refused": ("交換できませんでした。残高が変わった可能性があります。ページを開き直して、もう一度お試しください。",
                     "The redemption was refused; the balance may have changed. Reload the page and try again."),
    # shop
    "shop.title": ("ポイント交換（協力店）", "Redeem points (shop)"),
    "shop.scan": ("住民のQRコードを読み取ってください。", "Scan the resident's QR code."),
    "shop.expired": ("QRコードの有効期限が切れているか、正しくありません。住民の方にページを開き直してもらってください。",
                     "The QR code expired or is not valid; ask the resident to reload their "
                     "page."),
    "shop.done": ("「{reward}」と交換しました。残高は {n} ポイントです。",
                  "Redeemed “{reward}”. The balance is now {n} points."),
    "shop.to_check": ("住民の証明書（署名付きのポイント残高）を確認する", "Check a resident's signed statement"),
    "nav.check": ("証明書を確認", "Check a statement"),
    "batches.credential": ("署名付きの要約（購入者向け）", "Signed summary (for buyers)"),
    "batches.credential_hint": ("report-credential.json: 報告書の要約を市の鍵で署名した検証可能な証明書です。eco-verify credential で確認できます。", "report-credential.json: the report's summary as a Verifiable Credential signed with the town's key; eco-verify credential checks it."),
    # the resident's signed statement (issue 20)
    "statement.title": ("署名付きのポイント証明書", "Signed points statement"),
    "statement.get": ("証明書を発行", "Get a signed statement"),
    "statement.get_hint": ("市の署名が付いたポイント残高の証明書をQRコードで受け取れます。協力店は町のサーバーに問い合わせずにその場で確かめられます。お名前は入りません。", "A statement of your points balance signed by the town, as a QR code: a shop can check it on the spot without asking the town. Your name is not in it."),
    "statement.with_history": ("日ごとのCO2削減量も入れる", "Include the day-by-day history"),
    "statement.as_of": ("{t} 時点の残高です。", "The balance as of {t}."),
    "statement.discloses": ("この証明書に入るのは世帯番号と残高だけです（日ごとの記録は入りません）。", "This statement holds your household number and balance only (no day-by-day history)."),
    "statement.discloses_history": ("この証明書には世帯番号・残高と、日ごとのCO2削減量が入っています。", "This statement holds your household number, balance and the day-by-day CO2 avoided."),
    "statement.qr_title": ("証明書のQRコード", "The statement's QR code"),
    "statement.qr_label": ("署名付きのポイント証明書のQRコード", "QR code of the signed points statement"),
    "statement.qr_hint": ("協力店で「証明書を確認」の画面にこのQRコードを読み取ってもらってください。", "At a shop, have this QR code read on its “Check a statement” screen."),
    "statement.too_big": ("日ごとの記録が長く、QRコードに入りきりません（{n} 文字）。下のファイルを保存して使うか、記録なしで発行し直してください。", "The history is too long for a QR code ({n} characters). Save the file below, or get a statement without the history."),
    "statement.offline_hint": ("QRコードには残高の証明書と、お宅の計測器の登録の証明書（登録が取り消されていないかの確認用）が入っています。", "The QR code holds the balance statement and the enrolment credentials of your devices (for checking they were not revoked)."),
    "statement.download": ("証明書をファイル（JSON）で保存", "Save the statement as a file (JSON)"),
    "statement.download_hint": ("ファイルは eco-verify credential でだれでも確かめられます。", "Anyone can check the file with eco-verify credential."),
    "statement.text": ("QRコードの中身（{n} 文字）", "The QR code's content ({n} characters)"),
    "statement.back": ("わが家のページへ戻る", "Back to my page"),
    "statement.no_issuer": ("この市では署名付きの証明書をまだ発行していません。市役所へお問い合わせください。", "This town does not issue signed statements yet; please ask the town office."),
    "statement.no_device": ("お宅の計測器の登録がすべて取り消されているため、証明書を発行できません。市役所へお問い合わせください。", "Every device of this household has been revoked, so no statement can be issued; please ask the town office."),
    "statement.failed": ("いまは証明書を発行できません。しばらくしてからもう一度お試しください。", "The statement cannot be issued right now; please try again later."),
    # the shop's check of a statement (issue 20)
    "check.title": ("証明書を確認（協力店）", "Check a statement (shop)"),
    "check.input": ("住民のQRコードの中身", "The resident's QR code content"),
    "check.input_hint": ("QRコードを読み取り機で読むと、ここに ECO1: で始まる文字が入り、そのまま確認されます。証明書のファイル（JSON）の中身を貼り付けても確認できます。", "Reading the QR code with the scanner types text starting with ECO1: here and checks it at once; a statement file's content (JSON) can be pasted too."),
    "check.submit": ("確認する", "Check"),
    "check.valid": ("有効: 市の署名があり、改ざんされていません。", "VALID: signed by the town and not altered."),
    "check.as_of": ("{t} 時点の残高", "Balance as of {t}"),
    "check.checkpoint": ("市の台帳の記録数 {n} の時点で計算されています。", "Computed at the town ledger's checkpoint of {n} entries."),
    "check.not_revoked": ("機器の登録 {n} 件: 取り消されていません（保存してある失効リストで確認）。", "{n} device enrolment(s): not revoked (checked in the stored status list)."),
    "check.revocation_unknown": ("登録の証明書が付いていないため、取り消しの有無は確かめていません（住民のページのQRコードなら確かめられます）。", "No enrolment credential came with it, so revocation was not checked (the QR code from the resident's page carries it)."),
    "check.history": ("日ごとの記録 {n} 日分が含まれています（住民が開示を選んだもの）。", "It discloses {n} days of history (the resident chose to)."),
    "check.redeem": ("この世帯のポイント交換へ進む", "Go on to redeem this household's points"),
    "check.redeem_hint": ("交換は市の台帳に記録され、その時点の残高で判断されます。", "The redemption is logged in the town's ledger and judged on the balance at that time."),
    "check.redeem_stale": ("この証明書は {t} に発行されたもので、交換に使える {m} 分を過ぎています。残高の確認には使えますが、交換は住民のページの交換用QRコードで行ってください。", "This statement was issued at {t}, more than the {m} minutes a redemption allows: it shows the balance, but redeem with the exchange QR code on the resident's page."),
    "check.revoked": ("取り消し済み: この世帯の機器の登録は取り消されています。", "REVOKED: this household's device enrolment has been revoked."),
    "check.invalid": ("無効: この証明書は確認できませんでした。", "INVALID: this statement could not be verified."),
    "check.dont_redeem": ("この証明書ではポイント交換を受け付けないでください。住民の方には市役所へお問い合わせいただくようご案内ください。", "Do not accept this statement for a redemption; please refer the resident to the town office."),
    "check.reason.revoked": ("市が登録を取り消した機器の証明書です。残高は使えない可能性があります。", "The town revoked the enrolment of this household's device; its balance may not be usable."),
    "check.reason.signature": ("市の署名と一致しません。内容が書き換えられたか、期限切れか、市の鍵ではない鍵で署名されています。", "It does not match the town's signature: its content was altered, it expired, or it was signed with a key that is not the town's."),
    "check.reason.enrolment": ("一緒に入っている機器の登録の証明書が正しくないか、別の世帯のものです。", "The enrolment credential that came with it is not valid, or belongs to another household."),
    "check.reason.other_town": ("この町が発行した証明書ではありません。", "This statement was not issued by this town."),
    "check.reason.not_statement": ("ポイント残高の証明書ではありません。", "This is not a points statement."),
    "check.reason.unreadable": ("QRコードの中身を読み取れません。読み取りが途中で切れたか、別のQRコードです。", "The QR code's content cannot be read: the scan was cut short, or it is another QR code."),
    "check.reason.no_keys": ("町の公開鍵（DID文書）をまだ保存していないため確認できません。町のサーバーにつながるときにもう一度お試しください。", "The town's public keys (its DID document) are not stored yet; try again when the town's server can be reached."),
    "check.reason.no_status": ("町の失効リストをまだ保存していないため、取り消しの有無を確認できません。", "The town's status list is not stored yet, so revocation cannot be checked."),
    "check.copy": ("確認に使う町の公開鍵と失効リスト: {t} に取得（{m} 分前）。", "The town's keys and status list used for checking: fetched at {t} ({m} minutes ago)."),
    "check.no_copy": ("町の公開鍵と失効リストをまだ取得できていません。", "The town's keys and status list have not been fetched yet."),
    "check.unreachable": ("町のサーバーにつながらないため、保存してあるものでその場で確認しています。", "The town's server cannot be reached: checking with the stored copy."),
    "check.to_redeem": ("ポイント交換の画面へ", "To the redeem page"),
    # flashes
    "flash.lifted": ("{n} のログイン制限を解除しました。", "Login lock-out of {n} lifted."),
    "security.nothing_to_lift": ("{n} にはログインの失敗の記録がありません。解除するものはありません（すでに解除されたか、時間が経って消えています）。",
                                 "{n} has no failed logins: there is nothing to lift (it was already lifted, or it lapsed)."),
    "security.lift_failed": ("{n} のログイン制限を解除できませんでした。詳細はサーバーのログにあります。ページを開き直して、まだ制限中か確認してください。",
                             "The lock-out of {n} could not be lifted; the details are in the server's log. Reload the page to see whether it is still locked out."),
    "security.title": ("ログイン制限", "Login lock-outs"),
    "security.none": ("いま待たされているアカウントやアドレスはありません。", "No account or address is made to wait now."),
    "security.hint": ("ログインの失敗が続くと、アカウントごと・接続元アドレスごとに待ち時間が倍々に延びます（最長15分）。本人確認のうえ解除できます。解除は監査記録に残ります。",
                      "After repeated failed logins, an account (and a client address) waits twice as long each time, up to 15 minutes. Lift it once you have checked who it is; the lift is recorded in the audit trail."),
    "security.kind": ("種類", "Kind"),
    "security.name": ("アカウント／アドレス", "Account / address"),
    "security.failures": ("失敗回数", "Failures"),
    "security.wait": ("残り待ち時間（秒）", "Wait left (s)"),
    "security.lift": ("解除", "Lift"),
    "security.account": ("アカウント", "account"),
    "security.address": ("アドレス", "address"),
    "nav.security": ("ログイン制限", "Lock-outs"),
    "flash.released": ("機器 {d} の隔離を解除しました（台帳番号 {i}）。", "Device {d} released from quarantine (entry {i})."),
    "flash.revoked": ("機器 {d} を失効させました（台帳番号 {i}）。", "Device {d} revoked (entry {i})."),
    "flash.login_removed": ("ブローカーのログインを削除しました（{reload}）。",
                            "Its broker login was removed ({reload})."),
    "flash.login_absent": ("ブローカーのログインはありませんでした。",
                           "It had no broker login."),
    "flash.redeemed": ("{reward} と交換しました（台帳番号 {i}、残高 {n} pt）。",
                       "Redeemed {reward} (entry {i}; balance {n} pt)."),
    "flash.sealed": ("バッチ {b} を封印しました（台帳番号 {i}）。", "Batch {b} sealed (entry {i})."),
    "flash.report": ("報告書を作成しました: {b}", "Report generated: {b}"),
    "flash.no_pdf": ("PDFは作成できませんでした（Chromium がありません）。HTMLとJSONは作成済みです。",
                     "No PDF (Chromium is not installed); HTML and JSON were written."),
    # charts
    "chart.energy_daily": ("日別の電力量", "Daily energy"),
    "chart.co2_daily": ("日別のCO2削減量", "Daily CO2 avoided"),
    "chart.co2_monthly": ("月別のCO2削減量", "Monthly CO2 avoided"),
    # the printable report
    "report.title": ("J-クレジット バッチ報告書", "J-Credit batch report"),
    "report.end_exclusive": ("終了日を含まない", "end exclusive"),
    "report.reduction_t": ("排出削減量 (t-CO2)", "Emission reduction (t-CO2)"),
    "report.sample": ("抽出検査の計測値", "Sampled readings"),
    "report.methodology": ("方法論", "Methodology"),
    "report.methodology_id": ("方法論 / 版", "Methodology / version"),
    "report.ev_methodology": ("EVの方法論", "EV methodology"),
    "report.ev_methodology_text": ("EV: 走行に相当するガソリンの排出量から、充電した電力の排出量を差し引いた量（docs/methodology.md [I]）",
                                   "EV: gasoline avoided minus grid charging (docs/methodology.md, [I])"),
    "report.gasoline": ("ガソリンの排出係数", "Gasoline emission factor"),
    "report.project": ("J-クレジット プロジェクト番号", "J-Credit project"),
    "report.operator": ("運営者", "Operator"),
    "report.verifier": ("審査機関", "Verification body"),
    "report.not_certified": ("未認証", "not certified yet"),
    "report.factors": ("電力の排出係数（年度別）", "Grid emission factors by fiscal year"),
    "report.fy": ("年度", "Fiscal year"),
    "report.source": ("出典", "Source"),
    "report.published": ("公表", "Published"),
    "report.illustrative": ("例示値", "illustrative"),
    "report.monthly": ("月別の実績", "Monthly results"),
    "report.chart_energy": ("月別の電力量", "Energy per month"),
    "report.chart_co2": ("月別のCO2削減量", "CO2 avoided per month"),
    "report.quantity": ("区分", "Quantity"),
    "report.households": ("世帯別の実績", "Households"),
    "report.pseudonyms": ("世帯は仮名IDでのみ記載しています（氏名・住所は含みません）。",
                          "Households appear only under pseudonyms (no names or addresses)."),
    "report.total": ("合計", "Total"),
    "report.energy_units": ("電力量の単位は kWh です。", "Energy in kWh."),
    "report.checkpoint": ("台帳のチェックポイント", "Ledger checkpoint"),
    "report.checkpoint_hint": ("封印（台帳番号 {i}）を含む、記録数 {n} の署名付きチェックポイントです。",
                               "The signed checkpoint of size {n}, which includes the seal "
                               "(entry {i})."),
    "report.verify": ("検証の方法", "How to verify"),
    "report.verify_hint": ("買い手・審査機関は、報告書と evidence/ をオフラインで検証できます:",
                           "A buyer or the verification body checks the report and evidence/ "
                           "offline:"),
    "report.verify_install": ("eco-verify に必要なのは eco_protocol パッケージだけです（cryptography と rfc8785 に依存）",
                              "eco-verify needs only the eco_protocol package (cryptography and rfc8785)"),
    "report.verify_key": ("--log-key には、この文書ではなく自治体が公表した検証鍵を使ってください。",
                          "Take --log-key from the municipality's published key, not from this "
                          "document."),
    "report.selfcheck_ok": ("作成時の自己検査: 報告書に記載の鍵で署名・証明・計算を確認しました。",
                            "Self-check at rendering: signatures, proofs and arithmetic verify "
                            "under the key the report names."),
    "report.selfcheck_bad": ("作成時の自己検査で問題が見つかりました:", "Self-check at rendering FAILED:"),
    "report.rendered": ("作成日時: {at}", "Rendered {at}"),
    "report.demo": ("DEMONSTRATION デモ — 認証には使えません", "DEMONSTRATION — not for certification"),
    "report.demo_prefix": ("【DEMONSTRATION デモ】", "[DEMONSTRATION]"),
    "report.demo_hint": ("このプログラムはデモとして設定されています。例示値の排出係数を含むことがあり、この報告書は J-クレジットの認証には使えません。",
                         "This programme is declared a demonstration: it may use illustrative "
                         "emission factors, and this report cannot be used for J-Credit "
                         "certification."),
    "report.covered": ("対象", "Covered"),
    "report.creditable": ("算定対象", "Creditable"),
    "report.excluded": ("算定外（規則ごと）", "Excluded (by rule)"),
    "report.zeroed_by": ("ゼロとした理由", "Zeroed by"),
    "report.readings": ("計測値の数", "Readings"),
    "report.exclusions": ("算定外の計測値（バッチ全体）", "Excluded readings (whole batch)"),
    "report.no_exclusions": ("ありません。対象の計測値はすべて算定しました。", "None: every covered reading was credited."),
    "report.rules": ("算定規則（programme.toml の [rules]）", "Rules (programme.toml [rules])"),
    "report.selfcheck_lines": ("eco-verify の出力（英語）:", "What was checked (eco-verify's checks):"),
    "report.selfcheck_count": ("{n} 項目の検査に合格しました。項目ごとの結果は、eco-verify の出力（英語）と英語版の報告書にあります。",
                               "{n} checks passed; eco-verify prints each of them."),
    "report.batch_methodology": ("方法論の区分", "Methodology of this batch"),
}


CATALOGUE.update(CERTIFICATES)  # the certificate pages' texts (issue 19), i18n_certificates.py

# the rules' sentences are protocol data: one catalogue (eco_protocol's) for the CLIs and the UI
CATALOGUE.update({f"ruletext.{r.value}": (PROTOCOL_CATALOG[f"eco_protocol.ruletext.{r.value}"]["ja"],
                                           RULE_TEXT[r]) for r in Rule})

ZERO_CODES = ("export_unmetered", "battery_excluded")
REJECTION_CODES = ("malformed", "unknown_device", "revoked", "bad_signature", "fork", "bad_prev",
                   "gap", "stale_seq", "future", "wrong_topic", "rate_limited", "queue_full",
                   "suppressed")


def message_key(text: str) -> str | None:
    """The catalogue key of a reason or flag the methodology writes in English
    (``"<code>: text"``, or a battery flag), or of a rejection row's reason, or ``None`` for data shown as it is (a device
    row's own flag). Pure, so the pages translate exactly the reasons they know."""
    code = text.split(":", 1)[0].strip()
    if code in ZERO_CODES:
        return f"zero.{code}"
    if code in {r.value for r in Rule}:
        return f"rule.{code}"
    if code in REJECTION_CODES:
        return f"reject.{code}"
    if text == "battery":
        return "flag.battery"
    if code == "battery":
        return "flag.battery_daily"
    return None


_NO_FACTOR = re.compile(r"no grid emission factor for fiscal year (\d+)")


def describe(t: Translator, text: str) -> str:
    """``text`` in the reader's language if it is a reason or a methodology problem the
    catalogue knows (:class:`eco_protocol.methodology.MethodologyError`'s sentences), else as
    is."""
    factor = _NO_FACTOR.search(text)
    if factor is not None:
        return t("problem.no_factor").replace("{fy}", factor.group(1))
    if text.startswith("EV charging without"):
        return t("problem.ev_terms")
    if text == "no programme configured":
        return t("problem.no_programme")
    key = message_key(text)
    return text if key is None else t(key)


_RELOADED = re.compile(r"reloaded: SIGHUP sent to mosquitto pid (\d+)")


def broker_reload_text(t: Translator, text: str) -> str:
    """What :func:`aggregator.broker_auth.reload_broker` said, in the reader's language: the
    broker reloaded, or what the operator must do (the English detail is in the JSON and the
    log)."""
    done = _RELOADED.fullmatch(text)
    if done is not None:
        return t("broker.reloaded").replace("{pid}", done.group(1))
    return t("broker.not_signalled")


def translator(lang: str) -> Translator:
    i = LANGUAGES.index(lang) if lang in LANGUAGES else LANGUAGES.index(DEFAULT_LANGUAGE)

    def t(key: str) -> str:
        entry = CATALOGUE.get(key)
        return key if entry is None else entry[i]

    return t


def pick_language(cookie: str | None) -> str:
    """The ``lang`` cookie if valid, else Japanese (the municipality's language, whatever the
    browser prefers)."""
    return cookie if cookie in LANGUAGES else DEFAULT_LANGUAGE


__all__ = ["CATALOGUE", "DEFAULT_LANGUAGE", "LANGUAGES", "Translator",
           "broker_reload_text", "describe",
           "message_key", "pick_language", "translator"]
