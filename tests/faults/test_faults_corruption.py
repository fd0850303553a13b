"""Truncated or corrupted agent state after a power cut: detect, never overwrite, lose nothing.

Power cuts on storage that keeps what it fsynced cannot damage a committed SQLite transaction
or a file replaced atomically; these cases model storage that does not (SD cards that ignore
flushes, torn sectors). All on household 1 of a running town; household 2 carries on
throughout.

1. **State file** (TinyDB, ``state.json``): SIGKILL, then truncate it at a random offset. The
   agent must recover the previous version from ``state.json.bak``, say so, and run on.
   Then garble both files: the agent must refuse to start (exit 1, StateCorrupt naming both
   files and what to do) and leave both byte-for-byte as they were. The operator moves both
   aside; the agent starts, re-pins the log key from its config and re-learns the meter.
2. **Outbox, many damages** (in-process, on copies of a real outbox taken by SIGKILLing the
   agent during a broker outage, so it holds readings both sent and not yet sent): the
   write-ahead log truncated at a random offset, a random 512-byte sector of it garbled, it
   deleted, the database (WAL folded in first) truncated at a random offset or a sector of it
   garbled. Opening must either refuse with StateCorrupt and leave the database and WAL
   byte-for-byte as they were, or give a state that is safe to go on from: the same outbox, or
   an older one whose lost tail was never sent (SQLite drops a damaged WAL tail as
   uncommitted; the meter state goes back with it, so those intervals are measured again),
   with every row verifying and nothing below the ``-sent`` mark missing or different.
3. **Outbox lost** (the database left empty and its WAL gone, as ext4 can leave a file after a
   crash): the real agent must refuse to start (exit 1, "gone back in time", nothing
   overwritten). The operator keeps the outbox files and the old key, makes a new key and
   has the municipality ``eco-aggregator rekey`` the device (README "Reliability"); the test
   kills the agent at an instant when everything it had signed was receipted, so the old
   device's readings are all in the ledger.

The final check covers both devices of household 1: the old one's readings 1..N, all it
signed, and the new one's.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import sqlite3
from pathlib import Path

import pytest

from agent.errors import StateCorrupt
from agent.outbox import Outbox, SentMark
from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode
from eco_protocol.keys import public_key_from_raw
from eco_protocol.signing import verify_record
from tests.faults.faults_kit import Figures, Household, LedgerCheck, Town, TownSpec, record, town

pytestmark = pytest.mark.integration

KINDS = ("wal-truncate", "wal-garble", "wal-deleted", "db-truncate", "db-garble")
TRIALS_PER_KIND = 10


def _digest(*paths: Path) -> list[str | None]:
    """Content hashes; a missing file and an empty one (SQLite may create an empty -wal when
    it opens a database) both count as no content."""
    return [hashlib.sha256(p.read_bytes()).hexdigest() if p.exists() and p.stat().st_size
            else None for p in paths]


def _garble(path: Path, rng: random.Random) -> None:
    data = bytearray(path.read_bytes())
    sector = rng.randrange(0, max(1, (len(data) + 511) // 512))
    chunk = data[sector * 512:(sector + 1) * 512]
    data[sector * 512:sector * 512 + len(chunk)] = rng.randbytes(len(chunk))
    path.write_bytes(bytes(data))


def _state_file_damage(t: Town, hh: Household, rng: random.Random, fig: Figures) -> None:
    agent = hh.agent
    state, bak = hh.state_dir / "state.json", hh.state_dir / "state.json.bak"
    # torn state file: recovered from the backup
    agent.kill()
    assert state.exists() and bak.exists()
    size = state.stat().st_size
    os.truncate(state, rng.randrange(1, size))
    mark = agent.log_size()
    agent.start()
    t.wait_for_connected(agent, mark)
    assert "recovered the previous version" in agent.log_since(mark), agent.tail()
    before = t.ledger_readings()[hh.device_id]
    t.wait_until(lambda: t.ledger_readings()[hh.device_id] > before + 3, 60,
                 "readings after recovering the state file")
    # both garbled: refused, untouched
    agent.kill()
    for f in (state, bak):
        raw = f.read_bytes()
        f.write_bytes(raw[: len(raw) // 2] + rng.randbytes(64))
    before_bytes = _digest(state, bak)
    mark = agent.log_size()
    proc = agent.start(supervised=False)
    assert proc.wait(60) == 1, agent.tail()
    text = agent.log_since(mark)
    assert "eco-agent: state file" in text and str(bak) in text and "move both files aside" \
        in text, text
    assert _digest(state, bak) == before_bytes, "a damaged state file was overwritten"
    fig.extra["state_file_refusals"] = 1
    # the operator: move both aside, start again
    keep = hh.state_dir / "damaged-state"
    keep.mkdir()
    for f in (state, bak):
        f.rename(keep / f.name)
    mark = agent.log_size()
    agent.start()
    t.wait_for_connected(agent, mark)
    before = t.ledger_readings()[hh.device_id]
    t.wait_until(lambda: t.ledger_readings()[hh.device_id] > before + 3, 60,
                 "readings after the operator moved the state files aside")


def _outbox_trials(t: Town, hh: Household, rng: random.Random, work: Path) -> dict[str, int]:
    """Damage copies of a real outbox in every way of KINDS; see the module docstring."""
    agent = hh.agent
    t.stop_broker()  # so the outbox holds readings not yet sent as well as sent ones
    signed_then = t.signed(0)
    t.wait_until(lambda: t.signed(0) >= signed_then + 10, 60, "readings to queue up")
    agent.kill()
    pristine = work / "pristine"
    pristine.mkdir(parents=True)
    for f in hh.state_dir.glob("outbox.sqlite3*"):
        shutil.copy2(f, pristine / f.name)
    agent.start()
    t.start_broker(persistence=False)
    mark = SentMark.open(Outbox.sent_path(pristine / "outbox.sqlite3"), readonly=True)
    assert mark.seq > 0
    with Outbox.open(pristine / "outbox.sqlite3", hh.device_id, readonly=True) as box:
        held = {r.seq: r.sha256 for r in box.pending(1_000_000)}
        ref_top = box.counts().next_seq - 1
    assert any(s > mark.seq for s in held), "the copy holds no unsent reading"
    # every genuine reading of this device: those still held, and those the ledger has (an
    # older outbox may hold again readings that were receipted and deleted since)
    with contextlib.closing(sqlite3.connect(f"file:{t.ledger_db}?mode=ro", uri=True)) as ldb:
        genuine = {int(q): str(h) for q, h in ldb.execute(
            "SELECT seq, sha256 FROM reading WHERE device_id=?", (hh.device_id,))}
    genuine.update(held)
    public = public_key_from_raw(b64decode(hh.public_key, "public key"))
    counts = {"trials": 0, "refused": 0, "identical": 0, "older_unsent_tail_dropped": 0}
    for kind in KINDS:
        for _ in range(TRIALS_PER_KIND):
            d = work / "trial"
            shutil.rmtree(d, ignore_errors=True)
            shutil.copytree(pristine, d)
            db, wal = d / "outbox.sqlite3", d / "outbox.sqlite3-wal"
            if kind.startswith("db"):  # SQLite had folded the WAL in before the power cut
                with sqlite3.connect(db) as c:
                    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                c.close()
            target = wal if kind.startswith("wal") else db
            if kind == "wal-deleted":
                target.unlink()
            elif kind.endswith("truncate"):
                os.truncate(target, rng.randrange(0, target.stat().st_size))
            else:
                _garble(target, rng)
            damaged = _digest(db, wal)
            counts["trials"] += 1
            try:
                box = Outbox.open(db, hh.device_id)
            except StateCorrupt as e:
                assert str(db) in str(e)
                assert _digest(db, wal) == damaged, f"{kind}: damaged outbox overwritten"
                counts["refused"] += 1
                continue
            with box:
                top = box.counts().next_seq - 1
                rows = box.pending(1_000_000)
            assert top >= mark.seq, f"{kind}: opened below the sent mark"
            for r in rows:  # a prefix of the real history, every row genuine
                assert genuine.get(r.seq) == r.sha256, f"{kind}: seq {r.seq} differs"
                verify_record(parse_json(r.body), public, f"seq {r.seq}")
            same = top == ref_top and {r.seq for r in rows} == set(held)
            counts["identical" if same else "older_unsent_tail_dropped"] += 1
    assert counts["refused"] > 0 and counts["trials"] == len(KINDS) * TRIALS_PER_KIND
    return counts


@pytest.mark.timeout(240)
def test_truncated_or_corrupted_state_after_power_cut(tmp_path: Path) -> None:
    fig = Figures("corrupted outbox / state file")
    check: LedgerCheck | None = None
    rng = random.Random(6)
    spec = TownSpec(households=2, speed=1200.0, interval_minutes=5)
    with town(tmp_path / "town", spec, seed=6) as t:
        try:
            t.wait_for_readings(5)
            hh = t.households[0]
            _state_file_damage(t, hh, rng, fig)
            fig.extra["outbox_damage"] = _outbox_trials(t, hh, rng, tmp_path / "trials")
            # the outbox lost: refused, then the operator re-keys and re-enrols
            signed = t.kill_when_delivered(0)
            db = hh.state_dir / "outbox.sqlite3"
            os.truncate(db, 0)
            (hh.state_dir / "outbox.sqlite3-wal").unlink(missing_ok=True)
            (hh.state_dir / "outbox.sqlite3-shm").unlink(missing_ok=True)
            mark = hh.agent.log_size()
            proc = hh.agent.start(supervised=False)
            assert proc.wait(60) == 1, hh.agent.tail()
            text = hh.agent.log_since(mark)
            assert "has gone back in time" in text and "re-enrolled" in text, text
            assert db.stat().st_size == 0, "the lost outbox was overwritten"
            t.reenrol(0, signed, hh.state_dir / "damaged-outbox")
            hh.agent.start()
            t.wait_until(lambda: t.ledger_readings().get(hh.device_id, 0) >= 5, 90,
                         "the re-enrolled device's readings")
            t.drain()
            check = t.check_ledger()
        finally:
            record(fig, t, check)
