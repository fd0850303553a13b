"""aggregator.store.sqlite on a full disk: a clear environment error, nothing committed, no
transaction left open, and it works again once there is room (tests/faults does it for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.errors import EnvironmentProblem, StoreCorrupt
from aggregator.store import SqliteStore


def test_a_full_disk_is_an_environment_error_not_damage(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "ledger.sqlite3")
    try:
        with store.transaction():
            store.append_entry(0, "eco.test/v1", b"x" * 100, b"\0" * 32)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL from here on
        with pytest.raises(EnvironmentProblem) as e, store.transaction():
            for i in range(1, 200):
                store.append_entry(i, "eco.test/v1", b"y" * 2000, b"\1" * 32)
        assert not isinstance(e.value, StoreCorrupt)
        assert "database or disk is full" in str(e.value)
        assert "Nothing of this transaction was committed" in str(e.value)
        assert not store._db.in_transaction
        assert store.size() == 1
        store._db.execute("PRAGMA max_page_count=1073741823")  # space returns
        with store.transaction():
            store.append_entry(1, "eco.test/v1", b"z", b"\2" * 32)
        assert store.size() == 2
    finally:
        store.close()
