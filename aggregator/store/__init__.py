"""Ledger stores behind one interface: SQLite (embedded default), PostgreSQL for scale-out.

:func:`open_store` is the one place that turns a store URL (``[store] url`` in the config) into a
store; everything above it sees only :class:`LedgerStore`.
"""

from __future__ import annotations

from pathlib import Path
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
    :class:`StoreUrl` or a config names. psycopg is imported only for PostgreSQL.

    Given a config (anything with a ``state_dir`` too), household references an older version
    kept in the ledger store are moved to the personal store in that directory first
    (:func:`aggregator.personal.migrate_from_ledger`): every command opens its store here, so
    the first one run after an upgrade takes the names out of the ledger."""
    if isinstance(target, str):
        url = StoreUrl.parse(target)
    elif isinstance(target, StoreUrl):
        url = target
    else:
        url = target.store
    store = _open(url)
    state_dir = getattr(target, "state_dir", None)
    if isinstance(state_dir, Path):
        from ..personal import migrate_from_ledger

        try:
            migrate_from_ledger(store, state_dir)
        except BaseException:
            store.close()
            raise
    return store


def _open(url: StoreUrl) -> LedgerStore:
    if url.backend is Backend.SQLITE:
        assert url.sqlite_path is not None
        return SqliteStore(url.sqlite_path)
    if url.backend is Backend.POSTGRESQL:
        from .postgres import PostgresStore

        return PostgresStore(url.url)
    assert_never(url.backend)


__all__ = ["DEFAULT_URL", "Backend", "CheckpointRow", "DeviceRow", "HasStoreUrl", "LedgerStore",
           "ReadingRow", "SqliteStore", "StoreUrl", "open_store"]
