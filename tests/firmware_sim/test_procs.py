"""firmware_sim.procs: process-group teardown (SIGTERM, a bounded wait, SIGKILL) on real
processes."""

from __future__ import annotations

import os
import signal
import subprocess
import time

import pytest

from firmware_sim.procs import kill_group, signal_group, terminate_groups

pytestmark = pytest.mark.integration


def _group(script: str) -> subprocess.Popen[bytes]:
    p = subprocess.Popen(["sh", "-c", script], start_new_session=True,
                         stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert p.stdout is not None
    assert p.stdout.readline() == b"ready\n"  # the traps are set before we signal
    return p


def _group_gone(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return True
    return False


def test_terminate_reaches_the_whole_group_and_reaps_the_leader() -> None:
    p = _group("sleep 60 & echo ready; wait")
    terminate_groups([p], timeout=10)
    assert p.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 5
    while not _group_gone(p.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert _group_gone(p.pid)  # the background sleep got the SIGTERM too


def test_a_leader_that_ignores_sigterm_is_killed_after_the_timeout() -> None:
    stubborn = _group("trap '' TERM; echo ready; while :; do sleep 0.05; done")
    polite = _group("echo ready; exec sleep 60")
    started = time.monotonic()
    terminate_groups([stubborn, polite], timeout=0.5)
    assert time.monotonic() - started < 5
    assert stubborn.returncode == -signal.SIGKILL
    assert polite.returncode == -signal.SIGTERM


def test_a_group_already_gone_is_no_error() -> None:
    p = _group("echo ready")
    p.wait()
    signal_group(p, signal.SIGTERM)
    assert kill_group(p) == 0
    terminate_groups([p], timeout=0.1)
    assert p.returncode == 0
