"""``eco-aggregator`` on an unusable log key file (issue 15, seam 5): the protocol package's
errors reach the operator as one line saying what is wrong and what to do — exit 1, as the
aggregator's own environment errors — never as a traceback."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from aggregator.cli import main


@pytest.fixture
def state(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    state = tmp_path / "state"
    assert main(["init", str(state), "--origin", "cli-errors.example"]) == 0
    capsys.readouterr()
    return state


def _world_readable(key: Path) -> None:
    key.chmod(0o644)


def _garbage(key: Path) -> None:
    key.write_text("this is not a key\n")


def _not_text(key: Path) -> None:
    key.write_bytes(b"\xff\xfe\x00")


@pytest.mark.parametrize(("spoil", "what", "to_do"), [
    (_world_readable, "is readable by others (mode 644)", "run: chmod 600"),
    (_garbage, "is damaged", "restore it from a backup, then run the command again"),
    (_not_text, "cannot read key file", "restore it from a backup, then run the command again"),
], ids=["mode-0644", "garbage", "not-text"])
def test_an_unusable_log_key_is_one_line_saying_what_to_do(
        state: Path, capsys: pytest.CaptureFixture[str], spoil: Callable[[Path], None],
        what: str, to_do: str) -> None:
    key = state / "log.key"
    spoil(key)
    rc = main(["--config", str(state / "aggregator.toml"), "status"])
    out, err = capsys.readouterr()
    assert rc == 1
    assert out == ""
    assert err.count("\n") == 1, err
    assert err.startswith(f"eco-aggregator: key file {key} ") or \
        err.startswith(f"eco-aggregator: cannot read key file {key}"), err
    assert what in err and to_do in err, err


def test_the_installed_command_prints_no_traceback(state: Path) -> None:
    (state / "log.key").write_text("garbage\n")
    proc = subprocess.run([sys.executable, "-m", "aggregator.cli", "--config",
                           str(state / "aggregator.toml"), "log-key"],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    assert proc.stderr.splitlines() == [proc.stderr.strip()]
    assert "is damaged" in proc.stderr
