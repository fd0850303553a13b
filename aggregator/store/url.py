"""Which ledger store a configuration names: ``sqlite:///path`` (default) or ``postgresql://…``.

SQLite URLs follow the convention SQLAlchemy made familiar: the path comes after three slashes,
so ``sqlite:///ledger.sqlite3`` is relative (to the state directory) and
``sqlite:////var/lib/eco/ledger.sqlite3`` is absolute. PostgreSQL URLs are libpq connection URIs
(postgresql.org/docs/current/libpq-connect.html#LIBPQ-CONNSTRING-URIS), passed through as given;
a password belongs in ``~/.pgpass`` or ``PGPASSWORD``, not in the config file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import unquote

from eco_protocol.messages import msg

from ..errors import ConfigError

SQLITE_PREFIX = "sqlite:///"
DEFAULT_URL = "sqlite:///ledger.sqlite3"
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*")


class Backend(StrEnum):
    SQLITE = "sqlite"
    POSTGRESQL = "postgresql"


@dataclass(frozen=True, slots=True)
class StoreUrl:
    """A parsed store location. ``url`` is normalised: SQLite paths are absolute."""

    backend: Backend
    url: str
    sqlite_path: Path | None = None

    def __post_init__(self) -> None:
        if (self.backend is Backend.SQLITE) != (self.sqlite_path is not None):
            raise ValueError("sqlite_path is set exactly for the sqlite backend")

    @classmethod
    def sqlite(cls, path: Path) -> StoreUrl:
        path = path.absolute()
        return cls(Backend.SQLITE, SQLITE_PREFIX + str(path), path)

    @classmethod
    def parse(cls, text: str, base: Path | None = None) -> StoreUrl:
        """Parse a store URL; relative SQLite paths resolve against ``base`` (default: the
        current directory). Raises :class:`ConfigError` saying what a valid URL looks like."""
        scheme = text.split(":", 1)[0].lower() if ":" in text else ""
        if scheme == "sqlite":
            if not text.startswith(SQLITE_PREFIX) or len(text) == len(SQLITE_PREFIX):
                raise ConfigError(msg("aggregator.store.not_sqlite", url=repr(text)))
            path = Path(unquote(text[len(SQLITE_PREFIX):]))
            if not path.is_absolute():
                path = (base or Path.cwd()) / path
            return cls.sqlite(path)
        if scheme in ("postgresql", "postgres"):
            import psycopg
            from psycopg.conninfo import conninfo_to_dict

            try:
                conninfo_to_dict(text)
            except psycopg.Error as e:
                raise ConfigError(msg("aggregator.store.not_postgres", url=repr(redact(text)),
                                      error=str(e))) from e
            return cls(Backend.POSTGRESQL, text)
        raise ConfigError(msg("aggregator.store.scheme", url=repr(redact(text))))

    def redacted(self) -> str:
        """The URL without any password, for logs and messages."""
        return redact(self.url)


def redact(url: str) -> str:
    """``url`` with any password (in the userinfo or a ``password=`` parameter) replaced by
    ``***``; everything else exactly as written."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, host = authority.rpartition("@")
    if at and ":" in userinfo:
        authority = f"{userinfo.split(':', 1)[0]}:***@{host}"
    tail = _QUERY_PASSWORD.sub(r"\1***", tail)
    return f"{scheme}://{authority}{tail}"
