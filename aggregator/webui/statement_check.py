"""The shop's verdict on a resident's points statement (issue 20), from the credentials a QR code
holds (:mod:`.credential_qr`) and the town's cached DID document and status list
(:mod:`.town_cache`) — offline, through :func:`eco_protocol.credentials.check_credential`.

The first credential must be a points statement issued by the shop's own town. The ones after
it are the household's enrolment credentials: each must be the town's, about the same
household, and not revoked in the status list — the statement has no status of its own, so a
revoked enrolment is how a statement from a revoked household or device is refused. A bare
statement (a downloaded file) is checked too; the verdict then says revocation was not
checked. The verdict's ``reason`` is a catalogue key's last part (``check.reason.*``); the
checker's English detail is for the log only. Pure: no I/O, ``now`` is given.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from eco_protocol.credentials import (
    ENROLMENT_TYPE,
    KINDS,
    POINTS_TYPE,
    CredentialVerdict,
    check_credential,
)
from eco_protocol.errors import CredentialError


class Outcome(StrEnum):
    VALID = "valid"
    REVOKED = "revoked"
    INVALID = "invalid"


@dataclass(frozen=True, slots=True)
class StatementCheck:
    """What the shop is shown: the outcome, why (for REVOKED / INVALID), and what a valid
    statement says: household pseudonym, balance, as of, the checkpoint (origin and size), how
    many days of history it discloses (None: none), and how many enrolment credentials were
    checked for revocation (0: none came with it); ``issued_at`` is the proof's ``created``."""

    outcome: Outcome
    reason: str = ""
    detail: str = ""
    household: str = ""
    balance: int = 0
    as_of: str = ""
    checkpoint_origin: str = ""
    checkpoint_size: int = 0
    history_days: int | None = None
    enrolments: int = 0
    issued_at: str = ""


def _invalid(reason: str, detail: str) -> StatementCheck:
    return StatementCheck(Outcome.INVALID, reason, detail)


def _statement(credentials: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    first = credentials[0] if credentials else None
    types = first.get("type") if isinstance(first, Mapping) else None
    return first if isinstance(types, list) and POINTS_TYPE in types else None


def _subject_of(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    return subject if isinstance(subject, Mapping) else {}


def _enrolment_outcome(credential: Mapping[str, Any], household: str, town: str,
                       did_documents: Mapping[str, Mapping[str, Any]],
                       status_lists: Mapping[str, Mapping[str, Any]],
                       now: str) -> StatementCheck | None:
    """None when this enrolment credential is the town's, the household's and not revoked."""
    status = credential.get("credentialStatus")
    url = status.get("statusListCredential") if isinstance(status, Mapping) else None
    if isinstance(url, str) and url not in status_lists:
        return _invalid("no_status", f"no cached copy of the status list {url}")
    try:
        verdict: CredentialVerdict = check_credential(credential, did_documents, status_lists,
                                                      now)
    except CredentialError as e:
        return _invalid("enrolment", f"enrolment credential: {e}")
    if verdict.kind != KINDS[ENROLMENT_TYPE] or verdict.issuer != town:
        return _invalid("enrolment", f"a {verdict.kind} of {verdict.issuer} came with the "
                                     "statement, not the town's enrolment credential")
    if verdict.subject != household:
        return _invalid("enrolment", f"an enrolment credential of {verdict.subject} came with "
                                     f"the statement of {household}")
    if verdict.revoked:
        return StatementCheck(Outcome.REVOKED, "revoked", "; ".join(verdict.summary),
                              household)
    return None


def check_statement(credentials: Sequence[Mapping[str, Any]], town: str,
                    did_documents: Mapping[str, Mapping[str, Any]],
                    status_lists: Mapping[str, Mapping[str, Any]],
                    now: str) -> StatementCheck:
    """The verdict on a statement and its enrolment credentials, issued by ``town`` (a DID)."""
    statement = _statement(credentials)
    if statement is None:
        return _invalid("not_statement", "the first credential is not a points statement")
    issuer = statement.get("issuer")
    if issuer != town:
        return _invalid("other_town", f"issued by {issuer!r}, not by {town}")
    if town not in did_documents:
        return _invalid("no_keys", f"no cached DID document of {town}")
    try:
        verdict = check_credential(statement, did_documents, status_lists, now)
    except CredentialError as e:
        return _invalid("signature", str(e))
    household = verdict.subject
    for credential in credentials[1:]:
        found = _enrolment_outcome(credential, household, town, did_documents, status_lists,
                                   now)
        if found is not None:
            return found
    s = _subject_of(statement)
    found_cp = s.get("checkpoint")
    cp: Mapping[str, Any] = found_cp if isinstance(found_cp, Mapping) else {}
    size, history = cp.get("size"), s.get("history")
    created = statement["proof"].get("created")
    return StatementCheck(Outcome.VALID, household=household, balance=int(s["balance"]),
                          as_of=str(s["asOf"]), checkpoint_origin=str(cp.get("origin", "")),
                          checkpoint_size=size if type(size) is int else 0,
                          history_days=len(history) if isinstance(history, list) else None,
                          enrolments=len(credentials) - 1,
                          issued_at=created if isinstance(created, str) else "")


__all__ = ["Outcome", "StatementCheck", "check_statement"]
