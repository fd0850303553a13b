"""Sign and verify records (docs/protocol.md §1); the bytes a signature covers; an entry's hash.

A signed record is the record plus ``"sig"``: base64 of the Ed25519 signature over the RFC 8785
bytes of the record without ``sig``. Signer and verifier both go through :func:`signing_bytes`
so the two can never drift apart; :func:`reading_signed_bytes` is the same function for a
reading whose canonical bytes are already at hand, only faster (property-tested against it).

An entry's hash (a reading's ``prev``, a receipt's ``reading_sha256``) is :func:`entry_hash` of
its canonical bytes *with* ``sig``, everywhere: one definition, so a chain link computed by the
device, the aggregator and the verifier cannot differ.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from .canonical import canonical_bytes
from .encoding import b64decode, b64encode
from .errors import MalformedRecord
from .fields import SIG as SIG  # re-exported: replay, bench and tests import it from here
from .keys import Ed25519PrivateKey, Ed25519PublicKey, verify_signature
from .messages import Msg


def signing_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the canonical record without ``sig``."""
    return canonical_bytes({k: v for k, v in record.items() if k != SIG})


def sign_record(record: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of ``record`` with ``sig`` set. Any existing ``sig`` is replaced.

    The signature covers :func:`signing_bytes`, the very bytes :func:`verify_record` checks."""
    signature = b64encode(key.sign(signing_bytes(record)))
    body = {k: v for k, v in record.items() if k != SIG}
    body[SIG] = signature
    return body


def verify_record(record: Mapping[str, Any], public: Ed25519PublicKey, what: str | Msg) -> None:
    """Raise :class:`~eco_protocol.errors.BadSignature` unless ``record['sig']`` verifies."""
    sig_text = record.get(SIG)
    if sig_text is None:
        raise MalformedRecord.coded("eco_protocol.finding.sig_missing", what=what)
    sig = b64decode(sig_text, f"{what}: sig")
    if len(sig) != 64:
        raise MalformedRecord.coded("eco_protocol.finding.sig_length", what=what, n=len(sig))
    verify_signature(public, sig, signing_bytes(record), what)


def reading_signed_bytes(entry: bytes, obj: Mapping[str, object], sig: str) -> bytes:
    """``signing_bytes(obj)``, cut out of the reading's canonical bytes ``entry`` instead of
    serialising the record a second time (speed: this runs for every reading on ingest, audit
    and verification; tests/protocol/test_signing_records.py checks it equals
    :func:`signing_bytes` on generated readings).

    Only for a reading that ``Reading.from_dict`` accepted and whose canonical bytes are
    ``entry``: its one ``"sig"`` member is top-level (the nested ``source`` has three fixed keys)
    and not the first (keys are sorted), so the canonical form without it is ``entry`` minus
    ``,"sig":"<sig>"``. That byte string cannot occur elsewhere: inside a canonical string every
    quote is escaped, and a closing quote is never followed by a letter. Should it not be found
    exactly once, the record is serialised after all.
    """
    member = b',"sig":"' + sig.encode("ascii") + b'"'
    if entry.count(member) == 1:
        return entry.replace(member, b"", 1)
    return canonical_bytes({k: v for k, v in obj.items() if k != SIG}, validated=True)


def entry_hash(entry: bytes) -> str:
    """Lowercase hex SHA-256 of an entry's bytes (the canonical record *with* its signature).

    This is what a reading's ``prev`` and a receipt's ``reading_sha256`` name."""
    return hashlib.sha256(entry).hexdigest()


def record_hash(record: Mapping[str, Any]) -> bytes:
    """:func:`entry_hash` of a record not yet serialised, as raw bytes.

    The ledger entry's content is these canonical bytes (entry bytes = ``canonical_bytes``).
    """
    return bytes.fromhex(entry_hash(canonical_bytes(record)))
