"""``[consortium]`` of aggregator.toml: where this town's claim-token secret, the consortium file
and the mirrors are (issue 18; docs/consortium.md). Its own small module so that
:mod:`aggregator.config` can parse it without importing what uses it
(:mod:`aggregator.equipment_claims`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from eco_protocol.messages import msg

from .errors import ConfigError

SETTINGS_KEYS: Final = frozenset({"claim_secret_file", "file", "member", "mirrors"})


@dataclass(frozen=True, slots=True)
class ClaimSettings:
    """``[consortium]``: ``claim_secret_file`` (required to enrol equipment), and, in a
    consortium, ``file`` (consortium.toml), ``member`` (this town's name in it) and ``mirrors``
    (the ``--state`` directory of ``eco-aggregator mirror``)."""

    secret_file: Path
    consortium_file: Path | None = None
    member: str | None = None
    mirrors: Path | None = None


def claim_settings(table: object, rel: Callable[[str], Path], where: str) -> ClaimSettings | None:
    """The ``[consortium]`` table of aggregator.toml, or None when there is none."""
    if table is None:
        return None
    if not isinstance(table, dict):
        raise ConfigError(msg("aggregator.claims.settings_table", where=where))
    values: dict[str, str] = {}
    for key, value in table.items():
        if key not in SETTINGS_KEYS:
            raise ConfigError(msg("aggregator.claims.settings_unknown", where=where, key=key,
                                  allowed=", ".join(sorted(SETTINGS_KEYS))))
        if not isinstance(value, str) or not value.strip():
            raise ConfigError(msg("aggregator.claims.settings_text", where=where, key=key))
        values[key] = value.strip()
    if "claim_secret_file" not in values:
        raise ConfigError(msg("aggregator.claims.settings_secret", where=where))
    together = {"file", "member", "mirrors"} & set(values)
    if together and together != {"file", "member", "mirrors"}:
        raise ConfigError(msg("aggregator.claims.settings_together", where=where))
    return ClaimSettings(rel(values["claim_secret_file"]),
                         rel(values["file"]) if "file" in values else None,
                         values.get("member"),
                         rel(values["mirrors"]) if "mirrors" in values else None)


__all__ = ["SETTINGS_KEYS", "ClaimSettings", "claim_settings"]
