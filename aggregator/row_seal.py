"""Seals for the few stored values the log cannot re-derive: a checkpoint's ``signed_at`` and
the rows of the rejection table (the operator's record of refused messages).

``ledger verify`` re-derives every other stored byte from the log; these two are facts of the
moment (when a checkpoint was signed, what was refused and why), so an insider with the
database could have changed them unseen. Each is sealed with the log key when written — an
Ed25519 signature over a domain-separated, canonical encoding of the table and the values — and
the audit checks the seal under the log's keys (any key of its chain, since a row outlives a key
rotation). Rows written before seals existed are listed by a sealed marker
(:data:`SEALS_FROM_META`); a row after it without a valid seal is named. Pure: no I/O.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Sequence
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from eco_protocol.canonical import canonical_bytes

DOMAIN: Final = b"eco-row-seal/v1\n"
# meta key: "<first sealed rejection id> <first sealed checkpoint size> <seal>" (see the module)
SEALS_FROM_META: Final = "row_seals_from"

Value = str | int | None


def sealed_bytes(table: str, values: Sequence[Value]) -> bytes:
    """What a seal signs: the domain, the table, and the values as canonical JSON."""
    return DOMAIN + table.encode("ascii") + b"\n" + canonical_bytes(list(values))


def seal(key: Ed25519PrivateKey, table: str, values: Sequence[Value]) -> str:
    return base64.b64encode(key.sign(sealed_bytes(table, values))).decode("ascii")


def holds(keys: Iterable[Ed25519PublicKey], table: str, values: Sequence[Value],
          sig: object) -> bool:
    """Whether ``sig`` is a seal of these values under any of ``keys``."""
    if not isinstance(sig, str):
        return False
    try:
        raw = base64.b64decode(sig, validate=True)
    except (binascii.Error, ValueError):
        return False
    data = sealed_bytes(table, values)
    for key in keys:
        try:
            key.verify(raw, data)
            return True
        except InvalidSignature:
            continue
    return False


def marker(key: Ed25519PrivateKey, first_rejection: int, first_checkpoint: int) -> str:
    """The meta value that says from where on every row is sealed, itself sealed."""
    values: list[Value] = [first_rejection, first_checkpoint]
    return f"{first_rejection} {first_checkpoint} {seal(key, SEALS_FROM_META, values)}"


def read_marker(keys: Iterable[Ed25519PublicKey], text: object) -> tuple[int, int] | None:
    """(first sealed rejection id, first sealed checkpoint size), or None if the marker is not
    one the log's key sealed."""
    if not isinstance(text, str):
        return None
    parts = text.split(" ")
    if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
        return None
    first = (int(parts[0]), int(parts[1]))
    return first if holds(keys, SEALS_FROM_META, list(first), parts[2]) else None


__all__ = ["SEALS_FROM_META", "holds", "marker", "read_marker", "seal", "sealed_bytes"]
