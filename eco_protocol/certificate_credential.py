"""A certificate bundle as a Verifiable Credential (issue 20 point 2, the last kind;
docs/protocol.md §8.3 and §8.7).

What the ``credentialSubject`` of an ``EcoCertificateBundleCredential`` says, built and read
here; the envelope and the proof are :mod:`eco_protocol.credentials`' like every other kind:

- ``certificate``: the bundle exactly as ``eco-aggregator certificates export`` writes it into
  ``bundles.json`` (:meth:`certificates.CertificateBundle.to_dict`, the EnergyTag GC field
  names: issuance id, id range, face value, energy source, production device — the household's
  pseudonym — and its capacity, the production hour, dissemination level, market zone,
  country, emission factor, issuing body), and ``bundleSha256``, the SHA-256 of its RFC 8785
  bytes, so the credential names exactly one entry of an export and a buyer can tie it to the
  offline proof (:mod:`eco_protocol.certificate_proofs`);
- who holds its ids and whether they were cancelled — by which account, for which
  consumption period and beneficiary — as of the log checkpoint it was computed at.

Pure: the state comes in from the claim book the verifier replays (:func:`bundle_state`), the
cross-check with a proof bundle takes what :func:`~certificate_proofs.verify_certificate_proofs`
returned. Nothing here imports :mod:`credentials` (which dispatches to :func:`certificate_lines`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .accounts import ISSUER
from .canonical import canonical_bytes
from .certificate_proofs import BundleStatus
from .claims import CANCELLED, ISSUED, Claim, ClaimBook, joined
from .did import DID_KEY_PREFIX, resolve_method
from .errors import CredentialError, MalformedRecord, NoteError
from .keys import public_key_from_raw
from .messages import Msg, msg, said
from .messages_rules import jst
from .note import verifier_key
from .timestamps import parse_datetime

CERTIFICATE_TYPE: Final = "EcoCertificateBundleCredential"
SUBJECT_TYPE: Final = "EcoCertificateBundle"
HELD: Final = "held"  # no id moved: the issuer (the municipality) holds them all
TRANSFERRED: Final = "transferred"  # some or all ids moved to buyers' accounts, none cancelled
PARTLY_CANCELLED: Final = "partly_cancelled"
CANCELLED_ALL: Final = "cancelled"  # every id cancelled (retired) for a consumption period
STATUSES: Final = (HELD, TRANSFERRED, PARTLY_CANCELLED, CANCELLED_ALL)
_STATUS_CODES: Final = {HELD: "eco_protocol.certificate_credential.status.held",
                        TRANSFERRED: "eco_protocol.certificate_credential.status.transferred",
                        PARTLY_CANCELLED:
                            "eco_protocol.certificate_credential.status.partly_cancelled",
                        CANCELLED_ALL: "eco_protocol.certificate_credential.status.cancelled"}
_GC_TYPES: Final[Mapping[str, type]] = {
    "issuance_id": str, "certificate_bundle_id_range_start": int,
    "certificate_bundle_id_range_end": int, "bundle_quantity": int, "face_value": int,
    "face_value_unit": str, "energy_source": str, "device_id": str, "device_capacity_w": int,
    "production_starting_interval": str, "production_ending_interval": str,
    "dissemination_level": str, "issue_market_zone": str, "country_of_issuance": str,
    "issuing_body": str, "emissions_factor_production_device": int,
    "emissions_factor_unit": str}
GC_FIELDS: Final = tuple(_GC_TYPES)
"""The GC fields a certificate credential's ``certificate`` must carry, each of its type (it
carries all of the export's; these are the ones the checker reads)."""


@dataclass(frozen=True, slots=True)
class Cancellation:
    """Ids ``first..last`` of a bundle cancelled by ``account`` for the consumption period
    ``start..end`` (and ``beneficiary`` when the holder's request named one)."""

    account: str
    first: int
    last: int
    start: str
    end: str
    beneficiary: str | None = None

    @property
    def quantity(self) -> int:
        return self.last - self.first + 1

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"account": self.account, "firstId": self.first,
                             "lastId": self.last, "quantity": self.quantity,
                             "consumptionPeriod": {"start": self.start, "end": self.end}}
        if self.beneficiary is not None:
            d["beneficiary"] = self.beneficiary
        return d


@dataclass(frozen=True, slots=True)
class BundleState:
    """Who holds a bundle's ids (account → how many; :data:`accounts.ISSUER` for ids never
    moved) and their cancellations, in log order."""

    holders: Mapping[str, int]
    cancellations: tuple[Cancellation, ...]

    def status(self, quantity: int) -> str:
        cancelled = sum(c.quantity for c in self.cancellations)
        if cancelled >= quantity:
            return CANCELLED_ALL
        if cancelled:
            return PARTLY_CANCELLED
        return HELD if set(self.holders) == {ISSUER} else TRANSFERRED


def bundle_state(book: ClaimBook, claim: Claim) -> BundleState:
    """The state of the bundle ``claim`` issued, from a book fed in log order (the aggregator's
    :func:`aggregator.claims.claim_book` or the verifier's replay)."""
    if claim.action != ISSUED or claim.bundle is None:
        raise MalformedRecord.coded("eco_protocol.finding.cc.not_issued", claim=claim.claim_id)
    cancels = []
    for _, c in sorted(book.cancelled, key=lambda x: x[0]):
        if c.action != CANCELLED or c.ref != claim.claim_id:
            continue
        assert c.bundle is not None and c.account is not None and c.period is not None
        beneficiary = None if c.request is None else c.request.beneficiary
        cancels.append(Cancellation(c.account, c.bundle.first, c.bundle.last, c.period.start,
                                    c.period.end, beneficiary))
    return BundleState(dict(sorted(book.holders(claim.bundle).items())), tuple(cancels))


def bundle_sha256(bundle: Mapping[str, Any]) -> str:
    """Hex SHA-256 of a bundle's RFC 8785 bytes: the link to one entry of ``bundles.json``."""
    return hashlib.sha256(canonical_bytes(dict(bundle))).hexdigest()


def certificate_subject(bundle: Mapping[str, Any], state: BundleState, issuer: str,
                        checkpoint: Mapping[str, Any],
                        devices: Sequence[str] = ()) -> dict[str, Any]:
    """The ``credentialSubject`` of a bundle (its exported JSON) in ``state`` at ``checkpoint``
    (``{"origin", "size", "rootHash"}``); the issuer's own holding is named by its DID.
    ``devices``: the ``did:key`` of each device whose signed readings the Wh come from (the
    production device itself is named by the household's pseudonym, as in the export)."""
    missing = [f for f in GC_FIELDS if f not in bundle]
    if missing:
        raise CredentialError.coded("eco_protocol.finding.cc.lacks", fields=", ".join(missing))
    quantity = bundle["bundle_quantity"]
    holders = [{"account": issuer if who == ISSUER else who, "quantity": n}
               for who, n in state.holders.items()]
    subject: dict[str, Any] = {
        "type": SUBJECT_TYPE, "issuanceId": bundle["issuance_id"],
        "certificate": dict(bundle), "bundleSha256": bundle_sha256(bundle),
        "meteringDevices": sorted(set(devices)),
        "status": state.status(quantity), "holders": holders,
        "cancellations": [c.to_dict() for c in state.cancellations],
        "checkpoint": dict(checkpoint)}
    if len(holders) == 1:
        subject["holder"] = holders[0]["account"]
    return subject


# --- reading one back ----------------------------------------------------------------------------


def _get(m: Mapping[str, Any], key: str, kind: type, where: str) -> Any:
    value = m.get(key)
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise CredentialError.coded("eco_protocol.finding.cc.member",
                                    where=where, key=key, kind=kind.__name__)
    return value


_HOLDER: Final = {"account": str, "quantity": int}
_CANCELLATION: Final = {"account": str, "firstId": int, "lastId": int, "quantity": int,
                        "consumptionPeriod": Mapping}


def _entry(value: object, where: str, fields: Mapping[str, type]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise CredentialError.coded("eco_protocol.finding.cc.not_object", where=where)
    for name, kind in fields.items():
        _get(value, name, kind, where)
    return value


def _consistent(s: Mapping[str, Any]) -> tuple[Mapping[str, Any], list[Mapping[str, Any]],
                                               list[Mapping[str, Any]]]:
    """The certificate, holders and cancellations of a subject, refused when they contradict
    each other (a credential we issue never does; one signed otherwise is named wrong)."""
    where = "credentialSubject"
    cert = _get(s, "certificate", Mapping, where)
    for f, kind in _GC_TYPES.items():
        if f not in cert:
            raise CredentialError.coded("eco_protocol.finding.cc.gc_field", where=where, field=f)
        _get(cert, f, kind, f"{where}.certificate")
    first = _get(cert, "certificate_bundle_id_range_start", int, f"{where}.certificate")
    last = _get(cert, "certificate_bundle_id_range_end", int, f"{where}.certificate")
    quantity = _get(cert, "bundle_quantity", int, f"{where}.certificate")
    problems: list[str] = []
    if quantity != last - first + 1 or cert.get("face_value") != 1 or \
            cert.get("face_value_unit") != "Wh":
        problems.append(said("eco_protocol.finding.cc.quantity"))
    if s.get("issuanceId") != cert.get("issuance_id"):
        problems.append(said("eco_protocol.finding.cc.issuance"))
    if s.get("bundleSha256") != bundle_sha256(cert):
        problems.append(said("eco_protocol.finding.cc.sha256"))
    holders = [_entry(h, f"{where}.holders[{i}]", _HOLDER)
               for i, h in enumerate(_get(s, "holders", list, where))]
    cancels = [_entry(c, f"{where}.cancellations[{i}]", _CANCELLATION)
               for i, c in enumerate(_get(s, "cancellations", list, where))]
    if sum(h["quantity"] for h in holders) != quantity:
        problems.append(said("eco_protocol.finding.cc.holders_sum"))
    if "holder" in s and [s["holder"]] != [h["account"] for h in holders]:
        problems.append(said("eco_protocol.finding.cc.holder"))
    if any(not first <= c["firstId"] <= c["lastId"] <= last
           or c["quantity"] != c["lastId"] - c["firstId"] + 1 for c in cancels):
        problems.append(said("eco_protocol.finding.cc.cancel_ids"))
    if s.get("status") not in STATUSES:
        problems.append(said("eco_protocol.finding.cc.status", status=repr(s.get("status")),
                             allowed=", ".join(STATUSES)))
    if problems:
        raise CredentialError.coded("eco_protocol.finding.field", field=where,
                                    error=joined(problems))
    return cert, holders, cancels


def _jst(text: object) -> str:
    return jst(parse_datetime(text, "credentialSubject: a time"))


def certificate_lines(s: Mapping[str, Any]) -> tuple[str, tuple[str, ...]]:
    """What a checked certificate credential says, in lines for a person (times in JST);
    its subject id is the issuance id."""
    cert, holders, cancels = _consistent(s)
    cp = _get(s, "checkpoint", Mapping, "credentialSubject")
    meters = s.get("meteringDevices", [])
    if not isinstance(meters, list) or not all(isinstance(m, str) and
                                               m.startswith(DID_KEY_PREFIX) for m in meters):
        raise CredentialError.coded("eco_protocol.finding.cc.devices")
    _get(cp, "origin", str, "credentialSubject.checkpoint")
    _get(cp, "size", int, "credentialSubject.checkpoint")
    lines = [
        said("eco_protocol.certificate_credential.line.bundle", issuance=cert["issuance_id"],
             wh=cert["bundle_quantity"], first=cert["certificate_bundle_id_range_start"],
             last=cert["certificate_bundle_id_range_end"], source=cert["energy_source"]),
        said("eco_protocol.certificate_credential.line.device", device=cert["device_id"],
             capacity=cert["device_capacity_w"], meters=", ".join(map(str, meters)),
             start=_jst(cert["production_starting_interval"]),
             end=_jst(cert["production_ending_interval"]),
             level=cert["dissemination_level"]),
        said("eco_protocol.certificate_credential.line.issuing", body=cert["issuing_body"],
             zone=cert["issue_market_zone"], country=cert["country_of_issuance"],
             factor=cert["emissions_factor_production_device"],
             unit=cert["emissions_factor_unit"]),
        said(_STATUS_CODES[s["status"]]),
        said("eco_protocol.certificate_credential.line.holders",
             holders=", ".join(f"{h.get('account')} ({h.get('quantity')} Wh)" for h in holders))]
    lines += [said("eco_protocol.certificate_credential.line.cancelled", n=c.get("quantity"),
                   first=c.get("firstId"), last=c.get("lastId"), account=c.get("account"),
                   period=" – ".join(map(_jst, _period(c).split(".."))),
                   beneficiary=_beneficiary(c))
              for c in cancels]
    lines.append(said("eco_protocol.certificate_credential.line.checkpoint",
                      origin=cp.get("origin"), size=cp.get("size"),
                      sha=s.get("bundleSha256")))
    return str(cert["issuance_id"]), tuple(lines)


def _period(c: Mapping[str, Any]) -> str:
    p = c.get("consumptionPeriod")
    if not isinstance(p, Mapping):
        raise CredentialError.coded("eco_protocol.finding.cc.period")
    return f"{p.get('start')}..{p.get('end')}"


def _beneficiary(c: Mapping[str, Any]) -> Msg | str:
    b = c.get("beneficiary")
    return "" if b is None else msg("eco_protocol.certificate_credential.line.beneficiary",
                                    beneficiary=b)


# --- the cross-check with an offline proof bundle -------------------------------------------


def cross_check(subject: Mapping[str, Any], issuer: str, bundles: Sequence[Mapping[str, Any]],
                statuses: Sequence[BundleStatus], checkpoint_size: int) -> list[str]:
    """How a checked certificate credential departs from a checked export (its bundles file and
    what :func:`verify_certificate_proofs` found); empty when they agree.

    The bundle must be in the export byte for byte (``bundleSha256``). Holders and
    cancellations are compared when both are at the same checkpoint size; at different ones the
    ids may have moved in between, so only the bundle itself is compared."""
    cert, holders, cancels = _consistent(subject)
    name = cert["issuance_id"]
    found = [b for b in bundles if b.get("issuance_id") == name]
    status = next((s for s in statuses if s.issuance_id == name), None)
    if not found or status is None:
        return [f"bundle {name}: not in the export (it holds "
                f"{', '.join(str(b.get('issuance_id')) for b in bundles)})"]
    out = []
    if bundle_sha256(found[0]) != subject.get("bundleSha256"):
        differs = sorted(k for k in set(cert) | set(found[0]) if cert.get(k) != found[0].get(k))
        out.append(f"bundle {name}: the export's bundle is not the credential's (fields "
                   f"{', '.join(differs) or 'order'} differ)")
    if status.face_value_wh != cert["bundle_quantity"]:
        out.append(f"bundle {name}: face value {cert['bundle_quantity']} Wh in the credential, "
                   f"{status.face_value_wh} Wh proven by the log")
    size = subject["checkpoint"].get("size") if isinstance(subject.get("checkpoint"),
                                                           Mapping) else None
    if size != checkpoint_size:
        return out
    held = sorted(ISSUER if h.get("account") == issuer else str(h.get("account"))
                  for h in holders)
    # the proof check spells one holder as the account, several as a list with counts
    if held != [status.holder] and (len(held) < 2 or
                                    not all(a in status.holder for a in held)):
        out.append(f"bundle {name}: held by {', '.join(held)} says the credential, by "
                   f"{status.holder} says the log")
    mine = sorted((str(c.get("account")), _period(c), c.get("quantity")) for c in cancels)
    logged = sorted(status.cancelled, key=lambda x: (str(x[0]), x[1], x[2]))
    if len(mine) != len(logged) or any(
            not str(who).startswith(account) or (period, n) != (p, q)
            for (account, period, n), (who, p, q) in zip(mine, logged, strict=False)):
        out.append(f"bundle {name}: cancellations {mine} in the credential, "
                   f"{[tuple(map(str, c)) for c in logged]} in the log")
    return out


def log_key_of(credential: Mapping[str, Any],
               did_documents: Mapping[str, Mapping[str, Any]]) -> str:
    """The log's verifier key (``<origin>+<id>+<key>``) a checked certificate credential
    implies: the did:web key that signed it, named by its checkpoint's origin — so a buyer
    checks the export's proof with the key from the same cached DID document, not with a key
    file handed over beside the export. (A log key changed between the two: pass the key.)"""
    proof = credential.get("proof")
    subject = credential.get("credentialSubject")
    if not isinstance(proof, Mapping) or not isinstance(subject, Mapping):
        raise CredentialError.coded("eco_protocol.finding.cc.no_proof")
    method = str(proof.get("verificationMethod"))
    document = did_documents.get(method.split("#", 1)[0], {})
    raw = resolve_method(document, method, at=proof.get("created"))
    cp = _get(subject, "checkpoint", Mapping, "credentialSubject")
    try:
        return verifier_key(str(cp.get("origin")), public_key_from_raw(raw))
    except NoteError as e:
        raise CredentialError.coded("eco_protocol.finding.field",
                                    field="credentialSubject.checkpoint.origin", error=e) from e


__all__ = ["CANCELLED_ALL", "CERTIFICATE_TYPE", "GC_FIELDS", "HELD", "PARTLY_CANCELLED",
           "STATUSES", "SUBJECT_TYPE", "TRANSFERRED", "BundleState", "Cancellation", "log_key_of",
           "bundle_sha256", "bundle_state", "certificate_lines",
           "certificate_subject", "cross_check"]
