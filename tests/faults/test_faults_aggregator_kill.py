"""SIGKILL ``eco-aggregator serve`` mid-append, 20+ times, while the agents keep publishing.

While the aggregator is dead the broker queues readings in its persistent session, so every
restart begins with a burst: the backlog is judged and appended in group commits, receipts go
out, checkpoints are signed. Most kills land 0–0.6 s after the restarted process logged its
broker connection, i.e. inside that burst (mid-append, between commit and acknowledgement,
between commit and receipt, while signing a checkpoint); a fifth land during start-up (opening
the store, checking it against the last signed checkpoint). The aggregator is restarted at once.
Readings whose receipts were lost are re-sent by the agents after ``resend_timeout_s`` and
answered ``duplicate``; the ledger must still hold every device's readings exactly once.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.faults.faults_kit import Figures, LedgerCheck, TownSpec, record, town

pytestmark = pytest.mark.integration

KILLS = 22


@pytest.mark.timeout(240)
def test_aggregator_sigkill_mid_append(tmp_path: Path) -> None:
    fig = Figures("aggregator SIGKILL mid-append")
    check: LedgerCheck | None = None
    rng = random.Random(22)
    spec = TownSpec(households=2, speed=1200.0, interval_minutes=5)
    with town(tmp_path, spec, seed=22) as t:
        try:
            t.wait_for_readings(3)
            agg = t.aggregator
            mark = 0
            during_startup = 0
            for _ in range(KILLS):
                if rng.random() < 0.2:
                    time.sleep(rng.uniform(0.0, 0.5))
                    during_startup += 1
                else:
                    t.wait_for_connected(agg, mark)
                    time.sleep(rng.uniform(0.0, 0.6))
                assert agg.alive(), f"the aggregator exited on its own:\n{agg.tail()}"
                t.kill_aggregator()
                mark = agg.log_size()
                t.start_aggregator()  # at once
            before = t.ledger_readings()
            t.wait_for_readings(max(before.values()) + 10)
            assert not agg.exits, f"the aggregator exited on its own: {agg.exits}"
            t.drain()
            check = t.check_ledger()
            fig.extra["kills_during_startup"] = during_startup
        finally:
            record(fig, t, check)
