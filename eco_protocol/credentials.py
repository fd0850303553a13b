"""The credentials people carry (W3C Verifiable Credentials Data Model 2.0) and their offline check.

Three kinds, each an unsigned credential built here and signed with an ``eddsa-jcs-2022`` proof
(:mod:`eco_protocol.data_integrity`) by the municipality's ``did:web`` log key:

- an **eco-points statement**: a household pseudonym's balance at a time, and the log checkpoint
  it was computed at; the history only when the resident asks for it;
- a **batch summary** for buyers: batch id, programme, methodology, period, totals and the
  checkpoint of a ``report.json``, with the SHA-256 of that report's canonical bytes;
- an **enrolment credential**: which device (as a ``did:key``) was enrolled for which household
  pseudonym in which programme, when, and by whom — revocable through a W3C Bitstring Status
  List (:func:`status_list_credential`).

Credentials carry pseudonyms, never names: :func:`check_credential` refuses one that has a name
field anywhere. Contexts are named by URL only and never fetched (eddsa-jcs-2022 signs them as
strings), so the check needs nothing but the credential, the issuer's cached DID document and,
for a revocable credential, the issuer's status list. Pure: no I/O, no clock (``now`` is given).
"""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Final

from .canonical import canonical_bytes
from .certificate_credential import CERTIFICATE_TYPE, certificate_lines
from .data_integrity import proof_of, verify_proof
from .did import (
    DID_KEY_PREFIX,
    DID_WEB_PREFIX,
    ECO_VOCAB_CONTEXT,
    did_key,
    did_web_url,
    resolve_method,
)
from .encoding import b64encode, parse_time
from .errors import CredentialError, MalformedRecord, NoteError
from .messages import Msg, msg, said
from .messages_rules import quantity_name
from .multibase import decode_base64url, encode_base64url
from .note import Checkpoint
from .records import Enrolment
from .timestamps import parse_datetime

VC_V2_CONTEXT: Final = "https://www.w3.org/ns/credentials/v2"
ECO_CONTEXT: Final = ECO_VOCAB_CONTEXT  # one vocabulary URL for the project's terms
POINTS_TYPE: Final = "EcoPointsStatement"
SUMMARY_TYPE: Final = "EcoBatchSummary"
ENROLMENT_TYPE: Final = "EcoEnrolmentCredential"
STATUS_LIST_TYPE: Final = "BitstringStatusListCredential"
STATUS_ENTRY_TYPE: Final = "BitstringStatusListEntry"
KINDS: Final = {POINTS_TYPE: "points statement", SUMMARY_TYPE: "batch summary",
                ENROLMENT_TYPE: "enrolment", STATUS_LIST_TYPE: "status list",
                CERTIFICATE_TYPE: "certificate bundle"}
MIN_STATUS_BITS: Final = 131072  # Bitstring Status List v1.0: at least 16 KB, for herd privacy
MAX_STATUS_BYTES: Final = 16 * 1024 * 1024  # a larger decompressed list is refused (gzip bomb)
# a checker's clock may lag the issuer's: a credential or status list signed just now (by a
# clock up to this far ahead) is not "from the future"; expiry gets no such grace
CLOCK_SKEW: Final = timedelta(minutes=5)
# keys that would carry a person's name; a credential with one anywhere is refused
NAME_FIELDS: Final = frozenset({"name", "givenName", "familyName", "additionalName", "fullName",
                                "householdName", "household_name", "residentName",
                                "resident_name", "holderName"})
_INDEX_RE: Final = re.compile(r"0|[1-9][0-9]{0,15}")


@dataclass(frozen=True, slots=True)
class CredentialVerdict:
    """What an offline check found: the kind, who issued it, whom it is about, what it says."""

    kind: str
    issuer: str
    subject: str
    summary: tuple[str, ...]
    revoked: bool
    checks: tuple[str, ...] = ()


# --- building --------------------------------------------------------------------------------


def _time(text: object, what: str) -> str:
    try:
        parse_time(text, what)
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.as_is", error=e) from e
    return text  # type: ignore[return-value]


def _pseudonym(value: object, what: str) -> str:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        raise CredentialError.coded("eco_protocol.finding.vc.pseudonym", what=what)
    return value


def _credential(issuer: str, kind: str, subject: dict[str, Any], valid_from: str | None,
                valid_until: str | None = None) -> dict[str, Any]:
    if not isinstance(issuer, str) or not issuer.startswith(("did:", "https:")):
        raise CredentialError.coded("eco_protocol.finding.vc.issuer_id", issuer=repr(issuer))
    cred: dict[str, Any] = {"@context": [VC_V2_CONTEXT, ECO_CONTEXT],
                            "type": ["VerifiableCredential", kind], "issuer": issuer}
    if valid_from is not None:
        cred["validFrom"] = _time(valid_from, "validFrom")
    if valid_until is not None:
        cred["validUntil"] = _time(valid_until, "validUntil")
    cred["credentialSubject"] = subject
    _refuse_names(cred, "credential")
    try:
        canonical_bytes(cred)
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.field", field=kind, error=e) from e
    return cred


def points_statement(issuer: str, subject: str, balance: int, as_of: str,
                     checkpoint: Mapping[str, Any],
                     history: Sequence[Mapping[str, Any]] | None = None,
                     valid_until: str | None = None) -> dict[str, Any]:
    """A household's eco-points balance at ``as_of``, computed at the log ``checkpoint``.

    The history (each entry as the caller gives it) is included only when passed: by default a
    statement discloses the balance and nothing else (issue 20, privacy)."""
    if type(balance) is not int:
        raise CredentialError.coded("eco_protocol.finding.vc.balance", value=repr(balance))
    body: dict[str, Any] = {"type": "EcoHousehold",
                            "household": _pseudonym(subject, "credentialSubject.household"),
                            "balance": balance, "asOf": _time(as_of, "asOf"),
                            "checkpoint": dict(checkpoint)}
    if history is not None:
        body["history"] = [dict(h) for h in history]
    return _credential(issuer, POINTS_TYPE, body, as_of, valid_until)


def _report_checkpoint(signed_note: object) -> dict[str, Any]:
    if not isinstance(signed_note, str) or "\n\n" not in signed_note:
        raise CredentialError.coded("eco_protocol.finding.vc.report_checkpoint")
    try:
        cp = Checkpoint.from_text(signed_note.split("\n\n", 1)[0] + "\n")
    except NoteError as e:
        raise CredentialError.coded("eco_protocol.finding.field",
                                    field="report.checkpoint", error=e) from e
    return {"origin": cp.origin, "size": cp.size, "rootHash": b64encode(cp.root_hash)}


def report_summary(issuer: str, report: Mapping[str, Any]) -> dict[str, Any]:
    """The buyer's summary of a batch report (``report.json``, docs/protocol.md §5): what it
    covers and totals, the checkpoint it was proved at, and the SHA-256 of its canonical bytes
    so the summary names exactly one report."""
    try:
        method = report["methodology"]
        body: dict[str, Any] = {
            "type": "EcoBatch", "batchId": report["batch_id"], "programme": report["programme"],
            "methodology": {"id": method["id"], "version": method["version"]},
            "period": {"start": _time(report["period"]["start"], "period.start"),
                       "end": _time(report["period"]["end"], "period.end")},
            "households": len(report["households"]),
            "totals": dict(report["totals"]),
            "checkpoint": _report_checkpoint(report["checkpoint"]),
            "logKey": report["log_key"],
            "reportSha256": hashlib.sha256(canonical_bytes(dict(report))).hexdigest(),
        }
    except (KeyError, TypeError) as e:
        raise CredentialError.coded("eco_protocol.finding.vc.not_report", error=str(e)) from e
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.field", field="report", error=e) from e
    if report.get("demonstration") is True:
        body["demonstration"] = True
    return _credential(issuer, SUMMARY_TYPE, body, report["period"]["end"])


def certificate_bundle_credential(issuer: str, subject: dict[str, Any],
                                  as_of: str) -> dict[str, Any]:
    """A certificate bundle and who holds it at a checkpoint signed at ``as_of`` (the subject
    from :func:`eco_protocol.certificate_credential.certificate_subject`)."""
    return _credential(issuer, CERTIFICATE_TYPE, subject, as_of)


def status_entry(status_list_url: str, status_index: int) -> dict[str, Any]:
    """A ``BitstringStatusListEntry`` for revocation at ``status_index`` of the list."""
    if type(status_index) is not int or not 0 <= status_index < MIN_STATUS_BITS * 64:
        raise CredentialError.coded("eco_protocol.finding.vc.index_int", index=repr(status_index))
    return {"id": f"{status_list_url}#{status_index}", "type": STATUS_ENTRY_TYPE,
            "statusPurpose": "revocation", "statusListIndex": str(status_index),
            "statusListCredential": status_list_url}


def enrolment_credential(issuer: str, enrolment: Mapping[str, Any], status_list_url: str,
                         status_index: int) -> dict[str, Any]:
    """A household's enrolment (an ``eco.enrol/v1`` record's dict): the device as a ``did:key``,
    its meters, the programme, when and by whom; revocable at ``status_index``."""
    try:
        record = Enrolment.from_dict(dict(enrolment))
    except MalformedRecord as e:
        raise CredentialError.coded("eco_protocol.finding.field", field="enrolment", error=e) from e
    body: dict[str, Any] = {
        "type": "EcoEnrolment", "household": record.household, "programme": record.programme,
        "device": did_key(record.public_key_raw), "deviceId": record.device_id,
        "meters": [{"id": m.id, "quantity": str(m.quantity), "ratedW": m.rated_w}
                   for m in record.meters],
        "enrolledAt": record.enrolled_at, "enrolledBy": issuer,
    }
    cred = _credential(issuer, ENROLMENT_TYPE, body, record.enrolled_at)
    cred["credentialStatus"] = status_entry(status_list_url, status_index)
    return cred


def status_list_credential(issuer: str, url: str, revoked: Iterable[int],
                           length: int = MIN_STATUS_BITS,
                           valid_from: str | None = None) -> dict[str, Any]:
    """A W3C Bitstring Status List v1.0 credential: bit *i* (the most significant bit of byte
    *i*/8 first) is 1 when entry *i* is revoked; GZIP, then multibase base64url (``u…``).

    GZIP at zlib's default level with no timestamp, so an empty list of 131,072 entries is
    byte for byte the specification's example ``encodedList``, and a list is a pure function of
    its revoked entries."""
    if length < MIN_STATUS_BITS or length % 8:
        raise CredentialError.coded("eco_protocol.finding.vc.list_length",
                                    length=length, min=MIN_STATUS_BITS)
    bits = bytearray(length // 8)
    for i in revoked:
        if type(i) is not int or not 0 <= i < length:
            raise CredentialError.coded("eco_protocol.finding.vc.revoked_outside",
                                        index=repr(i), length=length)
        bits[i // 8] |= 0x80 >> (i % 8)
    encoded = encode_base64url(gzip.compress(bytes(bits), compresslevel=6, mtime=0))
    cred: dict[str, Any] = {"@context": [VC_V2_CONTEXT], "id": url,
                            "type": ["VerifiableCredential", STATUS_LIST_TYPE], "issuer": issuer}
    if valid_from is not None:
        cred["validFrom"] = _time(valid_from, "validFrom")
    cred["credentialSubject"] = {"id": f"{url}#list", "type": "BitstringStatusList",
                                 "statusPurpose": "revocation", "encodedList": encoded}
    return cred


def _status_bits(status_list: Mapping[str, Any]) -> bytes:
    subject = status_list.get("credentialSubject")
    if not isinstance(subject, Mapping) or subject.get("type") != "BitstringStatusList":
        raise CredentialError.coded("eco_protocol.finding.vc.not_status_list")
    packed = decode_base64url(subject.get("encodedList"), "status list encodedList")
    try:
        inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)  # gzip framing
        bits = inflater.decompress(packed, MAX_STATUS_BYTES)
        if inflater.unconsumed_tail or not inflater.eof:
            raise CredentialError.coded("eco_protocol.finding.vc.list_size", max=MAX_STATUS_BYTES)
    except zlib.error as e:
        raise CredentialError.coded("eco_protocol.finding.vc.list_gzip", error=str(e)) from e
    if len(bits) * 8 < MIN_STATUS_BITS:
        raise CredentialError.coded("eco_protocol.finding.vc.list_short",
                                    n=len(bits) * 8, min=MIN_STATUS_BITS)
    return bits


def status_revoked(status_list: Mapping[str, Any], index: int) -> bool:
    """Whether entry ``index`` is set in a status list credential (its proof is not checked
    here: :func:`check_credential` does that)."""
    bits = _status_bits(status_list)
    if type(index) is not int or not 0 <= index < len(bits) * 8:
        raise CredentialError.coded("eco_protocol.finding.vc.index_outside",
                                    index=repr(index), n=len(bits) * 8)
    return bool(bits[index // 8] & (0x80 >> (index % 8)))


# --- checking --------------------------------------------------------------------------------


def _refuse_names(value: object, where: str) -> None:
    if isinstance(value, Mapping):
        for k, v in value.items():
            if k in NAME_FIELDS:
                raise CredentialError.coded("eco_protocol.credential.err.name_field",
                                            where=f"{where}.{k}")
            _refuse_names(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _refuse_names(v, f"{where}[{i}]")


def _issuer_id(credential: Mapping[str, Any]) -> str:
    issuer = credential.get("issuer")
    if isinstance(issuer, Mapping):
        issuer = issuer.get("id")
    if not isinstance(issuer, str) or not issuer:
        raise CredentialError.coded("eco_protocol.finding.vc.issuer")
    return issuer


def _kind(credential: Mapping[str, Any]) -> str:
    ctx = credential.get("@context")
    if not isinstance(ctx, list) or not ctx or ctx[0] != VC_V2_CONTEXT:
        raise CredentialError.coded("eco_protocol.finding.vc.context", want=VC_V2_CONTEXT)
    types = credential.get("type")
    if not isinstance(types, list) or "VerifiableCredential" not in types:
        raise CredentialError.coded("eco_protocol.finding.vc.type")
    ours = [t for t in types if isinstance(t, str) and t in KINDS]
    if len(ours) != 1:
        raise (CredentialError.coded("eco_protocol.finding.vc.kind_unknown", types=str(types),
                                     kinds=", ".join(KINDS)) if not ours
               else CredentialError.coded("eco_protocol.finding.vc.two_kinds"))
    if ours[0] != STATUS_LIST_TYPE and ECO_CONTEXT not in ctx:
        raise CredentialError.coded("eco_protocol.finding.vc.eco_context",
                                    kind=ours[0], want=ECO_CONTEXT)
    return ours[0]


def _signing_key(credential: Mapping[str, Any], issuer: str,
                 did_documents: Mapping[str, Mapping[str, Any]], now: str,
                 what: Msg) -> bytes:
    """The issuer's key for the proof, in force when the proof was made (``created``; a proof
    that does not say when is held to ``now``)."""
    proof = proof_of(credential)
    method = proof["verificationMethod"]
    did = method.split("#", 1)[0]
    if did != issuer:
        raise CredentialError.coded("eco_protocol.credential.err.other_signer", what=what,
                                    did=did, issuer=issuer)
    if proof["proofPurpose"] != "assertionMethod":
        raise CredentialError.coded("eco_protocol.finding.vc.purpose", what=what,
                                    purpose=repr(proof["proofPurpose"]))
    document: Mapping[str, Any] = {}
    if not did.startswith(DID_KEY_PREFIX):
        found = did_documents.get(did)
        if found is None:
            where = did_web_url(did) if did.startswith(DID_WEB_PREFIX) else "the issuer"
            raise CredentialError.coded("eco_protocol.credential.err.no_document", what=what,
                                        did=did, where=where)
        document = found
    return resolve_method(document, method, at=proof.get("created", now))


def _check_times(credential: Mapping[str, Any], now: str, what: Msg) -> None:
    at = parse_datetime(now, "now")
    proof = credential["proof"]
    if "created" in proof and parse_datetime(proof["created"], "proof.created") > at + CLOCK_SKEW:
        raise CredentialError.coded("eco_protocol.credential.err.from_future", what=what,
                                    created=proof["created"], now=now)
    if "expires" in proof and parse_datetime(proof["expires"], "proof.expires") <= at:
        raise CredentialError.coded("eco_protocol.credential.err.proof_expired", what=what,
                                    expires=proof["expires"])
    start, end = credential.get("validFrom"), credential.get("validUntil")
    if start is not None and parse_datetime(start, "validFrom") > at + CLOCK_SKEW:
        raise CredentialError.coded("eco_protocol.credential.err.not_yet", what=what,
                                    start=start, now=now)
    if end is not None and parse_datetime(end, "validUntil") <= at:
        raise CredentialError.coded("eco_protocol.credential.err.expired", what=what, end=end,
                                    now=now)


def _verified(credential: object, did_documents: Mapping[str, Mapping[str, Any]], now: str,
              what: Msg) -> tuple[str, str]:
    """Shape, names, proof and validity of one credential; its (kind, issuer)."""
    if not isinstance(credential, Mapping):
        raise CredentialError.coded("eco_protocol.credential.err.not_object", what=what)
    kind = _kind(credential)
    _refuse_names(credential, str(what))
    issuer = _issuer_id(credential)
    key = _signing_key(credential, issuer, did_documents, now, what)
    verify_proof(credential, key)
    _check_times(credential, now, what)
    return kind, issuer


def _subject(credential: Mapping[str, Any]) -> Mapping[str, Any]:
    subject = credential.get("credentialSubject")
    if not isinstance(subject, Mapping):
        raise CredentialError.coded("eco_protocol.finding.vc.subject")
    return subject


def _field(subject: Mapping[str, Any], name: str, kind: type) -> Any:
    value = subject.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and kind is int:
        raise CredentialError.coded("eco_protocol.finding.vc.subject_field",
                                    name=name, kind=kind.__name__)
    return value


def _points_lines(s: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    who = _pseudonym(s.get("household"), "credentialSubject.household")
    cp = _field(s, "checkpoint", Mapping)
    lines: list[str] = [
        said("eco_protocol.credential.line.balance", who=who, balance=_field(s, "balance", int),
             as_of=_field(s, "asOf", str)),
        said("eco_protocol.credential.line.checkpoint", origin=cp["origin"], size=cp["size"])
        if "origin" in cp and "size" in cp else
        said("eco_protocol.credential.line.checkpoint_unnamed")]
    history = s.get("history")
    lines.append(said("eco_protocol.credential.line.history_hidden") if history is None else
                 said("eco_protocol.credential.line.history",
                      n=len(history) if isinstance(history, list) else "?"))
    return who, tuple(lines)


def _summary_lines(s: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    batch = _field(s, "batchId", str)
    method, period = _field(s, "methodology", Mapping), _field(s, "period", Mapping)
    totals, cp = _field(s, "totals", Mapping), _field(s, "checkpoint", Mapping)
    lines: list[str] = [
        said("eco_protocol.credential.line.batch", batch=batch, programme=s.get("programme"),
             method=method.get("id"), version=method.get("version")),
        said("eco_protocol.credential.line.period", start=period.get("start"),
             end=period.get("end"), households=s.get("households")),
        said("eco_protocol.credential.line.totals", reduction=totals.get("reduction_g"),
             credits=totals.get("credits_t")),
        said("eco_protocol.credential.line.report", origin=cp.get("origin"), size=cp.get("size"),
             sha=s.get("reportSha256"))]
    if s.get("demonstration") is True:
        lines.append(said("eco_protocol.credential.line.demonstration"))
    return batch, tuple(lines)


def _enrolment_lines(s: Mapping[str, Any], issuer: str) -> tuple[str, tuple[str, ...]]:
    who = _pseudonym(s.get("household"), "credentialSubject.household")
    listed = s.get("meters")
    meters: list[Any] = listed if isinstance(listed, list) else []
    return who, (said("eco_protocol.credential.line.enrolled", who=who,
                      device=_field(s, "device", str), programme=s.get("programme"),
                      at=_field(s, "enrolledAt", str), by=s.get("enrolledBy", issuer)),
                 said("eco_protocol.credential.line.meters",
                      meters=[msg("eco_protocol.credential.line.meter", id=m.get("id"),
                                  quantity=quantity_name(str(m.get("quantity"))))
                              for m in meters if isinstance(m, Mapping)]))


def _status_list_lines(credential: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    bits = _status_bits(credential)
    purpose = _subject(credential).get("statusPurpose")
    count = sum(bin(b).count("1") for b in bits)
    return str(credential.get("id")), (said("eco_protocol.credential.line.status_list",
                                            purpose=purpose, n=len(bits) * 8, count=count),)


def _status_entries(credential: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    status = credential.get("credentialStatus")
    if status is None:
        return []
    entries = status if isinstance(status, list) else [status]
    if not all(isinstance(e, Mapping) for e in entries):
        raise CredentialError.coded("eco_protocol.finding.vc.status_shape")
    return entries


def _entry_set(entry: Mapping[str, Any], issuer: str,
               did_documents: Mapping[str, Mapping[str, Any]],
               status_lists: Mapping[str, Mapping[str, Any]], now: str) -> bool:
    """Whether one ``BitstringStatusListEntry`` is set, after checking the list it points at."""
    if entry.get("type") != STATUS_ENTRY_TYPE:
        raise CredentialError.coded("eco_protocol.finding.vc.status_type",
                                    type=repr(entry.get("type")),
                                    want=STATUS_ENTRY_TYPE)
    url, purpose, index = (entry.get("statusListCredential"), entry.get("statusPurpose"),
                           entry.get("statusListIndex"))
    if entry.get("statusSize", 1) != 1:
        raise CredentialError.coded("eco_protocol.finding.vc.status_size")
    if not isinstance(index, str) or not _INDEX_RE.fullmatch(index) or not isinstance(url, str):
        raise CredentialError.coded("eco_protocol.finding.vc.status_index")
    listed = status_lists.get(url)
    if listed is None:
        raise CredentialError.coded("eco_protocol.credential.err.no_status_list", url=url)
    what = msg("eco_protocol.credential.what.status_list", url=url)
    try:
        kind, list_issuer = _verified(listed, did_documents, now, what)
    except CredentialError as e:
        if str(e).startswith(str(what)):
            raise
        raise CredentialError.coded("eco_protocol.credential.err.in_status_list", url=url,
                                    error=e) from e
    if kind != STATUS_LIST_TYPE or listed.get("id") != url:
        raise CredentialError.coded("eco_protocol.credential.err.not_that_list", url=url)
    if list_issuer != issuer:
        raise CredentialError.coded("eco_protocol.credential.err.list_issuer", url=url,
                                    list_issuer=list_issuer, issuer=issuer)
    purposes = _subject(listed).get("statusPurpose")
    if purpose not in (purposes if isinstance(purposes, list) else [purposes]):
        raise CredentialError.coded("eco_protocol.finding.vc.status_purpose",
                                    what=what, purpose=repr(purpose))
    return status_revoked(listed, int(index))


def check_credential(credential: Mapping[str, Any],
                     did_documents: Mapping[str, Mapping[str, Any]],
                     status_lists: Mapping[str, Mapping[str, Any]],
                     now: str) -> CredentialVerdict:
    """Check a credential offline: its shape, that it names no person, its ``eddsa-jcs-2022``
    proof against the issuer's DID document (the key in force when the proof was made), its
    validity period at ``now`` and, if revocable, its status in the issuer's status list (whose
    own proof and validity are checked the same way).

    ``did_documents`` maps a DID to its cached document; ``status_lists`` maps a status list URL
    to the status list credential. A revoked credential is *not* an error: the verdict says
    ``revoked`` and the caller refuses it; every other failure raises
    :class:`~eco_protocol.errors.CredentialError` saying what is wrong and where."""
    kind, issuer = _verified(credential, did_documents, now,
                             msg("eco_protocol.credential.what.credential"))
    method = credential["proof"]["verificationMethod"]
    checks = [said("eco_protocol.credential.check.proof", method=method,
                   created=credential["proof"].get("created")),
              said("eco_protocol.credential.check.valid_from", now=now,
                   start=credential["validFrom"]) if "validFrom" in credential else
              said("eco_protocol.credential.check.valid_at", now=now),
              said("eco_protocol.credential.check.no_names")]
    subject_id, lines = _lines(kind, credential, issuer)
    revoked = False
    for entry in _status_entries(credential):
        if _entry_set(entry, issuer, did_documents, status_lists, now):
            revoked = True
            lines += (said("eco_protocol.credential.line.set", purpose=entry.get("statusPurpose"),
                           index=entry.get("statusListIndex"),
                           url=entry.get("statusListCredential")),)
        else:
            checks.append(said("eco_protocol.credential.check.not_revoked",
                               index=entry.get("statusListIndex"),
                               url=entry.get("statusListCredential")))
    return CredentialVerdict(KINDS[kind], issuer, subject_id, lines, revoked, tuple(checks))


def _lines(kind: str, credential: Mapping[str, Any],
           issuer: str) -> tuple[str, tuple[str, ...]]:
    if kind == STATUS_LIST_TYPE:
        return _status_list_lines(credential)
    subject = _subject(credential)
    if kind == POINTS_TYPE:
        return _points_lines(subject)
    if kind == SUMMARY_TYPE:
        return _summary_lines(subject)
    if kind == CERTIFICATE_TYPE:
        return certificate_lines(subject)
    return _enrolment_lines(subject, issuer)
