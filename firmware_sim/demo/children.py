"""The demo's child processes: each party runs through its console command, in its own process
group, logging to ``--out/logs``; all are terminated, then killed, at exit
(:mod:`firmware_sim.procs`). The one-off commands (an enrolment, a batch, a check) run through
:func:`run_command`: the same console command, called in this process when it is one of this
installation's."""

from __future__ import annotations

import contextlib
import functools
import io
import json
import subprocess
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
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


# the distributions whose console commands :func:`run_command` may call in this process
_OURS = frozenset({"eco-credit", "eco-agent", "eco-verify"})


@functools.cache
def _console_main(path: str) -> Callable[[list[str]], int] | None:
    """The ``main`` behind ``path`` when it is one of this project's console commands beside the
    running interpreter (where :func:`bin_path` finds them), else None."""
    p = Path(path)
    if p.parent != Path(sys.executable).parent:
        return None
    for ep in entry_points(group="console_scripts", name=p.name):
        if ep.dist is not None and ep.dist.name in _OURS:
            main: Callable[[list[str]], int] = ep.load()
            return main
    return None


def _exit_status(e: SystemExit) -> int:
    """What the interpreter makes of an uncaught ``SystemExit``: None is 0, an int is itself, and
    anything else (``eco-verify``'s one-line refusals, ``sys.exit("...")``) is printed to stderr
    and is 1."""
    if e.code is None:
        return 0
    if isinstance(e.code, int):
        return e.code
    print(e.code, file=sys.stderr)
    return 1


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """A one-off command, as ``subprocess.run(argv, capture_output=True, text=True)`` would run it.

    This project's own commands (each ``main`` is written to be called many times in one
    process: the tests do) are called here instead: the demo runs about 150 of them, and a
    Python start-up with the aggregator's modules is ~0.2 CPU-seconds of each, more than most
    of the commands themselves. What a separate process would print is what is captured; an
    exception the command does not handle becomes exit status 1 with its traceback, as it
    would from the console script."""
    argv = list(argv)
    main = _console_main(argv[0])
    if main is None:
        return subprocess.run(argv, capture_output=True, text=True, check=False)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = main(argv[1:])
        except SystemExit as e:  # as the interpreter ends a process on it
            rc = _exit_status(e)
        except Exception:  # noqa: BLE001 - what the console script's process would print
            traceback.print_exc()
            rc = 1
    return subprocess.CompletedProcess(argv, rc, out.getvalue(), err.getvalue())


def _named(argv: Sequence[str]) -> str:
    """``eco-aggregator enrol``: the command and its first two words, past ``--config FILE``."""
    words = list(argv[1:])
    if words[:1] == ["--config"]:
        words = words[2:]
    return " ".join([Path(argv[0]).name, *words[:2]])


def run_text(argv: Sequence[str]) -> str:
    """Run a one-off command; its output, or exit the demo saying which command failed, how."""
    r = run_command(argv)
    if r.returncode != 0:
        raise SystemExit(f"demo: {_named(argv)} failed ({r.returncode}): {r.stderr.strip()}")
    return r.stdout


def run_json(argv: Sequence[str]) -> Any:
    """Run a one-off command; its JSON output, or exit the demo saying what failed."""
    return json.loads(run_text(argv))


__all__ = ["Procs", "bin_path", "run_command", "run_json", "run_text"]
