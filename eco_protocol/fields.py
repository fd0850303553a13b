"""Field validation for wire records, and the one base every signed record shares.

Every record module (:mod:`records`, :mod:`programme_records`, :mod:`logkey`) checks its JSON
with these functions, so a field is refused with the same message wherever it appears, and no
record module needs another record module's private helpers. Each function names the field it
checks (``what``), so errors say where the record is wrong, and returns the value it accepted, so
``from_dict`` can validate and build in one expression.

This module imports only the codecs below it (:mod:`canonical`, :mod:`encoding`, :mod:`errors`):
it sits at the bottom of the record layer and can never take part in an import circle.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any, ClassVar, TypeVar

from .canonical import MAX_SAFE_INTEGER
from .encoding import b64decode, parse_time
from .errors import MalformedRecord, UnknownType

SIG = "sig"
"""The member holding a record's signature (docs/protocol.md §1)."""

E = TypeVar("E", bound=enum.StrEnum)


def json_object(d: object, what: str) -> Mapping[str, Any]:
    """``d`` itself, if it is a JSON object."""
    if not isinstance(d, Mapping):
        raise MalformedRecord.coded("eco_protocol.field.not_object", what=what,
                                    type=type(d).__name__)
    return d


def exact_keys(d: Mapping[str, Any], required: set[str], optional: set[str], what: str) -> None:
    """Refuse missing and unknown members: a signed record carries exactly its fields."""
    keys = set(d)
    missing = required - keys
    if missing:
        raise MalformedRecord.coded("eco_protocol.field.missing", what=what,
                                    fields=", ".join(sorted(missing)))
    unknown = keys - required - optional
    if unknown:
        raise MalformedRecord.coded("eco_protocol.field.unknown", what=what,
                                    fields=", ".join(sorted(unknown)))


def int_field(v: object, what: str, lo: int = -MAX_SAFE_INTEGER,
              hi: int = MAX_SAFE_INTEGER) -> int:
    """An integer in ``[lo, hi]``; ``true`` is not an integer on the wire."""
    if not isinstance(v, int) or isinstance(v, bool):
        raise MalformedRecord.coded("eco_protocol.field.not_int", what=what, value=repr(v))
    if not lo <= v <= hi:
        raise MalformedRecord.coded("eco_protocol.field.int_range", what=what,
                                    value=v, lo=lo, hi=hi)
    return v


def str_field(v: object, what: str, max_len: int = 256, allow_empty: bool = False) -> str:
    """A string of at most ``max_len`` characters, non-empty unless allowed."""
    if not isinstance(v, str):
        raise MalformedRecord.coded("eco_protocol.field.not_str", what=what, value=repr(v))
    if not v and not allow_empty:
        raise MalformedRecord.coded("eco_protocol.field.empty", what=what)
    if len(v) > max_len:
        raise MalformedRecord.coded("eco_protocol.field.too_long", what=what, max=max_len)
    return v


def record_type(d: Mapping[str, Any], expected: str, what: str) -> None:
    """Refuse any ``type`` but ``expected``: the type carries the version, never guessed."""
    t = d.get("type")
    if t != expected:
        raise UnknownType.coded("eco_protocol.field.wrong_type", what=what,
                                expected=expected, got=repr(t))


def sig_field(v: object, what: str) -> str:
    """Canonical base64 of exactly 64 bytes (an Ed25519 signature); ``what`` names the record."""
    raw = b64decode(str_field(v, f"{what}.sig"), f"{what}.sig")
    if len(raw) != 64:
        raise MalformedRecord.coded("eco_protocol.field.sig_length", what=what, n=len(raw))
    assert isinstance(v, str)
    return v


def time_field(v: object, what: str) -> str:
    """An RFC 3339 UTC time in the one spelling signed records allow, kept as text."""
    parse_time(v, what)
    assert isinstance(v, str)
    return v


def enum_field(cls: type[E], v: object, what: str) -> E:
    """A member of ``cls`` by value; the error lists what is allowed."""
    if not isinstance(v, str):
        raise MalformedRecord.coded("eco_protocol.field.not_str", what=what, value=repr(v))
    try:
        return cls(v)
    except ValueError as e:
        allowed = ", ".join(m.value for m in cls)
        raise MalformedRecord.coded("eco_protocol.field.not_one_of", what=what,
                                    value=repr(v), allowed=allowed) from e


def plain_json(v: object, what: str, depth: int = 0) -> None:
    """Accept only JSON without floats (a free-form member that is still signed)."""
    if depth > 4:
        raise MalformedRecord.coded("eco_protocol.field.too_deep", what=what)
    if v is None or isinstance(v, (str, bool)):
        return
    if isinstance(v, int):
        int_field(v, what)
        return
    if isinstance(v, list):
        for i, x in enumerate(v):
            plain_json(x, f"{what}[{i}]", depth + 1)
        return
    if isinstance(v, Mapping):
        for k, x in v.items():
            plain_json(x, f"{what}.{k}", depth + 1)
        return
    raise MalformedRecord.coded("eco_protocol.field.not_allowed", what=what, type=type(v).__name__)


class Signed:
    """Base of every signed wire record: a ``type``, a body and an optional ``sig``.

    The boilerplate that was the same in every record lives here once: opening the JSON object
    (object, ``type``, exact members), checking ``sig`` on construction, and putting ``type``
    first and ``sig`` last in ``to_dict``. A subclass is a frozen dataclass with a ``sig: str |
    None`` field that sets :attr:`TYPE` and :attr:`WHAT` (plain assignments, unannotated, so
    they stay out of the dataclass's fields) and writes :meth:`body`; its own
    ``from_dict`` still builds it field by field, so every error message stays where it was.
    The base holds no state (empty ``__slots__``), so subclasses keep ``slots=True``.
    """

    __slots__ = ()

    TYPE: ClassVar[str]
    """The wire ``type``, version included (``eco.revoke/v1``)."""
    WHAT: ClassVar[str]
    """The name errors give the record (``revoke``)."""
    sig: str | None
    """Declared here for the methods below; each subclass declares it as a dataclass field."""

    def check_sig(self) -> None:
        """For ``__post_init__``: a signature, if present, is 64 bytes of canonical base64."""
        if self.sig is not None:
            sig_field(self.sig, self.WHAT)

    @classmethod
    def open(cls, d: object, required: set[str], optional: frozenset[str] | set[str] = frozenset(),
             *, require_sig: bool = True) -> Mapping[str, Any]:
        """The checks before any field: a JSON object of this ``type`` whose members are
        ``type``, ``required`` and ``sig`` (``optional`` may be there too)."""
        m = json_object(d, cls.WHAT)
        record_type(m, cls.TYPE, cls.WHAT)
        exact_keys(m, {"type", *required, *((SIG,) if require_sig else ())},
                   {SIG, *optional}, cls.WHAT)
        return m

    def body(self) -> dict[str, Any]:
        """The record's members other than ``type`` and ``sig``, in wire order."""
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: ``type``, the body, then ``sig`` if the record is signed."""
        d: dict[str, Any] = {"type": self.TYPE, **self.body()}
        if self.sig is not None:
            d[SIG] = self.sig
        return d


__all__ = ["SIG", "Signed", "enum_field", "exact_keys", "int_field", "json_object",
           "plain_json", "record_type", "sig_field", "str_field", "time_field"]
