"""Fault-injection harness: a small simulated town of real processes, and the ledger check.

One :class:`Town` is a real Mosquitto broker (:class:`aggregator.mosquitto.Mosquitto`), one
``eco-aggregator serve``, and per household one ``eco-sim inverter`` on a pty and one
``eco-agent run``, every party its own OS process in its own process group, started through its
console command exactly as ``make demo`` does (:mod:`firmware_sim.demo`). All share one
accelerated clock (``sim = origin_sim + (wall − origin_wall) × speed``) and short intervals, so a
scenario sees hundreds of signed readings in tens of seconds.

The harness plays the service manager: it SIGKILLs and restarts any party, stops and starts the
broker on the same port (with or without persistence), and :meth:`Town.supervise` restarts a
process that exited on its own, as systemd's ``Restart=on-failure`` would, recording the exit.

:meth:`Town.check_ledger` is the one invariant every scenario ends with: export the evidence with
``eco-aggregator ledger export``, verify it offline (:func:`eco_protocol.evidence.verify_evidence`),
and require for every device exactly seq 1..N (no gap, no duplicate, no fork flag) and, from
``eco-agent status``, an empty outbox whose counter says the agent signed exactly those N
readings — every signed reading reached the ledger exactly once.

Robust to a slow, shared 2-core machine: every wait polls a condition with a generous deadline;
no fixed sleep is an assertion; no throughput target is checked.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import select
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

from aggregator.mosquitto import Mosquitto, free_port
from eco_protocol.canonical import parse_json
from eco_protocol.encoding import b64decode
from eco_protocol.evidence import verify_evidence

ORIGIN = "eco-ledger.fault-town.example"
PROGRAMME = "fault-town-pv"
RATINGS_W = (4500, 3000, 6000, 5000)
# The aggregator accepts interval ends up to 300 s ahead of its own (real) clock and 400 days
# back; simulated time starts ten days ago at 06:00 JST, so a scenario can run several simulated
# days at high speed and stay in the past.
SIM_DAYS_BACK = 10

#: every figure a scenario reports; conftest prints them as a table at the end of the session
RESULTS: list[dict[str, Any]] = []


def _bin(name: str) -> str:
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def _child_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _run_json(argv: Sequence[str], timeout: float = 120.0) -> Any:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout,
                       env=_child_env(), check=False)
    if r.returncode != 0:
        raise AssertionError(f"{' '.join(argv[:4])} failed ({r.returncode}): {r.stderr[-2000:]}")
    return json.loads(r.stdout)


def sim_origin() -> datetime:
    """06:00 JST (21:00 UTC) SIM_DAYS_BACK days ago."""
    day = datetime.now(UTC).replace(hour=21, minute=0, second=0, microsecond=0)
    return day - timedelta(days=SIM_DAYS_BACK)


@dataclass(frozen=True)
class TownSpec:
    """The shape of one town. ``speed`` simulated seconds pass per wall second."""

    households: int = 2
    speed: float = 1200.0
    interval_minutes: int = 5
    poll_seconds: int = 150
    resend_timeout_s: float = 3.0
    broker_persistence: bool = False
    agent_tmpfs_mb: int | None = None  # put each agent's state dir on a tmpfs of this size
    aggregator_tmpfs_mb: int | None = None  # the aggregator's state dir likewise
    restart_delay_s: float = 0.5  # Restart=on-failure, RestartSec=


class Proc:
    """One supervised child in its own process group; stdout/stderr appended to ``log``."""

    def __init__(self, name: str, argv: Sequence[str], log: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log = log
        self.popen: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.kills = 0  # SIGKILLs we sent
        self.exits: list[int] = []  # exits we did not cause (status codes)
        self.wanted = False  # should be running (supervise restarts it if it is not)
        self.died_at: float | None = None

    def start(self, *, stdout_pipe: bool = False,
              supervised: bool = True) -> subprocess.Popen[bytes]:
        assert self.popen is None or self.popen.poll() is not None, f"{self.name} is running"
        out: IO[bytes] = open(self.log, "ab")  # noqa: SIM115 - handed to the child
        self.popen = subprocess.Popen(self.argv, stdout=subprocess.PIPE if stdout_pipe else out,
                                      stderr=out, stdin=subprocess.DEVNULL,
                                      start_new_session=True, env=_child_env())
        out.close()
        self.starts += 1
        self.wanted = supervised
        self.died_at = None
        return self.popen

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (a power cut for this party) and reap it."""
        assert self.popen is not None
        self.wanted = False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.popen.pid, signal.SIGKILL)
        self.popen.wait(30)
        self.kills += 1

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, wait, SIGKILL if it does not go; returns the exit status."""
        self.wanted = False
        if self.popen is None:
            return None
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(30)
        return self.popen.returncode

    def log_text(self) -> str:
        return self.log_since(0)

    def log_size(self) -> int:
        """A mark for :meth:`log_since` (bytes so far)."""
        try:
            return self.log.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, mark: int) -> str:
        """What the process logged after ``mark`` (cheap enough to poll)."""
        try:
            with open(self.log, "rb") as f:
                f.seek(mark)
                return f.read().decode("utf-8", errors="replace")
        except FileNotFoundError:
            return ""

    def tail(self, lines: int = 15) -> str:
        return "\n".join(self.log_text().splitlines()[-lines:])


@dataclass
class Household:
    name: str
    rated_w: int
    seed: int
    state_dir: Path
    config: Path
    sim: Proc
    agent: Proc
    device_id: str = ""
    public_key: str = ""
    mount: Path | None = None


@dataclass
class LedgerCheck:
    """What :meth:`Town.check_ledger` found (all asserted; kept for the report)."""

    entries: int
    readings: int
    per_device: dict[str, int]
    signed: int  # readings the agents' counters say they signed
    lost: int  # signed, neither in the ledger nor in an outbox
    duplicates: int  # (device, seq) pairs appearing more than once in the ledger
    gaps: int  # missing seqs below a device's highest seq in the ledger
    flagged: int  # devices the aggregator flagged (fork)
    pending: int  # readings still in outboxes
    rejected: int  # readings set aside in outboxes


@dataclass
class Figures:
    """One scenario's line in the Reliability table."""

    scenario: str
    kills: int = 0  # SIGKILLs (or forced broker stops) survived
    restarts: int = 0  # process restarts, ours and the supervisor's
    readings: int = 0
    lost: int = 0
    duplicates: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    ok: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"scenario": self.scenario, "kills_survived": self.kills,
                "restarts": self.restarts, "readings_in_ledger": self.readings,
                "readings_lost": self.lost, "duplicates_in_ledger": self.duplicates,
                "seconds": round(self.seconds, 1), "ok": self.ok, **self.extra}


def mount_tmpfs(path: Path, size_mb: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0700", "tmpfs",
                    str(path)], check=True, capture_output=True, timeout=30)


def unmount(path: Path) -> None:
    for _ in range(50):
        r = subprocess.run(["umount", str(path)], capture_output=True, timeout=30, check=False)
        if r.returncode == 0 or not os.path.ismount(path):
            return
        time.sleep(0.2)  # a child still holds a file open: it is being reaped
    subprocess.run(["umount", "-l", str(path)], capture_output=True, timeout=30, check=False)


def fill_filesystem(path: Path, name: str = "filler") -> Path:
    """Write a file in ``path`` until its filesystem reports ENOSPC; return the file."""
    filler = path / name
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        for size in (1 << 20, 65536, 4096, 512, 1):
            chunk = b"\xa5" * size
            with contextlib.suppress(OSError):
                while os.write(fd, chunk) == size:
                    pass
    finally:
        os.close(fd)
    return filler


def _ro(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10.0)


class Town:
    """A running town; see the module docstring. Always ``close()`` it (the fixture does)."""

    def __init__(self, root: Path, spec: TownSpec, seed: int = 1) -> None:
        self.root = root
        self.spec = spec
        self.rng = random.Random(seed)  # for scenarios that want the town's own
        self.logs = root / "logs"
        self.logs.mkdir(parents=True, exist_ok=True)
        self.broker_dir = root / "broker"
        self.broker = Mosquitto(self.broker_dir, port=free_port(),
                                persistence=spec.broker_persistence)
        self.broker_restarts = 0
        self.broker_kills = 0
        self.agg_dir = root / "aggregator"
        self.agg_conf = self.agg_dir / "aggregator.toml"
        self.aggregator = Proc("aggregator", [_bin("eco-aggregator"), "--config",
                                              str(self.agg_conf), "serve"],
                               self.logs / "aggregator.log")
        self.households: list[Household] = []
        self.retired: dict[str, int] = {}  # re-enrolled devices: id → readings they signed
        self.mounts: list[Path] = []
        self.log_vkey = ""
        self.t0 = time.monotonic()
        self.origin_sim = sim_origin()
        self.origin_wall = 0.0

    # -- set-up -----------------------------------------------------------------------------

    @property
    def agg_cli(self) -> list[str]:
        return [_bin("eco-aggregator"), "--config", str(self.agg_conf)]

    @property
    def ledger_db(self) -> Path:
        return self.agg_dir / "ledger.sqlite3"

    def start(self) -> Town:
        spec = self.spec
        self.broker.start()
        if spec.aggregator_tmpfs_mb:
            mount_tmpfs(self.agg_dir, spec.aggregator_tmpfs_mb)
            self.mounts.append(self.agg_dir)
        init = _run_json([*self.agg_cli, "init", str(self.agg_dir), "--origin", ORIGIN,
                          "--broker", self.broker.url])
        self.log_vkey = init["log_vkey"]
        conf = self.agg_conf.read_text()
        self.agg_conf.write_text(conf.replace("checkpoint_interval_s = 2.0",
                                              "checkpoint_interval_s = 1.0"))
        _run_json([*self.agg_cli, "programme", "init", "--id", PROGRAMME])
        self.start_aggregator()
        self.origin_wall = time.time() + 1.0
        for i in range(spec.households):
            self._add_household(i)
        return self

    def _add_household(self, i: int) -> None:
        spec = self.spec
        name = f"hh{i + 1}"
        rated = RATINGS_W[i % len(RATINGS_W)]
        state = self.root / "agents" / name
        mount: Path | None = None
        if spec.agent_tmpfs_mb:
            mount_tmpfs(state, spec.agent_tmpfs_mb)
            self.mounts.append(state)
            mount = state
        state.mkdir(parents=True, exist_ok=True)
        cfg = state / "agent.toml"
        sim = Proc(f"sim-{name}", [
            _bin("eco-sim"), "inverter", "--rated-w", str(rated), "--seed", str(100 + i),
            "--serial", f"FAULT-PV-{i + 1:04d}", "--speed", str(spec.speed),
            "--origin-sim", self.origin_sim.isoformat(),
            "--origin-wall", f"{self.origin_wall:.3f}"], self.logs / f"sim-{name}.log")
        hh = Household(name, rated, 100 + i, state, cfg, sim,
                       Proc(f"agent-{name}", [_bin("eco-agent"), "run", str(cfg)],
                            self.logs / f"agent-{name}.log"), mount=mount)
        port = self._start_sim(hh)
        # the agent reads the pty through a link of ours, removed when the simulator stops: on
        # a shared machine a freed /dev/pts/N is soon another process's (another suite's
        # simulator), and an agent still polling that path would read a foreign meter
        link = self.root / "dev" / f"{name}-pv1"
        link.parent.mkdir(exist_ok=True)
        link.symlink_to(port)
        cfg.write_text(self.agent_config(hh, str(link)))
        self._keygen_and_enrol(hh, i)
        self.households.append(hh)
        hh.agent.start()

    def _keygen_and_enrol(self, hh: Household, i: int) -> None:
        key = _run_json([_bin("eco-agent"), "keygen", str(hh.config)])
        # Enrolled at twice the inverter's rating: the plausibility check (energy ≤ rated ×
        # interval) is not what this suite tests, and on a loaded machine at 1000× speed a late
        # poll moves a large share of an interval's energy into the next one.
        e = _run_json([*self.agg_cli, "enrol", "--public-key", key["public_key"],
                       "--household", f"fault household {i + 1}", "--programme", PROGRAMME,
                       "--meter", f"pv1:pv_generation:sunspec-modbus:{2 * hh.rated_w}",
                       "--installed", "2021-06-01", "--fit-status", "fit", "--no-battery"])
        assert e["device_id"] == key["device_id"]
        hh.device_id = e["device_id"]
        hh.public_key = key["public_key"]

    def reenrol(self, i: int, signed: int, keep: Path) -> None:
        """The operator's way out of an unusable outbox: keep the outbox files and the old key
        in ``keep``, create a new key and ``eco-aggregator rekey`` the device (revokes the old
        id, enrols the new key for the same household and meters). ``signed`` is how many
        readings the old device signed (for the final check)."""
        hh = self.households[i]
        keep.mkdir(parents=True)
        for f in sorted(hh.state_dir.glob("outbox.sqlite3*")) + [hh.state_dir / "device.key"]:
            f.rename(keep / f.name)
        old = hh.device_id
        # the state file shows this box signed before: keygen asks for --new-identity
        key = _run_json([_bin("eco-agent"), "keygen", "--new-identity", str(hh.config)])
        new = _run_json([*self.agg_cli, "rekey", old, "--public-key", key["public_key"]])
        assert new["device_id"] == key["device_id"] and new["replaced"] == old
        hh.device_id, hh.public_key = key["device_id"], key["public_key"]
        self.retired[old] = signed

    def kill_when_delivered(self, i: int, timeout: float = 120.0) -> int:
        """SIGKILL household ``i``'s agent at an instant when its outbox holds nothing
        undelivered (checked on the files after the kill; retried otherwise). Returns how many
        readings it had signed."""
        hh = self.households[i]

        def delivered() -> bool:
            next_seq, pending = self.outbox_counts(i)
            return pending == 0 and self.ledger_readings()[hh.device_id] == next_seq - 1

        deadline = time.monotonic() + timeout
        while True:
            self.wait_until(delivered, max(1.0, deadline - time.monotonic()),
                            f"{hh.name}'s outbox to be empty", every=0.02)
            hh.agent.kill()
            for _ in range(50):  # the files are quiet now; a reader may still be busy
                with contextlib.suppress(sqlite3.Error):
                    if delivered():
                        return self.outbox_counts(i)[0] - 1
                    break
                time.sleep(0.1)
            hh.agent.start()  # a reading slipped in before the kill: let it go, try again

    def _start_sim(self, hh: Household) -> str:
        p = hh.sim.start(stdout_pipe=True)
        assert p.stdout is not None
        ready, _, _ = select.select([p.stdout], [], [], 60.0)
        line = p.stdout.readline() if ready else b""
        if not line:
            raise AssertionError(f"the inverter simulator of {hh.name} did not start: "
                                 f"{hh.sim.tail()}")
        return str(json.loads(line)["port"])

    def agent_config(self, hh: Household, port: str, broker_url: str | None = None) -> str:
        s = self.spec
        return f"""\
[device]
state_dir = "{hh.state_dir}"
log_key = "{self.log_vkey}"
interval_minutes = {s.interval_minutes}
poll_seconds = {s.poll_seconds}

[uplink]
broker = "{broker_url or self.broker.url}"
resend_timeout_s = {s.resend_timeout_s}

[clock]
mode = "accelerated"
origin_sim = "{self.origin_sim.strftime('%Y-%m-%dT%H:%M:%SZ')}"
origin_wall = {self.origin_wall:.3f}
speed = {s.speed}

[[meters]]
id = "pv1"
quantity = "pv_generation"
protocol = "sunspec-modbus"
port = "{port}"
unit = 1
timeout_s = 0.5
"""

    # -- parties ----------------------------------------------------------------------------

    def start_aggregator(self) -> None:
        self.aggregator.start()

    def kill_aggregator(self) -> None:
        self.aggregator.kill()

    def kill_agent(self, i: int) -> None:
        self.households[i].agent.kill()

    def start_agent(self, i: int) -> None:
        self.households[i].agent.start()

    def stop_broker(self, *, kill: bool = False) -> None:
        proc = self.broker.proc
        assert proc is not None, "the broker is not running"
        if kill:
            proc.kill()
            proc.wait(30)
            self.broker.proc = None
            self.broker_kills += 1
        else:
            self.broker.stop()

    def start_broker(self, *, persistence: bool) -> None:
        """Start a broker on the same port and state directory (persistence as asked)."""
        self.broker = Mosquitto(self.broker_dir, port=self.broker.port, persistence=persistence)
        deadline = time.monotonic() + 60
        while True:  # the old listener's port may linger for a moment
            try:
                self.broker.start()
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        self.broker_restarts += 1

    def procs(self) -> list[Proc]:
        return [self.aggregator, *(h.agent for h in self.households)]

    def supervise(self) -> None:
        """Restart any wanted process that exited (systemd Restart=on-failure)."""
        for p in self.procs():
            if not p.wanted or p.popen is None:
                continue
            code = p.popen.poll()
            if code is None:
                continue
            now = time.monotonic()
            if p.died_at is None:
                p.died_at = now
                p.exits.append(code)
            if now - p.died_at >= self.spec.restart_delay_s:
                p.start()

    def wait_until(self, cond: Callable[[], bool], timeout: float, what: str,
                   every: float = 0.25) -> float:
        """Poll ``cond`` (supervising meanwhile) until true; AssertionError after ``timeout``."""
        start = time.monotonic()
        while True:
            self.supervise()
            try:
                if cond():
                    return time.monotonic() - start
            except sqlite3.Error:
                pass  # a file being created or replaced; ask again
            if time.monotonic() - start > timeout:
                raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n"
                                     + self.diagnostics())
            time.sleep(every)

    def diagnostics(self) -> str:
        parts = []
        for p in self.procs():
            parts.append(f"--- {p.name} (alive={p.alive()}, exits={p.exits}) ---\n{p.tail()}")
        with contextlib.suppress(sqlite3.Error, OSError):
            parts.append(f"ledger readings per device: {self.ledger_readings()}")
            pending = [self.pending(i) for i in range(len(self.households))]
            parts.append(f"outbox pending: {pending}")
        return "\n".join(parts)

    # -- observing (read-only SQLite, cheap enough to poll) ---------------------------------

    def ledger_readings(self) -> dict[str, int]:
        with contextlib.closing(_ro(self.ledger_db)) as db:
            rows = db.execute("SELECT device_id, next_seq FROM device").fetchall()
        return {str(d): int(n) - 1 for d, n in rows}

    def ledger_total(self) -> int:
        return sum(self.ledger_readings().values())

    def outbox_counts(self, i: int) -> tuple[int, int]:
        """(next_seq, pending) of household ``i``'s outbox."""
        path = self.households[i].state_dir / "outbox.sqlite3"
        if not path.exists():
            return 1, 0
        with contextlib.closing(_ro(path)) as db:
            (next_seq,) = db.execute("SELECT next_seq FROM chain").fetchone()
            (pending,) = db.execute(
                "SELECT COUNT(*) FROM readings WHERE status='pending'").fetchone()
        return int(next_seq), int(pending)

    def pending(self, i: int) -> int:
        return self.outbox_counts(i)[1]

    def signed(self, i: int) -> int:
        return self.outbox_counts(i)[0] - 1

    def sim_now(self) -> float:
        return self.origin_sim.timestamp() + (time.time() - self.origin_wall) * self.spec.speed

    def wait_for_readings(self, at_least: int, timeout: float = 120.0) -> None:
        """Until every device has at least ``at_least`` readings in the ledger."""
        def enough() -> bool:
            got = self.ledger_readings()
            return len(got) == len(self.households) and min(got.values()) >= at_least
        self.wait_until(enough, timeout, f"{at_least} readings per device in the ledger")

    def wait_for_connected(self, proc: Proc, mark: int, timeout: float = 60.0) -> None:
        """Until ``proc``'s log shows a broker connection after ``mark`` (a log_size())."""
        self.wait_until(lambda: "connected to" in proc.log_since(mark), timeout,
                        f"{proc.name} to connect", every=0.05)

    # -- the end of every scenario ------------------------------------------------------------

    def drain(self, timeout: float = 180.0) -> None:
        """Stop the meters, then wait until every agent's outbox is empty and each device's
        ledger count equals what its agent signed."""
        for hh in self.households:
            self.stop_meter(hh)

        def drained() -> bool:
            ledger = self.ledger_readings()
            for i, hh in enumerate(self.households):
                next_seq, pending = self.outbox_counts(i)
                if pending or hh.device_id not in ledger or \
                        ledger[hh.device_id] != next_seq - 1:
                    return False
            return True
        self.wait_until(drained, timeout, "every outbox to drain into the ledger", every=0.5)

    def stop_meter(self, hh: Household) -> None:
        hh.sim.stop()
        (self.root / "dev" / f"{hh.name}-pv1").unlink(missing_ok=True)

    def stop_all(self) -> dict[str, int | None]:
        codes = {h.agent.name: h.agent.stop() for h in self.households}
        codes["aggregator"] = self.aggregator.stop()
        return codes

    def check_ledger(self) -> LedgerCheck:
        """Stop everything, export and verify the evidence, compare with every outbox."""
        codes = self.stop_all()
        # 0, or SIGTERM's default action when the stop lands while a just-restarted process is
        # still starting up (before its handler is installed): systemd counts both as a clean
        # stop, and every write before it was transactional
        assert all(c in (0, -signal.SIGTERM) for c in codes.values()), \
            f"unclean exits at the end: {codes}"
        evidence = self.root / "evidence"
        _run_json([*self.agg_cli, "ledger", "export", str(evidence)])
        audit = _run_json([*self.agg_cli, "ledger", "verify"])
        status = _run_json([*self.agg_cli, "status", "--rejections", "0"])
        lines = (evidence / "entries.jsonl").read_text().splitlines()
        signed = lost = pending = rejected = 0
        summary = verify_evidence((evidence / "checkpoint").read_text(),
                                  (evidence / "log.vkey").read_text(), [], lines)
        seqs: dict[str, list[int]] = {}
        for line in lines:
            rec = parse_json(b64decode(parse_json(line)["entry_b64"], "entry"))
            if rec["type"] == "eco.reading/v1":
                seqs.setdefault(rec["device_id"], []).append(rec["seq"])
        duplicates = sum(len(v) - len(set(v)) for v in seqs.values())
        for device, n in self.retired.items():  # re-enrolled: every reading it signed is in
            lost += max(0, n - len(set(seqs.get(device, []))))
            signed += n
        gaps = sum(max(v) - len(set(v)) for v in seqs.values() if v)
        flagged = sum(1 for d in status["devices"] if d["flag"])
        for hh in self.households:
            st = _run_json([_bin("eco-agent"), "status", "--json", str(hh.config)])
            assert st["device_id"] == hh.device_id
            top = int(st["next_seq"]) - 1
            held = seqs.get(hh.device_id, [])
            signed += top
            pending += int(st["pending"])
            rejected += len(st["rejected"])
            lost += max(0, top - len(set(held)) - int(st["pending"]) - len(st["rejected"]))
        readings = sum(len(v) for v in seqs.values())
        check = LedgerCheck(len(lines), readings, {d: len(v) for d, v in seqs.items()}, signed,
                            lost, duplicates, gaps, flagged, pending, rejected)
        assert summary.entries == audit["size"] == len(lines)
        assert audit["counts"].get("eco.reading/v1", 0) == readings
        for hh in self.households:
            assert seqs.get(hh.device_id), f"{hh.name}: no reading reached the ledger"
        for device, got in seqs.items():
            assert device in self.retired or any(h.device_id == device
                                                 for h in self.households), device
            assert got == list(range(1, len(got) + 1)), \
                f"{device}: ledger seqs are not exactly 1..N: {got[:20]}…"
        assert (duplicates, gaps, flagged) == (0, 0, 0), check
        assert (pending, rejected, lost) == (0, 0, 0), check
        assert signed == readings, check
        return check

    def close(self) -> None:
        for hh in self.households:
            (self.root / "dev" / f"{hh.name}-pv1").unlink(missing_ok=True)
            for p in (hh.agent, hh.sim):
                if p.popen is not None and p.popen.poll() is None:
                    with contextlib.suppress(ProcessLookupError):
                        os.killpg(p.popen.pid, signal.SIGKILL)
                    p.popen.wait(30)
        if self.aggregator.alive():
            self.aggregator.kill()
        self.broker.stop()
        for m in reversed(self.mounts):
            unmount(m)
        self.mounts.clear()


@contextlib.contextmanager
def town(root: Path, spec: TownSpec, seed: int = 1) -> Iterator[Town]:
    t = Town(root, spec, seed)
    try:
        yield t.start()
    finally:
        t.close()


def record(fig: Figures, town: Town, check: LedgerCheck | None) -> None:
    """Fill the common figures from the town and the check and keep them for the report."""
    fig.kills += sum(p.kills for p in town.procs()) + town.broker_kills
    fig.restarts += sum(p.starts - 1 for p in town.procs()) + town.broker_restarts
    if check is not None:
        fig.readings = check.readings
        fig.lost = check.lost
        fig.duplicates = check.duplicates
        fig.ok = True
    fig.seconds = time.monotonic() - town.t0
    RESULTS.append(fig.as_dict())
