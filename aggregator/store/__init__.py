"""Ledger stores behind one interface: SQLite (embedded default), PostgreSQL for scale-out.

:func:`open_store` is the one place that turns a store URL (``[store] url`` in the config) into a
store; everything above it sees only :class:`LedgerStore`.
"""

from __future__ import annotations

from typing import Protocol, assert_never

from .interface import CheckpointRow, DeviceRow, LedgerStore, ReadingRow
from .sqlite import SqliteStore
from .url import DEFAULT_URL, Backend, StoreUrl


class HasStoreUrl(Protocol):
    """Anything that names a store, e.g. the aggregator's :class:`~aggregator.config.Config`."""

    @property
    def store(self) -> StoreUrl: ...


def open_store(target: str | StoreUrl | HasStoreUrl) -> LedgerStore:
    """Open the store a URL (relative SQLite paths: against the current directory), a parsed
    :class:`StoreUrl` or a config names. psycopg is imported only for PostgreSQL."""
    if isinstance(target, str):
        url = StoreUrl.parse(target)
    elif isinstance(target, StoreUrl):
        url = target
    else:
        url = target.store
    if url.backend is Backend.SQLITE:
        assert url.sqlite_path is not None
        return SqliteStore(url.sqlite_path)
    if url.backend is Backend.POSTGRESQL:
        from .postgres import PostgresStore

        return PostgresStore(url.url)
    assert_never(url.backend)


__all__ = ["DEFAULT_URL", "Backend", "CheckpointRow", "DeviceRow", "HasStoreUrl", "LedgerStore",
           "ReadingRow", "SqliteStore", "StoreUrl", "open_store"]
