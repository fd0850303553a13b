"""The demo's child processes: each party runs through its console command, in its own process
group, logging to ``--out/logs``; all are terminated, then killed, at exit
(:mod:`firmware_sim.procs`)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

from firmware_sim.procs import kill_group, terminate_groups


class Procs:
    """Children in their own process groups; all are terminated, then killed, at exit."""

    def __init__(self, logs: Path) -> None:
        self.logs = logs
        self.children: list[tuple[str, subprocess.Popen[bytes]]] = []

    def start(
        self, name: str, argv: Sequence[str], *, stdout_pipe: bool = False
    ) -> subprocess.Popen[bytes]:
        log: IO[bytes] = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE if stdout_pipe else log,
            stderr=log,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        log.close()
        self.children.append((name, proc))
        return proc

    def stop(self, name_prefix: str = "", timeout: float = 20.0) -> dict[str, int]:
        """Terminate the children whose name starts with ``name_prefix``; their exit codes."""
        chosen = [(n, p) for n, p in self.children if n.startswith(name_prefix)]
        terminate_groups([p for _, p in chosen], timeout)
        self.children = [(n, p) for n, p in self.children if (n, p) not in chosen]
        return {n: p.returncode for n, p in chosen}

    def kill_all(self) -> None:
        for _, p in self.children:
            kill_group(p)
        self.children = []


def bin_path(name: str) -> str:
    """A console command of this venv (beside the running interpreter), else from PATH."""
    here = Path(sys.executable).parent / name
    return str(here) if here.exists() else name


def run_json(argv: Sequence[str]) -> Any:
    """Run a one-off command; its JSON output, or exit the demo saying what failed."""
    r = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: {' '.join(argv[:3])} failed ({r.returncode}): {r.stderr.strip()}")
    return json.loads(r.stdout)


def run_text(argv: Sequence[str]) -> str:
    """Run a one-off ``eco-aggregator --config C SUB ...``; its output, or exit the demo."""
    r = subprocess.run(list(argv), capture_output=True, text=True, check=False)
    if r.returncode != 0:
        raise SystemExit(f"demo: {' '.join(argv[3:5])} failed ({r.returncode}): "
                         f"{r.stderr.strip()}")
    return r.stdout


__all__ = ["Procs", "bin_path", "run_json", "run_text"]
