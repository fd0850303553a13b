"""Typed reading of one TOML table, for the agent's configuration and any other that wants its
messages: each getter names the table and key it checks and says what to write instead.

The caller chooses the exception (``error=``, e.g. its own ``ConfigError``), so its CLI catches
one type and the text is the same whichever configuration uses this. Unknown keys are refused
when the section is opened: a misspelt key that is silently ignored is a setting that silently
does not apply.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from eco_protocol.messages import msg


class TomlSectionError(ValueError):
    """The default error of :class:`Section` when the caller names none."""


class Section:
    """One table (``[device]``, ``[[meters]] id='pv1'`` …) of a parsed TOML document.

    ``name`` starts every message and may be changed once the table is known better (e.g. a
    ``[[meters]]`` entry once its id is read)."""

    def __init__(self, data: Mapping[str, Any], name: str, allowed: Iterable[str], *,
                 error: type[Exception] = TomlSectionError) -> None:
        self.data = data
        self.name = name
        self.error = error
        allowed_set = set(allowed)
        unknown = sorted(set(data) - allowed_set)
        if unknown:
            raise error(msg("eco_runtime.section.unknown_keys", name=name, keys=unknown,
                            allowed=sorted(allowed_set)))

    def _where(self, key: str) -> str:
        return f"{self.name} {key}"

    # the messages are eco_runtime/messages_catalog.py's: an error type that is an
    # eco_protocol.messages.Localized (the agent's ConfigError) keeps their code for --lang

    def str_(self, key: str, default: str | None = None, *, required: bool = False) -> str | None:
        v = self.data.get(key)
        if v is None:
            if required:
                raise self.error(msg("eco_runtime.section.missing", where=self._where(key),
                                     key=key))
            return default
        if not isinstance(v, str):
            raise self.error(msg("eco_runtime.section.not_string", where=self._where(key),
                                 value=repr(v)))
        return v

    def req_str(self, key: str) -> str:
        v = self.str_(key, required=True)
        assert v is not None
        if not v.strip():
            raise self.error(msg("eco_runtime.section.empty", where=self._where(key)))
        return v

    def int_(self, key: str, default: int, lo: int, hi: int) -> int:
        v = self.data.get(key, default)
        if not isinstance(v, int) or isinstance(v, bool):
            raise self.error(msg("eco_runtime.section.not_int", where=self._where(key),
                                 value=repr(v)))
        if not lo <= v <= hi:
            raise self.error(msg("eco_runtime.section.range", where=self._where(key), value=v,
                                 lo=lo, hi=hi))
        return v

    def float_(self, key: str, default: float, lo: float, hi: float) -> float:
        v = self.data.get(key, default)
        if not isinstance(v, int | float) or isinstance(v, bool) or not math.isfinite(v):
            raise self.error(msg("eco_runtime.section.not_number", where=self._where(key),
                                 value=repr(v)))
        if not lo <= v <= hi:
            raise self.error(msg("eco_runtime.section.range", where=self._where(key), value=v,
                                 lo=lo, hi=hi))
        return float(v)

    def bool_(self, key: str, default: bool) -> bool:
        v = self.data.get(key, default)
        if not isinstance(v, bool):
            raise self.error(msg("eco_runtime.section.not_bool", where=self._where(key),
                                 value=repr(v)))
        return v


def table(doc: Mapping[str, Any], key: str, *,
          error: type[Exception] = TomlSectionError) -> Mapping[str, Any]:
    """``doc[key]`` as a table (empty if absent)."""
    v = doc.get(key, {})
    if not isinstance(v, Mapping):
        raise error(msg("eco_runtime.section.not_table", key=key, type=type(v).__name__))
    return v


def config_path(raw: str, base: Path | None) -> Path:
    """A path from a configuration file: ``~`` expanded, relative to ``base`` (the file's
    directory) unless absolute."""
    p = Path(raw).expanduser()
    if not p.is_absolute() and base is not None:
        p = base / p
    return p


def toml_string(value: str) -> str:
    """``value`` as a TOML basic string (JSON's escapes are TOML's for these characters): what
    the enrolment page writes into an agent.toml snippet and ``eco-agent provision`` writes
    back."""
    out = ['"']
    for ch in value:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out) + '"'


__all__ = ["Section", "TomlSectionError", "config_path", "table", "toml_string"]
