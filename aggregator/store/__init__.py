"""Ledger stores behind one interface: SQLite (embedded default) now, PostgreSQL for scale-out."""

from .interface import CheckpointRow, DeviceRow, LedgerStore, ReadingRow
from .sqlite import SqliteStore

__all__ = ["CheckpointRow", "DeviceRow", "LedgerStore", "ReadingRow", "SqliteStore"]
