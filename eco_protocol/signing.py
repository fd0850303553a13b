"""Sign and verify records (docs/protocol.md §1).

A signed record is the record plus ``"sig"``: base64 of the Ed25519 signature over the RFC 8785
bytes of the record without ``sig``. Signer and verifier both go through :func:`signing_bytes`
so the two can never drift apart.
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


def signing_bytes(record: Mapping[str, Any]) -> bytes:
    """The bytes a signature covers: the canonical record without ``sig``."""
    return canonical_bytes({k: v for k, v in record.items() if k != SIG})


def sign_record(record: Mapping[str, Any], key: Ed25519PrivateKey) -> dict[str, Any]:
    """Return a copy of ``record`` with ``sig`` set. Any existing ``sig`` is replaced."""
    body = {k: v for k, v in record.items() if k != SIG}
    body[SIG] = b64encode(key.sign(canonical_bytes(body)))
    return body


def verify_record(record: Mapping[str, Any], public: Ed25519PublicKey, what: str) -> None:
    """Raise :class:`~eco_protocol.errors.BadSignature` unless ``record['sig']`` verifies."""
    sig_text = record.get(SIG)
    if sig_text is None:
        raise MalformedRecord(f"{what}: missing 'sig'")
    sig = b64decode(sig_text, f"{what}: sig")
    if len(sig) != 64:
        raise MalformedRecord(f"{what}: sig must be 64 bytes, got {len(sig)}")
    verify_signature(public, sig, signing_bytes(record), what)


def record_hash(record: Mapping[str, Any]) -> bytes:
    """SHA-256 of the canonical bytes of a record *with* its signature.

    This is what a reading's ``prev`` names and what a receipt's ``reading_sha256`` names; it is
    also the ledger entry's content (entry bytes = these canonical bytes).
    """
    return hashlib.sha256(canonical_bytes(record)).digest()
