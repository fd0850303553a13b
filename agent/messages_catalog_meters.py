"""The meter protocols' errors in English and Japanese (data, merged into
:mod:`agent.messages_catalog`): what a Modbus RTU inverter, a Wi-SUN dongle speaking SKSTACK-IP
and an ECHONET Lite smart meter answered wrongly, as the installer reads it inside
``eco-agent probe`` and the agent's errors (issue 17). The English is each error's ``str()``
exactly as before (tests and logs match it); frames, commands and codes stay as they are in
both languages, because they are what a datasheet or a support ticket quotes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from agent.meters.echonet_codec import CLASS_NAMES

_MESSAGES: Final[Mapping[str, tuple[str, str]]] = {
    # --- Modbus RTU (agent.meters.modbus_rtu_codec, agent.meters.sunspec) ---
    "rtu.runt": ("runt frame of {n} bytes: {frame}",
                 "短すぎるフレーム（{n} バイト）: {frame}"),
    "rtu.crc": ("CRC error in a {n}-byte response ({frame}); check for line noise, cable "
                "termination and the baud rate",
                "{n} バイトの応答に CRC エラー（{frame}）。回線のノイズ、ケーブルの終端抵抗、"
                "通信速度（baudrate）を確認してください"),
    "rtu.other_unit": ("response from unit {got}, expected {unit}; does another device on the "
                       "bus use the same address?",
                       "ユニット {unit} ではなくユニット {got} から応答がありました。同じバス上の"
                       "別の機器が同じアドレスを使っていませんか"),
    "rtu.exception": ("exception response {code} ({name})",
                      "例外応答 {code}（{name}）"),
    "rtu.function": ("response with function code {fc}, expected 0x03",
                     "機能コード {fc} の応答です（0x03 のはずです）"),
    "rtu.length": ("response carries {got} data bytes in a {n}-byte frame, expected {want} for "
                   "{count} registers",
                   "{n} バイトのフレームにデータが {got} バイトあります（{count} レジスタなら "
                   "{want} バイトのはずです）"),
    "rtu.what": ("a read of {count} registers at {address}",
                 "アドレス {address} からの {count} レジスタの読み取り"),
    "rtu.silent": ("no response within {budget} s to {what} (unit id {unit})",
                   "{what}に {budget} 秒以内の応答がありません（ユニット ID {unit}）"),
    "rtu.incomplete": ("incomplete response to {what}: {got} of {n} bytes within {budget} s "
                       "({frame}); check for line noise and the baud rate",
                       "{what}への応答が不完全です：{budget} 秒以内に {n} バイト中 {got} バイト"
                       "（{frame}）。回線のノイズと通信速度（baudrate）を確認してください"),
    "rtu.exception_to": ("{error} to {what}", "{what}に対する{error}"),
    "rtu.reading": ("reading {count} registers at {address}: {error}",
                    "アドレス {address} からの {count} レジスタの読み取り: {error}"),
    "rtu.name.1": ("ILLEGAL FUNCTION", "ILLEGAL FUNCTION：対応していない機能"),
    "rtu.name.2": ("ILLEGAL DATA ADDRESS",
                   "ILLEGAL DATA ADDRESS：そのアドレスのレジスタはありません"),
    "rtu.name.3": ("ILLEGAL DATA VALUE", "ILLEGAL DATA VALUE：不正な値"),
    "rtu.name.4": ("SERVER DEVICE FAILURE", "SERVER DEVICE FAILURE：機器の内部エラー"),
    "rtu.name.5": ("ACKNOWLEDGE", "ACKNOWLEDGE：受理、処理中"),
    "rtu.name.6": ("SERVER DEVICE BUSY", "SERVER DEVICE BUSY：機器が処理中"),
    "rtu.name.unknown": ("unknown", "不明なコード"),
    # --- SKSTACK-IP (agent.meters.skstack_codec, agent.meters.skstack) ---
    "sk.fail": ("{command} answered FAIL {code} ({meaning})",
                "{command} に FAIL {code}（{meaning}）が返りました"),
    "sk.er.reserved": ("reserved error code", "予約済みのエラーコード"),
    "sk.er.ER04": ("unsupported command", "対応していないコマンド"),
    "sk.er.ER05": ("invalid argument", "引数の誤り"),
    "sk.er.ER06": ("invalid format or argument out of range", "形式の誤りか、引数が範囲外"),
    "sk.er.ER09": ("UART input error", "UART の入力エラー"),
    "sk.er.ER10": ("execution failed", "実行に失敗"),
    "sk.er.unknown": ("unknown error code", "不明なエラーコード"),
    "sk.no_answer": ("the dongle did not answer {name} within {limit} s{at}: check [[meters]] "
                     "port and baudrate (Wi-SUN dongles speak 115200 8N1) and the USB connection",
                     "ドングルが {name} に {limit} 秒以内に応答しません{at}。[[meters]] の port と "
                     "baudrate（Wi-SUN ドングルは 115200 8N1）、USB の接続を確認してください"),
    "sk.at_baud": (" at {baud} baud", "（通信速度 {baud}）"),
    "sk.no_answer_to": ("no answer to {command} within {limit} s",
                        "{command} に {limit} 秒以内の応答がありません"),
    "sk.no_event": ("{what}: no {events} in time", "{what}: 時間内に {events} がありません"),
    "sk.no_value": ("ROPT answered OK without a value", "ROPT に値のない OK が返りました"),
    "sk.join_failed": ("PANA authentication failed (EVENT 24): check broute_id and "
                       "broute_password, or move the dongle closer to the meter",
                       "PANA 認証に失敗しました（EVENT 24）。broute_id と broute_password を確認"
                       "するか、ドングルをスマートメーターに近づけてください"),
    "sk.no_meter": ("no smart meter found by active scans of duration {durations}; check that "
                    "the B-route service is activated and the dongle is within range",
                    "アクティブスキャン（duration {durations}）でスマートメーターが見つかりません。"
                    "B ルートサービスの利用開始と、ドングルが電波の届く範囲にあることを確認して"
                    "ください"),
    "sk.no_session": ("no PANA session", "PANA セッションがありません"),
    "sk.ended_sending": ("the PANA session ended while sending",
                         "送信中に PANA セッションが終了しました"),
    "sk.ended": ("the PANA session ended", "PANA セッションが終了しました"),
    "sk.garbled": ("garbled ECHONET Lite answer: {error}",
                   "ECHONET Lite の応答が壊れています: {error}"),
    "sk.no_echonet_answer": ("no ECHONET Lite answer to TID {tid} within {limit} s",
                             "TID {tid} に {limit} 秒以内の ECHONET Lite の応答がありません"),
    # --- ECHONET Lite readings (agent.meters.broute) ---
    "el.no_unit": ("the meter did not give the unit of its register (EPC E1); refusing to "
                   "guess it",
                   "スマートメーターが積算値の単位（EPC E1）を返しませんでした。推測はしません"),
    "el.no_epc": ("{what} does not provide EPC {epc}", "{what}が EPC {epc} を提供していません"),
    "el.the_object": ("the object", "対象の機器オブジェクト"),
    "el.not_zero": ("{register}; not reading it as 0", "{register}。0 として読みません"),
    "el.cut_off": ('{what}: property {i} of {count} is cut off at byte {pos} of {n}',
                "{what}: {count} 個中 {i} 番目のプロパティが {n} バイト中 {pos} バイト目で切れて"
                "います"),
    "el.pdc": ('{what}: EPC {epc} announces {pdc} bytes (PDC) but only {left} remain',
                '{what}: EPC {epc} は {pdc} バイト（PDC）とありますが、残りは {left} バイトです'),
    "el.short": ('a frame has at least {min} bytes, got {n}: {frame}',
                'フレームは {min} バイト以上のはずが {n} バイトです: {frame}'),
    "el.ehd1": ('EHD1 is 0x{got}, not 0x10 (ECHONET Lite): {frame}',
                'EHD1 が 0x{got} です（ECHONET Lite なら 0x10）: {frame}'),
    "el.ehd2_arbitrary": ('EHD2 0x82 (arbitrary message format) is not supported',
                'EHD2 0x82（任意電文形式）には対応していません'),
    "el.ehd2": ('EHD2 is 0x{got}, not 0x81 (specified message format)',
                'EHD2 が 0x{got} です（規定電文形式なら 0x81）'),
    "el.no_opcget": ('TID {tid}: SetGet frame without its OPCGet byte',
                'TID {tid}: SetGet のフレームに OPCGet のバイトがありません'),
    "el.trailing": ('TID {tid}: {n} unexpected byte(s) after the last property: {rest}',
                'TID {tid}: 最後のプロパティの後に余分な {n} バイトがあります: {rest}'),
    "el.size": ('EPC {epc} must have {size} byte(s) (PDC {size}), got {n}: {edt}',
                'EPC {epc} は {size} バイト（PDC {size}）のはずが {n} バイトです: {edt}'),
    "el.coefficient": ('coefficient (D3) {v} is outside 1–999,999',
                '係数（D3）{v} が 1–999,999 の範囲外です'),
    "el.digits": ('effective digits (D7) {v} is outside 1–8',
                '有効桁数（D7）{v} が 1–8 の範囲外です'),
    "el.unit": ('unit code (E1) 0x{code} is not one of {known}',
                '単位コード（E1）0x{code} は {known} のいずれでもありません'),
    "el.datetime": ('EPC {epc}: invalid date-time {edt}: {error}',
                'EPC {epc}: 日時 {edt} が正しくありません（{error}）'),
    "el.not_ascii": ('EPC {epc} is not ASCII: {edt}',
                'EPC {epc} が ASCII ではありません: {edt}'),
    "el.control": ('EPC {epc} holds control characters: {edt}',
                'EPC {epc} に制御文字があります: {edt}'),
    "el.ident": ('identification number (83) {edt} is not FE + 8/16 bytes',
                '識別番号（83）{edt} が FE + 8/16 バイトの形ではありません'),
    "el.credentials": ("B-route credentials unusable: {error}",
                       "B ルートの認証情報が使えません: {error}"),
}

# the ECHONET Lite class names (agent.meters.echonet_codec.class_name): the English is
# CLASS_NAMES; the Japanese is the name the ECHONET Lite Appendix gives the class in Japanese
_CLASS_JA: Final[Mapping[int, str]] = {
    0x0288: "低圧スマート電力量メータ",
    0x0279: "住宅用太陽光発電",
    0x027E: "電気自動車充放電器",
    0x02A1: "電気自動車充電器",
    0x0EF0: "ノードプロファイル",
    0x05FF: "コントローラ",
}

CATALOG: Final[dict[str, Mapping[str, str]]] = {
    **{f"agent.{code}": {"en": en, "ja": ja} for code, (en, ja) in _MESSAGES.items()},
    **{f"agent.el.class.{cid:04x}": {"en": CLASS_NAMES[cid], "ja": ja}
       for cid, ja in _CLASS_JA.items()}}
