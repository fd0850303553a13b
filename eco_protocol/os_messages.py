"""Operating-system and TOML errors in words a person reads, in Japanese or English (issue 17).

The three command lines print ``OSError`` s (a missing ``ca_file``, a serial port the user may
not open, a broker that refuses) and ``tomllib`` errors (a broken ``agent.toml``). Their own
texts are English only — ``strerror`` is the C library's, ``tomllib``'s message is fixed — so a
Japanese sentence around them would still carry an English one. This module turns them into
message codes (texts in :mod:`eco_protocol.messages_catalog_os`):

* :func:`os_reason` — why, by ``errno`` (ENOENT, EACCES, EBUSY, ECONNREFUSED, ETIMEDOUT,
  EHOSTUNREACH …); the operating system's own text for an errno we have no words for;
* :func:`os_error` — ``<path>: <why>``, the path the error names (or the one given);
* :func:`toml_error` — ``file F: line L, column C: <reason>`` for tomllib's reasons, the original
  text in parentheses for one we do not know.

Pure: an exception in, a :class:`~eco_protocol.messages.Msg` out.
"""

from __future__ import annotations

import errno
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Final

from .messages import Msg, msg, os_type_reason, text

# errno → the catalog's name for it (eco_protocol.os.<name>)
ERRNO_NAMES: Final[Mapping[int, str]] = {
    errno.ENOENT: "not_found",
    errno.EACCES: "permission",
    errno.EPERM: "not_permitted",
    errno.EISDIR: "is_directory",
    errno.ENOTDIR: "not_directory",
    errno.EBUSY: "busy",
    errno.EAGAIN: "busy",
    errno.EEXIST: "exists",
    errno.ENOSPC: "no_space",
    errno.EROFS: "read_only",
    errno.ENOTTY: "not_a_tty",
    errno.ENODEV: "no_device",
    errno.ENXIO: "no_device",
    errno.EIO: "io",
    errno.ECONNREFUSED: "refused",
    errno.ECONNRESET: "reset",
    errno.ETIMEDOUT: "timed_out",
    errno.EHOSTUNREACH: "host_unreachable",
    errno.ENETUNREACH: "net_unreachable",
    errno.EADDRINUSE: "address_in_use",
}

# tomllib's reasons (Lib/tomllib/_parser.py) → eco_protocol.toml.<name>; a reason with a value
# in it is matched by its fixed start and the value passed on
TOML_REASONS: Final[tuple[tuple[re.Pattern[str], str], ...]] = tuple(
    (re.compile(pattern), name) for pattern, name in (
        (r"^Invalid value$", "invalid_value"),
        (r"^Expected '=' after a key in a key/value pair$", "expected_equals"),
        (r"^Expected '\]' at the end of a table declaration$", "expected_table_end"),
        (r"^Expected '\]\]' at the end of an array declaration$", "expected_array_end"),
        (r"^Expected newline or end of document after a statement$", "expected_newline"),
        (r"^Invalid statement$", "invalid_statement"),
        (r"^Invalid initial character for a key part$", "invalid_key"),
        (r"^Cannot overwrite a value$", "overwrite"),
        (r"^Cannot declare (?P<value>.+) twice$", "declared_twice"),
        (r"^Cannot mutate immutable namespace (?P<value>.+)$", "immutable"),
        (r"^Cannot redefine namespace (?P<value>.+)$", "redefine"),
        (r"^Duplicate inline table key (?P<value>.+)$", "duplicate_key"),
        (r"^Unterminated string$", "unterminated_string"),
        (r"^Unclosed array$", "unclosed_array"),
        (r"^Unclosed inline table$", "unclosed_table"),
        (r"^Illegal character (?P<value>.+)$", "illegal_character"),
        (r"^Found invalid character (?P<value>.+)$", "found_invalid"),
        (r"^Invalid date or datetime$", "invalid_datetime"),
        (r"^Invalid hex value$", "invalid_hex"),
        (r"^Unescaped '\\' in a string$", "unescaped_backslash"),
        (r"^Expected (?P<value>.+)$", "expected"),
    ))
_AT: Final = re.compile(r"^(?P<reason>.*) \(at (?:line (?P<line>\d+), column (?P<col>\d+)|"
                        r"(?P<end>end of document))\)$", re.DOTALL)


def errno_reason(code: int | None) -> Msg | None:
    """The words for ``errno`` ``code``; None when we have none (or no code)."""
    return None if code is None or code not in ERRNO_NAMES else \
        msg(f"eco_protocol.os.{ERRNO_NAMES[code]}")


def os_reason(err: BaseException) -> Msg | str:
    """Why an operation failed: by ``errno`` when the error has one we have words for, else as
    :func:`eco_protocol.messages.os_type_reason` says it (by type; the system's text otherwise)."""
    code = getattr(err, "errno", None)
    if isinstance(code, int) and code in ERRNO_NAMES:
        return msg(f"eco_protocol.os.{ERRNO_NAMES[code]}")
    if isinstance(err, TimeoutError):  # socket timeouts carry no errno
        return msg("eco_protocol.os.timed_out")
    return os_type_reason(err)


def os_error(err: BaseException, path: str | Path | None = None) -> Msg:
    """``<path>: <why>`` — the path given, else the one the error names; ``<why>`` alone when
    neither names one."""
    where = path if path is not None else getattr(err, "filename", None)
    if where is None or where == "":
        return msg("eco_protocol.os.error", reason=os_reason(err))
    return msg("eco_protocol.os.error_at", path=str(where), reason=os_reason(err))


def toml_reason(reason: str) -> Msg:
    """One of tomllib's reasons in the reader's language; an unknown one quoted as it is."""
    for pattern, name in TOML_REASONS:
        m = pattern.match(reason)
        if m:
            return msg(f"eco_protocol.toml.{name}", value=m.groupdict().get("value") or "")
    return msg("eco_protocol.toml.other", reason=reason)


def toml_error(err: tomllib.TOMLDecodeError, path: str | Path | None = None) -> Msg:
    """``file F: line L, column C: <reason>`` (without ``file F`` when there is no file)."""
    m = _AT.match(str(err))
    if m is None:
        reason: Msg = msg("eco_protocol.toml.other", reason=str(err))
        where: Msg | str = ""
    else:
        reason = toml_reason(m["reason"])
        where = msg("eco_protocol.toml.at_end") if m["end"] else \
            msg("eco_protocol.toml.at", line=int(m["line"]), column=int(m["col"]))
    if path is None:
        return msg("eco_protocol.toml.error", where=where, reason=reason)
    return msg("eco_protocol.toml.file_error", path=str(path), where=where, reason=reason)


def read_text_or_exit(path: Path, lang: str, code: str) -> str:
    """``path``'s UTF-8 text, or a command's one-line exit: the catalogue line ``code`` in
    ``lang``, given the ``path`` and the OS's ``reason`` (a file that is not UTF-8 too)."""
    try:
        return path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(text(code, lang, path=path, reason=os_reason(e))) from e


__all__ = ["ERRNO_NAMES", "TOML_REASONS", "errno_reason", "os_error", "os_reason",
           "read_text_or_exit", "toml_error", "toml_reason"]
