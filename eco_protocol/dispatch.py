"""One dispatcher from a JSON object to the verified record its ``type`` names.

The record modules (:mod:`records`, :mod:`programme_records`, :mod:`logkey`, :mod:`claims`) each
know their own types only; this module imports all of them and none of them imports it, so there
is one place that lists every type a verifier understands and no import circle. A ``type``
carries its version: an unknown one is refused by name, never guessed.
"""

from __future__ import annotations

from collections.abc import Callable
from types import MappingProxyType
from typing import Final

from .claims import Claim
from .errors import UnknownType
from .fields import json_object
from .logkey import LogKeyChange
from .programme_records import BatchSeal, Certification, ProgrammeRecord, Redemption
from .records import Enrolment, Quarantine, Reading, Receipt, Record, Release, Revocation

AnyRecord = Record | ProgrammeRecord | LogKeyChange | Claim
"""Every record :func:`parse_record` can return."""

_RECORD_CLASSES: Final = (Reading, Receipt, Enrolment, Revocation, Quarantine, Release,
                          BatchSeal, Redemption, Certification, LogKeyChange, Claim)

PARSERS: Final[MappingProxyType[str, Callable[[object], AnyRecord]]] = MappingProxyType(
    {cls.TYPE: cls.from_dict for cls in _RECORD_CLASSES})
"""``type`` → ``from_dict`` of its record class, for every type this verifier knows."""


def parse_record(d: object) -> AnyRecord:
    """Dispatch on ``type``; an unknown type or version is refused by name."""
    m = json_object(d, "record")
    t = m.get("type")
    parser = PARSERS.get(t) if isinstance(t, str) else None
    if parser is None:
        known = ", ".join(sorted(PARSERS))
        raise UnknownType.coded("eco_protocol.finding.key.unknown_type", type=repr(t), known=known)
    return parser(m)


__all__ = ["PARSERS", "AnyRecord", "parse_record"]
