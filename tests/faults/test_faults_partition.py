"""A 24-hour (simulated) network partition between the agents and the broker, then recovery.

The broker is stopped for 24 simulated hours (24 wall seconds at 3600×; the town's clock is the
agents' accelerated clock). Meanwhile the agents keep reading their inverters and signing a
reading every 15 simulated minutes; nothing can leave, so the readings must accumulate in the
outboxes (checked: at least 90 % of the 96 intervals per device are pending when the broker
returns). paho keeps retrying with its capped back-off (1–30 s), the aggregator likewise. Then
the broker comes back on the same port, without the sessions (no persistence): the agents
reconnect, resubscribe and send the backlog in full 64-reading messages, and the outboxes must
drain into the ledger exactly once.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.faults_kit import Figures, LedgerCheck, TownSpec, record, town

pytestmark = pytest.mark.integration

PARTITION_S = 24 * 3600


@pytest.mark.timeout(240)
def test_24h_partition_then_recovery(tmp_path: Path) -> None:
    fig = Figures("24 h network partition")
    check: LedgerCheck | None = None
    spec = TownSpec(households=2, speed=3600.0, interval_minutes=15, poll_seconds=450)
    intervals = PARTITION_S // (spec.interval_minutes * 60)
    with town(tmp_path, spec, seed=24) as t:
        try:
            t.wait_for_readings(3)
            n = len(t.households)
            t.stop_broker()
            cut_at = t.sim_now()
            before = [t.signed(i) for i in range(n)]
            t.wait_until(lambda: t.sim_now() >= cut_at + PARTITION_S, 200,
                         "24 simulated hours of partition", every=1.0)
            pending = [t.pending(i) for i in range(n)]
            grown = [t.signed(i) - before[i] for i in range(n)]
            assert min(pending) >= 0.9 * intervals, (pending, intervals, t.diagnostics())
            assert min(grown) >= 0.9 * intervals, (grown, intervals)
            in_ledger = t.ledger_total()
            t.start_broker(persistence=False)
            waited = t.wait_until(lambda: t.ledger_total() >= in_ledger + sum(pending), 150,
                                  "the partition's backlog to reach the ledger")
            assert not any(p.exits for p in t.procs()), {p.name: p.exits for p in t.procs()}
            t.drain()
            check = t.check_ledger()
            fig.extra.update(simulated_outage_h=24, backlog_max=sum(pending),
                             backlog_drained_in_s=round(waited, 1))
        finally:
            record(fig, t, check)
