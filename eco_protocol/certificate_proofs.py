"""The offline proof bundle of exported certificates, and its check (issue 19 point 4;
docs/certificates.md "Export and offline check").

A buyer holds the bundles (EnergyTag GC field names, :meth:`certificates.CertificateBundle.to_dict`)
and a proof document (``eco.certificate-proofs/v1``): one checkpoint with its witness
cosignatures, and log entries each with its RFC 6962 inclusion proof to that checkpoint —

- every ``eco.claim/v1`` and ``eco.batch/v1`` seal entry below the checkpoint (log-wide, so the
  replay can show no other claim took the same energy: issued ids are consecutive from 1, so a
  missing issuance shows as a gap; see the docs for what only the full log can show);
- the PV and export readings on every span an issued claim draws on, and the enrolments of
  their households (the devices' keys, the household's terms).

:func:`verify_certificate_proofs` checks each entry's inclusion under the checkpoint, every
signature (the log key on enrolments, seals and claims; the device's key on readings), then
feeds the entries in index order to the very :class:`~eco_protocol.claims.ClaimBook` the
verifier's replay uses — so a face value above the proven self-consumption, a Wh claimed twice,
sealed energy issued, or a certificate id cancelled twice are refused with the same words — and
finally compares each bundle with its issued claim (:func:`claims.bundle_problems`) and follows
the transfers and the cancellation of its ids. Pure: the caller hands in parsed JSON.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .accounts import NotHolder
from .canonical import canonical_bytes, parse_json
from .certificate_keys import check_checkpoint_key, proof_key_chain
from .certificates import NETTED
from .claims import (
    CANCELLED,
    ISSUED,
    TRANSFERRED,
    AboveProven,
    Claim,
    ClaimBook,
    DoubleClaim,
    bundle_problems,
    joined,
)
from .dispatch import parse_record
from .encoding import b64decode, b64encode
from .errors import BadSignature, InvalidInput, MalformedRecord, NoteError, ProofError
from .evidence import open_log_checkpoint
from .fields import json_object
from .keys import public_key_from_raw, verify_signature
from .logkey import LogKeyChain, LogKeyChange
from .merkle import leaf_hash, verify_inclusion
from .messages import Msg, msg, said
from .note import Checkpoint
from .programme_records import BatchSeal
from .records import Enrolment, Reading
from .signing import entry_hash, reading_signed_bytes, verify_record

PROOFS_FORMAT: Final = "eco.certificate-proofs/v1"


class CertificateProblem(InvalidInput):
    """A certificate export does not check; ``kind`` says what that means for the buyer:
    ``checkpoint``, ``inclusion``, ``signature``, ``double_claim``, ``energy``, ``bundle``,
    ``missing``, ``holder`` or ``format``. The message is a :class:`Msg` (its English is
    ``str()``, eco-verify prints it in the buyer's language) or plain English."""

    def __init__(self, kind: str, message: str | Msg) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass(frozen=True, slots=True)
class ProvedEntry:
    """One log entry of a proof document, with its inclusion proof."""

    index: int
    entry: bytes
    proof: tuple[bytes, ...]

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "entry_b64": b64encode(self.entry),
                "proof_b64": [b64encode(h) for h in self.proof]}

    @classmethod
    def from_dict(cls, d: object, what: str) -> ProvedEntry:
        m = json_object(d, what)
        if set(m) != {"index", "entry_b64", "proof_b64"}:
            raise CertificateProblem("format", msg("eco_protocol.finding.cert.entry_fields",
                                                   what=what))
        index, proof = m["index"], m["proof_b64"]
        if not isinstance(index, int) or isinstance(index, bool) or index < 0:
            raise CertificateProblem("format", msg("eco_protocol.finding.cert.entry_index",
                                                   what=what))
        if not isinstance(proof, list):
            raise CertificateProblem("format", msg("eco_protocol.finding.cert.proof_list",
                                                   what=what))
        return cls(index, b64decode(m["entry_b64"], f"{what}.entry_b64"),
                   tuple(b64decode(h, f"{what}.proof_b64") for h in proof))


def proof_document(checkpoint_note: str, entries: Sequence[ProvedEntry]) -> dict[str, Any]:
    """The proof document a certificate export writes beside its bundles."""
    return {"format": PROOFS_FORMAT, "checkpoint": checkpoint_note,
            "entries": [e.to_dict() for e in sorted(entries, key=lambda e: e.index)]}


@dataclass(frozen=True, slots=True)
class BundleStatus:
    """One exported bundle as the check found it: who holds its ids, and their cancellation."""

    issuance_id: str
    device_id: str
    hour: str
    face_value_wh: int
    first: int
    last: int
    transfers: tuple[str, ...]  # accounts the ids (or part of them) moved to, in log order
    holder: str  # the account(s) holding the ids now (:data:`accounts.ISSUER` before a transfer)
    # the logged cancellation claims, (entry index, claim) in log order (hourly matching reads
    # their periods and signed requests)
    cancel_claims: tuple[tuple[int, Claim], ...]

    @property
    def cancelled(self) -> tuple[tuple[str, str, int], ...]:
        """(account, period "start..end", ids) per cancellation, as a reader is told it."""
        return tuple(_cancel_summary(m) for _, m in self.cancel_claims)


@dataclass(frozen=True, slots=True)
class CertificateCheck:
    """What :func:`verify_certificate_proofs` proved."""

    checkpoint: Checkpoint
    witnesses_signed: tuple[str, ...]
    entries: int
    claims: int
    readings: int
    bundles: tuple[BundleStatus, ...]

    @property
    def total_wh(self) -> int:
        return sum(b.face_value_wh for b in self.bundles)


def _proved_entries(doc: Mapping[str, Any], cp: Checkpoint) -> list[ProvedEntry]:
    raw = doc.get("entries")
    if not isinstance(raw, list):
        raise CertificateProblem("format", msg("eco_protocol.finding.cert.entries_list"))
    out: dict[int, ProvedEntry] = {}
    for i, d in enumerate(raw):
        e = ProvedEntry.from_dict(d, f"proofs.entries[{i}]")
        if e.index in out:
            raise CertificateProblem("format", msg("eco_protocol.finding.cert.entry_twice",
                                                   index=e.index))
        try:
            verify_inclusion(e.index, cp.size, leaf_hash(e.entry), e.proof, cp.root_hash)
        except ProofError as err:
            raise CertificateProblem("inclusion", msg("eco_protocol.finding.cert.not_included",
                                                      index=e.index,
                                                      size=cp.size, error=err)) from err
        out[e.index] = e
    return [out[i] for i in sorted(out)]


def _replay(entries: Sequence[ProvedEntry], keys: LogKeyChain) -> tuple[ClaimBook, int]:
    """Feed the proved entries in index order to a claim book, every signature checked."""
    book = ClaimBook()
    devices: dict[str, Enrolment] = {}
    readings = 0
    for e in entries:
        log_vkey_public = keys.key_at(e.index).public_key  # the log's key at that entry
        try:
            obj = parse_json(e.entry)
            record = parse_record(obj)
            if canonical_bytes(obj) != e.entry:
                raise MalformedRecord.coded("eco_protocol.finding.cert.not_canonical")
            if isinstance(record, Enrolment):
                verify_record(obj, log_vkey_public,
                              msg("eco_protocol.finding.what.enrolment", device=record.device_id))
                devices[record.device_id] = record
                book.enrol(record)
            elif isinstance(record, Reading):
                enrolment = devices.get(record.device_id)
                if enrolment is None:
                    raise CertificateProblem("format", msg("eco_protocol.finding.cert.no_enrolment",
                                                           device=record.device_id))
                assert record.sig is not None
                verify_signature(public_key_from_raw(enrolment.public_key_raw),
                                 b64decode(record.sig, "sig"),
                                 reading_signed_bytes(e.entry, obj, record.sig),
                                 msg("eco_protocol.finding.what.reading",
                                     device=record.device_id, seq=record.seq))
                if record.quantity in NETTED:
                    book.reading(e.index, entry_hash(e.entry), record, enrolment, True)
                    readings += 1
            elif isinstance(record, LogKeyChange):
                pass  # verified when the key chain was built (certificate_keys)
            elif isinstance(record, BatchSeal):
                verify_record(obj, log_vkey_public,
                              msg("eco_protocol.finding.what.seal", batch=record.batch_id))
                book.seal(e.index, record)
            elif isinstance(record, Claim):
                verify_record(obj, log_vkey_public,
                              msg("eco_protocol.finding.what.claim", claim=record.claim_id))
                _no_gap(book, e.index, record)
                book.claim(e.index, record)
            else:
                raise CertificateProblem("format", msg("eco_protocol.finding.cert.out_of_place",
                                                       type=obj.get("type")))
        except CertificateProblem:
            raise
        except DoubleClaim as err:
            raise CertificateProblem("double_claim", _at(e.index, err)) from err
        except NotHolder as err:
            raise CertificateProblem("holder", _at(e.index, err)) from err
        except AboveProven as err:
            raise CertificateProblem("energy", _at(e.index, err)) from err
        except BadSignature as err:
            raise CertificateProblem("signature", _at(e.index, err)) from err
        except InvalidInput as err:
            raise CertificateProblem("format", _at(e.index, err)) from err
    return book, readings


def _at(index: int, err: Exception) -> Msg:
    """``entry N: <the finding>``, the finding in the reader's language when it has a code."""
    return msg("eco_protocol.finding.at_entry", index=index, error=err)


def _as_msg(err: Exception) -> Msg | str:
    """A finding passed on as it is: its code when it has one, else its English."""
    code = getattr(err, "message_code", None)
    return Msg(code, err.message_params) if isinstance(err, InvalidInput) and code else str(err)


def _no_gap(book: ClaimBook, index: int, claim: Claim) -> None:
    """Issued ids are consecutive from 1 across the log: a later first id means an issued
    claim before this one was left out of the proof document."""
    if claim.action == ISSUED and claim.bundle is not None and \
            claim.bundle.first > book.next_id:
        raise CertificateProblem("missing", msg("eco_protocol.finding.cert.gap",
                                                index=index, claim=claim.claim_id,
                                                first=claim.bundle.first,
                                                last=book.next_id - 1))


def _cancel_summary(m: Claim) -> tuple[str, str, int]:
    """A cancellation as a reader is told it: who (the issuer's on an account's behalf, or for
    a beneficiary), the period cancelled for, the ids."""
    assert m.bundle is not None and m.account is not None and m.period is not None
    who = said("eco_protocol.finding.cert.issuer_for", account=m.account) \
        if m.request is None else m.account if m.request.beneficiary is None else \
        said("eco_protocol.finding.cert.for",
             account=m.account, beneficiary=m.request.beneficiary)
    return who, f"{m.period.start}..{m.period.end}", m.bundle.size


def _ownership(book: ClaimBook, claim: Claim) -> tuple[
        tuple[str, ...], str, tuple[tuple[int, Claim], ...]]:
    """An issued bundle's transfers (accounts, log order), its holders now, and its
    cancellations' claims (entry index, claim). The book already refused any move not signed by
    the holding account (:mod:`accounts`)."""
    assert claim.bundle is not None
    transfers: list[str] = []
    cancel_claims: list[tuple[int, Claim]] = []
    for at, m in sorted(book.claims.values(), key=lambda x: x[0]):
        if m.action not in (TRANSFERRED, CANCELLED) or m.ref != claim.claim_id:
            continue
        assert m.bundle is not None and m.account is not None
        if m.action == TRANSFERRED:
            transfers.append(m.account)
            continue
        cancel_claims.append((at, m))
    held = book.holders(claim.bundle)
    holder: str = said("eco_protocol.finding.cert.holders",
                       holders=[said("eco_protocol.finding.cert.held_ids", account=k, n=n)
                                               for k, n in sorted(held.items())]) \
        if len(held) > 1 else next(iter(held))
    return tuple(transfers), holder, tuple(cancel_claims)


def _bundles(doc: object) -> list[Mapping[str, Any]]:
    m = json_object(doc, "bundles file")
    items = m.get("bundles")
    if not isinstance(items, list) or not items or \
            not all(isinstance(b, dict) for b in items):
        raise CertificateProblem("format", msg("eco_protocol.finding.cert.bundles_shape"))
    return items


def _check_bundle(b: Mapping[str, Any], book: ClaimBook) -> BundleStatus:
    name = b.get("issuance_id")
    found = book.claims.get(name) if isinstance(name, str) else None
    if found is None or found[1].action != ISSUED:
        raise CertificateProblem("missing", msg("eco_protocol.finding.cert.no_issued_claim",
                                                name=name))
    index, claim = found
    problems = bundle_problems(b, claim)
    link = b.get("hash")
    if not isinstance(link, Mapping) or link.get("claim_index") != index:
        problems.append(said("eco_protocol.finding.cert.claim_index", index=index))
    household = book.held[claim.parts[0].index].household
    if b.get("device_id") != household:
        problems.append(said("eco_protocol.finding.cert.device_id",
                             said=b.get("device_id"), household=household))
    if problems:
        raise CertificateProblem("bundle", msg("eco_protocol.finding.cert.bundle",
                                               name=name, problems=joined(problems)))
    assert claim.bundle is not None and claim.hour is not None
    transfers, holder, cancel_claims = _ownership(book, claim)
    return BundleStatus(claim.claim_id, household, claim.hour, claim.face_value_wh,
                        claim.bundle.first, claim.bundle.last, transfers, holder, cancel_claims)


def verify_certificate_proofs(bundles_doc: object, proofs_doc: object, log_vkey: str,
                              witness_vkeys: Sequence[str] = (),
                              min_witnesses: int = 0) -> CertificateCheck:
    """Check exported certificates offline; raise :class:`CertificateProblem` (its ``kind``
    says what it means for the buyer) or a :class:`NoteError` for the checkpoint."""
    doc = json_object(proofs_doc, "proofs")
    if doc.get("format") != PROOFS_FORMAT:
        raise CertificateProblem("format", msg("eco_protocol.finding.cert.format",
                                               got=doc.get("format"),
                                               want=PROOFS_FORMAT))
    note = doc.get("checkpoint")
    if not isinstance(note, str):
        raise CertificateProblem("format", msg("eco_protocol.finding.cert.checkpoint_text"))
    try:
        keys = proof_key_chain(doc, log_vkey)  # across log key changes, from the pinned key
        cp, log, signed = open_log_checkpoint(note, keys.current.vkey, witness_vkeys,
                                              min_witnesses)
        check_checkpoint_key(keys, cp.size, log)
    except NoteError as e:
        raise CertificateProblem("checkpoint", _as_msg(e)) from e
    entries = _proved_entries(doc, cp)
    book, readings = _replay(entries, keys)
    statuses = tuple(_check_bundle(b, book) for b in _bundles(bundles_doc))
    ids = [s.issuance_id for s in statuses]
    if len(set(ids)) != len(ids):
        raise CertificateProblem("bundle", msg("eco_protocol.finding.cert.listed_twice"))
    return CertificateCheck(cp, signed, len(entries), len(book.claims), readings, statuses)


__all__ = ["PROOFS_FORMAT", "BundleStatus", "CertificateCheck", "CertificateProblem",
           "ProvedEntry", "proof_document", "verify_certificate_proofs"]
