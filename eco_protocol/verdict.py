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
from datetime import datetime, timedelta, timezone
from typing import Any

from .errors import BadSignature, NoteError, ProofError, ProtocolError
from .note import ALG_COSIGNATURE_V1, parse_verifier_key, parse_witness_key

JST = timezone(timedelta(hours=9), "JST")
GRAMS_PER_TONNE = 1_000_000
DEFAULT_ASK = ("Do not rely on its figures; ask the seller for the original report.json and its "
               "evidence directory, and check the log key you pinned.")


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


FAILURES: tuple[Failure, ...] = (
    Failure("not_a_report", ("not a eco.batch-report", "report fields:", "report.json:"),
            "this file is not a batch report eco-verify can check (wrong file, or damaged).",
            "Ask the seller for the report.json the municipality's aggregator wrote."),
    Failure("wrong_log_key", ("log_key: the report names a different log key",),
            "this report was signed by a different log than the key you pinned: either you "
            "pinned the wrong key or the report comes from another log.",
            "Do not rely on its figures; confirm the log key with the municipality (out of band, "
            "not from the seller's files) and ask the seller which log issued the report."),
    Failure("bad_key", ("log_key:",),
            "the log key (yours or the report's) is not a valid log verifier key, so nothing "
            "in the report could be checked.",
            "Check the --log-key you typed against the one the municipality published; if it is "
            "right, ask the seller for the original report.json."),
    Failure("not_witnessed", ("checkpoint:",),
            "the log's checkpoint does not carry enough signatures from the witnesses you named, "
            "so nobody independent has confirmed this state of the log.",
            "Do not rely on it yet; ask the seller for a report whose checkpoint the witnesses "
            "have cosigned, and check the --witness keys you gave.",
            NoteError, "witness signature(s)"),
    Failure("checkpoint", ("checkpoint:",),
            "the log's signed checkpoint in the report is not signed by the log key you gave, "
            "or it was changed.",
            "Do not rely on its figures; check the log key you pinned and ask the seller for the "
            "original report.json."),
    Failure("key_chain", ("log_key_changes",),
            "the report claims the log changed its key, but the change from the key you pinned "
            "does not check out.",
            "Do not rely on it; ask the municipality to confirm its current log key out of band."),
    Failure("report_signature", ("sig:",),
            "this report was changed after the municipality signed it, or it was not signed by "
            "the log key you gave.",
            DEFAULT_ASK),
    Failure("proof", ("seal", "previous_seals", "enrolments", "sample", "log_key_changes"),
            "a record the report relies on is not in the municipality's public log (its "
            "inclusion proof fails): the report shows something the log never recorded.",
            DEFAULT_ASK, ProofError),
    Failure("double_counting", ("previous_seals", "period overlaps", "totals.carry_in_g"),
            "this batch overlaps an earlier batch, or its carry-over does not follow from the "
            "previous batch: some reductions could be credited twice.",
            "Do not rely on its figures; ask the seller for the list of earlier batches of this "
            "programme and why this one overlaps them."),
    Failure("seal_mismatch", ("seal", "batch_id:", "programme:", "period:", "totals:"),
            "the report's batch, period or totals differ from what the log sealed before the "
            "report was written.",
            DEFAULT_ASK),
    Failure("enrolment", ("enrolments",),
            "a device the report counts was not properly enrolled in the log before the batch "
            "was sealed.",
            "Ask the seller which households and devices were enrolled, and when."),
    Failure("not_certifiable", ("methodology:", "demonstration:"),
            "the report's emission factors or programme rules are not fit for certification "
            "(unpublished or illustrative factors, or a demonstration programme not labelled as "
            "one).",
            "Do not buy these as J-Credits; ask the seller for a report under published, dated "
            "emission factors."),
    Failure("arithmetic", ("households[", "totals.reduction_g", "exclusions:"),
            "the reductions do not add up when recomputed from the report's own energy figures "
            "and methodology: the tonnes claimed are not the tonnes shown.",
            "Do not rely on its figures; ask the seller for a corrected report and its evidence "
            "directory."),
    Failure("sample", ("sample",),
            "the sampled meter readings do not back the report: missing, not signed by the "
            "enrolled meters, outside the period, or not the sample drawn for this batch.",
            "Ask the seller for the evidence directory and run eco-verify with --evidence."),
    Failure("evidence", ("evidence:",),
            "the full evidence (every meter reading) does not reproduce the report.",
            "Do not rely on its figures; ask the seller for the evidence directory that belongs "
            "to this report, and why it differs."),
    Failure("table", ("results.csv", "households.csv"),
            "a table beside the report was edited or belongs to another report; the signed "
            "report.json itself may still be valid.",
            "Use the figures of report.json, not the CSV, or ask the seller for the original "
            "tables."),
)
OTHER = Failure("other", (), "a check of the report failed (details below).", DEFAULT_ASK)


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


def invalid_verdict(err: ProtocolError | str) -> str:
    """``INVALID — <what it means for the buyer>. <what to ask the seller>``."""
    return failure_text(classify(err))


def failure_text(row: Failure) -> str:
    return f"INVALID — {row.meaning} {row.ask}"


def failure(kind: str) -> Failure:
    """The table's row for ``kind``, for failures the CLI finds itself (unreadable report,
    edited CSV table)."""
    return next(r for r in FAILURES if r.kind == kind)


def witness_key_instead_of_log_key(vkey: str) -> str | None:
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
    return (f"INVALID — the --log-key you gave is a witness key ({w.name}, key id "
            f"{w.key_id:08x}, cosignature/v1), not the log's key: pass it with --witness, and "
            "pass the municipality's log key (the one its checkpoints are signed with) as "
            "--log-key.")


def _jst(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00")).astimezone(JST)


def period_jst(start: str, end: str) -> str:
    """``2026-11-22 00:00 → 2026-11-23 00:00 JST``: the half-open period as people in Japan
    read it (the report stores UTC)."""
    a, b = _jst(start), _jst(end)
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
                  demonstration: bool) -> str:
    """The one-line verdict of a report that passed every check: what it is worth, whose it is,
    and the carry-over on the same line, so "0 J-Credits" never reads as a failure."""
    totals = report["totals"]
    credits_t, carry_in, carry_over = (int(totals["credits_t"]), int(totals["carry_in_g"]),
                                       int(totals["carry_over_g"]))
    origin, kid = (str(report["log_key"]).strip().split("+") + ["", ""])[:2]
    meth = report["methodology"]
    sealed = _sealed_methodology(report)
    method = f"{sealed} " if sealed else ""
    method += f"({meth.get('id')} {meth.get('version')})"
    witnessed = (f"witnessed by {len(witnesses)} witness{'es' if len(witnesses) != 1 else ''} "
                 f"({', '.join(witnesses)})" if witnesses
                 else "not witnessed (no --witness key given or none signed)")
    credits = f"{credits_t} whole J-Credit{'s' if credits_t != 1 else ''} ({credits_t} t-CO2)"
    if carry_over >= 0:
        carried = f"{mass(carry_over)} carried to the next batch"
    else:
        carried = f"a deficit of {mass(-carry_over)} carried to the next batch"
    came_in = f", with {mass(carry_in)} carried in from the previous batch" if carry_in else ""
    line = (f"VALID — {mass(int(totals['reduction_g']))} reduced by {households} "
            f"household{'s' if households != 1 else ''}, batch {report['batch_id']}, period "
            f"{period_jst(report['period']['start'], report['period']['end'])}, methodology "
            f"{method}, programme {report['programme']}, signed by {origin} (key id {kid}), "
            f"{witnessed}; {credits}{came_in}, {carried}")
    if demonstration:
        line += ("; DEMONSTRATION programme: illustrative factors, not for certification — do "
                 "not buy these as J-Credits")
    return line


__all__ = ["FAILURES", "Failure", "classify", "invalid_verdict", "mass", "period_jst",
           "valid_verdict", "witness_key_instead_of_log_key", "failure", "failure_text"]
