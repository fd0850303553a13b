"""Buyer accounts and their signed requests to move certificates (issue 19 point 3;
docs/certificates.md "Accounts, transfers and cancellations").

An account is an Ed25519 public key, spelled as a ``did:key`` (:mod:`did`). Issued certificate
ids are held by the issuer until it transfers them; from then on only the holding account can
move them: a ``transferred`` or ``cancelled`` claim of ids an account holds must carry that
account's ``eco.claim-request/v1``, signed with its key (canonical JSON + Ed25519, as every signed
record here), naming the issuing claim, the ids, and the new holder (transfer) or the
consumption period and the beneficiary (cancel). The log key signs the claim, the holder signs
the request inside it: the operator cannot move a buyer's certificates, and the verifier checks
the holder's signature on every move (:meth:`claims.ClaimBook.claim`).

Pure: no I/O. Holdings are computed from the transfers in log order (:func:`holders_over`), so the
replay, the offline certificate check and the aggregator all answer "who holds these ids" alike.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from .canonical import canonical_bytes
from .did import did_key, public_from_did_key
from .errors import BadSignature, CredentialError, MalformedRecord
from .fields import (
    SIG,
    exact_keys,
    int_field,
    json_object,
    record_type,
    sig_field,
    str_field,
    time_field,
)
from .keys import Ed25519PrivateKey, public_key_from_raw, public_key_raw
from .messages import msg, said
from .programme_records import Period
from .signing import sign_record, verify_record

REQUEST_TYPE: Final = "eco.claim-request/v1"
TRANSFER: Final = "transfer"
CANCEL: Final = "cancel"
ISSUER: Final = "issuer"
"""Who holds issued ids before any transfer: the issuer, whose key signs the claims."""


class NotHolder(BadSignature):
    """Certificate ids are moved without the signed request of the account that holds them."""


def account_of(key: Ed25519PrivateKey) -> str:
    """The account (``did:key``) of a buyer's private key."""
    return did_key(public_key_raw(key))


def account_field(value: object, what: str) -> str:
    """An account: a ``did:key`` of an Ed25519 key, refused otherwise."""
    text = str_field(value, what, 128)
    try:
        public_from_did_key(text)
    except CredentialError as e:
        raise MalformedRecord.coded("eco_protocol.finding.account.bad_key", what=what,
                                    error=e) from e
    return text


@dataclass(frozen=True, slots=True)
class ClaimRequest:
    """``eco.claim-request/v1``: the holder asks to move ids ``first..last`` of issued bundle
    ``ref`` — to account ``to`` (transfer) or cancelled (retired) for ``beneficiary``'s
    consumption ``period`` (cancel). Signed by ``holder``'s key. Not a log entry of its own
    (it travels inside a claim), so it is not one of the dispatcher's records."""

    action: str
    ref: str
    first: int
    last: int
    holder: str
    requested_at: str
    to: str | None = None
    period: Period | None = None
    beneficiary: str | None = None
    sig: str | None = None

    def __post_init__(self) -> None:
        if self.action not in (TRANSFER, CANCEL):
            raise MalformedRecord.coded("eco_protocol.finding.account.action", action=self.action,
                                        transfer=TRANSFER, cancel=CANCEL)
        str_field(self.ref, "claim request.ref", 128)
        int_field(self.first, "claim request.bundle.first", 1)
        int_field(self.last, "claim request.bundle.last", self.first)
        account_field(self.holder, "claim request.holder")
        time_field(self.requested_at, "claim request.requested_at")
        transfer = self.action == TRANSFER
        if transfer != (self.to is not None) or \
                (not transfer) != (self.period is not None and self.beneficiary is not None):
            raise MalformedRecord.coded("eco_protocol.finding.account.fields", action=self.action)
        if self.to is not None:
            account_field(self.to, "claim request.to")
        if self.beneficiary is not None:
            str_field(self.beneficiary, "claim request.beneficiary", 256)
        if self.sig is not None:
            sig_field(self.sig, "claim request")

    @classmethod
    def from_dict(cls, d: object) -> ClaimRequest:
        m = json_object(d, "claim request")
        record_type(m, REQUEST_TYPE, "claim request")
        exact_keys(m, {"type", "action", "ref", "bundle", "holder", "requested_at", SIG},
                   {"to", "period", "beneficiary"}, "claim request")
        ids = json_object(m["bundle"], "claim request.bundle")
        exact_keys(ids, {"first", "last"}, set(), "claim request.bundle")
        period = m.get("period")
        r = cls(m["action"], m["ref"], ids["first"], ids["last"], m["holder"],
                m["requested_at"], m.get("to"),
                None if period is None else Period.from_dict(period, "claim request.period"),
                m.get("beneficiary"), m["sig"])
        sig_field(r.sig, "claim request")
        return r

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: ``type``, the fields, then ``sig`` once signed."""
        d: dict[str, Any] = {"type": REQUEST_TYPE, "action": self.action, "ref": self.ref,
                             "bundle": {"first": self.first, "last": self.last},
                             "holder": self.holder, "requested_at": self.requested_at}
        if self.to is not None:
            d["to"] = self.to
        if self.period is not None:
            d["period"] = self.period.to_dict()
        if self.beneficiary is not None:
            d["beneficiary"] = self.beneficiary
        if self.sig is not None:
            d[SIG] = self.sig
        return d

    @property
    def digest(self) -> str:
        """SHA-256 of the signed request: a request is used at most once."""
        return hashlib.sha256(canonical_bytes(self.to_dict())).hexdigest()

    def verify(self) -> None:
        """Raise :class:`~eco_protocol.errors.BadSignature` unless the holder signed it."""
        public = public_key_from_raw(public_from_did_key(self.holder))
        verify_record(self.to_dict(), public, msg("eco_protocol.finding.what.request",
                                                  holder=self.holder, ref=self.ref,
                                                  first=self.first, last=self.last))


def sign_request(request: ClaimRequest, key: Ed25519PrivateKey) -> ClaimRequest:
    """The request signed with the holder's key (which must be the holder's)."""
    if account_of(key) != request.holder:
        raise MalformedRecord.coded("eco_protocol.finding.account.not_holder_key",
                                    account=account_of(key), holder=request.holder)
    return ClaimRequest.from_dict(sign_record(request.to_dict(), key))


def holders_over(first: int, last: int,
                 transfers: Iterable[tuple[int, int, str]]) -> dict[str, int]:
    """Who holds ids ``first..last`` after ``transfers`` ((first, last, account), in log
    order): account → how many of the ids it holds (:data:`ISSUER` for ids never moved)."""
    cuts = {first, last + 1}
    moves = [(a, b, who) for a, b, who in transfers if a <= last and first <= b]
    for a, b, _ in moves:
        cuts |= {max(a, first), min(b, last) + 1}
    edges = sorted(cuts)
    out: dict[str, int] = {}
    for lo, hi in zip(edges, edges[1:], strict=False):
        who = ISSUER
        for a, b, account in moves:
            if a <= lo and hi - 1 <= b:
                who = account
        out[who] = out.get(who, 0) + hi - lo
    return out


def request_problems(request: ClaimRequest, action: str, ref: str | None,
                     first: int, last: int, account: str | None,
                     period: Mapping[str, Any] | None) -> list[str]:
    """How a claim's fields depart from the request it carries (empty when they agree)."""
    want_action = {TRANSFER: "transferred", CANCEL: "cancelled"}[request.action]
    want_account = request.to if request.action == TRANSFER else request.holder
    out: list[str] = []
    if action != want_action:
        out.append(said("eco_protocol.finding.account.action_differs", action=action,
                        asked=request.action))
    if (ref, first, last) != (request.ref, request.first, request.last):
        out.append(said("eco_protocol.finding.account.ids_differ", ref=ref, first=first,
                        last=last, rref=request.ref, rfirst=request.first, rlast=request.last))
    if account != want_account:
        out.append(said("eco_protocol.finding.account.account_differs", account=account,
                        want=want_account))
    if request.period is not None and period != request.period.to_dict():
        out.append(said("eco_protocol.finding.account.period_differs"))
    return out


__all__ = ["CANCEL", "ISSUER", "REQUEST_TYPE", "TRANSFER", "ClaimRequest", "NotHolder",
           "account_field",
           "account_of", "holders_over", "request_problems", "sign_request"]
