"""Small strict codecs shared by every record: base64, hex, RFC 3339 timestamps.

Strict means one accepted spelling per value, so that two parties can never disagree on what
a signed field says.
"""

from __future__ import annotations

import base64
import binascii
import functools
import re
from datetime import UTC, datetime, timedelta, timezone
from typing import Final

from .errors import MalformedRecord

# Japan time: the scheme's days, months and fiscal years (docs/methodology.md); here rather than in
# the methodology so that a device can name a day without importing the J-Credit arithmetic
JST: Final = timezone(timedelta(hours=9), "JST")


def day_of(moment: datetime) -> str:
    """The JST calendar day of an instant, ``YYYY-MM-DD``."""
    return moment.astimezone(JST).strftime("%Y-%m-%d")

_TIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
_HEX_RE = re.compile(r"[0-9a-f]*")


def b64encode(data: bytes) -> str:
    """Standard base64 with padding (RFC 4648 section 4)."""
    return base64.b64encode(data).decode("ascii")


def b64decode(text: str, what: str) -> bytes:
    """Decode standard padded base64, refusing anything non-canonical."""
    if not isinstance(text, str):
        raise MalformedRecord.coded("eco_protocol.field.not_b64_text", what=what,
                                    type=type(text).__name__)
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError) as e:
        raise MalformedRecord.coded("eco_protocol.field.bad_b64", what=what, error=str(e)) from e
    if base64.b64encode(raw).decode("ascii") != text:
        raise MalformedRecord.coded("eco_protocol.field.b64_canonical", what=what)
    return raw


def hex_field(text: object, what: str, length: int) -> str:
    """Validate a lowercase hex string of exactly ``length`` characters."""
    if not isinstance(text, str) or len(text) != length or not _HEX_RE.fullmatch(text):
        raise MalformedRecord.coded("eco_protocol.field.hex", what=what, length=length,
                                    value=repr(text))
    return text


def format_time(moment: datetime) -> str:
    """RFC 3339 UTC with whole seconds, the only time spelling in signed records."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware UTC datetime")
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: object, what: str) -> datetime:
    """Parse ``YYYY-MM-DDTHH:MM:SSZ`` into an aware UTC datetime."""
    if not isinstance(text, str) or not _TIME_RE.match(text):
        raise MalformedRecord.coded("eco_protocol.field.time", what=what, value=repr(text))
    try:
        return _parse_utc(text)
    except ValueError as e:
        raise MalformedRecord.coded("eco_protocol.field.bad_time", what=what,
                                    value=repr(text), error=str(e)) from e


@functools.lru_cache(maxsize=8192)
def _parse_utc(text: str) -> datetime:
    # Speed: strptime costs more than a signature check, and a record's times are parsed several
    # times (validation, rules, methodology) while a whole town's readings share the same
    # interval boundaries, so the few thousand most recent strings cover nearly every call.
    # datetimes are immutable; errors are not cached and are raised afresh each time.
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
