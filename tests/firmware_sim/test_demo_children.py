"""The demo's one-off commands (:func:`firmware_sim.demo.children.run_command`): this project's
console commands are called in the demo's process, and what they print and return must be what
the same command in a process of its own prints and returns (the demo's output and its evidence
files are built from it)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from firmware_sim.demo.children import bin_path, run_command, run_json


def _eco_verify_cases(tmp_path: Path) -> list[list[str]]:
    bad = tmp_path / "report.json"
    bad.write_text('{"not": "a report"}\n')
    return [
        [bin_path("eco-verify"), "report", str(bad), "--log-key", "not-a-key"],  # exit 1
        [bin_path("eco-verify"), "report", str(tmp_path / "missing.json"), "--log-key", "k"],
        [bin_path("eco-verify"), "no-such-command"],  # argparse: exit 2, usage on stderr
        [bin_path("eco-aggregator"), "--config", str(tmp_path / "none.toml"), "status"],
    ]


def test_in_process_commands_print_and_exit_as_their_console_script(tmp_path: Path) -> None:
    for argv in _eco_verify_cases(tmp_path):
        r = run_command(argv)
        assert r.args == argv
        assert r.returncode != 0 and r.stderr.strip(), argv  # each case is a refusal
        assert "Traceback" not in r.stderr, r.stderr


def test_an_unhandled_exception_is_exit_1_with_its_traceback(
        monkeypatch: pytest.MonkeyPatch) -> None:
    import eco_protocol.verify_cli as verify_cli

    def boom(_argv: object = None) -> int:
        raise RuntimeError("a bug the command did not handle")

    monkeypatch.setattr(verify_cli, "main", boom)
    from firmware_sim.demo import children
    children._console_main.cache_clear()
    try:
        r = run_command([bin_path("eco-verify"), "report", "x.json"])
    finally:
        children._console_main.cache_clear()
    assert r.returncode == 1
    assert "RuntimeError: a bug the command did not handle" in r.stderr
    assert r.stdout == ""


@pytest.mark.integration  # the same commands in processes of their own
def test_the_same_output_and_status_as_a_process_of_its_own(tmp_path: Path) -> None:
    for argv in _eco_verify_cases(tmp_path):
        inside = run_command(argv)
        outside = subprocess.run(argv, capture_output=True, text=True, check=False)
        assert (inside.returncode, inside.stdout, inside.stderr) == (
            outside.returncode, outside.stdout, outside.stderr), argv


@pytest.mark.integration  # a command that is not this project's runs in its own process
def test_other_commands_run_in_a_process_of_their_own() -> None:
    r = run_command([sys.executable, "-c", "import sys; print('out'); "
                     "print('err', file=sys.stderr); sys.exit(3)"])
    assert (r.returncode, r.stdout, r.stderr) == (3, "out\n", "err\n")


def test_a_failed_command_stops_the_demo_naming_it_and_saying_why(tmp_path: Path) -> None:
    argv = [bin_path("eco-aggregator"), "--config", str(tmp_path / "none.toml"), "status"]
    with pytest.raises(SystemExit) as e:
        run_json(argv)
    said = str(e.value.code)
    assert said.startswith("demo: eco-aggregator status failed (2): eco-aggregator:"), said
    assert "none.toml" in said
