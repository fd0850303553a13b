"""agent.outbox: seq/prev chain, atomic cycles, receipts, integrity check, crash safety."""

from __future__ import annotations

import hashlib
import random
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from agent.errors import AgentError, StateCorrupt
from agent.outbox import Outbox
from eco_protocol.canonical import canonical_bytes, parse_json
from eco_protocol.records import GENESIS_PREV, Reading
from eco_protocol.signing import record_hash, verify_record
from tests.agent.agent_kit import kill_outbox_child
from tests.agent.outbox_kit import DEVICE, KEY, body, sign


def test_cycle_numbers_chains_signs_and_stores_state(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        a = box.commit_cycle([body(0), body(1)], {"pv1": {"x": 1}}, sign)
        b = box.commit_cycle([body(2)], {"pv1": {"x": 2}, "ev1": {"y": 0}}, sign)
        assert [r.seq for r in a + b] == [1, 2, 3]
        recs = [parse_json(r.body) for r in a + b]
        assert recs[0]["prev"] == GENESIS_PREV
        assert recs[1]["prev"] == record_hash(recs[0]).hex() == a[0].sha256
        assert recs[2]["prev"] == a[1].sha256
        for rec, stored in zip(recs, a + b, strict=True):
            verify_record(rec, KEY.public_key(), "reading")
            Reading.from_dict(rec)
            assert canonical_bytes(rec) == stored.body
            assert hashlib.sha256(stored.body).hexdigest() == stored.sha256
        c = box.counts()
        assert (c.next_seq, c.last_hash, c.pending, c.rejected) == (4, b[0].sha256, 3, 0)
        assert box.meter_states() == {"pv1": {"x": 2}, "ev1": {"y": 0}}
        assert [r.seq for r in box.pending(2)] == [1, 2]
        assert [r.seq for r in box.resend_from(2, 10)] == [2, 3]


def test_a_failing_cycle_commits_nothing(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        box.commit_cycle([body(0)], {"pv1": {"x": 1}}, sign)

        def explode(r: Any) -> dict[str, Any]:
            if r["seq"] == 3:
                raise RuntimeError("power cut in the signer")
            return sign(r)

        with pytest.raises(RuntimeError):
            box.commit_cycle([body(1), body(2)], {"pv1": {"x": 9}}, explode)
        with pytest.raises(AgentError, match="invalid reading"):
            box.commit_cycle([body(1) | {"energy_wh": -1}], {}, sign)
        assert box.counts().next_seq == 2 and box.meter_states() == {"pv1": {"x": 1}}
        assert box.commit_cycle([body(1)], {}, sign)[0].seq == 2


def test_acknowledge_needs_the_matching_hash(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        s = box.commit_cycle([body(0), body(1)], {}, sign)
        assert not box.acknowledge(1, "0" * 64)
        assert not box.acknowledge(7, s[0].sha256)
        assert box.acknowledge(1, s[0].sha256)
        assert not box.acknowledge(1, s[0].sha256)  # already gone
        assert [r.seq for r in box.pending(10)] == [2]
        # the counter and chain are untouched by deletion
        assert box.commit_cycle([body(2)], {}, sign)[0].seq == 3


def test_set_aside_and_receipt_summary(tmp_path: Path) -> None:
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        s = box.commit_cycle([body(0), body(1), body(2)], {}, sign)
        out = box.apply_receipt([(1, s[0].sha256), (2, "f" * 64)],
                                [(3, s[2].sha256, "implausible: 9 kWh in 30 min")],
                                {"accepted": 1})
        assert (out.acknowledged, out.set_aside, out.mismatched) == ((1,), (3,), (2,))
        assert [r.seq for r in box.pending(10)] == [2]
        rej = box.rejected()
        assert [(r.seq, r.reason) for r in rej] == [(3, "implausible: 9 kWh in 30 min")]
        assert box.last_receipt() == {"accepted": 1}
        assert box.resend_from(1, 10) == box.pending(10)  # set-aside readings are not resent
        assert box.set_aside(2, "fork: other reading")
        c = box.counts()
        assert (c.pending, c.rejected) == (0, 2)
        # an accepted receipt still deletes a reading that was set aside
        assert box.acknowledge(3, s[2].sha256)


def test_seq_survives_reopen_and_device_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        s = box.commit_cycle([body(0), body(1)], {}, sign)
        box.acknowledge(1, s[0].sha256)
        box.acknowledge(2, s[1].sha256)
    with Outbox.open(path, DEVICE) as box:
        c = box.counts()
        assert (c.next_seq, c.last_hash, c.pending) == (3, s[1].sha256, 0)
        assert parse_json(box.commit_cycle([body(2)], {}, sign)[0].body)["prev"] == s[1].sha256
    with pytest.raises(StateCorrupt, match="belongs to device"):
        Outbox.open(path, "ab" * 16)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with Outbox.open(path, DEVICE, readonly=True) as ro:
        assert ro.counts().next_seq == 4


def test_corrupt_file_is_refused_with_instructions(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    path.write_bytes(b"this is not a database at all" * 200)
    with pytest.raises(StateCorrupt) as e:
        Outbox.open(path, DEVICE)
    msg = str(e.value)
    assert str(path) in msg and "move the file" in msg and "keeping a copy" in msg
    assert path.read_bytes().startswith(b"this is not")  # nothing overwritten


def test_damaged_pages_fail_integrity_check(tmp_path: Path) -> None:
    path = tmp_path / "o.sqlite3"
    with Outbox.open(path, DEVICE) as box:
        for i in range(40):
            box.commit_cycle([body(i)], {}, sign)
    with sqlite3.connect(path) as db:  # fold the WAL back so the pages live in the main file
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        db.execute("PRAGMA journal_mode=DELETE")
    data = bytearray(path.read_bytes())
    page = 4096
    for off in range(2 * page + 100, min(len(data), 4 * page), 7):  # scribble over b-tree pages
        data[off] ^= 0x5A
    path.write_bytes(bytes(data))
    with pytest.raises(StateCorrupt, match="damaged"):
        Outbox.open(path, DEVICE)


# --- crash safety ------------------------------------------------------------------------------


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    path = tmp_path / "outbox.sqlite3"
    rng = random.Random(20261122)
    shas: dict[int, str] = {}
    acked_intent: set[int] = set()
    acked_done: set[int] = set()
    last_next = 1
    kills = 0
    for run in range(25):
        lines = kill_outbox_child(path, run, rng)
        kills += 1
        for parts in lines:
            if len(parts) == 3 and parts[0] == "C":
                shas[int(parts[1])] = parts[2]
            elif len(parts) == 2 and parts[0] == "a":
                acked_intent.add(int(parts[1]))
            elif len(parts) == 2 and parts[0] == "A":
                acked_done.add(int(parts[1]))

        with Outbox.open(path, DEVICE) as box:  # integrity_check passes
            counts = box.counts()
            rows = {r.seq: r for r in box.pending(100_000)}
            states = box.meter_states()
        assert counts.next_seq >= last_next, "seq went backwards"
        last_next = counts.next_seq
        top = counts.next_seq - 1
        assert all(s <= top for s in shas), "a reported commit is missing from the counter"
        for seq, r in rows.items():
            if seq in shas:
                assert shas[seq] == r.sha256, f"seq {seq} was signed twice differently"
            shas[seq] = r.sha256
        for seq in range(1, top + 1):
            assert seq in rows or seq in acked_intent, f"seq {seq} was lost"
            assert seq in shas
        assert not acked_done & set(rows), "an acknowledged reading came back"
        # prev chain intact, signatures valid, counter and meter state agree with the rows
        for seq, r in rows.items():
            rec = parse_json(r.body)
            verify_record(rec, KEY.public_key(), "reading")
            assert rec["seq"] == seq
            assert rec["prev"] == (GENESIS_PREV if seq == 1 else shas[seq - 1])
        assert counts.last_hash == (shas[top] if top else GENESIS_PREV)
        if top:
            assert states == {"pv1": {"last_seq": top}}
    assert kills == 25 and last_next > 25


def test_day_tally_survives_receipts_and_keeps_a_week(tmp_path: Path) -> None:
    """Per JST day: 2026-11-22 00:00 UTC is 09:00 JST, so the first 30 intervals (to 24:00
    JST) fall on the 22nd and the rest on the 23rd."""
    with Outbox.open(tmp_path / "o.sqlite3", DEVICE) as box:
        stored = box.commit_cycle([body(n) for n in range(40)], {}, sign)
        for r in stored:
            box.acknowledge(r.seq, r.sha256)
        tally = box.day_tally()
        assert tally["2026-11-22"] == {"energy_wh": {"pv_generation": 3000},
                                       "co2_g_estimate": 30 * 43}
        assert tally["2026-11-23"]["energy_wh"] == {"pv_generation": 1000}
        box.commit_cycle([body(n) for n in range(40, 48 * 9, 48)], {}, sign)
        assert len(box.day_tally()) == Outbox.TALLY_DAYS
