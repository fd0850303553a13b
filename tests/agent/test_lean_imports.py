"""agent.lean_imports imports APScheduler without the modules the agent never uses, leaves no
stand-in behind, and the scheduler still runs the agent's kind of jobs (issue 16)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime, timedelta

import pytest

from agent.lean_imports import (
    STOOD_IN,
    BackgroundScheduler,
    DateTrigger,
    DebugExecutor,
    IntervalTrigger,
)


def _fresh(code: str) -> str:
    """Run ``code`` in a fresh interpreter (the test process has imported everything)."""
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], check=True,
                          capture_output=True, text=True, timeout=60).stdout


@pytest.mark.integration  # a fresh interpreter
def test_the_agent_process_imports_none_of_them() -> None:
    out = _fresh(f"""
        import sys
        import agent.cli, agent.runner
        print(sorted(m for m in {STOOD_IN!r} + ("zipfile", "concurrent.futures.thread",
                     "cryptography.hazmat.primitives.serialization") if m in sys.modules))
    """)
    assert out.strip() == "[]"


@pytest.mark.integration  # a fresh interpreter
def test_no_stand_in_is_left_behind() -> None:
    out = _fresh("""
        import agent.lean_imports
        import asyncio, importlib.metadata, multiprocessing, tzlocal, urllib.request
        from concurrent.futures.process import BrokenProcessPool
        import paho.mqtt.client as mqtt
        print(hasattr(asyncio, "get_running_loop"), hasattr(importlib.metadata, "Distribution"),
              hasattr(multiprocessing, "Process"), hasattr(tzlocal, "get_localzone_name"),
              hasattr(urllib.request, "urlopen"), BrokenProcessPool.__module__)
        # paho's proxy lookup still reads the environment, through the real module
        import os
        os.environ["mqtt_proxy"] = "socks://proxy.example:1080"
        print(mqtt.urllib.request.getproxies()["mqtt"])
    """)
    # "urlopen" from the real module: importing it rebinds urllib.request
    assert out.split() == ["True", "True", "True", "True", "True", "concurrent.futures.process",
                           "socks://proxy.example:1080"]


@pytest.mark.integration  # a fresh interpreter
def test_a_string_alias_fails_loudly_in_a_fresh_process() -> None:
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        from agent.lean_imports import BackgroundScheduler
        from datetime import UTC
        s = BackgroundScheduler(timezone=UTC)
        s.add_job(print, "interval", seconds=1)
    """)], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0 and "LookupError" in proc.stderr


@pytest.mark.timeout(30)
def test_the_scheduler_runs_a_date_and_an_interval_job() -> None:
    ran: list[str] = []
    done = threading.Event()

    def job(name: str) -> None:
        ran.append(name)
        if ran.count("interval") >= 2:
            done.set()

    sched = BackgroundScheduler(timezone=UTC, executors={"default": DebugExecutor()},
                                job_defaults={"misfire_grace_time": None, "coalesce": True,
                                              "max_instances": 1})
    start = datetime.now(UTC) + timedelta(seconds=0.1)
    sched.add_job(job, trigger=IntervalTrigger(seconds=0.2, start_date=start, timezone=UTC),
                  args=("interval",), id="poll")
    sched.add_job(job, trigger=DateTrigger(datetime.now(UTC), timezone=UTC), args=("date",),
                  id="first")
    sched.start()
    try:
        assert done.wait(10)
    finally:
        sched.shutdown(wait=True)
    assert ran.count("date") == 1


def test_a_job_without_an_id_gets_a_uuid() -> None:
    sched = BackgroundScheduler(timezone=UTC)
    job = sched.add_job(print, trigger=DateTrigger(datetime.now(UTC), timezone=UTC))
    assert len(job.id) == 32 and int(job.id, 16) >= 0


@pytest.mark.integration  # a fresh interpreter
def test_paho_connects_without_loading_urllib_request_when_no_proxy_is_set() -> None:
    out = _fresh("""
        import os, sys
        for k in [k for k in os.environ if k.lower().endswith("_proxy")]:
            del os.environ[k]
        import agent.runner
        import paho.mqtt.client as mqtt
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        try:
            c.connect("127.0.0.1", 9)  # the discard port: refused, after the proxy lookup
        except OSError:
            pass
        print("urllib.request" in sys.modules, c._get_proxy())
    """)
    assert out.split() == ["False", "None"]
