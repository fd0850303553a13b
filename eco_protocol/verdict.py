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
from .messages import LANGS as MESSAGE_LANGS
from .messages import Msg, msg
from .messages import text as message_text
from .methodology import GRAMS_PER_TONNE
from .note import ALG_COSIGNATURE_V1, parse_verifier_key, parse_witness_key


@dataclass(frozen=True, slots=True)
class Failure:
    """One row of the failure table: which failures it covers and what to tell the buyer.

    ``prefixes``: the failing check's field as the verifier's message starts (``"sig:"``,
    ``"households["``); ``cause``: the exception class that must be in the error's cause chain
    for this row to apply (None: any)."""

    kind: str
    prefixes: tuple[str, ...]
    cause: type[ProtocolError] | None = None
    contains: str = ""

    @property
    def meaning(self) -> str:
        """What the failure means for the buyer (English; the catalog has both languages)."""
        return message_text(f"eco_protocol.verdict.{self.kind}.meaning")

    @property
    def ask(self) -> str:
        """What to ask the seller (English)."""
        return message_text(f"eco_protocol.verdict.{self.kind}.ask")

    def text(self, lang: str = "en") -> str:
        """``INVALID — <meaning> <ask>``, in Japanese for ``lang="ja"``."""
        return message_text("eco_protocol.verdict.invalid", lang,
                    meaning=Msg(f"eco_protocol.verdict.{self.kind}.meaning"),
                    ask=Msg(f"eco_protocol.verdict.{self.kind}.ask"))


# which check failed → which row of the catalog's buyer texts (eco_protocol.verdict.<kind>.*)
FAILURES: tuple[Failure, ...] = (
    Failure("not_a_report", ("not a eco.batch-report", "report fields:", "report.json:")),
    Failure("wrong_log_key", ("log_key: the report names a different log key",)),
    Failure("bad_key", ("log_key:",)),
    Failure("not_witnessed", ("checkpoint:",), NoteError, "witness signature(s)"),
    Failure("checkpoint", ("checkpoint:",)),
    Failure("key_chain", ("log_key_changes",)),
    Failure("report_signature", ("sig:",)),
    Failure("proof", ("seal", "previous_seals", "enrolments", "sample", "log_key_changes"),
            ProofError),
    Failure("double_counting", ("previous_seals", "period overlaps", "totals.carry_in_g")),
    Failure("seal_mismatch", ("seal", "batch_id:", "programme:", "period:", "totals:")),
    Failure("enrolment", ("enrolments",)),
    Failure("not_certifiable", ("methodology:", "demonstration:")),
    Failure("arithmetic", ("households[", "totals.reduction_g", "exclusions:")),
    Failure("sample", ("sample",)),
    Failure("evidence", ("evidence:",)),
    Failure("table", ("results.csv", "households.csv")),
)
OTHER = Failure("other", ())
LANGS = MESSAGE_LANGS


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
    return message_text("eco_protocol.verdict.witness_key", lang, name=w.name,
                        key_id=f"{w.key_id:08x}")


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
    n = len(witnesses)
    witnessed = (msg("eco_protocol.verdict.witnessed_one" if n == 1
                     else "eco_protocol.verdict.witnessed_many", n=n, names=", ".join(witnesses))
                 if witnesses else msg("eco_protocol.verdict.not_witnessed"))
    line = message_text(
        "eco_protocol.verdict.valid", lang, mass=mass(reduction),
        households=msg("eco_protocol.verdict.households_one" if households == 1
                       else "eco_protocol.verdict.households_many", n=households),
        batch=report["batch_id"], period=period, method=method, programme=report["programme"],
        origin=origin, kid=kid, witnessed=witnessed,
        credits=msg("eco_protocol.verdict.credits_one" if credits_t == 1
                    else "eco_protocol.verdict.credits_many", n=credits_t),
        came_in=msg("eco_protocol.verdict.came_in", mass=mass(carry_in)) if carry_in else "",
        carried=msg("eco_protocol.verdict.carried", mass=mass(carry_over)) if carry_over >= 0
        else msg("eco_protocol.verdict.deficit", mass=mass(-carry_over)))
    if demonstration:
        line += message_text("eco_protocol.verdict.demonstration", lang)
    return line


__all__ = ["FAILURES", "Failure", "classify", "invalid_verdict", "mass", "period_jst",
           "valid_verdict", "witness_key_instead_of_log_key", "failure", "LANGS", "OTHER"]
