"""The buyer's verdict on a batch report, in plain words (issue 17).

``eco-verify`` lists the checks it ran in the words of the protocol ("seal included at entry 978");
a buyer needs one line first that says whether to rely on the report, what it is worth, and, when
it fails, what that means for them and what to ask the seller. Everything here is a pure function
of the report, the verifier's result and the error it raised: no I/O, so the CLI stays a thin
shell and the wording is tested without running it.

Failures are mapped to buyer texts in one table, :data:`FAILURES`, keyed by the check that failed
(the field the verifier's :class:`~eco_protocol.report.ReportProblem` names first) and, where the
same field can fail for different reasons, by the underlying exception class.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .encoding import JST, parse_time
from .errors import BadSignature, NoteError, ProofError, ProtocolError
from .methodology import GRAMS_PER_TONNE
from .note import ALG_COSIGNATURE_V1, parse_verifier_key, parse_witness_key

DEFAULT_ASK = ("Do not rely on its figures; ask the seller for the original report.json and its "
               "evidence directory, and check the log key you pinned.")
DEFAULT_ASK_JA = ("この数値に依拠しないでください。販売者に元の report.json と"
                  "エビデンスディレクトリを求め、固定したログ鍵を確認してください。")


@dataclass(frozen=True, slots=True)
class Failure:
    """One row of the failure table: which failures it covers and what to tell the buyer.

    ``prefixes``: the failing check's field as the verifier's message starts (``"sig:"``,
    ``"households["``); ``cause``: the exception class that must be in the error's cause chain
    for this row to apply (None: any)."""

    kind: str
    prefixes: tuple[str, ...]
    meaning: str
    ask: str
    cause: type[ProtocolError] | None = None
    contains: str = ""
    ja: tuple[str, str] = ("", "")

    def text(self, lang: str = "en") -> str:
        """``INVALID — <meaning> <ask>``, in Japanese for ``lang="ja"``."""
        if lang == "ja":
            return f"無効（INVALID）— {self.ja[0]}{self.ja[1]}"
        return f"INVALID — {self.meaning} {self.ask}"


FAILURES: tuple[Failure, ...] = (
    Failure("not_a_report", ("not a eco.batch-report", "report fields:", "report.json:"),
            "this file is not a batch report eco-verify can check (wrong file, or damaged).",
            "Ask the seller for the report.json the municipality's aggregator wrote.",
            ja=(("このファイルは eco-verify で検証できるバッチ報告書ではありま"
                 "せん（別のファイルか、破損しています）。"),
                ("自治体のアグリゲータが出力した report.json を販売者に求めて"
                 "ください。"))),
    Failure("wrong_log_key", ("log_key: the report names a different log key",),
            "this report was signed by a different log than the key you pinned: either you "
            "pinned the wrong key or the report comes from another log.",
            "Do not rely on its figures; confirm the log key with the municipality (out of band, "
            "not from the seller's files) and ask the seller which log issued the report.",
            ja=(("この報告書は、固定したログ鍵とは別のログによって署名されています。固定し"
                 "た鍵が誤っているか、報告書が別のログのものです。"),
                ("数値に依拠せず、ログ鍵を自治体に（販売者のファイルとは別の経路で）確認し"
                 "、どのログが報告書を発行したかを販売者に尋ねてください。"))),
    Failure("bad_key", ("log_key:",),
            "the log key (yours or the report's) is not a valid log verifier key, so nothing "
            "in the report could be checked.",
            "Check the --log-key you typed against the one the municipality published; if it is "
            "right, ask the seller for the original report.json.",
            ja=(("ログ鍵（指定したもの、または報告書のもの）がログ検証鍵として正しくないた"
                 "め、報告書を検証できません。"),
                ("--log-key に入力した鍵を自治体が公表した鍵と照合し、正しければ"
                 "販売者に元の report.json を求めてください。"))),
    Failure("not_witnessed", ("checkpoint:",),
            "the log's checkpoint does not carry enough signatures from the witnesses you named, "
            "so nobody independent has confirmed this state of the log.",
            "Do not rely on it yet; ask the seller for a report whose checkpoint the witnesses "
            "have cosigned, and check the --witness keys you gave.",
            NoteError, "witness signature(s)",
            ja=(("ログのチェックポイントに、指定した監視者（ウィットネス）の署名が足りませ"
                 "ん。このログの状態を独立した第三者が確認していません。"),
                ("まだ依拠せず、監視者が連署したチェックポイントを持つ報告書を販売者に求め"
                 "、指定した --witness 鍵を確認してください。"))),
    Failure("checkpoint", ("checkpoint:",),
            "the log's signed checkpoint in the report is not signed by the log key you gave, "
            "or it was changed.",
            "Do not rely on its figures; check the log key you pinned and ask the seller for the "
            "original report.json.",
            ja=(("報告書内のログの署名付きチェックポイントが、指定したログ鍵で署名されてい"
                 "ないか、改変されています。"),
                DEFAULT_ASK_JA)),
    Failure("key_chain", ("log_key_changes",),
            "the report claims the log changed its key, but the change from the key you pinned "
            "does not check out.",
            "Do not rely on it; ask the municipality to confirm its current log key out of band.",
            ja=(("報告書はログ鍵が変更されたと主張していますが、固定した鍵からの変更を確認"
                 "できません。"),
                ("依拠せず、現在のログ鍵を自治体に別経路で確認してください。"))),
    Failure("report_signature", ("sig:",),
            "this report was changed after the municipality signed it, or it was not signed by "
            "the log key you gave.",
            DEFAULT_ASK,
            ja=(("この報告書は自治体の署名後に改変されたか、指定したログ鍵で署名されていま"
                 "せん。"),
                DEFAULT_ASK_JA)),
    Failure("proof", ("seal", "previous_seals", "enrolments", "sample", "log_key_changes"),
            "a record the report relies on is not in the municipality's public log (its "
            "inclusion proof fails): the report shows something the log never recorded.",
            DEFAULT_ASK, ProofError,
            ja=(("報告書が依拠する記録が自治体の公開ログに含まれていません（包含証明が一致"
                 "しません）。ログに記録されていない内容を示しています。"),
                DEFAULT_ASK_JA)),
    Failure("double_counting", ("previous_seals", "period overlaps", "totals.carry_in_g"),
            "this batch overlaps an earlier batch, or its carry-over does not follow from the "
            "previous batch: some reductions could be credited twice.",
            "Do not rely on its figures; ask the seller for the list of earlier batches of this "
            "programme and why this one overlaps them.",
            ja=(("このバッチは以前のバッチと期間が重なっているか、繰越量が前のバッチから正"
                 "しく引き継がれていません。同じ削減量が二重に計上されるおそれがあります。"),
                ("数値に依拠せず、このプログラムの過去のバッチ一覧と、重なりの理由を販売者"
                 "に尋ねてください。"))),
    Failure("seal_mismatch", ("seal", "batch_id:", "programme:", "period:", "totals:"),
            "the report's batch, period or totals differ from what the log sealed before the "
            "report was written.",
            DEFAULT_ASK,
            ja=(("報告書のバッチ・期間・合計が、報告書の作成前にログが封印した内容と異なり"
                 "ます。"),
                DEFAULT_ASK_JA)),
    Failure("enrolment", ("enrolments",),
            "a device the report counts was not properly enrolled in the log before the batch "
            "was sealed.",
            "Ask the seller which households and devices were enrolled, and when.",
            ja=(("報告書が計上している機器が、バッチの封印前にログへ正しく登録されていませ"
                 "ん。"),
                ("どの世帯・機器がいつ登録されたかを販売者に尋ねてください。"))),
    Failure("not_certifiable", ("methodology:", "demonstration:"),
            "the report's emission factors or programme rules are not fit for certification "
            "(unpublished or illustrative factors, or a demonstration programme not labelled as "
            "one).",
            "Do not buy these as J-Credits; ask the seller for a report under published, dated "
            "emission factors.",
            ja=(("報告書の排出係数またはプログラム規則が認証に適していません（未公表または"
                 "例示の係数、あるいはデモと明記されていないデモプログラム）。"),
                ("J-クレジットとして購入せず、公表日付きの排出係数による報告書を販売者に"
                 "求めてください。"))),
    Failure("arithmetic", ("households[", "totals.reduction_g", "exclusions:"),
            "the reductions do not add up when recomputed from the report's own energy figures "
            "and methodology: the tonnes claimed are not the tonnes shown.",
            "Do not rely on its figures; ask the seller for a corrected report and its evidence "
            "directory.",
            ja=(("報告書自身のエネルギー値と方法論から再計算すると削減量が合いません。主張"
                 "されているトン数は示された内容と一致しません。"),
                ("数値に依拠せず、訂正した報告書とエビデンスディレクトリを販売者に求めてく"
                 "ださい。"))),
    Failure("sample", ("sample",),
            "the sampled meter readings do not back the report: missing, not signed by the "
            "enrolled meters, outside the period, or not the sample drawn for this batch.",
            "Ask the seller for the evidence directory and run eco-verify with --evidence.",
            ja=(("抽出されたメーター読み取り値が報告書を裏付けていません（欠落、登録メータ"
                 "ーの署名なし、期間外、またはこのバッチで抽出されたサンプルではありません"
                 "）。"),
                ("エビデンスディレクトリを販売者に求め、--evidence を付けて e"
                 "co-verify を実行してください。"))),
    Failure("evidence", ("evidence:",),
            "the full evidence (every meter reading) does not reproduce the report.",
            "Do not rely on its figures; ask the seller for the evidence directory that belongs "
            "to this report, and why it differs.",
            ja=(("完全なエビデンス（全メーター読み取り値）から報告書を再現できません。"),
                ("数値に依拠せず、この報告書に対応するエビデンスディレクトリと、相違の理由"
                 "を販売者に求めてください。"))),
    Failure("table", ("results.csv", "households.csv"),
            "a table beside the report was edited or belongs to another report; the signed "
            "report.json itself may still be valid.",
            "Use the figures of report.json, not the CSV, or ask the seller for the original "
            "tables.",
            ja=(("報告書の横にある表が編集されたか、別の報告書のものです。署名された re"
                 "port.json 自体は有効な可能性があります。"),
                ("CSV ではなく report.json の数値を使うか、元の表を販売者"
                 "に求めてください。"))),
)
OTHER = Failure("other", (), "a check of the report failed (details below).", DEFAULT_ASK,
                ja=("報告書の検査に失敗しました（詳細は下記）。", DEFAULT_ASK_JA))
LANGS = ("en", "ja")


def _causes(err: BaseException) -> list[BaseException]:
    chain: list[BaseException] = []
    e: BaseException | None = err
    while e is not None and e not in chain:
        chain.append(e)
        e = e.__cause__
    return chain


def classify(err: ProtocolError | str) -> Failure:
    """The first row of :data:`FAILURES` that matches the failed check (its message's leading
    field name) and, when the row requires one, the exception class underneath it."""
    message = str(err)
    causes = _causes(err) if isinstance(err, BaseException) else []
    for row in FAILURES:
        if not any(p and message.startswith(p) for p in row.prefixes):
            continue
        if row.cause is not None and not any(isinstance(c, row.cause) for c in causes):
            continue
        if row.contains and row.contains not in message:
            continue
        return row
    if any(isinstance(c, BadSignature) for c in causes):
        return failure("report_signature")
    return OTHER


def invalid_verdict(err: ProtocolError | str, lang: str = "en") -> str:
    """``INVALID — <what it means for the buyer>. <what to ask the seller>``."""
    return classify(err).text(lang)


def failure(kind: str) -> Failure:
    """The table's row for ``kind``, for failures the CLI finds itself (unreadable report,
    edited CSV table)."""
    return next(r for r in FAILURES if r.kind == kind)


def witness_key_instead_of_log_key(vkey: str, lang: str = "en") -> str | None:
    """When ``vkey`` (given as ``--log-key``) is a witness's cosignature key, the plain verdict
    saying so; None otherwise. A witness key (signature type 0x04, c2sp.org/tlog-cosignature)
    can never be the log's note key (type 0x01), and "unknown algorithm" does not tell a buyer
    that they swapped two of the keys they were given."""
    try:
        parse_verifier_key(vkey)
        return None
    except NoteError:
        pass
    try:
        w = parse_witness_key(vkey)
    except NoteError:
        return None
    raw = base64.b64decode(vkey.strip().split("+", 2)[2])
    if raw[0] != ALG_COSIGNATURE_V1:
        return None
    if lang == "ja":
        return (f"無効（INVALID）— --log-key に指定した鍵は監視者の鍵（{w.name}、鍵ID "
                f"{w.key_id:08x}、cosignature/v1）で、ログの鍵ではありません。--witness で"
                "指定し、自治体のログ鍵（チェックポイントの署名鍵）を --log-key に指定して"
                "ください。")
    return (f"INVALID — the --log-key you gave is a witness key ({w.name}, key id "
            f"{w.key_id:08x}, cosignature/v1), not the log's key: pass it with --witness, and "
            "pass the municipality's log key (the one its checkpoints are signed with) as "
            "--log-key.")


def period_jst(start: str, end: str) -> str:
    """``2026-11-22 00:00 → 2026-11-23 00:00 JST``: the half-open period as people in Japan
    read it (the report stores UTC)."""
    a = parse_time(start, "period.start").astimezone(JST)
    b = parse_time(end, "period.end").astimezone(JST)
    return f"{a:%Y-%m-%d %H:%M} → {b:%Y-%m-%d %H:%M} JST"


def mass(g: int) -> str:
    """Grams of CO2 as a buyer reads them: tonnes from 1 t, kilograms below."""
    if abs(g) >= GRAMS_PER_TONNE:
        return f"{g / GRAMS_PER_TONNE:.3f} t-CO2"
    return f"{g / 1000:.1f} kg-CO2"


def _sealed_methodology(report: Mapping[str, Any]) -> str | None:
    """The batch's methodology (``pv``/``ev``) as the log sealed it; called only after the
    report verified, so the seal entry is the log's."""
    try:
        seal = json.loads(base64.b64decode(report["seal"]["entry_b64"]))
        m = seal.get("methodology")
        return str(m) if m is not None else None
    except (KeyError, TypeError, ValueError):
        return None


def valid_verdict(report: Mapping[str, Any], households: int, witnesses: Sequence[str],
                  demonstration: bool, lang: str = "en") -> str:
    """The one-line verdict of a report that passed every check: what it is worth, whose it is,
    and the carry-over on the same line, so "0 J-Credits" never reads as a failure."""
    totals = report["totals"]
    reduction, credits_t = int(totals["reduction_g"]), int(totals["credits_t"])
    carry_in, carry_over = int(totals["carry_in_g"]), int(totals["carry_over_g"])
    origin, kid = (str(report["log_key"]).strip().split("+") + ["", ""])[:2]
    meth = report["methodology"]
    sealed = _sealed_methodology(report)
    method = (f"{sealed} " if sealed else "") + f"({meth.get('id')} {meth.get('version')})"
    period = period_jst(report["period"]["start"], report["period"]["end"])
    names = ", ".join(witnesses)
    if lang == "ja":
        witnessed = (f"監視者 {len(witnesses)} 者が連署（{names}）" if witnesses
                     else "監視者の連署なし（--witness 未指定、または署名なし）")
        carried = (f"{mass(carry_over)} を次のバッチへ繰越" if carry_over >= 0
                   else f"{mass(-carry_over)} の不足を次のバッチへ繰越")
        came_in = f"（前のバッチからの繰越 {mass(carry_in)} を含む）" if carry_in else ""
        line = (f"有効（VALID）— {households} 世帯による {mass(reduction)} の削減、バッチ "
                f"{report['batch_id']}、期間 {period}、方法論 {method}、プログラム "
                f"{report['programme']}、署名 {origin}（鍵ID {kid}）、{witnessed}；"
                f"J-クレジット {credits_t} 件（{credits_t} t-CO2）{came_in}、{carried}")
        if demonstration:
            line += ("；デモプログラム：例示の係数で認証用ではありません — "
                     "J-クレジットとして購入しないでください")
        return line
    witnessed = (f"witnessed by {len(witnesses)} witness{'es' if len(witnesses) != 1 else ''} "
                 f"({names})" if witnesses
                 else "not witnessed (no --witness key given or none signed)")
    credits = f"{credits_t} whole J-Credit{'s' if credits_t != 1 else ''} ({credits_t} t-CO2)"
    carried = (f"{mass(carry_over)} carried to the next batch" if carry_over >= 0
               else f"a deficit of {mass(-carry_over)} carried to the next batch")
    came_in = f", with {mass(carry_in)} carried in from the previous batch" if carry_in else ""
    line = (f"VALID — {mass(reduction)} reduced by {households} "
            f"household{'s' if households != 1 else ''}, batch {report['batch_id']}, period "
            f"{period}, methodology {method}, programme {report['programme']}, signed by "
            f"{origin} (key id {kid}), {witnessed}; {credits}{came_in}, {carried}")
    if demonstration:
        line += ("; DEMONSTRATION programme: illustrative factors, not for certification — do "
                 "not buy these as J-Credits")
    return line


__all__ = ["FAILURES", "Failure", "classify", "invalid_verdict", "mass", "period_jst",
           "valid_verdict", "witness_key_instead_of_log_key", "failure", "LANGS"]
