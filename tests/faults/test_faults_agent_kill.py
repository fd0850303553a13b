"""SIGKILL the agent at random instants, 50+ times, against a running town.

Two households; each has its own kill loop (a thread), so the town never stops: while one agent
is dead the other reads, signs, commits, publishes and applies receipts. At 1200× with 5-minute
intervals every agent commits a reading about every quarter of a wall second and receives a
receipt for it shortly after, so random kill instants land in every phase: a quarter of the
kills come within 0.4 s of the start (opening the outbox, connecting, resending everything
pending), the rest 0–0.8 s after the agent logged its broker connection (polling the inverter,
signing, committing, publishing, verifying and applying receipts). Each killed agent is
restarted at once with the same config. Afterwards the town keeps running until every device has
more readings, then the meters stop, the outboxes drain and the ledger is checked.
"""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from tests.faults.faults_kit import Figures, LedgerCheck, TownSpec, record, town

pytestmark = pytest.mark.integration

KILLS_PER_AGENT = 26


@pytest.mark.timeout(240)
def test_agent_sigkill_at_random_instants(tmp_path: Path) -> None:
    fig = Figures("agent SIGKILL at random instants")
    check: LedgerCheck | None = None
    spec = TownSpec(households=2, speed=1200.0, interval_minutes=5, poll_seconds=150)
    with town(tmp_path, spec, seed=11) as t:
        try:
            t.wait_for_readings(3)
            errors: list[BaseException] = []
            early = [0]

            def kill_loop(i: int) -> None:
                rng = random.Random(1000 + i)
                agent = t.households[i].agent
                mark = 0  # the log offset of the current run (the first run is connected)
                try:
                    for _ in range(KILLS_PER_AGENT):
                        if rng.random() < 0.25:
                            time.sleep(rng.uniform(0.0, 0.4))
                            early[0] += 1
                        else:
                            deadline = time.monotonic() + 60
                            while "connected to" not in agent.log_since(mark):
                                assert agent.alive(), f"{agent.name} exited:\n{agent.tail()}"
                                assert time.monotonic() < deadline, agent.tail()
                                time.sleep(0.02)
                            time.sleep(rng.uniform(0.0, 0.8))
                        assert agent.alive(), f"{agent.name} exited on its own:\n{agent.tail()}"
                        t.kill_agent(i)
                        mark = agent.log_size()
                        t.start_agent(i)  # at once, same config
                except BaseException as e:  # surfaced in the test thread below
                    errors.append(e)

            before = t.ledger_readings()
            threads = [threading.Thread(target=kill_loop, args=(i,)) for i in range(2)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            assert not errors, errors[0]
            assert sum(h.agent.kills for h in t.households) >= 50
            # still alive and delivering: every device gains readings after the last kill
            t.wait_for_readings(max(before.values()) + 10)
            assert all(not h.agent.exits for h in t.households), \
                {h.name: h.agent.exits for h in t.households}
            t.drain()
            check = t.check_ledger()
            fig.extra["kills_during_startup"] = early[0]
        finally:
            record(fig, t, check)
