"""agent.outbox under damage and a full disk (the unit side of tests/faults): the sent mark,
row checks, a refusal that leaves the files untouched, disk-full as an environment error."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
from pathlib import Path

import pytest

from agent.errors import AgentError, StateCorrupt
from agent.outbox import Outbox
from agent.outbox_sent import SENT_SLOT, SentMark
from tests.agent.outbox_kit import DEVICE, body, sign


def _digest(*paths: Path) -> list[str | None]:
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() and p.stat().st_size
            else None for p in paths]


def test_sent_mark_keeps_the_previous_value_when_a_slot_is_torn(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3-sent"
    mark = SentMark.open(path, readonly=False)
    mark.advance(3, "a" * 64)
    mark.advance(7, "b" * 64)
    mark.advance(5, "c" * 64)  # lower: ignored
    mark.close()
    again = SentMark.open(path, readonly=True)
    assert (again.seq, again.sha) == (7, "b" * 64)
    raw = bytearray(path.read_bytes())
    slot = 0 if raw[:12] == b"%012d" % 7 else 1  # tear the slot holding 7
    raw[slot * SENT_SLOT + 20] ^= 0xFF
    path.write_bytes(bytes(raw))
    torn = SentMark.open(path, readonly=True)
    assert (torn.seq, torn.sha) == (3, "a" * 64)


def test_an_outbox_rolled_back_below_what_was_sent_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        box.commit_cycle([body(0), body(1)], {}, sign)
    old = tmp_path / "old.sqlite3"
    shutil.copy(path, old)  # folded at close: the file alone is the whole outbox
    with Outbox.open(path, DEVICE) as box:
        stored = box.commit_cycle([body(2)], {}, sign)
        box.note_sent(stored[0].seq, stored[0].sha256)
    shutil.copy(old, path)  # an older outbox, as a lost WAL tail would leave it
    before = _digest(path)
    for readonly in (False, True):
        with pytest.raises(StateCorrupt, match="gone back in time.*seq 3"):
            Outbox.open(path, DEVICE, readonly=readonly)
    assert _digest(path) == before
    path.write_bytes(b"")  # emptied by the crash: refused before anything is written
    with pytest.raises(StateCorrupt, match="empty or missing"):
        Outbox.open(path, DEVICE)
    assert path.stat().st_size == 0


def test_a_reading_whose_bytes_changed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        box.commit_cycle([body(0), body(1)], {}, sign)
    with sqlite3.connect(path) as db:  # what integrity_check cannot see: a changed payload
        db.execute("UPDATE readings SET body = CAST(replace(body, '\"energy_wh\":100', "
                   "'\"energy_wh\":900') AS BLOB) WHERE seq = 2")
    db.close()
    with pytest.raises(StateCorrupt, match="seq 2 no longer matches its hash"):
        Outbox.open(path, DEVICE)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE readings SET body = CAST(body AS TEXT) WHERE seq = 2")
    db.close()
    with pytest.raises(StateCorrupt, match="seq 2 has the wrong type"):
        Outbox.open(path, DEVICE)


def test_a_full_disk_is_an_environment_error_and_leaves_no_open_transaction(
        tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        box.commit_cycle([body(0)], {}, sign)
        pages = box._db.execute("PRAGMA page_count").fetchone()[0]
        box._db.execute(f"PRAGMA max_page_count={pages}")  # SQLITE_FULL from here on
        big = [body(i) for i in range(1, 40)]
        with pytest.raises(AgentError) as e:
            box.commit_cycle(big, {}, sign)
        assert not isinstance(e.value, StateCorrupt)
        assert "database or disk is full" in str(e.value) and "df -h" in str(e.value)
        assert not box._db.in_transaction
        assert box.counts().next_seq == 2  # nothing of the cycle was committed
        box._db.execute("PRAGMA max_page_count=1073741823")  # space returns
        assert [r.seq for r in box.commit_cycle([body(1)], {}, sign)] == [2]
