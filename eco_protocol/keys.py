"""Ed25519 keys (RFC 8032) and device identifiers (docs/protocol.md §1).

Pure: keys go in and out as raw bytes; reading and writing key files is :mod:`eco_protocol.keyfile`.
"""

from __future__ import annotations

import hashlib
from typing import NewType

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from .errors import BadSignature, MalformedRecord
from .messages import Msg

DeviceId = NewType("DeviceId", str)

__all__ = [
    "DeviceId",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "device_id_of",
    "generate_private_key",
    "private_key_from_raw",
    "private_key_raw",
    "public_key_from_raw",
    "public_key_raw",
    "verify_signature",
]


def generate_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_raw(key: Ed25519PrivateKey) -> bytes:
    # the raw accessors need no ``serialization`` module (its PEM/SSH helpers cost the agent
    # ~1 MB of RSS); same 32 bytes as private_bytes(Encoding.Raw, PrivateFormat.Raw, …)
    return key.private_bytes_raw()


def private_key_from_raw(raw: bytes) -> Ed25519PrivateKey:
    if len(raw) != 32:
        raise MalformedRecord.coded("eco_protocol.finding.key.private_length", n=len(raw))
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_key_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return pub.public_bytes_raw()


def public_key_from_raw(raw: bytes) -> Ed25519PublicKey:
    if len(raw) != 32:
        raise MalformedRecord.coded("eco_protocol.finding.key.public_length", n=len(raw))
    try:
        return Ed25519PublicKey.from_public_bytes(raw)
    except ValueError as e:
        raise MalformedRecord.coded("eco_protocol.finding.key.public_invalid", error=str(e)) from e


def device_id_of(public_raw: bytes) -> DeviceId:
    """Lowercase hex of the first 16 bytes of SHA-256(raw public key)."""
    if len(public_raw) != 32:
        raise MalformedRecord.coded("eco_protocol.finding.key.public_length", n=len(public_raw))
    return DeviceId(hashlib.sha256(public_raw).digest()[:16].hex())


def verify_signature(public: Ed25519PublicKey, signature: bytes, message: bytes,
                     what: str | Msg) -> None:
    """Verify a pure Ed25519 signature, raising :class:`BadSignature` naming ``what``."""
    try:
        public.verify(signature, message)
    except InvalidSignature as e:
        raise BadSignature.coded("eco_protocol.finding.signature", what=what) from e
