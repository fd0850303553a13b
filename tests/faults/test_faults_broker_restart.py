"""Restart the broker while traffic flows, with and without its persistence.

Same port, same state directory, five restarts in one run while two agents publish and the
aggregator ingests:

1. SIGTERM, restarted without persistence: every session, queued message and subscription is
   gone; clients reconnect, the aggregator resubscribes, agents resend everything pending;
2. SIGKILL, without persistence;
3. SIGTERM, restarted *with* persistence (nothing saved yet: starts empty);
4. SIGTERM, with persistence: the saved database brings back the aggregator's session and the
   readings queued for it;
5. SIGKILL, with persistence: the broker comes back from its last periodic snapshot
   (``autosave_interval 10``), so it redelivers messages already acknowledged since then.

Between restarts traffic flows for 1.5–3 s and the broker stays down for 0–1.5 s. Messages lost
with the broker are resent by the agents (receipt timeout, reconnect); messages delivered twice
are answered ``duplicate``. The ledger must hold every reading exactly once.
"""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from tests.faults.faults_kit import Figures, LedgerCheck, TownSpec, record, town

pytestmark = pytest.mark.integration

# (how the broker goes down, whether the new one has persistence)
PLAN = (("term", False), ("kill", False), ("term", True), ("term", True), ("kill", True))


@pytest.mark.timeout(240)
def test_broker_restart_with_and_without_persistence(tmp_path: Path) -> None:
    fig = Figures("broker restart ± persistence")
    check: LedgerCheck | None = None
    rng = random.Random(5)
    spec = TownSpec(households=2, speed=1200.0, interval_minutes=5)
    with town(tmp_path, spec, seed=5) as t:
        try:
            t.wait_for_readings(3)
            for how, persistence in PLAN:
                before = t.ledger_total()
                time.sleep(rng.uniform(1.5, 3.0))  # traffic flows
                t.stop_broker(kill=how == "kill")
                time.sleep(rng.uniform(0.0, 1.5))  # the broker is down
                t.start_broker(persistence=persistence)
                # delivery resumes after every restart (no fixed sleep: poll for progress)
                def resumed(b: int = before) -> bool:
                    return t.ledger_total() > b + 4
                t.wait_until(resumed, 120, f"readings after a broker restart ({how}, "
                             f"persistence {persistence})")
            assert not any(p.exits for p in t.procs()), {p.name: p.exits for p in t.procs()}
            t.drain()
            check = t.check_ledger()
            fig.extra["broker_restarts"] = len(PLAN)
        finally:
            record(fig, t, check)
