"""What the resident's statement QR code holds, and reading it back at the shop (issue 20).

The QR code carries an unsigned W3C Verifiable Presentation (VC Data Model 2.0 §4.13) of the
points statement and the household's enrolment credentials — the statement says the balance,
the enrolment credentials carry the status-list entries a shop checks revocation with (the
statement itself has none). As compact JSON that is ~2.3 kB for one device, beyond what a
phone reads reliably from a screen, so it is packed as the EU Digital COVID Certificate packs
its payload: zlib (RFC 1950) of the compact UTF-8 JSON, then Base45 (RFC 9285), whose alphabet
is exactly QR's alphanumeric mode, behind the prefix ``ECO1:`` — ~1.4 k characters, a version
~25 code. docs/protocol.md §8 describes the encoding.

Pure: no I/O. :func:`decode` also takes the JSON itself (a presentation or one credential), as a
downloaded file is pasted.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, Final

from eco_protocol.credentials import VC_V2_CONTEXT

PREFIX: Final = "ECO1:"
PRESENTATION_TYPE: Final = "VerifiablePresentation"
MAX_INFLATED: Final = 256 * 1024  # a larger payload is refused (a zlib bomb)
MAX_TEXT: Final = 64 * 1024  # what the shop's form takes at most
BASE45: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_VALUE: Final = {c: i for i, c in enumerate(BASE45)}


class QrPayloadError(ValueError):
    """The text is not a statement QR code's content (nor credential JSON)."""


def b45encode(data: bytes) -> str:
    """RFC 9285: each two bytes as three characters (little end first), a last byte as two."""
    out = []
    for i in range(0, len(data) - 1, 2):
        n = data[i] * 256 + data[i + 1]
        out.append(BASE45[n % 45] + BASE45[n // 45 % 45] + BASE45[n // 2025])
    if len(data) % 2:
        out.append(BASE45[data[-1] % 45] + BASE45[data[-1] // 45])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """RFC 9285's decoding; a character outside the alphabet, a dangling character or a group
    above 65535 (255 for the last pair) is refused."""
    try:
        values = [_VALUE[c] for c in text]
    except KeyError as e:
        raise QrPayloadError(f"not Base45: character {e.args[0]!r}") from None
    if len(values) % 3 == 1:
        raise QrPayloadError("not Base45: a dangling character at the end")
    out = bytearray()
    for i in range(0, len(values), 3):
        group = values[i:i + 3]
        n = sum(v * 45 ** k for k, v in enumerate(group))
        if len(group) == 3:
            if n > 0xFFFF:
                raise QrPayloadError("not Base45: a group above 65535")
            out += n.to_bytes(2, "big")
        else:
            if n > 0xFF:
                raise QrPayloadError("not Base45: a last pair above 255")
            out.append(n)
    return bytes(out)


def presentation(credentials: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """An unsigned Verifiable Presentation of ``credentials`` (the statement first)."""
    return {"@context": [VC_V2_CONTEXT], "type": [PRESENTATION_TYPE],
            "verifiableCredential": [dict(c) for c in credentials]}


def compact(obj: Mapping[str, Any]) -> bytes:
    """Compact UTF-8 JSON (no spaces): what is compressed."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def encode(credentials: Sequence[Mapping[str, Any]]) -> str:
    """The QR code's text: ``ECO1:`` + Base45(zlib(compact JSON of the presentation))."""
    return PREFIX + b45encode(zlib.compress(compact(presentation(credentials)), 9))


def _inflate(packed: bytes) -> bytes:
    try:
        inflater = zlib.decompressobj()
        data = inflater.decompress(packed, MAX_INFLATED)
    except zlib.error as e:
        raise QrPayloadError(f"not zlib data ({e})") from None
    if inflater.unconsumed_tail or not inflater.eof:
        raise QrPayloadError(f"truncated, or larger than {MAX_INFLATED} bytes unpacked")
    return data


def decode(text: str) -> list[dict[str, Any]]:
    """The credentials a QR code's text (or pasted JSON) holds, the statement first."""
    text = text.strip()
    if len(text) > MAX_TEXT:
        raise QrPayloadError(f"longer than {MAX_TEXT} characters")
    if text.upper().startswith(PREFIX):
        raw = _inflate(b45decode(text[len(PREFIX):].upper()))
    elif text.startswith("{"):
        raw = text.encode("utf-8")
    else:
        raise QrPayloadError(f"neither {PREFIX}… nor JSON")
    try:
        obj = json.loads(raw)
    except (ValueError, RecursionError) as e:
        raise QrPayloadError(f"not JSON ({e})") from None
    if not isinstance(obj, dict):
        raise QrPayloadError("not a JSON object")
    types = obj.get("type")
    if not (isinstance(types, list) and PRESENTATION_TYPE in types):
        return [obj]  # one credential, as downloaded
    held = obj.get("verifiableCredential")
    if not isinstance(held, list) or not held or not all(isinstance(c, dict) for c in held):
        raise QrPayloadError("a presentation without credentials")
    return list(held)


__all__ = ["PREFIX", "QrPayloadError", "b45decode", "b45encode", "compact", "decode", "encode",
           "presentation"]
