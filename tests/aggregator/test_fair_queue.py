"""The pieces of fair ingest on their own (pure, no broker): the per-device queue, the rate gate,
the rejection-row budget, the drop counters and the problem log's bulk counts."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from aggregator.fair_queue import FairQueue
from aggregator.ingest_status import (
    FLOODING_PER_MIN,
    IngestCounters,
    StatusFile,
    read_status,
    status_path,
)
from aggregator.problem_log import ProblemLog
from aggregator.rate_gate import RateGate
from aggregator.rejection_budget import RejectionBudget


def test_a_backlog_of_one_key_does_not_delay_another_beyond_one_round() -> None:
    q: FairQueue[str, str] = FairQueue(per_key=1000)
    for i in range(500):
        assert q.offer("flood", f"f{i}")
    q.offer("honest", "h0")
    first = q.take(4)
    assert "h0" in first[:2]  # its turn comes after at most one flood message
    assert first.count("h0") == 1 and len(q) == 497


def test_round_robin_order_and_fifo_within_a_key() -> None:
    q: FairQueue[str, str] = FairQueue(per_key=10)
    for item in ("a1", "a2", "a3", "b1", "c1", "c2"):
        q.offer(item[0], item)
    assert q.take(100) == ["a1", "b1", "c1", "a2", "c2", "a3"]
    assert len(q) == 0 and q.take(5) == []


def test_a_key_over_its_cap_is_refused_and_others_are_not() -> None:
    q: FairQueue[str, int] = FairQueue(per_key=3)
    assert [q.offer("x", i) for i in range(5)] == [True, True, True, False, False]
    assert q.offer("y", 0) and q.waiting("x") == 3 and q.waiting("y") == 1
    q.take(2)  # one of x, one of y
    assert q.offer("x", 9)  # room again


def test_take_respects_n_and_rotation_continues_across_calls() -> None:
    q: FairQueue[str, str] = FairQueue(per_key=10)
    for k in "abc":
        for i in range(3):
            q.offer(k, f"{k}{i}")
    assert q.take(2) == ["a0", "b0"]
    assert q.take(2) == ["c0", "a1"]


def test_wait_wakes_on_offer_from_another_thread() -> None:
    q: FairQueue[str, int] = FairQueue()
    assert q.wait(0.01) is False
    t = threading.Timer(0.05, lambda: q.offer("k", 1))
    t.start()
    assert q.wait(5.0) is True
    t.join()


def test_cap_must_be_positive() -> None:
    with pytest.raises(ValueError):
        FairQueue(per_key=0)


def test_rate_gate_allows_a_burst_then_the_rate() -> None:
    t = [0.0]
    g = RateGate(rate=2.0, burst=5, clock=lambda: t[0])
    assert sum(g.admit("d") for _ in range(20)) == 5
    assert g.admit("other")  # buckets are per device
    t[0] += 1.0
    assert sum(g.admit("d") for _ in range(20)) == 2


def test_rejection_budget_bounds_rows_and_summarises_the_rest() -> None:
    t = [0.0]
    b = RejectionBudget(rows=3, window_s=60, clock=lambda: t[0])
    admitted = [b.admit("d", "malformed: x") for _ in range(1000)]
    assert sum(admitted) == 3 and admitted[:3] == [True] * 3
    assert b.due() == []  # the window is still open
    t[0] += 61
    ((device, reason),) = b.due()
    assert device == "d" and reason.startswith("suppressed: 997 more rejection(s)")
    assert "malformed 997" in reason and not b.pending()


def test_rejection_budget_summary_survives_a_new_window() -> None:
    t = [0.0]
    b = RejectionBudget(rows=1, window_s=60, clock=lambda: t[0])
    b.admit("d", "bad_signature: x")
    b.admit("d", "bad_signature: x")
    t[0] += 61
    assert b.admit("d", "malformed: y")  # a new window, its own first row
    ((_, reason),) = b.due()
    assert "bad_signature 1" in reason


def test_counters_flag_a_flooding_device_and_not_a_quiet_one(tmp_path: Path) -> None:
    t = [1_000_000.0]
    c = IngestCounters(window_s=300, clock=lambda: t[0])
    for _ in range(int(FLOODING_PER_MIN * 5)):
        c.drop("f" * 32, "rate_limited")
    for _ in range(10):
        c.processed("a" * 32, None)
    c.processed("a" * 32, "malformed: x")
    assert c.take_new_drops() == {("f" * 32, "rate_limited"): int(FLOODING_PER_MIN * 5)}
    assert c.take_new_drops() == {}
    path = status_path(tmp_path, "eco-aggregator-1")
    assert StatusFile(path).maybe_write(c)
    st = read_status(tmp_path)
    assert st is not None
    assert st.devices["f" * 32].flooding and st.devices["f" * 32].dropped == 300
    quiet = st.devices["a" * 32]
    assert (quiet.messages, quiet.refused, quiet.flooding) == (11, 1, False)
    c.processed("b" * 32, None)  # nothing refused or dropped: not listed
    assert "b" * 32 not in c.snapshot()["devices"]
    t[0] += 301  # the window has passed: the flood fades out
    assert c.snapshot()["devices"] == {}


def test_a_quiet_status_file_is_rewritten_rarely(tmp_path: Path) -> None:
    f = StatusFile(tmp_path / "s.json", interval_s=0.0, idle_interval_s=3600)
    c = IngestCounters()
    assert f.maybe_write(c)  # the first one, so the UI sees serve is there
    assert not f.maybe_write(c)  # still quiet
    c.drop("d" * 32, "queue_full")
    assert f.maybe_write(c) and f.maybe_write(c)  # problems: every interval
    assert f.maybe_write(IngestCounters())  # once more, to say it is over
    assert not f.maybe_write(IngestCounters())
    assert f.maybe_write(IngestCounters(), force=True)


def test_status_of_two_workers_is_added_up(tmp_path: Path) -> None:
    for name, n in (("w1", 2), ("w2", 3)):
        c = IngestCounters()
        for _ in range(n):
            c.drop("d" * 32, "queue_full")
        StatusFile(status_path(tmp_path, name)).maybe_write(c)
    st = read_status(tmp_path)
    assert st is not None and st.devices["d" * 32].dropped == 5
    assert read_status(tmp_path / "nothing-here") is None


def test_problem_log_counts_bulk_notes_in_one_window() -> None:
    t = [0.0]
    p = ProblemLog(window_s=60, clock=lambda: t[0])
    assert p.note("d", "d: queue_full: 500 dropped", count=500) == ["d: queue_full: 500 dropped"]
    assert p.note("d", "d: queue_full: 7 dropped", count=7) == []
    t[0] += 60
    (line,) = p.flush()
    assert "506 more problem message(s)" in line and "queue_full 506" in line


def test_kick_wakes_a_wait_with_nothing_queued() -> None:
    q: FairQueue[str, int] = FairQueue()
    t = threading.Timer(0.05, q.kick)
    t.start()
    assert q.wait(5.0) is True and len(q) == 0
    t.join()
    assert q.wait(0.01) is False  # a kick wakes one wait only
