"""The agent's footprint: ``eco-agent run`` with two SunSpec meters (two ``eco-sim inverter``
processes on ptys), an accelerated clock, the real broker and a real aggregator answering.

- start: from spawning the process to its ``READY=1`` on ``$NOTIFY_SOCKET`` (sd_notify, as
  systemd sees it with ``Type=notify``): imports, config, key, outbox integrity check, scheduler;
- CPU per reading: user + system time from ``/proc/PID/stat`` over a steady-state window, divided
  by the distinct readings the agent published in it (counted on the broker);
- RSS: ``VmRSS`` from ``/proc/PID/status`` at the end of the window (``VmHWM``, the peak, too).

The agent runs from bytecode, as installed: pip compiles every module when it installs the
package and the systemd unit sets no ``PYTHONDONTWRITEBYTECODE``. A checkout run with that
variable set (as this sandbox does) compiles the agent's ~8 000 lines at every start instead,
which costs about 1.7 MB of RSS that a Pi never pays; so the repository's packages are compiled
first and the variable is dropped from the agent's environment.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from aggregator.mosquitto import Mosquitto
from aggregator.registry import build_enrolment, enrol
from eco_protocol.encoding import b64decode, format_time
from eco_protocol.methodology import JST
from eco_protocol.records import MeterSpec, Quantity
from eco_protocol.topics import readings_topic
from firmware_sim.procs import terminate_groups

from .harness import REPO, AggregatorDir
from .town import FIT, PROGRAMME

RATED_W = 4500
CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class AgentResult:
    start_s: float
    rss_mb: float
    peak_rss_mb: float
    cpu_ms_per_reading: float
    readings: int  # in the measured window
    window_s: float
    speed: float
    poll_seconds: int


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def _installed_env(**extra: str) -> dict[str, str]:
    """The environment of an installed agent: the repository's packages compiled to bytecode
    (``__pycache__``, ignored by git) and no ``PYTHONDONTWRITEBYTECODE``."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", "agent", "eco_protocol"],
                   check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL)
    return {**env, **extra}


def _cpu_ticks(pid: int) -> int:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)


def _status_kb(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{key} not in /proc/{pid}/status")


AGENT_TOML = """\
[device]
state_dir = "{state}"
log_key = "{log_vkey}"
interval_minutes = 30
poll_seconds = {poll}

[uplink]
broker = "{broker}"
resend_timeout_s = 30.0

[clock]
mode = "accelerated"
origin_sim = "{origin_sim}"
origin_wall = {origin_wall:.3f}
speed = {speed}
{meters}"""

METER_TOML = """
[[meters]]
id = "{id}"
quantity = "pv_generation"
protocol = "sunspec-modbus"
port = "{port}"
unit = 1
timeout_s = 0.5
"""


class ReadingCounter:
    """Distinct (seq) readings the device publishes, as the broker sees them."""

    def __init__(self, port: int, device_id: str) -> None:
        self.seqs: set[int] = set()
        self.lock = threading.Lock()
        ready = threading.Event()
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-agent-rx-{device_id}",
                        protocol=mqtt.MQTTv5)
        c.on_message = self._on_message
        c.on_subscribe = lambda *_a: ready.set()
        c.connect("127.0.0.1", port)
        c.subscribe(readings_topic(device_id), qos=1)
        c.loop_start()
        self.client = c
        if not ready.wait(10):
            raise RuntimeError("reading subscription not acknowledged")

    def _on_message(self, _c: mqtt.Client, _u: Any, msg: mqtt.MQTTMessage) -> None:
        seqs = {int(r["seq"]) for r in json.loads(msg.payload)}
        with self.lock:
            self.seqs |= seqs

    @property
    def count(self) -> int:
        with self.lock:
            return len(self.seqs)

    def wait_for(self, n: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while self.count < n:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the agent published {self.count} readings, expected {n}")
            time.sleep(0.05)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def agent_bench(tmp: Path, broker: Mosquitto, *, speed: float, window_s: float,
                poll_seconds: int = 60) -> AgentResult:
    agg = AggregatorDir(tmp / "agent-agg", "agent", broker.url).init()
    workers = agg.start_workers(1)
    procs: list[subprocess.Popen[bytes]] = []
    counter: ReadingCounter | None = None
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        workers.wait_connected()
        # simulated time: three days ago, 07:00 JST, so the sun rises during the run and the
        # intervals stay in the past for the aggregator's clock however fast we run
        day = (datetime.now(UTC) - timedelta(days=3)).astimezone(JST)
        origin_sim = day.replace(hour=7, minute=0, second=0, microsecond=0).astimezone(UTC)
        origin_wall = time.time() + 1.0
        ports = [_start_inverter(i, speed, origin_sim, origin_wall, procs) for i in range(2)]
        state = tmp / "agent"
        state.mkdir(parents=True, exist_ok=True)
        cfg = state / "agent.toml"
        meters = "".join(METER_TOML.format(id=f"pv{i + 1}", port=p) for i, p in enumerate(ports))
        cfg.write_text(AGENT_TOML.format(
            state=state, log_vkey=agg.log_vkey, poll=poll_seconds, broker=broker.url,
            origin_sim=format_time(origin_sim), origin_wall=origin_wall, speed=speed,
            meters=meters))
        key = _keygen_and_enrol(agg, cfg, len(ports))
        counter = ReadingCounter(broker.port, key["device_id"])
        sock_path = tmp / "notify.sock"
        notify.bind(str(sock_path))
        notify.settimeout(60)
        spawned = time.monotonic()
        agent = subprocess.Popen([_bin("eco-agent"), "run", str(cfg)],
                                 env=_installed_env(NOTIFY_SOCKET=str(sock_path)),
                                 stdout=subprocess.DEVNULL, stderr=open(state / "agent.log", "ab"),  # noqa: SIM115
                                 stdin=subprocess.DEVNULL, start_new_session=True, cwd=REPO)
        procs.append(agent)
        while True:
            msg = notify.recv(4096).decode()
            if "READY=1" in msg.split("\n"):
                start_s = time.monotonic() - spawned
                break
        # steady state: the first readings are out, the outbox drains on receipts
        counter.wait_for(4, timeout=60 + 4 * 1800 / speed)
        c0, r0, t0 = _cpu_ticks(agent.pid), counter.count, time.monotonic()
        time.sleep(window_s)
        c1, r1, t1 = _cpu_ticks(agent.pid), counter.count, time.monotonic()
        rss = _status_kb(agent.pid, "VmRSS")
        peak = _status_kb(agent.pid, "VmHWM")
        if r1 <= r0:
            raise RuntimeError("the agent published no reading in the measured window")
        cpu_ms = (c1 - c0) * 1000 / CLK_TCK
        return AgentResult(start_s, rss / 1024, peak / 1024, cpu_ms / (r1 - r0), r1 - r0,
                           t1 - t0, speed, poll_seconds)
    finally:
        notify.close()
        if counter is not None:
            counter.close()
        terminate_groups(procs[::-1], timeout=20)  # the agent first, then its meters
        workers.kill()


def _start_inverter(i: int, speed: float, origin_sim: datetime, origin_wall: float,
                    procs: list[subprocess.Popen[bytes]]) -> int:
    """Start simulated inverter ``i`` on a pty (appended to ``procs``); its port."""
    sim = subprocess.Popen(
        [_bin("eco-sim"), "inverter", "--rated-w", str(RATED_W), "--seed", str(40 + i),
         "--serial", f"BENCH-PV-{i}", "--speed", str(speed), "--origin-sim",
         origin_sim.isoformat(), "--origin-wall", f"{origin_wall:.3f}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        start_new_session=True, cwd=REPO)
    procs.append(sim)
    assert sim.stdout is not None
    line = sim.stdout.readline()
    if not line:
        raise RuntimeError("eco-sim inverter did not start")
    port: int = json.loads(line)["port"]
    return port


def _keygen_and_enrol(agg: AggregatorDir, cfg: Path, inverters: int) -> dict[str, Any]:
    """The agent's key (``eco-agent keygen``), enrolled with one PV meter per inverter; the
    keygen output."""
    key: dict[str, Any] = json.loads(subprocess.run(
        [_bin("eco-agent"), "keygen", str(cfg)], check=True, capture_output=True,
        text=True).stdout)
    ledger = agg.ledger()
    specs = [MeterSpec(f"pv{i + 1}", Quantity.PV_GENERATION, "sunspec-modbus", RATED_W)
             for i in range(inverters)]
    enrol(ledger, build_enrolment(b64decode(key["public_key"], "public_key"), "hh-agent",
                                  PROGRAMME, specs, FIT, format_time(datetime.now(UTC))))
    ledger.store.close()
    return key
