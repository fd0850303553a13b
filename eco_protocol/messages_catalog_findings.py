"""The buyer-side checkers' findings in English and Japanese (data, merged into
:mod:`eco_protocol.messages_catalog`): what ``eco-verify`` prints after ``FAIL``/``不合格`` when
a certificate export, a claim, an account's request, a Merkle proof, a signature or a checkpoint
does not check (issue 17 point 1). The English is the exception's ``str()`` exactly as before
(tests and logs match it); the Japanese keeps identifiers, field names and numbers as they are,
so a buyer can quote them to the seller.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

_P: Final = "eco_protocol.finding."

_FINDINGS: Final[Mapping[str, tuple[str, str]]] = {
    # --- a list of problems, joined (claims.bundle_problems, accounts.request_problems) ---
    "joined": ("{head}; {tail}", "{head}。{tail}"),
    "field": ("{field}: {error}", "{field}: {error}"),
    "as_is": ("{error}", "{error}"),
    "what.report": ("report", "報告書"),
    "at_entry": ("entry {index}: {error}", "エントリ {index}: {error}"),
    # --- what a signature covers (keys.verify_signature's ``what``) ---
    "what.enrolment": ("enrolment of {device}", "機器 {device} の登録"),
    "what.reading": ("reading {device}#{seq}", "機器 {device} の読み取り値 #{seq}"),
    "what.seal": ("seal of batch {batch}", "バッチ {batch} の封印"),
    "what.claim": ("claim {claim}", "クレーム {claim}"),
    "what.request": ("claim request of {holder} on {ref} ids {first}..{last}",
                     "{holder} による {ref} の番号 {first}..{last} のクレーム依頼"),
    # --- signatures (keys.py, signing.py) ---
    "signature": ("{what}: Ed25519 signature does not verify",
                  "{what}: Ed25519 署名を検証できません（改変されたか、別の鍵で署名されています）"),
    "sig_missing": ("{what}: missing 'sig'", "{what}: 署名（'sig'）がありません"),
    "sig_length": ("{what}: sig must be 64 bytes, got {n}",
                   "{what}: 署名（sig）は 64 バイトのはずが {n} バイトです"),
    # --- Merkle proofs (merkle.py, RFC 9162) ---
    "merkle.hash_size": ("proof element has {n} bytes, expected {size}",
                         "証明の要素が {n} バイトです（{size} バイトのはずです）"),
    "merkle.leaf_outside": ("leaf index {index} is outside a tree of size {size}",
                            "葉の番号 {index} がサイズ {size} の木の範囲外です"),
    "merkle.inclusion_long": ("inclusion proof is longer than the tree allows",
                              "収録証明が木の大きさに対して長すぎます"),
    "merkle.inclusion_short": ("inclusion proof is shorter than the tree requires",
                               "収録証明が木の大きさに対して短すぎます"),
    "merkle.inclusion_root": ("inclusion proof for leaf {index} does not lead to the root of "
                              "the tree of size {size}",
                              "葉 {index} の収録証明が、サイズ {size} の木のルートハッシュに"
                              "一致しません"),
    "merkle.consistency_impossible": ("consistency from size {old} to {new} is impossible",
                                      "サイズ {old} から {new} への一貫性はあり得ません"),
    "merkle.consistency_equal": ("consistency proof between equal sizes must be empty",
                                 "同じサイズの間の一貫性証明は空でなければなりません"),
    "merkle.two_roots": ("two different roots for the same size {size}",
                         "同じサイズ {size} に異なる二つのルートハッシュがあります（ログの分岐）"),
    "merkle.consistency_from_empty": ("consistency proof from the empty tree must be empty",
                                      "空の木からの一貫性証明は空でなければなりません"),
    "merkle.consistency_empty": ("consistency proof is empty", "一貫性証明が空です"),
    "merkle.consistency_long": ("consistency proof is longer than the trees allow",
                                "一貫性証明が木の大きさに対して長すぎます"),
    "merkle.consistency_short": ("consistency proof is shorter than the trees require",
                                 "一貫性証明が木の大きさに対して短すぎます"),
    "merkle.old_root": ("consistency proof does not reproduce the old root (size {size})",
                        "一貫性証明から古いルートハッシュ（サイズ {size}）を再現できません"),
    "merkle.new_root": ("consistency proof does not reproduce the new root (size {size})",
                        "一貫性証明から新しいルートハッシュ（サイズ {size}）を再現できません"),
    # --- checkpoints and keys (note.py, evidence.py) ---
    "note.bad_signature": ("invalid signature by {name}+{kid} on the note",
                           "{name}+{kid} によるノートの署名が正しくありません"),
    "note.no_known_signature": ("note has no signature by a known key (signed by: {names})",
                                "ノートに既知の鍵による署名がありません（署名者: {names}）"),
    "note.none": ("none", "なし"),
    "note.not_log_signed": ("checkpoint is not signed by the log key {name}+{kid}",
                            "チェックポイントにログ鍵 {name}+{kid} の署名がありません"),
    "note.wrong_origin": ("checkpoint origin {origin!r} is not the log's name {name!r}",
                          "チェックポイントの発行元 {origin!r} がログの名前 {name!r} と"
                          "異なります"),
    "note.vkey_unknown_algorithm": ("verifier key for {name!r}: unknown algorithm or wrong "
                                    "length ({supported})",
                                    "{name!r} の検証鍵: 未対応の方式か長さが誤っています"
                                    "（{supported}）"),
    "note.only_ed25519": ("only Ed25519, type 0x01, is supported",
                          "対応するのは Ed25519（種別 0x01）だけです"),
    "note.witness_algs": ("witness keys are Ed25519 cosignature/v1, type 0x04, or Ed25519, "
                          "type 0x01",
                          "監視者の鍵は Ed25519 cosignature/v1（種別 0x04）か Ed25519（種別 0x01）"
                          "です"),
    "note.vkey_parts": ('malformed verifier key {vkey!r}: expected name+keyid+key',
                    '検証鍵 {vkey!r} の形式が誤っています（名前+鍵ID+鍵 の形です）'),
    "note.vkey_name": ('malformed verifier key {vkey!r}: bad name or key id',
                    '検証鍵 {vkey!r} の形式が誤っています（名前か鍵IDが正しくありません）'),
    "note.vkey_base64": ('malformed verifier key for {name!r}: key is not base64',
                    '{name!r} の検証鍵の形式が誤っています（鍵が base64 ではありません）'),
    "note.vkey_id": ('verifier key for {name!r}: key id {kid} does not match the key',
                    '{name!r} の検証鍵: 鍵ID {kid} が鍵と一致しません（書き写しの誤りか改変）'),
    "note.vkey_invalid": ('verifier key for {name!r}: invalid Ed25519 key',
                    '{name!r} の検証鍵: Ed25519 の鍵として正しくありません'),
    "note.sig_base64": ('signature by {name} is not base64',
                    '{name} の署名が base64 ではありません'),
    "note.sig_cosignature": ('signature by {name} is not a cosignature/v1 (wrong length)',
                    '{name} の署名が cosignature/v1 ではありません（長さが違います）'),
    "note.surrogate": ('note is not UTF-8 text: a lone surrogate at character {at}',
                    'ノートが UTF-8 のテキストではありません（{at} 文字目に単独のサロゲート）'),
    "note.not_utf8": ('note is not UTF-8 at byte {at}',
                    'ノートの {at} バイト目が UTF-8 ではありません'),
    "note.control": ('malformed note: contains a control character',
                    'ノートの形式の誤り: 制御文字が含まれています'),
    "note.no_blank": ('malformed note: no blank line before the signatures',
                    'ノートの形式の誤り: 署名の前に空行がありません'),
    "note.sig_newline": ('malformed note: the signature block must end with a newline',
                    'ノートの形式の誤り: 署名の部分が改行で終わっていません'),
    "note.too_many_sigs": ('malformed note: more than {n} signatures',
                    'ノートの形式の誤り: 署名が {n} 件を超えています'),
    "note.sig_dash": ("malformed note: signature line {n} does not start with '— '",
                    "ノートの形式の誤り: 署名の {n} 行目が '— ' で始まっていません"),
    "note.sig_line_base64": ('malformed note: signature line {n} is not base64',
                    'ノートの形式の誤り: 署名の {n} 行目が base64 ではありません'),
    "note.sig_line": ('malformed note: signature line {n} is malformed',
                    'ノートの形式の誤り: 署名の {n} 行目が正しくありません'),
    "note.cp_origin": ('checkpoint origin must be a non-empty single line',
                    'チェックポイントの発行元は空でない 1 行でなければなりません'),
    "note.cp_size_root": ('checkpoint needs a size ≥ 0 and a 32-byte root hash',
                    'チェックポイントには 0 以上のサイズと 32 バイトのルートハッシュが必要です'),
    "note.cp_newline": ('checkpoint text must end with a newline',
                    'チェックポイントのテキストが改行で終わっていません'),
    "note.cp_lines": ('checkpoint needs origin, size and root hash lines',
                    'チェックポイントには発行元、サイズ、ルートハッシュの行が必要です'),
    "note.cp_size": ('checkpoint size {size!r} is not a decimal integer',
                    'チェックポイントのサイズ {size!r} が 10 進の整数ではありません'),
    "note.cp_root": ('checkpoint root hash is not base64',
                    'チェックポイントのルートハッシュが base64 ではありません'),
    "note.cp_extension": ('checkpoint extension lines must not be empty',
                    'チェックポイントの拡張行が空です'),
    "note.few_witnesses": ("checkpoint carries {n} known witness signature(s), {required} "
                           "required",
                           "チェックポイントにある既知の監視者の署名は {n} 件で、{required} 件"
                           "必要です"),
    # --- a batch report (report.py) ---
    "report.inclusion": ('{what} (entry {index}): inclusion proof fails: {error}',
                      '{what}（エントリ {index}）: 収録証明が成り立ちません: {error}'),
    "report.at": ('{what} (entry {index}): {error}',
                      '{what}（エントリ {index}）: {error}'),
    "report.not_report": ('not a {type} document',
                      '{type} の文書ではありません'),
    "report.other_key": ("log_key: the report names a different log key than the one you "
                         "pinned, and shows no log key change leading to it",
                      "log_key: 報告書は固定したものとは別のログ鍵を示しており、そこに至るログ鍵"
                      "の変更もありません"),
    "report.seal_differs": ("{name}: the report says {ours!r}, the seal (entry {index}) says "
                            "{sealed!r}",
                      "{name}: 報告書では {ours!r} ですが、封印（エントリ {index}）では {sealed!r"
                      "} です"),
    "report.overlap": ('period overlaps previous batch {batch} ({start}..{end})',
                      "期間が前のバッチ {batch}（{start}..{end}）と重なっています（同じ削減量の二"
                      "重計上）"),
    "report.carry_in": ("totals.carry_in_g {got} ≠ the previous batch's carry_over_g {want}",
                      'totals.carry_in_g {got} が前のバッチの carry_over_g {want} と一致しません'),
    "report.reduction": ('totals.reduction_g {got} ≠ sum over households {total}',
                      'totals.reduction_g {got} が世帯ごとの合計 {total} と一致しません'),
    "report.exclusions": ('exclusions: the report says {said}, its households add up to {sum}',
                      'exclusions: 報告書では {said} ですが、世帯ごとの合計は {sum} です'),
    "report.ev_checkpoint": ("evidence: its checkpoint (size {size}) is not the report's (size "
                             "{report})",
                      "evidence: エビデンスのチェックポイント（サイズ {size}）が報告書のもの（サ"
                      "イズ {report}）と異なります"),
    "report.ev_covered": ("evidence: the covered readings ({n}) do not match the seal's "
                          "covered_count {count} / covered_digest",
                      "evidence: 対象の読み取り値（{n} 件）が封印の covered_count {count} / covered"
                      "_digest "
                      "と一致しません"),
    "report.ev_households": ("evidence: the report's household list differs from the evidence",
                      'evidence: 報告書の世帯一覧がエビデンスと異なります'),
    "report.ev_exclusions": ("evidence: the exclusions recomputed from the readings differ "
                             "from the report's",
                      'evidence: 読み取り値から再計算した対象外の件数が報告書と異なります'),
    "report.ev_sample": ("evidence: the sample is not the one drawn from the root hash "
                         "(expected entries {want!s}…, report has {got!s}…)",
                      "evidence: サンプルがルートハッシュから引いたものではありません（期待するエ"
                      "ントリ {want!s}…、報告書は {got!s}…）"),
    "report.chain_end": ('log_key: the report names {named}, but its log key changes end at {end}',
                      "log_key: 報告書は {named} を示していますが、ログ鍵の変更は {end} で終わっ"
                      "ています"),
    "report.fields": ('report fields: missing {missing}, unknown {unknown}',
                      '報告書の項目: 不足 {missing}、不明 {unknown}'),
    "report.hh_differs": ("{field}: the report says {said}, the household's enrolments under the"
                          " programme rules give {want}",
                      "{field}: 報告書では {said} ですが、世帯の登録情報とプログラムの規則から"
                      "は {want} になります"),
    "report.hh_reduction": ('{w}.reduction_g {got} ≠ sum of its months {total}',
                      '{w}.reduction_g {got} が月ごとの合計 {total} と一致しません'),
    "report.month_reduction": ("{w} ({month}): reduction_g {got} ≠ {want} recomputed from its ener"
                               "gy figures and the methodology",
                      "{w}（{month}）: reduction_g {got} が、電力量と方法論から再計算した {want} "
                      "と一致しません"),
    "report.self_consumed": ('{w}: self_consumed exceeds PV generation',
                      '{w}: 自家消費量が太陽光発電量を超えています'),
    "report.no_enrolment": ('{w} (entry {index}): device {device} has no enrolment in the report',
                      '{w}（エントリ {index}）: 機器 {device} の登録が報告書にありません'),
    "report.not_covered": ('{w} (entry {index}) is not a covered reading of the batch',
                      '{w}（エントリ {index}）はこのバッチの対象の読み取り値ではありません'),
    "report.chain": ('sample: reading {device}#{seq} does not chain to #{prev}',
                      'sample: 機器 {device} の読み取り値 #{seq} が #{prev} に続いていません'),
    "report.sample_size": ("sample: {n} readings covering {hh} of {of} households; expected {s} dr"
                           "aws plus one for each household not drawn",
                      "sample: 読み取り値 {n} 件で {of} 世帯中 {hh} 世帯です。{s} 件の抽出と、抽"
                      "出されなかった世帯ごとに 1 件が必要です"),
    "report.counts": ('{what}: creditable {creditable} + excluded {excluded} ≠ covered {covered}',
                      "{what}: 対象 {creditable} 件 + 対象外 {excluded} 件が全体 {covered} 件と一"
                      "致しません"),
    "report.ev_household": ("evidence: household {household}'s {fields} recomputed from its readin"
                            "gs under the report's rules differ from the report's",
                      "evidence: 世帯 {household} の {fields} を読み取り値から報告書の規則で再計"
                      "算すると、報告書と異なります"),
    # --- an evidence directory (evidence.py) ---
    "ev.not_json": ("entries.jsonl line is not valid JSON: {error}",
                    "entries.jsonl の行が正しい JSON ではありません: {error}"),
    "ev.line_shape": ('entries.jsonl line must be {{"index": i, "entry_b64": "..."}}',
                      'entries.jsonl の行は {{"index": i, "entry_b64": "..."}} の形です'),
    "ev.line_index": ("line carries index {got!r}, expected {want} (lines missing or out of "
                      "order)",
                      "行の index が {got!r} です（{want} のはずです。行が欠けているか順序が"
                      "違います）"),
    "ev.vkeys": ("log.vkeys lists the keys {listed}, but the log's own key changes give {own}",
                 "log.vkeys には鍵 {listed} がありますが、ログ自身の鍵の変更からは {own} に"
                 "なります"),
    "ev.pinned_not_in_chain": ("the pinned log key {pinned} is not among the log's keys "
                               "({keys})",
                               "固定したログ鍵 {pinned} はこのログの鍵（{keys}）に含まれません"),
    "ev.signed_by_other": ("the checkpoint is signed by {signer}, but the log's key at size "
                           "{size} is {key}",
                           "チェックポイントは {signer} の署名ですが、サイズ {size} の時点の"
                           "ログ鍵は {key} です"),
    "ev.too_many": ("entries.jsonl has more entries than the checkpoint's size {size}",
                    "entries.jsonl のエントリがチェックポイントのサイズ {size} より多くあります"),
    "ev.count": ("entries.jsonl has {n} entries, the checkpoint says {size}",
                 "entries.jsonl のエントリは {n} 件ですが、チェックポイントでは {size} 件です"),
    "ev.root": ("the root recomputed from entries.jsonl differs from the checkpoint's root hash: "
                "an entry was altered, added or removed",
                "entries.jsonl から再計算したルートハッシュがチェックポイントと異なります。"
                "エントリが改変、追加または削除されています"),
    # --- a certificate export (certificate_proofs.py) ---
    "cert.entry_fields": ("{what}: expected index, entry_b64, proof_b64",
                          "{what}: index、entry_b64、proof_b64 が必要です"),
    "cert.entry_index": ("{what}.index: expected an entry index",
                         "{what}.index: エントリ番号が必要です"),
    "cert.proof_list": ("{what}.proof_b64: expected a list", "{what}.proof_b64: 配列が必要です"),
    "cert.entries_list": ("proofs: entries must be a list",
                          "proofs: entries は配列でなければなりません"),
    "cert.entry_twice": ("entry {index} is given twice", "エントリ {index} が二度あります"),
    "cert.not_included": ("entry {index} is not in the log at the checkpoint (size {size}): "
                          "{error}",
                          "エントリ {index} はチェックポイント（サイズ {size}）の時点のログに"
                          "含まれていません: {error}"),
    "cert.not_canonical": ("entry bytes are not the canonical form of the record",
                           "エントリのバイト列が記録の正規形（RFC 8785）ではありません"),
    "cert.no_enrolment": ("reading of device {device}: its enrolment is not in the proof "
                          "document",
                          "機器 {device} の読み取り値: その機器の登録が証明文書にありません"),
    "cert.out_of_place": ("a {type} entry has no place in a certificate proof document",
                          "種別 {type} のエントリは証書の証明文書に含まれるものではありません"),
    "cert.gap": ("entry {index}: claim {claim} issues ids from {first}, but the claims shown "
                 "end at id {last}: an issued claim was left out",
                 "エントリ {index}: クレーム {claim} は番号 {first} から発行していますが、示された"
                 "クレームは番号 {last} で終わっています。発行済みのクレームが省かれています"),
    "cert.bundles_shape": ('the bundles file must be {{"bundles": [ … ]}} with at least one '
                           "bundle",
                           "バンドルのファイルは少なくとも一つのバンドルを含む "
                           '{{"bundles": [ … ]}} でなければなりません'),
    "cert.no_issued_claim": ("bundle {name!r}: no issued claim of that id is in the proof "
                             "document",
                             "バンドル {name!r}: その ID の発行クレームが証明文書にありません"),
    "cert.claim_index": ("hash.claim_index: the bundle does not name entry {index}, the claim "
                         "that issued it",
                         "hash.claim_index: バンドルが、自身を発行したクレームのエントリ {index} を"
                         "指していません"),
    "cert.device_id": ("device_id: the bundle says {said!r}, its readings are of {household!r}",
                       "device_id: バンドルには {said!r} とありますが、読み取り値は {household!r} "
                       "のものです"),
    "cert.bundle": ("bundle {name}: {problems}", "バンドル {name}: {problems}"),
    "cert.format": ("proofs: format {got!r}, expected {want!r}",
                    "proofs: 形式が {got!r} です（{want!r} のはずです）"),
    "cert.checkpoint_text": ("proofs: checkpoint must be the signed note's text",
                             "proofs: checkpoint は署名付きノートのテキストでなければなりません"),
    "cert.listed_twice": ("a bundle is listed twice in the bundles file",
                          "バンドルのファイルに同じバンドルが二度あります"),
    "cert.not_json": ("{file} is not JSON: {error}", "{file} は JSON ではありません: {error}"),
    "cert.held_ids": ("{account} ({n} ids)", "{account}（{n} 番号分）"),
    "cert.holders": ("{holders}", "{holders}"),
    "cert.for": ("{account} for {beneficiary}", "{account}（{beneficiary} のため）"),
    # --- the claim ledger (claims.py ClaimBook, bundle_problems) ---
    "claim.id_used": ("claim id {claim!r} is already used by entry {index}",
                      "クレーム ID {claim!r} はエントリ {index} で使用済みです"),
    "claim.not_sealed": ("claim {claim}: batch {batch} of {programme} is not sealed before "
                         "entry {index}",
                         "クレーム {claim}: {programme} のバッチ {batch} はエントリ {index} "
                         "より前に封印されていません"),
    "claim.batch_twice": ("batch {batch} is claimed twice: by the sealed claim of entry {sealed} "
                          "and claim {claim} (entry {index})",
                          "バッチ {batch} が二重にクレームされています：エントリ {sealed} の封印"
                          "クレームと、クレーム {claim}（エントリ {index}）"),
    "claim.not_in_hour": ("claim {claim}: reading entry {entry} is not in the hour {hour}",
                          "クレーム {claim}: 読み取り値のエントリ {entry} が {hour} からの 1 時間に"
                          "含まれません"),
    "claim.sealed_claim_of": ("the sealed claim of entry {index}",
                              "エントリ {index} の封印クレーム"),
    "claim.seal_of": ("the seal of entry {index}", "エントリ {index} の封印"),
    "claim.sealed_twice": ("reading entry {entry}: its Wh are claimed twice — by batch {batch} "
                           "({name}, sealed) and by claim {claim} (entry {index}, issued)",
                           "読み取り値のエントリ {entry}: その Wh が二重にクレームされています — "
                           "バッチ {batch}（{name}、封印済み）と、クレーム {claim}（エントリ "
                           "{index}、発行）"),
    "claim.households": ("claim {claim}: its readings belong to {n} households; a bundle has "
                         "one device",
                         "クレーム {claim}: 読み取り値が {n} 世帯にまたがっています。一つの"
                         "バンドルは一つの機器のものです"),
    "claim.next_id": ("claim {claim}: bundle starts at id {first}, the next free id is {next}",
                      "クレーム {claim}: バンドルが番号 {first} から始まっていますが、次の"
                      "空き番号は {next} です"),
    "claim.not_pv_reading": ("claim {claim}: entry {entry} is not a creditable PV reading "
                             "inside one hour logged before the claim",
                             "クレーム {claim}: エントリ {entry} は、クレームより前に記録された"
                             "1 時間内のクレジット対象の太陽光の読み取り値ではありません"),
    "claim.not_pv": ("claim {claim}: entry {entry} is a {quantity} reading, not PV generation",
                     "クレーム {claim}: エントリ {entry} は {quantity} の読み取り値で、太陽光発電量"
                     "ではありません"),
    "claim.sha256": ("claim {claim}: entry {entry}'s SHA-256 is {actual}, the claim says "
                     "{said}",
                     "クレーム {claim}: エントリ {entry} の SHA-256 は {actual} ですが、クレーム"
                     "には {said} とあります"),
    "claim.programme": ("claim {claim}: entry {entry} is a reading of programme {actual}, not "
                        "{programme}",
                        "クレーム {claim}: エントリ {entry} はプログラム {actual} の読み取り値で、"
                        "{programme} のものではありません"),
    "claim.self_consumed": ("self-consumed", "自家消費"),
    "claim.generated": ("generated", "発電"),
    "claim.claimed_twice": ("reading entry {entry}: Wh claimed twice — it proves {share} Wh "
                            "{proves}; claim {other} (entry {at}, issued) took {wh} of them "
                            "({already} in all) and claim {claim} (entry {index}, issued) "
                            "takes {more} more",
                            "読み取り値のエントリ {entry}: Wh の二重クレーム — 証明できる{proves}"
                            "は {share} Wh。クレーム {other}（エントリ {at}、発行）がそのうち "
                            "{wh} Wh（合計 {already} Wh）を取り、クレーム {claim}（エントリ "
                            "{index}、発行）がさらに {more} Wh を取っています"),
    "claim.above_proven": ("claim {claim}: takes {wh} Wh from reading entry {entry}, more than "
                           "the {share} Wh {proves} its span proves",
                           "クレーム {claim}: 読み取り値のエントリ {entry} から {wh} Wh を取って"
                           "いますが、その時間帯で証明できる{proves}は {share} Wh です"),
    "claim.not_issued_bundle": ("claim {claim}: {ref!r} is not an issued bundle",
                                "クレーム {claim}: {ref!r} は発行済みのバンドルではありません"),
    "claim.not_within": ("claim {claim}: ids {first}..{last} are not within bundle {ref} "
                         "({bfirst}..{blast})",
                         "クレーム {claim}: 番号 {first}..{last} がバンドル {ref}（{bfirst}.."
                         "{blast}）の範囲外です"),
    "claim.ids_twice": ("certificate ids {first}..{last}: claimed twice — cancelled by claim "
                        "{other} (entry {at}) and {action} by claim {claim} (entry {index})",
                        "証書の番号 {first}..{last}: 二重のクレーム — クレーム {other}（エントリ "
                        "{at}）で償却済み、さらにクレーム {claim}（エントリ {index}）で {action}"),
    "claim.what": ("claim {claim} (entry {index}, {action})",
                   "クレーム {claim}（エントリ {index}、{action}）"),
    "claim.many_holders": ("{what}: ids {first}..{last} are held by {holders}; one request "
                           "moves ids of one holder",
                           "{what}: 番号 {first}..{last} は {holders} が保有しています。一つの依頼"
                           "で動かせるのは一人の保有者の番号だけです"),
    "claim.no_request": ("{what}: ids {first}..{last} are held by {holder}, and the claim "
                         "carries no request signed by them: the operator cannot move a buyer's "
                         "certificates",
                         "{what}: 番号 {first}..{last} は {holder} が保有しており、クレームに"
                         "その保有者が署名した依頼がありません。運用者は購入者の証書を動かせませ"
                         "ん"),
    "claim.request_on_issuer_ids": ("{what}: ids {first}..{last} are held by the issuer, not "
                                    "by {holder}: a buyer's request moves only ids that buyer "
                                    "holds",
                                    "{what}: 番号 {first}..{last} は発行者（自治体）が保有して"
                                    "おり、{holder} の保有ではありません。購入者の依頼で動かせる"
                                    "のは、"
                                    "その購入者が保有する番号だけです"),
    "claim.request_unsigned": ("{what}: the request is not signed by {holder}, the holder it "
                               "names: {error}",
                               "{what}: 依頼が、依頼に記された保有者 {holder} の署名では"
                               "ありません: {error}"),
    "claim.request_reused": ("{what}: the holder's request was already used by the claim of "
                             "entry {index}",
                             "{what}: 保有者の依頼はエントリ {index} のクレームで使用済みです"),
    "claim.not_requested": ("claim {claim}: not what its holder's request asks: {problems}",
                            "クレーム {claim}: 保有者の依頼の内容と異なります: {problems}"),
    "claim.not_issued": ("claim {claim} is not an issued claim",
                         "クレーム {claim} は発行クレームではありません"),
    "claim.field": ("{field}: the bundle says {said!r}, its claim gives {want!r}",
                    "{field}: バンドルには {said!r} とありますが、クレームでは {want!r} です"),
    "claim.readings": ("hash.readings: the bundle does not name exactly the readings and Wh "
                       "its claim takes",
                       "hash.readings: バンドルに記された読み取り値と Wh が、クレームが取るものと"
                       "一致しません"),
    # --- a buyer account's request (accounts.py) ---
    "account.bad_key": ("{what}: {error}", "{what}: {error}"),
    "account.action": ("claim request.action: {action!r} is not {transfer} or {cancel}",
                       "claim request.action: {action!r} は {transfer} でも {cancel} でも"
                       "ありません"),
    "account.fields": ("claim request ({action}): a transfer names only 'to'; a cancel names "
                       "only 'period' and 'beneficiary'",
                       "claim request（{action}）: 移転は 'to' だけを、償却は 'period' と "
                       "'beneficiary' だけを指定します"),
    "account.action_differs": ("the claim is {action}, the request asks to {asked}",
                               "クレームは {action} ですが、依頼は {asked} です"),
    "account.ids_differ": ("the claim moves {ref} ids {first}..{last}, the request names {rref} "
                           "ids {rfirst}..{rlast}",
                           "クレームは {ref} の番号 {first}..{last} を動かしますが、依頼は {rref} "
                           "の番号 {rfirst}..{rlast} です"),
    "account.account_differs": ("the claim's account is {account}, the request gives {want}",
                                "クレームのアカウントは {account} ですが、依頼では {want} です"),
    "account.period_differs": ("the claim's period is not the request's",
                               "クレームの期間が依頼の期間と異なります"),
    "account.not_holder_key": ("this key is account {account}, the request's holder is "
                               "{holder}",
                               "この鍵はアカウント {account} のもので、依頼の保有者は "
                               "{holder} です"),
}

CATALOG: Final[dict[str, Mapping[str, str]]] = {
    _P + code: {"en": en, "ja": ja} for code, (en, ja) in _FINDINGS.items()}
