"""The rarer findings in English and Japanese (data, merged into
:mod:`eco_protocol.messages_catalog`): a batch report's structural faults (:mod:`report`), a
claim record's shape (:mod:`claims`) and the field checks every wire record shares
(:mod:`fields`, :mod:`encoding`), which ``eco-verify`` prints after ``FAIL``/``不合格`` inside
the finding that names the record (issue 17 point 1). The English is each exception's ``str()``
exactly as before; the Japanese keeps field paths, record types, identifiers and values as they
are, because they are what a buyer quotes to the seller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# --- a batch report's structure (report.py), under eco_protocol.finding.report. ---
_REPORT: Final[Mapping[str, tuple[str, str]]] = {
    "proved_shape": ("{what}: expected {{index, entry_b64, proof_b64}}",
                     "{what}: {{index, entry_b64, proof_b64}} の形でなければなりません"),
    "index_range": ("{what}.index {index} is not below the checkpoint size {size}",
                    "{what}.index {index} がチェックポイントのサイズ {size} 未満ではありません"
                    "（ログにないエントリです）"),
    "proof_list": ("{what}.proof_b64 must be a list",
                   "{what}.proof_b64 は配列でなければなりません"),
    "not_canonical": ("{what} (entry {index}): entry is not canonical JSON",
                      "{what}（エントリ {index}）: エントリが正規形の JSON（RFC 8785）では"
                      "ありません"),
    "key_changes_list": ("log_key_changes must be a non-empty list when present",
                         "log_key_changes がある場合は空でない配列でなければなりません"),
    "not_logkey": ("log_key_changes[{i}] (entry {index}) is not an eco.logkey/v1 record",
                   "log_key_changes[{i}]（エントリ {index}）は eco.logkey/v1 の記録では"
                   "ありません"),
    "key_changes": ("log_key_changes: {error}", "log_key_changes: {error}"),
    "not_seal": ("seal (entry {index}) is not an eco.batch/v1 record",
                 "seal（エントリ {index}）は eco.batch/v1 の記録ではありません"),
    "not_list": ("{key} must be a list", "{key} は配列でなければなりません"),
    "prev_other": ("previous_seals[{i}] is not a seal of {programme} ({methodology})",
                   "previous_seals[{i}] は {programme}（{methodology}）の封印ではありません"),
    "all_quantities": ("all quantities", "全計測対象"),
    "prev_after": ("previous_seals[{i}] (entry {index}) is not before the seal",
                   "previous_seals[{i}]（エントリ {index}）がこのバッチの封印より前にありません"),
    "not_enrolment": ("enrolments[{i}] (entry {index}) is not an enrolment",
                      "enrolments[{i}]（エントリ {index}）は機器の登録ではありません"),
    "enrolment_after": ("enrolments[{i}] (entry {index}) comes after the seal",
                        "enrolments[{i}]（エントリ {index}）がこのバッチの封印より後にあります"),
    "methodology": ("methodology: {error}", "methodology: {error}"),
    "demonstration": ('demonstration: a demonstration programme\'s report must say '
                      '"demonstration": true, and no other report may',
                      'demonstration: デモプログラムの報告書には "demonstration": true が'
                      "必要で、それ以外の報告書にあってはなりません"),
    "unfit": ("methodology: emission factors not fit for certification in a programme that is "
              "not a demonstration: {problems}",
              "methodology: デモではないプログラムで、排出係数が認証に適していません: "
              "{problems}"),
    "hh_object": ("{w} must be an object", "{w} はオブジェクトでなければなりません"),
    "hh_fields": ("{w}: fields must be {want}, got {got}",
                  "{w}: 項目は {want} のはずが {got} です"),
    "hh_device": ("{w}.devices: {device} has no enrolment for household {household!r} in "
                  "programme {programme}",
                  "{w}.devices: 機器 {device} に、プログラム {programme} の世帯 {household!r} "
                  "としての登録がありません"),
    "month_malformed": ("{w}: malformed ({error})", "{w}: 形式が正しくありません（{error}）"),
    "not_reading": ("{w} (entry {index}) is not a reading",
                    "{w}（エントリ {index}）は読み取り値ではありません"),
    "counts_shape": ("{what}: expected {{covered, creditable, excluded}}",
                     "{what}: {{covered, creditable, excluded}} の形でなければなりません"),
    "counts_int": ("{what}: counts must be non-negative integers",
                   "{what}: 件数は 0 以上の整数でなければなりません"),
}

# --- a claim record's shape (claims.py), under eco_protocol.finding.claim. ---
_CLAIM: Final[Mapping[str, tuple[str, str]]] = {
    "action_unknown": ("claim.action: {action} is not one of {allowed}",
                       "claim.action: {action} は {allowed} のいずれでもありません"),
    "shape": ("claim {claim} ({action}): {problems}",
              "クレーム {claim}（{action}）: {problems}"),
    "needs": ("needs {field}", "{field} が必要です"),
    "must_not_carry": ("must not carry {field}", "{field} があってはなりません"),
    "hour_start": ("claim.hour: {hour} is not the start of an hour",
                   "claim.hour: {hour} が正時（1 時間の始まり）ではありません"),
    "no_request_here": ("claim {claim} ({action}): must not carry request",
                        "クレーム {claim}（{action}）: request があってはなりません"),
    "parts_many": ("claim.parts: {n} parts, at most {max}",
                   "claim.parts: {n} 件あります（最大 {max} 件）"),
    "part_twice": ("claim {claim}: a reading is named twice in parts",
                   "クレーム {claim}: parts に同じ読み取り値が二度あります"),
    "bundle_size": ("claim {claim}: bundle {first}..{last} holds {size} ids, the parts take "
                    "{wh} Wh (one id per Wh)",
                    "クレーム {claim}: バンドル {first}..{last} の番号は {size} 個ですが、"
                    "parts の合計は {wh} Wh です（1 Wh に 1 番号）"),
    "parts_list": ("claim.parts: expected a list", "claim.parts: 配列でなければなりません"),
}

# --- the field checks every wire record shares (fields.py, encoding.py) ---
_FIELD: Final[Mapping[str, tuple[str, str]]] = {
    "not_object": ("{what}: expected a JSON object, got {type}",
                   "{what}: JSON のオブジェクトでなければなりません（{type} です）"),
    "missing": ("{what}: missing field(s) {fields}", "{what}: 項目 {fields} がありません"),
    "unknown": ("{what}: unknown field(s) {fields}",
                "{what}: 不明な項目 {fields} があります（署名付きの記録は決められた項目だけを"
                "持ちます）"),
    "not_int": ("{what}: expected an integer, got {value}",
                "{what}: 整数でなければなりません（{value} です）"),
    "int_range": ("{what}: {value} is outside [{lo}, {hi}]",
                  "{what}: {value} が範囲 [{lo}, {hi}] の外です"),
    "not_str": ("{what}: expected a string, got {value}",
                "{what}: 文字列でなければなりません（{value} です）"),
    "empty": ("{what}: must not be empty", "{what}: 空であってはなりません"),
    "too_long": ("{what}: longer than {max} characters", "{what}: {max} 文字を超えています"),
    "wrong_type": ("{what}: expected type {expected!r}, got {got}",
                   "{what}: type は {expected!r} のはずが {got} です"),
    "sig_length": ("{what}.sig: must be 64 bytes, got {n}",
                   "{what}.sig: 64 バイトのはずが {n} バイトです"),
    "not_one_of": ("{what}: {value} is not one of {allowed}",
                   "{what}: {value} は {allowed} のいずれでもありません"),
    "too_deep": ("{what}: nested too deeply", "{what}: 入れ子が深すぎます"),
    "not_allowed": ("{what}: {type} is not allowed in a signed record",
                    "{what}: 署名付きの記録に {type} は使えません"),
    "not_b64_text": ("{what}: expected a base64 string, got {type}",
                     "{what}: base64 の文字列でなければなりません（{type} です）"),
    "bad_b64": ("{what}: invalid base64 ({error})",
                "{what}: base64 として正しくありません（{error}）"),
    "b64_canonical": ("{what}: non-canonical base64",
                      "{what}: base64 が正規の書き方ではありません（パディングか余分なビット）"),
    "hex": ("{what}: expected {length} lowercase hex characters, got {value}",
            "{what}: 小文字の 16 進数 {length} 文字でなければなりません（{value} です）"),
    "time": ("{what}: expected RFC 3339 UTC time like 2026-11-22T09:30:00Z, got {value}",
             "{what}: 2026-11-22T09:30:00Z のような RFC 3339 の UTC 時刻でなければなりません"
             "（{value} です）"),
    "zoned_time": ("{what}: expected a date-time with a zone like 2026-11-22T09:30:00Z, got "
                   "{value}",
                   "{what}: 2026-11-22T09:30:00Z のようなタイムゾーン付きの日時でなければなり"
                   "ません（{value} です）"),
    "bad_time": ("{what}: {value} is not a valid date-time ({error})",
                 "{what}: {value} は存在しない日時です（{error}）"),
}

# --- a wire record's own rules (records.py, programme_records.py), under
# eco_protocol.finding.record., and JSON itself (canonical.py), under eco_protocol.finding.json. ---
_RECORD: Final[Mapping[str, tuple[str, str]]] = {
    "prev_first": ("reading.prev: must be 64 zeros exactly when seq is 1",
                   "reading.prev: seq が 1 のときだけ 0 が 64 個でなければなりません"),
    "flag_twice": ("reading.flags: repeated flag", "reading.flags: 同じフラグが二度あります"),
    "flags": ("reading.flags: expected a list of at most 8 flags, got {value}",
              "reading.flags: 8 個以下のフラグの配列でなければなりません（{value} です）"),
    "rc_creditable": ("receipt.items[].creditable: only an accepted item says whether it is "
                      "creditable",
                      "receipt.items[].creditable: クレジット対象かどうかを示すのは受理された"
                      "項目だけです"),
    "rc_why": ("receipt.items[].reason: a non-creditable item must say why",
               "receipt.items[].reason: クレジット対象外の項目には理由が必要です"),
    "rc_reason": ("receipt.items[].reason: a rejection must give a reason",
                  "receipt.items[].reason: 拒否には理由が必要です"),
    "rc_no_leaf": ("receipt.items[].leaf_index: a rejected reading has none",
                   "receipt.items[].leaf_index: 拒否された読み取り値には付きません"),
    "rc_leaf": ("receipt.items[].leaf_index: required for {status}",
                "receipt.items[].leaf_index: {status} には必要です"),
    "rc_bool": ("{what}.creditable: expected true or false, got {value}",
                "{what}.creditable: true か false でなければなりません（{value} です）"),
    "rc_items": ("receipt.items: expected 1–{max} items",
                 "receipt.items: 1–{max} 件でなければなりません"),
    "rc_list": ("receipt.items: expected a list", "receipt.items: 配列でなければなりません"),
    "enrol_key": ("enrol.public_key: must be 32 raw bytes",
                  "enrol.public_key: 32 バイトの生の鍵でなければなりません"),
    "enrol_id": ("enrol.device_id: does not match SHA-256(public_key)[:16]",
                 "enrol.device_id: SHA-256(public_key)[:16] と一致しません"),
    "meters_count": ("enrol.meters: expected 1–16 meters",
                     "enrol.meters: 計測器は 1–16 台でなければなりません"),
    "meters_unique": ("enrol.meters: meter ids must be unique",
                      "enrol.meters: 計測器の ID が重複しています"),
    "meters_list": ("enrol.meters: expected a list", "enrol.meters: 配列でなければなりません"),
    "period": ("period: end {end} is not after start {start}",
               "period: 終了 {end} が開始 {start} より後ではありません"),
    "totals": ("totals: credits_t {credits_t} / carry_over_g {carry} do not follow from "
               "reduction_g {reduction} + carry_in_g {carry_in} (expected {want_t} t and "
               "{want_g} g)",
               "totals: credits_t {credits_t} / carry_over_g {carry} が reduction_g {reduction}"
               " + carry_in_g {carry_in} から導かれません（{want_t} t と {want_g} g のはず"
               "です）"),
    "batch_methodology": ("batch.methodology: {value} is not one of {allowed}",
                          "batch.methodology: {value} は {allowed} のいずれでもありません"),
}
_JSON: Final[Mapping[str, tuple[str, str]]] = {
    "not_canonical": ("value cannot be canonicalised (RFC 8785): {error}",
                      "値を正規化（RFC 8785）できません: {error}"),
    "duplicate": ("duplicate JSON key {key}", "JSON のキー {key} が重複しています"),
    "float": ("non-integer number {value}: signed records carry integers only",
              "整数でない数 {value}: 署名付きの記録は整数だけを持ちます"),
    "constant": ("JSON constant {value} is not allowed", "JSON の定数 {value} は使えません"),
    "not_utf8": ("not UTF-8 at byte {at}", "{at} バイト目が UTF-8 ではありません"),
    "invalid": ("invalid JSON at line {line} column {column}: {error}",
                "JSON として正しくありません（{line} 行 {column} 列）: {error}"),
    "too_deep": ("JSON nested too deeply", "JSON の入れ子が深すぎます"),
    "int_long": ("integer {digits}… is outside ±(2^53−1)",
                 "整数 {digits}… が ±(2^53−1) の範囲外です"),
    "int_range": ("integer {value} is outside ±(2^53−1)",
                  "整数 {value} が ±(2^53−1) の範囲外です"),
}

# --- why a batch's factors are not fit for certification (methodology.seal_problems), under
# eco_protocol.finding.seal.: the operator's refused seal and the buyer's finding ---
_SEAL: Final[Mapping[str, tuple[str, str]]] = {
    "span": ("FY{fy} (April {fy} – March {next})", "{fy} 年度（{fy} 年 4 月 – {next} 年 3 月）"),
    "no_factor": ("{span}: no grid emission factor; add the published all-source factor with "
                  "its source and publication date to [[methodology.grid_factors]] before "
                  "sealing",
                  "{span}: 電力の排出係数がありません。公表された全電源平均の係数を、出典と公表日"
                  "とともに [[methodology.grid_factors]] に追加してから封印してください"),
    "illustrative": ("{span}: the grid factor {g} g/kWh is marked illustrative; replace it with "
                     "the published value, its source and publication date and remove "
                     "'illustrative = true' (or, if this programme is only a demonstration, set "
                     "'demonstration = true' under [programme])",
                     "{span}: 電力の排出係数 {g} g/kWh は例示値です。公表値とその出典・公表日に"
                     "置き換え、'illustrative = true' を削除してください（デモだけのプログラム"
                     "なら [programme] に 'demonstration = true' を設定してください）"),
    "no_date": ("{span}: the grid factor has no publication date (published = {published}); "
                "enter the date it was published as YYYY-MM-DD so a verification body can "
                "check it is the value in force",
                "{span}: 電力の排出係数に公表日がありません（published = {published}）。検証"
                "機関が有効な値か確認できるよう、公表日を YYYY-MM-DD で入力してください"),
}

# --- a programme's rules and methodology as a report carries them (creditability.py,
# methodology.py), under eco_protocol.finding.rules. ---
_RULES: Final[Mapping[str, tuple[str, str]]] = {
    "day_type": ("{what}: expected a date YYYY-MM-DD, got {value}",
                 "{what}: YYYY-MM-DD の日付でなければなりません（{value} です）"),
    "day": ("{what}: {value} is not a date YYYY-MM-DD",
            "{what}: {value} は YYYY-MM-DD の日付ではありません"),
    "day_spelling": ("{what}: {value} is not spelled YYYY-MM-DD",
                     "{what}: {value} が YYYY-MM-DD の書き方ではありません"),
    "interval": ("rules.interval_s: {value} must divide a day (60–86400 s)",
                 "rules.interval_s: {value} は 1 日を割り切る値でなければなりません"
                 "（60–86400 秒）"),
    "range": ("rules.{name}: {value} is outside {lo}–{hi}",
              "rules.{name}: {value} が {lo}–{hi} の範囲外です"),
    "battery": ("rules.battery: {value} is not one of {allowed}",
                "rules.battery: {value} は {allowed} のいずれでもありません"),
    "object": ("rules: expected an object", "rules: オブジェクトでなければなりません"),
    "wrong_type": ("rules.{name}: {value} has the wrong type",
                   "rules.{name}: {value} の型が正しくありません"),
    "grid_factor": ("methodology.grid_factors[]: {error}",
                    "methodology.grid_factors[]: 項目が欠けているか正しくありません（{error}）"),
    "methodology_object": ("methodology: expected an object",
                           "methodology: オブジェクトでなければなりません"),
    "methodology_field": ("methodology: missing or wrong field {error}",
                          "methodology: 項目 {error} が欠けているか正しくありません"),
    "no_factor": ("no grid emission factor for fiscal year {fy} (configured: {have}); add it "
                  "to the programme's factor table with its source",
                  "{fy} 年度の電力の排出係数がありません（設定済み: {have}）。プログラムの係数表"
                  "に出典とともに追加してください"),
    "ev_terms": ("EV charging without the EV's Wh/km and the petrol car's m/L in its enrolment",
                 "EV 充電量がありますが、登録情報に EV の電費（Wh/km）と比較するガソリン車の燃費"
                 "（m/L）がありません"),
    "reading_span": ("reading {quantity} {start}: end {end} is not after its start",
                     "読み取り値 {quantity} {start}: 終了 {end} が開始より後ではありません"),
}

# --- replaying a log (replay.py): what eco-verify evidence finds in the entries themselves,
# under eco_protocol.finding.replay. ---
_REPLAY: Final[Mapping[str, tuple[str, str]]] = {
    "too_big": ("entry is {n} bytes, over {max}",
                "エントリが {n} バイトで、上限 {max} を超えています"),
    "not_canonical": ("entry bytes are not the RFC 8785 canonical form of the record",
                      "エントリのバイト列が記録の正規形（RFC 8785）ではありません"),
    "enrolled_twice": ("device {device} is enrolled twice", "機器 {device} が二度登録されています"),
    "revoke_unknown": ("revocation of device {device}, never enrolled",
                       "登録されていない機器 {device} の失効です"),
    "not_ledger": ("record type {type} does not belong in the ledger",
                   "種別 {type} の記録は台帳に含まれるものではありません"),
    "what": ("{type} of {device}", "機器 {device} の {type}"),
    "never_enrolled": ("{what}: the device was never enrolled",
                       "{what}: その機器は登録されていません"),
    "revoked": ("{what}: the device is revoked", "{what}: その機器は失効しています"),
    "not_quarantined": ("{what}: the device is not quarantined",
                        "{what}: その機器は隔離されていません"),
    "quarantined": ("{what}: the device is already quarantined by entry {index}",
                    "{what}: その機器はエントリ {index} ですでに隔離されています"),
    "other_device": ("{what}: the evidence is a reading of another device",
                     "{what}: 証拠が別の機器の読み取り値です"),
    "evidence": ("{what}: evidence", "{what}: 証拠の読み取り値"),
    "sealed_twice": ("batch {batch} is sealed twice", "バッチ {batch} が二度封印されています"),
    "overlap": ("batch {batch} period {start}...{end} overlaps batch {other}",
                "バッチ {batch} の期間 {start}...{end} がバッチ {other} と重なっています"),
    "certify_unsealed": ("certification of batch {batch}, never sealed",
                         "封印されていないバッチ {batch} の認証です"),
    "certified_twice": ("batch {batch} is certified twice",
                        "バッチ {batch} が二度認証されています"),
    "before_enrolment": ("reading of device {device} precedes its enrolment",
                         "機器 {device} の読み取り値がその登録より前にあります"),
    "after_revocation": ("reading of device {device} after its revocation",
                         "機器 {device} の読み取り値がその失効より後にあります"),
}

# --- keys, log key changes and record types (keys.py, logkey.py, dispatch.py), under
# eco_protocol.finding.key. ---
_KEY: Final[Mapping[str, tuple[str, str]]] = {
    "renamed": ("logkey: the new key is named {new}, the old one {old}; a log keeps its origin "
                "across key changes",
                "logkey: 新しい鍵の名前は {new}、古い鍵は {old} です。ログは鍵を変えても発行元の"
                "名前を変えません"),
    "old_signer": ("logkey: the old signer is not previous_key",
                   "logkey: 古い鍵の署名者が previous_key ではありません"),
    "new_signer": ("logkey: the new signer is not new_key",
                   "logkey: 新しい鍵の署名者が new_key ではありません"),
    "same": ("logkey: new_key is the same key as previous_key",
             "logkey: new_key が previous_key と同じ鍵です"),
    "not_in_effect": ("{what}: previous_key {key} is not the log key in effect at this point of "
                      "the log",
                      "{what}: previous_key {key} はログのこの時点で有効なログ鍵ではありません"),
    "old_sig": ("{what} (old key's signature)", "{what}（古い鍵の署名）"),
    "new_sig": ("{what} (new key's endorsement)", "{what}（新しい鍵の承認）"),
    "change_at": ("log key change at entry {index}", "エントリ {index} のログ鍵の変更"),
    "out_of_order": ("log key change at entry {index} is out of order",
                     "エントリ {index} のログ鍵の変更の順序が誤っています"),
    "pinned_not_in_chain": ("the pinned log key {pinned} is not in the log's key chain ({keys})",
                            "固定したログ鍵 {pinned} がログ鍵の連鎖（{keys}）にありません"),
    "proof_chain": ("the log key changes in the proof document do not lead from the pinned key: "
                    "{error}",
                    "証明文書のログ鍵の変更が、固定した鍵からつながっていません: {error}"),
    "tokens_list": ("{what}: expected a list of 1–{max} claim tokens (leave the member out when "
                    "there are none)",
                    "{what}: 1–{max} 個の設備クレームトークンの配列でなければなりません（ない場合は"
                    "項目ごと省きます）"),
    "tokens_order": ("{what}: claim tokens must be sorted and unique",
                     "{what}: 設備クレームトークンは重複なく並べ替えられていなければなりません"),
    "private_length": ("Ed25519 private key must be 32 bytes, got {n}",
                       "Ed25519 の秘密鍵は 32 バイトのはずが {n} バイトです"),
    "public_length": ("Ed25519 public key must be 32 bytes, got {n}",
                      "Ed25519 の公開鍵は 32 バイトのはずが {n} バイトです"),
    "public_invalid": ("invalid Ed25519 public key: {error}",
                       "Ed25519 の公開鍵として正しくありません: {error}"),
    "unknown_type": ("record type {type} is not known to this verifier (knows: {known})",
                     "記録の種別 {type} はこの検証器が知らないものです（知っている種別: {known}）"
                     "。eco-verify を更新してください"),
}

# --- a device's chain (rules.check_chain), under eco_protocol.finding.chain.<code>: the English
# is the receipt's "code: detail" ---
_CHAIN: Final[Mapping[str, tuple[str, str]]] = {
    "gap": ("gap: expected {want}", "gap: 連番（seq）に抜けがあります（期待する seq は {want}）"),
    "stale_seq": ("stale_seq: expected {want}",
                  "stale_seq: 受け付け済みより古い連番（seq）です（期待する seq は {want}）"),
    "bad_prev": ("bad_prev: prev does not match seq {seq} already in the ledger (device history "
                 "forked)",
                 "bad_prev: prev が台帳にある seq {seq} と一致しません（機器の履歴が分岐して"
                 "います）"),
}

# --- Data Integrity proofs and multibase (data_integrity.py, multibase.py), under
# eco_protocol.finding.di. and eco_protocol.finding.mb. ---
_DI: Final[Mapping[str, tuple[str, str]]] = {
    "method": ("proof.verificationMethod {id}: expected DID#fragment",
               "proof.verificationMethod {id}: DID#fragment の形でなければなりません"),
    "has_proof": ("document already has a proof: proof sets are not supported",
                  "文書にはすでに証明があります（複数の証明には対応していません）"),
    "proof_set": ("proof: a proof set (several proofs) is not supported; expected one "
                  "eddsa-jcs-2022 proof object",
                  "proof: 複数の証明には対応していません。eddsa-jcs-2022 の証明オブジェクト一つで"
                  "なければなりません"),
    "no_proof": ("proof: missing — the document is not signed",
                 "proof: ありません — 文書が署名されていません"),
    "suite": ("proof: type {type} with cryptosuite {suite}; expected {want} with {want_suite}",
              "proof: 種別 {type}、暗号スイート {suite} です（{want}、{want_suite} のはずです）"),
    "member": ("proof.{name}: missing or not a string",
               "proof.{name}: ないか、文字列ではありません"),
    "sig_length": ("proof.proofValue: an Ed25519 signature is 64 bytes, got {n}",
                   "proof.proofValue: Ed25519 の署名は 64 バイトのはずが {n} バイトです"),
    "context": ("proof.@context: the document's @context does not start with the proof's — the "
                "document's contexts were changed",
                "proof.@context: 文書の @context が証明のものから始まっていません — 文書の"
                "コンテキストが変更されています"),
    "key": ("verification key: {error}", "検証鍵: {error}"),
}
_MB: Final[Mapping[str, tuple[str, str]]] = {
    "not_str": ("{what}: expected a base58 string, got {value}",
                "{what}: base58 の文字列でなければなりません（{value} です）"),
    "too_long": ("{what}: base58 string longer than {max} characters",
                 "{what}: base58 の文字列が {max} 文字を超えています"),
    "char": ("{what}: {char} at position {pos} is not a base58btc character",
             "{what}: 位置 {pos} の {char} は base58btc の文字ではありません"),
    "not_z": ("{what}: expected multibase base58btc (a string starting with 'z'), got {value}",
              "{what}: multibase の base58btc（'z' で始まる文字列）でなければなりません"
              "（{value} です）"),
    "not_u": ("{what}: expected multibase base64url (a string starting with 'u')",
              "{what}: multibase の base64url（'u' で始まる文字列）でなければなりません"),
    "b64_length": ("{what}: base64url must be unpadded and of a possible length",
                   "{what}: base64url はパディングなしで、あり得る長さでなければなりません"),
    "b64_invalid": ("{what}: invalid base64url ({error})",
                    "{what}: base64url として正しくありません（{error}）"),
    "b64_canonical": ("{what}: non-canonical base64url",
                      "{what}: base64url が正規の書き方ではありません"),
}

# --- a Verifiable Credential's shape and its status list (credentials.py), under
# eco_protocol.finding.vc. ---
_VC: Final[Mapping[str, tuple[str, str]]] = {
    "pseudonym": ("{what}: a household pseudonym is a string of 1–128 characters",
                  "{what}: 世帯の仮名は 1–128 文字の文字列です"),
    "issuer_id": ("issuer {issuer}: expected a DID (did:web:…) or an https URL",
                  "issuer {issuer}: DID（did:web:…）か https の URL でなければなりません"),
    "balance": ("balance: expected an integer number of points, got {value}",
                "balance: ポイントは整数でなければなりません（{value} です）"),
    "report_checkpoint": ("report.checkpoint: expected the signed checkpoint note",
                          "report.checkpoint: 署名付きのチェックポイントのノートが必要です"),
    "not_report": ("report: not a batch report (missing or malformed {error})",
                   "report: バッチ報告書ではありません（{error} がないか正しくありません）"),
    "index_int": ("statusListIndex {index}: expected an integer ≥ 0",
                  "statusListIndex {index}: 0 以上の整数でなければなりません"),
    "list_length": ("status list length {length}: at least {min} bits, a multiple of 8",
                    "失効リストの長さ {length}: {min} ビット以上の 8 の倍数でなければなりません"),
    "revoked_outside": ("revoked index {index}: outside the list of {length} entries",
                        "失効させる番号 {index}: {length} 件のリストの範囲外です"),
    "not_status_list": ("status list: credentialSubject is not a BitstringStatusList",
                        "失効リスト: credentialSubject が BitstringStatusList ではありません"),
    "list_size": ("status list encodedList: truncated, or larger than {max} bytes uncompressed",
                  "失効リストの encodedList: 途中で切れているか、展開後 {max} バイトを超えて"
                  "います"),
    "list_gzip": ("status list encodedList: not GZIP data ({error})",
                  "失効リストの encodedList: GZIP のデータではありません（{error}）"),
    "list_short": ("status list encodedList: {n} bits, fewer than the {min} the specification "
                   "requires",
                   "失効リストの encodedList: {n} ビットで、仕様が求める {min} ビットに足りません"),
    "index_outside": ("statusListIndex {index}: outside the status list of {n} entries",
                      "statusListIndex {index}: {n} 件の失効リストの範囲外です"),
    "issuer": ("issuer: missing, or not a URL or an object with an id",
               "issuer: ないか、URL でも id を持つオブジェクトでもありません"),
    "context": ("@context: must be a list starting with {want} (a Verifiable Credential 2.0)",
                "@context: {want} で始まる配列でなければなりません（Verifiable Credential 2.0）"),
    "type": ("type: must be a list containing VerifiableCredential",
             "type: VerifiableCredential を含む配列でなければなりません"),
    "kind_unknown": ("type: {types} names none of the kinds this checker knows ({kinds})",
                     "type: {types} にこの検証器が知る種類（{kinds}）がありません"),
    "two_kinds": ("type: names two kinds", "type: 種類が二つあります"),
    "eco_context": ("@context: a {kind} must name {want}",
                    "@context: {kind} には {want} が必要です"),
    "purpose": ("{what} proof: proofPurpose {purpose}, expected assertionMethod",
                "{what} の証明: proofPurpose が {purpose} です（assertionMethod のはずです）"),
    "subject": ("credentialSubject: missing or not a single object",
                "credentialSubject: ないか、一つのオブジェクトではありません"),
    "subject_field": ("credentialSubject.{name}: missing or not a {kind}",
                      "credentialSubject.{name}: ないか、{kind} ではありません"),
    "status_shape": ("credentialStatus: expected an object or a list of objects",
                     "credentialStatus: オブジェクトかオブジェクトの配列でなければなりません"),
    "status_type": ("credentialStatus: type {type}, expected {want}",
                    "credentialStatus: 種別が {type} です（{want} のはずです）"),
    "status_size": ("credentialStatus: statusSize other than 1 is not supported",
                    "credentialStatus: 1 以外の statusSize には対応していません"),
    "status_index": ("credentialStatus: statusListIndex must be a decimal string and "
                     "statusListCredential a URL",
                     "credentialStatus: statusListIndex は 10 進数の文字列、"
                     "statusListCredential は URL でなければなりません"),
    "status_purpose": ("{what}: its statusPurpose is not the entry's {purpose}",
                       "{what}: その statusPurpose が項目の {purpose} と異なります"),
}

# --- DIDs, their documents and verification methods (did.py), under eco_protocol.finding.did. ---
_DID: Final[Mapping[str, tuple[str, str]]] = {
    "host": ("did:web host {host}: expected a domain name, optionally :port",
             "did:web のホスト {host}: ドメイン名（:ポート 付きも可）でなければなりません"),
    "segment": ("did:web path segment {segment}: must be non-empty, without '/'",
                "did:web のパスの要素 {segment}: 空でなく '/' を含まないものでなければなりません"),
    "fragment": ("DID key fragment {fragment}: 1–128 URL-safe characters",
                 "DID の鍵のフラグメント {fragment}: URL で安全な 1–128 文字です"),
    "expiry": ("key #{fragment}: expires {until} is not after validFrom {start}",
               "鍵 #{fragment}: 有効期限 {until} が validFrom {start} より後ではありません"),
    "no_keys": ("DID document for {did}: at least one key is needed",
                "{did} の DID 文書: 少なくとも一つの鍵が必要です"),
    "fragments_unique": ("DID document for {did}: key fragments must be unique",
                         "{did} の DID 文書: 鍵のフラグメントが重複しています"),
    "not_ed25519": ("publicKeyMultibase {value}…: not an Ed25519 key (multicodec prefix {prefix}, "
                    "expected ed01)",
                    "publicKeyMultibase {value}…: Ed25519 の鍵ではありません（multicodec の接頭辞"
                    "が {prefix}、ed01 のはずです）"),
    "key_length": ("publicKeyMultibase {value}…: an Ed25519 key is 32 bytes, got {n}",
                   "publicKeyMultibase {value}…: Ed25519 の鍵は 32 バイトのはずが {n} バイトです"),
    "non_canonical": ("publicKeyMultibase {value}…: non-canonical base58",
                      "publicKeyMultibase {value}…: base58 が正規の書き方ではありません"),
    "not_did_key": ("{did} is not a did:key identifier (expected did:key:z6Mk…)",
                    "{did} は did:key の識別子ではありません（did:key:z6Mk… の形です）"),
    "did_key_shape": ("{did}: a did:key identifier is did:key: and one Multikey value",
                      "{did}: did:key の識別子は did:key: と一つの Multikey の値です"),
    "not_did_web": ("{did} is not a did:web identifier (expected did:web:host…)",
                    "{did} は did:web の識別子ではありません（did:web:ホスト… の形です）"),
    "bad_did_web": ("{did}: not a valid did:web identifier",
                    "{did}: did:web の識別子として正しくありません"),
    "methods_list": ("DID document {did}: verificationMethod must be a list",
                     "DID 文書 {did}: verificationMethod は配列でなければなりません"),
    "method_object": ("DID document {did}: a verificationMethod is not an object",
                      "DID 文書 {did}: verificationMethod にオブジェクトでないものがあります"),
    "method_id": ("verification method {id}: expected DID#fragment",
                  "検証方法 {id}: DID#fragment の形でなければなりません"),
    "did_key_method": ("verification method {id}: a did:key has one method, #{fragment}",
                       "検証方法 {id}: did:key の検証方法は #{fragment} 一つだけです"),
    "other_document": ("verification method {id}: the DID document given is for {doc}, not {did}",
                       "検証方法 {id}: 渡された DID 文書は {did} ではなく {doc} のものです"),
    "not_listed": ("verification method {id}: not listed in the DID document of {did}",
                   "検証方法 {id}: {did} の DID 文書にありません"),
    "listed_twice": ("verification method {id}: listed more than once in the DID document, so "
                     "which key it is is unclear",
                     "検証方法 {id}: DID 文書に複数回あるため、どの鍵か定まりません"),
    "not_for_purpose": ("verification method {id}: not listed under {purpose} in the DID "
                        "document of {did}, so it may not sign for that purpose",
                        "検証方法 {id}: {did} の DID 文書の {purpose} にないため、その目的の署名"
                        "はできません"),
    "not_multikey": ("verification method {id}: expected a Multikey controlled by {did}, got "
                     "type {type}",
                     "検証方法 {id}: {did} が管理する Multikey のはずが種別 {type} です"),
    "not_yet": ("verification method {id}: not yet in use at {at} (valid from {start})",
                "検証方法 {id}: {at} の時点ではまだ使われていません（有効開始 {start}）"),
    "ended": ("verification method {id}: {end_name} {end}, so it cannot vouch for a proof made "
              "at {at}",
              "検証方法 {id}: {end_name} {end} のため、{at} に作られた証明を保証できません"),
}

# --- a certificate bundle credential's subject (certificate_credential.py), under
# eco_protocol.finding.cc. ---
_CC: Final[Mapping[str, tuple[str, str]]] = {
    "member": ("{where}.{key}: missing or not a {kind}",
               "{where}.{key}: ないか、{kind} ではありません"),
    "not_object": ("{where}: not an object", "{where}: オブジェクトではありません"),
    "gc_field": ("{where}.certificate.{field}: missing (EnergyTag GC field)",
                 "{where}.certificate.{field}: ありません（EnergyTag GC の項目）"),
    "not_issued": ("claim {claim} is not an issued bundle",
                   "クレーム {claim} は発行されたバンドルではありません"),
    "lacks": ("certificate: the bundle lacks {fields}; pass the bundle as 'eco-aggregator "
              "certificates export' writes it",
              "certificate: バンドルに {fields} がありません。'eco-aggregator certificates "
              "export' が出力したままのバンドルを渡してください"),
    "quantity": ("the certificate's quantity is not its id range of 1 Wh certificates",
                 "証書の数量が、1 Wh の証書の番号の範囲と一致しません"),
    "issuance": ("issuanceId is not the certificate's issuance_id",
                 "issuanceId が証書の issuance_id と一致しません"),
    "sha256": ("bundleSha256 is not the SHA-256 of the certificate it carries",
               "bundleSha256 が、含まれる証書の SHA-256 と一致しません"),
    "holders_sum": ("the holders' quantities do not add up to the bundle's",
                    "保有者の数量の合計がバンドルの数量と一致しません"),
    "holder": ("holder is not the one account in holders",
               "holder が holders にある唯一のアカウントではありません"),
    "cancel_ids": ("a cancellation names ids outside the bundle, or a quantity not its id range",
                   "償却がバンドル外の番号を指しているか、数量が番号の範囲と合いません"),
    "status": ("status {status} is not one of {allowed}",
               "status {status} は {allowed} のいずれでもありません"),
    "devices": ("credentialSubject.meteringDevices: not a list of did:key",
                "credentialSubject.meteringDevices: did:key の配列ではありません"),
    "period": ("credentialSubject.cancellations: consumptionPeriod missing",
               "credentialSubject.cancellations: consumptionPeriod がありません"),
    "no_proof": ("credential: no proof or credentialSubject",
                 "credential: proof か credentialSubject がありません"),
}

CATALOG: Final[dict[str, Mapping[str, str]]] = {
    **{f"eco_protocol.finding.report.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _REPORT.items()},
    **{f"eco_protocol.finding.claim.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _CLAIM.items()},
    **{f"eco_protocol.field.{c}": {"en": en, "ja": ja} for c, (en, ja) in _FIELD.items()},
    **{f"eco_protocol.finding.record.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _RECORD.items()},
    **{f"eco_protocol.finding.json.{c}": {"en": en, "ja": ja} for c, (en, ja) in _JSON.items()},
    **{f"eco_protocol.finding.seal.{c}": {"en": en, "ja": ja} for c, (en, ja) in _SEAL.items()},
    **{f"eco_protocol.finding.rules.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _RULES.items()},
    **{f"eco_protocol.finding.replay.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _REPLAY.items()},
    **{f"eco_protocol.finding.key.{c}": {"en": en, "ja": ja} for c, (en, ja) in _KEY.items()},
    **{f"eco_protocol.finding.chain.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _CHAIN.items()},
    **{f"eco_protocol.finding.di.{c}": {"en": en, "ja": ja} for c, (en, ja) in _DI.items()},
    **{f"eco_protocol.finding.mb.{c}": {"en": en, "ja": ja} for c, (en, ja) in _MB.items()},
    **{f"eco_protocol.finding.vc.{c}": {"en": en, "ja": ja} for c, (en, ja) in _VC.items()},
    **{f"eco_protocol.finding.did.{c}": {"en": en, "ja": ja}
       for c, (en, ja) in _DID.items()},
    **{f"eco_protocol.finding.cc.{c}": {"en": en, "ja": ja} for c, (en, ja) in _CC.items()},
}
