"""Claim tokens: one piece of equipment, one claim, across a consortium of logs (issue 18 pt 4).

Two towns (or two households of one town) must not both be credited for one solar inverter,
one smart meter's supply point or one EV. Each enrolment therefore carries *claim tokens*: a
keyed hash of each piece of equipment's identity, so that every member can look a new
enrolment's equipment up in every member's log without any log publishing a serial number.

* The key is the consortium's **claim-token secret** (32 random bytes), held by the members and
  never published (docs/consortium.md says how it is distributed and rotated). Without it a
  token says nothing about the identity behind it: it is HMAC-SHA-256, and every kind of
  identity is hashed under its own domain (``eco-claim-token/v1`` NUL kind NUL identity), so an
  inverter serial and a supply point number that happen to be the same text never collide.
* Identities are **normalised** first, so that trivial variations of one identity give one
  token (:func:`normalise`): NFKC (full-width digits and letters become ASCII), upper case, no
  whitespace, no hyphens or dashes, SunSpec's NUL padding dropped, and the leading zeros of an
  all-digit serial number dropped (``000123`` is ``123``; a supply point number and a VIN have a
  fixed length, so their zeros stay).
* "Claim tokens" are about *equipment*; they have nothing to do with the energy claims of
  :mod:`eco_protocol.claims` (``eco.claim/v1``).

Pure: parsing the operator's text, the secret file's text, and hashing. No I/O.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from .encoding import hex_field
from .errors import MalformedRecord
from .fields import exact_keys, json_object

DOMAIN: Final = b"eco-claim-token/v1"
KEY_ID_LABEL: Final = b"eco-claim-token/v1 key id"
SECRET_BYTES: Final = 32
MAX_TOKENS: Final = 32

# dashes an operator may type or copy from a document, which NFKC leaves alone
_DASHES: Final = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc\uff70\ufe63\u2043"
_DROP: Final = re.compile(f"[\\s\\x00{re.escape(_DASHES)}]+")
_SUPPLY_POINT: Final = re.compile(r"[0-9]{22}")
_VIN: Final = re.compile(r"[A-HJ-NPR-Z0-9]{17}")
_KEY_ID: Final = re.compile(r"[0-9a-f]{16}")


class ClaimTokenError(MalformedRecord):
    """An identity, a secret file or a claim-token field is not what it must be; the message
    names it and says what to do."""


class EquipmentKind(enum.StrEnum):
    """The kinds of identity a token is made of; each is its own hash domain."""

    INVERTER = "inverter"          # SunSpec common model (1): Mn + SN
    SUPPLY_POINT = "supply_point"  # 供給地点特定番号: the smart meter's 22-digit supply point
    EV_CHARGER = "ev_charger"      # the charger's manufacturer + serial (OpenEVSE, ...)
    VIN = "vin"                    # the vehicle's identification number, when given


@dataclass(frozen=True, slots=True)
class Equipment:
    """One identity as entered (or reported): ``parts`` are (manufacturer, serial) for an
    inverter or a charger, (number,) for a supply point or a VIN."""

    kind: EquipmentKind
    parts: tuple[str, ...]

    def describe(self) -> str:
        """For messages to the operator who typed it (never logged: it is an identity)."""
        return f"{self.kind.value} {':'.join(self.parts)}"


@dataclass(frozen=True, slots=True, order=True)
class ClaimToken:
    """One token as an enrolment carries it: ``{"kind", "key_id", "token"}``."""

    kind: EquipmentKind
    key_id: str
    token: str

    @classmethod
    def from_dict(cls, d: object, what: str = "claim_tokens[]") -> ClaimToken:
        m = json_object(d, what)
        exact_keys(m, {"kind", "key_id", "token"}, set(), what)
        try:
            kind = EquipmentKind(m["kind"])
        except ValueError as e:
            raise ClaimTokenError.coded("eco_protocol.field.not_one_of", what=f"{what}.kind",
                                        value=repr(m["kind"]),
                                        allowed=", ".join(k.value for k in EquipmentKind)) from e
        return cls(kind, hex_field(m["key_id"], f"{what}.key_id", 16),
                   hex_field(m["token"], f"{what}.token", 64))

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind.value, "key_id": self.key_id, "token": self.token}


def parse_token_list(value: object, what: str) -> tuple[ClaimToken, ...]:
    """A record's ``claim_tokens``: a non-empty list, sorted and without repeats, so that a
    record has one spelling (its signature covers that spelling)."""
    if not isinstance(value, list) or not 1 <= len(value) <= MAX_TOKENS:
        raise ClaimTokenError.coded("eco_protocol.finding.key.tokens_list", what=what,
                                    max=MAX_TOKENS)
    tokens = tuple(ClaimToken.from_dict(x, f"{what}[{i}]") for i, x in enumerate(value))
    if list(tokens) != sorted(set(tokens)):
        raise ClaimTokenError.coded("eco_protocol.finding.key.tokens_order", what=what)
    return tokens


def token_list(tokens: Iterable[ClaimToken]) -> tuple[ClaimToken, ...]:
    """``tokens`` in their one canonical order (:func:`parse_token_list`)."""
    return tuple(sorted(set(tokens)))


# --- normalisation ------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """NFKC, upper case, without whitespace, NULs (SunSpec pads strings with them) or dashes."""
    return _DROP.sub("", unicodedata.normalize("NFKC", text)).upper()


def _serial(text: str) -> str:
    """A serial number: all-digit serials lose their leading zeros (tools print them padded
    or not); a serial with letters is kept as folded."""
    s = _fold(text)
    if s.isascii() and s.isdigit():
        return s.lstrip("0") or "0"
    return s


def normalise(eq: Equipment) -> str:
    """The one spelling of an identity that its token is made of; refuses an empty part, a
    supply point that is not 22 digits and a VIN that is not 17 VIN characters."""
    parts = [_fold(p) for p in eq.parts]
    if any(not p for p in parts):
        raise ClaimTokenError.coded("eco_protocol.tokens.empty_part", kind=eq.kind.value,
                                    parts=repr(eq.parts))
    if eq.kind in (EquipmentKind.INVERTER, EquipmentKind.EV_CHARGER):
        if len(parts) != 2:
            raise ClaimTokenError.coded("eco_protocol.tokens.two_parts", kind=eq.kind.value)
        return f"{parts[0]}\x00{_serial(eq.parts[1])}"
    if len(parts) != 1:
        raise ClaimTokenError.coded("eco_protocol.tokens.one_part", kind=eq.kind.value)
    (number,) = parts
    if eq.kind is EquipmentKind.SUPPLY_POINT and not _SUPPLY_POINT.fullmatch(number):
        raise ClaimTokenError.coded("eco_protocol.tokens.supply_point", number=eq.parts[0])
    if eq.kind is EquipmentKind.VIN and not _VIN.fullmatch(number):
        raise ClaimTokenError.coded("eco_protocol.tokens.vin", number=eq.parts[0])
    return number


_FLAG_KINDS: Final = {"inverter": EquipmentKind.INVERTER,
                      "supply-point": EquipmentKind.SUPPLY_POINT,
                      "supply_point": EquipmentKind.SUPPLY_POINT,
                      "ev-charger": EquipmentKind.EV_CHARGER,
                      "ev_charger": EquipmentKind.EV_CHARGER, "vin": EquipmentKind.VIN}


def parse_equipment(text: str, what: str = "--equipment") -> Equipment:
    """``KIND=IDENTITY`` as an operator types it: ``inverter=MANUFACTURER:SERIAL``,
    ``supply-point=NUMBER``, ``ev-charger=MANUFACTURER:SERIAL``, ``vin=VIN``. The identity is
    checked (:func:`normalise`) here so a typo is refused before anything is enrolled."""
    kind_text, sep, identity = text.partition("=")
    kind = _FLAG_KINDS.get(kind_text.strip().lower())
    if not sep or kind is None:
        raise ClaimTokenError.coded("eco_protocol.tokens.syntax", what=what, text=text)
    if kind in (EquipmentKind.INVERTER, EquipmentKind.EV_CHARGER):
        maker, colon, serial = identity.partition(":")
        if not colon:
            raise ClaimTokenError.coded("eco_protocol.tokens.maker_serial", what=what,
                                        text=text, kind=kind.value)
        eq = Equipment(kind, (maker, serial))
    else:
        eq = Equipment(kind, (identity,))
    normalise(eq)
    return eq


# --- the secret and the tokens ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClaimSecret:
    """One claim-token secret; ``key_id`` (public) tells which secret made a token."""

    secret: bytes

    def __repr__(self) -> str:
        return f"ClaimSecret(key_id={self.key_id!r})"

    @property
    def key_id(self) -> str:
        return hmac.new(self.secret, KEY_ID_LABEL, hashlib.sha256).hexdigest()[:16]


def parse_secrets(text: str, where: str) -> tuple[ClaimSecret, ...]:
    """The secret file: one secret per line as 64 hex digits, the current one first, retired
    ones after it (still needed to find equipment enrolled under them); ``#`` comments."""
    out: list[ClaimSecret] = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            raw = bytes.fromhex(line)
        except ValueError:
            raw = b""
        if len(raw) != SECRET_BYTES:
            raise ClaimTokenError.coded("eco_protocol.tokens.secret_line", where=where, n=n)
        out.append(ClaimSecret(raw))
    if not out:
        raise ClaimTokenError.coded("eco_protocol.tokens.no_secret", where=where)
    return tuple(out)


def claim_token(secret: ClaimSecret, eq: Equipment) -> ClaimToken:
    """HMAC-SHA-256 under the secret of the kind and the normalised identity."""
    message = DOMAIN + b"\x00" + eq.kind.value.encode() + b"\x00" + normalise(eq).encode()
    return ClaimToken(eq.kind, secret.key_id,
                      hmac.new(secret.secret, message, hashlib.sha256).hexdigest())


def claim_tokens(secret: ClaimSecret, equipment: Sequence[Equipment]) -> tuple[ClaimToken, ...]:
    """What an enrolment carries: one token per identity, in canonical order."""
    return token_list(claim_token(secret, eq) for eq in equipment)


def lookup_tokens(secrets: Sequence[ClaimSecret],
                  equipment: Sequence[Equipment]) -> Mapping[ClaimToken, Equipment]:
    """Every token the equipment has under every secret held (current and retired), to look up
    in the logs: an enrolment made before a rotation carries the older secret's tokens."""
    return {claim_token(s, eq): eq for s in secrets for eq in equipment}


__all__ = ["ClaimSecret", "ClaimToken", "ClaimTokenError", "Equipment", "EquipmentKind",
           "claim_token", "claim_tokens", "lookup_tokens", "normalise", "parse_equipment",
           "parse_secrets", "parse_token_list", "token_list"]
