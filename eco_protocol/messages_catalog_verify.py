"""The protocol package's messages for ``eco-verify``'s newer commands, in English and Japanese
(data, merged into :mod:`eco_protocol.messages_catalog`): ``eco-verify credential`` and the
credential checker's findings (:mod:`eco_protocol.credentials`), ``eco-verify basket``, and the
consortium's witness policy (``--consortium``, :mod:`eco_protocol.witness_policy`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

# what a refusal of a credential means for the person holding it, and what to ask
# (eco_protocol.verify_credential_cli.explain): kind → (meaning, ask)
_CREDENTIAL_MEANINGS: Final[Mapping[str, tuple[Mapping[str, str], Mapping[str, str]]]] = {
    "no_status_list": (
        {"en": "it may have been revoked, and the issuer's status list was not given",
         "ja": "失効している可能性があり、発行者の失効リスト（ステータスリスト）が指定されて"
               "いません"},
        {"en": "get the status list from the URL below and pass it with --status-list",
         "ja": "下記の URL からステータスリストを取得し、--status-list で指定してください"}),
    "status_list": (
        {"en": "the status list given does not check, so revocation cannot be ruled out",
         "ja": "指定したステータスリストを検証できないため、失効していないと確認できません"},
        {"en": "get a current status list from the issuer and check again",
         "ja": "発行者から最新のステータスリストを取得して、もう一度確認してください"}),
    "changed": (
        {"en": "the credential was changed after its issuer signed it, or was not signed by its "
               "issuer",
         "ja": "この証明書は発行者の署名後に改変されたか、発行者が署名したものではありません"},
        {"en": "do not accept it; ask the holder for the copy the issuer gave, or the issuer for "
               "a new one",
         "ja": "受け付けず、発行者から受け取ったままのものを持参者に求めるか、発行者に再発行を"
               "依頼してください"}),
    "no_document": (
        {"en": "it cannot be checked without the issuer's DID document",
         "ja": "発行者の DID ドキュメントがないと検証できません"},
        {"en": "get the issuer's did.json (the URL is below) and pass it with --did-document",
         "ja": "発行者の did.json（URL は下記）を取得し、--did-document で指定してください"}),
    "validity": (
        {"en": "the credential is outside its validity period, or signed with a key not in force "
               "then",
         "ja": "証明書が有効期間外か、その時点で有効でない鍵で署名されています"},
        {"en": "ask the issuer for a current credential",
         "ja": "発行者に現在有効な証明書を依頼してください"}),
    "name": (
        {"en": "the credential carries a person's name; these credentials carry pseudonyms only",
         "ja": "証明書に個人の氏名が含まれています。この証明書には仮名しか載せません"},
        {"en": "do not keep or pass it on; tell the issuer",
         "ja": "保管も転送もせず、発行者に知らせてください"}),
    "wrong_key": (
        {"en": "the credential was not signed with a key its issuer publishes",
         "ja": "証明書が、発行者の公表している鍵で署名されていません"},
        {"en": "do not accept it; check that the DID document is the issuer's own, from its web "
               "site",
         "ja": "受け付けず、DID ドキュメントが発行者自身のウェブサイトのものか確認してください"}),
    "other": (
        {"en": "the file is not a credential this checker understands, or is malformed",
         "ja": "このファイルは検証できる証明書ではないか、形式が壊れています"},
        {"en": "ask the issuer for the credential file as it was issued",
         "ja": "発行されたままの証明書ファイルを発行者に求めてください"}),
}

# eco-verify certificates (verify_certificates_cli): what a failed check means for the buyer
_CERTIFICATE_MEANINGS: Final[Mapping[str, Mapping[str, str]]] = {
    "checkpoint": {
        "en": "the proof is not signed by the log whose key you pinned (or lacks the witness "
              "cosignatures you require), so nothing in it can be trusted. Ask the seller for "
              "an export from that log.",
        "ja": "証明が、固定した鍵のログによって署名されていない（または必要な監視者の連署が"
              "ない）ため、内容を何も信頼できません。そのログからのエクスポートを販売者に求めて"
              "ください。"},
    "inclusion": {
        "en": "an entry these certificates rest on is not in the log at the checkpoint: the "
              "readings or claims shown may be made up. Do not count these certificates.",
        "ja": "証書が依拠するエントリがチェックポイント時点のログにありません。示された計測値や"
              "クレームは作られたものかもしれません。これらの証書を計上しないでください。"},
    "signature": {
        "en": "a record is not signed by the key it must be (a reading by its meter, a claim by "
              "the log): it may be forged. Do not count these certificates.",
        "ja": "記録が本来の鍵で署名されていません（計測値は計測器、クレームはログの鍵）。偽造の"
              "おそれがあります。これらの証書を計上しないでください。"},
    "double_claim": {
        "en": "the same energy or certificate id is claimed twice in the log: these "
              "certificates may also have been sold as J-Credits or to someone else. Do not "
              "count them; ask the seller which claim is void.",
        "ja": "同じ電力量または証書番号がログで二重にクレームされています。J-クレジットとして、"
              "または他者にも売られている可能性があります。計上せず、どのクレームが無効かを"
              "販売者に尋ねてください。"},
    "energy": {
        "en": "a certificate claims more energy than the readings prove was self-consumed: its "
              "face value is not backed. Do not count it.",
        "ja": "証書が、計測値で証明された自家消費量より多い電力量をクレームしています。額面に"
              "裏付けがありません。計上しないでください。"},
    "bundle": {
        "en": "a certificate says something its claim in the log does not (face value, hour, "
              "ids, readings or device): the file was altered. Ask the seller for the export "
              "again.",
        "ja": "証書の内容（額面、時間、番号、計測値、機器）がログのクレームと異なります。"
              "ファイルが改変されています。エクスポートをもう一度販売者に求めてください。"},
    "missing": {
        "en": "a claim the log holds was left out of the proof: the seller may be hiding another "
              "claim on this energy. Do not count these certificates; ask for the complete "
              "export.",
        "ja": "ログにあるクレームが証明から抜けています。販売者がこの電力量への別のクレームを"
              "隠しているおそれがあります。計上せず、完全なエクスポートを求めてください。"},
    "holder": {
        "en": "certificates were moved or cancelled without the signed request of the account "
              "holding them: the operator may have moved a buyer's certificates. Whoever the log "
              "names as holder from there on is not proven; do not count them.",
        "ja": "証書が、保有しているアカウントの署名付き依頼なしに移転または償却されています。"
              "運用者が購入者の証書を動かしたおそれがあります。それ以降にログが保有者とする者は"
              "証明されていません。計上しないでください。"},
    "format": {
        "en": "the export is incomplete or malformed, so it cannot prove the certificates. Ask "
              "the seller for the export again.",
        "ja": "エクスポートが不完全か形式が壊れているため、証書を証明できません。エクスポートを"
              "もう一度販売者に求めてください。"},
}
CERTIFICATES: dict[str, Mapping[str, str]] = {
    "eco_protocol.certificates.invalid": {"en": "INVALID certificates: {meaning}",
                                          "ja": "無効（INVALID）な証書：{meaning}"},
    "eco_protocol.certificates.fail": {"en": "FAIL {error}", "ja": "不合格 {error}"},
    "eco_protocol.certificates.cannot_read": {
        "en": "eco-verify certificates: cannot read {path}: {reason}",
        "ja": "eco-verify certificates: {path} を読めません（{reason}）。指定したパスを確認して"
              "ください"},
    "eco_protocol.certificates.valid": {
        "en": "VALID certificates: {bundles} bundles, {wh} Wh of self-consumed solar from "
              "{homes} home(s), hours {first} to {last}; proven in the log {origin} at size "
              "{size}; no other claim on this energy among the {claims} claims shown up to "
              "there; {cancelled} Wh cancelled (retired)",
        "ja": "有効（VALID）な証書：{homes} 世帯の太陽光の自家消費 {wh} Wh、{bundles} 束、時間 "
              "{first} ～ {last}。ログ {origin} のサイズ {size} で証明。そこまでに示された "
              "{claims} 件のクレームに、この電力量への別のクレームはありません。償却済み "
              "{cancelled} Wh"},
    "eco_protocol.certificates.check.checkpoint": {
        "en": "checkpoint of {origin} at size {size}, signed by the pinned log key; witnesses: "
              "{witnesses}",
        "ja": "{origin} のチェックポイント（サイズ {size}）は固定したログ鍵の署名付き。監視者: "
              "{witnesses}"},
    "eco_protocol.certificates.check.inclusion": {
        "en": "{n} entries are in the log under the checkpoint (RFC 6962 inclusion proofs)",
        "ja": "{n} 件のエントリがチェックポイントまでのログに含まれています（RFC 6962 の包含"
              "証明）"},
    "eco_protocol.certificates.check.signatures": {
        "en": "signatures: the log key on enrolments, seals and claims; each meter's key on its "
              "{readings} PV and export readings",
        "ja": "署名：登録・封印・クレームはログ鍵、太陽光と売電の計測値 {readings} 件はそれぞれ"
              "の計測器の鍵"},
    "eco_protocol.certificates.check.claims": {
        "en": "{n} claims replayed in log order: every face value within the self-consumption "
              "its readings prove, no Wh and no certificate id claimed twice, no sealed "
              "(J-Credit) energy issued, issued ids consecutive",
        "ja": "{n} 件のクレームをログの順に再生：額面はすべて計測値が証明する自家消費量以内、"
              "同じ Wh や証書番号の二重クレームなし、封印済み（J-クレジット）の電力量の発行なし、"
              "発行番号は連続"},
    "eco_protocol.certificates.check.bundles": {
        "en": "each bundle agrees with the issued claim it names (ids, Wh, hour, device, "
              "readings)",
        "ja": "各束は、示している発行クレームと一致（番号、Wh、時間、機器、計測値）"},
    "eco_protocol.certificates.check.moves": {
        "en": "transfers and cancellations followed: each move of a buyer's ids carries the "
              "holding account's signed request",
        "ja": "移転と償却を追跡：購入者の番号の移動にはすべて保有アカウントの署名付き依頼が"
              "あります"},
    "eco_protocol.certificates.owner": {
        "en": "{issuance}: {wh} Wh, ids {first}..{last}, {device}, hour from {hour}; held by "
              "{held}{moves}",
        "ja": "{issuance}: {wh} Wh、番号 {first}..{last}、{device}、{hour} からの 1 時間。"
              "保有者 {held}{moves}"},
    "eco_protocol.certificates.request_ids": {
        "en": "eco-verify {command}: --ids {ids!r}: expected FIRST..LAST",
        "ja": "eco-verify {command}: --ids '{ids}': 最初..最後 の形で指定してください"},
    "eco_protocol.certificates.request_error": {"en": "eco-verify {command}: {error}",
                                                "ja": "eco-verify {command}: {error}"},
    "eco_protocol.certificates.issuer": {"en": "the issuer (not transferred)",
                                         "ja": "発行者（移転なし）"},
    "eco_protocol.certificates.transferred": {"en": " (transferred to {chain})",
                                              "ja": "（移転先 {chain}）"},
    "eco_protocol.certificates.cancelled": {
        "en": "; {n} ids cancelled by {account} for consumption {period}",
        "ja": "。{account} が消費期間 {period} のために {n} 番号分を償却"},
}
CERTIFICATES.update({f"eco_protocol.certificates.meaning.{k}": v
                     for k, v in _CERTIFICATE_MEANINGS.items()})

CATALOG: dict[str, Mapping[str, str]] = {
    # --- eco-verify credential (verify_credential_cli) ---
    "eco_protocol.credential.kind.points": {"en": "points statement", "ja": "ポイント残高証明"},
    "eco_protocol.credential.kind.summary": {"en": "batch summary", "ja": "バッチ要約"},
    "eco_protocol.credential.kind.enrolment": {"en": "enrolment", "ja": "機器登録証明"},
    "eco_protocol.credential.kind.status_list": {"en": "status list",
                                                 "ja": "ステータスリスト（失効リスト）"},
    "eco_protocol.credential.valid": {
        "en": "VALID — {kind} about {subject}, issued by {issuer}: checked offline, not changed "
              "since it was signed",
        "ja": "有効（VALID）— {subject} についての{kind}、発行者 {issuer}：オフラインで検証し、"
              "署名後に改変されていません"},
    "eco_protocol.credential.revoked": {
        "en": "REVOKED — this {kind} about {subject} was revoked by its issuer {issuer}: do not "
              "accept it; ask the issuer whether a new one was issued",
        "ja": "失効（REVOKED）— {subject} についてのこの{kind}は発行者 {issuer} が失効させました。"
              "受け付けず、新しいものが発行されたか発行者に確認してください"},
    "eco_protocol.credential.invalid": {"en": "INVALID — {meaning}: {ask}",
                                        "ja": "無効（INVALID）— {meaning}。{ask}"},
    "eco_protocol.credential.fail": {"en": "FAIL {path}: {error}", "ja": "不合格 {path}: {error}"},
    "eco_protocol.credential.cannot_read": {
        "en": "eco-verify: cannot read {what} {path}: {reason}",
        "ja": "eco-verify: {what} {path} を読めません（{reason}）。指定したパスを確認してください"},
    "eco_protocol.credential.not_json": {
        "en": "eco-verify: {what} {path} is not JSON: {error}",
        "ja": "eco-verify: {what} {path} は JSON ではありません: {error}"},
    "eco_protocol.credential.no_id": {
        "en": "eco-verify: {what} {path} has no \"id\"",
        "ja": "eco-verify: {what} {path} に \"id\" がありません。発行者のファイルか確認して"
              "ください"},
    "eco_protocol.credential.bad_at": {"en": "eco-verify: {error}", "ja": "eco-verify: {error}"},
    "eco_protocol.credential.file.credential": {"en": "credential", "ja": "証明書"},
    "eco_protocol.credential.file.did_document": {"en": "DID document", "ja": "DID ドキュメント"},
    "eco_protocol.credential.file.status_list": {"en": "status list", "ja": "ステータスリスト"},
    # --- the checker's checks and what a credential says (eco_protocol.credentials) ---
    "eco_protocol.credential.check.proof": {
        "en": "eddsa-jcs-2022 proof by {method} (in force when made, {created})",
        "ja": "{method} による eddsa-jcs-2022 の署名（作成時 {created} に有効な鍵）"},
    "eco_protocol.credential.check.valid_at": {"en": "valid at {now}", "ja": "{now} に有効"},
    "eco_protocol.credential.check.valid_from": {"en": "valid at {now} (from {start})",
                                                 "ja": "{now} に有効（{start} から）"},
    "eco_protocol.credential.check.no_names": {"en": "no name fields: pseudonyms only",
                                               "ja": "氏名の項目なし：仮名のみ"},
    "eco_protocol.credential.check.not_revoked": {
        "en": "not revoked: entry {index} of the status list {url} (its proof checked too)",
        "ja": "失効していません：ステータスリスト {url} の {index} 番（リストの署名も検証済み）"},
    "eco_protocol.credential.line.set": {
        "en": "{purpose}: entry {index} of {url} is set",
        "ja": "{purpose}：{url} の {index} 番が設定されています"},
    "eco_protocol.credential.line.balance": {
        "en": "household {who}: {balance} eco-points as of {as_of}",
        "ja": "世帯 {who}：{as_of} 時点で {balance} エコポイント"},
    "eco_protocol.credential.line.checkpoint": {
        "en": "computed at the log's checkpoint {origin} size {size}",
        "ja": "ログのチェックポイント {origin}（サイズ {size}）で計算"},
    "eco_protocol.credential.line.checkpoint_unnamed": {
        "en": "computed at the log's checkpoint (not named)",
        "ja": "ログのチェックポイントで計算（どのチェックポイントかの記載なし）"},
    "eco_protocol.credential.line.history_hidden": {"en": "history: not disclosed",
                                                    "ja": "履歴：開示なし"},
    "eco_protocol.credential.line.history": {
        "en": "history: {n} entries disclosed at the resident's request",
        "ja": "履歴：住民の希望により {n} 件を開示"},
    "eco_protocol.credential.line.batch": {
        "en": "batch {batch} ({programme}), methodology {method} v{version}",
        "ja": "バッチ {batch}（{programme}）、方法論 {method} 第 {version} 版"},
    "eco_protocol.credential.line.period": {
        "en": "period {start} – {end}, {households} households",
        "ja": "期間 {start} – {end}、{households} 世帯"},
    "eco_protocol.credential.line.totals": {
        "en": "reduction {reduction} g-CO2, credits {credits} t",
        "ja": "削減量 {reduction} g-CO2、クレジット {credits} t"},
    "eco_protocol.credential.line.report": {
        "en": "checkpoint {origin} size {size}; report.json SHA-256 {sha}",
        "ja": "チェックポイント {origin}（サイズ {size}）、report.json の SHA-256 {sha}"},
    "eco_protocol.credential.line.demonstration": {
        "en": "DEMONSTRATION programme: illustrative factors, not for certification",
        "ja": "デモプログラム：例示の係数で、認証用ではありません"},
    "eco_protocol.credential.line.enrolled": {
        "en": "household {who}: device {device} enrolled in {programme} at {at} by {by}",
        "ja": "世帯 {who}：機器 {device} を {at} に {by} がプログラム {programme} へ登録"},
    "eco_protocol.credential.line.meters": {"en": "meters: {meters}", "ja": "計測器：{meters}"},
    "eco_protocol.credential.line.meter": {"en": "{id} ({quantity})", "ja": "{id}（{quantity}）"},
    "eco_protocol.credential.line.status_list": {
        "en": "{purpose} status list of {n} entries, {count} set",
        "ja": "{purpose} のステータスリスト（{n} 件中 {count} 件が設定）"},
    # --- the checker's refusals a holder meets most (CredentialError) ---
    "eco_protocol.credential.what.credential": {"en": "credential", "ja": "証明書"},
    "eco_protocol.credential.what.status_list": {"en": "status list {url}",
                                                 "ja": "ステータスリスト {url}"},
    "eco_protocol.credential.err.not_object": {"en": "{what}: not a JSON object",
                                               "ja": "{what}: JSON のオブジェクトではありません"},
    "eco_protocol.credential.err.other_signer": {
        "en": "{what} proof: signed by {did}, but the issuer is {issuer} — only the issuer's own "
              "keys may sign its credentials",
        "ja": "{what} の署名: {did} が署名していますが、発行者は {issuer} です。発行者自身の鍵"
              "しか発行者の証明書に署名できません"},
    "eco_protocol.credential.err.no_document": {
        "en": "{what}: no DID document for the issuer {did}; give a copy of the one published at "
              "{where}",
        "ja": "{what}: 発行者 {did} の DID ドキュメントがありません。{where} で公表されているものの"
              "写しを指定してください"},
    "eco_protocol.credential.err.from_future": {
        "en": "{what} proof.created {created}: later than {now} — a proof from the future (or a "
              "wrong clock)",
        "ja": "{what} の proof.created {created} が {now} より後です。未来の署名か、時計の"
              "誤りです"},
    "eco_protocol.credential.err.proof_expired": {
        "en": "{what} proof.expires {expires}: the proof has expired",
        "ja": "{what} の proof.expires {expires}: 署名の有効期限が切れています"},
    "eco_protocol.credential.err.not_yet": {
        "en": "{what} validFrom {start}: not valid yet at {now}",
        "ja": "{what} の validFrom {start}: {now} の時点ではまだ有効ではありません"},
    "eco_protocol.credential.err.expired": {
        "en": "{what} validUntil {end}: expired at {now}",
        "ja": "{what} の validUntil {end}: {now} の時点で期限切れです"},
    "eco_protocol.credential.err.name_field": {
        "en": "{where}: a name field — these credentials carry pseudonyms only, never names",
        "ja": "{where}: 氏名の項目です。この証明書には仮名だけを載せ、個人の氏名は載せません"},
    "eco_protocol.credential.err.no_status_list": {
        "en": "credentialStatus: no copy of the status list {url}; without it revocation cannot "
              "be ruled out — fetch it from that URL",
        "ja": "credentialStatus: ステータスリスト {url} の写しがありません。これがないと失効して"
              "いないと確認できません。その URL から取得してください"},
    "eco_protocol.credential.err.in_status_list": {"en": "status list {url}: {error}",
                                                   "ja": "ステータスリスト {url}: {error}"},
    "eco_protocol.credential.err.not_that_list": {
        "en": "status list {url}: the file given is not that status list credential",
        "ja": "ステータスリスト {url}: 指定したファイルはそのステータスリストではありません"},
    "eco_protocol.credential.err.list_issuer": {
        "en": "status list {url}: issued by {list_issuer}, not by the credential's issuer "
              "{issuer}",
        "ja": "ステータスリスト {url}: 発行者が {list_issuer} で、証明書の発行者 {issuer} では"
              "ありません"},
    "eco_protocol.credential.err.signature": {
        "en": "proof.proofValue: the Ed25519 signature does not verify under {method} — the "
              "document or its proof was changed after signing, or another key signed it",
        "ja": "proof.proofValue: Ed25519 の署名が {method} で検証できません。文書か署名が署名後"
              "に改変されたか、別の鍵が署名しています"},
    # --- eco-verify basket (verify_basket_cli, eco_protocol.basket) ---
    "eco_protocol.basket.cannot_read": {
        "en": "eco-verify basket: cannot read {path}: {reason}",
        "ja": "eco-verify basket: {path} を読めません（{reason}）。指定したパスを確認してください"},
    "eco_protocol.basket.evidence_count": {
        "en": "eco-verify basket: {given} --evidence directories for {reports} reports: give one "
              "per report, in order, or none",
        "ja": "eco-verify basket: 報告書 {reports} 件に対して --evidence が {given} 件です。報告書"
              "ごとに順番どおり一つずつ指定するか、まったく指定しないでください"},
    "eco_protocol.basket.fail_consortium": {"en": "FAIL --consortium: {error}",
                                            "ja": "不合格 --consortium: {error}"},
    "eco_protocol.basket.ok": {
        "en": "ok   {name}: {member} {batch}, {households} households, {credits} t ({tonnes} t "
              "CO2); {published}; {tokens} claim tokens credited",
        "ja": "合格 {name}: {member} {batch}、{households} 世帯、{credits} t（{tonnes} t-CO2）、"
              "{published}、クレーム・トークン {tokens} 件を計上"},
    "eco_protocol.basket.fail": {"en": "FAIL {problem}", "ja": "不合格 {problem}"},
    "eco_protocol.basket.valid": {
        "en": "VALID basket: {batches} batches from {n} members ({members}), {credits} t in all; "
              "no equipment is credited twice in overlapping periods",
        "ja": "有効（VALID）なバスケット：{n} 会員（{members}）の {batches} バッチ、計 {credits} "
              "t。重なる期間に同じ設備が二重に計上されていません"},
    "eco_protocol.basket.invalid": {
        "en": "INVALID basket: {n} problems (above); do not count these credits until each is "
              "resolved with the sellers",
        "ja": "無効（INVALID）なバスケット：問題 {n} 件（上記）。それぞれを販売者と解決するまで、"
              "これらのクレジットを計上しないでください"},
    "eco_protocol.basket.not_json": {"en": "not JSON: {error}",
                                     "ja": "JSON ではありません: {error}"},
    "eco_protocol.basket.item_problem": {"en": "{name}: {error}", "ja": "{name}: {error}"},
    "eco_protocol.basket.not_a_report": {
        "en": "not a batch report (not a JSON object)",
        "ja": "バッチ報告書ではありません（JSON のオブジェクトではありません）"},
    "eco_protocol.basket.no_checkpoint": {
        "en": "the report has no checkpoint to check against the policy",
        "ja": "報告書に、コンソーシアムの方針で確認するチェックポイントがありません"},
    "eco_protocol.basket.twice_in_batch": {
        "en": "{name}: the same {kind} (claim token {token}…) is credited twice by {member}'s "
              "batch {batch} (devices {first} and {second})",
        "ja": "{name}: 同じ{kind}（クレーム・トークン {token}…）が {member} のバッチ {batch} で"
              "二重に計上されています（機器 {first} と {second}）"},
    "eco_protocol.basket.repeated": {
        "en": "{name}: batch {batch} of {member} is in the basket twice (also {also}): its "
              "credits would be counted twice",
        "ja": "{name}: {member} のバッチ {batch} がバスケットに二度入っています（{also} と同じ）。"
              "クレジットが二重に数えられます"},
    "eco_protocol.basket.double_credit": {
        "en": "the same {kind} (claim token {token}…) is credited by {a_member}'s batch "
              "{a_batch} (device {a_device}) and by {b_member}'s batch {b_batch} (device "
              "{b_device}), whose periods overlap: one piece of equipment credited twice",
        "ja": "同じ{kind}（クレーム・トークン {token}…）が、期間の重なる {a_member} のバッチ "
              "{a_batch}（機器 {a_device}）と {b_member} のバッチ {b_batch}（機器 {b_device}）の"
              "両方で計上されています。一つの設備が二重に計上されています"},
    # the kinds of equipment behind a claim token (eco_protocol.claim_tokens.EquipmentKind)
    "eco_protocol.equipment.inverter": {"en": "inverter", "ja": "パワーコンディショナ"},
    "eco_protocol.equipment.supply_point": {"en": "supply_point",
                                            "ja": "供給地点（スマートメーター）"},
    "eco_protocol.equipment.ev_charger": {"en": "ev_charger", "ja": "EV 充電器"},
    "eco_protocol.equipment.vin": {"en": "vin", "ja": "車両（車台番号）"},
    # --- the consortium's witness policy (eco_protocol.witness_policy) ---
    "eco_protocol.policy.published": {
        "en": "published under the consortium's policy: {n} of {required} required "
              "cosignatures from the {eligible} witnesses named for {member} ({names})",
        "ja": "コンソーシアムの方針で公開済み：{member} に指定された監視者 {eligible} 者のうち、"
              "必要な {required} 者中 {n} 者が連署（{names}）"},
    "eco_protocol.policy.not_published": {
        "en": "NOT published under the consortium's policy: {n} of {required} required "
              "cosignatures from the {eligible} witnesses named for {member} ({names})",
        "ja": "コンソーシアムの方針では未公開：{member} に指定された監視者 {eligible} 者のうち、"
              "必要な {required} 者中 {n} 者しか連署していません（{names}）"},
    "eco_protocol.policy.none": {"en": "none", "ja": "なし"},
    "eco_protocol.policy.not_member": {
        "en": "the checkpoint's log {origin!r} is not a member of consortium {name!r} (members: "
              "{members})",
        "ja": "チェックポイントのログ '{origin}' はコンソーシアム '{name}' の会員ではありません"
              "（会員: {members}）"},
    "eco_protocol.policy.short": {
        "en": "checkpoint of {member} (size {size}) is not published: {n} of the {required} "
              "required witness cosignatures ({names}; counted: {eligible}){extra}. Wait for the "
              "witnesses to cosign, or ask the log for the cosigned checkpoint",
        "ja": "{member} のチェックポイント（サイズ {size}）は公開されていません：必要な監視者の"
              "連署 {required} 件中 {n} 件（{names}。数える監視者: {eligible}）{extra}。監視者の"
              "連署を待つか、連署済みのチェックポイントをログに求めてください"},
    "eco_protocol.policy.ignored": {
        "en": "; lines by keys the consortium does not name for this log do not count ({names})",
        "ja": "。コンソーシアムがこのログに指定していない鍵の署名行は数えません（{names}）"},
    "eco_protocol.policy.no_checkpoint": {
        "en": "there is no checkpoint to check against the consortium's policy",
        "ja": "コンソーシアムの方針で確認するチェックポイントがありません"},
    "eco_protocol.policy.detail": {"en": "--consortium: {error}", "ja": "--consortium: {error}"},
    "eco_protocol.policy.fail": {"en": "FAIL --consortium: {error}",
                                 "ja": "不合格 --consortium: {error}"},
}
CONSORTIUM: dict[str, Mapping[str, str]] = {
    # --- consortium.toml (eco_protocol.consortium) ---
    "eco_protocol.consortium.no_member": {
        "en": "no member named {name!r} in consortium {consortium!r} (members: {members})",
        "ja": "コンソーシアム '{consortium}' に会員 '{name}' はいません（会員: {members}）"},
    "eco_protocol.consortium.not_toml": {
        "en": "{where}: not valid TOML: {error}",
        "ja": "{where}: TOML として正しくありません（{error}）。示された行を直してください"},
    "eco_protocol.consortium.missing_witnesses": {
        "en": "{where}: [[witnesses]] is missing: list every witness, one [[witnesses]] table "
              "each (see docs/consortium.md)",
        "ja": "{where}: [[witnesses]] がありません。監視者ごとに [[witnesses]] テーブルを一つずつ"
              "書いてください（docs/consortium.md 参照）"},
    "eco_protocol.consortium.missing_members": {
        "en": "{where}: [[members]] is missing: list every member log, one [[members]] table "
              "each (see docs/consortium.md)",
        "ja": "{where}: [[members]] がありません。会員のログごとに [[members]] テーブルを一つずつ"
              "書いてください（docs/consortium.md 参照）"},
    "eco_protocol.consortium.not_tables": {
        "en": "{where}: {key} must be one or more [[{key}]] tables",
        "ja": "{where}: {key} は一つ以上の [[{key}]] テーブルで書いてください"},
    "eco_protocol.consortium.bad_key": {"en": "{where}: {key}: {error}",
                                        "ja": "{where}: {key} の鍵が正しくありません: {error}"},
    "eco_protocol.consortium.witness_name": {
        "en": "{where}: {at}.name is {name!r} but its key is named {key_name!r}; use the key's "
              "name (it is the name on the cosignature lines)",
        "ja": "{where}: {at}.name は '{name}' ですが、鍵の名前は '{key_name}' です。鍵の名前"
              "（連署の行に書かれる名前）を使ってください"},
    "eco_protocol.consortium.listed_twice": {
        "en": "{where}: {at}.name {name!r} is listed twice",
        "ja": "{where}: {at}.name '{name}' が二度書かれています。一つにしてください"},
    "eco_protocol.consortium.origin": {
        "en": "{where}: {at}.origin is {origin!r} but log_key is the key of {key_name!r}; a "
              "log's origin is its key's name",
        "ja": "{where}: {at}.origin は '{origin}' ですが、log_key は '{key_name}' の鍵です。ログ"
              "の origin はその鍵の名前です"},
    "eco_protocol.consortium.member_witness": {
        "en": "{where}: {at}.witness {witness!r} is not the name of a [[witnesses]] table",
        "ja": "{where}: {at}.witness '{witness}' は [[witnesses]] テーブルの名前ではありません"},
    "eco_protocol.consortium.duplicate": {
        "en": "{where}: {at}.{key} {value!r} is already the {key} of member {other!r}",
        "ja": "{where}: {at}.{key} '{value}' はすでに会員 '{other}' の {key} です"},
    "eco_protocol.consortium.no_policy": {
        "en": "{where}: [policy] is missing: give quorum = K (how many of the named witnesses "
              "must cosign a checkpoint)",
        "ja": "{where}: [policy] がありません。quorum = K（指定した監視者のうち何者がチェック"
              "ポイントに連署すべきか）を書いてください"},
    "eco_protocol.consortium.policy_witnesses": {
        "en": "{where}: policy.witnesses must be a non-empty list of witness names",
        "ja": "{where}: policy.witnesses は監視者の名前の（空でない）リストで書いてください"},
    "eco_protocol.consortium.policy_unknown": {
        "en": "{where}: policy.witnesses names {name!r}, which is not a [[witnesses]] table "
              "(known: {known})",
        "ja": "{where}: policy.witnesses の '{name}' は [[witnesses]] テーブルにありません"
              "（あるもの: {known}）"},
    "eco_protocol.consortium.policy_twice": {
        "en": "{where}: policy.witnesses names a witness twice",
        "ja": "{where}: policy.witnesses に同じ監視者が二度書かれています"},
    "eco_protocol.consortium.unreachable": {
        "en": "{where}: policy.quorum {quorum} cannot be reached for member {member!r}: only {n} "
              "of the named witnesses are not its own",
        "ja": "{where}: 会員 '{member}' では policy.quorum {quorum} に届きません。指定された監視者"
              "のうち、その会員自身のものでないのは {n} 者だけです"},
    "eco_protocol.consortium.quorum": {
        "en": "{where}: policy.quorum must be an integer from 1 to {n} (the number of named "
              "witnesses) or \"any\", got {value}",
        "ja": "{where}: policy.quorum は 1 から {n}（指定した監視者の数）までの整数か \"any\" で"
              "書いてください（指定値 {value}）"},
    "eco_protocol.consortium.unknown_key": {
        "en": "{where}: unknown key {key} (allowed: {allowed})",
        "ja": "{where}: 不明なキー {key}（使えるキー: {allowed}）"},
    "eco_protocol.consortium.missing": {"en": "{where}: {key} is missing",
                                        "ja": "{where}: {key} がありません。追加してください"},
    "eco_protocol.consortium.not_text": {
        "en": "{where}: {key} must be a non-empty string",
        "ja": "{where}: {key} は空でない文字列で書いてください"},
    "eco_protocol.consortium.url": {
        "en": "{where}: {at}.url must be an http:// or https:// URL, got {url!r}",
        "ja": "{where}: {at}.url は http:// か https:// の URL で書いてください（指定値 "
              "'{url}'）"},
    # --- claim tokens: the equipment an operator types, the secret file (claim_tokens) ---
    "eco_protocol.tokens.empty_part": {
        "en": "{kind}: an identity part is empty ({parts})",
        "ja": "{kind}: 識別番号の一部が空です（{parts}）"},
    "eco_protocol.tokens.two_parts": {
        "en": "{kind}: give the manufacturer and the serial number (MANUFACTURER:SERIAL)",
        "ja": "{kind}: メーカーと製造番号を「メーカー:製造番号」（MANUFACTURER:SERIAL）の形で"
              "指定してください"},
    "eco_protocol.tokens.one_part": {"en": "{kind}: give one number",
                                     "ja": "{kind}: 番号を一つ指定してください"},
    "eco_protocol.tokens.supply_point": {
        "en": "supply point number {number!r}: must be the 22 digits of the 供給地点特定番号 (on "
              "the electricity bill)",
        "ja": "供給地点特定番号 '{number}' は 22 桁の数字で指定してください（電気料金の明細に"
              "あります）"},
    "eco_protocol.tokens.vin": {
        "en": "VIN {number!r}: must be 17 letters and digits (no I, O or Q)",
        "ja": "車台番号（VIN）'{number}' は英数字 17 文字で指定してください（I、O、Q は使い"
              "ません）"},
    "eco_protocol.tokens.syntax": {
        "en": "{what} {text!r}: expected KIND=IDENTITY with KIND one of inverter, supply-point, "
              "ev-charger, vin",
        "ja": "{what} '{text}': 種類=識別番号（KIND=IDENTITY）の形で、種類は inverter、"
              "supply-point、ev-charger、vin のいずれかで指定してください"},
    "eco_protocol.tokens.maker_serial": {
        "en": "{what} {text!r}: {kind} needs MANUFACTURER:SERIAL (SunSpec Mn and SN)",
        "ja": "{what} '{text}': {kind} には「メーカー:製造番号」（SunSpec の Mn と SN）が必要"
              "です"},
    "eco_protocol.tokens.secret_line": {
        "en": "{where} line {n}: a claim-token secret is 64 hex digits (32 random bytes); ask "
              "the consortium for the file again",
        "ja": "{where} の {n} 行目: クレーム・トークンの秘密は 16 進数 64 桁（32 バイト）です。"
              "コンソーシアムにファイルをもう一度求めてください"},
    "eco_protocol.tokens.no_secret": {
        "en": "{where}: holds no claim-token secret; ask the consortium for it",
        "ja": "{where} にクレーム・トークンの秘密がありません。コンソーシアムに求めてください"},
}
CATALOG.update(CONSORTIUM)
CATALOG.update({f"eco_protocol.credential.meaning.{k}": meaning
                for k, (meaning, _) in _CREDENTIAL_MEANINGS.items()})
CATALOG.update({f"eco_protocol.credential.ask.{k}": ask
                for k, (_, ask) in _CREDENTIAL_MEANINGS.items()})
CATALOG.update(CERTIFICATES)
