"""Decentralized identifiers: ``did:key`` for device keys, ``did:web`` for the municipality.

A device's Ed25519 key is also a ``did:key`` (W3C CCG did:key method): the Multikey encoding of
the raw key, multibase base58btc of the multicodec ``ed25519-pub`` prefix ``0xed 0x01`` and the
32 bytes, so ``did:key:z6Mk…``. Nothing needs fetching to resolve it: the key *is* the
identifier.

The municipality is a ``did:web``: a DID document (DID Core v1.0 with the Multikey context)
served at the standard HTTPS path. It lists every key the log has signed with — the current one
and the earlier ones, each with the time it started and (for earlier keys) stopped being used —
because a credential signed before a log key change must still check afterwards. A verifier
resolves a verification method from a *cached* copy of that document (:func:`resolve_method`):
no network at check time.

Pure: no I/O, no clock. Errors are :class:`~eco_protocol.errors.CredentialError`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import quote, unquote

from .encoding import b64decode
from .errors import CredentialError
from .keys import device_id_of
from .multibase import decode_base58btc, encode_base58btc
from .timestamps import parse_datetime

ED25519_PUB_CODEC: Final = b"\xed\x01"  # multicodec ed25519-pub, unsigned varint
DID_V1_CONTEXT: Final = "https://www.w3.org/ns/did/v1"
MULTIKEY_CONTEXT: Final = "https://w3id.org/security/multikey/v1"
DID_KEY_PREFIX: Final = "did:key:"
DID_WEB_PREFIX: Final = "did:web:"
# the project's vocabulary (docs/protocol.md "Identifiers and credentials"): only ``validFrom``
# of a verification method comes from it; ``expires`` is Controlled Identifiers' own term
ECO_VOCAB_CONTEXT: Final = "https://w3id.org/eco-credit/v1"

_HOST_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?(:[0-9]{1,5})?")
_FRAGMENT_RE = re.compile(r"[A-Za-z0-9._~-]{1,128}")


def multikey(public_raw: bytes) -> str:
    """The Ed25519 Multikey ``publicKeyMultibase`` of a raw public key (``z6Mk…``)."""
    if len(public_raw) != 32:
        raise CredentialError.coded("eco_protocol.finding.key.public_length", n=len(public_raw))
    return encode_base58btc(ED25519_PUB_CODEC + public_raw)


def public_from_multikey(value: str) -> bytes:
    """The raw 32-byte Ed25519 key of a Multikey value; any other key type is refused."""
    raw = decode_base58btc(value, "publicKeyMultibase")
    if raw[:2] != ED25519_PUB_CODEC:
        raise CredentialError.coded("eco_protocol.finding.did.not_ed25519", value=repr(value[:16]),
                                    prefix=raw[:2].hex())
    if len(raw) != 34:
        raise CredentialError.coded("eco_protocol.finding.did.key_length",
                                    value=repr(value[:16]), n=len(raw) - 2)
    if multikey(raw[2:]) != value:
        raise CredentialError.coded("eco_protocol.finding.did.non_canonical",
                                    value=repr(value[:16]))
    return raw[2:]


def did_key(public_raw: bytes) -> str:
    """``did:key:z6Mk…`` of a raw Ed25519 public key."""
    return DID_KEY_PREFIX + multikey(public_raw)


def public_from_did_key(did: str) -> bytes:
    """The raw key a ``did:key`` identifier encodes (a fragment or path is refused)."""
    if not isinstance(did, str) or not did.startswith(DID_KEY_PREFIX):
        raise CredentialError.coded("eco_protocol.finding.did.not_did_key", did=repr(did))
    value = did[len(DID_KEY_PREFIX):]
    if any(c in value for c in "#/?:"):
        raise CredentialError.coded("eco_protocol.finding.did.did_key_shape", did=repr(did))
    return public_from_multikey(value)


def device_id_from(given: str) -> str:
    """A device as a person gives it: its 32-hex id, or its ``did:key`` (issue 20: the same
    key under its W3C name); the did:key's Ed25519 key gives the id. Anything else is returned
    stripped, for the caller's own id check to refuse."""
    given = given.strip()
    if given.startswith(DID_KEY_PREFIX):
        return str(device_id_of(public_from_did_key(given)))
    return given


def did_key_of_enrolment(public_key_b64: str) -> str:
    """The ``did:key`` of an enrolment's ``public_key`` (base64 of the raw 32 bytes)."""
    return did_key(b64decode(public_key_b64, "public_key"))


def did_key_method_id(did: str) -> str:
    """The one verification method of a ``did:key``: ``did:key:z6Mk…#z6Mk…``."""
    public_from_did_key(did)
    return f"{did}#{did[len(DID_KEY_PREFIX):]}"


def did_web(host: str, *path: str) -> str:
    """``did:web:host[:path…]``; a port's colon is percent-encoded as the method requires."""
    if not _HOST_RE.fullmatch(host):
        raise CredentialError.coded("eco_protocol.finding.did.host", host=repr(host))
    segments = [quote(host, safe=".-")]
    for p in path:
        if not p or "/" in p:
            raise CredentialError.coded("eco_protocol.finding.did.segment", segment=repr(p))
        segments.append(quote(p, safe="._~-"))
    return DID_WEB_PREFIX + ":".join(segments)


def did_web_url(did: str) -> str:
    """Where a ``did:web`` document is served: ``https://host/.well-known/did.json`` for a bare
    host, ``https://host/a/b/did.json`` for ``did:web:host:a:b`` (did:web method, "Read")."""
    if not isinstance(did, str) or not did.startswith(DID_WEB_PREFIX) or "#" in did:
        raise CredentialError.coded("eco_protocol.finding.did.not_did_web", did=repr(did))
    host, *path = did[len(DID_WEB_PREFIX):].split(":")
    host = unquote(host)
    if not _HOST_RE.fullmatch(host) or any(not p for p in path):
        raise CredentialError.coded("eco_protocol.finding.did.bad_did_web", did=repr(did))
    where = "/".join(path) if path else ".well-known"
    return f"https://{host}/{where}/did.json"


@dataclass(frozen=True, slots=True)
class DidKey:
    """One key of a DID document: its fragment (``#…``), raw Ed25519 bytes and validity.

    ``valid_until`` is None for the key in use now; an earlier key keeps the time it was replaced,
    so a credential signed with it before then still checks."""

    fragment: str
    public_raw: bytes
    valid_from: str
    valid_until: str | None = None

    def __post_init__(self) -> None:
        if not _FRAGMENT_RE.fullmatch(self.fragment):
            raise CredentialError.coded("eco_protocol.finding.did.fragment",
                                        fragment=repr(self.fragment))
        multikey(self.public_raw)
        start = parse_datetime(self.valid_from, f"key #{self.fragment} validFrom")
        if self.valid_until is not None and \
                parse_datetime(self.valid_until, f"key #{self.fragment} expires") <= start:
            raise CredentialError.coded("eco_protocol.finding.did.expiry", fragment=self.fragment,
                                        until=self.valid_until, start=self.valid_from)


def did_document(did: str, keys: Sequence[DidKey]) -> dict[str, Any]:
    """The DID document of ``did`` listing every key as a ``Multikey`` assertion method.

    Each method carries ``validFrom`` (the project's vocabulary) and, once replaced,
    ``expires`` (Controlled Identifiers v1.0): verifiers use them to check a proof against the key
    that was in force when it was created."""
    if not keys:
        raise CredentialError.coded("eco_protocol.finding.did.no_keys", did=did)
    if len({k.fragment for k in keys}) != len(keys):
        raise CredentialError.coded("eco_protocol.finding.did.fragments_unique", did=did)
    methods = []
    for k in keys:
        method: dict[str, Any] = {"id": f"{did}#{k.fragment}", "type": "Multikey",
                                  "controller": did, "publicKeyMultibase": multikey(k.public_raw),
                                  "validFrom": k.valid_from}
        if k.valid_until is not None:
            method["expires"] = k.valid_until
        methods.append(method)
    return {"@context": [DID_V1_CONTEXT, MULTIKEY_CONTEXT, ECO_VOCAB_CONTEXT], "id": did,
            "verificationMethod": methods,
            "assertionMethod": [m["id"] for m in methods]}


def _methods(document: Mapping[str, Any], did: str,
             purpose: str) -> Iterator[Mapping[str, Any]]:
    """The document's verification methods: those of ``verificationMethod`` and those embedded
    (as objects) in the ``purpose`` relation, as DID Core allows."""
    listed = document.get("verificationMethod", [])
    if not isinstance(listed, list):
        raise CredentialError.coded("eco_protocol.finding.did.methods_list", did=did)
    for m in listed:
        if not isinstance(m, Mapping):
            raise CredentialError.coded("eco_protocol.finding.did.method_object", did=did)
        yield m
    relation = document.get(purpose, [])
    yield from (m for m in (relation if isinstance(relation, list) else [])
                if isinstance(m, Mapping))


def _absolute(method_id: object, did: str) -> object:
    return f"{did}{method_id}" if isinstance(method_id, str) and method_id.startswith("#") \
        else method_id


def resolve_method(document: Mapping[str, Any], method_id: str, at: str | None = None,
                   purpose: str = "assertionMethod") -> bytes:
    """The raw Ed25519 key of verification method ``method_id``, from a cached DID document.

    Refused: a method the document does not list, one not listed under ``purpose``, one that is
    not a Multikey, and (``at`` given) one not valid at that time (before its ``validFrom``, at or
    after its ``expires`` or ``revoked``). A ``did:key`` method id resolves by itself; the
    document is then ignored."""
    if not isinstance(method_id, str) or "#" not in method_id:
        raise CredentialError.coded("eco_protocol.finding.did.method_id", id=repr(method_id))
    did, fragment = method_id.split("#", 1)
    if did.startswith(DID_KEY_PREFIX):
        raw = public_from_did_key(did)
        if fragment != did[len(DID_KEY_PREFIX):]:
            raise CredentialError.coded("eco_protocol.finding.did.did_key_method", id=method_id,
                                        fragment=did[len(DID_KEY_PREFIX):])
        return raw
    if document.get("id") != did:
        raise CredentialError.coded("eco_protocol.finding.did.other_document", id=method_id,
                                    doc=repr(document.get("id")), did=did)
    found = [m for m in _methods(document, did, purpose)
             if _absolute(m.get("id"), did) == method_id]
    if len(found) != 1:
        raise CredentialError.coded("eco_protocol.finding.did.not_listed" if not found else
                                    "eco_protocol.finding.did.listed_twice", id=method_id, did=did)
    method = found[0]
    relation = document.get(purpose, [])
    refs = [_absolute(r.get("id") if isinstance(r, Mapping) else r, did)
            for r in (relation if isinstance(relation, list) else [])]
    if method_id not in refs:
        raise CredentialError.coded("eco_protocol.finding.did.not_for_purpose",
                                    id=method_id, purpose=purpose,
                                    did=did)
    if method.get("type") != "Multikey" or method.get("controller") != did:
        raise CredentialError.coded("eco_protocol.finding.did.not_multikey", id=method_id, did=did,
                                    type=repr(method.get("type")))
    raw = public_from_multikey(method.get("publicKeyMultibase"))  # type: ignore[arg-type]
    if at is not None:
        _check_in_force(method, method_id, at)
    return raw


def _check_in_force(method: Mapping[str, Any], method_id: str, at: str) -> None:
    when = parse_datetime(at, f"time checked against {method_id}")
    start = method.get("validFrom")
    if start is not None and when < parse_datetime(start, f"{method_id} validFrom"):
        raise CredentialError.coded("eco_protocol.finding.did.not_yet",
                                    id=method_id, at=at, start=start)
    for end_name in ("expires", "revoked"):
        end = method.get(end_name)
        if end is not None and when >= parse_datetime(end, f"{method_id} {end_name}"):
            raise CredentialError.coded("eco_protocol.finding.did.ended",
                                        id=method_id, end_name=end_name, end=end,
                                        at=at)
