"""A full disk under an agent's state directory, then under the aggregator's.

Each agent's state directory (key, config, outbox, state file) and the aggregator's (keys,
config, ledger) sit on tmpfs mounts of their own (``mount -t tmpfs -o size=…``, unmounted in
teardown). A filler file takes every free byte.

Agent (household 1): the running agent's next commit fails with SQLITE_FULL. It must say so
clearly, once, without a traceback ("poll cycle failed; nothing of it was committed: outbox …
database or disk is full … nothing is lost"), stay up, and keep its outbox intact; the meter
state is not advanced, so the readings are recomputed later. It is then SIGKILLed and restarted
on the full disk (it runs and reports the same), the space comes back and it must catch up on
its own. Then a reboot onto a full disk: stopped cleanly, disk filled, started: opening the
outbox needs room for its -wal/-shm files, so it exits 1 with the same clear message and the
harness restarts it (systemd ``Restart=on-failure``) until there is room. It must never call
the outbox "damaged" (which would tell the operator to throw it away and re-enrol).
Household 2 is unaffected.

Aggregator: its next group commit fails; ``serve`` exits 1 with a one-line error naming the
ledger file and the cause (no traceback), having committed nothing and sent no receipt, and
keeps doing so at every restart while the disk stays full; ``eco-aggregator ledger verify``
passes meanwhile (no corruption). The broker keeps the readings in the aggregator's session and
the agents keep them in their outboxes; once there is room the ledger catches up.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.faults.faults_kit import (
    Figures,
    LedgerCheck,
    Proc,
    Town,
    TownSpec,
    fill_filesystem,
    record,
    town,
)

pytestmark = pytest.mark.integration

DISK_FULL = "database or disk is full"
CLEAR_OPEN_ERRORS = ("disk I/O error", DISK_FULL, "No space left")


def _since(proc: Proc, mark: int) -> str:
    return proc.log_since(mark)


def _agent_reports_full(t: Town, proc: Proc, mark: int, what: str) -> None:
    def reported() -> bool:
        text = _since(proc, mark)
        return any(e in text for e in CLEAR_OPEN_ERRORS) and "df -h" in text
    t.wait_until(reported, 60, f"the agent to report the full disk ({what})", every=0.1)
    text = _since(proc, mark)
    assert "is damaged" not in text, text[-3000:]
    assert "Traceback" not in text, text[-3000:]


@pytest.mark.timeout(240)
def test_full_disk_on_agent_then_on_aggregator(tmp_path: Path) -> None:
    fig = Figures("full disk (agent, then aggregator)")
    check: LedgerCheck | None = None
    spec = TownSpec(households=2, speed=1200.0, interval_minutes=5, agent_tmpfs_mb=8,
                    aggregator_tmpfs_mb=24)
    with town(tmp_path, spec, seed=28) as t:
        try:
            t.wait_for_readings(3)
            hh = t.households[0]
            agent = hh.agent
            # -- the agent's disk ----------------------------------------------------------
            mark = agent.log_size()
            filler = fill_filesystem(hh.state_dir)
            _agent_reports_full(t, agent, mark, "while running")
            assert agent.alive() and not agent.exits, agent.tail()
            assert "nothing is lost" in _since(agent, mark)
            agent.kill()  # a power cut on a full disk, restarted at once
            mark = agent.log_size()
            agent.start()
            _agent_reports_full(t, agent, mark, "after SIGKILL")
            before = t.ledger_readings()[hh.device_id]
            filler.unlink()  # space returns
            t.wait_until(lambda: t.ledger_readings()[hh.device_id] >= before + 10, 120,
                         "the agent to catch up after its disk was freed")
            # a reboot onto a full disk: stopped cleanly (SQLite folds its WAL back and removes
            # it), so opening the outbox needs new -wal/-shm files and fails
            assert agent.stop() == 0
            filler = fill_filesystem(hh.state_dir)
            mark = agent.log_size()
            agent.start()
            t.wait_until(lambda: len(agent.exits) >= 2, 90,
                         "the agent to exit (and be restarted) on the full disk")
            _agent_reports_full(t, agent, mark, "at start-up")
            assert set(agent.exits) == {1}, agent.exits
            full_exits = len(agent.exits)
            before = t.ledger_readings()[hh.device_id]
            filler.unlink()
            t.wait_until(lambda: t.ledger_readings()[hh.device_id] >= before + 10, 120,
                         "the agent to start and catch up after its disk was freed")
            assert "is damaged" not in _since(agent, mark)
            # -- the aggregator's disk -----------------------------------------------------
            agg = t.aggregator
            mark = agg.log_size()
            filler = fill_filesystem(t.agg_dir)
            t.wait_until(lambda: len(agg.exits) >= 2, 90,
                         "serve to exit (and be restarted) on the full disk")
            text = _since(agg, mark)
            assert DISK_FULL in text and "Nothing of this transaction was committed" in text, \
                text[-3000:]
            assert "Traceback" not in text, text[-3000:]
            assert set(agg.exits) == {1}, agg.exits
            verify = subprocess.run([*t.agg_cli, "ledger", "verify"], capture_output=True,
                                    text=True, timeout=120, check=False)
            assert verify.returncode == 0, verify.stderr  # nothing corrupted meanwhile
            total = t.ledger_total()
            filler.unlink()
            t.wait_until(lambda: t.ledger_total() >= total + 10, 120,
                         "the ledger to catch up after the aggregator's disk was freed")
            t.drain()
            check = t.check_ledger()
            fig.extra.update(agent_exits_while_full=full_exits,
                             aggregator_exits_while_full=len(agg.exits))
        finally:
            record(fig, t, check)

