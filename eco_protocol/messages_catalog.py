"""The protocol package's messages in English and Japanese (data; the mechanism is
:mod:`eco_protocol.messages`): ``eco-verify``'s output, the buyer's verdicts, the report
verifier's checks, and the creditability rules' names and sentences (protocol data shared by
every party that shows them)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from .creditability import RULE_TEXT, Rule
from .messages_catalog_certificate_credential import CATALOG as _CERT_CREDENTIAL_CATALOG
from .messages_catalog_findings import CATALOG as _FINDINGS_CATALOG
from .messages_catalog_findings2 import CATALOG as _FINDINGS2_CATALOG
from .messages_catalog_matching import CATALOG as _MATCHING_CATALOG
from .messages_catalog_os import CATALOG as _OS_CATALOG
from .messages_catalog_redteam import CATALOG as _REDTEAM_CATALOG
from .messages_catalog_verify import CATALOG as _VERIFY_CATALOG
from .methodology import TERMS_PROBLEM_TEXT

# the creditability rules: the name a count is listed under (English: the rule's code itself,
# as the report and receipts spell it; Japanese: a short name) and the sentence (RULE_TEXT)
_RULE_NAME: Final[Mapping[Rule, tuple[str, str]]] = {
    Rule.QUARANTINED: ("quarantined device", "隔離中の機器"),
    Rule.UNKNOWN_METER: ("unknown meter", "未登録の計測器"),
    Rule.QUANTITY_MISMATCH: ("quantity mismatch", "計測対象の不一致"),
    Rule.BAD_INTERVAL: ("bad interval", "不正な計測時間帯"),
    Rule.MISALIGNED: ("misaligned interval", "計測間隔とのずれ"),
    Rule.OVER_LONG: ("over-long interval", "長すぎる計測時間帯"),
    Rule.OVERLAP: ("overlap", "重複"),
    Rule.REGISTER_DISCONTINUITY: ("register discontinuity", "積算値の不連続"),
    Rule.ENERGY_MISMATCH: ("energy mismatch", "電力量の不一致"),
    Rule.IMPLAUSIBLE: ("above rated power", "定格出力超過"),
    Rule.CLOCK_UNSYNCED: ("clock not synchronised", "時刻未同期"),
    Rule.BEFORE_JOINING: ("before joining", "加入前"),
    Rule.OUTSIDE_CREDITING_PERIOD: ("outside the crediting period", "クレジット認証対象期間外"),
    Rule.EQUIPMENT_TOO_OLD: ("equipment too old", "設備の設置が古すぎる"),
    Rule.BAD_ENROLMENT: ("incomplete enrolment", "登録情報の不備"),
}
_RULE_TEXT_JA: Final[Mapping[Rule, str]] = {
    Rule.QUARANTINED: "機器が隔離中です（同じ鍵で二つの履歴に署名されました）。運用者が解除するまで"
                      "クレジットになりません",
    Rule.UNKNOWN_METER: "機器の登録にない計測器の計測値です",
    Rule.QUANTITY_MISMATCH: "登録された計測器の計測対象と異なります",
    Rule.BAD_INTERVAL: "計測時間帯の終了が開始より前です",
    Rule.MISALIGNED: "計測時間帯がプログラムの計測間隔の区切りに揃っていません",
    Rule.OVER_LONG: "gap_filled の表示なしに複数の計測間隔にまたがっているか、認められる最長の"
                    "欠測補完を超えています",
    Rule.OVERLAP: "同じ計測器の以前の計測値と時間帯が重なっています",
    Rule.REGISTER_DISCONTINUITY: "積算値が同じ計測器の前回の計測値から続いておらず、リセット・"
                                 "交換・桁あふれの表示もありません",
    Rule.ENERGY_MISMATCH: "電力量が積算値の差と一致せず、その理由の表示もありません",
    Rule.IMPLAUSIBLE: "計測器の定格出力で計測時間内に出せる量を超える電力量です",
    Rule.CLOCK_UNSYNCED: "機器の時計が同期されていませんでした",
    Rule.BEFORE_JOINING: "計測時間帯が参加世帯の加入より前に始まっています",
    Rule.OUTSIDE_CREDITING_PERIOD: "計測時間帯がプログラムのクレジット認証対象期間の外です",
    Rule.EQUIPMENT_TOO_OLD: "設備が加入日より許容年数以上前に設置されています",
    Rule.BAD_ENROLMENT: "規則の判定に必要な日付が登録情報にありません",
}

_ASK = {"en": "Do not rely on its figures; ask the seller for the original report.json and its "
              "evidence directory, and check the log key you pinned.",
        "ja": "この数値に依拠しないでください。販売者に元の report.json とエビデンスディレクトリを"
              "求め、固定したログ鍵を確認してください。"}

# the buyer's verdict on a failed check (eco_protocol.verdict.FAILURES): meaning, then ask
_FAILURES: Final[Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]]] = {
    "not_a_report": (
        {"en": "this file is not a batch report eco-verify can check (wrong file, or damaged).",
         "ja": "このファイルは eco-verify で検証できるバッチ報告書ではありません（別のファイルか、"
               "破損しています）。"},
        {"en": "Ask the seller for the report.json the municipality's aggregator wrote.",
         "ja": "自治体のアグリゲータが出力した report.json を販売者に求めてください。"}),
    "wrong_log_key": (
        {"en": "this report was signed by a different log than the key you pinned: either you "
               "pinned the wrong key or the report comes from another log.",
         "ja": "この報告書は、固定したログ鍵とは別のログによって署名されています。固定した鍵が"
               "誤っているか、報告書が別のログのものです。"},
        {"en": "Do not rely on its figures; confirm the log key with the municipality (out of "
               "band, not from the seller's files) and ask the seller which log issued the "
               "report.",
         "ja": "数値に依拠せず、ログ鍵を自治体に（販売者のファイルとは別の経路で）確認し、どの"
               "ログが報告書を発行したかを販売者に尋ねてください。"}),
    "bad_key": (
        {"en": "the log key (yours or the report's) is not a valid log verifier key, so nothing "
               "in the report could be checked.",
         "ja": "ログ鍵（指定したもの、または報告書のもの）がログ検証鍵として正しくないため、"
               "報告書を検証できません。"},
        {"en": "Check the --log-key you typed against the one the municipality published; if "
               "it is right, ask the seller for the original report.json.",
         "ja": "--log-key に入力した鍵を自治体が公表した鍵と照合し、正しければ販売者に元の "
               "report.json を求めてください。"}),
    "not_witnessed": (
        {"en": "the log's checkpoint does not carry enough signatures from the witnesses you "
               "named, so nobody independent has confirmed this state of the log.",
         "ja": "ログのチェックポイントに、指定した監視者（ウィットネス）の署名が足りません。この"
               "ログの状態を独立した第三者が確認していません。"},
        {"en": "Do not rely on it yet; ask the seller for a report whose checkpoint the "
               "witnesses have cosigned, and check the --witness keys you gave.",
         "ja": "まだ依拠せず、監視者が連署したチェックポイントを持つ報告書を販売者に求め、指定"
               "した --witness 鍵を確認してください。"}),
    "checkpoint": (
        {"en": "the log's signed checkpoint in the report is not signed by the log key you "
               "gave, or it was changed.",
         "ja": "報告書内のログの署名付きチェックポイントが、指定したログ鍵で署名されていない"
               "か、改変されています。"},
        {"en": "Do not rely on its figures; check the log key you pinned and ask the seller for "
               "the original report.json.",
         "ja": _ASK["ja"]}),
    "key_chain": (
        {"en": "the report claims the log changed its key, but the change from the key you "
               "pinned does not check out.",
         "ja": "報告書はログ鍵が変更されたと主張していますが、固定した鍵からの変更を確認でき"
               "ません。"},
        {"en": "Do not rely on it; ask the municipality to confirm its current log key out of "
               "band.",
         "ja": "依拠せず、現在のログ鍵を自治体に別経路で確認してください。"}),
    "report_signature": (
        {"en": "this report was changed after the municipality signed it, or it was not signed "
               "by the log key you gave.",
         "ja": "この報告書は自治体の署名後に改変されたか、指定したログ鍵で署名されていません。"},
        _ASK),
    "proof": (
        {"en": "a record the report relies on is not in the municipality's public log (its "
               "inclusion proof fails): the report shows something the log never recorded.",
         "ja": "報告書が依拠する記録が自治体の公開ログに含まれていません（包含証明が一致しま"
               "せん）。ログに記録されていない内容を示しています。"},
        _ASK),
    "double_counting": (
        {"en": "this batch overlaps an earlier batch, or its carry-over does not follow from "
               "the previous batch: some reductions could be credited twice.",
         "ja": "このバッチは以前のバッチと期間が重なっているか、繰越量が前のバッチから正しく"
               "引き継がれていません。同じ削減量が二重に計上されるおそれがあります。"},
        {"en": "Do not rely on its figures; ask the seller for the list of earlier batches of "
               "this programme and why this one overlaps them.",
         "ja": "数値に依拠せず、このプログラムの過去のバッチ一覧と、重なりの理由を販売者に尋ね"
               "てください。"}),
    "seal_mismatch": (
        {"en": "the report's batch, period or totals differ from what the log sealed before "
               "the report was written.",
         "ja": "報告書のバッチ・期間・合計が、報告書の作成前にログが封印した内容と異なります。"},
        _ASK),
    "enrolment": (
        {"en": "a device the report counts was not properly enrolled in the log before the "
               "batch was sealed.",
         "ja": "報告書が計上している機器が、バッチの封印前にログへ正しく登録されていません。"},
        {"en": "Ask the seller which households and devices were enrolled, and when.",
         "ja": "どの世帯・機器がいつ登録されたかを販売者に尋ねてください。"}),
    "not_certifiable": (
        {"en": "the report's emission factors or programme rules are not fit for certification "
               "(unpublished or illustrative factors, or a demonstration programme not labelled "
               "as one).",
         "ja": "報告書の排出係数またはプログラム規則が認証に適していません（未公表または例示の"
               "係数、あるいはデモと明記されていないデモプログラム）。"},
        {"en": "Do not buy these as J-Credits; ask the seller for a report under published, "
               "dated emission factors.",
         "ja": "J-クレジットとして購入せず、公表日付きの排出係数による報告書を販売者に求めて"
               "ください。"}),
    "arithmetic": (
        {"en": "the reductions do not add up when recomputed from the report's own energy "
               "figures and methodology: the tonnes claimed are not the tonnes shown.",
         "ja": "報告書自身のエネルギー値と方法論から再計算すると削減量が合いません。主張されて"
               "いるトン数は示された内容と一致しません。"},
        {"en": "Do not rely on its figures; ask the seller for a corrected report and its "
               "evidence directory.",
         "ja": "数値に依拠せず、訂正した報告書とエビデンスディレクトリを販売者に求めてください。"}),
    "sample": (
        {"en": "the sampled meter readings do not back the report: missing, not signed by the "
               "enrolled meters, outside the period, or not the sample drawn for this batch.",
         "ja": "抽出されたメーター読み取り値が報告書を裏付けていません（欠落、登録メーターの署名"
               "なし、期間外、またはこのバッチで抽出されたサンプルではありません）。"},
        {"en": "Ask the seller for the evidence directory and run eco-verify with --evidence.",
         "ja": "エビデンスディレクトリを販売者に求め、--evidence を付けて eco-verify を実行して"
               "ください。"}),
    "evidence": (
        {"en": "the full evidence (every meter reading) does not reproduce the report.",
         "ja": "完全なエビデンス（全メーター読み取り値）から報告書を再現できません。"},
        {"en": "Do not rely on its figures; ask the seller for the evidence directory that "
               "belongs to this report, and why it differs.",
         "ja": "数値に依拠せず、この報告書に対応するエビデンスディレクトリと、相違の理由を"
               "販売者に求めてください。"}),
    "table": (
        {"en": "a table beside the report was edited or belongs to another report; the signed "
               "report.json itself may still be valid.",
         "ja": "報告書の横にある表が編集されたか、別の報告書のものです。署名された report.json "
               "自体は有効な可能性があります。"},
        {"en": "Use the figures of report.json, not the CSV, or ask the seller for the original "
               "tables.",
         "ja": "CSV ではなく report.json の数値を使うか、元の表を販売者に求めてください。"}),
    "other": (
        {"en": "a check of the report failed (details below).",
         "ja": "報告書の検査に失敗しました（詳細は下記）。"},
        _ASK),
}

CATALOG: dict[str, Mapping[str, str]] = {
    # --- reasons a file could not be used (eco_protocol.os_messages.os_reason) ---
    "eco_protocol.os.not_found": {"en": "no such file", "ja": "ファイルがありません"},
    "eco_protocol.os.permission": {"en": "permission denied", "ja": "読み書きの権限がありません"},
    "eco_protocol.os.is_directory": {"en": "it is a directory", "ja": "ディレクトリです"},
    "eco_protocol.os.not_directory": {"en": "a part of the path is not a directory",
                                      "ja": "パスの途中がディレクトリではありません"},
    "eco_protocol.os.not_utf8": {"en": "not UTF-8 text", "ja": "UTF-8 のテキストではありません"},
    # --- key files (eco_protocol.keyfile), as eco-agent and eco-aggregator print them ---
    "eco_protocol.keyfile.unreadable": {"en": "cannot read key file {path}: {reason}",
                                        "ja": "鍵ファイル {path} を読めません（{reason}）"},
    "eco_protocol.keyfile.not_text": {"en": "not an ASCII text file",
                                      "ja": "ASCII のテキストファイルではありません"},
    "eco_protocol.keyfile.readable_by_others": {
        "en": "key file {path} is readable by others (mode {mode}); run: chmod 600 {path}",
        "ja": "鍵ファイル {path} が他のユーザーから読めます（モード {mode}）。"
              "chmod 600 {path} を実行してください"},
    "eco_protocol.keyfile.damaged": {"en": "key file {path} is damaged: {error}",
                                     "ja": "鍵ファイル {path} が壊れています: {error}"},
    # --- the buyer's verdict (eco_protocol.verdict) ---
    "eco_protocol.verdict.invalid": {"en": "INVALID — {meaning} {ask}",
                                     "ja": "無効（INVALID）— {meaning}{ask}"},
    "eco_protocol.verdict.witness_key": {
        "en": "INVALID — the --log-key you gave is a witness key ({name}, key id {key_id}, "
              "cosignature/v1), not the log's key: pass it with --witness, and pass the "
              "municipality's log key (the one its checkpoints are signed with) as --log-key.",
        "ja": "無効（INVALID）— --log-key に指定した鍵は監視者の鍵（{name}、鍵ID {key_id}、"
              "cosignature/v1）で、ログの鍵ではありません。--witness で指定し、自治体のログ鍵"
              "（チェックポイントの署名鍵）を --log-key に指定してください。"},
    "eco_protocol.verdict.valid": {
        "en": "VALID — {mass} reduced by {households}, batch {batch}, period {period}, "
              "methodology {method}, programme {programme}, signed by {origin} (key id {kid}), "
              "{witnessed}; {credits}{came_in}, {carried}",
        "ja": "有効（VALID）— {households}による {mass} の削減、バッチ {batch}、期間 {period}、"
              "方法論 {method}、プログラム {programme}、署名 {origin}（鍵ID {kid}）、{witnessed}；"
              "{credits}{came_in}、{carried}"},
    "eco_protocol.verdict.households_one": {"en": "{n} household", "ja": "{n} 世帯"},
    "eco_protocol.verdict.households_many": {"en": "{n} households", "ja": "{n} 世帯"},
    "eco_protocol.verdict.witnessed_one": {"en": "witnessed by {n} witness ({names})",
                                           "ja": "監視者 {n} 者が連署（{names}）"},
    "eco_protocol.verdict.witnessed_many": {"en": "witnessed by {n} witnesses ({names})",
                                            "ja": "監視者 {n} 者が連署（{names}）"},
    "eco_protocol.verdict.not_witnessed": {
        "en": "not witnessed (no --witness key given or none signed)",
        "ja": "監視者の連署なし（--witness 未指定、または署名なし）"},
    "eco_protocol.verdict.credits_one": {"en": "{n} whole J-Credit ({n} t-CO2)",
                                         "ja": "J-クレジット {n} 件（{n} t-CO2）"},
    "eco_protocol.verdict.credits_many": {"en": "{n} whole J-Credits ({n} t-CO2)",
                                          "ja": "J-クレジット {n} 件（{n} t-CO2）"},
    "eco_protocol.verdict.carried": {"en": "{mass} carried to the next batch",
                                     "ja": "{mass} を次のバッチへ繰越"},
    "eco_protocol.verdict.deficit": {"en": "a deficit of {mass} carried to the next batch",
                                     "ja": "{mass} の不足を次のバッチへ繰越"},
    "eco_protocol.verdict.came_in": {"en": ", with {mass} carried in from the previous batch",
                                     "ja": "（前のバッチからの繰越 {mass} を含む）"},
    "eco_protocol.verdict.demonstration": {
        "en": "; DEMONSTRATION programme: illustrative factors, not for certification — do not "
              "buy these as J-Credits",
        "ja": "；デモプログラム：例示の係数で認証用ではありません — J-クレジットとして購入しない"
              "でください"},
    # --- eco-verify ---
    "eco_protocol.verify.cannot_read": {
        "en": "eco-verify: cannot read {path}: {reason}; check the path you gave",
        "ja": "eco-verify: {path} を読めません（{reason}）。指定したパスを確認してください"},
    "eco_protocol.verify.fail": {"en": "FAIL {detail}",
                                 "ja": "不合格（検証器の所見）: {detail}"},
    "eco_protocol.verify.fail_swapped_key": {
        "en": "--log-key: a cosignature/v1 (type 0x04) witness key",
        "ja": "--log-key: cosignature/v1（種別 0x04）の監視者の鍵です"},
    "eco_protocol.verify.fail_vkey_history": {
        "en": "log.vkey: {path} names a different key than the last one in log.vkeys",
        "ja": "log.vkey: {path} の鍵が log.vkeys の最後の鍵と異なります"},
    "eco_protocol.verify.fail_vkey_pinned": {
        "en": "log.vkey: {path} names a different key than the pinned --log-key",
        "ja": "log.vkey: {path} の鍵が、固定した --log-key と異なります"},
    "eco_protocol.verify.evidence_invalid": {
        "en": "INVALID — the evidence directory does not check out under the log key you "
              "pinned: the readings in it cannot be relied on. Ask the seller for the evidence "
              "directory the municipality's aggregator wrote, and check the --log-key you gave.",
        "ja": "無効（INVALID）— 固定したログ鍵ではエビデンスディレクトリを検証できません。含ま"
              "れる読み取り値に依拠できません。自治体のアグリゲータが出力したエビデンスディレクト"
              "リを販売者に求め、指定した --log-key を確認してください。"},
    "eco_protocol.verify.evidence_valid": {
        "en": "VALID — the evidence directory checks out: {entries} log entries, {readings} "
              "readings from {devices} devices, signed by {origin}",
        "ja": "有効（VALID）— エビデンスディレクトリを検証しました：ログ {entries} 件、{devices} "
              "台の機器の読み取り値 {readings} 件、署名 {origin}"},
    "eco_protocol.verify.table_differs": {
        "en": "{path}: differs from the table recomputed from {report} (edited, or from another "
              "report)",
        "ja": "{path}: {report} から再計算した表と異なります（編集されたか、別の報告書のもの）"},
    "eco_protocol.verify.ok": {"en": "ok   {check}", "ja": "合格 {check}"},
    "eco_protocol.verify.info": {"en": "     {line}", "ja": "     {line}"},
    "eco_protocol.verify.ev_checkpoint": {
        "en": "checkpoint signed by the log key {origin} (size {size}, witnesses: {witnesses})",
        "ja": "チェックポイントはログ鍵 {origin} の署名付き（サイズ {size}、監視者: {witnesses}）"},
    "eco_protocol.verify.none": {"en": "none", "ja": "なし"},
    "eco_protocol.verify.ev_root": {
        "en": "root hash recomputed from {entries} entries (RFC 6962)",
        "ja": "{entries} 件のエントリからルートハッシュを再計算して一致（RFC 6962）"},
    "eco_protocol.verify.ev_key_changes": {
        "en": "{n} log key change(s), each signed by the old key and endorsed by the new; the "
              "pinned key is one of the log's keys",
        "ja": "ログ鍵の変更 {n} 回：それぞれ旧鍵が署名し新鍵が承認。固定した鍵はこのログの鍵の"
              "一つです"},
    "eco_protocol.verify.ev_enrolments": {
        "en": "{n} enrolments signed by the log key",
        "ja": "機器の登録 {n} 件、ログ鍵の署名付き"},
    "eco_protocol.verify.ev_readings": {
        "en": "{n} readings: device signatures, enrolment order, seq/prev chains "
              "({devices} devices)",
        "ja": "読み取り値 {n} 件：機器の署名、登録との順序、連番（seq/prev）のつながりを確認"
              "（機器 {devices} 台）"},
    "eco_protocol.verify.ev_creditable": {
        "en": "{n} creditable under the protocol's default rules",
        "ja": "プロトコルの既定の規則でクレジット対象 {n} 件"},
    "eco_protocol.verify.ev_creditable_excl": {
        "en": "{n} creditable under the protocol's default rules, not creditable: {excluded}",
        "ja": "プロトコルの既定の規則でクレジット対象 {n} 件、対象外: {excluded}"},
    "eco_protocol.verify.ev_energy": {"en": "{quantity}: {kwh} kWh", "ja": "{quantity}: {kwh} kWh"},
    "eco_protocol.verify.ev_rate": {"en": "{rate} entries/s", "ja": "毎秒 {rate} エントリ"},
    "eco_protocol.verify.table_ok": {
        "en": "{name} recomputed from the report and identical",
        "ja": "{name} を報告書から再計算して一致"},
    "eco_protocol.verify.batch": {
        "en": "batch {batch}: {tonnes} t-CO2 from {households} households → {credits} credits (t)",
        "ja": "バッチ {batch}: {households} 世帯から {tonnes} t-CO2 → クレジット {credits} t"},
    "eco_protocol.verify.not_creditable": {"en": "not creditable: {excluded}",
                                           "ja": "クレジット対象外: {excluded}"},
    "eco_protocol.verify.count": {"en": "{name} {n}", "ja": "{name} {n} 件"},
    "eco_protocol.verify.demonstration": {
        "en": "DEMONSTRATION programme: illustrative factors, not for certification",
        "ja": "デモプログラム：例示の係数で、認証用ではありません"},
    # --- the report verifier's checks (eco_protocol.report), as eco-verify prints them ---
    "eco_protocol.check.checkpoint": {
        "en": "checkpoint signed by the log key (size {size}, witnesses: {witnesses})",
        "ja": "チェックポイントはログ鍵の署名付き（サイズ {size}、監視者: {witnesses}）"},
    "eco_protocol.check.key_changes": {
        "en": "{n} log key change(s) included, each signed by the old key and endorsed by the "
              "new; the pinned key is in the chain",
        "ja": "ログ鍵の変更 {n} 回を収録：それぞれ旧鍵が署名し新鍵が承認。固定した鍵はこの連鎖に"
              "含まれます"},
    "eco_protocol.check.report_signature": {"en": "report signature by the log key",
                                            "ja": "報告書の署名はログ鍵によるもの"},
    "eco_protocol.check.seal": {
        "en": "seal included at entry {index}; batch, period and totals match",
        "ja": "封印はログのエントリ {index} に収録。バッチ・期間・合計が一致"},
    "eco_protocol.check.previous_seals": {
        "en": "{n} previous seals: no overlapping period, carry-in {carry_in} g follows",
        "ja": "過去の封印 {n} 件：期間の重なりなし、繰越 {carry_in} g が前のバッチから続く"},
    "eco_protocol.check.enrolments": {
        "en": "{n} enrolments included and signed by the log key",
        "ja": "機器の登録 {n} 件を収録、ログ鍵の署名付き"},
    "eco_protocol.check.rules_demonstration": {
        "en": "programme rules included; DEMONSTRATION programme: illustrative factors "
              "allowed, not for certification",
        "ja": "プログラム規則を収録。デモプログラム：例示の係数を許容、認証用ではありません"},
    "eco_protocol.check.rules_published": {
        "en": "programme rules included; every emission factor is published and dated",
        "ja": "プログラム規則を収録。排出係数はすべて公表済みで日付付き"},
    "eco_protocol.check.exclusions": {
        "en": "exclusions: per-household counts add up ({excluded})",
        "ja": "対象外の件数：世帯ごとの件数の合計が一致（{excluded}）"},
    "eco_protocol.check.arithmetic": {
        "en": "methodology arithmetic recomputed: {households} households, {months} "
              "household-months, {total} g → {credits} t (carry-over {carry_over} g)",
        "ja": "方法論の計算を再計算：{households} 世帯、のべ {months} 世帯月、{total} g → "
              "{credits} t（繰越 {carry_over} g）"},
    "eco_protocol.check.sample": {
        "en": "{n} sampled readings: inclusion, device signatures against their enrolments, "
              "inside the period, every household sampled",
        "ja": "抽出した読み取り値 {n} 件：ログへの収録、登録に対する機器の署名、期間内であること、"
              "全世帯が抽出されていることを確認"},
    "eco_protocol.check.evidence_replayed": {
        "en": "evidence: {entries} entries replayed (signatures, enrolment order, seq/prev "
              "chains), root recomputed; every reading's creditability re-judged under the "
              "report's rules",
        "ja": "エビデンス：{entries} 件のエントリを再生（署名、登録との順序、連番のつながり）、"
              "ルートを再計算。全読み取り値のクレジット対象判定を報告書の規則でやり直し"},
    "eco_protocol.check.evidence_covered": {
        "en": "evidence: {n} covered readings match the seal's count and digest; every "
              "exclusion and household-month recomputed from readings; sample redrawn from the "
              "root hash",
        "ja": "エビデンス：対象の読み取り値 {n} 件が封印の件数とダイジェストに一致。対象外と"
              "世帯月をすべて読み取り値から再計算し、サンプルをルートハッシュから引き直し"},
}
# why the aggregator refused a reading (the receipt's reason code, docs/protocol.md §3), as the
# agent's status shows it; English is the receipt's own text, so only the Japanese is used
_REJECT_JA: Final[Mapping[str, str]] = {
    "malformed": "形式が正しくない計測値です。eco-agent のバージョンと設定を確認してください",
    "unknown_device": "登録されていない機器です。自治体に登録と公開鍵を確認してもらってください",
    "revoked": "失効した機器です。自治体に確認してください",
    "bad_signature": "署名を検証できません。機器の鍵と登録された公開鍵を確認してください",
    "fork": "同じ番号（seq）で内容の違う計測値です。機器は隔離されました。自治体に連絡してください",
    "bad_prev": "直前の計測値とのつながり（prev）が一致しません。機器は隔離されました。自治体に"
                "連絡してください",
    "gap": "計測値の番号（seq）に抜けがあります。機器は抜けた分から送り直します",
    "stale_seq": "受け付け済みの番号（seq）より古い計測値です。機器の記録が巻き戻っていないか"
                 "確認してください",
    "future": "計測時刻が未来です。機器の時計（NTP の同期）を確認してください",
    "wrong_topic": "別の機器の宛先（トピック）で送られました。設定の device_id を確認してください",
    "rate_limited": "送信が多すぎたため破棄されました。送信間隔の設定を確認してください",
    "queue_full": "受信側が混み合っていたため破棄されました。機器は送り直します",
    "suppressed": "同じ機器からの拒否が続いたため、個々の記録を省略しました",
}
# why a household's PV earns nothing (eco_protocol.methodology.zero_reason)
_ZERO_JA: Final[Mapping[str, str]] = {
    "export_unmetered": "売電量の計量なし：太陽光は算定しません（逆潮流なしの申告だけでは根拠に"
                        "なりません）",
    "battery_excluded": "蓄電池のある世帯：プログラムの規則（rules.battery = \"exclude\"）により"
                        "太陽光は算定しません",
}
CATALOG.update({f"eco_protocol.reject.{k}": {"en": k, "ja": v} for k, v in _REJECT_JA.items()})
CATALOG.update({f"eco_protocol.zero.{k}": {"en": k, "ja": v} for k, v in _ZERO_JA.items()})
CATALOG.update({
    # a reason as a person reads it: the code's sentence, then the code itself
    "eco_protocol.reason": {"en": "{text} ({code})", "ja": "{text}（{code}）"},
})
CATALOG.update({
    # what an enrolment lacks for the methodology (eco_protocol.methodology.terms_problem_codes)
    "eco_protocol.terms.installed": {
        "en": TERMS_PROBLEM_TEXT["installed"],
        "ja": "fit.installed（太陽光の設置日 YYYY-MM-DD）がありません"},
    "eco_protocol.terms.status": {
        "en": TERMS_PROBLEM_TEXT["status"],
        "ja": "fit.status（FIT の状況）は none（FIT なし）、fit（FIT 期間中）、post_fit"
              "（FIT 終了後）のいずれかです"},
    "eco_protocol.terms.battery": {
        "en": TERMS_PROBLEM_TEXT["battery"],
        "ja": "fit.battery（蓄電池の有無 true/false）がありません"},
    "eco_protocol.terms.ev": {
        "en": TERMS_PROBLEM_TEXT["ev"],
        "ja": "fit.ev に wh_per_km（EV の電費 Wh/km）と petrol_m_per_l（比較するガソリン車の "
              "1 リットルあたりの走行距離 m、例 15 km/L なら 15000）が必要です"},
})
CATALOG.update({
    # the quantities a meter measures (eco_protocol.records.Quantity): the code in English
    "eco_protocol.quantity.pv_generation": {"en": "pv_generation", "ja": "太陽光発電量"},
    "eco_protocol.quantity.grid_export": {"en": "grid_export", "ja": "売電量（逆潮流）"},
    "eco_protocol.quantity.grid_import": {"en": "grid_import", "ja": "買電量"},
    "eco_protocol.quantity.ev_charge": {"en": "ev_charge", "ja": "EV 充電量"},
})
CATALOG.update({f"eco_protocol.rule.{r.value}": {"en": r.value, "ja": _RULE_NAME[r][1]}
                for r in Rule})
CATALOG.update({f"eco_protocol.ruletext.{r.value}": {"en": RULE_TEXT[r], "ja": _RULE_TEXT_JA[r]}
                for r in Rule})
CATALOG.update({f"eco_protocol.verdict.{kind}.meaning": meaning
                for kind, (meaning, _) in _FAILURES.items()})
CATALOG.update({f"eco_protocol.verdict.{kind}.ask": ask for kind, (_, ask) in _FAILURES.items()})
CATALOG.update(_VERIFY_CATALOG)  # eco-verify credential, basket, --consortium
CATALOG.update(_CERT_CREDENTIAL_CATALOG)  # a certificate bundle credential (issue 20)
CATALOG.update(_FINDINGS_CATALOG)  # the checkers' findings after FAIL/不合格
CATALOG.update(_FINDINGS2_CATALOG)  # the rarer findings: report structure, claim shape, fields
CATALOG.update(_OS_CATALOG)  # OS and TOML errors (eco_protocol.os_messages)
CATALOG.update(_MATCHING_CATALOG)  # eco-verify matching (hourly matching report)
CATALOG.update(_REDTEAM_CATALOG)  # the red-team fixes (consortium keys, limits)
