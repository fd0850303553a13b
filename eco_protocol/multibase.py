"""Multibase text encodings of bytes: base58btc (``z…``) and base64url without padding (``u…``).

Why here and not in :mod:`eco_protocol.encoding`: these are the W3C/multiformats spellings that
DIDs (``did:key``, Multikey), Data Integrity proof values and Bitstring Status Lists use, none of
which the ledger's own records use. Strict like the rest of the package: one accepted spelling per
value (a decoder re-encodes and compares), so two parties never disagree on what a value says.
Pure; no dependency beyond the standard library.
"""

from __future__ import annotations

import base64
import binascii
from typing import Final

from .errors import CredentialError

BASE58_ALPHABET: Final = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX: Final = {c: i for i, c in enumerate(BASE58_ALPHABET)}
MAX_BASE58_CHARS: Final = 512  # base58 decoding is quadratic; our values are ≤ 90 characters


def base58_encode(data: bytes) -> str:
    """Bitcoin base58 (no multibase prefix): leading zero bytes become leading ``1``s."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(BASE58_ALPHABET[r])
    return "1" * zeros + "".join(reversed(out))


def base58_decode(text: str, what: str) -> bytes:
    """Inverse of :func:`base58_encode`, refusing characters outside the alphabet."""
    if not isinstance(text, str) or not text:
        raise CredentialError.coded("eco_protocol.finding.mb.not_str", what=what, value=repr(text))
    if len(text) > MAX_BASE58_CHARS:
        raise CredentialError.coded("eco_protocol.finding.mb.too_long",
                                    what=what, max=MAX_BASE58_CHARS)
    n = 0
    for pos, c in enumerate(text):
        digit = _B58_INDEX.get(c)
        if digit is None:
            raise CredentialError.coded("eco_protocol.finding.mb.char",
                                        what=what, char=repr(c), pos=pos)
        n = n * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * zeros + body


def encode_base58btc(data: bytes) -> str:
    """Multibase base58btc: ``z`` followed by base58 (Bitcoin alphabet)."""
    return "z" + base58_encode(data)


def decode_base58btc(text: object, what: str) -> bytes:
    """Decode a multibase base58btc string; any other multibase prefix is refused by name."""
    if not isinstance(text, str) or not text.startswith("z"):
        shown = text if not isinstance(text, str) else text[:12] + ("…" if len(text) > 12 else "")
        raise CredentialError.coded("eco_protocol.finding.mb.not_z", what=what, value=repr(shown))
    return base58_decode(text[1:], what)


def encode_base64url(data: bytes) -> str:
    """Multibase base64url without padding: ``u`` followed by RFC 4648 §5 text."""
    return "u" + base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def decode_base64url(text: object, what: str) -> bytes:
    """Decode a multibase base64url string (``u…``, no padding), refusing other spellings."""
    if not isinstance(text, str) or not text.startswith("u"):
        raise CredentialError.coded("eco_protocol.finding.mb.not_u", what=what)
    body = text[1:]
    if "=" in body or len(body) % 4 == 1:
        raise CredentialError.coded("eco_protocol.finding.mb.b64_length", what=what)
    try:
        raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError) as e:
        raise CredentialError.coded("eco_protocol.finding.mb.b64_invalid",
                                    what=what, error=str(e)) from e
    if encode_base64url(raw) != text:
        raise CredentialError.coded("eco_protocol.finding.mb.b64_canonical", what=what)
    return raw
