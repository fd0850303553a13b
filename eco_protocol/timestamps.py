"""XML Schema ``dateTimeStamp`` values, as W3C credentials, proofs and DID documents spell times.

Our own records use one spelling only (``encoding.parse_time``: ``YYYY-MM-DDTHH:MM:SSZ``), and
everything this project issues uses it too. A credential made by another implementation may
carry fractional seconds or an offset (``2024-01-01T09:00:00.123+09:00``), which the
Verifiable Credentials Data Model allows, so a verifier reads those as well; a time without a
zone is refused, because it names no instant.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from .errors import CredentialError

_DATETIME_STAMP_RE = re.compile(
    r"-?\d{4,}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")


def parse_datetime(text: object, what: str) -> datetime:
    """Parse an XML Schema dateTimeStamp (a date-time with a zone) into an aware UTC datetime."""
    if not isinstance(text, str) or not _DATETIME_STAMP_RE.fullmatch(text):
        raise CredentialError.coded("eco_protocol.field.zoned_time", what=what,
                                    value=repr(text))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as e:
        raise CredentialError.coded("eco_protocol.field.bad_time", what=what,
                                    value=repr(text), error=str(e)) from e
