"""What a device installs (issue 15, seam 10): ``packaging/eco-agent`` is the agent's own
distribution — ``agent``, ``eco_protocol`` and ``eco_runtime`` with only the agent's
dependencies. The import scan proves the shipped code needs nothing more; the integration test
builds the wheel, installs it into a fresh venv beside nothing but its declared dependencies
(linked from this environment, so no index is needed), and runs ``eco-agent probe`` on a simulated
inverter on a pty and ``eco-agent run`` until it has committed a reading — with the server's
libraries (PostgreSQL driver, web framework, templating, QR codes) unimportable."""

from __future__ import annotations

import ast
import contextlib
import importlib.metadata as md
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import tomllib
import zipfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from agent.clock import AcceleratedClock
from aggregator.mosquitto import Mosquitto
from eco_protocol.note import NoteSigner
from firmware_sim.inverter import PtyInverter

ROOT = Path(__file__).parents[2]
DIST = ROOT / "packaging" / "eco-agent"
SHIPPED = ("agent", "eco_protocol", "eco_runtime")
# what the operator's server needs and a device must not carry
SERVER_ONLY = ("psycopg", "starlette", "uvicorn", "jinja2", "qrcode", "multipart",
               "itsdangerous", "aggregator", "firmware_sim", "pymodbus")


def _declared() -> list[Requirement]:
    project = tomllib.loads((DIST / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in project["dependencies"]]


def _top_levels(dist: md.Distribution) -> set[str]:
    """The top-level names a distribution installs into site-packages (packages, modules,
    extension modules and its .dist-info), from its RECORD."""
    return {f.parts[0] for f in dist.files or () if f.parts[0] != ".."}


def _import_names(dist: md.Distribution) -> set[str]:
    return {n.split(".")[0] for n in _top_levels(dist)
            if not n.endswith(".dist-info") and not n.startswith("_")}


def _imports_of(package: Path) -> Iterator[tuple[Path, str]]:
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                yield from ((path, a.name.split(".")[0]) for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield path, node.module.split(".")[0]


def test_the_shipped_packages_import_only_the_declared_dependencies() -> None:
    allowed = set(sys.stdlib_module_names) | set(SHIPPED)
    for req in _declared():
        allowed |= _import_names(md.distribution(req.name))
    assert not allowed & set(SERVER_ONLY)
    found = {f"{path.relative_to(ROOT)}: {name}" for package in SHIPPED
             for path, name in _imports_of(ROOT / package) if name not in allowed}
    assert found == set(), "the agent's distribution would not run on a device"


def test_the_agent_pins_are_the_projects_pins() -> None:
    """One set of version ranges: the device's must not drift from what the tests ran with."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    everything = {canonicalize_name(Requirement(r).name): str(Requirement(r))
                  for r in project["dependencies"]}
    for req in _declared():
        assert everything.get(canonicalize_name(req.name)) == str(req)


def _closure(reqs: Iterable[Requirement]) -> list[md.Distribution]:
    """The installed distributions that ``reqs`` need, transitively (markers evaluated here),
    each checked against the version range that asked for it."""
    todo = [(r, "") for r in reqs]
    found: dict[str, md.Distribution] = {}
    seen: set[tuple[str, str]] = set()
    while todo:
        req, extra = todo.pop()
        if req.marker is not None and not req.marker.evaluate({"extra": extra}):
            continue
        dist = md.distribution(req.name)
        assert req.specifier.contains(dist.version, prereleases=True), (str(req), dist.version)
        name = canonicalize_name(req.name)
        found[name] = dist
        for wanted in req.extras or {""}:
            if (name, wanted) not in seen:
                seen.add((name, wanted))
                todo += [(Requirement(sub), wanted) for sub in dist.requires or ()]
    return list(found.values())


def _build_agent_venv(work: Path) -> Path:
    """A fresh venv holding the eco-agent wheel and, linked in from this environment, only
    what its metadata declares (transitively). Returns the venv's bin directory."""
    # build from a copy of the project file, so the repository gets no build/ or egg-info
    src = work / "src"
    src.mkdir()
    (src / "pyproject.toml").write_bytes((DIST / "pyproject.toml").read_bytes())
    for package in SHIPPED:
        (src / package).symlink_to(ROOT / package)
    wheels = work / "wheels"
    r = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                        "--no-build-isolation", str(src), "-w", str(wheels)],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    (wheel,) = wheels.glob("eco_agent-*.whl")
    with zipfile.ZipFile(wheel) as z:
        tops = {n.split("/")[0] for n in z.namelist()}
        meta = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        requires = [line.split(":", 1)[1].strip() for line in z.read(meta).decode().splitlines()
                    if line.startswith("Requires-Dist:")]
    assert tops - {wheel.name.split("-py")[0] + ".dist-info"} == set(SHIPPED)
    assert sorted(map(str, map(Requirement, requires))) == sorted(map(str, _declared()))

    venv = work / "device"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True,
                   timeout=120)
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"),
                    "install", "-q", "--no-deps", "--no-index", str(wheel)], check=True,
                   timeout=300)
    deps = work / "deps"
    deps.mkdir()
    for dist in _closure(Requirement(r) for r in requires):
        base = Path(str(dist.locate_file("")))
        for top in _top_levels(dist):
            (deps / top).symlink_to(base / top)
    (next((venv / "lib").glob("python3*/site-packages")) / "deps.pth").write_text(f"{deps}\n")
    return venv / "bin"


SPEED = 300.0  # a 5-minute interval passes in one wall second
ORIGIN_SIM = datetime(2026, 6, 21, 2, 0, tzinfo=UTC)  # 11:00 JST, the sun is up


def _write_config(path: Path, broker_port: int, inverter: PtyInverter,
                 clock: AcceleratedClock) -> Path:
    log_vkey = NoteSigner("eco-ledger.test.example", Ed25519PrivateKey.generate()).verifier.vkey
    path.write_text(
        "[device]\n"
        f'state_dir = "{path.parent / "state"}"\n'
        "interval_minutes = 5\npoll_seconds = 30\n"
        f'log_key = "{log_vkey}"\n\n'
        "[uplink]\n"
        f'broker = "mqtt://127.0.0.1:{broker_port}"\n\n'
        "[clock]\n"
        'mode = "accelerated"\n'
        f'origin_sim = "{ORIGIN_SIM.strftime("%Y-%m-%dT%H:%M:%SZ")}"\n'
        f"origin_wall = {clock.origin_wall!r}\nspeed = {SPEED!r}\n\n"
        "[[meters]]\n"
        'id = "pv1"\nquantity = "pv_generation"\n'
        f'port = "{inverter.port}"\ntimeout_s = 0.5\n')
    return path


def _lines_of(stream: object) -> queue.Queue[str]:
    q: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        for raw in stream:  # type: ignore[attr-defined]
            q.put(raw.decode(errors="replace"))

    threading.Thread(target=pump, daemon=True).start()
    return q


@pytest.mark.integration
@pytest.mark.timeout(300)
def test_a_fresh_venv_with_only_the_agent_distribution_probes_and_runs(
        tmp_path: Path, broker: Mosquitto) -> None:
    bin_dir = _build_agent_venv(tmp_path)
    # a device's environment: no PYTHONPATH, not run from the repository
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin", "LC_ALL": "C.UTF-8"}
    check = ("import importlib, json\n"
             "missing = {}\n"
             f"for name in {SERVER_ONLY!r}:\n"
             "    try:\n"
             "        importlib.import_module(name)\n"
             "    except ModuleNotFoundError as e:\n"
             "        missing[name] = e.name\n"
             "import agent.cli, agent.runner, agent.uplink, agent.meters.sunspec\n"
             "print(json.dumps(missing))\n")
    r = subprocess.run([str(bin_dir / "python"), "-c", check], capture_output=True, text=True,
                       timeout=60, cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == {name: name for name in SERVER_ONLY}

    clock = AcceleratedClock(origin_sim=ORIGIN_SIM.timestamp(), origin_wall=time.time(),
                             rate=SPEED)
    with PtyInverter(4500, 11, clock, serial="SN-DEVICE-1", initial_wh=2_000_000) as inverter:
        conf = _write_config(tmp_path / "agent.toml", broker.port, inverter, clock)

        def eco_agent(*argv: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([str(bin_dir / "eco-agent"), *argv], capture_output=True,
                                  text=True, timeout=60, cwd=tmp_path, env=env)

        # under xdist another test's process may still poll a /dev/pts/N path it was given
        # before the kernel handed that number to our pty; its lock is brief, so try again
        for _ in range(5):
            probe = eco_agent("probe", str(conf), "pv1")
            if probe.returncode == 0 or "another program holds" not in probe.stderr:
                break
            time.sleep(1)
        assert probe.returncode == 0, probe.stderr
        snap = json.loads(probe.stdout)
        assert (snap["meter_id"], snap["serial"]) == ("pv1", "SN-DEVICE-1")
        assert snap["register_wh"] >= 2_000_000

        assert eco_agent("keygen", str(conf)).returncode == 0
        proc = subprocess.Popen([str(bin_dir / "eco-agent"), "run", str(conf)], cwd=tmp_path,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            err = _lines_of(proc.stderr)
            seen: list[str] = []
            deadline = time.monotonic() + 30
            while not any("committed" in line for line in seen):
                assert time.monotonic() < deadline and proc.poll() is None, "".join(seen)
                with contextlib.suppress(queue.Empty):
                    seen.append(err.get(timeout=0.2))
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(20) == 0
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
    status = eco_agent("status", "--json", str(conf))
    assert status.returncode == 0, status.stderr
    assert json.loads(status.stdout)["next_seq"] >= 2
